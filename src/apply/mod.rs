//! Carrying out a [`Plan`]: one module per effect, run in an order that keeps
//! the system consistent when a step fails (see `run`).

pub mod dns;
pub mod fault;
pub mod hostname;
pub mod network_files;
pub mod network_live;
pub mod password;
pub mod sha512_crypt;

use std::time::Duration;

use crate::error::Error;
use crate::files::{Mode, Root, WriteBatch};
use crate::plan::{unix_now, Plan, BACKUP_SUFFIX};
use crate::record::Record;
use crate::timing::Stopwatch;

/// What `run` may touch besides files under the root.
#[derive(Debug, Clone, Copy)]
pub struct Effects {
    /// Kernel effects: sethostname(2) and netlink.
    pub live: bool,
    pub nic_wait: Duration,
}

/// Applies the plan and returns the record it wrote. Order:
/// 1. live network first: it waits for every NIC, so a missing NIC fails
///    before any file is touched; then the live host name;
/// 2. backups, durable before any file they keep is replaced;
/// 3. every file write, the removals of files osconf owned and no longer
///    needs, and the record, in one [`WriteBatch`]: the record is renamed
///    last, once everything else is durable — it is what makes this drop
///    "applied".
///
/// The caller deletes the drop only after this returned Ok.
pub fn run(plan: &Plan, previous: Option<&Record>, root: &Root, effects: Effects) -> Result<Record, Error> {
    let mut stopwatch = Stopwatch::start();
    if effects.live {
        fault::step("live network")?;
        let before = previous.map(|r| r.nics.as_slice()).unwrap_or(&[]);
        network_live::apply(&plan.settings.nics, before, effects.nic_wait)?;
        if let Some(name) = &plan.settings.hostname {
            fault::step("live host name")?;
            hostname::set_live(name)?;
        }
        stopwatch.lap("netlink and host name");
    }
    let step = |path: &std::path::Path| fault::step(&path.display().to_string()).map_err(std::io::Error::other);
    let mut backups = WriteBatch::new();
    for path in &plan.backups {
        fault::step(path)?;
        let original = std::fs::read(root.path(path))?;
        backups.write(&root.path(format!("{path}{BACKUP_SUFFIX}")), &original, Mode::Exact(0o600))?;
    }
    backups.commit(step)?;
    for path in &plan.backups {
        log::info!("kept the original {path} as {path}{BACKUP_SUFFIX}");
    }
    let mut batch = WriteBatch::new();
    for write in &plan.writes {
        fault::step(&write.path)?;
        let mode = if write.exact_mode { Mode::Exact(write.mode) } else { Mode::KeepExisting(write.mode) };
        batch.write(&root.path(&write.path), &write.content, mode)?;
    }
    for path in &plan.removals {
        batch.remove(&root.path(path));
    }
    stopwatch.lap("writes");
    let record = Record { applied_at: unix_now(), ..plan.record.clone() };
    record.stage(root, &mut batch)?;
    stopwatch.lap("record");
    batch.commit(step)?;
    for write in &plan.writes {
        log::info!("wrote {}", write.path);
    }
    for path in &plan.removals {
        log::info!("removed {path} (no longer needed)");
    }
    Ok(record)
}
