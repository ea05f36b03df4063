//! systemd-networkd: one `.network` file per NIC, matched by MAC. The `10-`
//! prefix sorts it before distribution defaults, so it is the one applied.
//!
//! networkd applies to a link the first `.network` file, in file-name order
//! over /etc, /run and /lib, whose `[Match]` fits it. An image's own file in
//! /etc/systemd/network that sorts before osconf's and names the same NIC
//! (its MAC, or its kernel name without a pattern) would win: it is removed
//! after being backed up. One in /run or /lib is only warned about.

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::{Mac, Nic, Settings};

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
    owns: |path| super::file_of_nic(path, "/etc/systemd/network", "10-osconf-", ".network"),
};

const DIRS: [&str; 4] =
    ["/etc/systemd/network", "/run/systemd/network", "/lib/systemd/network", "/usr/lib/systemd/network"];

fn render(settings: &Settings, names: &NicNames, root: &Root) -> Result<Rendered, Error> {
    let mut owned = Vec::new();
    let mut disabled = Vec::new();
    for nic in &settings.nics {
        let file = format!("10-osconf-{}.network", nic.label());
        let mut text = header("#", &format!("{} settings", nic.label()));
        text += &format!("[Match]\nMACAddress={}\n\n", nic.mac);
        if let Some(mtu) = nic.mtu {
            text += &format!("[Link]\nMTUBytes={mtu}\n\n");
        }
        text += "[Network]\n";
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

    #[test]
    fn a_match_by_mac_or_exact_name_names_the_nic_a_pattern_does_not() {
        let mac: Mac = "52:54:00:12:34:56".parse().unwrap();
        assert!(names_nic("[Match]\nMACAddress=52:54:00:12:34:56\n[Network]\nDHCP=yes\n", mac, "ens2"));
        assert!(names_nic("[Match]\nName=eth9 ens2\n", mac, "ens2"));
        assert!(!names_nic("[Match]\nName=en*\n", mac, "ens2"));
        assert!(!names_nic("[Network]\nName=ens2\n", mac, "ens2"));
    }
}
