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
//!   from its items; `public_keys`: root's keys from `public-keys/`.

pub mod http;
mod items;
mod map;
pub mod nic_items;
pub mod public_keys;

use crate::config::MetadataConfig;
use crate::error::Error;

use self::http::{Client, HttpError};
use self::items::Endpoint;
use super::{Found, Typed};

pub use self::items::{Document, Fetch, Items};
pub use self::map::{instance_id, read, Mapped};

/// `Ok(None)` when the endpoint is not there (nothing listens, or nothing
/// answers within the total time) or is not the platform's (its replies do
/// not look like Alibaba's: a warning, nothing applied); an error when it
/// answers wrongly or serves nothing usable.
pub fn find(config: &MetadataConfig) -> Result<Option<Found>, Error> {
    let failed = |e: String| Error::Failed(format!("metadata endpoint {}: {e}", config.url));
    let client = Client::new(&config.url, config.request_timeout, config.total_timeout)
        .map_err(|e| Error::Failed(format!("[metadata] url: {e}")))?;
    let endpoint = match Endpoint::connect(client) {
        Ok(endpoint) => endpoint,
        Err(HttpError::Unreachable(e)) => {
            log::info!("metadata endpoint {} not reachable ({e}): no settings from it", config.url);
            return Ok(None);
        }
        Err(HttpError::Timeout(e)) => {
            log::warn!("metadata endpoint {} timed out ({e}): no settings from it", config.url);
            return Ok(None);
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    let read = match endpoint.document() {
        Ok(Some(document)) => read(&document),
        Ok(None) => read(&endpoint),
        Err(e) => Err(e),
    };
    let mapped = match read {
        Ok(mapped) => mapped,
        Err(HttpError::Foreign(why)) => {
            log::warn!(
                "metadata endpoint {}: {why}: it does not answer as Alibaba's metadata service does (a proxy at the address, or a wrong url?): nothing applied",
                config.url
            );
            return Ok(None);
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    for warning in &mapped.warnings {
        log::warn!("metadata: {warning}");
    }
    let typed = Typed { settings: mapped.settings, instance_id: mapped.instance_id, warnings: mapped.warnings };
    Ok(Some(Found {
        description: format!("metadata endpoint {}", config.url),
        content: mapped.canonical.into_bytes().into(),
        dialect: super::osconf_format::ALIBABA,
        delete_after: None,
        drop_dir: None,
        mount: None,
        typed: Some(typed),
    }))
}
