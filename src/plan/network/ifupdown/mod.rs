//! ifupdown (Debian, Ubuntu before netplan, Alpine's ifupdown-ng): one
//! stanza per NIC ([`stanza`]). ENI names interfaces by kernel name, so the
//! MAC is resolved to a name first (see `NicNames`). Where the stanzas go
//! depends on the image's ifup ([`Layout`]): files in interfaces.d, which
//! `/etc/network/interfaces` sources ([`interfaces_file`]), or, for busybox,
//! a marked block of `/etc/network/interfaces` itself ([`busybox`]).

pub mod busybox;
mod extra;
pub mod interfaces_file;
mod stanza;

use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::settings::Settings;

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
        let name = names.of(nic);
        let text = stanza::stanza(settings, nic, &name, layout == Layout::InterfacesD);
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
