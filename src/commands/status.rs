//! `osconf status`: what the record says osconf applied last.

use super::Options;
use crate::error::Error;
use crate::record::Record;
use crate::{out, outln};

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
                    "  {} (MAC {}): {}; routes: {}",
                    nic.label(),
                    nic.mac,
                    nic.ipv4_text(),
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
    if !options.json {
        user_data(&root)?;
    }
    Ok(0)
}

/// When the user data ran, and how each script and command ended.
fn user_data(root: &crate::files::Root) -> Result<(), Error> {
    let Some(record) = crate::user_data::once::load(root) else { return Ok(()) };
    let instance = if record.instance_id.is_empty() { "no instance id".into() } else { record.instance_id.clone() };
    outln!("User data: ran at unix time {} from {} ({instance})", record.ran_at, record.source);
    for result in &record.results {
        outln!("  {}: {}", result.name, result.outcome);
    }
    if !record.warnings.is_empty() {
        outln!("  {} warning(s), in /var/log/osconf-user-data.log", record.warnings.len());
    }
    Ok(())
}
