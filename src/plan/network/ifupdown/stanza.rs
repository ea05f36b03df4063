//! One NIC's ifupdown stanza. Addresses and routes are `up`/`down` commands
//! of a `manual` stanza: idempotent, so they agree with what osconf set live.

use crate::settings::{Nic, Settings};

use super::super::{destination, dns_for, header, join};
use super::extra;

/// The stanza for `nic`, named `name` (its kernel name, see `NicNames`).
pub fn stanza(settings: &Settings, nic: &Nic, name: &str) -> String {
    let mut text = header("#", &format!("{} settings, MAC {}", nic.label(), nic.mac));
    // `manual` with `replace` commands, not `static`: osconf has already
    // set the address live at boot, and `static` runs `ip addr add`,
    // which fails on an existing address and fails networking.service.
    text += &format!("auto {name}\niface {name} inet manual\n    up ip link set dev {name} up\n");
    text += &format!("    up ip addr replace {}/{} broadcast + dev {name}\n", nic.address, nic.prefix);
    let dns = dns_for(settings, nic);
    if !dns.is_empty() {
        text += &format!("    dns-nameservers {}\n", join(dns, " "));
    }
    for r in &nic.routes {
        text += &format!("    up ip route replace {} via {} dev {name}\n", destination(r), r.via);
    }
    text += &extra::up(nic, name);
    text += &extra::down(nic, name);
    for r in nic.routes.iter().rev() {
        text += &format!("    down ip route del {} via {} dev {name} || true\n", destination(r), r.via);
    }
    text += &format!("    down ip addr del {}/{} dev {name} || true\n", nic.address, nic.prefix);
    text
}
