//! os.conf assignments → [`Settings`]: each key's value validated with the
//! functions of `settings::values`, the NICs from their `ethN_*` keys, the
//! whole through the one [`SettingsBuilder`]; errors name the key and line.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::parse::{parse, Entry};
use super::{Carrier, Dialect};
use crate::settings::values::{self, shorten};
use crate::settings::{build, Conflict, Nic, NicField, Settings, SettingsBuilder, SettingsError};

/// Parses and validates a drop in one step.
pub fn from_drop(bytes: &[u8], dialect: Dialect) -> Result<Settings, SettingsError> {
    let entries = parse(bytes).map_err(SettingsError::from)?;
    from_entries(&entries, dialect)
}

/// Validates os.conf assignments: each key's value into its typed
/// value, then the whole through the one [`SettingsBuilder`]. Unknown
/// keys are logged and ignored.
pub fn from_entries(entries: &[Entry], dialect: Dialect) -> Result<Settings, SettingsError> {
    let mut builder = SettingsBuilder::new();
    let mut nic_entries: BTreeMap<u32, Vec<&Entry>> = BTreeMap::new();
    for entry in entries {
        let at = |message: String| error_at(entry, message);
        match entry.key.as_str() {
            "hostname" => {
                let name = values::hostname(&entry.value).map_err(at)?;
                if name != *entry.value {
                    log::info!("line {}: hostname {}: '_' is not allowed in a host name (systemd drops it at boot): using {name}", entry.line, entry.value.as_str());
                }
                builder.hostname(name);
            }
            "password" => builder.password(values::password(&entry.value, dialect.form).map_err(at)?),
            "dns_nameserver" => builder
                .nameservers(values::nameservers(&entry.value).map_err(at)?.into_iter().map(IpAddr::V4).collect()),
            key => match values::nic_key(key) {
                Some((index, _)) => nic_entries.entry(index).or_default().push(entry),
                None => log::warn!("line {}: unknown key {:?} ignored", entry.line, shorten(key)),
            },
        }
    }
    let conflict = |c: Conflict| {
        let field = match c.field {
            NicField::Mac => "mac_addr",
            NicField::Address => "ip_addr",
            NicField::Routes => "route",
        };
        error_for_key(entries, &format!("eth{}_{field}", c.index), c.message)
    };
    for (index, entries) in nic_entries {
        builder.nic(nic(index, &entries)?).map_err(conflict)?;
    }
    // A gateway gives the default route on the NIC the source's cloud names.
    let carrier = match dialect.carrier {
        Carrier::InternetNic if builder.has_nic(1) => 1,
        Carrier::InternetNic | Carrier::FirstNic => 0,
    };
    builder.build(Some(carrier)).map_err(conflict)
}

/// Builds one NIC from its `ethN_*` entries.
fn nic(index: u32, entries: &[&Entry]) -> Result<Nic, SettingsError> {
    let find = |field: &str| entries.iter().copied().find(|e| values::nic_key(&e.key).map(|(_, f)| f) == Some(field));
    let first = entries[0];
    let required = |field: &str| {
        find(field).ok_or_else(|| SettingsError {
            key: format!("eth{index}_{field}"),
            line: Some(first.line),
            message: format!("is missing, but eth{index} is configured (line {})", first.line),
        })
    };
    for entry in entries {
        let (_, field) = values::nic_key(&entry.key).expect("grouped by nic_key");
        if !matches!(field, "ip_addr" | "mac_addr" | "netmask" | "gateway" | "route") {
            log::warn!("line {}: unknown key {:?} ignored", entry.line, entry.key);
        }
    }
    // Values first, in file order, so the first error is the first bad line.
    let value = |field: &str| find(field).map(|e| (e, e.value.as_str()));
    let check = |field: &str, f: &dyn Fn(&str) -> Result<(), String>| match value(field) {
        Some((entry, text)) => f(text).map_err(|m| error_at(entry, m)),
        None => Ok(()),
    };
    check("mac_addr", &|v| values::mac(v).map(drop))?;
    check("ip_addr", &|v| values::host_address(v).map(drop))?;
    check("netmask", &|v| values::netmask(v).map(drop))?;
    let mac = values::mac(&required("mac_addr")?.value).expect("checked above");
    let address = values::host_address(&required("ip_addr")?.value).expect("checked above");
    let prefix = values::netmask(&required("netmask")?.value).expect("checked above");
    let mut nic = Nic::new(index, mac, address, prefix);
    if let Some(entry) = find("gateway") {
        let gateway = values::host_address(&entry.value).map_err(|m| error_at(entry, m))?;
        build::set_gateway(&mut nic, gateway).map_err(|m| error_at(entry, m))?;
    }
    if let Some(entry) = find("route") {
        nic.routes = values::routes(&entry.value, &nic).map_err(|m| error_at(entry, m))?;
    }
    Ok(nic)
}

/// An error about one entry's value, naming its key and line.
fn error_at(entry: &Entry, message: String) -> SettingsError {
    SettingsError { key: entry.key.clone(), line: Some(entry.line), message }
}

/// An error about a key as a whole (a NIC's conflict), at its line if present.
fn error_for_key(entries: &[Entry], key: &str, message: String) -> SettingsError {
    let line = entries.iter().find(|e| e.key == key).map(|e| e.line);
    SettingsError { key: key.to_owned(), line, message }
}
