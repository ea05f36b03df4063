//! The difference between what the settings want and what osconf did last:
//! every file's new content, every kernel change, every file to remove, all
//! computed before the first write. `osconf plan` prints it; `apply` runs it.

use std::collections::BTreeSet;
use std::fmt;

use crate::apply::dns::DnsMode;
use crate::apply::network_files::{self, Detection};
use crate::apply::network_live::{self, LiveChange};
use crate::apply::{hostname, password};
use crate::config::Config;
use crate::error::Error;
use crate::files::{FileWrite, Root};
use crate::record::Record;
use crate::settings::Settings;

/// Suffix of the copy kept of a file osconf replaces but did not write itself.
pub const BACKUP_SUFFIX: &str = ".osconf-orig";

#[derive(Debug)]
pub struct Plan {
    /// Where the drop came from, and its SHA-256.
    pub source: String,
    pub drop_sha256: String,
    /// The same drop was applied before: nothing is to be done.
    pub already_applied: bool,
    pub settings: Settings,
    pub network: Detection,
    pub dns_mode: DnsMode,
    pub writes: Vec<FileWrite>,
    /// Files osconf does not own that it will overwrite: copied first to `path + BACKUP_SUFFIX`.
    pub backups: Vec<String>,
    /// Files osconf owned that the new settings no longer need.
    pub removals: Vec<String>,
    pub live: Vec<LiveChange>,
    /// The record to write once everything succeeded (`applied_at` set then).
    pub record: Record,
}

impl Plan {
    pub fn build(settings: Settings, source: String, content: &[u8], previous: Option<&Record>, root: &Root, config: &Config) -> Result<Plan, Error> {
        let settings = keep_the_default_route(settings, previous);
        let drop_sha256 = sha256_hex(content);
        let already_applied = previous.is_some_and(|r| r.drop_sha256 == drop_sha256);
        let network = network_files::detect(root, config.network_stack.as_deref())?;
        let dns_mode = DnsMode::detect(root);
        let empty = Record::default();
        let previous = previous.unwrap_or(&empty);

        let mut writes = Vec::new();
        let mut owned = Vec::new();
        if let Some(password) = &settings.password {
            writes.push(password::render(root, password, days_since_epoch())?);
        }
        if let Some(name) = &settings.hostname {
            writes.extend(hostname::render(root, name, settings.primary_address())?);
        }
        if !settings.nameservers.is_empty() {
            writes.push(crate::apply::dns::render(root, dns_mode, &settings.nameservers)?);
            owned.extend(dns_mode.owned_path().map(str::to_owned));
        }
        let mut edited = Vec::new();
        if let (Some(stack), false) = (network.stack, settings.nics.is_empty()) {
            let rendered = network_files::render(stack, &settings, root)?;
            owned.extend(rendered.owned.iter().map(|f| f.path.clone()));
            edited.extend(rendered.edited.iter().map(|f| f.path.clone()));
            writes.extend(rendered.owned);
            writes.extend(rendered.edited);
        }

        // Files osconf owns get exactly the mode it chose (an image or a
        // person may have changed it; NetworkManager ignores readable keyfiles).
        for write in writes.iter_mut().filter(|w| owned.contains(&w.path)) {
            write.exact_mode = true;
        }

        // A file osconf is about to replace but did not write itself keeps its
        // original beside it (once: a later run must not back up our own edit).
        let previously_owned: BTreeSet<&String> = previous.owned_files.iter().collect();
        let backups = writes
            .iter()
            .filter(|w| {
                let foreign = (owned.contains(&w.path) && !previously_owned.contains(&w.path)) || edited.contains(&w.path);
                foreign && !root.exists(&format!("{}{BACKUP_SUFFIX}", w.path))
            })
            .filter(|w| root.path(&w.path).is_file() && std::fs::read(root.path(&w.path)).ok().as_deref() != Some(&w.content[..]))
            .map(|w| w.path.clone())
            .collect();
        let removals = previous.owned_files.iter().filter(|p| !owned.contains(p)).cloned().collect();
        let live = network_live::changes(&settings.nics, &previous.nics);

        owned.sort();
        let record = Record {
            version: Record::VERSION,
            applied_at: 0,
            source: source.clone(),
            drop_sha256: drop_sha256.clone(),
            hostname: settings.hostname.clone(),
            password_set: settings.password.is_some(),
            nameservers: settings.nameservers.clone(),
            nics: settings.nics.clone(),
            network_stack: network.stack.map(|s| s.name().to_owned()),
            owned_files: owned,
            ..Record::default()
        };
        Ok(Plan { source, drop_sha256, already_applied, settings, network, dns_mode, writes, backups, removals, live, record })
    }
}

impl Plan {
    /// Apply-once is judged per kind of source, against that source's own
    /// record (`previous` above is what osconf set last, from any source).
    pub fn judge_applied(&mut self, own: Option<&Record>) {
        self.already_applied = own.is_some_and(|r| r.drop_sha256 == self.drop_sha256);
    }
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

/// The plan in plain words. Never shows the password or the shadow file.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Settings from {} (sha256 {})", self.source, self.drop_sha256)?;
        if self.already_applied {
            return writeln!(f, "This drop was applied already: nothing to do.");
        }
        let s = &self.settings;
        if s.password.is_some() {
            writeln!(f, "  root password: set (SHA-512 crypt in /etc/shadow; not shown)")?;
        }
        if let Some(name) = &s.hostname {
            writeln!(f, "  host name: {name}")?;
        }
        if !s.nameservers.is_empty() {
            let list: Vec<String> = s.nameservers.iter().map(|a| a.to_string()).collect();
            writeln!(f, "  name servers: {} (through {})", list.join(" "), self.dns_mode.describe())?;
        }
        for nic in &s.nics {
            write!(f, "  {} (MAC {}): {}/{}", nic.label(), nic.mac, nic.address, nic.prefix)?;
            if let Some(gateway) = nic.gateway {
                write!(f, ", gateway {gateway}")?;
            }
            writeln!(f)?;
            for route in &nic.routes {
                writeln!(f, "      route {route}{}", if route.is_default() { " (default)" } else { "" })?;
            }
        }
        match self.network.stack {
            Some(stack) => writeln!(f, "Network stack: {stack} ({})", self.network.reason)?,
            None => writeln!(f, "Network stack: none, no persistent network files ({})", self.network.reason)?,
        }
        if !self.live.is_empty() {
            writeln!(f, "Kernel changes (live):")?;
            for change in &self.live {
                writeln!(f, "  {change}")?;
            }
        }
        writeln!(f, "Files:")?;
        for path in &self.backups {
            writeln!(f, "  back up {path} to {path}{BACKUP_SUFFIX}")?;
        }
        for w in &self.writes {
            writeln!(f, "  write {}", w.path)?;
        }
        for path in &self.removals {
            writeln!(f, "  remove {path} (written by osconf before, no longer needed)")?;
        }
        writeln!(f, "  write {}", self.record.kind.path())
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn days_since_epoch() -> u64 {
    unix_now() / 86_400
}
