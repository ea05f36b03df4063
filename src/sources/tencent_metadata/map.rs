//! Tencent's metadata items → typed values → `Settings`, through the
//! validator functions os.conf uses (`settings::values`) and the one builder
//! (`settings::build`). Each item is validated on its own: a missing or bad
//! optional item is a warning naming it, and the rest applies.
//!
//! | item | becomes |
//! |---|---|
//! | `instance-id` (`ins-…`), else `uuid` | recorded; required, see below |
//! | `hostname` | the host name (where served) |
//! | `mac` | which NIC is primary: eth0, with the default route |
//! | `network/interfaces/macs/` | one NIC per listed MAC (upper-case, matched in any case), the primary first |
//! | `…/<MAC>/primary-local-ipv4` | the NIC's address; else the first entry of `…/<MAC>/local-ipv4s/` |
//! | `…/<MAC>/local-ipv4s/` | the other entries: the NIC's secondary addresses |
//! | `…/<MAC>/local-ipv4s/<address>/subnet-mask` | its prefix |
//! | `…/<MAC>/local-ipv4s/<address>/gateway` | its gateway; on the primary NIC the default route |
//! | (every NIC but the primary one) | per-NIC routing: replies leave by the NIC they came in on |
//! | `public-keys/`, `public-keys/<n>/openssh-key` | root's SSH keys (none when `public-keys/` is 404) |
//!
//! A gateway outside the NIC's subnet (Tencent's documented sample has one)
//! is a warning and no route goes via it: the settings model has no on-link
//! route, and the kernel refuses a gateway it cannot reach. Without a
//! default route the image's own network configuration stays.
//!
//! An endpoint whose replies are not Tencent's (a proxy answering `200 ok`
//! to every path, a portal's HTML, a wrong url) is not believed: the
//! instance id must be served in Tencent's form ([`instance_id`]), and no
//! item may be an HTML page. It is read first.

use std::net::Ipv4Addr;

use crate::settings::build::{self, SettingsBuilder};
use crate::settings::nic_extras::{add_secondary, route_own_replies};
use crate::settings::values::{self, shorten};
use crate::settings::{Mac, Nic};
use crate::sources::http::HttpError;
use crate::sources::metadata_items::{finish, prefixed_id, Items, Mapped, Reading, MACS};

/// Reads the items. An error only for a transport failure, or when nothing
/// usable was served at all.
pub fn read(items: &dyn Items) -> Result<Mapped, HttpError> {
    let mut reading = Reading::new(items);
    let instance_id = match reading.identity("instance-id", ins_id, true)? {
        Some(id) => Some(id),
        None => reading.identity("uuid", uuid, false)?,
    };
    let mut builder = SettingsBuilder::new();
    if let Some(name) = reading.typed("hostname", values::hostname)? {
        builder.hostname(name);
    }
    let (macs, _) = reading.macs()?;
    for (index, (listed, mac)) in macs.iter().enumerate() {
        let Some(nic) = nic(&mut reading, index as u32, listed, *mac)? else { continue };
        if let Err(conflict) = builder.nic(nic) {
            reading.warn(format!("{MACS}{listed}: {}: NIC left out", conflict.message));
        }
    }
    let ssh_keys = reading.ssh_keys()?;
    finish(reading, builder, ssh_keys, instance_id)
}

/// One NIC from its items; `None` (with a warning) when it has no usable
/// address or subnet mask. NIC 0 is the primary one.
fn nic(reading: &mut Reading, index: u32, listed: &str, mac: Mac) -> Result<Option<Nic>, HttpError> {
    let item = |key: &str| format!("{MACS}{listed}/{key}");
    let listing_item = item("local-ipv4s/");
    let mut addresses: Vec<Ipv4Addr> = Vec::new();
    for line in reading.list(&listing_item)?.unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()) {
        match values::host_address(line.strip_suffix('/').unwrap_or(line)) {
            Ok(address) if !addresses.contains(&address) => addresses.push(address),
            Ok(_) => {}
            Err(e) => reading.warn(format!("{listing_item}: entry {:?}: {e}: skipped", shorten(line))),
        }
    }
    let primary = match reading.typed(&item("primary-local-ipv4"), values::host_address)? {
        Some(address) => address,
        None => match addresses.first() {
            Some(first) => *first,
            None => {
                reading.warn(format!(
                    "{listing_item}: no address (nor primary-local-ipv4): eth{index} ({mac}) left as the image configures it"
                ));
                return Ok(None);
            }
        },
    };
    let of_primary = |key: &str| item(&format!("local-ipv4s/{primary}/{key}"));
    let Some(prefix) = reading.typed(&of_primary("subnet-mask"), values::netmask)? else {
        reading.warn(format!(
            "{}: no subnet mask: eth{index} ({mac}) left as the image configures it",
            of_primary("subnet-mask")
        ));
        return Ok(None);
    };
    let mut nic = Nic::new(index, mac, primary, prefix);
    if let Some(gateway) = reading.typed(&of_primary("gateway"), values::host_address)? {
        if let Err(e) = build::set_gateway(&mut nic, gateway) {
            reading.warn(format!("{}: {e}: no route via it", of_primary("gateway")));
        }
    }
    for address in addresses.into_iter().filter(|a| *a != primary) {
        if let Err(e) = add_secondary(&mut nic, address) {
            reading.warn(format!("{listing_item}{address}/: {e}: skipped"));
        }
    }
    if index != 0 {
        route_own_replies(&mut nic);
    }
    Ok(Some(nic))
}

/// Tencent's instance ids: `ins-` and lower-case letters and digits
/// (`ins-a1b2c3d4`); see [`prefixed_id`].
fn ins_id(text: &str) -> Result<String, String> {
    prefixed_id(text, "ins-", "a Tencent instance id")
}

/// The instance's `uuid`: 8-4-4-4-12 hexadecimal digits.
fn uuid(text: &str) -> Result<String, String> {
    let groups: Vec<&str> = text.split('-').collect();
    let shaped = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()));
    if shaped {
        Ok(text.to_owned())
    } else {
        Err(format!("{:?} is not a UUID", shorten(text)))
    }
}

/// An instance id this source records: `instance-id` (`ins-…`) or `uuid`.
/// It also goes into the record and `status`.
pub fn instance_id(text: &str) -> Result<String, String> {
    ins_id(text).or_else(|why| uuid(text).map_err(|_| why))
}
