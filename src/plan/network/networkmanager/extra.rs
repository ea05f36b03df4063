//! What a NetworkManager keyfile adds for the fields only the metadata
//! carries (see `super::super::extra`): `[ipv4]` secondary addresses, the
//! NIC's table and its rules, and the whole `[ipv6]` section.

use std::net::IpAddr;

use crate::settings::links::parent_of;
use crate::settings::{Ipv6Auto, Nic, NicKind, Settings};

use super::super::NicNames;

use super::super::extra::sources;

/// `[ipv4]` keys after the NIC's own routes: `addressN` for secondary
/// addresses (numbered on from 2), the NIC's table as `routeN` with
/// `routeN_options=table=T` (numbered on from `routes + 1`), and its rules.
pub fn ipv4(nic: &Nic, routes: usize) -> String {
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

/// The whole `[ipv6]` section (its routes other than the default one as
/// `routeN=DEST/PREFIX,GATEWAY`), with the IPv6 name servers `dns` when the
/// NIC has IPv6 addresses. Without, they are left out: NetworkManager
/// refuses the whole profile for `dns=` with `method=ignore` ("ipv6.dns:
/// this property is not allowed for 'method=ignore'"), and such a server
/// could not be reached through this NIC anyway.
pub fn ipv6(nic: &Nic, dns: &[IpAddr]) -> String {
    if nic.ipv6.is_empty() && nic.ipv6_auto.is_none() {
        if !dns.is_empty() {
            log::warn!(
                "NetworkManager: {} has no IPv6 address: its IPv6 name servers are left out of its profile",
                nic.label()
            );
        }
        return "\n[ipv6]\nmethod=ignore\n".into();
    }
    // `auto`: SLAAC, and DHCPv6 as the router advertisements' flags ask
    // (stateless); `dhcp`: DHCPv6 addresses whatever they say. Static
    // addresses stand beside either.
    let method = match nic.ipv6_auto {
        None => "manual",
        Some(Ipv6Auto::Slaac | Ipv6Auto::DhcpStateless) => "auto",
        Some(Ipv6Auto::DhcpStateful) => "dhcp",
    };
    let mut text = format!("\n[ipv6]\nmethod={method}\n");
    for (n, (address, prefix)) in nic.ipv6.iter().enumerate() {
        match (n, nic.ipv6_gateway) {
            (0, Some(gateway)) => text += &format!("address1={address}/{prefix},{gateway}\n"),
            _ => text += &format!("address{}={address}/{prefix}\n", n + 1),
        }
    }
    for (n, r) in nic.ipv6_routes.iter().enumerate() {
        text += &format!("route{}={}/{},{}\n", n + 1, r.dest, r.prefix, r.via);
    }
    if nic.ipv6_gateway.is_none() && nic.ipv6_auto.is_none() {
        text += "never-default=true\n";
    }
    if !dns.is_empty() {
        let list: Vec<String> = dns.iter().map(IpAddr::to_string).collect();
        text += &format!("dns={};\nignore-auto-dns=true\n", list.join(";"));
    }
    text
}

/// The `[bond]` section of a bond (its options as the kernel names them,
/// as cloud-init's NetworkManager renderer writes them) or the `[vlan]`
/// section of a VLAN; empty for a physical NIC.
pub fn bond_or_vlan(settings: &Settings, names: &NicNames, nic: &Nic) -> String {
    match &nic.kind {
        None => String::new(),
        Some(NicKind::Bond(bond)) => {
            let mut text = format!("[bond]\nmode={}\n", bond.mode);
            if let Some(miimon) = bond.miimon {
                text += &format!("miimon={miimon}\n");
            }
            if let Some(policy) = &bond.xmit_hash_policy {
                text += &format!("xmit_hash_policy={policy}\n");
            }
            text
        }
        Some(NicKind::Vlan(vlan)) => {
            let parent = parent_of(&settings.nics, vlan).map_or_else(|| vlan.parent.label(), |p| names.of(p));
            format!("[vlan]\nid={}\nparent={parent}\n", vlan.id)
        }
    }
}
