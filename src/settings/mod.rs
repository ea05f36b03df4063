//! The validated model of what the cloud asked for. Every source (drop file,
//! CD-ROM, metadata endpoint) ends here; nothing invalid gets past this module.

pub mod build;
pub mod extra;
pub mod parse;
pub mod ssh_key;
pub(crate) mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub use build::{Conflict, NicField, SettingsBuilder};
pub use parse::{parse, Entry, ParseError};
pub use ssh_key::SshKey;
pub use values::{Mac, Route};

/// What the settings want. NICs are sorted by their `ethN` index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub hostname: Option<String>,
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
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub routes: Vec<Route>,
    /// What only the metadata endpoint carries (see `extra`): secondary
    /// IPv4 addresses (`private-ipv4s` besides the primary), IPv6 addresses
    /// and gateway, and whether the NIC routes its own replies through a
    /// table of its own. Absent from os.conf drops and from older records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secondary: Vec<(Ipv4Addr, u8)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_gateway: Option<Ipv6Addr>,
    /// The routing table of per-NIC routing (`extra::policy_table`), set for
    /// secondary NICs with a gateway: see [`Nic::policy`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
}

impl Nic {
    /// A NIC with only its primary address.
    pub fn new(index: u32, mac: Mac, address: Ipv4Addr, prefix: u8) -> Nic {
        Nic {
            index,
            mac,
            address,
            prefix,
            gateway: None,
            routes: Vec::new(),
            secondary: Vec::new(),
            ipv6: Vec::new(),
            ipv6_gateway: None,
            table: None,
        }
    }

    pub fn label(&self) -> String {
        format!("eth{}", self.index)
    }

    /// The NIC's network, e.g. 10.0.0.0 for 10.0.0.5/24.
    pub fn network(&self) -> Ipv4Addr {
        values::network_of(self.address, self.prefix)
    }

    pub fn netmask(&self) -> Ipv4Addr {
        values::netmask_of(self.prefix)
    }

    pub fn default_route(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.is_default())
    }
}

impl Settings {
    /// Parses and validates a drop in one step.
    pub fn from_drop(bytes: &[u8], form: PasswordForm) -> Result<Settings, SettingsError> {
        let entries = parse(bytes).map_err(SettingsError::from)?;
        Settings::from_entries(&entries, form)
    }

    /// Validates os.conf assignments: each key's value into its typed
    /// value, then the whole through the one [`SettingsBuilder`]. Unknown
    /// keys are logged and ignored.
    pub fn from_entries(entries: &[Entry], form: PasswordForm) -> Result<Settings, SettingsError> {
        let mut builder = SettingsBuilder::new();
        let mut nic_entries: BTreeMap<u32, Vec<&Entry>> = BTreeMap::new();
        for entry in entries {
            let at = |message: String| SettingsError::at(entry, message);
            match entry.key.as_str() {
                "hostname" => {
                    let name = values::hostname(&entry.value).map_err(at)?;
                    if name != *entry.value {
                        log::info!("line {}: hostname {}: '_' is not allowed in a host name (systemd drops it at boot): using {name}", entry.line, entry.value.as_str());
                    }
                    builder.hostname(name);
                }
                "password" => builder.password(values::password(&entry.value, form).map_err(at)?),
                "dns_nameserver" => builder
                    .nameservers(values::nameservers(&entry.value).map_err(at)?.into_iter().map(IpAddr::V4).collect()),
                key => match values::nic_key(key) {
                    Some((index, _)) => nic_entries.entry(index).or_default().push(entry),
                    None => log::warn!("line {}: unknown key {:?} ignored", entry.line, parse::shorten(key)),
                },
            }
        }
        let conflict = |c: Conflict| {
            let field = match c.field {
                NicField::Mac => "mac_addr",
                NicField::Address => "ip_addr",
                NicField::Routes => "route",
            };
            SettingsError::for_key(entries, &format!("eth{}_{field}", c.index), c.message)
        };
        for (index, entries) in nic_entries {
            builder.nic(nic(index, &entries)?).map_err(conflict)?;
        }
        // A gateway gives the default route on the NIC the cloud's contract
        // names (PLATFORM.md): Alibaba's internet-facing NIC — eth1 on
        // classic networks, eth0 on VPC — and Tencent's eth0, whatever other
        // NICs the drop lists. The password's form tells the clouds apart:
        // only Tencent sends a crypt hash.
        let carrier = match form {
            PasswordForm::Base64Plain if builder.has_nic(1) => 1,
            PasswordForm::Base64Plain | PasswordForm::CryptHash => 0,
        };
        builder.build(Some(carrier)).map_err(conflict)
    }

    /// Classic networks have an internet NIC (eth1) beside the intranet one.
    pub fn is_classic(&self) -> bool {
        self.nics.iter().any(|n| n.index == 1)
    }

    /// The address the host name maps to in /etc/hosts: the first NIC's.
    pub fn primary_address(&self) -> Option<Ipv4Addr> {
        self.nics.first().map(|n| n.address)
    }
}

/// Builds one NIC from its `ethN_*` entries.
fn nic(index: u32, entries: &[&Entry]) -> Result<Nic, SettingsError> {
    let find = |field: &str| entries.iter().copied().find(|e| values::nic_key(&e.key).map(|(_, f)| f) == Some(field));
    let first = entries[0];
    let required = |field: &str| {
        find(field).ok_or_else(|| SettingsError {
            key: format!("eth{index}_{field}"),
            line: Some(first.line),
            message: format!("is missing, but eth{index} is configured (line {})", first.line),
        })
    };
    for entry in entries {
        let (_, field) = values::nic_key(&entry.key).expect("grouped by nic_key");
        if !matches!(field, "ip_addr" | "mac_addr" | "netmask" | "gateway" | "route") {
            log::warn!("line {}: unknown key {:?} ignored", entry.line, entry.key);
        }
    }
    // Values first, in file order, so the first error is the first bad line.
    let value = |field: &str| find(field).map(|e| (e, e.value.as_str()));
    let check = |field: &str, f: &dyn Fn(&str) -> Result<(), String>| match value(field) {
        Some((entry, text)) => f(text).map_err(|m| SettingsError::at(entry, m)),
        None => Ok(()),
    };
    check("mac_addr", &|v| values::mac(v).map(drop))?;
    check("ip_addr", &|v| values::host_address(v).map(drop))?;
    check("netmask", &|v| values::netmask(v).map(drop))?;
    let mac = values::mac(&required("mac_addr")?.value).expect("checked above");
    let address = values::host_address(&required("ip_addr")?.value).expect("checked above");
    let prefix = values::netmask(&required("netmask")?.value).expect("checked above");
    let mut nic = Nic::new(index, mac, address, prefix);
    if let Some(entry) = find("gateway") {
        let gateway = values::host_address(&entry.value).map_err(|m| SettingsError::at(entry, m))?;
        build::set_gateway(&mut nic, gateway).map_err(|m| SettingsError::at(entry, m))?;
    }
    if let Some(entry) = find("route") {
        nic.routes = values::routes(&entry.value, &nic).map_err(|m| SettingsError::at(entry, m))?;
    }
    Ok(nic)
}

/// A validation error: which key, on which line, and what is wrong with it.
/// The value is quoted only for keys that are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl SettingsError {
    fn at(entry: &Entry, message: String) -> SettingsError {
        SettingsError { key: entry.key.clone(), line: Some(entry.line), message }
    }

    fn for_key(entries: &[Entry], key: &str, message: String) -> SettingsError {
        let line = entries.iter().find(|e| e.key == key).map(|e| e.line);
        SettingsError { key: key.to_owned(), line, message }
    }
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

impl From<ParseError> for SettingsError {
    fn from(e: ParseError) -> SettingsError {
        SettingsError { key: e.key.unwrap_or_default(), line: Some(e.line), message: e.message }
    }
}

#[cfg(test)]
mod tests;
