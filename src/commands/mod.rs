//! The subcommands, one module each. `main.rs` parses the command line into
//! [`Options`] and calls one of them; each returns the process exit code or
//! an [`Error`]. Glue only: what is found, planned and applied is decided in
//! `sources`, `plan` and `apply`. Each first forbids core dumps
//! ([`crate::hardening`]): a drop holds the password.

mod apply;
mod check;
mod plan;
mod status;

use std::path::PathBuf;

pub use self::apply::apply;
pub use self::check::check;
pub use self::plan::plan;
pub use self::status::status;

use crate::config::Config;
use crate::error::Error;
use crate::files::Root;
use crate::plan::{Origin, Plan};
use crate::record::Record;
use crate::settings::Settings;
use crate::sources::osconf_format::{self, Dialect};
use crate::sources::{self, Access, Found};
use crate::timing::Stopwatch;

/// Options shared by the subcommands.
#[derive(Debug, Clone)]
pub struct Options {
    pub root: PathBuf,
    /// `--drop PATH`: use this file instead of looking for one.
    pub drop: Option<PathBuf>,
    /// `--format`: whose os.conf the drop is (the password's encoding, the
    /// default route's NIC); guessed from the path when None.
    pub dialect: Option<Dialect>,
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

fn find(options: &Options, root: &Root, config: &Config, access: Access) -> Result<Option<Found>, Error> {
    match &options.drop {
        Some(path) => {
            let dialect = options.dialect.unwrap_or_else(|| guess_dialect(path));
            let found = sources::read_drop_file(path, dialect)?;
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

/// Tencent's drop lives under `qcloud_action/`.
fn guess_dialect(path: &std::path::Path) -> Dialect {
    if path.components().any(|c| c.as_os_str() == "qcloud_action") {
        osconf_format::TENCENT
    } else {
        osconf_format::ALIBABA
    }
}

/// The validated settings: the drop parsed, or as a typed source built them.
fn parse_settings(found: &Found, stopwatch: &mut Stopwatch) -> Result<Settings, Error> {
    let settings = found.settings().map_err(|e| Error::Invalid(format!("{}: {e}", found.description)))?;
    stopwatch.lap("parse");
    Ok(settings)
}

/// The plan of `settings` found in `found`, against what osconf set last
/// (`previous`, from any source); `own` is the found source's own record.
fn plan_for(
    settings: Settings,
    found: &Found,
    previous: Option<&Record>,
    own: Option<&Record>,
    root: &Root,
    config: &Config,
    stopwatch: &mut Stopwatch,
) -> Result<Plan, Error> {
    let origin = Origin {
        description: found.description.clone(),
        content: &found.content,
        kind: found.record_kind(),
        typed: found.typed.is_some(),
        instance_id: found.typed.as_ref().and_then(|t| t.instance_id.clone()),
        own_record: own,
    };
    let plan = Plan::build(settings, &origin, previous, root, config)?;
    stopwatch.lap("plan (hash, render)");
    Ok(plan)
}
