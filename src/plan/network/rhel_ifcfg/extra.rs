//! What RHEL's ifcfg files add for the fields only the metadata carries (see
//! `super::super::extra`): `IPADDRn`/`PREFIXn`, the IPv6 keys, and the
//! NIC's table in `route-NAME` (its rules: `super::super::extra::policy_rules`),
//! the IPv6 routes other than the default one in `route6-NAME`.

use crate::settings::{Ipv6Auto, Nic};

/// `IPADDRn`/`PREFIXn` for secondary addresses, and the IPv6 keys (or
/// `IPV6INIT=no`): static addresses, and SLAAC or DHCPv6 as cloud-init's
/// sysconfig renderer writes them (`DHCPV6C_OPTIONS=-S`: information only).
pub fn ifcfg(nic: &Nic) -> String {
    let mut text: String = nic
        .secondary
        .iter()
        .enumerate()
        .map(|(n, (a, p))| format!("IPADDR{}={a}\nPREFIX{}={p}\n", n + 1, n + 1))
        .collect();
    if nic.ipv6.is_empty() && nic.ipv6_auto.is_none() {
        return text + "IPV6INIT=no\n";
    }
    let autoconf = nic.ipv6_auto.is_some_and(Ipv6Auto::slaac);
    text += &format!("IPV6INIT=yes\nIPV6_AUTOCONF={}\n", if autoconf { "yes" } else { "no" });
    match nic.ipv6_auto {
        Some(Ipv6Auto::DhcpStateless) => text += "DHCPV6C=yes\nDHCPV6C_OPTIONS=-S\n",
        Some(Ipv6Auto::DhcpStateful) => text += "DHCPV6C=yes\n",
        Some(Ipv6Auto::Slaac) | None => {}
    }
    let Some(((first, prefix), rest)) = nic.ipv6.split_first() else { return text };
    text += &format!("IPV6ADDR={first}/{prefix}\n");
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
pub fn policy_routes(nic: &Nic, name: &str) -> String {
    let Some(p) = nic.policy() else { return String::new() };
    format!(
        "{}/{} dev {name} table {}\ndefault via {} dev {name} table {}\n",
        p.network, p.prefix, p.table, p.gateway, p.table
    )
}

/// Lines of `route6-NAME`: the IPv6 routes other than the default one
/// (`IPV6_DEFAULTGW`), as `ip -6 route add` arguments, the form both
/// initscripts' ifup-ipv6 and NetworkManager's ifcfg-rh read.
pub fn routes6(nic: &Nic, name: &str) -> String {
    nic.ipv6_routes.iter().map(|r| format!("{}/{} via {} dev {name}\n", r.dest, r.prefix, r.via)).collect()
}
