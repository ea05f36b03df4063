//! netplan: one YAML file for all NICs, each matched by MAC. Mode 0600, as
//! netplan warns about readable configuration. Values are validated IPv4
//! addresses and MACs, quoted anyway.

use crate::files::FileWrite;
use crate::settings::Settings;

use super::{destination, dns_for, extra, header, join, Rendered};

pub fn render(settings: &Settings) -> Rendered {
    let mut text = header("#", "all NICs");
    text += "network:\n  version: 2\n  ethernets:\n";
    for nic in &settings.nics {
        text += &format!("    osconf-{}:\n      match:\n        macaddress: \"{}\"\n", nic.label(), nic.mac);
        text += &format!("      dhcp4: false\n      dhcp6: false\n      addresses:\n        - \"{}/{}\"\n", nic.address, nic.prefix);
        text += &extra::netplan_addresses(nic);
        let extra_routes = extra::netplan_routes(nic);
        if !nic.routes.is_empty() || !extra_routes.is_empty() {
            text += "      routes:\n";
            for route in &nic.routes {
                text += &format!("        - to: \"{}\"\n          via: \"{}\"\n", destination(route), route.via);
            }
            text += &extra_routes;
        }
        text += &extra::netplan_policy(nic);
        let dns = dns_for(settings, nic);
        if !dns.is_empty() {
            let quoted: Vec<String> = dns.iter().map(|a| format!("\"{a}\"")).collect();
            text += &format!("      nameservers:\n        addresses: [{}]\n", join(&quoted, ", "));
        }
    }
    Rendered { owned: vec![FileWrite::new("/etc/netplan/90-osconf.yaml", text, 0o600)], edited: Vec::new() }
}
