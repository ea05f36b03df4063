//! Where settings come from. Drops (first partition, CD-ROM) yield os.conf
//! bytes, read by `osconf_format` in the dialect of the cloud that dropped
//! them (the password's encoding, the default route's NIC); the metadata
//! endpoint yields its items already validated into `Settings` through the
//! same typed validator (`settings::build`): no source goes through
//! another's text format. Precedence (docs/sources.md, "Finding the settings"): `--drop PATH` > the Alibaba first partition > the Tencent
//! CD-ROM > the Alibaba metadata endpoint (when enabled) > none.

pub mod aliyun_disk;
pub mod aliyun_metadata;
pub mod beneath;
pub mod media;
pub mod mount;
pub mod osconf_format;
pub mod probe;
pub mod tencent_cdrom;

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::error::Error;
use crate::files::Root;
use crate::record::RecordKind;
use crate::settings::{Settings, SettingsError};

use self::mount::Mounted;
use self::osconf_format::{Dialect, MAX_DROP_BYTES};

/// Under `--root DIR` (not `/`) no device is looked for: the first partition
/// is taken to be DIR/boot.
pub const OFFLINE_DROP: &str = "/boot/aliyun_custom_image/os.conf";

/// How a medium osconf mounts itself is mounted: `plan` changes nothing, so
/// it mounts read-only; `apply` deletes the drop, so read-write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// A drop that was found, and how to consume it after a successful apply.
#[derive(Debug)]
pub struct Found {
    /// Where it came from, in words (for logs, plan and the record).
    pub description: String,
    /// The bytes whose digest marks these settings applied: the os.conf
    /// drop itself, or the canonical form of what the metadata served.
    /// Wiped when dropped: a drop holds the password.
    pub content: Zeroizing<Vec<u8>>,
    /// The os.conf contract of the cloud whose drop this is (unused for `typed`).
    pub dialect: Dialect,
    /// The file to delete after success; `None` for read-only media.
    pub delete_after: Option<PathBuf>,
    /// The directory holding the drop, opened beneath its medium's root: the
    /// drop is deleted through it, so a directory swapped for a symlink after
    /// the read cannot redirect the deletion. Declared before `mount`: closed
    /// before the medium is unmounted.
    pub drop_dir: Option<OwnedFd>,
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
            None => osconf_format::from_drop(&self.content, self.dialect),
        }
    }

    /// Which record marks it applied.
    pub fn record_kind(&self) -> RecordKind {
        if self.typed.is_some() {
            RecordKind::Metadata
        } else {
            RecordKind::Drop
        }
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

/// Looks for settings where the platform puts them. `Ok(None)`: none found.
pub fn find(root: &Root, config: &Config, access: Access) -> Result<Option<Found>, Error> {
    let on_disk = if root.is_host() {
        find_on_devices(config, access)?
    } else {
        // Beneath the root itself: an image's /boot that links elsewhere is
        // refused like any link on the way to a drop (it would be deleted).
        let drop_path = OFFLINE_DROP.trim_start_matches('/');
        read_drop_beneath(root.base(), Path::new(drop_path), osconf_format::ALIBABA)?
    };
    if on_disk.is_some() {
        return Ok(on_disk);
    }
    if config.metadata.enabled {
        return aliyun_metadata::find(&config.metadata);
    }
    Ok(None)
}

fn find_on_devices(config: &Config, access: Access) -> Result<Option<Found>, Error> {
    if let Some(found) = aliyun_disk::find(config, access)? {
        return Ok(Some(found));
    }
    if config.tencent {
        return tencent_cdrom::find();
    }
    Ok(None)
}

/// Reads a drop file named on the command line: never through a symlink,
/// never from a FIFO or device (opened non-blocking, then checked to be a
/// regular file), never more than the size limit. `Ok(None)` when there is no file.
pub fn read_drop_file(path: &Path, dialect: Dialect) -> Result<Option<Found>, Error> {
    let content = match read_regular_file(path)? {
        Some(content) => content,
        None => return Ok(None),
    };
    Ok(Some(Found {
        description: path.display().to_string(),
        content,
        dialect,
        delete_after: Some(path.to_owned()),
        drop_dir: None,
        mount: None,
        typed: None,
    }))
}

/// Reads the drop at `relative` (e.g. `aliyun_custom_image/os.conf`) on the
/// medium whose root is `base`, without following a symlink in any component
/// ([`beneath`]); the drop is later deleted through its directory. A symlink
/// on the way is a bad drop (exit 2), like a symlinked os.conf.
pub fn read_drop_beneath(base: &Path, relative: &Path, dialect: Dialect) -> Result<Option<Found>, Error> {
    read_drop_beneath_with(base, relative, dialect, beneath::Resolve::Openat2)
}

pub fn read_drop_beneath_with(
    base: &Path,
    relative: &Path,
    dialect: Dialect,
    resolve: beneath::Resolve,
) -> Result<Option<Found>, Error> {
    let path = base.join(relative);
    let (dir, name) = match (relative.parent(), relative.file_name()) {
        (Some(dir), Some(name)) => (dir, name),
        _ => return Err(Error::Failed(format!("{}: not a file path", relative.display()))),
    };
    let dir = match beneath::open_dir(base, dir, resolve) {
        Ok(dir) => dir,
        Err(Errno::ENOENT) => return Ok(None),
        Err(e @ (Errno::ELOOP | Errno::ENOTDIR | Errno::EXDEV)) => {
            let why = format!("{}/{}: a component is a symbolic link or not a directory ({e}): the drop must lie on {} itself; it is left as it is", base.display(), dir.display(), base.display());
            return Err(Error::Invalid(why));
        }
        Err(e) => return Err(Error::Failed(format!("{}: {e}", base.join(dir).display()))),
    };
    let file = match beneath::open_file(&dir, name) {
        Ok(file) => file,
        Err(e) => return open_error(&path, e.into()),
    };
    let content = read_open_file(&path, file)?;
    Ok(Some(Found {
        description: path.display().to_string(),
        content,
        dialect,
        delete_after: Some(path),
        drop_dir: Some(dir),
        mount: None,
        typed: None,
    }))
}

pub fn read_regular_file(path: &Path) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    match File::options().read(true).custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK).open(path) {
        Ok(file) => read_open_file(path, file).map(Some),
        Err(e) => open_error(path, e),
    }
}

/// A missing file is no drop; a symlink a bad one; anything else an I/O error.
fn open_error<T>(path: &Path, e: std::io::Error) -> Result<Option<T>, Error> {
    match e.raw_os_error() {
        _ if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Some(nix::libc::ELOOP) => Err(Error::Invalid(format!(
            "{}: is a symbolic link, not a regular file; it is left as it is",
            path.display()
        ))),
        _ => Err(Error::Failed(format!("{}: cannot be opened: {e}", path.display()))),
    }
}

/// Checks that an opened drop is a regular file within the size limit, and reads it.
fn read_open_file(path: &Path, file: File) -> Result<Zeroizing<Vec<u8>>, Error> {
    // A drop that is not a plain file is a bad drop (exit 2): retrying cannot help.
    let refuse = |why: String| Error::Invalid(format!("{}: {why}; it is left as it is", path.display()));
    let io_error = |why: String| Error::Failed(format!("{}: {why}", path.display()));
    let meta = file.metadata().map_err(|e| io_error(e.to_string()))?;
    if !meta.file_type().is_file() {
        let kind = if meta.file_type().is_fifo() {
            "a FIFO, "
        } else if meta.is_dir() {
            "a directory, "
        } else {
            ""
        };
        return Err(refuse(format!("is {kind}not a regular file")));
    }
    if meta.len() > MAX_DROP_BYTES as u64 {
        return Err(Error::Invalid(format!(
            "{}: {} bytes, more than the {MAX_DROP_BYTES} allowed for a drop",
            path.display(),
            meta.len()
        )));
    }
    // Room for the most a drop may hold, and the one byte that tells it is
    // more, from the start: a buffer that grew would leave unwiped copies.
    let mut content = Zeroizing::new(Vec::with_capacity(MAX_DROP_BYTES + 1));
    file.take(MAX_DROP_BYTES as u64 + 1).read_to_end(&mut content).map_err(|e| io_error(e.to_string()))?;
    if content.len() > MAX_DROP_BYTES {
        return Err(Error::Invalid(format!(
            "{}: more than the {MAX_DROP_BYTES} bytes allowed for a drop",
            path.display()
        )));
    }
    Ok(content)
}
