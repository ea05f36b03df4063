//! A NIC's metadata items beyond its primary address and gateway
//! (`private-ipv4s`, `ipv6s`, `ipv6-gateway`, `vswitch-ipv6-cidr-block`),
//! as the endpoint serves them, validated into the NIC's extras with the
//! functions of `settings::nic_extras`.

use std::net::Ipv6Addr;

use crate::settings::nic_extras::{add_ipv6, add_secondary, ipv6_address, route_own_replies, set_ipv6_gateway};
use crate::settings::values::{self, shorten};
use crate::settings::Nic;

/// The per-MAC metadata items these fields come from, as served (any may
/// be missing). `ipv6_cidr` is `vswitch-ipv6-cidr-block`, whose prefix
/// the IPv6 addresses take.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetadataItems<'a> {
    pub private_ipv4s: Option<&'a str>,
    pub ipv6s: Option<&'a str>,
    pub ipv6_gateway: Option<&'a str>,
    pub ipv6_cidr: Option<&'a str>,
}

/// Fills a NIC (built from its primary address and gateway) from its
/// metadata items; `secondary_nic`: any NIC but the primary one, which gets
/// its own routing. Each bad value is left out with a warning naming the
/// item (`item_prefix` is `network/interfaces/macs/<mac>/`); never an error.
pub fn fill_from_metadata(nic: &mut Nic, items: MetadataItems, item_prefix: &str, secondary_nic: bool) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut warn = |item: &str, message: String| warnings.push(format!("{item_prefix}{item}: {message}: skipped"));
    for entry in list_items(items.private_ipv4s.unwrap_or_default()) {
        match values::host_address(entry) {
            // The list holds the primary address too.
            Ok(address) if Some(address) == nic.address => {}
            Ok(address) => {
                if let Err(e) = add_secondary(nic, address) {
                    warn("private-ipv4s", e);
                }
            }
            Err(e) => warn("private-ipv4s", e),
        }
    }
    let ipv6s = list_items(items.ipv6s.unwrap_or_default());
    let prefix = match items.ipv6_cidr.map(str::trim) {
        None | Some("") => 64,
        Some(cidr) => match cidr.rsplit_once('/').map(|(_, p)| p.parse::<u8>()) {
            Some(Ok(p)) if (1..=128).contains(&p) => p,
            _ => {
                warn(
                    "vswitch-ipv6-cidr-block",
                    format!("{:?} is not an IPv6 CIDR block (its /64 is assumed)", shorten(cidr)),
                );
                64
            }
        },
    };
    for entry in ipv6s {
        if let Err(e) = ipv6_address(entry).and_then(|address| add_ipv6(nic, address, prefix)) {
            warn("ipv6s", e);
        }
    }
    if let Some(text) = items.ipv6_gateway.map(str::trim).filter(|t| !t.is_empty()) {
        match text.parse::<Ipv6Addr>() {
            Ok(gateway) if !nic.ipv6.is_empty() => {
                if let Err(e) = set_ipv6_gateway(nic, gateway) {
                    warn("ipv6-gateway", e);
                }
            }
            Ok(_) => {}
            Err(_) => warn("ipv6-gateway", format!("{:?} is not an IPv6 address", shorten(text))),
        }
    }
    if secondary_nic {
        route_own_replies(nic);
    }
    warnings
}

/// The entries of a list item, in the forms the endpoint serves them:
/// `["a","b"]`, `[a,b]`, or one per line.
pub fn list_items(text: &str) -> Vec<&str> {
    let text = text.trim();
    let text = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    text.split([',', '\n', ' ', '\t', '\r']).map(|e| e.trim().trim_matches('"')).filter(|e| !e.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::settings::Mac;

    use crate::settings::test_nic as nic;

    /// NetworkManager-ci's Aliyun scenario: nm-cloud-setup configures both /20.
    #[test]
    fn the_networkmanager_ci_aliyun_addresses_are_both_configured() {
        let mut n = Nic::new(0, Mac([0xcc, 0, 0, 0, 0, 1]), "172.31.176.249".parse().unwrap(), 20);
        n.gateway = Some("172.31.176.1".parse().unwrap());
        let items = MetadataItems { private_ipv4s: Some("172.31.176.249,172.31.17.249"), ..Default::default() };
        assert_eq!(fill_from_metadata(&mut n, items, "m/", false), Vec::<String>::new());
        assert_eq!(n.ipv4(), Some(("172.31.176.249".parse().unwrap(), 20)));
        assert_eq!(n.secondary, [("172.31.17.249".parse().unwrap(), 20)]);
        // A secondary NIC's rules cover the off-subnet address too.
        n.index = 1;
        assert!(route_own_replies(&mut n));
        let sources = n.policy().unwrap().sources;
        assert_eq!(sources, ["172.31.176.249".parse::<Ipv4Addr>().unwrap(), "172.31.17.249".parse().unwrap()]);
    }

    #[test]
    fn metadata_items_in_the_forms_served() {
        assert_eq!(list_items("[\"10.0.1.5\",\"10.0.1.6\"]"), ["10.0.1.5", "10.0.1.6"]);
        assert_eq!(list_items("[2001:db8:1::5]"), ["2001:db8:1::5"]);
        assert_eq!(list_items("10.0.1.5\n10.0.1.6\n"), ["10.0.1.5", "10.0.1.6"]);
        assert_eq!(list_items("[]"), Vec::<&str>::new());
        let mut n = nic();
        let items = MetadataItems {
            private_ipv4s: Some("[\"10.0.1.5\",\"10.0.1.6\",\"10.0.1.0\",\"nonsense\"]"),
            ipv6s: Some("[2001:db8:1::5,fe80::9]"),
            ipv6_gateway: Some("2001:db8:1::1"),
            ipv6_cidr: Some("2001:db8:1::/64"),
        };
        let warnings = fill_from_metadata(&mut n, items, "network/interfaces/macs/52:54:00:00:00:02/", true);
        assert_eq!(
            n.secondary,
            [("10.0.1.6".parse().unwrap(), 24)],
            "the primary address in the list is not a secondary one"
        );
        assert_eq!(n.ipv6, [("2001:db8:1::5".parse().unwrap(), 64)]);
        assert_eq!(n.ipv6_gateway, Some("2001:db8:1::1".parse().unwrap()));
        assert_eq!(n.table, Some(1001));
        assert_eq!(
            warnings,
            [
                "network/interfaces/macs/52:54:00:00:00:02/private-ipv4s: 10.0.1.0 is the network address of 10.0.1.0/24: skipped",
                "network/interfaces/macs/52:54:00:00:00:02/private-ipv4s: \"nonsense\" is not an IPv4 address: skipped",
                "network/interfaces/macs/52:54:00:00:00:02/ipv6s: fe80::9 cannot be a NIC's configured IPv6 address: skipped",
            ]
        );
        // The primary NIC keeps the main table; nothing served, nothing added.
        let mut primary = nic();
        assert!(fill_from_metadata(&mut primary, MetadataItems::default(), "", false).is_empty());
        assert_eq!(primary, nic());
        let bad = MetadataItems {
            ipv6s: Some("2001:db8::7"),
            ipv6_cidr: Some("garbage"),
            ipv6_gateway: Some("nope"),
            ..Default::default()
        };
        let warnings = fill_from_metadata(&mut primary, bad, "m/", false);
        assert_eq!(primary.ipv6, [("2001:db8::7".parse().unwrap(), 64)]);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
    }
}
