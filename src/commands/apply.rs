//! `osconf apply`: finds the settings, waits for udev when there is
//! something to apply, builds the plan, runs it, then consumes the drop.

use std::time::Duration;

use super::{find, parse_settings, plan_for, Options};
use crate::apply::{self, Effects};
use crate::config::Config;
use crate::drop_key::DropKey;
use crate::error::Error;
use crate::files::Root;
use crate::plan::once;
use crate::record::Record;
use crate::sources::Access;
use crate::timing::Stopwatch;
use zeroize::Zeroize;

/// How long a second osconf waits for the first one.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// `osconf apply`: applies the drop once, then deletes it.
pub fn apply(options: &Options) -> Result<i32, Error> {
    crate::hardening::forbid_core_dumps();
    let started = std::time::Instant::now();
    let mut stopwatch = Stopwatch::start();
    let root = options.root();
    let _lock = crate::lock::acquire(&root, LOCK_WAIT)?;
    let config = Config::load(&root)?;
    stopwatch.lap("lock and configuration");
    let Some(mut found) = find(options, &root, &config, Access::ReadWrite)? else {
        log::info!("no settings found: nothing to do");
        return Ok(0);
    };
    stopwatch.lap("find");
    let previous = Record::load(&root)?;
    let live = options.live.unwrap_or(root.is_host());
    let settings = parse_settings(&found, &mut stopwatch)?;
    let own = once::own_record(found.source, previous.as_ref(), &root)?;
    // One bound for all the waiting for NICs: what the udev wait leaves.
    let mut nic_wait = config.nic_wait;
    if live && !once::applied_before(own.as_ref(), &DropKey::load_or_new(&root)?, &found.digested()) {
        // The plan resolves NIC names (ifupdown, ifcfg): udev must be done
        // renaming the NICs first.
        // The running kernel's NICs and udev, whatever --root says: live
        // effects are on this host (as netlink's are). A NIC absent after
        // the wait is a warning (it names it) and the rest applies.
        let waiting = std::time::Instant::now();
        crate::apply::network_live::wait_until_ready(&Root::new("/"), &settings.nics, config.nic_wait).map_err(
            |e| {
                Error::Failed(format!("applying {} failed, the drop is kept for the next boot: {e}", found.description))
            },
        )?;
        nic_wait = nic_wait.saturating_sub(waiting.elapsed());
        stopwatch.lap("udev");
    }
    let plan = plan_for(settings, &found, previous.as_ref(), own.as_ref(), &root, &config, &mut stopwatch)?;
    // Digested into the plan: the drop's bytes (the password's Base64) are wiped now.
    found.content.zeroize();
    if plan.already_applied {
        log::info!("{} was applied already ({}): nothing to do", found.description, plan.drop_id());
        if let Some(record) = &plan.migrated_record {
            plan.key.save_if_new(&root)?;
            record.save(&root)?;
            log::info!("replaced the old record's plain hash of the drop with a keyed digest");
        }
    } else {
        let effects = Effects { live, nic_wait };
        apply::run(&plan, previous.as_ref(), &root, effects).map_err(|e| {
            Error::Failed(format!("applying {} failed, the drop is kept for the next boot: {e}", found.description))
        })?;
        log::info!("applied {} ({})", found.description, plan.drop_id());
    }
    // apply::run timed its own steps.
    let mut stopwatch = Stopwatch::start();
    if !options.keep_drop {
        apply::fault::step("delete the drop")?;
        found.consume()?;
        stopwatch.lap("delete the drop");
    }
    log::debug!("time: apply {:.3} ms in all (after the process started)", started.elapsed().as_secs_f64() * 1e3);
    Ok(0)
}
