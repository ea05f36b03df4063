//! systemd-networkd: one `.network` file per NIC, matched by MAC. The `10-`
//! prefix sorts it before distribution defaults, so it is the one applied.

use crate::files::FileWrite;
use crate::settings::Settings;

use super::{dns_for, extra, header, Rendered};

pub fn render(settings: &Settings) -> Rendered {
    let owned = settings
        .nics
        .iter()
        .map(|nic| {
            let mut text = header("#", &format!("{} settings", nic.label()));
            text += &format!("[Match]\nMACAddress={}\n\n[Network]\nAddress={}/{}\n", nic.mac, nic.address, nic.prefix);
            text += &extra::networkd_addresses(nic);
            for server in dns_for(settings, nic) {
                text += &format!("DNS={server}\n");
            }
            for route in &nic.routes {
                text += &format!("\n[Route]\nDestination={}/{}\nGateway={}\n", route.dest, route.prefix, route.via);
            }
            text += &extra::networkd_sections(nic);
            FileWrite::new(format!("/etc/systemd/network/10-osconf-{}.network", nic.label()), text, 0o644)
        })
        .collect();
    Rendered { owned, edited: Vec::new() }
}
