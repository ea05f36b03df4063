//! RHEL's network-scripts (initscripts, NetworkManager's ifcfg-rh):
//! ifcfg-NAME + route-NAME + route6-NAME + rule-NAME, named by the kernel's NIC name, the
//! MAC pinned with HWADDR. A route or rule file is written only when the NIC
//! has such lines, and like every file osconf owns it is removed when the
//! settings no longer need it.
//!
//! initscripts and NetworkManager's ifcfg-rh plugin load every `ifcfg-*` in
//! network-scripts/ except names ending in `~ .bak .old .orig .rpmnew
//! .rpmorig .rpmsave`: the image's own file for a NIC of the drop (same
//! DEVICE, or same HWADDR, e.g. "System eth0" with BOOTPROTO=dhcp) would be
//! a second profile for it. It is removed after being backed up (under
//! /var/lib/osconf/backup), with its route files.
//!
//! A bond is `TYPE=Bond`, `BONDING_MASTER=yes`, `BONDING_OPTS="mode=…
//! miimon=… xmit_hash_policy=…"`, its members `MASTER=bondN` `SLAVE=yes`;
//! a VLAN `VLAN=yes` with `PHYSDEV=` its parent, DEVICE `PARENT.ID` (the
//! keys cloud-init's sysconfig renderer writes). Neither has HWADDR: it
//! would be a member's or the parent's.

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::links::{bond_of, parent_of};
use crate::settings::{Mac, Nic, NicKind, Settings};

use super::extra::policy_rules;
use super::{default_gateway, dns_for, header, lines_file, read_image_file, static_routes};
use super::{Configure, NicNames, Rendered, Stack, TakeEffect};

mod extra;

pub const SCRIPTS: &str = "/etc/sysconfig/network-scripts";

/// After the services and ifupdown: NetworkManager's images (which read
/// these files through ifcfg-rh) often keep the directory.
pub static STACK: Stack = Stack {
    name: "rhel-ifcfg",
    precedence: 50,
    detect: |root| root.is_dir(SCRIPTS).then(|| format!("{SCRIPTS} exists")),
    render: |settings, names, root, _| render(settings, names, root),
    check: |_| format!("osconf writes {SCRIPTS}/ifcfg-NAME and route-NAME"),
    take_effect: TakeEffect::AtStart,
    live: Configure::Now,
    owns: |path| {
        super::file_of_interface(path, "/etc/sysconfig/network-scripts", &["ifcfg-", "route-", "route6-", "rule-"])
    },
};

/// Suffixes initscripts and ifcfg-rh skip when they read network-scripts/.
const IGNORED: [&str; 7] = ["~", ".bak", ".old", ".orig", ".rpmnew", ".rpmorig", ".rpmsave"];

/// Whether initscripts reads this file name as an interface configuration.
pub fn is_loaded(file_name: &str) -> bool {
    file_name.starts_with("ifcfg-") && !IGNORED.iter().any(|s| file_name.ends_with(s))
}

/// A shell-style `KEY=value` of an ifcfg file, unquoted.
fn value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().trim_matches(|c| c == '"' || c == '\''))
}

/// The image's ifcfg files (with their route files) that define one of
/// `nics` (by DEVICE, or by HWADDR) other than the ones osconf writes
/// (`ours`): what the stack would also apply to those NICs.
pub fn conflicting(root: &Root, nics: &[(&Nic, String)], ours: &[String]) -> Result<Vec<String>, Error> {
    let Ok(entries) = root.read_dir(SCRIPTS) else { return Ok(Vec::new()) };
    let mut found = Vec::new();
    let mut files: Vec<String> = entries.into_iter().map(|e| e.name).filter(|n| is_loaded(n)).collect();
    files.sort();
    for file in files {
        let path = format!("{SCRIPTS}/{file}");
        let text = read_image_file(root, &path, "ifcfg").unwrap_or_default();
        let config = &file["ifcfg-".len()..];
        let device = value(&text, "DEVICE").unwrap_or(config);
        let hwaddr = value(&text, "HWADDR").and_then(|m| m.parse::<Mac>().ok());
        let ours_too = nics.iter().any(|(nic, name)| device == name || hwaddr == Some(nic.mac));
        if !ours_too {
            continue;
        }
        if !ours.contains(&path) {
            found.push(path);
        }
        // Its route files, unless osconf writes that file itself.
        for name in [device, config] {
            for kind in ["route", "route6"] {
                let route = format!("{SCRIPTS}/{kind}-{name}");
                if root.exists(&route) && !ours.contains(&route) && !found.contains(&route) {
                    found.push(route);
                }
            }
        }
    }
    Ok(found)
}

fn render(settings: &Settings, names: &NicNames, root: &Root) -> Result<Rendered, Error> {
    let mut owned = Vec::new();
    for nic in &settings.nics {
        let name = names.of(nic);
        let mut text = header("#", &format!("{} settings", nic.label()));
        let boot_proto = if nic.dhcp4 { "dhcp" } else { "none" };
        match &nic.kind {
            None => text += &format!("DEVICE={name}\nHWADDR={}\nTYPE=Ethernet\n", nic.mac),
            Some(NicKind::Bond(bond)) => {
                let options = super::bonding_options(bond);
                text += &format!("DEVICE={name}\nTYPE=Bond\nBONDING_MASTER=yes\nBONDING_OPTS=\"{options}\"\n");
            }
            Some(NicKind::Vlan(vlan)) => {
                let parent = parent_of(&settings.nics, vlan).map_or_else(|| vlan.parent.label(), |p| names.of(p));
                text += &format!("DEVICE={name}\nVLAN=yes\nPHYSDEV={parent}\n");
            }
        }
        text += &format!("BOOTPROTO={boot_proto}\nONBOOT=yes\n");
        if let Some(bond) = bond_of(&settings.nics, nic) {
            text += &format!("MASTER={}\nSLAVE=yes\n", names.of(bond));
        }
        if let Some((address, prefix)) = nic.ipv4() {
            text += &format!("IPADDR={address}\nPREFIX={prefix}\nNETMASK={}\n", nic.netmask());
        }
        if let Some(mtu) = nic.mtu {
            text += &format!("MTU={mtu}\n");
        }
        // A DHCP NIC takes the default route its DHCP server gives (DEFROUTE's default, yes).
        match default_gateway(nic) {
            Some(gateway) => text += &format!("GATEWAY={gateway}\nDEFROUTE=yes\n"),
            None if nic.dhcp4 => {}
            None => text += "DEFROUTE=no\n",
        }
        // Either family: initscripts writes each DNSn as a `nameserver` line;
        // NetworkManager's ifcfg-rh reader takes the IPv4 ones in
        // make_ip4_setting() and the IPv6 ones in make_ip6_setting().
        for (n, server) in dns_for(settings, nic).iter().enumerate() {
            text += &format!("DNS{}={server}\n", n + 1);
        }
        // The name servers the settings give win over DHCP's; without any, DHCP's are used.
        let peer_dns = nic.dhcp4 && settings.nameservers.is_empty();
        text += if peer_dns { "PEERDNS=yes\n" } else { "PEERDNS=no\n" };
        text += &extra::ifcfg(nic);
        owned.push(FileWrite::new(format!("{SCRIPTS}/ifcfg-{name}"), text, 0o644));
        let routes: String =
            static_routes(nic).map(|r| format!("{}/{} via {} dev {name}\n", r.dest, r.prefix, r.via)).collect();
        owned.extend(lines_file(
            format!("{SCRIPTS}/route-{name}"),
            nic,
            "routes",
            routes + &extra::policy_routes(nic, &name),
        ));
        owned.extend(lines_file(format!("{SCRIPTS}/route6-{name}"), nic, "IPv6 routes", extra::routes6(nic, &name)));
        owned.extend(lines_file(format!("{SCRIPTS}/rule-{name}"), nic, "routing rules", policy_rules(nic)));
    }
    let ours: Vec<String> = owned.iter().map(|f| f.path.clone()).collect();
    let nics: Vec<(&Nic, String)> = settings.nics.iter().map(|n| (n, names.of(n))).collect();
    let disabled = conflicting(root, &nics, &ours)?;
    Ok(Rendered { owned, edited: Vec::new(), disabled })
}
