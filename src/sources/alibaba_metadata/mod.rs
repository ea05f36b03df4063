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

mod items;
mod map;
pub mod nic_items;
pub mod public_keys;

use std::ffi::OsStr;

use crate::config::{Enabled, SourceConfig};
use crate::error::Error;
use crate::sources::http::{Client, HttpError};
use crate::sources::platform::Cloud;
use crate::sources::{Context, Found, Payload, Source, Typed};

use self::items::Endpoint;

pub use self::items::{Document, Fetch, Items};
pub use self::map::{instance_id, read, Mapped};

/// The source `alibaba-metadata`.
pub struct AlibabaMetadata;

/// Where Alibaba serves it.
pub const DEFAULT_URL: &str = "http://100.100.100.200";

impl Source for AlibabaMetadata {
    fn name(&self) -> &'static str {
        "alibaba-metadata"
    }

    fn takes(&self) -> &'static str {
        "the endpoint's URL (default http://100.100.100.200)"
    }

    fn network_of(&self) -> Option<Cloud> {
        Some(Cloud::Alibaba)
    }

    fn keys(&self) -> &'static [&'static str] {
        &["url", "timeout_ms", "total_timeout_ms"]
    }

    /// Not asked unless enabled: it serves no password, and an image may
    /// want its NICs left to DHCP.
    fn defaults(&self) -> SourceConfig {
        SourceConfig { enabled: Enabled::No, url: DEFAULT_URL.into(), ..SourceConfig::default() }
    }

    fn find(&self, _context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error> {
        find(config)
    }

    fn find_at(&self, place: &OsStr, _context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error> {
        let url = place.to_str().ok_or_else(|| Error::Usage(format!("--from {}: the URL is not text", self.name())))?;
        find(&SourceConfig { url: url.to_owned(), ..config.clone() })
    }
}

/// `Ok(None)` when the endpoint is not there (nothing listens, or nothing
/// answers within the total time) or is not the platform's (its replies do
/// not look like Alibaba's: a warning, nothing applied); an error when it
/// answers wrongly or serves nothing usable.
pub fn find(config: &SourceConfig) -> Result<Option<Found>, Error> {
    let failed = |e: String| Error::Failed(format!("metadata endpoint {}: {e}", config.url));
    let client = Client::new(&config.url, config.request_timeout, config.total_timeout)
        .map_err(|e| Error::Failed(format!("[source.alibaba-metadata] url: {e}")))?;
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
        source: AlibabaMetadata.name(),
        description: format!("metadata endpoint {}", config.url),
        content: mapped.canonical.into_bytes().into(),
        payload: Payload::Typed(typed),
        delete_after: None,
        drop_dir: None,
        mount: None,
    }))
}
