//! Live network configuration over rtnetlink: every NIC found by MAC, its
//! link up, its address and its routes set in the running kernel, without
//! restarting any network service and without calling `ip`.
//!
//! Reconciling: what osconf set before (the record) and no longer wants is
//! removed; what osconf never set is left alone (the diff is
//! [`plan::network::live`](crate::plan::network::live)). Adds use
//! NLM_F_REPLACE so that running twice changes nothing and never fails with
//! EEXIST.

mod extra;
mod ready;

pub use ready::wait_until_ready;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use std::future::Future;

use futures::{StreamExt, TryStreamExt};
use rtnetlink::packet_route::link::{LinkAttribute, LinkExtentMask};
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::{Handle, LinkUnspec, RouteMessageBuilder};

use crate::error::Error;
use crate::plan::network::live::{changes, configured_live, LiveChange};
use crate::settings::{Mac, Nic, Route};
use crate::timing::Stopwatch;

/// Who configures the desired NICs in the running kernel: each stack says
/// (its `live`).
pub use crate::plan::network::Configure;

/// Makes the kernel match `desired`: links up, addresses, routes (unless
/// `configure` leaves that to the stack); removes what osconf set before
/// (`previous`) and no longer wants. Waits up to `nic_wait` for every NIC
/// (by MAC) to appear; the ones that never do are skipped (the udev wait
/// before the plan warned about them; their files configure them when they
/// appear), the rest is configured. Returns the MACs skipped.
pub fn apply(desired: &[Nic], previous: &[Nic], nic_wait: Duration, configure: Configure) -> Result<Vec<Mac>, Error> {
    // Bonds, VLANs and bond members are the stack's to create (see `configured_live`).
    let (desired, previous) = (&configured_live(desired)[..], &configured_live(previous)[..]);
    if desired.is_empty() && previous.is_empty() {
        return Ok(Vec::new());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::Failed(format!("starting the netlink runtime: {e}")))?;
    runtime.block_on(apply_async(desired, previous, nic_wait, configure))
}

/// Requests in flight at once. Pipelining saves a round trip per change
/// (the 64-NIC slope); the bound keeps the kernel's replies well within the
/// netlink socket's receive buffer (an overrun would lose replies).
const IN_FLIGHT: usize = 32;

/// Runs `requests` pipelined, `IN_FLIGHT` at a time; the first error wins.
async fn all<F: Future<Output = Result<(), Error>>>(requests: impl IntoIterator<Item = F>) -> Result<(), Error> {
    futures::stream::iter(requests).buffer_unordered(IN_FLIGHT).try_collect().await
}

async fn apply_async(
    desired: &[Nic],
    previous: &[Nic],
    nic_wait: Duration,
    configure: Configure,
) -> Result<Vec<Mac>, Error> {
    let (connection, handle, _) =
        rtnetlink::new_connection().map_err(|e| Error::Failed(format!("opening a netlink socket: {e}")))?;
    tokio::spawn(connection);
    let mut stopwatch = Stopwatch::start();

    // Every link by MAC, desired ones included. NICs osconf configured before
    // may be gone (detached): nothing to remove there.
    let links = wait_for_links(&handle, desired, nic_wait).await?;
    stopwatch.lap("netlink: link dump");
    let (present, absent): (Vec<&Nic>, Vec<&Nic>) = desired.iter().partition(|n| links.contains_key(&n.mac));
    for nic in &absent {
        log::info!("{} (MAC {}) is not present: its addresses and routes are not set now", nic.label(), nic.mac);
    }

    // A stack that configures its NICs itself (`Configure::ByStack`) is
    // left to do so; what osconf set before is still removed.
    let configured: &[&Nic] = if configure == Configure::Now { &present } else { &[] };
    // Each phase depends on the one before (routes need their NIC's address
    // and link up); requests within a phase are independent.
    all(configured.iter().map(|nic| {
        let link = LinkUnspec::new_with_index(links[&nic.mac]).up();
        // The MTU the stack's files give it at the next boot.
        let message = match nic.mtu {
            Some(mtu) => link.mtu(mtu).build(),
            None => link.build(),
        };
        let request = handle.link().set(message).execute();
        async move { request.await.map_err(|e| failed(nic, "bringing the link up", e)) }
    }))
    .await?;
    stopwatch.lap("netlink: links up");
    let changes = changes(desired, previous);
    all(changes.iter().filter_map(|change| match *change {
        LiveChange::RemoveRoute { mac, route, .. } => {
            let request = handle.route().del(route_message(*links.get(&mac)?, route)).execute();
            Some(async move {
                ignore_missing(request.await)
                    .map_err(|e| Error::Failed(format!("removing route {route} from {mac}: {}", why(&e))))
            })
        }
        _ => None,
    }))
    .await?;
    all(changes.iter().filter_map(|change| match *change {
        LiveChange::RemoveAddress { mac, address, prefix, .. } => {
            let index = *links.get(&mac)?;
            let handle = &handle;
            Some(async move {
                remove_address(handle, index, address.into(), prefix)
                    .await
                    .map_err(|e| Error::Failed(format!("removing address {address}/{prefix} from {mac}: {}", why(&e))))
            })
        }
        _ => None,
    }))
    .await?;
    // What only the metadata carries (extra ignores the other changes).
    for change in &changes {
        extra::remove(&handle, extra::index_of(&links, change), change).await?;
    }
    stopwatch.lap("netlink: removals");
    // Additions are all re-asserted (with replace), not only the new ones: a
    // reboot or another tool may have dropped them since the last run.
    // A NIC without a static address gets its addresses from the stack's
    // own DHCP client or from router advertisements once the stack starts.
    all(configured.iter().filter_map(|nic| Some((nic, nic.ipv4()?))).map(|(nic, (address, prefix))| {
        let request = handle.address().add(links[&nic.mac], address.into(), prefix).replace().execute();
        async move { request.await.map_err(|e| failed(nic, &format!("setting address {address}/{prefix}"), e)) }
    }))
    .await?;
    stopwatch.lap("netlink: addresses");
    all(configured.iter().flat_map(|nic| nic.routes.iter().map(move |&route| (nic, route))).map(|(nic, route)| {
        let request = handle.route().add(route_message(links[&nic.mac], route)).replace().execute();
        async move { request.await.map_err(|e| failed(nic, &format!("setting route {route}"), e)) }
    }))
    .await?;
    stopwatch.lap("netlink: routes");
    // Secondary and IPv6 addresses, the IPv6 route, per-NIC tables and rules:
    // after the primary addresses (kept primary) and the main table's routes.
    all(configured.iter().map(|nic| extra::assert(&handle, links[&nic.mac], nic))).await?;
    stopwatch.lap("netlink: extras");
    Ok(absent.iter().map(|n| n.mac).collect())
}

fn failed(nic: &Nic, what: &str, e: rtnetlink::Error) -> Error {
    Error::Failed(format!("{} (MAC {}): {what}: {}", nic.label(), nic.mac, why(&e)))
}

/// A netlink failure in words. Not rtnetlink's own Display: its text of an
/// unexpected reply is the reply's Debug form, which would link the Debug
/// code of every route-netlink attribute type (about 100 KiB of the binary).
pub(super) fn why(e: &rtnetlink::Error) -> String {
    match e {
        rtnetlink::Error::NetlinkError(message) => {
            format!("the kernel said: {}", std::io::Error::from_raw_os_error(message.raw_code().saturating_abs()))
        }
        rtnetlink::Error::UnexpectedMessage(_) => "an unexpected netlink reply".into(),
        rtnetlink::Error::RequestFailed => "the netlink request failed".into(),
        _ => "an invalid netlink message".into(),
    }
}

/// The kernel's index of every link by MAC, once each desired NIC is there
/// or `nic_wait` is over: waits for late ones (udev or a hot-plugged virtio
/// device can be a moment behind osconf at boot).
async fn wait_for_links(handle: &Handle, desired: &[Nic], nic_wait: Duration) -> Result<BTreeMap<Mac, u32>, Error> {
    let deadline = Instant::now()
        .checked_add(nic_wait)
        .ok_or_else(|| Error::Failed(format!("nic_wait_seconds {} is too large", nic_wait.as_secs())))?;
    loop {
        let links = link_indexes(handle).await?;
        if Instant::now() >= deadline || desired.iter().all(|n| links.contains_key(&n.mac)) {
            return Ok(links);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// MAC → link index for every link. Where links share a MAC (VLANs, bonds),
/// the lowest index wins: that is the device the MAC was born on.
async fn link_indexes(handle: &Handle) -> Result<BTreeMap<Mac, u32>, Error> {
    let mut links = BTreeMap::new();
    // Without the counters: they are most of each link's message.
    let mut dump =
        handle.link().get().set_filter_mask(AddressFamily::Unspec, vec![LinkExtentMask::SkipStats]).execute();
    while let Some(link) =
        dump.try_next().await.map_err(|e| Error::Failed(format!("listing network interfaces: {}", why(&e))))?
    {
        for attribute in &link.attributes {
            if let LinkAttribute::Address(bytes) = attribute {
                if let Ok(mac) = <[u8; 6]>::try_from(bytes.as_slice()) {
                    let index = link.header.index;
                    links.entry(Mac(mac)).and_modify(|i: &mut u32| *i = (*i).min(index)).or_insert(index);
                }
            }
        }
    }
    Ok(links)
}

/// A route in the main table through link `index` (protocol static, scope universe).
fn route_message(index: u32, route: Route) -> rtnetlink::packet_route::route::RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(route.dest, route.prefix)
        .gateway(route.via)
        .output_interface(index)
        .build()
}

async fn remove_address(handle: &Handle, index: u32, address: IpAddr, prefix: u8) -> Result<(), rtnetlink::Error> {
    let mut dump = handle
        .address()
        .get()
        .set_link_index_filter(index)
        .set_address_filter(address)
        .set_prefix_length_filter(prefix)
        .execute();
    while let Some(message) = dump.try_next().await? {
        ignore_missing(handle.address().del(message).execute().await)?;
    }
    Ok(())
}

/// Removing what is already gone is success: the goal state is reached.
fn ignore_missing(result: Result<(), rtnetlink::Error>) -> Result<(), rtnetlink::Error> {
    const ESRCH: i32 = 3;
    const ENODEV: i32 = 19;
    const EADDRNOTAVAIL: i32 = 99;
    match result {
        Err(rtnetlink::Error::NetlinkError(ref e)) if [ESRCH, ENODEV, EADDRNOTAVAIL].contains(&e.raw_code().abs()) => {
            Ok(())
        }
        other => other,
    }
}
