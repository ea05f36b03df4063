//! The one typed validator every source feeds. A source turns its medium's
//! syntax into typed values with the functions of `values` (os.conf keys in
//! `sources::osconf_format::to_settings`, metadata items in `sources::alibaba_metadata`)
//! and hands them to a [`SettingsBuilder`], which checks what only the whole
//! can show (NICs distinct, one default route) and yields the [`Settings`].
//! A NIC is built with `Nic::new`, then `set_gateway` and `add_route`, each
//! checked against what the NIC already has.
//! No source goes through another source's text format.

use std::net::{IpAddr, Ipv4Addr};

use super::{values, Nic, Password, Route, Settings};

/// A NIC's value that a check of the whole objects to. Each source names it
/// in its own terms (an os.conf key and line, a metadata item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NicField {
    Mac,
    Address,
    Routes,
}

/// Why the settings as a whole cannot be built: which NIC (its index), which value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub index: u32,
    pub field: NicField,
    pub message: String,
}

#[derive(Debug, Default)]
pub struct SettingsBuilder {
    settings: Settings,
}

impl SettingsBuilder {
    pub fn new() -> SettingsBuilder {
        SettingsBuilder::default()
    }

    pub fn hostname(&mut self, name: String) {
        self.settings.hostname = Some(name);
    }

    pub fn password(&mut self, password: Password) {
        self.settings.password = Some(password);
    }

    pub fn nameservers(&mut self, servers: Vec<IpAddr>) {
        self.settings.nameservers = servers;
    }

    /// Adds a NIC; it must differ from those added before in MAC and address.
    pub fn nic(&mut self, nic: Nic) -> Result<(), Conflict> {
        for other in &self.settings.nics {
            // A bond or VLAN may have a member's or its parent's MAC.
            let clash = if other.mac == nic.mac && other.is_physical() && nic.is_physical() {
                Some((NicField::Mac, format!("{} is also eth{}'s MAC", nic.mac, other.index)))
            } else {
                let same_address = nic.address.filter(|a| other.address == Some(*a));
                same_address.map(|a| (NicField::Address, format!("{a} is also eth{}'s address", other.index)))
            };
            if let Some((field, message)) = clash {
                return Err(Conflict { index: nic.index, field, message });
            }
        }
        self.settings.nics.push(nic);
        Ok(())
    }

    pub fn has_nic(&self, index: u32) -> bool {
        self.settings.nics.iter().any(|n| n.index == index)
    }

    /// The settings, with at most one NIC carrying the default route: an
    /// explicit `0.0.0.0/0` route wins (two are a conflict); otherwise the
    /// gateway of NIC `carrier` (the source's rule) gives it.
    pub fn build(mut self, carrier: Option<u32>) -> Result<Settings, Conflict> {
        let nics = &mut self.settings.nics;
        nics.sort_by_key(|n| n.index);
        super::links::check(nics).map_err(|(index, message)| Conflict { index, field: NicField::Mac, message })?;
        let explicit: Vec<u32> = nics.iter().filter(|n| n.default_route().is_some()).map(|n| n.index).collect();
        if explicit.len() > 1 {
            let message = format!(
                "a second default route (eth{} already has one): only one NIC may carry 0.0.0.0/0",
                explicit[0]
            );
            return Err(Conflict { index: explicit[1], field: NicField::Routes, message });
        }
        if explicit.is_empty() {
            if let Some(nic) = nics.iter_mut().find(|n| Some(n.index) == carrier) {
                if let Some(gateway) = nic.gateway {
                    nic.routes.insert(0, Route::default_via(gateway));
                }
            }
        }
        Ok(self.settings)
    }
}

/// The gateway must be on the NIC's subnet, and not its own address.
pub fn set_gateway(nic: &mut Nic, gateway: Ipv4Addr) -> Result<(), String> {
    values::check_on_link(nic, gateway)?;
    nic.gateway = Some(gateway);
    Ok(())
}

pub fn add_route(nic: &mut Nic, route: Route) -> Result<(), String> {
    values::check_route(nic, route, &nic.routes)?;
    nic.routes.push(route);
    Ok(())
}
