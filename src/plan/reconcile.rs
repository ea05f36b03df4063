//! Reconciling the new settings with what osconf set before (the record):
//! which settings keep their last value, what goes back to the image's own,
//! which of the image's files are kept (originals, backups) before osconf
//! replaces them, and which of osconf's files are no longer needed.

use std::collections::BTreeSet;

use super::dns::DnsMode;
use super::{dns, hostname, originals, Origin};
use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::record::Record;
use crate::settings::Settings;
use crate::state::backup_path;

/// A metadata item missing or unreadable this time (warned) leaves its
/// setting as osconf set it last; a drop without a key gives it back to the
/// image instead.
pub fn keep_unread(mut settings: Settings, origin: &Origin, previous: Option<&Record>) -> Settings {
    if let (true, Some(previous)) = (origin.typed, previous) {
        if settings.hostname.is_none() {
            // Valid: Record::read_kind checks the record's host name with the
            // drop's validator (a damaged record counts as absent).
            settings.hostname = previous.hostname.clone();
        }
        if settings.nameservers.is_empty() {
            settings.nameservers = previous.nameservers.clone();
        }
    }
    settings
}

/// Settings in which no NIC carries a default route would take away the
/// instance's: every stack's files take a NIC over from the image's own
/// configuration (a DHCP stanza commented out, an earlier `.network` file,
/// a replaced ifcfg), and osconf would remove a default route it set before.
/// A NIC that takes IPv4 by DHCP counts as carrying one (its server's).
/// Such settings (also settings without any NIC, when osconf set a default
/// route before) leave the network as it is — the NICs osconf set before
/// (the record), or none (the image's own configuration) — with a warning;
/// host name, name servers and password still apply.
pub fn keep_the_default_route(mut settings: Settings, previous: Option<&Record>) -> Settings {
    let kept = previous.map(|r| r.nics.clone()).unwrap_or_default();
    // No NICs at all only takes something away when osconf set a default route before.
    let had_default = kept.iter().any(|n| n.default_route().is_some());
    // A DHCP NIC gets the default route its DHCP server gives.
    if settings.nics.iter().any(|n| n.default_route().is_some() || n.dhcp4)
        || (settings.nics.is_empty() && !had_default)
    {
        return settings;
    }
    let labels: Vec<String> = settings.nics.iter().map(|n| format!("{} ({})", n.label(), n.mac)).collect();
    let labels = if labels.is_empty() { vec!["no NIC".to_string()] } else { labels };
    let now = if kept.is_empty() { "as the image configures it" } else { "as osconf set it before" };
    log::warn!("no NIC carries a default route in these settings ({}): the network is left {now}, so that a working default route is not taken away", labels.join(", "));
    settings.nics = kept;
    settings
}

/// What goes back to the image's own because these settings no longer set
/// it (network files: through the removals of osconf's own files).
pub struct Restores {
    pub writes: Vec<FileWrite>,
    /// The settings given back, in words (for `osconf plan`).
    pub restored: Vec<&'static str>,
    /// The image's own host name, for the kernel.
    pub hostname: Option<String>,
}

pub fn restores(settings: &Settings, previous: &Record, root: &Root, dns_mode: DnsMode) -> Result<Restores, Error> {
    let mut restores = Restores { writes: Vec::new(), restored: Vec::new(), hostname: None };
    if settings.hostname.is_none() && previous.hostname.is_some() {
        let (files, name) = hostname::restore(root)?;
        restores.writes.extend(files);
        restores.hostname = name;
        restores.restored.push("host name");
    }
    if settings.nameservers.is_empty() && !previous.nameservers.is_empty() {
        restores.writes.extend(dns::restore(root, dns_mode)?);
        restores.restored.push("name servers");
    }
    Ok(restores)
}

/// The files whose image original is kept before osconf first sets the
/// value they hold (the host name's files osconf writes, the resolver file
/// it edits).
pub fn originals(
    settings: &Settings,
    previous: &Record,
    writes: &[FileWrite],
    root: &Root,
    dns_mode: DnsMode,
) -> Vec<String> {
    let mut kept: Vec<String> = Vec::new();
    if settings.hostname.is_some() {
        kept.extend(
            hostname::KEPT_ORIGINALS.iter().filter(|p| writes.iter().any(|w| w.path == **p)).map(|p| p.to_string()),
        );
        kept.retain(|p| originals::needs_keeping(root, p, previous.hostname.is_some()));
    }
    if let (false, Some(path)) = (settings.nameservers.is_empty(), dns_mode.edited_path()) {
        if originals::needs_keeping(root, path, !previous.nameservers.is_empty()) {
            kept.push(path.to_owned());
        }
    }
    kept
}

/// The image's files osconf replaces (`owned` it did not own before,
/// `edited`) or disables, to be kept beside the image first (once: a later
/// run must not back up osconf's own edit). `disables` loses the files
/// osconf owned: those are removed as its own, never backed up as the image's.
pub fn backups(
    writes: &[FileWrite],
    owned: &[String],
    edited: &[String],
    disables: &mut Vec<String>,
    previous: &Record,
    root: &Root,
) -> Vec<String> {
    let previously_owned: BTreeSet<&String> = previous.owned_files.iter().collect();
    let mut backups: Vec<String> = writes
        .iter()
        .filter(|w| {
            let foreign = (owned.contains(&w.path) && !previously_owned.contains(&w.path)) || edited.contains(&w.path);
            foreign && !root.exists(&backup_path(&w.path))
        })
        .filter(|w| root.is_file(&w.path) && root.read_bytes(&w.path).ok().flatten().as_deref() != Some(&w.content[..]))
        .map(|w| w.path.clone())
        .collect();
    backups.extend(disables.iter().filter(|p| !previously_owned.contains(p) && !root.exists(&backup_path(p))).cloned());
    disables.retain(|p| !previously_owned.contains(p));
    backups
}

/// Files osconf owned that the new settings no longer need.
pub fn removals(previous: &Record, owned: &[String]) -> Vec<String> {
    previous.owned_files.iter().filter(|p| !owned.contains(p)).cloned().collect()
}
