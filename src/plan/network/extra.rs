//! What each renderer adds for the fields only the metadata carries
//! (`settings::nic_extras`): secondary IPv4 addresses, IPv6 addresses and
//! default route, and per-NIC routing (the NIC's own table with its subnet
//! and a default route via its gateway, and `from ADDRESS` rules). Every
//! fragment is empty for a NIC without them, so os.conf drops render
//! exactly as before.

use std::net::{IpAddr, Ipv4Addr};

use crate::settings::nic_extras::Policy;
use crate::settings::Nic;

/// Secondary IPv4 addresses, then IPv6 ones, as `ADDRESS/PREFIX`.
fn extra_addresses(nic: &Nic) -> Vec<String> {
    let v4 = nic.secondary.iter().map(|(a, p)| format!("{a}/{p}"));
    v4.chain(nic.ipv6.iter().map(|(a, p)| format!("{a}/{p}"))).collect()
}

fn sources(policy: &Policy) -> impl Iterator<Item = Ipv4Addr> + '_ {
    policy.sources.iter().copied()
}

// systemd-networkd

/// `Address=` lines, after the primary one.
pub fn networkd_addresses(nic: &Nic) -> String {
    extra_addresses(nic).iter().map(|a| format!("Address={a}\n")).collect()
}

/// Sections after the NIC's routes.
pub fn networkd_sections(nic: &Nic) -> String {
    let mut text = String::new();
    if let Some(gateway) = nic.ipv6_gateway {
        text += &format!("\n[Route]\nGateway={gateway}\n");
    }
    if let Some(p) = nic.policy() {
        text += &format!("\n[Route]\nDestination={}/{}\nScope=link\nTable={}\n", p.network, p.prefix, p.table);
        text += &format!("\n[Route]\nGateway={}\nTable={}\n", p.gateway, p.table);
        for source in sources(&p) {
            text += &format!("\n[RoutingPolicyRule]\nFrom={source}/32\nTable={}\nPriority={}\n", p.table, p.priority());
        }
    }
    text
}

// netplan

/// Items of `addresses:`, after the primary one.
pub fn netplan_addresses(nic: &Nic) -> String {
    extra_addresses(nic).iter().map(|a| format!("        - \"{a}\"\n")).collect()
}

/// Items of `routes:`, after the NIC's routes.
pub fn netplan_routes(nic: &Nic) -> String {
    let mut text = String::new();
    if let Some(gateway) = nic.ipv6_gateway {
        text += &format!("        - to: \"::/0\"\n          via: \"{gateway}\"\n");
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
pub fn netplan_policy(nic: &Nic) -> String {
    let Some(p) = nic.policy() else { return String::new() };
    let rules: String = sources(&p)
        .map(|s| {
            format!("        - from: \"{s}/32\"\n          table: {}\n          priority: {}\n", p.table, p.priority())
        })
        .collect();
    format!("      routing-policy:\n{rules}")
}

// NetworkManager keyfile

/// `[ipv4]` keys after the NIC's own routes: `addressN` for secondary
/// addresses (numbered on from 2), the NIC's table as `routeN` with
/// `routeN_options=table=T` (numbered on from `routes + 1`), and its rules.
pub fn networkmanager_ipv4(nic: &Nic, routes: usize) -> String {
    let mut text: String =
        nic.secondary.iter().enumerate().map(|(n, (a, p))| format!("address{}={a}/{p}\n", n + 2)).collect();
    if let Some(p) = nic.policy() {
        let n = routes + 1;
        text += &format!("route{n}={}/{}\nroute{n}_options=table={}\n", p.network, p.prefix, p.table);
        text += &format!("route{}=0.0.0.0/0,{}\nroute{}_options=table={}\n", n + 1, p.gateway, n + 1, p.table);
        for (k, source) in sources(&p).enumerate() {
            text += &format!("routing-rule{}=priority {} from {source} table {}\n", k + 1, p.priority(), p.table);
        }
    }
    text
}

/// The whole `[ipv6]` section, with the IPv6 name servers `dns` when the
/// NIC has IPv6 addresses. Without, they are left out: NetworkManager
/// refuses the whole profile for `dns=` with `method=ignore` ("ipv6.dns:
/// this property is not allowed for 'method=ignore'"), and such a server
/// could not be reached through this NIC anyway.
pub fn networkmanager_ipv6(nic: &Nic, dns: &[IpAddr]) -> String {
    if nic.ipv6.is_empty() {
        if !dns.is_empty() {
            log::warn!(
                "NetworkManager: {} has no IPv6 address: its IPv6 name servers are left out of its profile",
                nic.label()
            );
        }
        return "\n[ipv6]\nmethod=ignore\n".into();
    }
    let mut text = "\n[ipv6]\nmethod=manual\n".to_string();
    for (n, (address, prefix)) in nic.ipv6.iter().enumerate() {
        match (n, nic.ipv6_gateway) {
            (0, Some(gateway)) => text += &format!("address1={address}/{prefix},{gateway}\n"),
            _ => text += &format!("address{}={address}/{prefix}\n", n + 1),
        }
    }
    if nic.ipv6_gateway.is_none() {
        text += "never-default=true\n";
    }
    if !dns.is_empty() {
        let list: Vec<String> = dns.iter().map(IpAddr::to_string).collect();
        text += &format!("dns={};\nignore-auto-dns=true\n", list.join(";"));
    }
    text
}

// RHEL ifcfg (initscripts, NetworkManager's ifcfg-rh)

/// `IPADDRn`/`PREFIXn` for secondary addresses, and the IPv6 keys (or `IPV6INIT=no`).
pub fn rhel_ifcfg(nic: &Nic) -> String {
    let mut text: String = nic
        .secondary
        .iter()
        .enumerate()
        .map(|(n, (a, p))| format!("IPADDR{}={a}\nPREFIX{}={p}\n", n + 1, n + 1))
        .collect();
    let Some(((first, prefix), rest)) = nic.ipv6.split_first() else {
        return text + "IPV6INIT=no\n";
    };
    text += &format!("IPV6INIT=yes\nIPV6_AUTOCONF=no\nIPV6ADDR={first}/{prefix}\n");
    if !rest.is_empty() {
        let more: Vec<String> = rest.iter().map(|(a, p)| format!("{a}/{p}")).collect();
        text += &format!("IPV6ADDR_SECONDARIES=\"{}\"\n", more.join(" "));
    }
    if let Some(gateway) = nic.ipv6_gateway {
        // IPV6_DEFROUTE defaults to DEFROUTE, which is "no" on secondary NICs.
        text += &format!("IPV6_DEFAULTGW={gateway}\nIPV6_DEFROUTE=yes\n");
    }
    text
}

/// Lines of `route-NAME` for the NIC's table.
pub fn rhel_policy_routes(nic: &Nic, name: &str) -> String {
    let Some(p) = nic.policy() else { return String::new() };
    format!(
        "{}/{} dev {name} table {}\ndefault via {} dev {name} table {}\n",
        p.network, p.prefix, p.table, p.gateway, p.table
    )
}

/// The rules of per-NIC routing, one a line, as both rule files take them:
/// RHEL's `rule-NAME` (each line `ip rule add` arguments) and wicked's
/// `ifrule-NAME` (client/suse/compat-suse.c, ni_suse_parse_rule(): the
/// family from the `from` prefix, then the `table` and `priority` keywords).
pub fn policy_rules(nic: &Nic) -> String {
    let Some(p) = nic.policy() else { return String::new() };
    sources(&p).map(|s| format!("from {s}/32 table {} priority {}\n", p.table, p.priority())).collect()
}

// SUSE ifcfg (wicked)

/// `IPADDR_n` keys for secondary and IPv6 addresses.
pub fn suse_ifcfg(nic: &Nic) -> String {
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
pub fn suse_routes(nic: &Nic, name: &str) -> String {
    let mut text = nic.ipv6_gateway.map(|g| format!("default {g} - {name}\n")).unwrap_or_default();
    if let Some(p) = nic.policy() {
        text += &format!("{}/{} - - {name} table {} scope link\n", p.network, p.prefix, p.table);
        text += &format!("default {} - {name} table {}\n", p.gateway, p.table);
    }
    text
}

// ifupdown

/// `up` commands after the NIC's routes (idempotent, like the others).
pub fn ifupdown_up(nic: &Nic, name: &str) -> String {
    let mut text = String::new();
    for (address, prefix) in &nic.secondary {
        // `broadcast +` as the primary address gets it, and as netlink sets it.
        text += &format!("    up ip addr replace {address}/{prefix} broadcast + dev {name}\n");
    }
    for (address, prefix) in &nic.ipv6 {
        text += &format!("    up ip -6 addr replace {address}/{prefix} dev {name}\n");
    }
    if let Some(gateway) = nic.ipv6_gateway {
        text += &format!("    up ip -6 route replace default via {gateway} dev {name}\n");
    }
    if let Some(p) = nic.policy() {
        text +=
            &format!("    up ip route replace {}/{} dev {name} scope link table {}\n", p.network, p.prefix, p.table);
        text += &format!("    up ip route replace default via {} dev {name} table {}\n", p.gateway, p.table);
        // `ip rule add` adds a rule twice: delete it first.
        for s in sources(&p) {
            text += &format!(
                "    up ip rule del from {s} lookup {} priority {} 2>/dev/null || true\n",
                p.table,
                p.priority()
            );
            text += &format!("    up ip rule add from {s} lookup {} priority {}\n", p.table, p.priority());
        }
    }
    text
}

/// `down` commands, in reverse, before the NIC's route removals.
pub fn ifupdown_down(nic: &Nic, name: &str) -> String {
    let mut text = String::new();
    if let Some(p) = nic.policy() {
        for s in sources(&p) {
            text += &format!("    down ip rule del from {s} lookup {} priority {} || true\n", p.table, p.priority());
        }
        text += &format!("    down ip route flush table {} || true\n", p.table);
    }
    if let Some(gateway) = nic.ipv6_gateway {
        text += &format!("    down ip -6 route del default via {gateway} dev {name} || true\n");
    }
    for (address, prefix) in nic.ipv6.iter().rev() {
        text += &format!("    down ip -6 addr del {address}/{prefix} dev {name} || true\n");
    }
    for (address, prefix) in nic.secondary.iter().rev() {
        text += &format!("    down ip addr del {address}/{prefix} dev {name} || true\n");
    }
    text
}
