//! What networkd's `.network` file adds for the fields only the metadata
//! carries (see `super::super::extra`): `Address=` lines, an IPv6 default
//! `[Route]`, and the NIC's table as `[Route]` and `[RoutingPolicyRule]`
//! sections. Empty for a NIC without them.

use crate::settings::Nic;

use super::super::extra::{extra_addresses, sources};

/// `Address=` lines, after the primary one.
pub fn addresses(nic: &Nic) -> String {
    extra_addresses(nic).iter().map(|a| format!("Address={a}\n")).collect()
}

/// Sections after the NIC's routes.
pub fn sections(nic: &Nic) -> String {
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
