//! Where settings come from: one folder per source, each a [`Source`]
//! registered in [`SOURCES`]. A drop source (first partition, CD-ROM) reads
//! os.conf bytes, later validated by `osconf_format` in the dialect of the
//! cloud that dropped them; a network source (a metadata endpoint) reads its
//! items straight into `Settings` through the same typed validator
//! (`settings::build`): no source goes through another's text format.
//!
//! Shared transport sits beside the sources, named for what it is: `media/`
//! (drop files, mounts, superblock probes, ISO 9660 labels), `http/` (the
//! client with its limits and retries), `metadata_items/` (what the metadata
//! endpoints' sources share) and `platform` (the cloud from DMI).
//!
//! Looking by itself, osconf asks the sources in `[source] order` (the
//! registry's order by default: the local drops before the network) and
//! takes the first that has settings; `--from NAME[=WHERE]` asks one
//! source, at a place given. docs/sources.md says it for users.

pub mod alibaba_drop;
pub mod alibaba_metadata;
pub mod http;
pub mod media;
pub mod metadata_items;
pub mod openstack_drive;
pub mod openstack_format;
pub mod openstack_metadata;
pub mod osconf_format;
pub mod platform;
pub mod tencent_cdrom;
pub mod tencent_metadata;

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

use nix::errno::Errno;
use zeroize::Zeroizing;

use crate::config::{Config, Enabled, SourceConfig};
use crate::error::Error;
use crate::files::Root;
use crate::settings::{Settings, SettingsError, SshKey};

use self::media::drop_file::DropFile;
use self::media::mount::Mounted;
use self::osconf_format::Dialect;
use self::platform::Cloud;

pub use self::media::drop_file::{read_drop_beneath, read_drop_beneath_with, read_drop_file, read_regular_file};

/// Every source osconf knows, in the order it asks them by default: local
/// media first (no waiting), the network last. Adding a cloud's source is a
/// folder beside this file and a line here.
pub static SOURCES: &[&dyn Source] = &[
    &alibaba_drop::AlibabaDrop,
    &tencent_cdrom::TencentCdrom,
    &openstack_drive::OpenstackDrive,
    &alibaba_metadata::SOURCE,
    &tencent_metadata::SOURCE,
    &openstack_metadata::SOURCE,
];

/// The registered source of this name.
pub fn by_name(name: &str) -> Option<&'static dyn Source> {
    SOURCES.iter().copied().find(|source| source.name() == name)
}

/// One place a cloud gives an instance its settings.
pub trait Source: Sync {
    /// Its name: on the command line (`--from NAME`), in osconf.conf
    /// (`[source.NAME]`) and in its record (`records/NAME.json`).
    fn name(&self) -> &'static str;
    /// What `--from NAME=WHERE` takes as WHERE, in words, for `--help`.
    fn takes(&self) -> &'static str;
    /// `Some(cloud)` for a network source, which only that cloud serves and
    /// which costs a wait where nothing answers; `None` for a local medium.
    fn network_of(&self) -> Option<Cloud>;
    /// Its `[source.NAME]` keys besides `enabled`, and their defaults.
    fn keys(&self) -> &'static [&'static str];
    fn defaults(&self) -> SourceConfig;
    /// Looks where the cloud puts the settings: on a booted instance
    /// (`--root /`) its devices or endpoint; under `--root DIR`, beneath DIR
    /// where that means something. `Ok(None)`: nothing there.
    fn find(&self, context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error>;
    /// Reads the settings at `place` (`--from NAME=WHERE`).
    fn find_at(&self, place: &OsStr, context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error>;
    /// The instance's user data where `found` came from (at `place` when
    /// given, as for [`find_at`](Source::find_at)): opaque bytes, at most
    /// [`MAX_USER_DATA`]; `Ok(None)`: none. Never vendor data, never an
    /// os.conf drop's. By default what the medium held beside the settings
    /// ([`Found::user_data`]); a network source asks its service.
    fn user_data(
        &self,
        found: &Found,
        place: Option<&OsStr>,
        config: &SourceConfig,
    ) -> Result<Option<UserData>, Error> {
        let _ = (place, config);
        Ok(found.user_data.as_ref().map(|medium| medium.bytes.clone()))
    }
    /// Checks an instance id this source's record holds (a record is input
    /// too): the form its cloud gives. A source that gives none accepts none.
    fn instance_id(&self, id: &str) -> Result<String, String> {
        let _ = id;
        Err(format!("{} gives no instance id", self.name()))
    }
}

/// What every source is told about the run.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub root: &'a Root,
    pub access: Access,
    /// The cloud DMI names on a booted instance; `None` under `--root DIR`
    /// and on hardware that names none.
    pub cloud: Option<Cloud>,
}

impl<'a> Context<'a> {
    pub fn new(root: &'a Root, access: Access) -> Context<'a> {
        let cloud = if root.is_host() { platform::detect(std::path::Path::new(platform::DMI_DIR)) } else { None };
        Context { root, access, cloud }
    }
}

/// How a medium osconf mounts itself is mounted: `plan` changes nothing, so
/// it mounts read-only; `apply` deletes the drop, so read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// Settings that were found, and how to consume them after a successful apply.
#[derive(Debug)]
pub struct Found {
    /// The registered source that found them (its record's name).
    pub source: &'static str,
    /// Where they came from, in words (for logs, plan and the record).
    pub description: String,
    /// The bytes whose digest marks these settings applied: the os.conf
    /// drop itself, or the canonical form of what the metadata served.
    /// Wiped when dropped: a drop holds the password.
    pub content: Zeroizing<Vec<u8>>,
    pub payload: Payload,
    /// The file to delete after success; `None` for read-only media.
    pub delete_after: Option<PathBuf>,
    /// The directory holding the drop, opened beneath its medium's root: the
    /// drop is deleted through it, so a directory swapped for a symlink after
    /// the read cannot redirect the deletion. Declared before `mount`: closed
    /// before the medium is unmounted.
    pub drop_dir: Option<OwnedFd>,
    /// A medium osconf mounted itself: unmounted when `Found` is dropped.
    pub mount: Option<Mounted>,
    /// The instance's user data a medium holds beside the settings (read
    /// with them, while the medium is at hand); wiped when dropped.
    pub user_data: Option<MediumUserData>,
}

/// User data on a medium, and the instance id beside it where the settings
/// give none (Tencent's CD-ROM: its os.conf has none, its OpenStack
/// `meta_data.json` a `uuid`).
#[derive(Debug)]
pub struct MediumUserData {
    pub bytes: UserData,
    pub instance_id: Option<String>,
}

impl Found {
    /// The instance id its settings give, else the one beside its medium's user data.
    pub fn instance_id(&self) -> Option<String> {
        let typed = self.typed().and_then(|typed| typed.instance_id.clone());
        typed.or_else(|| self.user_data.as_ref().and_then(|medium| medium.instance_id.clone()))
    }
}

/// An instance's user data: opaque bytes, wiped when dropped (it may hold passwords).
pub type UserData = Zeroizing<Vec<u8>>;

/// Largest user data read from a source (clouds allow 16 to 64 KiB).
pub const MAX_USER_DATA: usize = 1 << 20;

/// What the bytes are.
#[derive(Debug)]
pub enum Payload {
    /// An os.conf drop, in its cloud's dialect.
    OsConf(Dialect),
    /// An os.conf drop and root's SSH keys from an OpenStack tree on the
    /// same medium (Tencent's CD-ROM: os.conf carries no keys).
    OsConfWithKeys(Dialect, Vec<SshKey>),
    /// Settings a network source validated itself from typed items.
    Typed(Typed),
}

/// What a source of typed items (not os.conf text) produced.
#[derive(Debug, Clone)]
pub struct Typed {
    pub settings: Settings,
    pub instance_id: Option<String>,
    /// Optional items that were missing or invalid and left out, each named.
    pub warnings: Vec<String>,
}

/// An os.conf drop source: its name and its cloud's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DropKind {
    pub source: &'static str,
    pub dialect: Dialect,
}

impl Found {
    /// A drop file of `kind`, read from its medium.
    pub fn drop(kind: DropKind, file: DropFile) -> Found {
        Found {
            source: kind.source,
            description: file.description,
            content: file.content,
            payload: Payload::OsConf(kind.dialect),
            delete_after: file.delete_after,
            drop_dir: file.drop_dir,
            mount: None,
            user_data: None,
        }
    }

    /// The validated settings: parsed from the drop, or as the source built them.
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        match &self.payload {
            Payload::Typed(typed) => Ok(typed.settings.clone()),
            Payload::OsConf(dialect) => osconf_format::from_drop(&self.content, *dialect),
            Payload::OsConfWithKeys(dialect, keys) => osconf_format::from_drop(&self.content, *dialect)
                .map(|settings| Settings { ssh_keys: Some(keys.clone()), ..settings }),
        }
    }

    pub fn typed(&self) -> Option<&Typed> {
        match &self.payload {
            Payload::Typed(typed) => Some(typed),
            Payload::OsConf(_) | Payload::OsConfWithKeys(..) => None,
        }
    }

    /// What the record's digest is taken of: `content`, and the keys that
    /// came beside a drop (so that new keys apply again). Wiped when dropped.
    pub fn digested(&self) -> Zeroizing<Vec<u8>> {
        let (marker, keys): (&[u8], String) = match &self.payload {
            Payload::OsConfWithKeys(_, keys) => {
                (b"\0openstack keys:", keys.iter().map(|key| format!("\n{key}")).collect())
            }
            _ => (b"", String::new()),
        };
        // Allocated once: growing it would free a copy of the drop unwiped.
        let mut bytes = Zeroizing::new(Vec::with_capacity(self.content.len() + marker.len() + keys.len()));
        bytes.extend_from_slice(&self.content);
        bytes.extend_from_slice(marker);
        bytes.extend_from_slice(keys.as_bytes());
        bytes
    }

    /// Deletes the drop (keeping its directory) where the medium is writable.
    pub fn consume(&self) -> Result<(), Error> {
        let failed = |e: String| Error::Failed(format!("the settings were applied, but deleting the drop failed: {e}"));
        match (&self.delete_after, &self.drop_dir) {
            (Some(path), Some(dir)) => {
                let name = path.file_name().ok_or_else(|| failed(format!("{}: no file name", path.display())))?;
                match nix::unistd::unlinkat(dir, name, nix::unistd::UnlinkatFlags::NoRemoveDir) {
                    Ok(()) | Err(Errno::ENOENT) => {
                        nix::unistd::fsync(dir).map_err(|e| failed(format!("{}: {e}", path.display())))
                    }
                    Err(e) => Err(failed(format!("removing {}: {e}", path.display()))),
                }
            }
            // A path given on the command line (relative to the working directory).
            (Some(path), None) => std::path::absolute(path)
                .and_then(|path| crate::files::remove_durably(&Root::new("/"), &path))
                .map_err(|e| failed(e.to_string())),
            (None, _) => Ok(()),
        }
    }
}

/// Looks for settings in the sources of `[source] order`, each as its
/// section says; the first that has some wins. `Ok(None)`: none found.
pub fn find(context: &Context, config: &Config) -> Result<Option<Found>, Error> {
    for &name in &config.order {
        let Some(source) = by_name(name) else { continue };
        let source_config = config.source(source);
        if !asked(source, &source_config, context.cloud) {
            continue;
        }
        if let Some(found) = source.find(context, &source_config)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// The instance's user data: from the one source of `--from NAME[=WHERE]`,
/// else from the first source of `[source] order` that is asked and has
/// some, with the settings found there (for the instance id).
pub fn find_user_data(
    choice: Option<(&str, Option<&OsStr>)>,
    context: &Context,
    config: &Config,
) -> Result<Option<(Found, UserData)>, Error> {
    type WithData = Option<(Found, UserData)>;
    let with_data = |source: &dyn Source, place, found: Option<Found>| -> Result<WithData, Error> {
        let Some(found) = found else { return Ok(None) };
        Ok(source.user_data(&found, place, &config.source(source))?.map(|data| (found, data)))
    };
    if let Some((name, place)) = choice {
        let found = find_from(name, place, context, config)?;
        // find_from checked the name.
        let Some(source) = by_name(name) else { return Ok(None) };
        return with_data(source, place, found);
    }
    for &name in &config.order {
        let Some(source) = by_name(name) else { continue };
        let source_config = config.source(source);
        if !asked(source, &source_config, context.cloud) {
            continue;
        }
        if let Some(found) = with_data(source, None, source.find(context, &source_config)?)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Whether a source is asked when osconf looks by itself: a local medium
/// whenever enabled; a network source when enabled (`yes`) unless DMI names
/// another cloud, or on `auto` when DMI names its cloud.
fn asked(source: &dyn Source, config: &SourceConfig, cloud: Option<Cloud>) -> bool {
    let Some(its_cloud) = source.network_of() else { return config.enabled != Enabled::No };
    match (config.enabled, cloud) {
        (Enabled::No, _) => false,
        (Enabled::Auto, cloud) => cloud == Some(its_cloud),
        (Enabled::Yes, Some(other)) if other != its_cloud => {
            log::info!("{}: not asked, this instance runs on {other:?} (DMI), not {its_cloud:?}", source.name());
            false
        }
        (Enabled::Yes, _) => true,
    }
}

/// `--from NAME[=WHERE]`: the one source asked, at WHERE when given.
pub fn find_from(
    name: &str,
    place: Option<&OsStr>,
    context: &Context,
    config: &Config,
) -> Result<Option<Found>, Error> {
    let source = by_name(name).ok_or_else(|| {
        let names: Vec<&str> = SOURCES.iter().map(|s| s.name()).collect();
        Error::Usage(format!("--from {name}: no such source (one of {})", names.join(", ")))
    })?;
    let source_config = config.source(source);
    match place {
        Some(place) => source.find_at(place, context, &source_config),
        None => source.find(context, &source_config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_fit_a_file_name() {
        for (i, source) in SOURCES.iter().enumerate() {
            let name = source.name();
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{name}");
            assert!(SOURCES[..i].iter().all(|other| other.name() != name), "{name} twice");
            assert!(by_name(name).is_some());
        }
    }

    #[test]
    fn a_network_source_is_asked_only_where_its_cloud_may_be() {
        let metadata = by_name("alibaba-metadata").unwrap();
        let with = |enabled| SourceConfig { enabled, ..metadata.defaults() };
        assert!(asked(metadata, &with(Enabled::Yes), None));
        assert!(asked(metadata, &with(Enabled::Yes), Some(Cloud::Alibaba)));
        assert!(!asked(metadata, &with(Enabled::Yes), Some(Cloud::Tencent)));
        assert!(asked(metadata, &with(Enabled::Auto), Some(Cloud::Alibaba)));
        assert!(!asked(metadata, &with(Enabled::Auto), None));
        assert!(!asked(metadata, &with(Enabled::No), Some(Cloud::Alibaba)));
        let drop = by_name("alibaba-drop").unwrap();
        assert!(asked(drop, &drop.defaults(), Some(Cloud::Tencent)), "a local medium costs no wait");
        assert!(!asked(drop, &SourceConfig { enabled: Enabled::No, ..drop.defaults() }, None));
    }
}
