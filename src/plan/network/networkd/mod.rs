//! systemd-networkd: one `.network` file per NIC, matched by MAC. The `10-`
//! prefix sorts it before distribution defaults, so it is the one applied.
//!
//! networkd applies to a link the first `.network` file, in file-name order
//! over /etc, /run and /lib, whose `[Match]` fits it. An image's own file in
//! /etc/systemd/network that sorts before osconf's and names the same NIC
//! (its MAC, or its kernel name without a pattern) would win: it is removed
//! after being backed up. One in /run or /lib is only warned about.
//!
//! A bond or VLAN is a `.netdev` (`Kind=bond` with its `[Bond]` options,
//! `Kind=vlan` with `Id=`) and a `.network` matched by its name; a member's
//! `.network` says `Bond=`, a parent's `VLAN=`. A bond or VLAN takes its
//! member's or its parent's MAC, which that NIC's file matches too: the
//! names sort the bond's and VLAN's files first (`10-osconf-bond0…`,
//! `10-osconf-eth0.ID…` before `10-osconf-eth0.network`), so each gets its own.

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::links::{bond_of, vlans_on};
use crate::settings::{Mac, Nic, NicKind, Settings};

use super::detect::enabled;
use super::{dns_for, header, read_image_file, Configure, NicNames, Rendered, Stack, TakeEffect};

mod extra;

/// After netplan (which generates networkd's files) and NetworkManager.
pub static STACK: Stack = Stack {
    name: "networkd",
    precedence: 30,
    detect: |root| {
        enabled(root, "systemd-networkd.service").map(|link| format!("systemd-networkd.service is enabled ({link})"))
    },
    render: |settings, names, root, _| render(settings, names, root),
    check: |_| "osconf writes /etc/systemd/network/10-osconf-ethN.network".into(),
    take_effect: TakeEffect::AtStart,
    live: Configure::Now,
    owns: |path| {
        super::file_of_nic(path, "/etc/systemd/network", "10-osconf-", ".network")
            || super::file_of_nic(path, "/etc/systemd/network", "10-osconf-", ".netdev")
    },
};

const DIRS: [&str; 4] =
    ["/etc/systemd/network", "/run/systemd/network", "/lib/systemd/network", "/usr/lib/systemd/network"];

fn render(settings: &Settings, names: &NicNames, root: &Root) -> Result<Rendered, Error> {
    let mut owned = Vec::new();
    let mut disabled = Vec::new();
    for nic in &settings.nics {
        let file = format!("10-osconf-{}.network", nic.label());
        let mut text = header("#", &format!("{} settings", nic.label()));
        match &nic.kind {
            None => text += &format!("[Match]\nMACAddress={}\n\n", nic.mac),
            Some(kind) => {
                text += &format!("[Match]\nName={}\n\n", names.of(nic));
                owned.push(netdev(nic, kind, &names.of(nic)));
            }
        }
        if let Some(mtu) = nic.mtu {
            text += &format!("[Link]\nMTUBytes={mtu}\n\n");
        }
        text += "[Network]\n";
        if let Some(bond) = bond_of(&settings.nics, nic) {
            text += &format!("Bond={}\n", names.of(bond));
        }
        for vlan in vlans_on(&settings.nics, nic) {
            text += &format!("VLAN={}\n", names.of(vlan));
        }
        if let Some((address, prefix)) = nic.ipv4() {
            text += &format!("Address={address}/{prefix}\n");
        }
        text += &extra::addresses(nic);
        text += &extra::automatic(nic);
        for server in dns_for(settings, nic) {
            text += &format!("DNS={server}\n");
        }
        for route in &nic.routes {
            text += &format!("\n[Route]\nDestination={}/{}\nGateway={}\n", route.dest, route.prefix, route.via);
        }
        text += &extra::sections(nic);
        for path in earlier_for(root, nic, &names.of(nic), &file)? {
            if path.starts_with("/etc/") {
                disabled.push(path);
            } else {
                log::warn!(
                    "networkd: {path} sorts before {file} and matches {} ({}): it wins, osconf cannot remove it",
                    names.of(nic),
                    nic.mac
                );
            }
        }
        owned.push(FileWrite::new(format!("/etc/systemd/network/{file}"), text, 0o644));
    }
    disabled.sort();
    disabled.dedup();
    Ok(Rendered { owned, edited: Vec::new(), disabled })
}

/// The `.netdev` that creates a bond or a VLAN, named `name`.
fn netdev(nic: &Nic, kind: &NicKind, name: &str) -> FileWrite {
    let mut text = header("#", &format!("{} device", nic.label()));
    match kind {
        NicKind::Bond(bond) => {
            text += &format!("[NetDev]\nName={name}\nKind=bond\n\n[Bond]\nMode={}\n", bond.mode);
            if let Some(miimon) = bond.miimon {
                text += &format!("MIIMonitorSec={miimon}ms\n");
            }
            if let Some(policy) = &bond.xmit_hash_policy {
                text += &format!("TransmitHashPolicy={policy}\n");
            }
        }
        NicKind::Vlan(vlan) => text += &format!("[NetDev]\nName={name}\nKind=vlan\n\n[VLAN]\nId={}\n", vlan.id),
    }
    FileWrite::new(format!("/etc/systemd/network/10-osconf-{}.netdev", nic.label()), text, 0o644)
}

/// The image's `.network` files sorting before `ours` that name this NIC.
fn earlier_for(root: &Root, nic: &Nic, name: &str, ours: &str) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    for dir in DIRS {
        let Ok(entries) = root.read_dir(dir) else { continue };
        for entry in entries {
            let file = entry.name;
            if !file.ends_with(".network") || file.as_str() >= ours || file.starts_with("10-osconf-") {
                continue;
            }
            let path = format!("{dir}/{file}");
            let Some(text) = read_image_file(root, &path, "networkd") else { continue };
            if names_nic(&text, nic.mac, name) {
                found.push(path);
            }
        }
    }
    Ok(found)
}

/// Whether a `.network` file's [Match] names the NIC by MAC or exact name.
fn names_nic(text: &str, mac: Mac, name: &str) -> bool {
    let mut in_match = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_match = line == "[Match]";
            continue;
        }
        let Some((key, value)) = line.split_once('=').filter(|_| in_match) else { continue };
        let hit = match key.trim() {
            "MACAddress" | "PermanentMACAddress" => {
                value.split_whitespace().any(|m| m.parse::<Mac>().ok() == Some(mac))
            }
            "Name" => value.split_whitespace().any(|n| n == name),
            _ => false,
        };
        if hit {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The image's own file for a bond's member (by its MAC) would win over
    /// osconf's: it is disabled as any NIC's is.
    #[test]
    fn the_images_file_for_a_member_is_disabled() {
        let base = std::env::temp_dir().join(format!("osconf-networkd-member-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("etc/systemd/network")).unwrap();
        let image = "[Match]\nMACAddress=52:54:00:00:00:02\n\n[Network]\nDHCP=yes\n";
        std::fs::write(base.join("etc/systemd/network/05-image.network"), image).unwrap();
        let settings = Settings { nics: super::super::tests::bonded(), ..Settings::default() };
        let root = Root::new(&base);
        let rendered = render(&settings, &NicNames::read(&root, &settings.nics), &root).unwrap();
        assert_eq!(rendered.disabled, ["/etc/systemd/network/05-image.network"]);
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// A bond or VLAN carries its member's or its parent's MAC, which that
    /// NIC's `[Match]` names too: its own file must sort first, so that
    /// networkd gives it its own.
    #[test]
    fn a_bond_or_vlan_file_sorts_before_its_members_and_parents() {
        let settings = Settings { nics: super::super::tests::bonded(), ..Settings::default() };
        let root = Root::new("/nonexistent-osconf-root");
        let names = NicNames::read(&root, &settings.nics);
        let owned = render(&settings, &names, &root).unwrap().owned;
        let file = |nic: &Nic| format!("/etc/systemd/network/10-osconf-{}.network", nic.label());
        assert!(owned.iter().any(|f| f.path.ends_with("10-osconf-bond0.netdev")));
        assert!(owned.iter().any(|f| f.text().contains("[Match]\nName=eth4.7\n")));
        let nics = &settings.nics;
        for nic in nics.iter().filter(|n| !n.is_physical()) {
            let below = nics.iter().filter(|other| {
                bond_of(nics, other) == Some(nic) || nic.vlan().is_some_and(|v| other.is_parent(v.parent))
            });
            for other in below {
                assert!(file(nic) < file(other), "{} sorts after {}", file(nic), file(other));
            }
        }
        let member = owned.iter().find(|f| f.path.ends_with("10-osconf-eth3.network")).unwrap().text();
        assert!(member.contains("[Network]\nBond=bond0\n"), "{member}");
        let parent = owned.iter().find(|f| f.path.ends_with("10-osconf-eth4.network")).unwrap().text();
        assert!(parent.contains("[Network]\nVLAN=eth4.7\nDHCP=ipv4\n"), "{parent}");
    }

    #[test]
    fn a_match_by_mac_or_exact_name_names_the_nic_a_pattern_does_not() {
        let mac: Mac = "52:54:00:12:34:56".parse().unwrap();
        assert!(names_nic("[Match]\nMACAddress=52:54:00:12:34:56\n[Network]\nDHCP=yes\n", mac, "ens2"));
        assert!(names_nic("[Match]\nName=eth9 ens2\n", mac, "ens2"));
        assert!(!names_nic("[Match]\nName=en*\n", mac, "ens2"));
        assert!(!names_nic("[Network]\nName=ens2\n", mac, "ens2"));
    }
}
