//! The live half of the plan: what the running kernel needs changed so that
//! its NICs match the settings, given what osconf set before (the record).
//! Pure: a diff of two NIC lists, shown by `osconf plan` and carried out by
//! `apply::network_live` over netlink. What osconf never set is left alone.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::settings::nic_extras::Policy;
use crate::settings::{Mac, Nic, Route, Route6};

/// One change to the running kernel, as `osconf plan` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveChange {
    AddAddress {
        label: String,
        mac: Mac,
        address: Ipv4Addr,
        prefix: u8,
    },
    RemoveAddress {
        label: String,
        mac: Mac,
        address: Ipv4Addr,
        prefix: u8,
    },
    AddRoute {
        label: String,
        mac: Mac,
        route: Route,
    },
    RemoveRoute {
        label: String,
        mac: Mac,
        route: Route,
    },
    /// Secondary IPv4 and IPv6 addresses, the IPv6 routes (the default one
    /// among them) and per-NIC routing (see `extra`).
    AddExtraAddress {
        label: String,
        mac: Mac,
        address: IpAddr,
        prefix: u8,
    },
    RemoveExtraAddress {
        label: String,
        mac: Mac,
        address: IpAddr,
        prefix: u8,
    },
    AddRoute6 {
        label: String,
        mac: Mac,
        route: Route6,
    },
    RemoveRoute6 {
        label: String,
        mac: Mac,
        route: Route6,
    },
    AddPolicy {
        label: String,
        mac: Mac,
        policy: Policy,
    },
    RemovePolicy {
        label: String,
        mac: Mac,
        policy: Policy,
    },
}

impl fmt::Display for LiveChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveChange::AddAddress { label, mac, address, prefix } => {
                write!(f, "+ address {address}/{prefix} on {label} ({mac})")
            }
            LiveChange::RemoveAddress { label, mac, address, prefix } => {
                write!(f, "- address {address}/{prefix} on {label} ({mac})")
            }
            LiveChange::AddRoute { label, mac, route } => write!(f, "+ route {route} on {label} ({mac})"),
            LiveChange::RemoveRoute { label, mac, route } => write!(f, "- route {route} on {label} ({mac})"),
            LiveChange::AddExtraAddress { label, mac, address, prefix } => {
                write!(f, "+ address {address}/{prefix} on {label} ({mac})")
            }
            LiveChange::RemoveExtraAddress { label, mac, address, prefix } => {
                write!(f, "- address {address}/{prefix} on {label} ({mac})")
            }
            LiveChange::AddRoute6 { label, mac, route } => write!(f, "+ route {route} on {label} ({mac})"),
            LiveChange::RemoveRoute6 { label, mac, route } => write!(f, "- route {route} on {label} ({mac})"),
            LiveChange::AddPolicy { label, mac, policy } => write!(f, "+ {} on {label} ({mac})", describe(policy)),
            LiveChange::RemovePolicy { label, mac, policy } => write!(f, "- {} on {label} ({mac})", describe(policy)),
        }
    }
}

/// Per-NIC routing in words: its table's routes and its rules.
fn describe(p: &Policy) -> String {
    let sources: Vec<String> = p.sources.iter().map(|s| format!("from {s}")).collect();
    format!(
        "table {} ({}/{} on the link, default via {}), rules {} lookup {}",
        p.table,
        p.network,
        p.prefix,
        p.gateway,
        sources.join(", "),
        p.table
    )
}

/// The NICs osconf configures in the running kernel: the physical ones
/// that are no bond's member. Bonds and VLANs are not created here: the
/// stack creates them, enslaves the members and addresses them when it
/// starts, right after osconf (Before=network-pre.target), from the very
/// files osconf has just written, as it does at every later boot; a member
/// osconf brought up or addressed first would only be taken down again to
/// be enslaved. So the boot that applies ends as the next one does.
pub fn configured_live(nics: &[Nic]) -> Vec<Nic> {
    let member = |nic: &Nic| crate::settings::links::bond_of(nics, nic).is_some();
    nics.iter().filter(|nic| nic.is_physical() && !member(nic)).cloned().collect()
}

/// What applying `desired` changes, given what osconf set before
/// (`previous`, from the record): removals first, then additions, on the
/// NICs osconf configures live ([`configured_live`]): what osconf set
/// before on a NIC now a bond's member is removed. Pure.
pub fn changes(desired: &[Nic], previous: &[Nic]) -> Vec<LiveChange> {
    let (desired, previous) = (&configured_live(desired)[..], &configured_live(previous)[..]);
    let find = |nics: &[Nic], mac: Mac| nics.iter().find(|n| n.mac == mac).cloned();
    let mut out = Vec::new();
    for old in previous {
        let new = find(desired, old.mac);
        let (label, mac) = (old.label(), old.mac);
        for &route in &old.routes {
            if !new.as_ref().is_some_and(|n| n.routes.contains(&route)) {
                out.push(LiveChange::RemoveRoute { label: label.clone(), mac, route });
            }
        }
        if let Some((address, prefix)) = old.ipv4().filter(|a| new.as_ref().and_then(Nic::ipv4) != Some(*a)) {
            out.push(LiveChange::RemoveAddress { label, mac, address, prefix });
        }
    }
    for new in desired {
        let old = find(previous, new.mac);
        let (label, mac) = (new.label(), new.mac);
        if let Some((address, prefix)) = new.ipv4().filter(|a| old.as_ref().and_then(Nic::ipv4) != Some(*a)) {
            out.push(LiveChange::AddAddress { label: label.clone(), mac, address, prefix });
        }
        for &route in &new.routes {
            if !old.as_ref().is_some_and(|o| o.routes.contains(&route)) {
                out.push(LiveChange::AddRoute { label: label.clone(), mac, route });
            }
        }
    }
    extra_changes(desired, previous, &mut out);
    out
}

/// Every address besides the primary one: secondary IPv4, then IPv6.
fn extra_addresses(nic: &Nic) -> Vec<(IpAddr, u8)> {
    let v4 = nic.secondary.iter().map(|(a, p)| (IpAddr::V4(*a), *p));
    v4.chain(nic.ipv6.iter().map(|(a, p)| (IpAddr::V6(*a), *p))).collect()
}

/// The changes of what only the metadata carries (`settings::nic_extras`):
/// removals, then additions.
fn extra_changes(desired: &[Nic], previous: &[Nic], out: &mut Vec<LiveChange>) {
    let find = |nics: &[Nic], mac: Mac| nics.iter().find(|n| n.mac == mac).cloned();
    for old in previous {
        let new = find(desired, old.mac);
        let (label, mac) = (old.label(), old.mac);
        if let Some(policy) = old.policy().filter(|p| new.as_ref().and_then(Nic::policy).as_ref() != Some(p)) {
            out.push(LiveChange::RemovePolicy { label: label.clone(), mac, policy });
        }
        let kept = new.as_ref().map(Nic::all_ipv6_routes).unwrap_or_default();
        for route in old.all_ipv6_routes().into_iter().filter(|r| !kept.contains(r)) {
            out.push(LiveChange::RemoveRoute6 { label: label.clone(), mac, route });
        }
        let kept = new.as_ref().map(extra_addresses).unwrap_or_default();
        for (address, prefix) in extra_addresses(old).into_iter().filter(|a| !kept.contains(a)) {
            out.push(LiveChange::RemoveExtraAddress { label: label.clone(), mac, address, prefix });
        }
    }
    for new in desired {
        let old = find(previous, new.mac);
        let (label, mac) = (new.label(), new.mac);
        let had = old.as_ref().map(extra_addresses).unwrap_or_default();
        for (address, prefix) in extra_addresses(new).into_iter().filter(|a| !had.contains(a)) {
            out.push(LiveChange::AddExtraAddress { label: label.clone(), mac, address, prefix });
        }
        let had = old.as_ref().map(Nic::all_ipv6_routes).unwrap_or_default();
        for route in new.all_ipv6_routes().into_iter().filter(|r| !had.contains(r)) {
            out.push(LiveChange::AddRoute6 { label: label.clone(), mac, route });
        }
        if let Some(policy) = new.policy().filter(|p| old.as_ref().and_then(Nic::policy).as_ref() != Some(p)) {
            out.push(LiveChange::AddPolicy { label: label.clone(), mac, policy });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nic(index: u32, mac_last: u8, address: &str, routes: &[(&str, u8, &str)]) -> Nic {
        Nic {
            routes: routes
                .iter()
                .map(|(d, p, v)| Route { dest: d.parse().unwrap(), prefix: *p, via: v.parse().unwrap() })
                .collect(),
            ..Nic::new(index, Mac([0x52, 0x54, 0, 0, 0, mac_last]), address.parse().unwrap(), 24)
        }
    }

    fn shown(changes: &[LiveChange]) -> Vec<String> {
        changes.iter().map(|c| c.to_string()).collect()
    }

    #[test]
    fn first_run_adds_everything() {
        let desired = [nic(0, 1, "10.0.0.5", &[("0.0.0.0", 0, "10.0.0.1")])];
        assert_eq!(
            shown(&changes(&desired, &[])),
            [
                "+ address 10.0.0.5/24 on eth0 (52:54:00:00:00:01)",
                "+ route 0.0.0.0/0 via 10.0.0.1 on eth0 (52:54:00:00:00:01)"
            ]
        );
    }

    #[test]
    fn same_settings_change_nothing() {
        let desired = [
            nic(0, 1, "10.0.0.5", &[("10.0.0.0", 8, "10.0.0.1")]),
            nic(1, 2, "10.0.1.5", &[("0.0.0.0", 0, "10.0.1.1")]),
        ];
        assert_eq!(changes(&desired, &desired), vec![]);
    }

    /// A bond, its members and a VLAN are the stack's to create: no change
    /// for them, and the address osconf set before on a NIC now a member
    /// is removed.
    #[test]
    fn bonds_vlans_and_members_are_left_to_the_stack() {
        use crate::settings::{Bond, NicKind, Parent, Vlan};
        let previous = [nic(0, 1, "10.0.0.5", &[("0.0.0.0", 0, "10.0.0.1")])];
        let bond = Bond {
            number: 0,
            members: vec![Mac([0x52, 0x54, 0, 0, 0, 1]), Mac([0x52, 0x54, 0, 0, 0, 2])],
            mode: "active-backup".into(),
            miimon: None,
            xmit_hash_policy: None,
        };
        let desired = [
            Nic { kind: Some(NicKind::Bond(bond)), ..nic(0, 1, "10.0.0.6", &[("0.0.0.0", 0, "10.0.0.1")]) },
            Nic { kind: Some(NicKind::Vlan(Vlan { parent: Parent::Bond(0), id: 5 })), ..nic(1, 1, "10.0.5.6", &[]) },
            Nic::automatic(2, Mac([0x52, 0x54, 0, 0, 0, 1])),
            Nic::automatic(3, Mac([0x52, 0x54, 0, 0, 0, 2])),
            nic(4, 3, "10.0.3.5", &[]),
        ];
        assert_eq!(configured_live(&desired), [desired[4].clone()]);
        assert_eq!(
            shown(&changes(&desired, &previous)),
            [
                "- route 0.0.0.0/0 via 10.0.0.1 on eth0 (52:54:00:00:00:01)",
                "- address 10.0.0.5/24 on eth0 (52:54:00:00:00:01)",
                "+ address 10.0.3.5/24 on eth4 (52:54:00:00:00:03)",
            ]
        );
        assert_eq!(changes(&desired, &desired), vec![]);
    }

    /// IPv6 routes, the default one among them, are added and removed one
    /// by one: a route whose gateway changes is removed and added again.
    #[test]
    fn ipv6_routes_are_added_and_removed_by_the_diff() {
        use crate::settings::nic_extras::{add_ipv6, add_ipv6_route, set_ipv6_gateway};
        let route = |dest: &str, prefix: u8, via: &str| Route6 {
            dest: dest.parse().unwrap(),
            prefix,
            via: via.parse().unwrap(),
        };
        let mut previous = nic(0, 1, "10.0.0.5", &[]);
        add_ipv6(&mut previous, "2001:db8::5".parse().unwrap(), 64).unwrap();
        set_ipv6_gateway(&mut previous, "fe80::1".parse().unwrap()).unwrap();
        add_ipv6_route(&mut previous, route("fd30::", 48, "fe80::f001")).unwrap();
        add_ipv6_route(&mut previous, route("fd31::", 48, "fe80::1")).unwrap();
        assert_eq!(
            shown(&changes(&[previous.clone()], &[])),
            [
                "+ address 10.0.0.5/24 on eth0 (52:54:00:00:00:01)",
                "+ address 2001:db8::5/64 on eth0 (52:54:00:00:00:01)",
                "+ route ::/0 via fe80::1 on eth0 (52:54:00:00:00:01)",
                "+ route fd30::/48 via fe80::f001 on eth0 (52:54:00:00:00:01)",
                "+ route fd31::/48 via fe80::1 on eth0 (52:54:00:00:00:01)",
            ]
        );
        let mut desired = Nic { ipv6_routes: Vec::new(), ..previous.clone() };
        add_ipv6_route(&mut desired, route("fd30::", 48, "fe80::f002")).unwrap();
        assert_eq!(
            shown(&changes(&[desired.clone()], &[previous.clone()])),
            [
                "- route fd30::/48 via fe80::f001 on eth0 (52:54:00:00:00:01)",
                "- route fd31::/48 via fe80::1 on eth0 (52:54:00:00:00:01)",
                "+ route fd30::/48 via fe80::f002 on eth0 (52:54:00:00:00:01)",
            ]
        );
        assert_eq!(changes(&[desired.clone()], &[desired]), vec![]);
    }

    #[test]
    fn classic_to_vpc_removes_eth1_and_moves_the_default_route() {
        let previous = [
            nic(0, 1, "10.0.0.5", &[("10.0.0.0", 8, "10.0.0.1")]),
            nic(1, 2, "10.0.1.5", &[("0.0.0.0", 0, "10.0.1.1")]),
        ];
        let desired = [nic(0, 1, "10.0.0.6", &[("0.0.0.0", 0, "10.0.0.1")])];
        assert_eq!(
            shown(&changes(&desired, &previous)),
            [
                "- route 10.0.0.0/8 via 10.0.0.1 on eth0 (52:54:00:00:00:01)",
                "- address 10.0.0.5/24 on eth0 (52:54:00:00:00:01)",
                "- route 0.0.0.0/0 via 10.0.1.1 on eth1 (52:54:00:00:00:02)",
                "- address 10.0.1.5/24 on eth1 (52:54:00:00:00:02)",
                "+ address 10.0.0.6/24 on eth0 (52:54:00:00:00:01)",
                "+ route 0.0.0.0/0 via 10.0.0.1 on eth0 (52:54:00:00:00:01)",
            ]
        );
    }
}
