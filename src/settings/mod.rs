//! The validated model of what the cloud asked for. Every source (drop file,
//! CD-ROM, metadata endpoint) ends here; nothing invalid gets past this module.

pub mod parse;
pub(crate) mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

pub use parse::{parse, Entry, ParseError};
pub use values::{Mac, Route};

/// What the settings want. NICs are sorted by their `ethN` index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub hostname: Option<String>,
    pub password: Option<Password>,
    pub nameservers: Vec<Ipv4Addr>,
    pub nics: Vec<Nic>,
}

/// The root password: plain text (Alibaba, Base64 in the drop) to be hashed
/// here, or a crypt hash (Tencent) to be written as is. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub enum Password {
    Plain(String),
    Hash(String),
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Password::Plain(_) => f.write_str("Password::Plain(<redacted>)"),
            Password::Hash(_) => f.write_str("Password::Hash(<redacted>)"),
        }
    }
}

/// How a source encodes the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordForm {
    /// Alibaba: Base64 of the plain text, usually with a trailing newline.
    Base64Plain,
    /// Tencent: a crypt(3) hash such as `$6$salt$...`.
    CryptHash,
}

/// One NIC, found by MAC. `routes` is complete: the default route, when this
/// NIC carries it, is among them (see `default_route_nic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nic {
    /// N of `ethN` in the drop; only a label, the kernel name may differ.
    pub index: u32,
    pub mac: Mac,
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub routes: Vec<Route>,
}

impl Nic {
    pub fn label(&self) -> String {
        format!("eth{}", self.index)
    }

    /// The NIC's network, e.g. 10.0.0.0 for 10.0.0.5/24.
    pub fn network(&self) -> Ipv4Addr {
        values::network_of(self.address, self.prefix)
    }

    pub fn netmask(&self) -> Ipv4Addr {
        values::netmask_of(self.prefix)
    }

    pub fn default_route(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.is_default())
    }
}

impl Settings {
    /// Parses and validates a drop in one step.
    pub fn from_drop(bytes: &[u8], form: PasswordForm) -> Result<Settings, SettingsError> {
        let entries = parse(bytes).map_err(SettingsError::from)?;
        Settings::from_entries(&entries, form)
    }

    /// Validates assignments (from a drop, or built by a source such as the
    /// metadata endpoint). Unknown keys are logged and ignored.
    pub fn from_entries(entries: &[Entry], form: PasswordForm) -> Result<Settings, SettingsError> {
        let mut settings = Settings::default();
        let mut nic_entries: BTreeMap<u32, Vec<&Entry>> = BTreeMap::new();
        for entry in entries {
            let at = |message: String| SettingsError::at(entry, message);
            match entry.key.as_str() {
                "hostname" => {
                    let name = values::hostname(&entry.value).map_err(at)?;
                    if name != entry.value {
                        log::info!("line {}: hostname {}: '_' is not allowed in a host name (systemd drops it at boot): using {name}", entry.line, entry.value);
                    }
                    settings.hostname = Some(name);
                }
                "password" => settings.password = Some(values::password(&entry.value, form).map_err(at)?),
                "dns_nameserver" => settings.nameservers = values::nameservers(&entry.value).map_err(at)?,
                key => match values::nic_key(key) {
                    Some((index, _)) => nic_entries.entry(index).or_default().push(entry),
                    None => log::warn!("line {}: unknown key {:?} ignored", entry.line, parse::shorten(key)),
                },
            }
        }
        for (index, entries) in nic_entries {
            settings.nics.push(nic(index, &entries)?);
        }
        check_nics_distinct(&settings.nics, entries)?;
        place_default_route(&mut settings.nics, entries, form)?;
        Ok(settings)
    }

    /// Classic networks have an internet NIC (eth1) beside the intranet one.
    pub fn is_classic(&self) -> bool {
        self.nics.iter().any(|n| n.index == 1)
    }

    /// The address the host name maps to in /etc/hosts: the first NIC's.
    pub fn primary_address(&self) -> Option<Ipv4Addr> {
        self.nics.first().map(|n| n.address)
    }
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
        Some((entry, text)) => f(text).map_err(|m| SettingsError::at(entry, m)),
        None => Ok(()),
    };
    check("mac_addr", &|v| values::mac(v).map(drop))?;
    check("ip_addr", &|v| values::host_address(v).map(drop))?;
    check("netmask", &|v| values::netmask(v).map(drop))?;
    let mac = values::mac(&required("mac_addr")?.value).expect("checked above");
    let address = values::host_address(&required("ip_addr")?.value).expect("checked above");
    let prefix = values::netmask(&required("netmask")?.value).expect("checked above");
    let mut nic = Nic { index, mac, address, prefix, gateway: None, routes: Vec::new() };
    if let Some(entry) = find("gateway") {
        let gateway = values::host_address(&entry.value).map_err(|m| SettingsError::at(entry, m))?;
        values::check_on_link(&nic, gateway).map_err(|m| SettingsError::at(entry, m))?;
        nic.gateway = Some(gateway);
    }
    if let Some(entry) = find("route") {
        nic.routes = values::routes(&entry.value, &nic).map_err(|m| SettingsError::at(entry, m))?;
    }
    Ok(nic)
}

/// Two NICs with one MAC or one address cannot both be configured.
fn check_nics_distinct(nics: &[Nic], entries: &[Entry]) -> Result<(), SettingsError> {
    for (i, a) in nics.iter().enumerate() {
        for b in &nics[i + 1..] {
            let clash = if a.mac == b.mac {
                Some(("mac_addr", format!("{} is also eth{}'s MAC", b.mac, a.index)))
            } else if a.address == b.address {
                Some(("ip_addr", format!("{} is also eth{}'s address", b.address, a.index)))
            } else {
                None
            };
            if let Some((field, message)) = clash {
                let key = format!("eth{}_{}", b.index, field);
                return Err(SettingsError::for_key(entries, &key, message));
            }
        }
    }
    Ok(())
}

/// Exactly one NIC carries the default route. An explicit `0.0.0.0/0` route
/// wins; otherwise a gateway gives it, on the NIC the cloud's contract names
/// (PLATFORM.md): Alibaba's internet-facing NIC — eth1 on classic networks,
/// eth0 on VPC — and Tencent's eth0, whatever other NICs the drop lists.
fn place_default_route(nics: &mut [Nic], entries: &[Entry], form: PasswordForm) -> Result<(), SettingsError> {
    let explicit: Vec<u32> = nics.iter().filter(|n| n.default_route().is_some()).map(|n| n.index).collect();
    if explicit.len() > 1 {
        let key = format!("eth{}_route", explicit[1]);
        let message = format!("a second default route (eth{} already has one): only one NIC may carry 0.0.0.0/0", explicit[0]);
        return Err(SettingsError::for_key(entries, &key, message));
    }
    if !explicit.is_empty() {
        return Ok(());
    }
    let classic = nics.iter().any(|n| n.index == 1);
    // The password's form tells the clouds apart: only Tencent sends a crypt hash.
    let carrier = match form {
        PasswordForm::Base64Plain if classic => 1,
        PasswordForm::Base64Plain | PasswordForm::CryptHash => 0,
    };
    if let Some(nic) = nics.iter_mut().find(|n| n.index == carrier) {
        if let Some(gateway) = nic.gateway {
            nic.routes.insert(0, Route::default_via(gateway));
        }
    }
    Ok(())
}

/// A validation error: which key, on which line, and what is wrong with it.
/// The value is quoted only for keys that are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub key: String,
    pub line: Option<usize>,
    pub message: String,
}

impl SettingsError {
    fn at(entry: &Entry, message: String) -> SettingsError {
        SettingsError { key: entry.key.clone(), line: Some(entry.line), message }
    }

    fn for_key(entries: &[Entry], key: &str, message: String) -> SettingsError {
        let line = entries.iter().find(|e| e.key == key).map(|e| e.line);
        SettingsError { key: key.to_owned(), line, message }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.key.is_empty()) {
            // Whole-file errors (size) have neither line nor key.
            (Some(0) | None, true) => f.write_str(&self.message),
            (Some(0) | None, false) => write!(f, "{}: {}", self.key, self.message),
            (Some(line), true) => write!(f, "line {}: {}", line, self.message),
            (Some(line), false) => write!(f, "line {}: {}: {}", line, self.key, self.message),
        }
    }
}

impl std::error::Error for SettingsError {}

impl From<ParseError> for SettingsError {
    fn from(e: ParseError) -> SettingsError {
        SettingsError { key: e.key.unwrap_or_default(), line: Some(e.line), message: e.message }
    }
}

#[cfg(test)]
mod tests;
