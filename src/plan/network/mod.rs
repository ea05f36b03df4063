//! Persistent network configuration in the image's own stack, so the network
//! comes back at the next boot even without osconf. One folder per stack,
//! listed in [`STACKS`]: its detection, its renderer (a pure function of the
//! settings plus the NIC names the image has, producing byte-identical files
//! for the same input), what `osconf check` says of it and how it takes
//! effect ([`Stack`]). Also the live changes ([`live`]): the running
//! kernel's half of the same diff. Nothing here writes: `apply` writes the
//! files, sets the kernel's state (`apply::network_live`) and makes the
//! stack read them (`apply::take_effect`), as the stack's description says.

mod detect;
mod extra;
mod ifupdown;
pub mod live;
mod netplan;
mod networkd;
mod networkmanager;
mod rhel_ifcfg;
mod stack;
mod suse_ifcfg;

use std::net::{IpAddr, Ipv4Addr};

use crate::error::Error;
use crate::files::{text_of, DirEntry, FileWrite, Root};
use crate::settings::{Mac, Nic, NicKind, Parent, Settings};

pub use detect::{detect, enabled, Detection};
pub use stack::{AsGenerator, Configure, Stack, TakeEffect};

/// Every network stack osconf writes for, each described by its folder
/// below (see [`Stack`]). A new stack: its folder, and one line here. The
/// order is the one `[network] stack`'s error lists them in; detection
/// follows each stack's `precedence`.
pub const STACKS: &[&Stack] = &[
    &ifupdown::STACK,
    &rhel_ifcfg::STACK,
    &suse_ifcfg::STACK,
    &networkd::STACK,
    &networkmanager::STACK,
    &netplan::STACK,
];

/// What a renderer produces.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Files osconf owns: removed when a later drop no longer needs them.
    pub owned: Vec<FileWrite>,
    /// The image's own files that must change too (e.g. a conflicting
    /// stanza in /etc/network/interfaces): their original is kept under
    /// /var/lib/osconf/backup.
    pub edited: Vec<FileWrite>,
    /// The image's own files that define a NIC of the drop and that the
    /// stack would use instead of osconf's: backed up, then removed.
    pub disabled: Vec<String>,
}

/// The files that make `stack` bring the NICs up as `settings` says, and
/// none of the image's own definitions of those NICs win. `previous`: the
/// NICs osconf configured last time.
pub fn render(stack: &Stack, settings: &Settings, root: &Root, previous: &[Nic]) -> Result<Rendered, Error> {
    let names = NicNames::read(root, &settings.nics);
    (stack.render)(settings, &names, root, previous)
}

/// Kernel names of the NICs, for the formats that cannot match by MAC
/// (ifupdown, ifcfg): read from `/sys/class/net/*/address` under the root;
/// a NIC not found there (an image prepared offline) keeps its `ethN` label.
/// A bond is `bondN`; a VLAN `PARENT.ID`, PARENT its parent's name (or
/// `vlanID` where that would be longer than the kernel's 15 bytes). Bonds
/// and VLANs already in sysfs (a second run) are no NIC's: they carry a
/// member's or their parent's MAC, and a member carries its bond's, so a
/// member is known by its permanent address (`bonding_slave/perm_hwaddr`).
pub struct NicNames {
    found: Vec<(Mac, String)>,
    /// The physical NICs' MACs by index, for a VLAN's parent.
    physical: Vec<(u32, Mac)>,
}

impl NicNames {
    pub fn read(root: &Root, nics: &[Nic]) -> NicNames {
        let mut found = Vec::new();
        if let Ok(entries) = root.read_dir("/sys/class/net") {
            for DirEntry { name, .. } in entries {
                let sys = |file: &str| root.read_optional(&format!("/sys/class/net/{name}/{file}")).ok().flatten();
                let uevent = sys("uevent").unwrap_or_default();
                if uevent.lines().any(|l| l == "DEVTYPE=bond" || l == "DEVTYPE=vlan") {
                    continue;
                }
                let Some(text) = sys("bonding_slave/perm_hwaddr").or_else(|| sys("address")) else { continue };
                if let Ok(mac) = text.trim().parse() {
                    if nics.iter().any(|n| n.is_physical() && n.mac == mac) {
                        found.push((mac, name));
                    }
                }
            }
        }
        found.sort();
        let physical = nics.iter().filter(|n| n.is_physical()).map(|n| (n.index, n.mac)).collect();
        NicNames { found, physical }
    }

    pub fn of(&self, nic: &Nic) -> String {
        match &nic.kind {
            None => self.of_mac(nic.mac).unwrap_or_else(|| nic.label()),
            Some(NicKind::Bond(_)) => nic.label(),
            Some(NicKind::Vlan(vlan)) => {
                let parent = match vlan.parent {
                    Parent::Nic(index) => {
                        self.physical.iter().find(|(i, _)| *i == index).and_then(|(_, m)| self.of_mac(*m))
                    }
                    Parent::Bond(_) => None,
                };
                let name = format!("{}.{}", parent.unwrap_or_else(|| vlan.parent.label()), vlan.id);
                // The kernel's names have at most 15 bytes: `vlanID` (a name
                // ifcfg's VLAN naming knows too) where PARENT.ID would not fit.
                if is_interface_name(&name) {
                    name
                } else {
                    format!("vlan{}", vlan.id)
                }
            }
        }
    }

    fn of_mac(&self, mac: Mac) -> Option<String> {
        self.found.iter().find(|(found, _)| *found == mac).map(|(_, name)| name.clone())
    }
}

/// The first line of every file osconf writes. It names no source: the
/// same files come from os.conf, the Tencent CD-ROM or the metadata endpoint.
/// Whether `path` is `DIR/<prefix>LABEL<suffix>`, a per-NIC file osconf names
/// by the NIC's label (`Nic::label`): `ethN`, `bondN`, or a VLAN's
/// `ethN.ID` or `bondN.ID`.
pub(crate) fn file_of_nic(path: &str, dir: &str, prefix: &str, suffix: &str) -> bool {
    let number = |n: &str| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
            && (n == "0" || !n.starts_with('0'))
            && n.parse::<u32>().is_ok()
    };
    let device = |text: &str| text.strip_prefix("eth").or_else(|| text.strip_prefix("bond")).is_some_and(number);
    let label = |text: &str| {
        device(text)
            || text.split_once('.').is_some_and(|(parent, id)| {
                device(parent) && number(id) && id.parse::<u16>().is_ok_and(|id| (1..=4094).contains(&id))
            })
    };
    let name = path.strip_prefix(dir).and_then(|rest| rest.strip_prefix('/'));
    name.and_then(|n| n.strip_prefix(prefix)).and_then(|n| n.strip_suffix(suffix)).is_some_and(label)
}

/// Whether `path` is `DIR/<one of prefixes><interface name>`: the ifcfg
/// formats name their files by the kernel's name of the NIC.
pub(crate) fn file_of_interface(path: &str, dir: &str, prefixes: &[&str]) -> bool {
    let name = path.strip_prefix(dir).and_then(|rest| rest.strip_prefix('/'));
    name.is_some_and(|name| prefixes.iter().any(|p| name.strip_prefix(p).is_some_and(is_interface_name)))
}

/// A kernel interface name: 1 to 15 bytes, not `.` or `..`, no `/`, `:`,
/// white space or control character.
fn is_interface_name(name: &str) -> bool {
    (1..=15).contains(&name.len())
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

fn header(comment: &str, what: &str) -> String {
    format!("{comment} Written by osconf from the instance's settings ({what}).\n{comment} osconf owns this file and rewrites or removes it when the settings change.\n")
}

/// The gateway of the default route, when this NIC carries it.
fn default_gateway(nic: &Nic) -> Option<Ipv4Addr> {
    nic.default_route().map(|r| r.via)
}

/// A route's destination as `ip route` and netplan write it: `default` or `DEST/PREFIX`.
fn destination(route: &crate::settings::Route) -> String {
    if route.is_default() {
        "default".to_string()
    } else {
        format!("{}/{}", route.dest, route.prefix)
    }
}

/// The NIC's routes other than the default one.
fn static_routes(nic: &Nic) -> impl Iterator<Item = &crate::settings::Route> {
    nic.routes.iter().filter(|r| !r.is_default())
}

/// Name servers go with the first NIC only: one place, no duplicates. IPv6
/// ones among them too (the metadata source keeps them only when that NIC
/// has IPv6; see `networkmanager` for the one stack that cares).
fn dns_for<'a>(settings: &'a Settings, nic: &Nic) -> &'a [IpAddr] {
    // By index: a bond or VLAN may share its MAC with a member or its parent.
    if settings.nics.first().is_some_and(|first| first.index == nic.index) {
        &settings.nameservers
    } else {
        &[]
    }
}

/// A route or rule file of a NIC (header, then `lines`), if it has lines.
fn lines_file(path: String, nic: &Nic, what: &str, lines: String) -> Option<FileWrite> {
    (!lines.is_empty()).then(|| FileWrite::new(path, header("#", &format!("{} {what}", nic.label())) + &lines, 0o644))
}

/// A bond's options as the bonding driver's parameters (`mode=… miimon=…
/// xmit_hash_policy=…`): the ifcfg formats' BONDING_OPTS and BONDING_MODULE_OPTS.
fn bonding_options(bond: &crate::settings::Bond) -> String {
    let mut options = format!("mode={}", bond.mode);
    if let Some(miimon) = bond.miimon {
        options += &format!(" miimon={miimon}");
    }
    if let Some(policy) = &bond.xmit_hash_policy {
        options += &format!(" xmit_hash_policy={policy}");
    }
    options
}

fn join<T: ToString>(items: &[T], separator: &str) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(separator)
}

/// An image file a stack's renderer reads (to find the image's own
/// definitions of osconf's NICs, and to cut them out): its text as
/// [`text_of`] gives it, so that a line osconf does not own keeps its bytes
/// even where they are not UTF-8 (a warning names the file and the first
/// such line). `None`, with a warning, when it cannot be read: a link out of
/// the image, a FIFO (which would block the read, and the boot, forever) or
/// a directory in its place. Gone: `None`.
fn read_image_file(root: &Root, path: &str, stack: &str) -> Option<String> {
    let bytes = match root.read_bytes(path) {
        Ok(bytes) => bytes?,
        Err(e) => {
            log::warn!("{stack}: {e}: osconf cannot read which NICs it defines");
            return None;
        }
    };
    if let Err(e) = std::str::from_utf8(&bytes) {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        log::warn!("{stack}: {path} line {line} is not UTF-8 text; osconf keeps its bytes as they are");
    }
    Some(text_of(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Bond, Vlan};

    fn mac(last: u8) -> Mac {
        Mac([0x52, 0x54, 0, 0, 0, last])
    }

    /// A bond of two NICs with a VLAN on it, and a VLAN on a third NIC.
    pub(crate) fn bonded() -> Vec<Nic> {
        let bond = Bond {
            number: 0,
            members: vec![mac(1), mac(2)],
            mode: "active-backup".into(),
            miimon: None,
            xmit_hash_policy: None,
        };
        let vlan = |parent, index| Nic {
            kind: Some(NicKind::Vlan(Vlan { parent, id: 7 })),
            dhcp4: true,
            ..Nic::automatic(index, mac(9))
        };
        vec![
            Nic { kind: Some(NicKind::Bond(bond)), dhcp4: true, ..Nic::automatic(0, mac(1)) },
            vlan(Parent::Bond(0), 1),
            vlan(Parent::Nic(4), 2),
            Nic::automatic(3, mac(1)),
            Nic { dhcp4: true, ..Nic::automatic(4, mac(3)) },
            Nic::automatic(5, mac(2)),
        ]
    }

    /// Kernel names: a member by its permanent MAC even where it carries
    /// its bond's; bonds and VLANs already in sysfs are no NIC's; a VLAN on
    /// a physical NIC is named after that NIC's kernel name.
    #[test]
    fn bonds_and_vlans_are_named_after_their_number_and_parent() {
        let base = std::env::temp_dir().join(format!("osconf-nicnames-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let link = |name: &str, file: &str, text: &str| {
            std::fs::create_dir_all(base.join("sys/class/net").join(name).join("bonding_slave")).unwrap();
            std::fs::write(base.join("sys/class/net").join(name).join(file), text).unwrap();
        };
        link("ens3", "address", "52:54:00:00:00:01\n");
        link("ens4", "address", "52:54:00:00:00:01\n");
        link("ens4", "bonding_slave/perm_hwaddr", "52:54:00:00:00:02\n");
        link("ens5", "address", "52:54:00:00:00:03\n");
        link("bond0", "address", "52:54:00:00:00:01\n");
        link("bond0", "uevent", "DEVTYPE=bond\nINTERFACE=bond0\n");
        link("aaa.7", "address", "52:54:00:00:00:03\n");
        link("aaa.7", "uevent", "DEVTYPE=vlan\n");
        link("enp129s0f1np1", "address", "52:54:00:00:00:04\n");
        let mut nics = bonded();
        nics.push(Nic::automatic(6, mac(4)));
        nics.push(Nic {
            kind: Some(NicKind::Vlan(Vlan { parent: Parent::Nic(6), id: 602 })),
            ..Nic::automatic(7, mac(4))
        });
        let names = NicNames::read(&Root::new(&base), &nics);
        assert_eq!((names.of(&nics[6]), names.of(&nics[7])), ("enp129s0f1np1".into(), "vlan602".into()));
        nics.truncate(6);
        let named: Vec<String> = nics.iter().map(|n| names.of(n)).collect();
        assert_eq!(named, ["bond0", "bond0.7", "ens5.7", "ens3", "ens5", "ens4"]);
        let labels: Vec<String> = nics.iter().map(Nic::label).collect();
        assert_eq!(labels, ["bond0", "bond0.7", "eth4.7", "eth3", "eth4", "eth5"]);
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// Only the first NIC carries the name servers, even where a member
    /// shares its MAC.
    #[test]
    fn name_servers_go_with_the_first_nic_by_index() {
        let settings =
            Settings { nics: bonded(), nameservers: vec!["10.0.0.2".parse().unwrap()], ..Settings::default() };
        let with: Vec<bool> = settings.nics.iter().map(|n| !dns_for(&settings, n).is_empty()).collect();
        assert_eq!(with, [true, false, false, false, false, false]);
    }
}
