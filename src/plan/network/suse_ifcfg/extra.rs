//! What SUSE's (wicked's) ifcfg files add for the fields only the metadata
//! carries (see `super::super::extra`): `IPADDR_n` keys and the lines of
//! `ifroute-NAME` (its rules: `super::super::extra::policy_rules`).

use crate::settings::{Ipv6Auto, Nic};

use super::super::extra::extra_addresses;

/// What `BOOTPROTO` says, as cloud-init's sysconfig renderer writes it for
/// SUSE: `dhcp4`, `dhcp6` (SLAAC and DHCPv6 alike, with
/// `DHCLIENT6_MODE`), `dhcp` for both, else `static` — the static addresses
/// stand beside a DHCP mode.
pub fn boot_proto(nic: &Nic) -> &'static str {
    match (nic.dhcp4, nic.ipv6_auto.is_some()) {
        (true, true) => "dhcp",
        (true, false) => "dhcp4",
        (false, true) => "dhcp6",
        (false, false) => "static",
    }
}

/// `IPADDR_n` keys for secondary and IPv6 addresses, the DHCPv6 mode and the MTU.
pub fn ifcfg(nic: &Nic) -> String {
    let mut text: String =
        extra_addresses(nic).iter().enumerate().map(|(n, a)| format!("IPADDR_{}='{a}'\n", n + 1)).collect();
    // wicked's dhcp6 "info" asks only for options (addresses from router
    // advertisements), "managed" for addresses.
    match nic.ipv6_auto {
        Some(Ipv6Auto::DhcpStateful) => text += "DHCLIENT6_MODE='managed'\n",
        Some(Ipv6Auto::Slaac | Ipv6Auto::DhcpStateless) => text += "DHCLIENT6_MODE='info'\n",
        None => {}
    }
    if let Some(mtu) = nic.mtu {
        text += &format!("MTU='{mtu}'\n");
    }
    text
}

/// `ifroute-NAME` lines: the IPv6 routes, and the NIC's table. The
/// columns are wicked's (client/suse/compat-suse.c, __ni_suse_route_parse():
/// destination, gateway, netmask, interface, then options; `-` for none):
/// the subnet is a device route (no gateway) and the default route takes
/// the family of its gateway. The options are parsed by
/// __ni_suse_route_parse_opts(): `table N` and `scope link` (names of
/// src/route.c's ni_route_scope_names). A destination is skipped only
/// when the same table holds it already, so the table's default route
/// stands beside the main one.
pub fn routes(nic: &Nic, name: &str) -> String {
    let mut text = nic.ipv6_gateway.map(|g| format!("default {g} - {name}\n")).unwrap_or_default();
    for r in &nic.ipv6_routes {
        text += &format!("{}/{} {} - {name}\n", r.dest, r.prefix, r.via);
    }
    if let Some(p) = nic.policy() {
        text += &format!("{}/{} - - {name} table {} scope link\n", p.network, p.prefix, p.table);
        text += &format!("default {} - {name} table {}\n", p.gateway, p.table);
    }
    text
}
