//! The difference between what the settings want and what osconf did last:
//! every file's new content, every kernel change, every file to remove, all
//! computed before the first write. `osconf plan` prints it (`display.rs`);
//! `apply` runs it. One module per setting renders its files (password,
//! host name, DNS, SSH keys, and each network stack under [`network`]);
//! [`reconcile`] weighs the settings against the record, [`once`] decides
//! whether they were applied already. Nothing here writes, and nothing here imports `apply` (tests/layers.rs).

mod display;
pub mod dns;
pub mod hostname;
pub mod network;
pub mod once;
pub mod originals;
pub mod password;
pub mod reconcile;
pub mod shell_vars;
pub mod ssh_keys;

use crate::config::Config;
use crate::drop_key::DropKey;
use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::record::Record;
use crate::settings::{Password, Settings};
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
    /// first to [`crate::state::backup_path`] (once: the first original is the one kept).
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

/// The source a plan is for: what it is called, the bytes that mark its
/// settings applied, and its own record (see [`once`]).
#[derive(Debug, Clone)]
pub struct Origin<'a> {
    /// Where the settings came from, in words (for logs, plan and the record).
    pub description: String,
    /// The bytes whose keyed digest marks these settings applied.
    pub content: &'a [u8],
    /// The registered source whose record marks them applied.
    pub source: &'static str,
    /// Settings a typed source built from items (the metadata): an item
    /// missing this time keeps its last value ([`reconcile::keep_unread`]).
    pub typed: bool,
    /// The instance the settings are for, when the source says.
    pub instance_id: Option<String>,
    /// This source's own record ([`once::own_record`]): apply-once is judged against it.
    pub own_record: Option<&'a Record>,
}

impl<'a> Origin<'a> {
    /// An os.conf drop whose own record is `own_record`.
    pub fn drop(description: &str, content: &'a [u8], own_record: Option<&'a Record>) -> Origin<'a> {
        Origin {
            description: description.to_owned(),
            content,
            source: crate::sources::alibaba_drop::KIND.source,
            typed: false,
            instance_id: None,
            own_record,
        }
    }
}

impl Plan {
    /// The plan of `settings` from `origin`, against what osconf set last
    /// (`previous`, from any source), in named steps.
    pub fn build(
        settings: Settings,
        origin: &Origin,
        previous: Option<&Record>,
        root: &Root,
        config: &Config,
    ) -> Result<Plan, Error> {
        let settings = reconcile::keep_unread(settings, origin, previous);
        let mut settings = reconcile::keep_the_default_route(settings, previous);
        let key = DropKey::load_or_new(root)?;
        let drop_hmac = key.digest(origin.content);
        let already_applied = once::applied_before(origin.own_record, &key, origin.content);
        let migrated_record = once::migrated(origin.own_record, already_applied, &drop_hmac, origin.source);
        let network = network::detect(root, config.network_stack.as_deref())?;
        let dns_mode = DnsMode::detect(root);
        let empty = Record::default();
        let previous = previous.unwrap_or(&empty);

        let (mut writes, mut owned) = render_values(&mut settings, root, dns_mode)?;
        let restores = reconcile::restores(&settings, previous, root, dns_mode)?;
        writes.extend(restores.writes);
        let originals = reconcile::originals(&settings, previous, &writes, root, dns_mode);
        let ssh_keys = settings.ssh_keys.as_ref().map(|keys| ssh_keys::render(root, keys));
        writes.extend(ssh_keys.as_ref().and_then(|k| k.write.clone()));
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
        exact_modes_for_owned(&mut writes, &owned);
        let backups = reconcile::backups(&writes, &owned, &edited, &mut disables, previous, root);
        let removals = reconcile::removals(previous, &owned);
        let live = network::live::changes(&settings.nics, &previous.nics);
        owned.sort();
        let record = record_of(&settings, origin, previous, drop_hmac, &network, owned, ssh_keys.as_ref());
        Ok(Plan {
            source: origin.description.clone(),
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
            restored: restores.restored,
            restored_hostname: restores.hostname,
            live,
            ssh_keys,
            record,
        })
    }
}

/// The files the password, host name and name servers render to, and those
/// osconf owns among them. The password is hashed here: the settings keep
/// the hash only.
fn render_values(
    settings: &mut Settings,
    root: &Root,
    dns_mode: DnsMode,
) -> Result<(Vec<FileWrite>, Vec<String>), Error> {
    let mut writes = Vec::new();
    let mut owned = Vec::new();
    if let Some(given) = settings.password.take() {
        let hash = password::hash_of(&given)?;
        writes.push(password::render(root, &hash, days_since_epoch())?);
        // The plan keeps the hash only: the plain text is wiped here, once hashed.
        settings.password = Some(Password::Hash(hash));
    }
    if let Some(name) = &settings.hostname {
        writes.extend(hostname::render_with_fqdn(root, name, settings.fqdn.as_deref(), settings.primary_address())?);
    }
    if !settings.nameservers.is_empty() {
        writes.push(dns::render(root, dns_mode, &settings.nameservers)?);
        owned.extend(dns_mode.owned_path().map(str::to_owned));
    }
    Ok((writes, owned))
}

/// Files osconf owns get exactly the mode it chose (an image or a person
/// may have changed it; NetworkManager ignores readable keyfiles).
fn exact_modes_for_owned(writes: &mut [FileWrite], owned: &[String]) {
    for write in writes.iter_mut().filter(|w| owned.contains(&w.path)) {
        write.exact_mode = true;
    }
}

/// The record to write once everything succeeded (`applied_at` set then).
fn record_of(
    settings: &Settings,
    origin: &Origin,
    previous: &Record,
    drop_hmac: String,
    network: &Detection,
    owned_files: Vec<String>,
    ssh_keys: Option<&KeysPlan>,
) -> Record {
    Record {
        version: Record::VERSION,
        applied_at: 0,
        from: origin.source.to_owned(),
        source: origin.description.clone(),
        instance_id: origin.instance_id.clone(),
        sequence: previous.sequence.saturating_add(1),
        drop_hmac,
        legacy_drop_sha256: None,
        hostname: settings.hostname.clone(),
        password_set: settings.password.is_some(),
        nameservers: settings.nameservers.clone(),
        nics: settings.nics.clone(),
        network_stack: network.stack.map(|s| s.name().to_owned()),
        owned_files,
        // Keys a source does not speak for stay installed (and listed).
        ssh_keys: match ssh_keys {
            Some(k) if k.installs() => k.keys.clone(),
            _ => previous.ssh_keys.clone(),
        },
    }
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
