//! What netplan's YAML adds for the fields only the metadata carries (see
//! `super::super::extra`): items of `addresses:` and `routes:`, and the
//! `routing-policy:` key. Empty for a NIC without them.

use crate::settings::Nic;

use super::super::extra::{extra_addresses, sources};

/// Items of `addresses:`, after the primary one.
pub fn addresses(nic: &Nic) -> String {
    extra_addresses(nic).iter().map(|a| format!("        - \"{a}\"\n")).collect()
}

/// Items of `routes:`, after the NIC's routes.
pub fn routes(nic: &Nic) -> String {
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
pub fn policy(nic: &Nic) -> String {
    let Some(p) = nic.policy() else { return String::new() };
    let rules: String = sources(&p)
        .map(|s| {
            format!("        - from: \"{s}/32\"\n          table: {}\n          priority: {}\n", p.table, p.priority())
        })
        .collect();
    format!("      routing-policy:\n{rules}")
}
