//! `osconf plan`'s text: the plan in plain words.

use std::fmt;

use super::Plan;
use crate::state::{self, backup_path};

/// The plan in plain words. Never shows the password or the shadow file.
impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.already_applied { "applied already" } else { "new" };
        writeln!(f, "Settings from {} ({}, {state})", self.source, self.drop_id())?;
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
            write!(f, "  {} (MAC {}): {}", nic.label(), nic.mac, nic.ipv4_text())?;
            if let Some(gateway) = nic.gateway {
                write!(f, ", gateway {gateway}")?;
            }
            writeln!(f)?;
            for route in &nic.routes {
                writeln!(f, "      route {route}{}", if route.is_default() { " (default)" } else { "" })?;
            }
            if let Some(bond) = crate::settings::links::bond_of(&s.nics, nic) {
                writeln!(f, "      member of {}, no address of its own", bond.label())?;
            }
            for extra in nic.extras() {
                writeln!(f, "      {extra}")?;
            }
        }
        if let Some(keys) = &self.ssh_keys {
            match &keys.skipped {
                Some(why) => writeln!(f, "  SSH keys for root: {} asked for, not installed: {why}", keys.keys.len())?,
                None => writeln!(f, "  SSH keys for root: {} (osconf's block in {})", keys.keys.len(), keys.path)?,
            }
            for key in &keys.keys {
                writeln!(f, "      key {}", key.summary())?;
            }
        }
        for what in &self.restored {
            writeln!(f, "  {what}: back to the image's own (this drop no longer sets it)")?;
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
        if self.key.is_new() {
            writeln!(f, "  write {} (new random key for the record's digest of the drop)", state::KEY_PATH)?;
        }
        for path in &self.backups {
            writeln!(f, "  back up {path} to {}", backup_path(path))?;
        }
        for path in &self.originals {
            writeln!(f, "  keep the image's {path} as {}", backup_path(path))?;
        }
        if let Some(keys) = self.ssh_keys.as_ref().filter(|k| k.write.is_some()) {
            writeln!(f, "  make {} a 0700 directory", keys.dir)?;
        }
        for w in &self.writes {
            writeln!(f, "  write {}", w.path)?;
        }
        for path in &self.removals {
            writeln!(f, "  remove {path} (written by osconf before, no longer needed)")?;
        }
        for path in &self.disables {
            writeln!(f, "  remove {path} (the image's own definition of a NIC osconf configures)")?;
        }
        writeln!(f, "  write {}", crate::state::record_path(&self.record.from))
    }
}
