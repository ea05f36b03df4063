//! `osconf plan`: finds the settings, builds the plan and prints it; changes nothing.

use super::{find, parse_settings, plan_for, Options};
use crate::config::Config;
use crate::error::Error;
use crate::plan::once;
use crate::record::Record;
use crate::sources::Access;
use crate::timing::Stopwatch;
use crate::{out, outln};

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
    let own = once::own_record(found.source, previous.as_ref(), &root)?;
    let mut stopwatch = Stopwatch::start();
    let settings = parse_settings(&found, &mut stopwatch)?;
    let plan = plan_for(settings, &found, previous.as_ref(), own.as_ref(), &root, &config, &mut stopwatch)?;
    out!("{plan}");
    if !plan.already_applied {
        match &found.delete_after {
            Some(path) if !options.keep_drop => outln!("Then: delete {}", path.display()),
            _ => outln!("Then: keep the drop (read-only medium or --keep-drop)"),
        }
    }
    Ok(0)
}
