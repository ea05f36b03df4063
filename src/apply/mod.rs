//! Carrying out a [`Plan`]: one module per effect, run in an order that keeps
//! the system consistent when a step fails (see `run`).

pub mod dns;
pub mod fault;
pub mod hostname;
pub mod network_files;
pub mod network_live;
pub mod originals;
pub mod password;
pub mod pwd_lock;
pub mod sha512_crypt;
pub mod shell_vars;
pub mod ssh_keys;

use std::time::Duration;

use crate::error::Error;
use crate::files::{remove_durably, write_atomic, Mode, Root};
use crate::plan::{unix_now, Plan, BACKUP_SUFFIX};
use crate::record::Record;

/// What `run` may touch besides files under the root.
#[derive(Debug, Clone, Copy)]
pub struct Effects {
    /// Kernel effects: sethostname(2) and netlink.
    pub live: bool,
    pub nic_wait: Duration,
}

/// Applies the plan and returns the record it wrote. Order:
/// 1. live network first: it waits for every NIC, so a missing NIC fails
///    before any file is touched;
/// 2. backups, root's `~/.ssh` directory, then every file write (each atomic), then removals of files
///    osconf owned and no longer needs;
/// 3. the live host name;
/// 4. the record, last: it is what makes this drop "applied".
///
/// The caller deletes the drop only after this returned Ok.
pub fn run(plan: &Plan, previous: Option<&Record>, root: &Root, effects: Effects) -> Result<Record, Error> {
    if effects.live {
        fault::step("live network")?;
        let before = previous.map(|r| r.nics.as_slice()).unwrap_or(&[]);
        network_live::apply(&plan.settings.nics, before, effects.nic_wait)?;
    }
    for path in &plan.backups {
        fault::step(path)?;
        let original = std::fs::read(root.path(path))?;
        write_atomic(&root.path(format!("{path}{BACKUP_SUFFIX}")), &original, Mode::Exact(0o600))?;
        log::info!("kept the original {path} as {path}{BACKUP_SUFFIX}");
    }
    for path in &plan.originals {
        fault::step(path)?;
        let original = std::fs::read(root.path(path))?;
        write_atomic(&root.path(originals::path_of(path)), &original, Mode::Exact(0o600))?;
        log::info!("kept the image's {path} as {}", originals::path_of(path));
    }
    if let Some(keys) = plan.ssh_keys.as_ref().filter(|k| k.write.is_some()) {
        fault::step(&keys.dir)?;
        ssh_keys::prepare_dir(root, keys)?;
    }
    for write in &plan.writes {
        fault::step(&write.path)?;
        let mode = if write.exact_mode { Mode::Exact(write.mode) } else { Mode::KeepExisting(write.mode) };
        if write.path == password::SHADOW {
            // Read-modify-write under the password-file lock, as every other writer of shadow does.
            let _pwd_lock = pwd_lock::acquire(root)?;
            let current = root.read_optional(password::SHADOW)?.unwrap_or_default();
            write_atomic(&root.path(&write.path), &password::rebase(&current, &write.content)?, mode)?;
        } else {
            write_atomic(&root.path(&write.path), &write.content, mode)?;
        }
        log::info!("wrote {}", write.path);
    }
    for path in &plan.removals {
        fault::step(path)?;
        remove_durably(&root.path(path))?;
        log::info!("removed {path} (no longer needed)");
    }
    if effects.live {
        if let Some(name) = plan.settings.hostname.as_ref().or(plan.restored_hostname.as_ref()) {
            fault::step("live host name")?;
            hostname::set_live(name)?;
        }
    }
    fault::step("record")?;
    plan.key.save_if_new(root)?;
    let record = Record { applied_at: unix_now(), ..plan.record.clone() };
    record.save(root)?;
    Ok(record)
}
