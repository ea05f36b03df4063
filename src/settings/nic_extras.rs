//! What only the metadata endpoint says about a NIC (os.conf cannot carry
//! it): secondary private IPv4 addresses, IPv6 addresses, gateway and
//! other routes, and
//! per-NIC routing — replies leave by the NIC they came in on, through a
//! routing table of the NIC's own (its subnet and a default route via its
//! own gateway) and one rule per address of the NIC: `from ADDRESS lookup
//! TABLE`. A source builds each NIC with [`Nic::new`] and its gateway, then
//! validates every further value with the functions below (the metadata
//! source: `sources::alibaba_metadata::nic_items`); the renderers and the
//! live code read the fields, and [`Nic::policy`] for the routing.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use super::values::{netmask_of, network_of};
use super::Nic;

/// Per-NIC tables are numbered from here (the NIC's index added), clear of
/// the kernel's own (253 default, 254 main, 255 local). The number is also
/// the priority of the NIC's rules: before `main` (32766).
pub const POLICY_TABLE_BASE: u32 = 1000;

pub fn policy_table(index: u32) -> u32 {
    POLICY_TABLE_BASE + index
}

/// One NIC's own routing: table `table` holds `network/prefix` on the link
/// and `default via gateway`; `from S lookup table` for each source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub table: u32,
    pub network: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Ipv4Addr,
    pub sources: Vec<Ipv4Addr>,
}

impl Policy {
    /// The rules' priority: the table's number (one per NIC, stable).
    pub fn priority(&self) -> u32 {
        self.table
    }
}

/// An IPv6 route `dest/prefix via gateway`: one of [`Nic::ipv6_routes`]
/// (never the default one, which is `Nic::ipv6_gateway`), or, as
/// [`Route6::default_via`], that default route where the live code and the
/// stacks handle both alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Route6 {
    pub dest: Ipv6Addr,
    pub prefix: u8,
    pub via: Ipv6Addr,
}

impl Route6 {
    pub fn default_via(via: Ipv6Addr) -> Route6 {
        Route6 { dest: Ipv6Addr::UNSPECIFIED, prefix: 0, via }
    }
}

impl fmt::Display for Route6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} via {}", self.dest, self.prefix, self.via)
    }
}

impl Nic {
    /// Every IPv6 route osconf sets on the NIC: the default one first (from
    /// `ipv6_gateway`), then the others.
    pub fn all_ipv6_routes(&self) -> Vec<Route6> {
        let default = self.ipv6_gateway.map(Route6::default_via);
        default.into_iter().chain(self.ipv6_routes.iter().copied()).collect()
    }

    /// Its routing of its own replies, when a source asked for it (`table`)
    /// and the NIC has a gateway.
    pub fn policy(&self) -> Option<Policy> {
        let (table, gateway, address, network) = (self.table?, self.gateway?, self.address?, self.network()?);
        let mut sources = vec![address];
        sources.extend(self.secondary.iter().map(|(a, _)| *a));
        Some(Policy { table, network, prefix: self.prefix, gateway, sources })
    }

    /// Its IPv4 address in words, for `plan` and `status`.
    pub fn ipv4_text(&self) -> String {
        match (self.ipv4(), self.dhcp4) {
            (Some((address, prefix)), _) => format!("{address}/{prefix}"),
            (None, true) => "IPv4 by DHCP".to_owned(),
            (None, false) => "no IPv4 address".to_owned(),
        }
    }

    /// These fields in words, one line each, for `plan` and `status`.
    pub fn extras(&self) -> Vec<String> {
        let mut out: Vec<String> = self.kind_text().into_iter().collect();
        out.extend(self.secondary.iter().map(|(a, p)| format!("secondary address {a}/{p}")));
        out.extend(self.ipv6_auto.map(|mode| format!("IPv6 by {mode}")));
        out.extend(self.mtu.map(|mtu| format!("MTU {mtu}")));
        out.extend(self.ipv6.iter().map(|(a, p)| format!("IPv6 address {a}/{p}")));
        out.extend(self.ipv6_gateway.map(|g| format!("IPv6 gateway {g} (default route)")));
        out.extend(self.ipv6_routes.iter().map(|r| format!("IPv6 route {r}")));
        out.extend(self.policy().map(|p| {
            format!(
                "own routing: replies from its addresses leave by it (table {}, default via {})",
                p.table, p.gateway
            )
        }));
        out
    }
}

/// A secondary IPv4 address, with the NIC's prefix whether or not it is on
/// the primary address's subnet (as nm-cloud-setup configures Alibaba's
/// `private-ipv4s`: NetworkManager-ci serves 172.31.176.249 and
/// 172.31.17.249 with netmask 255.255.240.0, and both become /20). Refused
/// only where the address is unusable: not a unicast host address, the
/// network or broadcast address of its own subnet, or an address the NIC
/// already has (its primary one, another secondary one, its gateway).
pub fn add_secondary(nic: &mut Nic, address: Ipv4Addr) -> Result<(), String> {
    add_secondary_with_prefix(nic, address, nic.prefix)
}

/// A secondary IPv4 address with a prefix of its own: OpenStack gives each
/// network on a link its own netmask (cloud-init's `OS_SAMPLES`: a /24
/// beside a /22).
pub fn add_secondary_with_prefix(nic: &mut Nic, address: Ipv4Addr, prefix: u8) -> Result<(), String> {
    if !(1..=32).contains(&prefix) {
        return Err(format!("/{prefix} is not an IPv4 prefix length (1 to 32)"));
    }
    if nic.address.is_none() {
        return Err(format!("eth{} has no static IPv4 address to add {address} beside", nic.index));
    }
    if address.is_unspecified()
        || address.is_broadcast()
        || address.is_multicast()
        || address.is_loopback()
        || address.is_link_local()
    {
        return Err(format!("{address} cannot be a host's address"));
    }
    // /31 and /32 have no network or broadcast address (RFC 3021).
    let network = network_of(address, prefix);
    let broadcast = Ipv4Addr::from(u32::from(network) | !u32::from(netmask_of(prefix)));
    if prefix <= 30 && (address == network || address == broadcast) {
        let what = if address == network { "network" } else { "broadcast" };
        return Err(format!("{address} is the {what} address of {network}/{prefix}"));
    }
    if Some(address) == nic.address || nic.secondary.iter().any(|(a, _)| *a == address) {
        return Err(format!("{address} is already an address of eth{}", nic.index));
    }
    if Some(address) == nic.gateway {
        return Err(format!("{address} is eth{}'s gateway", nic.index));
    }
    nic.secondary.push((address, prefix));
    Ok(())
}

/// An IPv6 address a NIC can be given: not unspecified, loopback,
/// multicast or link-local (the kernel makes that one itself).
pub fn ipv6_address(text: &str) -> Result<Ipv6Addr, String> {
    let address: Ipv6Addr =
        text.trim().parse().map_err(|_| format!("{:?} is not an IPv6 address", super::values::shorten(text)))?;
    if address.is_unspecified() || address.is_loopback() || address.is_multicast() || is_link_local(address) {
        return Err(format!("{address} cannot be a NIC's configured IPv6 address"));
    }
    Ok(address)
}

pub fn add_ipv6(nic: &mut Nic, address: Ipv6Addr, prefix: u8) -> Result<(), String> {
    if prefix == 0 || prefix > 128 {
        return Err(format!("/{prefix} is not an IPv6 prefix length (1 to 128)"));
    }
    if nic.ipv6.iter().any(|(a, _)| *a == address) {
        return Err(format!("{address} is already an address of eth{}", nic.index));
    }
    nic.ipv6.push((address, prefix));
    Ok(())
}

/// The IPv6 default gateway: link-local, or inside one of the NIC's IPv6 prefixes.
pub fn set_ipv6_gateway(nic: &mut Nic, gateway: Ipv6Addr) -> Result<(), String> {
    check_ipv6_gateway(nic, gateway)?;
    nic.ipv6_gateway = Some(gateway);
    Ok(())
}

/// An IPv6 route other than the default one: `dest` the network of its
/// `prefix` (1 to 128), not given twice, via a gateway on the link as
/// [`set_ipv6_gateway`] takes it.
pub fn add_ipv6_route(nic: &mut Nic, route: Route6) -> Result<(), String> {
    let Route6 { dest, prefix, via } = route;
    if prefix == 0 {
        return Err(format!("{dest}/0 is the default route (the IPv6 gateway), not another route"));
    }
    if prefix > 128 {
        return Err(format!("/{prefix} is not an IPv6 prefix length (1 to 128)"));
    }
    let network = Ipv6Addr::from(u128::from(dest) & prefix_mask(prefix));
    if network != dest {
        return Err(format!("{dest}/{prefix} has host bits set (did you mean {network}/{prefix}?)"));
    }
    if dest.is_multicast() || dest.is_loopback() {
        return Err(format!("{dest}/{prefix} cannot be routed through a gateway"));
    }
    check_ipv6_gateway(nic, via)?;
    if nic.ipv6_routes.iter().any(|r| r.dest == dest && r.prefix == prefix) {
        return Err(format!("{dest}/{prefix} is given twice"));
    }
    nic.ipv6_routes.push(route);
    Ok(())
}

/// A gateway the NIC reaches on its link: link-local, or inside one of its
/// IPv6 prefixes, and not its own address.
fn check_ipv6_gateway(nic: &Nic, gateway: Ipv6Addr) -> Result<(), String> {
    if gateway.is_unspecified() || gateway.is_loopback() || gateway.is_multicast() {
        return Err(format!("{gateway} cannot be a gateway"));
    }
    let on_link = is_link_local(gateway) || nic.ipv6.iter().any(|(a, p)| same_prefix(*a, gateway, *p));
    if !on_link {
        return Err(format!("{gateway} is neither link-local nor on a prefix of eth{}", nic.index));
    }
    if nic.ipv6.iter().any(|(a, _)| *a == gateway) {
        return Err(format!("{gateway} is eth{}'s own address", nic.index));
    }
    Ok(())
}

/// Gives a NIC that has a gateway its own routing table (see the module
/// docs); a source does so for every NIC but the primary one. Returns
/// whether it could (a NIC without a gateway has nowhere to send replies).
pub fn route_own_replies(nic: &mut Nic) -> bool {
    nic.table = nic.gateway.map(|_| policy_table(nic.index));
    nic.table.is_some()
}

fn is_link_local(address: Ipv6Addr) -> bool {
    address.segments()[0] & 0xffc0 == 0xfe80
}

fn same_prefix(a: Ipv6Addr, b: Ipv6Addr, prefix: u8) -> bool {
    let mask = prefix_mask(prefix);
    u128::from(a) & mask == u128::from(b) & mask
}

/// The mask of an IPv6 prefix length (0 to 128).
fn prefix_mask(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Mac;

    use crate::settings::test_nic as nic;

    #[test]
    fn secondary_addresses_take_the_prefix_on_any_subnet_and_are_distinct() {
        let mut n = nic();
        add_secondary(&mut n, "10.0.1.6".parse().unwrap()).unwrap();
        // Off the primary address's subnet: configured all the same, with the NIC's prefix.
        add_secondary(&mut n, "10.0.2.6".parse().unwrap()).unwrap();
        assert_eq!(n.secondary, [("10.0.1.6".parse().unwrap(), 24), ("10.0.2.6".parse().unwrap(), 24)]);
        for (bad, why) in [
            ("10.0.1.5", "already"),
            ("10.0.1.6", "already"),
            ("10.0.2.6", "already"),
            ("10.0.1.1", "gateway"),
            ("10.0.3.0", "network address of 10.0.3.0/24"),
            ("10.0.3.255", "broadcast address of 10.0.3.0/24"),
            ("0.0.0.0", "cannot be"),
            ("127.0.0.2", "cannot be"),
            ("224.0.0.5", "cannot be"),
            ("169.254.3.4", "cannot be"),
            ("255.255.255.255", "cannot be"),
        ] {
            let e = add_secondary(&mut n, bad.parse().unwrap()).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!(n.secondary.len(), 2, "nothing refused was added");
        // A /31 or /32 has no network or broadcast address (RFC 3021).
        let mut point = Nic::new(2, Mac([0x52, 0x54, 0, 0, 0, 3]), "10.0.9.4".parse().unwrap(), 31);
        add_secondary(&mut point, "10.0.9.6".parse().unwrap()).unwrap();
        add_secondary(&mut point, "10.0.9.7".parse().unwrap()).unwrap();
    }

    #[test]
    fn ipv6_addresses_and_gateway() {
        let mut n = nic();
        let address = ipv6_address("2001:db8:10::5").unwrap();
        add_ipv6(&mut n, address, 64).unwrap();
        assert!(add_ipv6(&mut n, address, 64).unwrap_err().contains("already"));
        assert!(add_ipv6(&mut n, "2001:db8:11::5".parse().unwrap(), 129).is_err());
        for bad in ["fe80::1", "::1", "ff02::1", "::", "10.0.0.1", "2001:db8::/64"] {
            assert!(ipv6_address(bad).is_err(), "{bad}");
        }
        set_ipv6_gateway(&mut n, "fe80::1".parse().unwrap()).unwrap();
        set_ipv6_gateway(&mut n, "2001:db8:10::1".parse().unwrap()).unwrap();
        assert_eq!(n.ipv6_gateway, Some("2001:db8:10::1".parse().unwrap()));
        assert!(set_ipv6_gateway(&mut n, "2001:db8:99::1".parse().unwrap())
            .unwrap_err()
            .contains("neither link-local"));
        assert!(set_ipv6_gateway(&mut n, address).unwrap_err().contains("own address"));
    }

    #[test]
    fn ipv6_routes_are_networks_via_an_on_link_gateway_each_once() {
        let mut n = nic();
        add_ipv6(&mut n, "2001:db8:10::5".parse().unwrap(), 64).unwrap();
        let route = |text: &str, prefix: u8, via: &str| Route6 {
            dest: text.parse().unwrap(),
            prefix,
            via: via.parse().unwrap(),
        };
        add_ipv6_route(&mut n, route("fd30::", 48, "fe80::f001")).unwrap();
        add_ipv6_route(&mut n, route("2001:db8:99::", 48, "2001:db8:10::1")).unwrap();
        assert_eq!(n.ipv6_routes, [route("fd30::", 48, "fe80::f001"), route("2001:db8:99::", 48, "2001:db8:10::1")]);
        for (bad, why) in [
            (route("fd30::", 48, "fe80::2"), "given twice"),
            (route("::", 0, "fe80::1"), "default route"),
            (route("fd31::", 129, "fe80::1"), "not an IPv6 prefix length"),
            (route("fd31::1", 48, "fe80::1"), "host bits set (did you mean fd31::/48?)"),
            (route("ff00::", 8, "fe80::1"), "cannot be routed"),
            (route("fd31::", 48, "2001:db8:11::1"), "neither link-local"),
            (route("fd31::", 48, "2001:db8:10::5"), "own address"),
            (route("fd31::", 48, "ff02::1"), "cannot be a gateway"),
        ] {
            let e = add_ipv6_route(&mut n, bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        assert_eq!(n.ipv6_routes.len(), 2, "nothing refused was added");
        assert_eq!(
            n.extras()[1..],
            ["IPv6 route fd30::/48 via fe80::f001", "IPv6 route 2001:db8:99::/48 via 2001:db8:10::1"]
        );
        set_ipv6_gateway(&mut n, "fe80::1".parse().unwrap()).unwrap();
        assert_eq!(n.all_ipv6_routes()[0], Route6::default_via("fe80::1".parse().unwrap()));
        assert_eq!(n.all_ipv6_routes().len(), 3);
    }

    #[test]
    fn policy_covers_every_address_of_a_nic_with_a_gateway() {
        let mut n = nic();
        assert_eq!(n.policy(), None, "only when a source asks for it");
        add_secondary(&mut n, "10.0.1.6".parse().unwrap()).unwrap();
        assert!(route_own_replies(&mut n));
        let policy = n.policy().unwrap();
        assert_eq!((policy.table, policy.priority()), (1001, 1001));
        assert_eq!(
            (policy.network, policy.prefix, policy.gateway),
            ("10.0.1.0".parse().unwrap(), 24, "10.0.1.1".parse().unwrap())
        );
        assert_eq!(policy.sources, ["10.0.1.5".parse::<Ipv4Addr>().unwrap(), "10.0.1.6".parse().unwrap()]);
        add_ipv6(&mut n, "2001:db8::5".parse().unwrap(), 64).unwrap();
        set_ipv6_gateway(&mut n, "fe80::1".parse().unwrap()).unwrap();
        assert_eq!(
            n.extras(),
            [
                "secondary address 10.0.1.6/24",
                "IPv6 address 2001:db8::5/64",
                "IPv6 gateway fe80::1 (default route)",
                "own routing: replies from its addresses leave by it (table 1001, default via 10.0.1.1)"
            ]
        );
        n.gateway = None;
        assert!(!route_own_replies(&mut n) && n.policy().is_none());
    }
}
