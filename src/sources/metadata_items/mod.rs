//! What the metadata sources share (Alibaba's and Tencent's endpoints serve
//! the same EC2-style tree under `/latest/meta-data/`): an item read where a
//! 404 is "absent" ([`Fetch`], [`Items`], [`get_item`]); the refusal of an
//! endpoint whose replies are not the platform's (an HTML page for an item,
//! no plausible instance id: [`HttpError::Foreign`]); the [`Reading`] that
//! turns items into typed values with a warning naming each bad optional
//! one (host name, the MAC listing, root's keys from `public-keys/`); the
//! canonical form whose digest marks the settings applied ([`finish`]); and
//! the one `find` flow ([`find_with`]): absent or silent endpoint = no
//! settings, a foreign one = a warning and no settings.
//!
//! Each source keeps what is its own: Alibaba's token and `meta-data/all`,
//! each cloud's NIC items and instance-id form.

pub mod public_keys;

use std::ffi::OsStr;

use crate::config::{Enabled, SourceConfig};
use crate::error::Error;
use crate::settings::build::SettingsBuilder;
use crate::settings::values::{self, shorten};
use crate::settings::{Mac, SshKey};
use crate::sources::http::{Client, HttpError, RawResponse};
use crate::sources::platform::Cloud;
use crate::sources::{Context, Found, Payload, Source, Typed};

use self::public_keys::keys_from_metadata;

/// Where both clouds serve the tree.
pub const BASE: &str = "/latest/meta-data/";
/// The NICs, one directory per MAC.
pub const MACS: &str = "network/interfaces/macs/";
const KEYS: &str = "public-keys/";

/// What an item read gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetch {
    Value(String),
    /// 404, or absent from the document: the instance has no such item.
    Missing,
    /// Another HTTP status: the item could not be read this time.
    Refused(u16),
}

/// An item tree. Paths are relative to `meta-data/`; directories end in
/// `/` and read as newline-separated listings.
pub trait Items {
    /// An `Err` is a transport failure: reading more items cannot help.
    fn get(&self, item: &str) -> Result<Fetch, HttpError>;
}

/// One item from the endpoint, by a GET with `headers`.
pub fn get_item(client: &Client, item: &str, headers: &[(&str, &str)]) -> Result<Fetch, HttpError> {
    get_item_under(client, BASE, item, headers)
}

/// One item of a tree served under `base` (a service without `/latest`).
pub fn get_item_under(client: &Client, base: &str, item: &str, headers: &[(&str, &str)]) -> Result<Fetch, HttpError> {
    let response = client.request("GET", &format!("{base}{item}"), headers)?;
    Ok(match response.status {
        200 => Fetch::Value(response.body),
        404 => Fetch::Missing,
        status => Fetch::Refused(status),
    })
}

/// One item as served; a body that is an HTML or XML page (a proxy's or
/// portal's, never a metadata value) means the endpoint is not the platform's.
pub fn fetch(items: &dyn Items, item: &str) -> Result<Fetch, HttpError> {
    let fetched = items.get(item)?;
    if let Fetch::Value(text) = &fetched {
        if text.trim_start().starts_with('<') {
            return Err(HttpError::Foreign(format!("{item}: the reply is an HTML or XML page, not a metadata value")));
        }
    }
    Ok(fetched)
}

/// An instance id of the form both clouds use: `prefix` and 4 to 62
/// lower-case letters or digits. Strict enough that `ok`, an error text or
/// JSON is not one; loose in length so that no real one fails. `what`
/// names it in the error ("an Alibaba instance id").
pub fn prefixed_id(text: &str, prefix: &str, what: &str) -> Result<String, String> {
    let plausible = text.strip_prefix(prefix).is_some_and(|rest| {
        (4..=62).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    });
    if plausible {
        Ok(text.to_owned())
    } else {
        Err(format!("{:?} is not {what} ({prefix} and 4 to 62 lower-case letters or digits)", shorten(text)))
    }
}

/// A cloud's metadata service as a source: the three differ only in what
/// this holds, so one `Source` implementation serves them all.
pub struct MetadataService {
    pub name: &'static str,
    /// What `--from NAME=WHERE` takes (its URL, with the default).
    pub takes: &'static str,
    pub default_url: &'static str,
    /// The only cloud that serves it: never asked on another's instance.
    pub cloud: Cloud,
    /// Whether it is asked by default (`auto`: where DMI names its cloud).
    pub enabled: Enabled,
    /// Its `[source.NAME]` keys besides `enabled`.
    pub keys: &'static [&'static str],
    /// Reads the service at `config.url`.
    pub find: fn(&SourceConfig) -> Result<Option<Found>, Error>,
    /// The form of instance id its cloud gives.
    pub instance_id: fn(&str) -> Result<String, String>,
    /// Reads the instance's user data from the service at `config.url`.
    pub user_data: fn(&SourceConfig) -> Result<Option<crate::sources::UserData>, Error>,
}

impl Source for MetadataService {
    fn name(&self) -> &'static str {
        self.name
    }

    fn takes(&self) -> &'static str {
        self.takes
    }

    fn network_of(&self) -> Option<Cloud> {
        Some(self.cloud)
    }

    fn keys(&self) -> &'static [&'static str] {
        self.keys
    }

    fn defaults(&self) -> SourceConfig {
        SourceConfig { enabled: self.enabled, url: self.default_url.into(), ..SourceConfig::default() }
    }

    fn find(&self, _context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error> {
        (self.find)(config)
    }

    fn find_at(&self, place: &OsStr, _context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error> {
        (self.find)(&at_url(self.name, place, config)?)
    }

    fn instance_id(&self, id: &str) -> Result<String, String> {
        (self.instance_id)(id)
    }

    fn user_data(
        &self,
        _found: &Found,
        place: Option<&OsStr>,
        config: &SourceConfig,
    ) -> Result<Option<crate::sources::UserData>, Error> {
        match place {
            Some(place) => (self.user_data)(&at_url(self.name, place, config)?),
            None => (self.user_data)(config),
        }
    }
}

/// The instance's user data at `path` of the service (`/latest/user-data`,
/// `/openstack/latest/user_data`), with `headers`: a 404 is none, and so is
/// a service gone silent since the settings were read (a warning); its
/// bytes (text or gzip'd) are wiped when dropped.
pub fn user_data_at(
    config: &SourceConfig,
    path: &str,
    connect: impl FnOnce(&Client) -> Result<Vec<(String, String)>, HttpError>,
) -> Result<Option<crate::sources::UserData>, Error> {
    let failed = |e: String| Error::Failed(format!("metadata endpoint {}: {path}: {e}", config.url));
    let client = Client::new(&config.url, config.request_timeout, config.total_timeout).map_err(failed)?;
    let response = connect(&client).and_then(|headers| {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        client.request_bytes("GET", path, &headers)
    });
    match response {
        Ok(RawResponse { status: 200, body }) => Ok(Some(body)),
        Ok(RawResponse { status: 404, .. }) => Ok(None),
        Ok(RawResponse { status, .. }) => Err(failed(format!("HTTP status {status}"))),
        Err(HttpError::Unreachable(e) | HttpError::Timeout(e)) => {
            log::warn!("metadata endpoint {}: {path}: {e}: no user data from it", config.url);
            Ok(None)
        }
        Err(e) => Err(failed(e.to_string())),
    }
}

/// `--from NAME=URL`: the source's section with that url.
pub fn at_url(source: &str, place: &OsStr, config: &SourceConfig) -> Result<SourceConfig, Error> {
    let url = place.to_str().ok_or_else(|| Error::Usage(format!("--from {source}: the URL is not text")))?;
    Ok(SourceConfig { url: url.to_owned(), ..config.clone() })
}

/// What the items gave.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub settings: crate::settings::Settings,
    pub instance_id: Option<String>,
    /// Each optional item left out, named, and why.
    pub warnings: Vec<String>,
    /// A canonical text of what is applied (and the instance id): its digest
    /// marks these settings applied.
    pub canonical: String,
}

/// Items being read into typed values; the warnings so far.
pub struct Reading<'a> {
    pub items: &'a dyn Items,
    pub warnings: Vec<String>,
}

impl<'a> Reading<'a> {
    pub fn new(items: &'a dyn Items) -> Reading<'a> {
        Reading { items, warnings: Vec::new() }
    }

    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// An item's text, trimmed; `None` when missing, empty or refused (refused: with a warning).
    pub fn optional(&mut self, item: &str) -> Result<Option<String>, HttpError> {
        self.text(item, true)
    }

    /// A list item: like `optional`, but an empty list is no list (no warning).
    pub fn list(&mut self, item: &str) -> Result<Option<String>, HttpError> {
        self.text(item, false)
    }

    fn text(&mut self, item: &str, warn_empty: bool) -> Result<Option<String>, HttpError> {
        match fetch(self.items, item)? {
            Fetch::Value(text) if text.trim().is_empty() => {
                if warn_empty {
                    self.warn(format!("{item}: empty: ignored"));
                }
                Ok(None)
            }
            Fetch::Value(text) => Ok(Some(text.trim().to_owned())),
            Fetch::Missing => Ok(None),
            Fetch::Refused(status) => {
                self.warn(format!("{item}: HTTP status {status}: ignored"));
                Ok(None)
            }
        }
    }

    /// An item through a validator; invalid is a warning naming the item.
    pub fn typed<T>(
        &mut self,
        item: &str,
        validate: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, HttpError> {
        let Some(text) = self.optional(item)? else { return Ok(None) };
        match validate(&text) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                self.warn(format!("{item}: {e}: ignored"));
                Ok(None)
            }
        }
    }

    /// The instance id `item`, which every instance of the platform serves in
    /// the form `validate` checks: served otherwise (or not at all), the
    /// endpoint is not believed. `Ok(None)`: a 404, when `absent_ok` (another
    /// item may identify the instance).
    pub fn identity(
        &mut self,
        item: &str,
        validate: impl Fn(&str) -> Result<String, String>,
        absent_ok: bool,
    ) -> Result<Option<String>, HttpError> {
        let foreign = |why: String| HttpError::Foreign(format!("{item}: {why}"));
        match fetch(self.items, item)? {
            Fetch::Value(text) => validate(text.trim()).map(Some).map_err(foreign),
            Fetch::Missing if absent_ok => Ok(None),
            Fetch::Missing => Err(foreign("not served (404)".into())),
            Fetch::Refused(status) => Err(foreign(format!("HTTP status {status}"))),
        }
    }

    /// The listed MACs, each as listed (its case kept: it goes into URLs)
    /// after checking it is a MAC, the primary (`mac`) first. The flag says
    /// whether the first one is known to be the primary NIC.
    pub fn macs(&mut self) -> Result<(Vec<(String, Mac)>, bool), HttpError> {
        let primary = self.typed("mac", |text| values::mac(text).map(|mac| (text.to_owned(), mac)))?;
        let mut macs: Vec<(String, Mac)> = Vec::new();
        if let Some(listing) = self.optional(MACS)? {
            for line in listing.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let entry = line.strip_suffix('/').unwrap_or(line);
                match values::mac(entry) {
                    Ok(mac) if macs.iter().any(|(_, m)| *m == mac) => {
                        self.warn(format!("{MACS}: {entry} is listed twice: once is used"))
                    }
                    Ok(mac) => macs.push((entry.to_owned(), mac)),
                    Err(_) => self.warn(format!("{MACS}: entry {:?} is not a MAC address: ignored", shorten(line))),
                }
            }
        }
        let known = match primary {
            Some((text, mac)) => {
                match macs.iter().position(|(_, m)| *m == mac) {
                    Some(at) => {
                        let entry = macs.remove(at);
                        macs.insert(0, entry);
                    }
                    None => {
                        self.warn(format!("mac: {mac} is not in {MACS}: its items are read under {text}"));
                        macs.insert(0, (text, mac));
                    }
                }
                true
            }
            None => macs.len() == 1,
        };
        Ok((macs, known))
    }

    /// root's SSH keys: `Some` (the complete list, maybe empty) when the
    /// endpoint says which keys there are, `None` when it could not say
    /// this time (the installed keys stay): an item refused, or a listing
    /// served that gave no valid key. Only a 404 listing is "no key".
    pub fn ssh_keys(&mut self) -> Result<Option<Vec<SshKey>>, HttpError> {
        /// Why the list cannot be complete: a transport failure, or an item refused.
        enum Stop {
            Http(HttpError),
            Refused(String, u16),
        }
        let items = self.items;
        let get = |item: &str| match fetch(items, item).map_err(Stop::Http)? {
            Fetch::Value(text) => Ok(Some(text)),
            Fetch::Missing => Ok(None),
            Fetch::Refused(status) => Err(Stop::Refused(item.to_owned(), status)),
        };
        let mut served_listing = false;
        let listed = get(KEYS).and_then(|listing| {
            served_listing = listing.is_some();
            keys_from_metadata(listing.as_deref(), get)
        });
        match listed {
            // Listed, yet no key came of it: that says nothing sure about keys.
            Ok((keys, warnings)) if keys.is_empty() && served_listing => {
                self.warnings.extend(warnings);
                self.warn(format!("{KEYS}: no valid key among those listed: root's SSH keys left as they are"));
                Ok(None)
            }
            Ok((keys, warnings)) => {
                self.warnings.extend(warnings);
                Ok(Some(keys))
            }
            Err(Stop::Refused(item, status)) => {
                self.warn(format!("{item}: HTTP status {status}: root's SSH keys left as they are"));
                Ok(None)
            }
            Err(Stop::Http(e)) => Err(e),
        }
    }
}

/// The settings of `builder` with root's keys (the default route on eth0,
/// the primary NIC); an error when nothing usable came of the items. The
/// canonical form holds what is applied and the instance id.
pub fn finish(
    reading: Reading,
    builder: SettingsBuilder,
    ssh_keys: Option<Vec<SshKey>>,
    instance_id: Option<String>,
) -> Result<Mapped, HttpError> {
    let settings = match builder.build(Some(0)) {
        Ok(settings) => crate::settings::Settings { ssh_keys, ..settings },
        Err(conflict) => return Err(HttpError::Garbage(format!("{MACS}: {}", conflict.message))),
    };
    let has_keys = settings.ssh_keys.as_ref().is_some_and(|keys| !keys.is_empty());
    if settings.hostname.is_none() && settings.nics.is_empty() && settings.nameservers.is_empty() && !has_keys {
        let why = reading.warnings.join("; ");
        return Err(HttpError::Garbage(format!(
            "no usable item (no host name, NIC, name server or SSH key){}",
            if why.is_empty() { String::new() } else { format!(": {why}") }
        )));
    }
    let canonical = serde_json::json!({
        "instance-id": instance_id,
        "hostname": settings.hostname,
        "nameservers": settings.nameservers,
        "nics": settings.nics,
        "ssh_keys": settings.ssh_keys,
    })
    .to_string();
    Ok(Mapped { settings, instance_id, warnings: reading.warnings, canonical })
}

/// A metadata source's `find`, for the source `source` of `platform` (in
/// words): `connect` sends the first request (its transport failure means
/// the endpoint is absent: no settings), `read` maps the items.
/// `Ok(None)` when the endpoint is not there (nothing listens, or nothing
/// answers within the total time) or is not the platform's (its replies do
/// not look like the platform's: a warning, nothing applied); an error when
/// it answers wrongly or serves nothing usable.
pub fn find_with<E>(
    source: &'static str,
    platform: &str,
    config: &SourceConfig,
    connect: impl FnOnce(Client) -> Result<E, HttpError>,
    read: impl FnOnce(&E) -> Result<Mapped, HttpError>,
) -> Result<Option<Found>, Error> {
    let failed = |e: String| Error::Failed(format!("metadata endpoint {}: {e}", config.url));
    let client = Client::new(&config.url, config.request_timeout, config.total_timeout)
        .map_err(|e| Error::Failed(format!("[source.{source}] url: {e}")))?;
    let endpoint = match connect(client) {
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
    let mapped = match read(&endpoint) {
        Ok(mapped) => mapped,
        Err(HttpError::Foreign(why)) => {
            log::warn!(
                "metadata endpoint {}: {why}: it does not answer as {platform}'s metadata service does (a proxy at the address, or a wrong url?): nothing applied",
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
        source,
        description: format!("metadata endpoint {}", config.url),
        content: mapped.canonical.into_bytes().into(),
        payload: Payload::Typed(typed),
        delete_after: None,
        drop_dir: None,
        mount: None,
        user_data: None,
    }))
}
