//! ifupdown (Debian, Ubuntu before netplan, Alpine's ifupdown-ng): one
//! stanza file per NIC in /etc/network/interfaces.d/. ENI names interfaces
//! by kernel name, so the MAC is resolved to a name first (see `NicNames`).
//! Addresses and routes are `up`/`down` commands of a `manual` stanza (see
//! `render`): idempotent, so they agree with what osconf set live.

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::Settings;

use super::{destination, dns_for, extra, header, join, NicNames, Rendered};

pub(super) const INTERFACES: &str = "/etc/network/interfaces";

pub fn render(settings: &Settings, names: &NicNames, root: &Root) -> Result<Rendered, Error> {
    let mut owned = Vec::new();
    let mut configured = Vec::new();
    for nic in &settings.nics {
        let name = names.of(nic);
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
        text += &extra::ifupdown_up(nic, &name);
        text += &extra::ifupdown_down(nic, &name);
        for r in nic.routes.iter().rev() {
            text += &format!("    down ip route del {} via {} dev {name} || true\n", destination(r), r.via);
        }
        text += &format!("    down ip addr del {}/{} dev {name} || true\n", nic.address, nic.prefix);
        owned.push(FileWrite::new(format!("/etc/network/interfaces.d/osconf-{}", nic.label()), text, 0o644));
        configured.push(name);
    }
    if let Some(why) = super::ifupdown_busybox::detect(root) {
        log::debug!("{why}: ifupdown without `source`, osconf's stanzas go in a block of {INTERFACES}");
        return super::ifupdown_busybox::render(root, owned, &configured);
    }
    let current = root.read_optional(INTERFACES)?.unwrap_or_else(|| "auto lo\niface lo inet loopback\n".into());
    let fixed = without_conflicts(&current, &configured);
    let edited = if fixed != current { vec![FileWrite::new(INTERFACES, fixed, 0o644)] } else { Vec::new() };
    Ok(Rendered { owned, edited, disabled: Vec::new() })
}

/// /etc/network/interfaces must source interfaces.d, and must not configure
/// the same NICs itself (ifup would bring them up twice, e.g. with DHCP):
/// such stanzas are commented out, marked, and the original is backed up
/// (under /var/lib/osconf/backup).
pub(super) fn without_conflicts(text: &str, names: &[String]) -> String {
    let mut out = String::new();
    let mut in_conflict = false;
    let mut sources = false;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let first = words.first().copied().unwrap_or("");
        let stanza_start = matches!(first, "iface" | "mapping" | "auto" | "source" | "source-directory")
            || first.starts_with("allow-");
        if stanza_start {
            in_conflict = false;
        }
        if first == "source"
            && words.get(1).is_some_and(|p| p.starts_with("/etc/network/interfaces.d") || *p == "interfaces.d/*")
            || first == "source-directory" && words.get(1).is_some_and(|p| p.contains("interfaces.d"))
        {
            sources = true;
        }
        let ours = |w: &&str| names.iter().any(|n| n == w);
        // `auto lo eth0` is a word list: only osconf's NICs leave it (lo keeps
        // `auto`); a line left with no interface is commented out whole.
        if first == "auto" || first.starts_with("allow-") {
            let kept: Vec<&str> = words[1..].iter().filter(|w| !ours(w)).copied().collect();
            if kept.len() == words.len() - 1 {
                out += &format!("{line}\n");
            } else if kept.is_empty() {
                out += &format!("#osconf# {line}\n");
            } else {
                out += &format!("#osconf# {line}\n{first} {}\n", kept.join(" "));
            }
            continue;
        }
        if first == "iface" {
            in_conflict = words.get(1).is_some_and(ours);
        }
        if (first == "iface" && in_conflict) || (in_conflict && !stanza_start && !line.trim().is_empty()) {
            out += &format!("#osconf# {line}\n");
        } else {
            out += &format!("{line}\n");
        }
    }
    if !sources {
        out += "\n# Added by osconf: its per-NIC files live there.\nsource /etc/network/interfaces.d/*\n";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_default_needs_no_change() {
        let debian = "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n";
        assert_eq!(without_conflicts(debian, &["eth0".into()]), debian);
    }

    #[test]
    fn a_dhcp_stanza_for_our_nic_is_commented_out_and_source_added() {
        let text = "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n    hostname x\n\nauto eth9\niface eth9 inet dhcp\n";
        let fixed = without_conflicts(text, &["eth0".into()]);
        assert_eq!(
            fixed,
            "auto lo\niface lo inet loopback\n\n#osconf# allow-hotplug eth0\n#osconf# iface eth0 inet dhcp\n#osconf#     hostname x\n\nauto eth9\niface eth9 inet dhcp\n\
             \n# Added by osconf: its per-NIC files live there.\nsource /etc/network/interfaces.d/*\n"
        );
    }

    #[test]
    fn only_our_nics_leave_an_auto_line() {
        let text = "auto lo eth0\nallow-hotplug eth0 eth1\nauto eth0\niface lo inet loopback\niface eth0 inet dhcp\n";
        assert_eq!(
            without_conflicts(text, &["eth0".into()]),
            "#osconf# auto lo eth0\nauto lo\n#osconf# allow-hotplug eth0 eth1\nallow-hotplug eth1\n#osconf# auto eth0\niface lo inet loopback\n#osconf# iface eth0 inet dhcp\n\
             \n# Added by osconf: its per-NIC files live there.\nsource /etc/network/interfaces.d/*\n"
        );
    }
}
