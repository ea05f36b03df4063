//! Every file osconf reads or writes goes through a [`Root`] (so `--root DIR`
//! can stand in for `/`), and every write is atomic: temp file in the same
//! directory, fsync, rename, fsync of the directory. A reader (or a power
//! cut) sees the old file or the new one, never a torn one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The file system osconf works on: `/` on a live system, a directory in tests
/// and when an image is prepared offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    base: PathBuf,
}

impl Root {
    pub fn new(base: impl Into<PathBuf>) -> Root {
        Root { base: base.into() }
    }

    pub fn is_host(&self) -> bool {
        self.base == Path::new("/")
    }

    pub fn base(&self) -> &Path {
        &self.base
    }

    /// Maps an absolute guest path such as `/etc/shadow` into this root.
    pub fn path(&self, guest_path: impl AsRef<Path>) -> PathBuf {
        let relative = guest_path.as_ref().strip_prefix("/").unwrap_or(guest_path.as_ref());
        self.base.join(relative)
    }

    /// Reads a text file; `Ok(None)` when it does not exist.
    pub fn read_optional(&self, guest_path: &str) -> io::Result<Option<String>> {
        match fs::read_to_string(self.path(guest_path)) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(e.kind(), format!("reading {guest_path}: {e}"))),
        }
    }

    pub fn exists(&self, guest_path: &str) -> bool {
        self.path(guest_path).symlink_metadata().is_ok()
    }
}

/// One file to be written, fully computed before anything is written.
#[derive(Clone, PartialEq, Eq)]
pub struct FileWrite {
    /// Absolute guest path, e.g. `/etc/hostname`.
    pub path: String,
    pub content: Vec<u8>,
    /// Mode for a new file; an existing file keeps its own mode and owner,
    /// unless `exact_mode` (files osconf owns, whose mode matters: a
    /// NetworkManager keyfile others can read is ignored).
    pub mode: u32,
    pub exact_mode: bool,
    /// Content must never be shown (e.g. /etc/shadow).
    pub secret: bool,
}

impl FileWrite {
    pub fn new(path: impl Into<String>, content: impl Into<Vec<u8>>, mode: u32) -> FileWrite {
        FileWrite { path: path.into(), content: content.into(), mode, exact_mode: false, secret: false }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.content).into_owned()
    }
}

impl std::fmt::Debug for FileWrite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let content = if self.secret { "<secret>".to_string() } else { self.text() };
        f.debug_struct("FileWrite").field("path", &self.path).field("mode", &format_args!("{:o}", self.mode)).field("content", &content).finish()
    }
}

/// How a write sets the file's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An existing file keeps its mode, owner and group; a new one gets this.
    KeepExisting(u32),
    /// Always this mode (owner and group still kept).
    Exact(u32),
}

/// Writes `content` to `path` atomically, with `mode` as the policy says.
/// Parent directories are created.
pub fn write_atomic(path: &Path, content: &[u8], mode: Mode) -> io::Result<()> {
    let context = |e: io::Error| io::Error::new(e.kind(), format!("writing {}: {e}", path.display()));
    let dir = path.parent().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no directory"))?;
    fs::create_dir_all(dir).map_err(context)?;
    let existing = fs::symlink_metadata(path).ok().filter(|m| m.file_type().is_file());
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp_prefix = format!(".{name}.osconf-");
    remove_stale_temps(dir, &temp_prefix);
    let temp = dir.join(format!("{temp_prefix}{}", std::process::id()));
    let result = (|| {
        let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp)?;
        file.write_all(content)?;
        if let Some(meta) = &existing {
            std::os::unix::fs::fchown(&file, Some(meta.uid()), Some(meta.gid()))?;
        }
        let bits = match (mode, &existing) {
            (Mode::KeepExisting(_), Some(meta)) => meta.mode() & 0o7777,
            (Mode::KeepExisting(bits) | Mode::Exact(bits), _) => bits,
        };
        file.set_permissions(fs::Permissions::from_mode(bits))?;
        // After the chown: it would clear a carried security.capability.
        if existing.is_some() {
            copy_security_xattrs(path, &file)?;
        }
        file.sync_all()?;
        fs::rename(&temp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(context)
}

/// Gives the temp file the replaced file's `security.*` extended attributes
/// (the SELinux label `security.selinux`, also IMA/EVM, SMACK, capabilities):
/// without this, /etc/shadow renamed over from a temp file would carry the
/// temp's label (`etc_t`, not `shadow_t`) and an enforcing system would
/// refuse logins. A file that fails to get its label is not renamed in.
///
/// A new file gets nothing here: the temp was created in the same directory,
/// so the kernel gave it that directory's default context, which is what the
/// file would get if created under its own name (restorecon may still apply
/// a name-based rule of the policy; osconf's new files sit in directories
/// whose default matches their file_contexts entry: network-scripts,
/// system-connections, resolved.conf.d).
fn copy_security_xattrs(from: &Path, to: &File) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::io::AsRawFd;
    let c_path = std::ffi::CString::new(from.as_os_str().as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
    // Names, then values: each call sized by a first call with an empty buffer.
    let read = |call: &dyn Fn(*mut libc::c_void, usize) -> isize| -> io::Result<Vec<u8>> {
        loop {
            let size = call(std::ptr::null_mut(), 0);
            if size < 0 {
                return Err(io::Error::last_os_error());
            }
            let mut buf = vec![0u8; size as usize];
            let got = call(buf.as_mut_ptr().cast(), buf.len());
            if got >= 0 {
                buf.truncate(got as usize);
                return Ok(buf);
            }
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::ERANGE) {
                return Err(e); // ERANGE: it grew in between, ask again
            }
        }
    };
    // SAFETY (both calls): `c_path` is a NUL-terminated path, and `buf`/`len` a buffer of that size or null/0.
    let names = match read(&|buf, len| unsafe { libc::llistxattr(c_path.as_ptr(), buf.cast(), len) }) {
        Ok(names) => names,
        // A file system without extended attributes has no labels to keep.
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTSUP)) => return Ok(()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("listing the extended attributes of the old file: {e}"))),
    };
    for name in names.split(|&b| b == 0).filter(|n| n.starts_with(b"security.")) {
        let c_name = std::ffi::CString::new(name).expect("split at NUL");
        let shown = String::from_utf8_lossy(name);
        let value = read(&|buf, len| unsafe { libc::lgetxattr(c_path.as_ptr(), c_name.as_ptr(), buf, len) })
            .map_err(|e| io::Error::new(e.kind(), format!("reading {shown} of the old file: {e}")))?;
        // SAFETY: a valid descriptor, NUL-terminated name, and `value` as the buffer.
        if unsafe { libc::fsetxattr(to.as_raw_fd(), c_name.as_ptr(), value.as_ptr().cast(), value.len(), 0) } != 0 {
            let e = io::Error::last_os_error();
            return Err(io::Error::new(e.kind(), format!("carrying {shown} over to the new file: {e}")));
        }
    }
    Ok(())
}

/// A process killed between creating its temp file and the rename leaves the
/// temp behind; the next write of the same file (under the run lock, so no
/// other osconf is writing) removes it.
fn remove_stale_temps(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let is_ours = entry.file_name().to_str().is_some_and(|n| n.strip_prefix(prefix).is_some_and(|pid| pid.chars().all(|c| c.is_ascii_digit())));
        if is_ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes a file if it is there; the directory entry removal is made durable.
pub fn remove_durably(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io::Error::new(e.kind(), format!("removing {}: {e}", path.display()))),
    }
    File::open(directory_of(path))?.sync_all()
}

/// The directory holding `path`: "." for a bare file name, whose parent is "".
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("osconf-files-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn root_maps_guest_paths() {
        let root = Root::new("/tmp/img");
        assert_eq!(root.path("/etc/shadow"), PathBuf::from("/tmp/img/etc/shadow"));
        assert_eq!(Root::new("/").path("/etc/shadow"), PathBuf::from("/etc/shadow"));
    }

    #[test]
    fn new_file_gets_mode_existing_keeps_its_own_unless_exact() {
        let dir = temp_dir("mode");
        let path = dir.join("sub/f");
        write_atomic(&path, b"one", Mode::KeepExisting(0o640)).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&path, b"two", Mode::KeepExisting(0o644)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"three", Mode::Exact(0o600)).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
        let leftovers: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("f")]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_temp_file_left_by_a_killed_run_is_removed_by_the_next_write() {
        let dir = temp_dir("stale");
        let path = dir.join("f");
        fs::write(dir.join(".f.osconf-999999"), b"half").unwrap();
        fs::write(dir.join(".g.osconf-999999"), b"another file's").unwrap();
        write_atomic(&path, b"new", Mode::KeepExisting(0o644)).unwrap();
        let mut left: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, [".g.osconf-999999", "f"]);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = temp_dir("fail");
        let path = dir.join("f");
        write_atomic(&path, b"old", Mode::KeepExisting(0o644)).unwrap();
        // The temp name is taken by a directory: create_new fails before the rename.
        fs::create_dir(dir.join(format!(".f.osconf-{}", std::process::id()))).unwrap();
        assert!(write_atomic(&path, b"new", Mode::KeepExisting(0o644)).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"old");
        fs::remove_dir_all(dir).unwrap();
    }
}
