//! Reading a drop file (os.conf) from its medium: never through a symbolic
//! link in any component, never from a FIFO or device, never more than the
//! size limit, into a buffer that is wiped when dropped (a drop holds the
//! password). The directory holding it stays open, so that the drop is later
//! deleted through it and nothing swapped in after the read is touched.

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::sources::osconf_format::MAX_DROP_BYTES;

use super::beneath;

/// A drop file read from its medium, and how to delete it.
#[derive(Debug)]
pub struct DropFile {
    /// Where it was read, in words.
    pub description: String,
    /// Its bytes, wiped when dropped.
    pub content: Zeroizing<Vec<u8>>,
    /// The file to delete after success; `None` for read-only media.
    pub delete_after: Option<PathBuf>,
    /// The directory holding it, opened beneath its medium's root (see the
    /// module documentation); `None` for a path given on the command line.
    pub drop_dir: Option<OwnedFd>,
}

/// Reads a drop file named on the command line: never through a symlink,
/// never from a FIFO or device (opened non-blocking, then checked to be a
/// regular file), never more than the size limit. `Ok(None)` when there is no file.
pub fn read_drop_file(path: &Path) -> Result<Option<DropFile>, Error> {
    let content = match read_regular_file(path)? {
        Some(content) => content,
        None => return Ok(None),
    };
    Ok(Some(DropFile {
        description: path.display().to_string(),
        content,
        delete_after: Some(path.to_owned()),
        drop_dir: None,
    }))
}

/// Reads the drop at `relative` (e.g. `aliyun_custom_image/os.conf`) on the
/// medium whose root is `base`, without following a symlink in any component
/// ([`beneath`]); the drop is later deleted through its directory. A symlink
/// on the way is a bad drop (exit 2), like a symlinked os.conf.
pub fn read_drop_beneath(base: &Path, relative: &Path) -> Result<Option<DropFile>, Error> {
    read_drop_beneath_with(base, relative, beneath::Resolve::Openat2)
}

pub fn read_drop_beneath_with(
    base: &Path,
    relative: &Path,
    resolve: beneath::Resolve,
) -> Result<Option<DropFile>, Error> {
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
    Ok(Some(DropFile {
        description: path.display().to_string(),
        content,
        delete_after: Some(path),
        drop_dir: Some(dir),
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
