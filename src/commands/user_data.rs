//! `osconf user-data`: the instance's user data, once per instance (see
//! `crate::user_data`). Found where the settings are (`[source] order`, or
//! `--from`), decided against the record, then the cloud-config's writes,
//! the scripts in order, and `runcmd` last (cloud-init runs its scripts
//! directory, `part-NNN` before `runcmd`). A failing script is a warning
//! with its exit code: the command still exits 0.

use std::time::Duration;

use super::Options;
use crate::config::Config;
use crate::drop_key::DropKey;
use crate::error::Error;
use crate::sources::{self, Access, Context};
use crate::user_data::format::Part;
use crate::user_data::once::{self, Decision, RunResult, UserDataRecord};
use crate::user_data::run::{unix_now, Outcome, Runner};
use crate::user_data::{cloud_config, effects, format};

/// How long a second osconf waits for the first one.
const LOCK_WAIT: Duration = Duration::from_secs(60);

pub fn user_data(options: &Options) -> Result<i32, Error> {
    crate::hardening::forbid_core_dumps();
    let root = options.root();
    let lock = crate::lock::acquire(&root, LOCK_WAIT)?;
    let config = Config::load(&root)?;
    let context = Context::new(&root, Access::ReadOnly);
    let choice = options.from.as_ref().map(|c| (c.name.as_str(), c.place.as_deref()));
    let Some((found, data)) = sources::find_user_data(choice, &context, &config)? else {
        log::info!("no user data found: nothing to do");
        return Ok(0);
    };
    let instance_id = match found.instance_id() {
        Some(id) => id,
        None => {
            log::warn!("{}: no instance id: its user data runs once on this system", found.description);
            String::new()
        }
    };
    let key = DropKey::load_or_new(&root)?;
    let digest = once::digest(&key, &data);
    let previous = once::load(&root);
    match once::decide(previous.as_ref(), &instance_id, &digest) {
        Decision::RanAlready => {
            log::info!("user data from {}: ran already for this instance", found.description);
            return Ok(0);
        }
        Decision::ChangedForSameInstance => {
            log::warn!(
                "user data from {} changed since it ran for this instance: not run again (user data runs once per instance, as with cloud-init)",
                found.description
            );
            return Ok(0);
        }
        Decision::Run => {}
    }
    log::info!("user data from {} ({} bytes)", found.description, data.len());
    // Its log opened first: a run that could not log is not marked done.
    let mut runner = Runner::new(&root, config.user_data_timeout)?;
    let parsed = format::parse(&data);
    let mut record = UserDataRecord {
        instance_id,
        source: found.source.to_owned(),
        ran_at: unix_now(),
        digest,
        results: Vec::new(),
        warnings: parsed.warnings,
    };
    // Marked before anything runs (as cloud-init's semaphore): a script that
    // reboots the instance must not run again at the next boot.
    key.save_if_new(&root)?;
    once::save(&root, &record)?;
    let documents: Vec<&str> = parsed
        .parts
        .iter()
        .filter_map(|part| match part {
            Part::CloudConfig(text) => Some(text.as_str()),
            Part::Script { .. } => None,
        })
        .collect();
    let cloud = cloud_config::read(&documents);
    record.warnings.extend(cloud.warnings.iter().cloned());
    record.warnings.extend(effects::apply(&root, &cloud));
    // The scripts may call osconf themselves.
    drop(lock);

    let result =
        |name: String, outcome: Outcome| RunResult { name, exit_code: outcome.code(), outcome: outcome.to_string() };
    for (index, part) in parsed.parts.iter().enumerate() {
        if let Part::Script { name, body } = part {
            let outcome = runner.script(name, index + 1, body);
            record.results.push(result(name.clone(), outcome));
        }
    }
    for (index, command) in cloud.runcmd.iter().enumerate() {
        let name = format!("runcmd {}", index + 1);
        let outcome = runner.run(&name, &command.argv());
        record.results.push(result(name, outcome));
    }
    for warning in &record.warnings {
        log::warn!("user data: {warning}");
        runner.note(&format!("warning: {warning}"));
    }
    once::save(&root, &record)?;
    let failed = record.results.iter().filter(|r| r.exit_code != 0).count();
    log::info!("user data: {} run, {failed} failed", record.results.len());
    Ok(0)
}
