//! The live side of what only the metadata carries (`settings::nic_extras`):
//! secondary IPv4 and IPv6 addresses, the IPv6 routes, and per-NIC
//! routing (a table per NIC and `from ADDRESS lookup TABLE` rules).
//! Reconciled like the rest: what osconf set before and no longer wants
//! goes, the rest is re-asserted idempotently.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rtnetlink::packet_route::route::{RouteMessage, RouteScope};
use rtnetlink::packet_route::rule::{RuleAction, RuleMessage};
use rtnetlink::{Handle, RouteMessageBuilder};

use super::{ignore_missing, remove_address};
use crate::error::Error;
use crate::plan::network::live::LiveChange;
use crate::settings::nic_extras::Policy;
use crate::settings::{Mac, Nic, Route6};

/// Carries out one removal of `changes` on link `index` (`None`: the link is gone).
pub(super) async fn remove(handle: &Handle, index: Option<u32>, change: &LiveChange) -> Result<(), Error> {
    let result = match (change, index) {
        (LiveChange::RemoveExtraAddress { address, prefix, .. }, Some(index)) => {
            remove_address(handle, index, *address, *prefix).await
        }
        (LiveChange::RemoveRoute6 { route, .. }, Some(index)) => {
            ignore_missing(handle.route().del(route6(index, *route)).execute().await)
        }
        // Rules do not hang on a link: they go even when the NIC is gone.
        (LiveChange::RemovePolicy { policy, .. }, index) => remove_policy(handle, index, policy).await,
        _ => Ok(()),
    };
    result.map_err(|e| Error::Failed(format!("{change}: {}", super::why(&e))))
}

/// Re-asserts a NIC's extra addresses, IPv6 routes and own routing.
pub(super) async fn assert(handle: &Handle, index: u32, nic: &Nic) -> Result<(), Error> {
    let failed = |what: String, e: rtnetlink::Error| {
        Error::Failed(format!("{} (MAC {}): {what}: {}", nic.label(), nic.mac, super::why(&e)))
    };
    for (address, prefix) in &nic.secondary {
        let request = handle.address().add(index, IpAddr::V4(*address), *prefix).replace().execute();
        request.await.map_err(|e| failed(format!("setting address {address}/{prefix}"), e))?;
    }
    // IPv6 is optional to a boot: a kernel or link without it (ipv6.disable,
    // disable_ipv6) gets a warning, and the IPv4 settings still apply.
    let mut ipv6 = Vec::new();
    for &(address, prefix) in &nic.ipv6 {
        ipv6.push((
            format!("address {address}/{prefix}"),
            handle.address().add(index, IpAddr::V6(address), prefix).replace().execute().await,
        ));
    }
    // The default route first, then the others (`Nic::all_ipv6_routes`).
    for route in nic.all_ipv6_routes() {
        ipv6.push((format!("route {route}"), handle.route().add(route6(index, route)).replace().execute().await));
    }
    for (what, result) in ipv6 {
        if let Err(e) = result {
            log::warn!("{} (MAC {}): IPv6 {what} not set: {}", nic.label(), nic.mac, super::why(&e));
        }
    }
    if let Some(policy) = nic.policy() {
        for route in table_routes(index, &policy) {
            handle
                .route()
                .add(route)
                .replace()
                .execute()
                .await
                .map_err(|e| failed(format!("setting the routes of table {}", policy.table), e))?;
        }
        for source in &policy.sources {
            // A rule added with "replace" is added again: add exclusively, and
            // take "it exists" as done.
            let result = rule_from(handle, *source, &policy).execute().await;
            ignore_exists(result)
                .map_err(|e| failed(format!("adding rule from {source} lookup {}", policy.table), e))?;
        }
    }
    Ok(())
}

/// `dest/prefix via gateway dev index`: the one message both added and,
/// by the same message, removed.
fn route6(index: u32, route: Route6) -> RouteMessage {
    RouteMessageBuilder::<Ipv6Addr>::new()
        .destination_prefix(route.dest, route.prefix)
        .gateway(route.via)
        .output_interface(index)
        .build()
}

/// "from SOURCE/32 lookup TABLE" at the NIC's priority: the one rule both
/// added and, by the same message, removed.
fn rule_from(handle: &Handle, source: Ipv4Addr, policy: &Policy) -> rtnetlink::RuleAddRequest<Ipv4Addr> {
    handle
        .rule()
        .add()
        .v4()
        .source_prefix(source, 32)
        .table_id(policy.table)
        .priority(policy.priority())
        .action(RuleAction::ToTable)
}

/// The NIC's table: its subnet on the link, and the default route via its gateway.
fn table_routes(index: u32, policy: &Policy) -> [RouteMessage; 2] {
    let subnet = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(policy.network, policy.prefix)
        .output_interface(index)
        .scope(RouteScope::Link)
        .table_id(policy.table)
        .build();
    let default = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(Ipv4Addr::UNSPECIFIED, 0)
        .gateway(policy.gateway)
        .output_interface(index)
        .table_id(policy.table)
        .build();
    [subnet, default]
}

async fn remove_policy(handle: &Handle, index: Option<u32>, policy: &Policy) -> Result<(), rtnetlink::Error> {
    for source in &policy.sources {
        let rule: RuleMessage = rule_from(handle, *source, policy).message_mut().clone();
        match handle.rule().del(rule).execute().await {
            // A rule that is not there is ENOENT.
            Err(rtnetlink::Error::NetlinkError(ref e)) if e.raw_code().abs() == 2 => {}
            other => other?,
        }
    }
    if let Some(index) = index {
        for route in table_routes(index, policy) {
            ignore_missing(handle.route().del(route).execute().await)?;
        }
    }
    Ok(())
}

fn ignore_exists(result: Result<(), rtnetlink::Error>) -> Result<(), rtnetlink::Error> {
    const EEXIST: i32 = 17;
    match result {
        Err(rtnetlink::Error::NetlinkError(ref e)) if e.raw_code().abs() == EEXIST => Ok(()),
        other => other,
    }
}

/// Links by MAC for removals: the NIC may be gone.
pub(super) fn index_of(links: &BTreeMap<Mac, u32>, change: &LiveChange) -> Option<u32> {
    let mac = match change {
        LiveChange::RemoveExtraAddress { mac, .. }
        | LiveChange::RemoveRoute6 { mac, .. }
        | LiveChange::RemovePolicy { mac, .. } => mac,
        _ => return None,
    };
    links.get(mac).copied()
}
