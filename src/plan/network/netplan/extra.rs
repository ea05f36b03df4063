//! What netplan's YAML adds for the fields only the metadata carries (see
//! `super::super::extra`): items of `addresses:` and `routes:`, and the
//! `routing-policy:` key. Empty for a NIC without them.

use crate::settings::{Ipv6Auto, Nic};

use super::super::extra::{extra_addresses, sources};

/// `dhcp4:`, `dhcp6:` and `accept-ra:` (and `mtu:`): netplan's defaults
/// differ by renderer, so each is said. `dhcp6: true` for stateless
/// DHCPv6 as for stateful, as cloud-init's netplan renderer writes it.
pub fn automatic(nic: &Nic) -> String {
    let dhcp6 = nic.ipv6_auto.is_some_and(Ipv6Auto::dhcp);
    let mut text = format!("      dhcp4: {}\n      dhcp6: {dhcp6}\n", nic.dhcp4);
    if nic.ipv6_auto.is_some() {
        text += "      accept-ra: true\n";
    }
    if let Some(mtu) = nic.mtu {
        text += &format!("      mtu: {mtu}\n");
    }
    text
}

/// Items of `addresses:`, after the primary one.
pub fn addresses(nic: &Nic) -> String {
    extra_addresses(nic).iter().map(|a| format!("        - \"{a}\"\n")).collect()
}

/// Items of `routes:`, after the NIC's routes.
pub fn routes(nic: &Nic) -> String {
    let mut text = String::new();
    // The IPv6 default route (`::/0`), then the others.
    for route in nic.all_ipv6_routes() {
        text += &format!("        - to: \"{}/{}\"\n          via: \"{}\"\n", route.dest, route.prefix, route.via);
    }
    if let Some(p) = nic.policy() {
        text += &format!(
            "        - to: \"{}/{}\"\n          scope: link\n          table: {}\n",
            p.network, p.prefix, p.table
        );
        text +=
            &format!("        - to: \"0.0.0.0/0\"\n          via: \"{}\"\n          table: {}\n", p.gateway, p.table);
    }
    text
}

/// The `routing-policy:` key of the NIC's definition.
pub fn policy(nic: &Nic) -> String {
    let Some(p) = nic.policy() else { return String::new() };
    let rules: String = sources(&p)
        .map(|s| {
            format!("        - from: \"{s}/32\"\n          table: {}\n          priority: {}\n", p.table, p.priority())
        })
        .collect();
    format!("      routing-policy:\n{rules}")
}
