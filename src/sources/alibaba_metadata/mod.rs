//! Alibaba Cloud's metadata endpoint (PLATFORM.md §3): host name, instance
//! id, NICs by MAC (with secondary addresses, IPv6 and per-NIC routing),
//! name servers and root's SSH keys, read as typed items into `Settings`
//! through the same validator as os.conf (`settings::build`), never through
//! os.conf text. It never serves the password. Used only when enabled.
//!
//! - `http`: the client (framing, size caps, retries within the total time);
//! - `items`: the item tree, from the one-request `meta-data/all` JSON
//!   document where it is served, or item by item;
//! - `map`: items → typed values → `Settings`; every item is optional
//!   except what a NIC cannot work without, and a missing or bad optional
//!   item is a warning naming it while everything else applies;
//! - `nic_items`: a NIC's secondary addresses, IPv6 and per-NIC routing
//!   from its items;
//! - what it shares with Tencent's endpoint (item reads, the refusal of a
//!   foreign endpoint, root's keys from `public-keys/`, the `find` flow) is
//!   in `sources::metadata_items`.

mod items;
mod map;
pub mod nic_items;

use crate::config::{Enabled, SourceConfig};
use crate::error::Error;
use crate::sources::metadata_items::find_with;
use crate::sources::metadata_items::MetadataService;
use crate::sources::platform::Cloud;
use crate::sources::Found;

use self::items::Endpoint;

pub use self::items::Document;
pub use self::map::{instance_id, read};
pub use crate::sources::metadata_items::{public_keys, Fetch, Items, Mapped};

/// The source `alibaba-metadata`. Not asked unless enabled: it serves no
/// password, and an image may want its NICs left to DHCP.
pub static SOURCE: MetadataService = MetadataService {
    name: "alibaba-metadata",
    takes: "the endpoint's URL (default http://100.100.100.200)",
    default_url: DEFAULT_URL,
    cloud: Cloud::Alibaba,
    enabled: Enabled::No,
    keys: &["url", "timeout_ms", "total_timeout_ms"],
    find,
    instance_id,
    user_data,
};

/// `/latest/user-data`, with the session token where offered; 404: none.
fn user_data(config: &SourceConfig) -> Result<Option<crate::sources::UserData>, Error> {
    crate::sources::metadata_items::user_data_at(config, "/latest/user-data", items::token_headers)
}

/// Where Alibaba serves it.
pub const DEFAULT_URL: &str = "http://100.100.100.200";

/// Alibaba's endpoint, read as [`find_with`] says: the token request first
/// (its transport failure means the endpoint is absent), then
/// `meta-data/all` where served, else item by item.
pub fn find(config: &SourceConfig) -> Result<Option<Found>, Error> {
    find_with(SOURCE.name, "Alibaba", config, Endpoint::connect, |endpoint| match endpoint.document() {
        Ok(Some(document)) => read(&document),
        Ok(None) => read(endpoint),
        Err(e) => Err(e),
    })
}
