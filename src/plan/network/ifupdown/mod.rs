//! ifupdown (Debian, Ubuntu before netplan, Alpine's ifupdown-ng): one
//! stanza per NIC ([`stanza`]). ENI names interfaces by kernel name, so the
//! MAC is resolved to a name first (see `NicNames`). Where the stanzas go
//! depends on the image's ifup ([`Layout`]): files in interfaces.d, which
//! `/etc/network/interfaces` sources ([`interfaces_file`]), or, for busybox,
//! a marked block of `/etc/network/interfaces` itself ([`busybox`]).
//!
//! A bond's stanza has `bond-slaves`, `bond-mode`, `bond-miimon` and
//! `bond-xmit-hash-policy`, each member's `bond-master`: the ifenslave
//! package's hooks create the bond; a VLAN's stanza has `vlan-raw-device`,
//! which the vlan package's hook reads. Without a hook the stanza is still
//! written (it works once the package is installed), with a warning.
//! busybox's ifup has no such hooks: there the bonds, their members and
//! the VLANs are left out, with a warning naming each; the rest applies.

pub mod busybox;
mod extra;
pub mod interfaces_file;
mod stanza;

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::links::bond_of;
use crate::settings::{Nic, Settings};

use super::detect::first_existing;
use super::{Configure, NicNames, Rendered, Stack, TakeEffect};
use interfaces_file::{without_conflicts, AddSource, INTERFACES};

/// After netplan, NetworkManager and networkd: their images often keep an
/// /etc/network/interfaces and even ifup.
pub static STACK: Stack = Stack {
    name: "ifupdown",
    precedence: 40,
    detect,
    render: |settings, names, root, _| render(settings, names, root),
    check,
    take_effect: TakeEffect::AtStart,
    live: Configure::Now,
    owns: |path| super::file_of_nic(path, "/etc/network/interfaces.d", "osconf-", ""),
};

fn detect(root: &Root) -> Option<String> {
    let ifup = first_existing(root, &["/sbin/ifup", "/usr/sbin/ifup"])?;
    root.exists(INTERFACES).then(|| format!("{ifup} and {INTERFACES} exist"))
}

fn check(root: &Root) -> String {
    match Layout::of(root) {
        Layout::MarkedBlock(_) => {
            format!("busybox's ifup cannot source interfaces.d: osconf writes a marked block in {INTERFACES}")
        }
        Layout::InterfacesD => "osconf writes /etc/network/interfaces.d/osconf-ethN".into(),
    }
}

/// Where osconf's stanzas go in this image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// One file per NIC in /etc/network/interfaces.d, sourced by /etc/network/interfaces.
    InterfacesD,
    /// One marked block of /etc/network/interfaces: this ifup cannot source a
    /// directory (the reason why).
    MarkedBlock(String),
}

impl Layout {
    pub fn of(root: &Root) -> Layout {
        busybox::detect(root).map_or(Layout::InterfacesD, Layout::MarkedBlock)
    }
}

fn render(settings: &Settings, names: &NicNames, root: &Root) -> Result<Rendered, Error> {
    let mut owned = Vec::new();
    let mut configured = Vec::new();
    let layout = Layout::of(root);
    for nic in &settings.nics {
        if !expressible(settings, nic, &layout, root) {
            continue;
        }
        let name = names.of(nic);
        let text = stanza::stanza(settings, names, nic, &name, layout == Layout::InterfacesD);
        owned.push(FileWrite::new(format!("/etc/network/interfaces.d/osconf-{}", nic.label()), text, 0o644));
        configured.push(name);
    }
    let current = interfaces_file::read(root)?;
    if let Layout::MarkedBlock(why) = layout {
        log::debug!("{why}: ifupdown without `source`, osconf's stanzas go in a block of {INTERFACES}");
        let edited = busybox::render(&current, &owned, &configured).into_iter().collect();
        return Ok(Rendered { owned: Vec::new(), edited, disabled: Vec::new() });
    }
    let fixed = without_conflicts(&current, &configured, AddSource::Yes);
    let edited = if fixed != current { vec![FileWrite::new(INTERFACES, fixed, 0o644)] } else { Vec::new() };
    Ok(Rendered { owned, edited, disabled: Vec::new() })
}

/// Whether this ifupdown can bring `nic` up: busybox's has no hook for a
/// bond (nor its members) or a VLAN; elsewhere a missing hook is a warning
/// and the stanza is written anyway.
fn expressible(settings: &Settings, nic: &Nic, layout: &Layout, root: &Root) -> bool {
    let bond = nic.bond().is_some() || bond_of(&settings.nics, nic).is_some();
    let what = match (bond, nic.vlan().is_some()) {
        (true, _) => "a bond",
        (false, true) => "a VLAN",
        (false, false) => return true,
    };
    if let Layout::MarkedBlock(why) = layout {
        let device = match bond_of(&settings.nics, nic) {
            Some(bond) => format!("{}, a member of {},", nic.label(), bond.label()),
            None => nic.label(),
        };
        log::warn!("ifupdown: {why}: busybox's ifup cannot create {what}: {device} is left out");
        return false;
    }
    let (hook, package) = if bond { (IFENSLAVE, "ifenslave") } else { (VLAN_HOOK, "vlan") };
    if nic.kind.is_some() && !root.exists(hook) {
        log::warn!("ifupdown: {hook} is missing: ifup cannot create {what} without the {package} package; {} is written for when it is installed", nic.label());
    }
    true
}

const IFENSLAVE: &str = "/etc/network/if-pre-up.d/ifenslave";
const VLAN_HOOK: &str = "/etc/network/if-pre-up.d/vlan";
