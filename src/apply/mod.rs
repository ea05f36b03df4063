//! Carrying out a [`Plan`]: one module per effect, run in an order that keeps
//! the system consistent when a step fails (see `run`). Nothing is decided
//! here: every file's content was computed by [`crate::plan`].

pub mod fault;
pub mod hostname;
pub mod network_live;
pub mod password;
pub mod pwd_lock;
pub mod ssh_keys;
pub mod take_effect;

use std::time::Duration;

use crate::error::Error;
use crate::files::{Mode, Root, WriteBatch};
use crate::plan::password::SHADOW;
use crate::plan::Plan;
use crate::record::Record;
use crate::state::backup_path;
use crate::timing::{unix_now, Stopwatch};

/// What `run` may touch besides files under the root.
#[derive(Debug, Clone, Copy)]
pub struct Effects {
    /// Kernel effects: sethostname(2) and netlink.
    pub live: bool,
    pub nic_wait: Duration,
}

/// Applies the plan and returns the record it wrote. Order:
/// 1. live network first (a NIC that is not there is skipped: its files,
///    keyed by its MAC, configure it when it appears); then the live host name;
/// 2. backups (of files osconf replaces or disables) and the image's
///    originals, under /var/lib/osconf, durable before any file they keep
///    is replaced; root's `~/.ssh` directory;
/// 3. every file write, the removals of files osconf owned and no longer
///    needs, and the record, in one [`WriteBatch`]: the record is renamed
///    last, once everything else is durable — it is what makes this drop
///    "applied". The image's own conflicting definitions are removed in the
///    same batch (backed up in step 2);
/// 4. the stack made to read the new files in this boot, as its
///    `take_effect` says (netplan: its generator ran before any unit).
///
/// Each step is a function below (`live`, `keep_originals`, `write_batch`,
/// then `take_effect::now`).
///
/// The caller deletes the drop only after this returned Ok.
pub fn run(plan: &Plan, previous: Option<&Record>, root: &Root, effects: Effects) -> Result<Record, Error> {
    let mut stopwatch = Stopwatch::start();
    if effects.live {
        live(plan, previous, effects)?;
        stopwatch.lap("netlink and host name");
    }
    keep_originals(plan, root)?;
    let record = write_batch(plan, root, &mut stopwatch)?;
    if let (true, Some(stack)) = (effects.live, plan.network.stack) {
        take_effect::now(&stack.take_effect, root);
        stopwatch.lap("take effect");
    }
    Ok(record)
}

/// Step 1: the live network, then the live host name.
fn live(plan: &Plan, previous: Option<&Record>, effects: Effects) -> Result<(), Error> {
    fault::step("live network")?;
    let before = previous.map(|r| r.nics.as_slice()).unwrap_or(&[]);
    let configure = plan.network.stack.map_or(network_live::Configure::Now, |stack| stack.live);
    network_live::apply(&plan.settings.nics, before, effects.nic_wait, configure)?;
    if let Some(name) = plan.settings.hostname.as_ref().or(plan.restored_hostname.as_ref()) {
        fault::step("live host name")?;
        hostname::set_live(name)?;
    }
    Ok(())
}

/// A batch's failure injection at each file (debug builds).
fn batch_step(path: &std::path::Path) -> std::io::Result<()> {
    fault::step(&path.display().to_string()).map_err(std::io::Error::other)
}

/// Step 2: the backups and the image's originals, durable before any file
/// they keep is replaced; root's `~/.ssh` directory.
fn keep_originals(plan: &Plan, root: &Root) -> Result<(), Error> {
    let mut kept = WriteBatch::new();
    for path in plan.backups.iter().chain(&plan.originals) {
        fault::step(path)?;
        let original = read_existing(root, path)?;
        kept.write(root, &backup_path(path), &original, Mode::Exact(0o600))?;
    }
    kept.commit(batch_step)?;
    for path in &plan.backups {
        log::info!("kept the original {path} as {}", backup_path(path));
    }
    for path in &plan.originals {
        log::info!("kept the image's {path} as {}", backup_path(path));
    }
    if let Some(keys) = plan.ssh_keys.as_ref().filter(|k| k.write.is_some()) {
        fault::step(&keys.dir)?;
        ssh_keys::prepare_dir(root, keys)?;
    }
    Ok(())
}

/// Step 3: every write, removal and disable, and the record renamed last,
/// in one batch. Returns the record written.
fn write_batch(plan: &Plan, root: &Root, stopwatch: &mut Stopwatch) -> Result<Record, Error> {
    let mut batch = WriteBatch::new();
    let mut pwd_lock = None;
    for write in &plan.writes {
        fault::step(&write.path)?;
        let mode = if write.exact_mode { Mode::Exact(write.mode) } else { Mode::KeepExisting(write.mode) };
        if write.path == SHADOW {
            // Read-modify-write under the password-file lock, as every other
            // writer of shadow does; the lock is held until the rename.
            pwd_lock = Some(pwd_lock::acquire(root)?);
            let current = root.read_optional(SHADOW)?.unwrap_or_default();
            batch.write(root, &write.path, &password::rebase(&current, &write.content)?, mode)?;
        } else {
            batch.write(root, &write.path, &write.content, mode)?;
        }
    }
    for path in plan.removals.iter().chain(&plan.disables) {
        batch.remove(root, path)?;
    }
    stopwatch.lap("writes");
    fault::step("record")?;
    plan.key.stage_if_new(root, &mut batch)?;
    let record = Record { applied_at: unix_now(), ..plan.record.clone() };
    record.stage(root, &mut batch)?;
    stopwatch.lap("record");
    batch.commit(batch_step)?;
    drop(pwd_lock);
    stopwatch.lap("commit (syncs, renames)");
    for write in &plan.writes {
        log::info!("wrote {}", write.path);
    }
    for path in &plan.removals {
        log::info!("removed {path} (no longer needed)");
    }
    for path in &plan.disables {
        log::info!(
            "removed {path}: the image's own definition of a NIC osconf configures (kept as {})",
            backup_path(path)
        );
    }
    Ok(record)
}

/// A file the plan found, read to be kept: one gone since is an error.
fn read_existing(root: &Root, path: &str) -> std::io::Result<Vec<u8>> {
    root.read_bytes(path)?.ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, format!("{path} disappeared before it was kept"))
    })
}
