//! One NIC's ifupdown stanza. A static address and routes are `up`/`down`
//! commands of a `manual` stanza: idempotent, so they agree with what
//! osconf set live. A DHCP NIC is an `inet dhcp` stanza (the image's DHCP
//! client), SLAAC and DHCPv6 an `inet6` one.

use crate::settings::links::{bond_of, members_of, parent_of};
use crate::settings::{Ipv6Auto, Nic, NicKind, Settings};

use super::super::{destination, dns_for, header, join, NicNames};
use super::extra;

/// The stanza for `nic`, named `name` (its kernel name, see `NicNames`).
/// `inet6_methods`: whether this ifup has the `inet6 auto` and `dhcp`
/// methods (busybox's has neither).
pub fn stanza(settings: &Settings, names: &NicNames, nic: &Nic, name: &str, inet6_methods: bool) -> String {
    let mut text = header("#", &format!("{} settings, MAC {}", nic.label(), nic.mac));
    text += &format!("auto {name}\n");
    // `manual` with `replace` commands, not `static`: osconf has already
    // set the address live at boot, and `static` runs `ip addr add`,
    // which fails on an existing address and fails networking.service.
    text += &format!("iface {name} inet {}\n", if nic.dhcp4 { "dhcp" } else { "manual" });
    text += &bond_or_vlan(settings, names, nic);
    // Before the link is up (and before a DHCP client asks): the `dhcp`
    // method has no `mtu` option.
    if let Some(mtu) = nic.mtu {
        text += &format!("    pre-up ip link set dev {name} mtu {mtu}\n");
    }
    if !nic.dhcp4 {
        text += &format!("    up ip link set dev {name} up\n");
    }
    if let Some((address, prefix)) = nic.ipv4() {
        text += &format!("    up ip addr replace {address}/{prefix} broadcast + dev {name}\n");
    }
    let dns = dns_for(settings, nic);
    if !dns.is_empty() {
        text += &format!("    dns-nameservers {}\n", join(dns, " "));
    }
    for r in &nic.routes {
        text += &format!("    up ip route replace {} via {} dev {name}\n", destination(r), r.via);
    }
    text += &extra::up(nic, name);
    text += &extra::down(nic, name);
    for r in nic.routes.iter().rev() {
        text += &format!("    down ip route del {} via {} dev {name} || true\n", destination(r), r.via);
    }
    if let Some((address, prefix)) = nic.ipv4() {
        text += &format!("    down ip addr del {address}/{prefix} dev {name} || true\n");
    }
    text + &inet6(nic, name, inet6_methods)
}

/// The options of a bond (as cloud-init's ENI renderer writes them), of a
/// member (`bond-master`) and of a VLAN (`vlan-raw-device`).
fn bond_or_vlan(settings: &Settings, names: &NicNames, nic: &Nic) -> String {
    match &nic.kind {
        None => bond_of(&settings.nics, nic).map_or_else(String::new, |b| format!("    bond-master {}\n", names.of(b))),
        Some(NicKind::Bond(bond)) => {
            let members: Vec<String> = members_of(&settings.nics, bond).map(|m| names.of(m)).collect();
            let mut text = format!("    bond-slaves {}\n    bond-mode {}\n", members.join(" "), bond.mode);
            if let Some(miimon) = bond.miimon {
                text += &format!("    bond-miimon {miimon}\n");
            }
            if let Some(policy) = &bond.xmit_hash_policy {
                text += &format!("    bond-xmit-hash-policy {policy}\n");
            }
            text
        }
        Some(NicKind::Vlan(vlan)) => {
            let parent = parent_of(&settings.nics, vlan).map_or_else(|| vlan.parent.label(), |p| names.of(p));
            format!("    vlan-raw-device {parent}\n")
        }
    }
}

/// The `inet6` stanza of SLAAC or DHCPv6 (ifupdown's `auto` method, with
/// `dhcp 1` for stateless DHCPv6; `dhcp` for stateful). Where ifup has no
/// such method, the kernel's own SLAAC (router advertisements are accepted
/// by default) is what the NIC gets, and DHCPv6 is not run: a warning.
fn inet6(nic: &Nic, name: &str, inet6_methods: bool) -> String {
    let Some(mode) = nic.ipv6_auto else { return String::new() };
    if !inet6_methods {
        log::warn!(
            "ifupdown: this ifup has no inet6 auto or dhcp method: {} ({}) gets IPv6 by the kernel's SLAAC only, not by {mode}",
            nic.label(),
            nic.mac
        );
        return String::new();
    }
    match mode {
        Ipv6Auto::Slaac => format!("iface {name} inet6 auto\n"),
        Ipv6Auto::DhcpStateless => format!("iface {name} inet6 auto\n    dhcp 1\n"),
        Ipv6Auto::DhcpStateful => format!("iface {name} inet6 dhcp\n"),
    }
}
