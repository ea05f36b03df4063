//! Persistent network configuration in the image's own stack (issue 4). STUB: to be written.

use std::fmt;

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stack {
    Ifupdown,
    RhelIfcfg,
    SuseIfcfg,
    Networkd,
    NetworkManager,
    Netplan,
}

impl Stack {
    pub const ALL: [Stack; 6] = [Stack::Ifupdown, Stack::RhelIfcfg, Stack::SuseIfcfg, Stack::Networkd, Stack::NetworkManager, Stack::Netplan];

    pub fn name(self) -> &'static str {
        match self {
            Stack::Ifupdown => "ifupdown",
            Stack::RhelIfcfg => "rhel-ifcfg",
            Stack::SuseIfcfg => "suse-ifcfg",
            Stack::Networkd => "networkd",
            Stack::NetworkManager => "networkmanager",
            Stack::Netplan => "netplan",
        }
    }

    pub fn from_name(name: &str) -> Option<Stack> {
        Stack::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which stack the image uses, and why (shown by `osconf plan`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    pub stack: Option<Stack>,
    pub reason: String,
}

/// Reads the image to find its network stack; `forced` (from osconf.conf) wins.
pub fn detect(root: &Root, forced: Option<&str>) -> Result<Detection, Error> {
    let _ = (root, forced);
    Ok(Detection { stack: None, reason: "network file rendering is not implemented yet".into() })
}

/// The files that make `stack` bring the NICs up as `settings` says. Every
/// returned file is owned by osconf. May read the root (e.g. to see existing files).
pub fn render(stack: Stack, settings: &Settings, root: &Root) -> Result<Vec<FileWrite>, Error> {
    let _ = (stack, settings, root);
    Ok(Vec::new())
}
