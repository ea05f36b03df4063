//! What SUSE's (wicked's) ifcfg files add for the fields only the metadata
//! carries (see `super::super::extra`): `IPADDR_n` keys and the lines of
//! `ifroute-NAME` (its rules: `super::super::extra::policy_rules`).

use crate::settings::Nic;

use super::super::extra::extra_addresses;

/// `IPADDR_n` keys for secondary and IPv6 addresses.
pub fn ifcfg(nic: &Nic) -> String {
    extra_addresses(nic).iter().enumerate().map(|(n, a)| format!("IPADDR_{}='{a}'\n", n + 1)).collect()
}

/// `ifroute-NAME` lines: the IPv6 default route, and the NIC's table. The
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
    if let Some(p) = nic.policy() {
        text += &format!("{}/{} - - {name} table {} scope link\n", p.network, p.prefix, p.table);
        text += &format!("default {} - {name} table {}\n", p.gateway, p.table);
    }
    text
}
