//! Where settings come from. Drops (first partition, CD-ROM) yield os.conf
//! bytes for the os.conf syntax; the metadata endpoint yields its items
//! already validated into `Settings` through the same typed validator
//! (`settings::build`): no source goes through another's text format. Precedence (README, "Finding
//! the settings"): `--drop PATH` > the Alibaba first partition > the Tencent
//! CD-ROM > the Alibaba metadata endpoint (when enabled) > none.

pub mod aliyun_disk;
pub mod aliyun_metadata;
pub mod mount;
pub mod tencent_cdrom;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::Error;
use crate::files::Root;
use crate::settings::parse::MAX_DROP_BYTES;
use crate::record::RecordKind;
use crate::settings::{PasswordForm, Settings, SettingsError};

use self::mount::Mounted;

/// Under `--root DIR` (not `/`) no device is looked for: the first partition
/// is taken to be DIR/boot.
pub const OFFLINE_DROP: &str = "/boot/aliyun_custom_image/os.conf";

/// A drop that was found, and how to consume it after a successful apply.
#[derive(Debug)]
pub struct Found {
    /// Where it came from, in words (for logs, plan and the record).
    pub description: String,
    /// The bytes whose digest marks these settings applied: the os.conf
    /// drop itself, or the canonical form of what the metadata served.
    pub content: Vec<u8>,
    pub form: PasswordForm,
    /// The file to delete after success; `None` for read-only media.
    pub delete_after: Option<PathBuf>,
    /// A medium osconf mounted itself: unmounted when `Found` is dropped.
    pub mount: Option<Mounted>,
    /// Settings a source validated itself from typed items (the metadata
    /// endpoint); `None`: `content` is an os.conf drop.
    pub typed: Option<Typed>,
}

/// What a source of typed items (not os.conf text) produced.
#[derive(Debug, Clone)]
pub struct Typed {
    pub settings: Settings,
    pub instance_id: Option<String>,
    /// Optional items that were missing or invalid and left out, each named.
    pub warnings: Vec<String>,
}

impl Found {
    /// The validated settings: parsed from the drop, or as the source built them.
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        match &self.typed {
            Some(typed) => Ok(typed.settings.clone()),
            None => Settings::from_drop(&self.content, self.form),
        }
    }

    /// Which record marks it applied.
    pub fn record_kind(&self) -> RecordKind {
        if self.typed.is_some() { RecordKind::Metadata } else { RecordKind::Drop }
    }

    /// Deletes the drop (keeping its directory) where the medium is writable.
    pub fn consume(&self) -> Result<(), Error> {
        match &self.delete_after {
            Some(path) => crate::files::remove_durably(path)
                .map_err(|e| Error::Failed(format!("the settings were applied, but deleting the drop failed: {e}"))),
            None => Ok(()),
        }
    }
}

/// Looks for settings where the platform puts them. `Ok(None)`: none found.
pub fn find(root: &Root, config: &Config) -> Result<Option<Found>, Error> {
    let on_disk = if root.is_host() { find_on_devices(config)? } else { read_drop_file(&root.path(OFFLINE_DROP), PasswordForm::Base64Plain)? };
    if on_disk.is_some() {
        return Ok(on_disk);
    }
    if config.metadata.enabled {
        return aliyun_metadata::find(&config.metadata);
    }
    Ok(None)
}

fn find_on_devices(config: &Config) -> Result<Option<Found>, Error> {
    if let Some(found) = aliyun_disk::find(config)? {
        return Ok(Some(found));
    }
    if config.tencent {
        return tencent_cdrom::find();
    }
    Ok(None)
}

/// Reads a drop file: never through a symlink, never from a FIFO or device
/// (opened non-blocking, then checked to be a regular file), never more than
/// the size limit. `Ok(None)` when there is no file.
pub fn read_drop_file(path: &Path, form: PasswordForm) -> Result<Option<Found>, Error> {
    let content = match read_regular_file(path)? {
        Some(content) => content,
        None => return Ok(None),
    };
    Ok(Some(Found { description: path.display().to_string(), content, form, delete_after: Some(path.to_owned()), mount: None, typed: None }))
}

pub fn read_regular_file(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    // A drop that is not a plain file is a bad drop (exit 2): retrying cannot help.
    let refuse = |why: String| Error::Invalid(format!("{}: {why}; it is left as it is", path.display()));
    let io_error = |why: String| Error::Failed(format!("{}: {why}", path.display()));
    let file = match File::options().read(true).custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => return Err(refuse("is a symbolic link, not a regular file".into())),
        Err(e) => return Err(io_error(format!("cannot be opened: {e}"))),
    };
    let meta = file.metadata().map_err(|e| io_error(e.to_string()))?;
    if !meta.file_type().is_file() {
        let kind = if meta.file_type().is_fifo() { "a FIFO, " } else if meta.is_dir() { "a directory, " } else { "" };
        return Err(refuse(format!("is {kind}not a regular file")));
    }
    if meta.len() > MAX_DROP_BYTES as u64 {
        return Err(Error::Invalid(format!("{}: {} bytes, more than the {MAX_DROP_BYTES} allowed for a drop", path.display(), meta.len())));
    }
    let mut content = Vec::new();
    file.take(MAX_DROP_BYTES as u64 + 1).read_to_end(&mut content).map_err(|e| io_error(e.to_string()))?;
    if content.len() > MAX_DROP_BYTES {
        return Err(Error::Invalid(format!("{}: more than the {MAX_DROP_BYTES} bytes allowed for a drop", path.display())));
    }
    Ok(Some(content))
}
