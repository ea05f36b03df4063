//! What networkd's `.network` file adds for the fields only the metadata
//! carries (see `super::super::extra`): `Address=` lines, the IPv6 default
//! `[Route]` and the other IPv6 ones, and the NIC's table as `[Route]` and `[RoutingPolicyRule]`
//! sections. Empty for a NIC without them.

use crate::settings::{Ipv6Auto, Nic};

use super::super::extra::{extra_addresses, sources};

/// `Address=` lines, after the primary one.
pub fn addresses(nic: &Nic) -> String {
    extra_addresses(nic).iter().map(|a| format!("Address={a}\n")).collect()
}

/// `DHCP=` and `IPv6AcceptRA=` for the addresses the network gives (as
/// cloud-init's networkd renderer writes them). Router advertisements
/// start SLAAC, and DHCPv6 where their flags ask for it (stateless); only
/// stateful DHCPv6 is asked for whatever they say.
pub fn automatic(nic: &Nic) -> String {
    let dhcp6 = nic.ipv6_auto == Some(Ipv6Auto::DhcpStateful);
    let mut text = match (nic.dhcp4, dhcp6) {
        (true, true) => "DHCP=yes\n".to_owned(),
        (true, false) => "DHCP=ipv4\n".to_owned(),
        (false, true) => "DHCP=ipv6\n".to_owned(),
        (false, false) => String::new(),
    };
    if nic.ipv6_auto.is_some() {
        text += "IPv6AcceptRA=yes\n";
    }
    text
}

/// Sections after the NIC's routes.
pub fn sections(nic: &Nic) -> String {
    let mut text = String::new();
    if let Some(gateway) = nic.ipv6_gateway {
        text += &format!("\n[Route]\nGateway={gateway}\n");
    }
    for route in &nic.ipv6_routes {
        text += &format!("\n[Route]\nDestination={}/{}\nGateway={}\n", route.dest, route.prefix, route.via);
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
