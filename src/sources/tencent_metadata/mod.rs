//! Tencent Cloud's instance metadata service (PLATFORM.md §6), the source
//! `tencent-metadata`: `http://169.254.0.23/latest/meta-data/`, by IP (no
//! name resolution at boot; `metadata.tencentyun.com` is that address), plain
//! GETs without a token, bounded like Alibaba's endpoint by the shared
//! client (`sources::http`). It gives the instance id, the host name where
//! served, the NICs by MAC with their private addresses (the primary one,
//! the others as secondary addresses) and gateways, and root's SSH keys; it
//! serves no DNS (the image's or the CD-ROM's stays) and no password.
//! `/latest/user-data` is not read here (the user-data issue reads it).
//!
//! Asked by itself only where DMI names Tencent Cloud (`enabled = auto`),
//! so other clouds never wait on 169.254.0.23; `yes` forces it.
//!
//! - `map`: items → typed values → `Settings`, every optional item a
//!   warning naming it when missing or odd;
//! - what it shares with Alibaba's endpoint (item reads with 404 = absent,
//!   the refusal of a foreign endpoint, the MAC listing, root's keys, the
//!   `find` flow) is `sources::metadata_items`.

mod map;
#[cfg(test)]
mod tests;

use crate::config::{Enabled, SourceConfig};
use crate::error::Error;
use crate::sources::http::{Client, HttpError};
use crate::sources::metadata_items::MetadataService;
use crate::sources::metadata_items::{find_with, get_item, Fetch, Items, BASE};
use crate::sources::platform::Cloud;
use crate::sources::Found;

pub use self::map::{instance_id, read};

/// The source `tencent-metadata`. Asked where DMI says Tencent Cloud: the
/// import guide sends images to the service for their network, and
/// elsewhere it would only cost a wait. The timeouts are Alibaba's:
/// Tencent's own agent waits 3 s for a reply, which the doubling waits
/// (1 s, 2 s, 4 s within 10 s) cover.
pub static SOURCE: MetadataService = MetadataService {
    name: "tencent-metadata",
    takes: "the endpoint's URL (default http://169.254.0.23)",
    default_url: DEFAULT_URL,
    cloud: Cloud::Tencent,
    enabled: Enabled::Auto,
    keys: &["url", "timeout_ms", "total_timeout_ms"],
    find,
    instance_id,
    user_data,
};

/// `/latest/user-data`; 404: none.
fn user_data(config: &SourceConfig) -> Result<Option<crate::sources::UserData>, Error> {
    crate::sources::metadata_items::user_data_at(config, "/latest/user-data", |_| Ok(Vec::new()))
}

/// Where Tencent serves it.
pub const DEFAULT_URL: &str = "http://169.254.0.23";

/// Tencent's endpoint, read as `metadata_items::find_with` says: the
/// `meta-data/` listing first (its transport failure means the endpoint is
/// absent; any HTTP answer, whatever its status, that something is there),
/// then item by item.
pub fn find(config: &SourceConfig) -> Result<Option<Found>, Error> {
    find_with(SOURCE.name, "Tencent Cloud", config, Endpoint::connect, |endpoint| read(endpoint))
}

/// The endpoint, read item by item with plain GETs.
pub struct Endpoint {
    client: Client,
}

impl Endpoint {
    fn connect(client: Client) -> Result<Endpoint, HttpError> {
        client.request("GET", BASE, &[])?;
        Ok(Endpoint { client })
    }
}

impl Items for Endpoint {
    fn get(&self, item: &str) -> Result<Fetch, HttpError> {
        get_item(&self.client, item, &[])
    }
}
