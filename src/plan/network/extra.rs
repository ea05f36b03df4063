//! The fields only the metadata carries (`settings::nic_extras`): secondary
//! IPv4 addresses, IPv6 addresses and routes, and per-NIC routing
//! (the NIC's own table with its subnet and a default route via its
//! gateway, and `from ADDRESS` rules). Each stack writes them in its own
//! `<stack>/extra.rs`; what several stacks share is here. Every fragment is
//! empty for a NIC without them, so os.conf drops render exactly as before.

use std::net::Ipv4Addr;

use crate::settings::nic_extras::Policy;
use crate::settings::Nic;

/// Secondary IPv4 addresses, then IPv6 ones, as `ADDRESS/PREFIX`.
pub fn extra_addresses(nic: &Nic) -> Vec<String> {
    let v4 = nic.secondary.iter().map(|(a, p)| format!("{a}/{p}"));
    v4.chain(nic.ipv6.iter().map(|(a, p)| format!("{a}/{p}"))).collect()
}

/// The addresses the NIC's rules route from.
pub fn sources(policy: &Policy) -> impl Iterator<Item = Ipv4Addr> + '_ {
    policy.sources.iter().copied()
}

/// The rules of per-NIC routing, one a line, as both rule files take them:
/// RHEL's `rule-NAME` (each line `ip rule add` arguments) and wicked's
/// `ifrule-NAME` (client/suse/compat-suse.c, ni_suse_parse_rule(): the
/// family from the `from` prefix, then the `table` and `priority` keywords).
pub fn policy_rules(nic: &Nic) -> String {
    let Some(p) = nic.policy() else { return String::new() };
    sources(&p).map(|s| format!("from {s}/32 table {} priority {}\n", p.table, p.priority())).collect()
}
