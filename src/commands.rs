//! The subcommands. `main.rs` parses the command line into [`Options`] and
//! calls one of these; each returns the process exit code or an [`Error`].
//! Each first forbids core dumps ([`crate::hardening`]): a drop holds the password.

use std::path::PathBuf;
use std::time::Duration;

use crate::apply::{self, Effects};
use crate::config::Config;
use crate::drop_key::DropKey;
use crate::error::Error;
use crate::files::Root;
use crate::plan::Plan;
use crate::record::Record;
use crate::settings::{PasswordForm, Settings};
use crate::sources::{self, Access, Found};
use crate::timing::Stopwatch;
use crate::{out, outln};
use zeroize::Zeroize;

/// Options shared by the subcommands.
#[derive(Debug, Clone)]
pub struct Options {
    pub root: PathBuf,
    /// `--drop PATH`: use this file instead of looking for one.
    pub drop: Option<PathBuf>,
    /// `--format`: how the password is encoded; guessed from the path when None.
    pub form: Option<PasswordForm>,
    /// `--live` / `--no-live`; None: live only when the root is `/`.
    pub live: Option<bool>,
    pub keep_drop: bool,
    pub json: bool,
    /// `--metadata [URL]`: also ask the metadata endpoint when no drop is found.
    pub metadata: Option<Option<String>>,
}

impl Options {
    fn root(&self) -> Root {
        Root::new(&self.root)
    }
}

/// How long a second osconf waits for the first one.
const LOCK_WAIT: Duration = Duration::from_secs(60);

/// `osconf plan`: prints what `apply` would do and changes nothing.
pub fn plan(options: &Options) -> Result<i32, Error> {
    crate::hardening::forbid_core_dumps();
    let root = options.root();
    let config = Config::load(&root)?;
    let Some(found) = find(options, &root, &config, Access::ReadOnly)? else {
        outln!("No settings found: nothing to do.");
        return Ok(0);
    };
    let previous = Record::load(&root)?;
    let plan = build_plan(&found, previous.as_ref(), &root, &config, &mut Stopwatch::start())?;
    out!("{plan}");
    if !plan.already_applied {
        match &found.delete_after {
            Some(path) if !options.keep_drop => outln!("Then: delete {}", path.display()),
            _ => outln!("Then: keep the drop (read-only medium or --keep-drop)"),
        }
    }
    Ok(0)
}

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
    let own = own_record(&found, previous.as_ref(), &root)?;
    // One bound for all the waiting for NICs: what the udev wait leaves.
    let mut nic_wait = config.nic_wait;
    if live && !crate::plan::applied_before(own.as_ref(), &DropKey::load_or_new(&root)?, &found.content) {
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
    let plan = plan_for(settings, &found, previous.as_ref(), &root, &config, &mut stopwatch)?;
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

/// `osconf status`: what was applied last. A damaged record is said to be
/// (on stdout, or as a warning with `--json`, which prints the record osconf
/// goes by: the other source's, or `null`).
pub fn status(options: &Options) -> Result<i32, Error> {
    crate::hardening::forbid_core_dumps();
    let root = options.root();
    let (record, damaged) = Record::load_reporting(&root)?;
    for why in &damaged {
        if options.json {
            log::warn!("{why}");
        } else {
            outln!("Damaged record: {why}");
        }
    }
    match (record, options.json) {
        (Some(record), true) => out!("{}", record.to_display_json()),
        (None, true) => outln!("null"),
        (None, false) if damaged.is_empty() => outln!("osconf has not applied anything on this system yet."),
        (None, false) => outln!("No usable record: the next apply applies its source's settings again."),
        (Some(r), false) => {
            outln!("Last applied: {} (drop #{}, unix time {})", r.source, r.sequence.max(1), r.applied_at);
            if let Some(id) = &r.instance_id {
                outln!("  instance id: {id}");
            }
            outln!("  host name: {}", r.hostname.as_deref().unwrap_or("(not set)"));
            outln!("  root password: {}", if r.password_set { "set" } else { "not set" });
            let servers: Vec<String> = r.nameservers.iter().map(|a| a.to_string()).collect();
            outln!("  name servers: {}", if servers.is_empty() { "(not set)".into() } else { servers.join(" ") });
            for nic in &r.nics {
                let routes: Vec<String> = nic.routes.iter().map(|r| r.to_string()).collect();
                outln!(
                    "  {} (MAC {}): {}/{}; routes: {}",
                    nic.label(),
                    nic.mac,
                    nic.address,
                    nic.prefix,
                    if routes.is_empty() { "none".into() } else { routes.join(", ") }
                );
                for extra in nic.extras() {
                    outln!("      {extra}");
                }
            }
            outln!("  network stack: {}", r.network_stack.as_deref().unwrap_or("(none)"));
            outln!(
                "  SSH keys for root (osconf's block): {}",
                if r.ssh_keys.is_empty() { "none".into() } else { r.ssh_keys.len().to_string() }
            );
            for key in &r.ssh_keys {
                outln!("    {}", key.summary());
            }
            outln!("  files owned by osconf:");
            for path in &r.owned_files {
                outln!("    {path}");
            }
        }
    }
    Ok(0)
}

fn find(options: &Options, root: &Root, config: &Config, access: Access) -> Result<Option<Found>, Error> {
    match &options.drop {
        Some(path) => {
            let form = options.form.unwrap_or_else(|| guess_form(path));
            let found = sources::read_drop_file(path, form)?;
            found.map(Some).ok_or_else(|| Error::Usage(format!("{}: no such file", path.display())))
        }
        None => {
            let mut config = config.clone();
            if let Some(url) = &options.metadata {
                config.metadata.enabled = true;
                if let Some(url) = url {
                    config.metadata.url = url.clone();
                }
            }
            sources::find(root, &config, access)
        }
    }
}

/// Tencent's drop lives under `qcloud_action/` and carries a crypt hash.
fn guess_form(path: &std::path::Path) -> PasswordForm {
    if path.components().any(|c| c.as_os_str() == "qcloud_action") {
        PasswordForm::CryptHash
    } else {
        PasswordForm::Base64Plain
    }
}

fn build_plan(
    found: &Found,
    previous: Option<&Record>,
    root: &Root,
    config: &Config,
    stopwatch: &mut Stopwatch,
) -> Result<Plan, Error> {
    let settings = parse_settings(found, stopwatch)?;
    plan_for(settings, found, previous, root, config, stopwatch)
}

/// The validated settings: the drop parsed, or as a typed source built them.
fn parse_settings(found: &Found, stopwatch: &mut Stopwatch) -> Result<Settings, Error> {
    let settings = found.settings().map_err(|e| Error::Invalid(format!("{}: {e}", found.description)))?;
    stopwatch.lap("parse");
    Ok(settings)
}

/// The plan against what osconf set last (`previous`, from any source);
/// apply-once judged by the found source's own record.
fn plan_for(
    settings: Settings,
    found: &Found,
    previous: Option<&Record>,
    root: &Root,
    config: &Config,
    stopwatch: &mut Stopwatch,
) -> Result<Plan, Error> {
    let settings = keep_unread(settings, found, previous);
    let mut plan = Plan::build(settings, found.description.clone(), &found.content, previous, root, config)?;
    plan.record.kind = found.record_kind();
    plan.record.instance_id = found.typed.as_ref().and_then(|t| t.instance_id.clone());
    plan.judge_applied(own_record(found, previous, root)?.as_ref(), &found.content);
    stopwatch.lap("plan (hash, render)");
    Ok(plan)
}

/// The record that marks this source's settings applied (drop or metadata).
fn own_record(found: &Found, previous: Option<&Record>, root: &Root) -> Result<Option<Record>, Error> {
    let kind = found.record_kind();
    if previous.is_some_and(|r| r.kind == kind) {
        return Ok(previous.cloned());
    }
    // A damaged one was warned about when `previous` was loaded: absent here too.
    Ok(Record::read_kind(root, kind)?.unwrap_or(None))
}

/// A metadata item missing or unreadable this time (warned) leaves its
/// setting as osconf set it last; a drop without a key gives it back to the
/// image instead.
fn keep_unread(mut settings: Settings, found: &Found, previous: Option<&Record>) -> Settings {
    if let (Some(_), Some(previous)) = (&found.typed, previous) {
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

/// `osconf check`: the image-readiness report; exit 1 when something FAILED.
pub fn check(options: &Options) -> Result<i32, Error> {
    crate::hardening::forbid_core_dumps();
    let report = crate::check::run(&options.root());
    if options.json {
        outln!("{}", serde_json::to_string_pretty(&report).expect("a report always serialises"));
    } else {
        out!("{report}");
    }
    Ok(if report.ready { 0 } else { 1 })
}
