//! NetworkManager keyfiles: one connection per NIC, bound to its MAC, mode
//! 0600 (NetworkManager ignores keyfiles that others can read).
//!
//! The image's own profiles must not win. NetworkManager autoconnects, among
//! the profiles a device can take, the one with the highest
//! `autoconnect-priority` (osconf's: 100, the default is 0); a profile bound
//! to the same NIC (same `mac-address` or `interface-name`, a keyfile or
//! RHEL's "System eth0" ifcfg) is removed after being backed up, so that it
//! cannot be chosen either, nor win on a tie. Profiles bound to no NIC are
//! left alone: they serve the NICs osconf does not configure.
//!
//! NetworkManager creates "Wired connection N" (DHCP) for an ethernet NIC
//! without a profile; after classic → VPC that would be the NIC osconf
//! stopped configuring, and NetworkManager-wait-online would wait for its
//! DHCP. osconf lists every NIC it configures or configured in
//! `no-auto-default` (NetworkManager.conf(5)), appended with `+=` to what the
//! image's own configuration lists.
//!
//! A bond is a `type=bond` profile with its `[bond]` options, a VLAN a
//! `type=vlan` one with `[vlan] parent=` (the parent's name) and `id=`,
//! both bound by `interface-name` (they share a member's or their parent's
//! MAC); a member's profile names its bond (`master=`, `slave-type=bond`)
//! and has no IP sections, as NetworkManager wants of a port.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::links::bond_of;
use crate::settings::{Mac, Nic, NicKind, Settings};

use super::detect::enabled;
use super::{default_gateway, dns_for, header, join, read_image_file, rhel_ifcfg, static_routes};
use super::{Configure, NicNames, Rendered, Stack, TakeEffect};

mod extra;

/// After netplan (which may generate NetworkManager's profiles); before
/// networkd, whose service may be enabled too. NetworkManager activates
/// osconf's profile itself when it starts: osconf does not set the
/// addresses live (see [`Configure::ByStack`]).
pub static STACK: Stack = Stack {
    name: "networkmanager",
    precedence: 20,
    detect: |root| {
        enabled(root, "NetworkManager.service").map(|link| format!("NetworkManager.service is enabled ({link})"))
    },
    render,
    check: |_| format!("osconf writes {CONNECTIONS}/osconf-ethN.nmconnection"),
    take_effect: TakeEffect::AtStart,
    live: Configure::ByStack,
    owns: |path| {
        path == CONF || super::file_of_nic(path, "/etc/NetworkManager/system-connections", "osconf-", ".nmconnection")
    },
};

const CONNECTIONS: &str = "/etc/NetworkManager/system-connections";
pub const CONF: &str = "/etc/NetworkManager/conf.d/90-osconf.conf";

/// Suffixes NetworkManager's keyfile plugin does not load.
const IGNORED: [&str; 7] = ["~", ".bak", ".orig", ".rej", ".rpmnew", ".rpmsave", ".swp"];

fn render(settings: &Settings, names: &NicNames, root: &Root, previous: &[Nic]) -> Result<Rendered, Error> {
    let mut owned: Vec<FileWrite> = settings.nics.iter().map(|nic| keyfile(settings, names, nic)).collect();
    owned.push(no_auto_default(settings, root, previous)?);
    let ours: Vec<String> = owned.iter().map(|f| f.path.clone()).collect();
    let nics: Vec<(&Nic, String)> = settings.nics.iter().map(|n| (n, names.of(n))).collect();
    let mut disabled = bound_keyfiles(root, &nics, &ours)?;
    disabled.extend(rhel_ifcfg::conflicting(root, &nics, &ours)?);
    Ok(Rendered { owned, edited: Vec::new(), disabled })
}

fn keyfile(settings: &Settings, names: &NicNames, nic: &Nic) -> FileWrite {
    let id = format!("osconf-{}", nic.label());
    let mut text = header("#", &format!("{} settings", nic.label()));
    let (kind, uuid) = match &nic.kind {
        None => ("ethernet", uuid_for(&nic.mac.to_string())),
        Some(NicKind::Bond(_)) => ("bond", uuid_for(&nic.label())),
        Some(NicKind::Vlan(_)) => ("vlan", uuid_for(&nic.label())),
    };
    text += &format!("[connection]\nid={id}\nuuid={uuid}\ntype={kind}\nautoconnect=true\nautoconnect-priority=100\n");
    let bond = bond_of(&settings.nics, nic);
    match (&nic.kind, bond) {
        (None, None) => {}
        (None, Some(bond)) => text += &format!("master={}\nslave-type=bond\n", names.of(bond)),
        (Some(_), _) => text += &format!("interface-name={}\n", names.of(nic)),
    }
    text += "\n";
    match &nic.kind {
        None => text += &format!("[ethernet]\nmac-address={}\n", nic.mac.to_string().to_uppercase()),
        Some(_) if nic.mtu.is_some() => text += "[ethernet]\n",
        Some(_) => {}
    }
    if let Some(mtu) = nic.mtu {
        text += &format!("mtu={mtu}\n");
    }
    let section = extra::bond_or_vlan(settings, names, nic);
    if !section.is_empty() && !text.ends_with("\n\n") {
        text += "\n";
    }
    text += &section;
    if bond.is_some() {
        // A port: its bond has the addresses.
        return FileWrite::new(format!("{CONNECTIONS}/{id}.nmconnection"), text, 0o600);
    }
    // `auto`: DHCP, and the default route its server gives; `disabled`: no IPv4 at all.
    let method = match (nic.ipv4(), nic.dhcp4) {
        (Some(_), _) => "manual",
        (None, true) => "auto",
        (None, false) => "disabled",
    };
    text += &format!("\n[ipv4]\nmethod={method}\n");
    match (nic.ipv4(), default_gateway(nic)) {
        (Some((address, prefix)), Some(gateway)) => text += &format!("address1={address}/{prefix},{gateway}\n"),
        (Some((address, prefix)), None) => text += &format!("address1={address}/{prefix}\nnever-default=true\n"),
        (None, _) => {}
    }
    for (n, route) in static_routes(nic).enumerate() {
        text += &format!("route{}={}/{},{}\n", n + 1, route.dest, route.prefix, route.via);
    }
    text += &extra::ipv4(nic, static_routes(nic).count());
    // Each family's servers in its own section: NetworkManager refuses an
    // IPv6 server in `[ipv4] dns=` ("DNS server address is invalid").
    let (dns4, dns6): (Vec<IpAddr>, Vec<IpAddr>) = dns_for(settings, nic).iter().partition(|a| a.is_ipv4());
    if !dns4.is_empty() {
        text += &format!("dns={};\nignore-auto-dns=true\n", join(&dns4, ";"));
    }
    text += &extra::ipv6(nic, &dns6);
    FileWrite::new(format!("{CONNECTIONS}/{id}.nmconnection"), text, 0o600)
}

/// osconf's conf.d file: no automatic DHCP profile for the NICs osconf
/// configures now, configured before (the record), or listed there before.
fn no_auto_default(settings: &Settings, root: &Root, previous: &[Nic]) -> Result<FileWrite, Error> {
    // Hardware only: a bond or VLAN has no automatic profile to prevent.
    let mut macs: Vec<Mac> = settings.nics.iter().chain(previous).filter(|n| n.is_physical()).map(|n| n.mac).collect();
    if let Some(text) = read_image_file(root, CONF, "NetworkManager") {
        let listed = text.lines().filter_map(|l| l.trim().strip_prefix("no-auto-default+=")).flat_map(|l| l.split(','));
        macs.extend(listed.filter_map(|spec| spec.trim().trim_start_matches("mac:").parse::<Mac>().ok()));
    }
    macs.sort();
    macs.dedup();
    let specs: Vec<String> = macs.iter().map(|m| format!("mac:{m}")).collect();
    let text = header("#", "no automatic DHCP profile for the NICs osconf configures or configured")
        + &format!("[main]\nno-auto-default+={}\n", specs.join(","));
    Ok(FileWrite::new(CONF, text, 0o644))
}

/// The image's keyfiles bound to one of `nics` by MAC or interface name.
fn bound_keyfiles(root: &Root, nics: &[(&Nic, String)], ours: &[String]) -> Result<Vec<String>, Error> {
    let Ok(entries) = root.read_dir(CONNECTIONS) else { return Ok(Vec::new()) };
    let mut files: Vec<String> = entries
        .into_iter()
        .filter(|e| e.is_file)
        .map(|e| e.name)
        .filter(|n| !n.starts_with('.') && !IGNORED.iter().any(|s| n.ends_with(s)))
        .collect();
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let path = format!("{CONNECTIONS}/{file}");
        if ours.contains(&path) {
            continue;
        }
        let text = root.read_optional(&path)?.unwrap_or_default();
        let Ok(ini) = ini::Ini::load_from_str(&text) else {
            log::warn!("NetworkManager: {path} is not a keyfile osconf can read; left alone");
            continue;
        };
        let get =
            |sections: &[&str], key: &str| sections.iter().find_map(|s| ini.get_from(Some(*s), key)).map(str::trim);
        let mac = get(&["ethernet", "802-3-ethernet"], "mac-address").and_then(|m| m.parse::<Mac>().ok());
        let interface = get(&["connection"], "interface-name");
        if nics.iter().any(|(nic, name)| mac == Some(nic.mac) || interface == Some(name.as_str())) {
            found.push(path);
        }
    }
    Ok(found)
}

/// A UUID derived from the MAC (a bond's or VLAN's: its label), so that
/// rendering twice gives the same file.
fn uuid_for(key: &str) -> String {
    let hash = Sha256::digest(format!("osconf:{key}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // version 5 (name-based)
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
