//! What an ifupdown stanza adds for the fields only the metadata carries
//! (see `super::super::extra`): `up` and `down` commands for secondary and
//! IPv6 addresses, the IPv6 routes and the NIC's table and rules.

use crate::settings::Nic;

use super::super::extra::sources;

/// `up` commands after the NIC's routes (idempotent, like the others).
pub fn up(nic: &Nic, name: &str) -> String {
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
    for r in &nic.ipv6_routes {
        text += &format!("    up ip -6 route replace {}/{} via {} dev {name}\n", r.dest, r.prefix, r.via);
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
pub fn down(nic: &Nic, name: &str) -> String {
    let mut text = String::new();
    if let Some(p) = nic.policy() {
        for s in sources(&p) {
            text += &format!("    down ip rule del from {s} lookup {} priority {} || true\n", p.table, p.priority());
        }
        text += &format!("    down ip route flush table {} || true\n", p.table);
    }
    for r in nic.ipv6_routes.iter().rev() {
        text += &format!("    down ip -6 route del {}/{} via {} dev {name} || true\n", r.dest, r.prefix, r.via);
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
