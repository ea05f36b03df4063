//! NetworkManager keyfiles: one connection per NIC, bound to its MAC, mode
//! 0600 (NetworkManager ignores keyfiles that others can read).

use sha2::{Digest, Sha256};

use crate::files::FileWrite;
use crate::settings::{Mac, Settings};

use super::{default_gateway, dns_for, extra, header, join, static_routes, Rendered};

pub fn render(settings: &Settings) -> Rendered {
    let owned = settings
        .nics
        .iter()
        .map(|nic| {
            let id = format!("osconf-{}", nic.label());
            let mut text = header("#", &format!("{} settings", nic.label()));
            text += &format!("[connection]\nid={id}\nuuid={}\ntype=ethernet\nautoconnect=true\nautoconnect-priority=100\n\n", uuid_for(nic.mac));
            text += &format!("[ethernet]\nmac-address={}\n\n[ipv4]\nmethod=manual\n", nic.mac.to_string().to_uppercase());
            match default_gateway(nic) {
                Some(gateway) => text += &format!("address1={}/{},{gateway}\n", nic.address, nic.prefix),
                None => text += &format!("address1={}/{}\nnever-default=true\n", nic.address, nic.prefix),
            }
            for (n, route) in static_routes(nic).enumerate() {
                text += &format!("route{}={}/{},{}\n", n + 1, route.dest, route.prefix, route.via);
            }
            text += &extra::networkmanager_ipv4(nic, static_routes(nic).count());
            let dns = dns_for(settings, nic);
            if !dns.is_empty() {
                text += &format!("dns={};\nignore-auto-dns=true\n", join(dns, ";"));
            }
            text += &extra::networkmanager_ipv6(nic);
            FileWrite::new(format!("/etc/NetworkManager/system-connections/{id}.nmconnection"), text, 0o600)
        })
        .collect();
    Rendered { owned, edited: Vec::new() }
}

/// A UUID derived from the MAC, so that rendering twice gives the same file.
fn uuid_for(mac: Mac) -> String {
    let hash = Sha256::digest(format!("osconf:{mac}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&hash[..16]);
    b[6] = (b[6] & 0x0f) | 0x50; // version 5 (name-based)
    b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
