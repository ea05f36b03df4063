//! The validated model of what the cloud asked for, whatever the source.
//! Every source (drop file, CD-ROM, metadata endpoint) ends here through
//! the validators of `values` and the one [`SettingsBuilder`]; nothing
//! invalid gets past this module, and it knows no source's format (the
//! os.conf format is `sources::osconf_format`).

pub mod build;
pub mod links;
pub mod nic_extras;
pub mod ssh_key;
pub(crate) mod values;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use build::{Conflict, NicField, SettingsBuilder};
pub use links::{Bond, NicKind, Parent, Vlan};
pub use nic_extras::Route6;
pub use ssh_key::SshKey;
pub use values::{Mac, Route};

/// What the settings want. NICs are sorted by their `ethN` index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub hostname: Option<String>,
    /// The full name /etc/hosts gives the host before `hostname`, which is
    /// its first label (OpenStack's `ecs-ddd4.novalocal` for `ecs-ddd4`).
    /// `None`: the managed line holds `hostname` (and its short form).
    pub fqdn: Option<String>,
    pub password: Option<Password>,
    /// IPv4 from every source; IPv6 ones only from the metadata endpoint
    /// (os.conf's `dns_nameserver` is IPv4-only), which keeps them only when
    /// the first NIC, which carries them in the network files, has IPv6.
    pub nameservers: Vec<IpAddr>,
    pub nics: Vec<Nic>,
    /// root's SSH public keys: the source's complete list, each validated
    /// by [`SshKey::parse`] (a bad one was left out with a warning).
    /// `None`: the source says nothing about keys (os.conf carries none),
    /// so `authorized_keys` is left as it is; `Some(empty)`: no key, so the
    /// keys osconf installed before are removed.
    pub ssh_keys: Option<Vec<SshKey>>,
}

/// The root password: plain text (Alibaba, Base64 in the drop) to be hashed
/// here, or a crypt hash (Tencent) to be written as is. `Debug` never shows
/// it; the plain text is wiped when dropped, which the plan does once it
/// has hashed it (keeping the hash).
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    Plain(Zeroizing<String>),
    Hash(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Password::Plain(_) => f.write_str("Password::Plain(<redacted>)"),
            Password::Hash(_) => f.write_str("Password::Hash(<redacted>)"),
        }
    }
}

/// How a source encodes the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordForm {
    /// Alibaba: Base64 of the plain text, usually with a trailing newline.
    Base64Plain,
    /// Tencent: a crypt(3) hash such as `$6$salt$...`.
    CryptHash,
}

/// One NIC, found by MAC. `routes` is complete: the default route, when this
/// NIC carries it, is among them (see `default_route_nic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// N of `ethN` in the drop; only a label, the kernel name may differ.
    pub index: u32,
    pub mac: Mac,
    /// Its static IPv4 address, with `prefix`: what os.conf and the Alibaba
    /// and Tencent metadata always give. `None` (OpenStack): the NIC's IPv4
    /// comes from DHCP (`dhcp4`), or it has none (IPv6 only); then it has no
    /// gateway, routes or secondary addresses either (`Nic::automatic`).
    pub address: Option<Ipv4Addr>,
    /// The prefix of `address`; 0 without one.
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub routes: Vec<Route>,
    /// What only the metadata endpoint carries (see `nic_extras`): secondary
    /// IPv4 addresses (`private-ipv4s` besides the primary), IPv6 addresses
    /// and gateway, and whether the NIC routes its own replies through a
    /// table of its own. Absent from os.conf drops and from older records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secondary: Vec<(Ipv4Addr, u8)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_gateway: Option<Ipv6Addr>,
    /// IPv6 routes other than the default one (OpenStack's `routes[]` of an
    /// `ipv6` network), each validated by `nic_extras::add_ipv6_route`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_routes: Vec<Route6>,
    /// The routing table of per-NIC routing (`nic_extras::policy_table`), set for
    /// secondary NICs with a gateway: see [`Nic::policy`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// The stack's own DHCP client gives the NIC its IPv4 address, gateway
    /// and routes (OpenStack's `ipv4_dhcp`); `address` is then `None`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub dhcp4: bool,
    /// How the NIC gets IPv6 addresses from the network (OpenStack's
    /// `ipv6_slaac`, `ipv6_dhcp…`), besides any static ones in `ipv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_auto: Option<Ipv6Auto>,
    /// The link's MTU, where the source gives one (OpenStack's `mtu`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// A bond or a VLAN (OpenStack's `bond` and `vlan` links, see `links`);
    /// `None`: a physical NIC, found by `mac`. A bond's or VLAN's `mac` is
    /// the one the source gives it, and may be a member's or the parent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<NicKind>,
}

/// IPv6 addresses a NIC takes from the network, as OpenStack names the
/// modes: router advertisements alone (SLAAC), SLAAC with DHCPv6 for the
/// other options (stateless), or DHCPv6 addresses (stateful). The stack's
/// own clients do it; osconf only writes the mode in the stack's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ipv6Auto {
    Slaac,
    DhcpStateless,
    DhcpStateful,
}

impl Ipv6Auto {
    /// Whether a DHCPv6 client runs (stateless or stateful).
    pub fn dhcp(self) -> bool {
        self != Ipv6Auto::Slaac
    }

    /// Whether the NIC takes addresses from router advertisements.
    pub fn slaac(self) -> bool {
        self != Ipv6Auto::DhcpStateful
    }
}

impl fmt::Display for Ipv6Auto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ipv6Auto::Slaac => "SLAAC",
            Ipv6Auto::DhcpStateless => "SLAAC with stateless DHCPv6",
            Ipv6Auto::DhcpStateful => "DHCPv6",
        })
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Nic {
    /// A NIC with only its primary address.
    pub fn new(index: u32, mac: Mac, address: Ipv4Addr, prefix: u8) -> Nic {
        Nic { address: Some(address), prefix, ..Nic::automatic(index, mac) }
    }

    /// A NIC without a static IPv4 address: set `dhcp4`, `ipv6_auto` or
    /// static IPv6 addresses on it.
    pub fn automatic(index: u32, mac: Mac) -> Nic {
        Nic {
            index,
            mac,
            address: None,
            prefix: 0,
            gateway: None,
            routes: Vec::new(),
            secondary: Vec::new(),
            ipv6: Vec::new(),
            ipv6_gateway: None,
            ipv6_routes: Vec::new(),
            table: None,
            dhcp4: false,
            ipv6_auto: None,
            mtu: None,
            kind: None,
        }
    }

    /// Its static IPv4 address and prefix.
    pub fn ipv4(&self) -> Option<(Ipv4Addr, u8)> {
        self.address.map(|a| (a, self.prefix))
    }

    /// osconf's name of the NIC: `ethN` (physical), `bondN`, or a VLAN's
    /// `PARENT.ID` with the parent's label.
    pub fn label(&self) -> String {
        match &self.kind {
            None => format!("eth{}", self.index),
            Some(NicKind::Bond(bond)) => format!("bond{}", bond.number),
            Some(NicKind::Vlan(vlan)) => format!("{}.{}", vlan.parent.label(), vlan.id),
        }
    }

    /// The NIC's network, e.g. 10.0.0.0 for 10.0.0.5/24.
    pub fn network(&self) -> Option<Ipv4Addr> {
        self.address.map(|a| values::network_of(a, self.prefix))
    }

    pub fn netmask(&self) -> Ipv4Addr {
        values::netmask_of(self.prefix)
    }

    pub fn default_route(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.is_default())
    }
}

impl Settings {
    /// Classic networks have an internet NIC (eth1) beside the intranet one.
    pub fn is_classic(&self) -> bool {
        self.nics.iter().any(|n| n.index == 1)
    }

    /// The address the host name maps to in /etc/hosts: the first NIC's.
    pub fn primary_address(&self) -> Option<Ipv4Addr> {
        self.nics.first().and_then(|n| n.address)
    }
}

/// A validation error: which key, on which line, and what is wrong with it.
/// The value is quoted only for keys that are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            // Whole-file errors (size) have neither line nor key.
            (Some(0) | None, true) => f.write_str(&self.message),
            (Some(0) | None, false) => write!(f, "{}: {}", self.key, self.message),
            (Some(line), true) => write!(f, "line {}: {}", line, self.message),
            (Some(line), false) => write!(f, "line {}: {}: {}", line, self.key, self.message),
        }
    }
}

impl std::error::Error for SettingsError {}

/// A NIC for unit tests: eth1, 10.0.1.5/24 via 10.0.1.1.
#[cfg(test)]
pub(crate) fn test_nic() -> Nic {
    let mut nic = Nic::new(1, Mac([0x52, 0x54, 0, 0, 0, 2]), "10.0.1.5".parse().unwrap(), 24);
    nic.gateway = Some("10.0.1.1".parse().unwrap());
    nic
}
