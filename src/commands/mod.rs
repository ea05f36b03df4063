//! The subcommands, one module each. `main.rs` parses the command line into
//! [`Options`] and calls one of them; each returns the process exit code or
//! an [`Error`]. Glue only: what is found, planned and applied is decided in
//! `sources`, `plan` and `apply`. Each first forbids core dumps
//! ([`crate::hardening`]): a drop holds the password.

mod apply;
mod check;
mod plan;
mod status;
mod user_data;

use std::ffi::OsString;
use std::path::PathBuf;

pub use self::apply::apply;
pub use self::check::check;
pub use self::plan::plan;
pub use self::status::status;
pub use self::user_data::user_data;

use crate::config::{Config, Enabled, SourceConfig};
use crate::error::Error;
use crate::files::Root;
use crate::plan::{Origin, Plan};
use crate::record::Record;
use crate::settings::Settings;
use crate::sources::{self, alibaba_metadata, Access, Context, Found};
use crate::timing::Stopwatch;

/// Options shared by the subcommands.
#[derive(Debug, Clone)]
pub struct Options {
    pub root: PathBuf,
    /// `--from NAME[=WHERE]` (or `--drop PATH`): ask this source only, at
    /// WHERE when given, instead of looking through `[source] order`.
    pub from: Option<SourceChoice>,
    /// `--live` / `--no-live`; None: live only when the root is `/`.
    pub live: Option<bool>,
    pub keep_drop: bool,
    pub json: bool,
    /// `--metadata [URL]`: also ask the Alibaba metadata endpoint when no drop is found.
    pub metadata: Option<Option<String>>,
    /// `check --image FILE`.
    pub image: Option<PathBuf>,
    /// `check --cloud LIST`; None: all for an image, none for a tree.
    pub clouds: Option<Vec<crate::check::clouds::Cloud>>,
}

/// `--from NAME[=WHERE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceChoice {
    pub name: String,
    pub place: Option<OsString>,
}

impl Options {
    fn root(&self) -> Root {
        Root::new(&self.root)
    }
}

fn find(options: &Options, root: &Root, config: &Config, access: Access) -> Result<Option<Found>, Error> {
    let context = Context::new(root, access);
    let mut config = config.clone();
    if let Some(url) = &options.metadata {
        let metadata = &alibaba_metadata::SOURCE;
        let mut section = SourceConfig { enabled: Enabled::Yes, ..config.source(metadata) };
        if let Some(url) = url {
            section.url = url.clone();
        }
        config.set_source(metadata, section);
    }
    match &options.from {
        Some(choice) => sources::find_from(&choice.name, choice.place.as_deref(), &context, &config),
        None => sources::find(&context, &config),
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
    let digested = found.digested();
    let origin = Origin {
        description: found.description.clone(),
        content: &digested,
        source: found.source,
        typed: found.typed().is_some(),
        instance_id: found.typed().and_then(|t| t.instance_id.clone()),
        own_record: own,
    };
    let plan = Plan::build(settings, &origin, previous, root, config)?;
    stopwatch.lap("plan (hash, render)");
    Ok(plan)
}
