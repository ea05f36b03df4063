//! Metadata items → typed values → `Settings`, through the validator
//! functions os.conf uses (`settings::values`) and the one builder
//! (`settings::build`). Each item is validated on its own: a missing or bad
//! optional item is a warning naming it, and the rest applies.
//!
//! | item | becomes |
//! |---|---|
//! | `hostname` | the host name |
//! | `instance-id` | recorded |
//! | `dns-conf/nameservers` | the IPv4 name servers (others are skipped) |
//! | `mac` | which NIC is primary: eth0, with the default route |
//! | `network/interfaces/macs/` | one NIC per listed MAC, in listing order after the primary |
//! | `…/<mac>/primary-ip-address` | the NIC's address; else `private-ipv4` (primary NIC), else the first of `…/<mac>/private-ipv4s` |
//! | `…/<mac>/netmask` | its prefix; else the prefix of `…/<mac>/vswitch-cidr-block` |
//! | `…/<mac>/gateway` | its gateway; on the primary NIC also the default route |
//! | `…/<mac>/vpc-cidr-block` | on the primary NIC, a route to the VPC through the gateway |
//!
//! A NIC without an address or prefix is left out (left to the image's own
//! configuration).

use std::net::Ipv4Addr;

use crate::settings::build::{self, SettingsBuilder};
use crate::settings::parse::shorten;
use crate::settings::{values, Mac, Nic, Route, Settings};

use super::http::HttpError;
use super::items::{Fetch, Items};

const MACS: &str = "network/interfaces/macs/";

/// What the items gave.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub settings: Settings,
    pub instance_id: Option<String>,
    /// Each optional item left out, named, and why.
    pub warnings: Vec<String>,
    /// A canonical text of what is applied (and the instance id): its digest
    /// marks these settings applied.
    pub canonical: String,
}

/// Reads the items. An error only for a transport failure, or when nothing
/// usable was served at all.
pub fn read(items: &dyn Items) -> Result<Mapped, HttpError> {
    let mut reading = Reading { items, warnings: Vec::new() };
    let mut builder = SettingsBuilder::new();
    if let Some(name) = reading.typed("hostname", values::hostname)? {
        builder.hostname(name);
    }
    let instance_id = reading.typed("instance-id", instance_id)?;
    if let Some(list) = reading.optional("dns-conf/nameservers")? {
        let mut servers: Vec<Ipv4Addr> = Vec::new();
        for entry in list_entries(&list) {
            match values::host_address(&entry) {
                Ok(server) if !servers.contains(&server) => servers.push(server),
                Ok(_) => {}
                Err(e) => reading.warn(format!("dns-conf/nameservers: {e} (not an IPv4 name server): skipped")),
            }
        }
        builder.nameservers(servers);
    }
    let (macs, primary_known) = reading.macs()?;
    for (index, (listed, mac)) in macs.iter().enumerate() {
        let index = index as u32;
        let Some(nic) = reading.nic(index, listed, *mac, index == 0 && primary_known)? else { continue };
        if let Err(conflict) = builder.nic(nic) {
            reading.warn(format!("{MACS}{listed}: {}: NIC left out", conflict.message));
        }
    }
    let settings = match builder.build(Some(0)) {
        Ok(settings) => settings,
        Err(conflict) => return Err(HttpError::Garbage(format!("{MACS}: {}", conflict.message))),
    };
    if settings.hostname.is_none() && settings.nics.is_empty() && settings.nameservers.is_empty() {
        let why = reading.warnings.join("; ");
        return Err(HttpError::Garbage(format!("no usable item (no host name, NIC or name server){}", if why.is_empty() { String::new() } else { format!(": {why}") })));
    }
    let canonical = serde_json::json!({
        "instance-id": instance_id,
        "hostname": settings.hostname,
        "nameservers": settings.nameservers,
        "nics": settings.nics,
    })
    .to_string();
    Ok(Mapped { settings, instance_id, warnings: reading.warnings, canonical })
}

struct Reading<'a> {
    items: &'a dyn Items,
    warnings: Vec<String>,
}

impl Reading<'_> {
    fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }

    /// An item's text, trimmed; `None` when missing, empty or refused (refused: with a warning).
    fn optional(&mut self, item: &str) -> Result<Option<String>, HttpError> {
        match self.items.get(item)? {
            Fetch::Value(text) if text.trim().is_empty() => {
                self.warn(format!("{item}: empty: ignored"));
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
    fn typed<T>(&mut self, item: &str, validate: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, HttpError> {
        let Some(text) = self.optional(item)? else { return Ok(None) };
        match validate(&text) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                self.warn(format!("{item}: {e}: ignored"));
                Ok(None)
            }
        }
    }

    /// The listed MACs, each as listed (its case kept: it goes into URLs)
    /// after checking it is a MAC, the primary (`mac`) first. The flag says
    /// whether the first one is known to be the primary NIC.
    fn macs(&mut self) -> Result<(Vec<(String, Mac)>, bool), HttpError> {
        let primary = self.typed("mac", |text| values::mac(text).map(|mac| (text.to_owned(), mac)))?;
        let mut macs: Vec<(String, Mac)> = Vec::new();
        if let Some(listing) = self.optional(MACS)? {
            for line in listing.lines().map(str::trim).filter(|l| !l.is_empty()) {
                let entry = line.strip_suffix('/').unwrap_or(line);
                match values::mac(entry) {
                    Ok(mac) if macs.iter().any(|(_, m)| *m == mac) => self.warn(format!("{MACS}: {entry} is listed twice: once is used")),
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

    /// One NIC from its items; `None` (with a warning) when it has no usable
    /// address or prefix.
    fn nic(&mut self, index: u32, listed: &str, mac: Mac, primary: bool) -> Result<Option<Nic>, HttpError> {
        let item = |key: &str| format!("{MACS}{listed}/{key}");
        let mut address = self.typed(&item("primary-ip-address"), values::host_address)?;
        if address.is_none() && primary {
            address = self.typed("private-ipv4", values::host_address)?;
        }
        if address.is_none() {
            address = self.typed(&item("private-ipv4s"), |text| values::host_address(list_entries(text).first().map_or("", String::as_str)))?;
        }
        let Some(address) = address else {
            self.warn(format!("{}: no address (nor private-ipv4s): eth{index} ({mac}) left as the image configures it", item("primary-ip-address")));
            return Ok(None);
        };
        let prefix = match self.typed(&item("netmask"), values::netmask)? {
            Some(prefix) => prefix,
            None => match self.typed(&item("vswitch-cidr-block"), values::cidr)? {
                Some((network, prefix)) if prefix > 0 && values::network_of(address, prefix) == network => prefix,
                _ => {
                    self.warn(format!("{}: no netmask (nor a vSwitch CIDR holding {address}): eth{index} ({mac}) left as the image configures it", item("netmask")));
                    return Ok(None);
                }
            },
        };
        let mut nic = Nic::new(index, mac, address, prefix);
        if let Some(gateway) = self.typed(&item("gateway"), values::host_address)? {
            if let Err(e) = build::set_gateway(&mut nic, gateway) {
                self.warn(format!("{}: {e}: ignored", item("gateway")));
            }
        }
        if let (true, Some(gateway)) = (primary, nic.gateway) {
            if let Some((dest, prefix)) = self.typed(&item("vpc-cidr-block"), values::cidr)? {
                // 0.0.0.0/0 would be a second default route: the gateway gives that one.
                let route = Route { dest, prefix, via: gateway };
                if prefix == 0 {
                    self.warn(format!("{}: {dest}/0 is not a VPC range: ignored", item("vpc-cidr-block")));
                } else if let Err(e) = build::add_route(&mut nic, route) {
                    self.warn(format!("{}: {e}: ignored", item("vpc-cidr-block")));
                }
            }
        }
        Ok(Some(nic))
    }
}

/// A list item: a JSON array of strings (`["10.0.0.5"]`) or values separated
/// by new lines, spaces or commas.
fn list_entries(text: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(text) {
        return list.into_iter().map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
    }
    text.split(|c: char| c.is_whitespace() || c == ',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// An instance id goes into the record: short, letters, digits, `-`, `_`, `.`.
fn instance_id(text: &str) -> Result<String, String> {
    if text.len() <= 128 && text.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        Ok(text.to_owned())
    } else {
        Err(format!("{:?} is not an instance id", shorten(text)))
    }
}
