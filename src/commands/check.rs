//! `osconf check`: the image-readiness report of [`crate::check`].

use super::Options;
use crate::check::clouds;
use crate::error::Error;
use crate::{out, outln};

/// `osconf check`: the readiness report; exit 1 when something FAILED, 2 when
/// the image cannot be read.
pub fn check(options: &Options) -> Result<i32, Error> {
    crate::hardening::forbid_core_dumps();
    let report = match &options.image {
        Some(image) => {
            let clouds = options.clouds.clone().unwrap_or_else(|| clouds::ALL.to_vec());
            match crate::check::image::check(image, &clouds) {
                Ok(report) => report,
                Err(e) => {
                    log::error!("cannot check the image: {e}");
                    return Ok(2);
                }
            }
        }
        None => crate::check::run(&options.root(), options.clouds.as_deref().unwrap_or_default()),
    };
    if options.json {
        outln!("{}", serde_json::to_string_pretty(&report).expect("a report always serialises"));
    } else {
        out!("{report}");
    }
    Ok(if report.ready { 0 } else { 1 })
}
