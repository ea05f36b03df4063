//! `osconf check`: the image-readiness report of [`crate::check`].

use super::Options;
use crate::error::Error;
use crate::{out, outln};

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
