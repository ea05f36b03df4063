//! The OpenStack metadata service (PLATFORM.md §5):
//! `/openstack/latest/meta_data.json` and `network_data.json` at
//! `http://169.254.169.254` (configurable), read with `openstack_format`
//! through the shared client. Only a 5xx reply and a timeout are tried
//! again; a 404 is "not served", and then the EC2-style tree is read
//! instead ([`ec2_tree`]: China Telecom). Asked by default only where DMI says
//! OpenStack (Huawei, Open Telekom Cloud, Nova). Nova serves no
//! `admin_pass` here; where a service does, it is used as the drive's.

use crate::config::{Enabled, SourceConfig};
use crate::error::Error;
use crate::sources::http::{Client, HttpError, Response};
use crate::sources::metadata_items::MetadataService;
use crate::sources::openstack_format::{self, Options, MAX_JSON_BYTES, META_DATA, NETWORK_DATA};
use crate::sources::platform::Cloud;
use crate::sources::{Found, Payload, Typed};

mod ec2_tree;
#[cfg(test)]
mod tests;

/// The source `openstack-metadata`. Asked where DMI says OpenStack:
/// elsewhere 169.254.169.254 may be another cloud's service, and nothing
/// answering costs a wait.
pub static SOURCE: MetadataService = MetadataService {
    name: "openstack-metadata",
    takes: "the service's URL (default http://169.254.169.254)",
    default_url: DEFAULT_URL,
    cloud: Cloud::OpenStack,
    enabled: Enabled::Auto,
    keys: &["url", "timeout_ms", "total_timeout_ms", "password"],
    find,
    instance_id: openstack_format::instance_id,
    user_data,
};

/// `/openstack/latest/user_data` (never `vendor_data*.json`); 404: none.
fn user_data(config: &SourceConfig) -> Result<Option<crate::sources::UserData>, Error> {
    crate::sources::metadata_items::user_data_at(config, "/openstack/latest/user_data", |_| Ok(Vec::new()))
}

pub const DEFAULT_URL: &str = "http://169.254.169.254";
const BASE: &str = "/openstack/latest/";

/// What one file's request gave.
enum Served {
    Body(String),
    Absent,
}

/// `Ok(None)` when the service is not there (nothing listens, no answer in
/// time, `meta_data.json` 404) or is not OpenStack's (a page, not JSON, no
/// `uuid`: a warning, nothing applied); an error when it answers wrongly.
pub fn find(config: &SourceConfig) -> Result<Option<Found>, Error> {
    let failed = |e: String| Error::Failed(format!("metadata service {}: {e}", config.url));
    let client = Client::new(&config.url, config.request_timeout, config.total_timeout)
        .map_err(|e| Error::Failed(format!("[source.openstack-metadata] url: {e}")))?;
    let meta_data = match get(&client, META_DATA) {
        Ok(Served::Body(body)) => zeroize::Zeroizing::new(body),
        Ok(Served::Absent) => {
            log::info!("metadata service {}: no {BASE}{META_DATA}: asking its EC2-style tree", config.url);
            return ec2_tree::find(SOURCE.name, config);
        }
        Err(HttpError::Unreachable(e)) => {
            log::info!("metadata service {} not reachable ({e}): no settings from it", config.url);
            return Ok(None);
        }
        Err(HttpError::Timeout(e)) => {
            log::warn!("metadata service {} timed out ({e}): no settings from it", config.url);
            return Ok(None);
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    // Checked before anything else is asked: a proxy's or portal's page, or another service's reply.
    if let Err(why) = openstack_format::instance_of(meta_data.as_bytes()) {
        log::warn!("metadata service {}: {why}: it does not answer as OpenStack's does: nothing applied", config.url);
        return Ok(None);
    }
    let mut warnings = Vec::new();
    let network_data = match get(&client, NETWORK_DATA) {
        Ok(Served::Body(body)) => Some(body),
        Ok(Served::Absent) => None,
        Err(e) => {
            warnings.push(format!("{NETWORK_DATA}: {e}: the network is left as the image configures it"));
            None
        }
    };
    let options = Options { password: config.password };
    let read = openstack_format::read(meta_data.as_bytes(), network_data.as_deref().map(str::as_bytes), options)
        .map_err(failed)?;
    warnings.extend(read.warnings);
    for warning in &warnings {
        log::warn!("metadata: {warning}");
    }
    let typed = Typed { settings: read.settings, instance_id: Some(read.instance_id), warnings };
    Ok(Some(Found {
        source: SOURCE.name,
        description: format!("metadata service {}", config.url),
        content: read.canonical,
        payload: Payload::Typed(typed),
        delete_after: None,
        drop_dir: None,
        mount: None,
        user_data: None,
    }))
}

/// One file: its body (200), absent (404), or an error for any other reply.
fn get(client: &Client, file: &str) -> Result<Served, HttpError> {
    let path = format!("{BASE}{file}");
    match client.get_retrying_server_errors(&path)? {
        Response { status: 200, body } if body.len() > MAX_JSON_BYTES => {
            Err(HttpError::Garbage(format!("{path}: larger than {MAX_JSON_BYTES} bytes")))
        }
        Response { status: 200, body } => Ok(Served::Body(body)),
        Response { status: 404, .. } => Ok(Served::Absent),
        Response { status, .. } => Err(HttpError::Garbage(format!("{path}: HTTP status {status}"))),
    }
}
