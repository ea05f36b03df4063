//! Live network configuration over rtnetlink (issue 3). STUB: to be written.

use std::fmt;
use std::time::Duration;

use crate::error::Error;
use crate::settings::{Mac, Nic, Route};

/// One change to the running kernel, as `osconf plan` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveChange {
    AddAddress { label: String, mac: Mac, address: std::net::Ipv4Addr, prefix: u8 },
    RemoveAddress { label: String, mac: Mac, address: std::net::Ipv4Addr, prefix: u8 },
    AddRoute { label: String, mac: Mac, route: Route },
    RemoveRoute { label: String, mac: Mac, route: Route },
}

impl fmt::Display for LiveChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveChange::AddAddress { label, mac, address, prefix } => write!(f, "+ address {address}/{prefix} on {label} ({mac})"),
            LiveChange::RemoveAddress { label, mac, address, prefix } => write!(f, "- address {address}/{prefix} on {label} ({mac})"),
            LiveChange::AddRoute { label, mac, route } => write!(f, "+ route {route} on {label} ({mac})"),
            LiveChange::RemoveRoute { label, mac, route } => write!(f, "- route {route} on {label} ({mac})"),
        }
    }
}

/// What applying `desired` changes, given what osconf set before (`previous`,
/// from the record). Pure: used by `osconf plan`.
pub fn changes(desired: &[Nic], previous: &[Nic]) -> Vec<LiveChange> {
    let _ = (desired, previous);
    Vec::new()
}

/// Makes the kernel match `desired`: links up, addresses, routes; removes what
/// osconf set before (`previous`) and no longer wants. Waits up to `nic_wait`
/// for each NIC (by MAC) to appear.
pub fn apply(desired: &[Nic], previous: &[Nic], nic_wait: Duration) -> Result<(), Error> {
    let _ = (desired, previous, nic_wait);
    Ok(())
}
