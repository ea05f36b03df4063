//! The OpenStack formats (PLATFORM.md §5), shared by the config drive
//! (`openstack-drive`) and the metadata service (`openstack-metadata`):
//! `meta_data.json` and `network_data.json` → `Settings`, through the
//! validators of `settings::values` and the one `SettingsBuilder`.
//!
//! - `meta`: `uuid` (required: without it nothing is believed), `hostname`,
//!   `public_keys`, `keys`, `admin_pass`;
//! - `network`: `links`, `networks`, `services`.
//!
//! Every item but `uuid` is optional: a missing one changes nothing, an odd
//! one is a warning naming it (`network_data.json: networks[2].netmask: …`)
//! and the rest applies. Any JSON at all gives `Ok` or an error, never a
//! panic: serde_json refuses nesting deeper than 128, and sizes are capped.

mod meta;
mod network;
mod secret_field;

use zeroize::Zeroizing;

use crate::settings::build::SettingsBuilder;
use crate::settings::Settings;

pub use meta::{host_names, instance_id, instance_of};

/// Largest `meta_data.json` or `network_data.json` read: real ones are a
/// few KiB (a key or two, a handful of NICs).
pub const MAX_JSON_BYTES: usize = 256 * 1024;

pub const META_DATA: &str = "meta_data.json";
pub const NETWORK_DATA: &str = "network_data.json";

/// What a source's `[source.NAME]` section lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// `password = yes`: `admin_pass` sets root's password.
    pub password: bool,
}

/// What the two files gave.
#[derive(Debug)]
pub struct Read {
    pub settings: Settings,
    pub instance_id: String,
    /// Each optional item left out, named, and why.
    pub warnings: Vec<String>,
    /// A canonical form of what is applied, the instance id and the
    /// password: its keyed digest marks these settings applied. Wiped when
    /// dropped (it holds the password).
    pub canonical: Zeroizing<Vec<u8>>,
}

/// Reads `meta_data.json` (required) and `network_data.json` (optional).
/// An error only when `meta_data.json` is not JSON, not an object, or has
/// no valid `uuid`; anything wrong in `network_data.json` is a warning.
pub fn read(meta_data: &[u8], network_data: Option<&[u8]>, options: Options) -> Result<Read, String> {
    let meta = meta::read(meta_data, options)?;
    let mut warnings = meta.warnings;
    let mut builder = SettingsBuilder::new();
    if let Some(name) = meta.hostname {
        builder.hostname(name);
    }
    let network = match network_data.map(network::read) {
        Some(Ok(network)) => Some(network),
        Some(Err(why)) => {
            warnings.push(format!("{NETWORK_DATA}: {why}: the network is left as the image configures it"));
            None
        }
        None => None,
    };
    if let Some(network) = network {
        warnings.extend(network.warnings);
        for nic in network.nics {
            let label = nic.label();
            if let Err(conflict) = builder.nic(nic) {
                warnings.push(format!("{NETWORK_DATA}: {label}: {}: NIC left out", conflict.message));
            }
        }
        builder.nameservers(network.nameservers);
    }
    let built = builder.build(Some(0)).map_err(|conflict| format!("{NETWORK_DATA}: {}", conflict.message))?;
    let mut settings = Settings { ssh_keys: meta.ssh_keys, fqdn: meta.fqdn, ..built };
    let canonical = canonical(&meta.instance_id, &settings, meta.password.as_ref().map(|p| p.as_bytes()));
    settings.password = meta.password.map(crate::settings::Password::Plain);
    Ok(Read { settings, instance_id: meta.instance_id, warnings, canonical })
}

/// The canonical bytes: what is applied as JSON, then the password (never
/// copied outside the wiped buffer, which is sized once so it never moves).
fn canonical(instance_id: &str, settings: &Settings, password: Option<&[u8]>) -> Zeroizing<Vec<u8>> {
    let text = serde_json::json!({
        "uuid": instance_id,
        "hostname": settings.hostname,
        "fqdn": settings.fqdn,
        "nameservers": settings.nameservers,
        "nics": settings.nics,
        "ssh_keys": settings.ssh_keys,
    })
    .to_string();
    let password = password.unwrap_or_default();
    let mut bytes = Zeroizing::new(Vec::with_capacity(text.len() + 1 + password.len()));
    bytes.extend_from_slice(text.as_bytes());
    bytes.push(b'\n');
    bytes.extend_from_slice(password);
    bytes
}

#[cfg(test)]
mod tests;
