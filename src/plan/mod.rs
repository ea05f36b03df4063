//! The difference between what the settings want and what osconf did last:
//! every file's new content, every kernel change, every file to remove, all
//! computed before the first write. `osconf plan` prints it (`display.rs`);
//! `apply` runs it. One module per setting renders its files (password,
//! host name, DNS, SSH keys, and each network stack under [`network`]);
//! nothing here writes, and nothing here imports `apply` (tests/layers.rs).

mod display;
pub mod dns;
pub mod hostname;
pub mod network;
pub mod originals;
pub mod password;
pub mod shell_vars;
pub mod ssh_keys;

use std::collections::BTreeSet;

use crate::config::Config;
use crate::drop_key::DropKey;
use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::record::Record;
use crate::settings::{Password, Settings};
use crate::state::backup_path;
use crate::timing::unix_now;
use dns::DnsMode;
use network::live::LiveChange;
use network::Detection;
use ssh_keys::KeysPlan;

#[derive(Debug)]
pub struct Plan {
    /// Where the drop came from.
    pub source: String,
    /// The host's key for the record's digest of the drop (new: saved with the record).
    pub key: DropKey,
    /// The same drop was applied before: nothing is to be done.
    pub already_applied: bool,
    /// When already applied from a version-1 record: that record with its
    /// plain hash replaced by the keyed digest, to be saved.
    pub migrated_record: Option<Record>,
    pub settings: Settings,
    pub network: Detection,
    pub dns_mode: DnsMode,
    pub writes: Vec<FileWrite>,
    /// Files osconf does not own that it will overwrite or disable: copied
    /// first to [`backup_path`] (once: the first original is the one kept).
    pub backups: Vec<String>,
    /// Files osconf owned that the new settings no longer need.
    pub removals: Vec<String>,
    /// The image's own files that configure a NIC of the drop in a way the
    /// stack would apply instead of (or besides) osconf's: backed up, then removed.
    pub disables: Vec<String>,
    /// Files whose image original is kept (under [`crate::state::BACKUP_DIR`]) before
    /// osconf first sets the value they hold.
    pub originals: Vec<String>,
    /// What goes back to the image's own because this drop no longer sets it.
    pub restored: Vec<&'static str>,
    /// The image's own host name, for the kernel, when it is restored.
    pub restored_hostname: Option<String>,
    pub live: Vec<LiveChange>,
    /// root's `authorized_keys`, when the settings speak for SSH keys
    /// (its write, if any, is among `writes`).
    pub ssh_keys: Option<KeysPlan>,
    /// The record to write once everything succeeded (`applied_at` set then).
    pub record: Record,
}

impl Plan {
    pub fn build(
        settings: Settings,
        source: String,
        content: &[u8],
        previous: Option<&Record>,
        root: &Root,
        config: &Config,
    ) -> Result<Plan, Error> {
        let mut settings = keep_the_default_route(settings, previous);
        let key = DropKey::load_or_new(root)?;
        let drop_hmac = key.digest(content);
        let already_applied = applied_before(previous, &key, content);
        let migrated_record = migrated(previous, already_applied, &drop_hmac);
        let network = network::detect(root, config.network_stack.as_deref())?;
        let dns_mode = DnsMode::detect(root);
        let empty = Record::default();
        let previous = previous.unwrap_or(&empty);

        let mut writes = Vec::new();
        let mut owned = Vec::new();
        if let Some(given) = settings.password.take() {
            let hash = password::hash_of(&given)?;
            writes.push(password::render(root, &hash, days_since_epoch())?);
            // The plan keeps the hash only: the plain text is wiped here, once hashed.
            settings.password = Some(Password::Hash(hash));
        }
        if let Some(name) = &settings.hostname {
            writes.extend(hostname::render(root, name, settings.primary_address())?);
        }
        if !settings.nameservers.is_empty() {
            writes.push(dns::render(root, dns_mode, &settings.nameservers)?);
            owned.extend(dns_mode.owned_path().map(str::to_owned));
        }
        // Reconcile: what osconf set before and this drop no longer sets goes
        // back to the image's own (network files: through owned_files below).
        let mut restored = Vec::new();
        let mut restored_hostname = None;
        if settings.hostname.is_none() && previous.hostname.is_some() {
            let (files, name) = hostname::restore(root)?;
            writes.extend(files);
            restored_hostname = name;
            restored.push("host name");
        }
        if settings.nameservers.is_empty() && !previous.nameservers.is_empty() {
            writes.extend(dns::restore(root, dns_mode)?);
            restored.push("name servers");
        }
        let mut originals: Vec<String> = Vec::new();
        if settings.hostname.is_some() {
            originals.extend(
                hostname::KEPT_ORIGINALS.iter().filter(|p| writes.iter().any(|w| w.path == **p)).map(|p| p.to_string()),
            );
            originals.retain(|p| originals::needs_keeping(root, p, previous.hostname.is_some()));
        }
        if let (false, Some(path)) = (settings.nameservers.is_empty(), dns_mode.edited_path()) {
            if originals::needs_keeping(root, path, !previous.nameservers.is_empty()) {
                originals.push(path.to_owned());
            }
        }
        let keys = settings.ssh_keys.as_ref().map(|keys| ssh_keys::render(root, keys));
        writes.extend(keys.as_ref().and_then(|k| k.write.clone()));
        let mut edited = Vec::new();
        let mut disables = Vec::new();
        if let (Some(stack), false) = (network.stack, settings.nics.is_empty()) {
            let rendered = network::render(stack, &settings, root, &previous.nics)?;
            owned.extend(rendered.owned.iter().map(|f| f.path.clone()));
            edited.extend(rendered.edited.iter().map(|f| f.path.clone()));
            writes.extend(rendered.owned);
            writes.extend(rendered.edited);
            disables = rendered.disabled;
        }

        // Files osconf owns get exactly the mode it chose (an image or a
        // person may have changed it; NetworkManager ignores readable keyfiles).
        for write in writes.iter_mut().filter(|w| owned.contains(&w.path)) {
            write.exact_mode = true;
        }

        // A file osconf is about to replace but did not write itself keeps its
        // original beside it (once: a later run must not back up our own edit).
        let previously_owned: BTreeSet<&String> = previous.owned_files.iter().collect();
        let mut backups: Vec<String> = writes
            .iter()
            .filter(|w| {
                let foreign =
                    (owned.contains(&w.path) && !previously_owned.contains(&w.path)) || edited.contains(&w.path);
                foreign && !root.exists(&backup_path(&w.path))
            })
            .filter(|w| {
                root.is_file(&w.path) && root.read_bytes(&w.path).ok().flatten().as_deref() != Some(&w.content[..])
            })
            .map(|w| w.path.clone())
            .collect();
        backups.extend(
            disables.iter().filter(|p| !previously_owned.contains(p) && !root.exists(&backup_path(p))).cloned(),
        );
        // A file osconf owned is removed as its own, never backed up as the image's.
        disables.retain(|p| !previously_owned.contains(p));
        let removals = previous.owned_files.iter().filter(|p| !owned.contains(p)).cloned().collect();
        let live = network::live::changes(&settings.nics, &previous.nics);

        owned.sort();
        let record = Record {
            version: Record::VERSION,
            applied_at: 0,
            source: source.clone(),
            sequence: previous.sequence.saturating_add(1),
            drop_hmac,
            legacy_drop_sha256: None,
            hostname: settings.hostname.clone(),
            password_set: settings.password.is_some(),
            nameservers: settings.nameservers.clone(),
            nics: settings.nics.clone(),
            network_stack: network.stack.map(|s| s.name().to_owned()),
            owned_files: owned,
            // Keys a source does not speak for stay installed (and listed).
            ssh_keys: match &keys {
                Some(k) if k.installs() => k.keys.clone(),
                _ => previous.ssh_keys.clone(),
            },
            ..Record::default()
        };
        Ok(Plan {
            source,
            key,
            already_applied,
            migrated_record,
            settings,
            network,
            dns_mode,
            writes,
            backups,
            removals,
            disables,
            originals,
            restored,
            restored_hostname,
            live,
            ssh_keys: keys,
            record,
        })
    }
}
/// Whether `previous` was written for the drop with these bytes (keyed
/// digest; see `drop_key`). Cheap: `osconf apply` asks it before the plan,
/// to wait for udev only when there is something to apply.
pub fn applied_before(previous: Option<&Record>, key: &DropKey, content: &[u8]) -> bool {
    previous.is_some_and(|r| r.is_for_drop(&key.digest(content), content))
}

impl Plan {
    /// Apply-once is judged per kind of source, against that source's own
    /// record (`previous` in `build` is what osconf set last, from any source).
    pub fn judge_applied(&mut self, own: Option<&Record>, content: &[u8]) {
        self.already_applied = applied_before(own, &self.key, content);
        self.migrated_record = migrated(own, self.already_applied, &self.record.drop_hmac);
    }
}

/// When applied already from a version-1 record: that record with its plain
/// hash replaced by the keyed digest, to be saved.
fn migrated(previous: Option<&Record>, already_applied: bool, drop_hmac: &str) -> Option<Record> {
    previous.filter(|r| already_applied && r.drop_hmac != drop_hmac).map(|r| Record {
        version: Record::VERSION,
        sequence: r.sequence.max(1),
        drop_hmac: drop_hmac.to_owned(),
        legacy_drop_sha256: None,
        ..r.clone()
    })
}

/// Settings in which no NIC carries a default route would take away the
/// instance's: every stack's files take a NIC over from the image's own
/// configuration (a DHCP stanza commented out, an earlier `.network` file,
/// a replaced ifcfg), and osconf would remove a default route it set before.
/// Such settings (also settings without any NIC, when osconf set a default
/// route before) leave the network as it is — the NICs osconf set before
/// (the record), or none (the image's own configuration) — with a warning;
/// host name, name servers and password still apply.
fn keep_the_default_route(mut settings: Settings, previous: Option<&Record>) -> Settings {
    let kept = previous.map(|r| r.nics.clone()).unwrap_or_default();
    // No NICs at all only takes something away when osconf set a default route before.
    let had_default = kept.iter().any(|n| n.default_route().is_some());
    if settings.nics.iter().any(|n| n.default_route().is_some()) || (settings.nics.is_empty() && !had_default) {
        return settings;
    }
    let labels: Vec<String> = settings.nics.iter().map(|n| format!("{} ({})", n.label(), n.mac)).collect();
    let labels = if labels.is_empty() { vec!["no NIC".to_string()] } else { labels };
    let now = if kept.is_empty() { "as the image configures it" } else { "as osconf set it before" };
    log::warn!("no NIC carries a default route in these settings ({}): the network is left {now}, so that a working default route is not taken away", labels.join(", "));
    settings.nics = kept;
    settings
}

impl Plan {
    /// The drop's display id: its apply sequence number, never a digest.
    pub fn drop_id(&self) -> String {
        // Already applied: the previous record's number (a version-1 record has none: #1).
        let number =
            if self.already_applied { self.record.sequence.saturating_sub(1).max(1) } else { self.record.sequence };
        format!("drop #{number}")
    }
}

fn days_since_epoch() -> u64 {
    unix_now() / 86_400
}
