//! The parts of an image's file systems that the check items read, copied
//! into a private temporary directory so that the very same items run on an
//! image as on `--root DIR`. Only what the items look at is copied: /etc
//! (content), the names in the directories of programs and units (empty
//! files: the items ask whether a program exists), /boot's kernel configs and
//! initramfs, os-release, root's keys.
//!
//! The image is hostile: names with `/` or NUL, `.` and `..` are skipped;
//! links are recreated as links, never followed while writing (every parent
//! is checked to be a real directory first), and are resolved only inside the
//! image's file system; the copy is bounded in entries and bytes.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::fs::{FileSystem, Kind};

/// How much of a path is copied.
#[derive(Clone, Copy)]
pub enum Copy {
    /// The entries of a directory, as empty files, directories and links.
    Names,
    /// A file, or a directory tree to this depth, with content (files up to `max` bytes; larger ones empty).
    Content { depth: u8, max: u64 },
}

/// What the items read, from the root file system.
/// Files with content come first: a name copied before would stay an empty
/// file (nothing already copied is written again).
pub const FROM_ROOT: &[(&str, Copy)] = &[
    // /bin/sh's ELF header tells the image's machine.
    ("/bin/sh", Copy::Content { depth: 0, max: 4 << 20 }),
    ("/etc", Copy::Content { depth: 8, max: 1 << 20 }),
    ("/usr/lib/os-release", Copy::Content { depth: 0, max: 1 << 16 }),
    ("/root/.ssh", Copy::Content { depth: 1, max: 1 << 20 }),
    ("/lib/systemd/network", Copy::Content { depth: 1, max: 1 << 16 }),
    ("/usr/lib/systemd/network", Copy::Content { depth: 1, max: 1 << 16 }),
    ("/", Copy::Names),
    ("/usr", Copy::Names),
    ("/usr/lib", Copy::Names),
    ("/bin", Copy::Names),
    ("/sbin", Copy::Names),
    ("/usr/bin", Copy::Names),
    ("/usr/sbin", Copy::Names),
    ("/usr/local/bin", Copy::Names),
    ("/usr/local/sbin", Copy::Names),
    ("/usr/libexec", Copy::Names),
    ("/usr/libexec/netplan", Copy::Names),
    ("/lib/netplan", Copy::Names),
    ("/usr/lib/netplan", Copy::Names),
    ("/lib/systemd", Copy::Names),
    ("/usr/lib/systemd", Copy::Names),
    ("/lib/rc/bin", Copy::Names),
    ("/usr/lib/rc/bin", Copy::Names),
];

/// Names under /boot whose content is copied: kernel configs and initramfs.
fn boot_content(name: &[u8]) -> bool {
    [&b"config-"[..], b"initrd", b"initramfs-"].iter().any(|p| name.starts_with(p))
}

/// /lib/modules/VERSION/modules.builtin: which modules a kernel has built in.
pub const MODULES: [&str; 2] = ["/lib/modules", "/usr/lib/modules"];

const MAX_ENTRIES: usize = 200_000;
const MAX_BYTES: u64 = 2 << 30;
const MAX_DIR_ENTRIES: usize = 100_000;

/// A private temporary directory holding the copy; removed when dropped.
pub struct Tree {
    dir: PathBuf,
    entries: usize,
    bytes: u64,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Tree {
    pub fn new() -> io::Result<Tree> {
        static COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = scratch_base(std::env::var_os("TMPDIR"), Path::new("/dev/shm").is_dir());
        let dir = base.join(format!("osconf-check-{}-{n}", std::process::id()));
        fs::DirBuilder::new().mode(0o700).create(&dir)?;
        Ok(Tree { dir, entries: 0, bytes: 0 })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Copies `what` of `fs`, which the image mounts at `at` ("/" or "/boot").
    pub fn copy(&mut self, fs: &dyn FileSystem, at: &str, what: &[(&str, Copy)]) -> io::Result<()> {
        for (path, how) in what {
            // A damaged part is a warning: the items judge what could be read.
            let copied = self.resolve(fs, at, path.as_bytes()).and_then(|found| match found {
                Some((inode, canonical)) => self.copy_node(fs, at, inode, &canonical, *how, 0),
                None => Ok(()),
            });
            if let Err(e) = copied {
                log::warn!("{path} in the image cannot be read whole: {e}");
            }
        }
        Ok(())
    }

    /// /boot's names, its kernel configs and initramfs, and each kernel's modules.builtin.
    pub fn copy_boot(&mut self, fs: &dyn FileSystem, at: &str) -> io::Result<()> {
        if let Some((inode, canonical)) = self.resolve(fs, at, if at == "/" { b"/boot" } else { b"/" })? {
            for entry in fs.read_dir(inode, MAX_DIR_ENTRIES)? {
                if !safe_name(&entry.name) {
                    continue;
                }
                let mut path = canonical.clone();
                path.push(entry.name.clone());
                let how =
                    if boot_content(&entry.name) { Copy::Content { depth: 0, max: 1 << 30 } } else { Copy::Names };
                self.copy_node(fs, at, entry.inode, &path, how, 1)?;
            }
        }
        Ok(())
    }

    /// Each kernel's modules.builtin under /lib/modules (root file system only).
    pub fn copy_modules_builtin(&mut self, fs: &dyn FileSystem) -> io::Result<()> {
        for dir in MODULES {
            let Some((inode, _)) = self.resolve(fs, "/", dir.as_bytes())? else { continue };
            for entry in fs.read_dir(inode, 1000)?.into_iter().filter(|e| safe_name(&e.name)) {
                let path = format!("{}/{}/modules.builtin", dir, String::from_utf8_lossy(&entry.name));
                if let Some((inode, canonical)) = self.resolve(fs, "/", path.as_bytes())? {
                    self.copy_node(fs, "/", inode, &canonical, Copy::Content { depth: 0, max: 1 << 20 }, 0)?;
                }
            }
        }
        Ok(())
    }

    /// Follows `path` in `fs` from its root ([`super::walk`]), recreating
    /// the links on the way; the inode and its link-free path (in the image).
    fn resolve(&mut self, fs: &dyn FileSystem, at: &str, path: &[u8]) -> io::Result<Option<(u64, Vec<Vec<u8>>)>> {
        super::walk(fs, path, &mut |own, target| self.make_link(at, own, target))
    }

    /// Copies one node; a directory's entries too, one level for `Names`,
    /// `depth` levels for `Content`.
    fn copy_node(
        &mut self,
        fs: &dyn FileSystem,
        at: &str,
        inode: u64,
        path: &[Vec<u8>],
        how: Copy,
        level: u8,
    ) -> io::Result<()> {
        self.entries += 1;
        if self.entries > MAX_ENTRIES {
            return Err(io::Error::other(format!("more than {MAX_ENTRIES} files to copy")));
        }
        let stat = fs.stat(inode)?;
        match stat.kind {
            Kind::Dir => {
                self.make_dir(at, path)?;
                let descend = match how {
                    Copy::Names => level == 0,
                    Copy::Content { depth, .. } => level < depth,
                };
                if descend {
                    for entry in fs.read_dir(inode, MAX_DIR_ENTRIES)?.into_iter().filter(|e| safe_name(&e.name)) {
                        let mut child = path.to_vec();
                        child.push(entry.name);
                        self.copy_node(fs, at, entry.inode, &child, how, level + 1)?;
                    }
                }
            }
            Kind::Symlink => {
                let target = fs.read_link(inode)?;
                self.make_link(at, path, &target)?;
            }
            Kind::File => {
                let content = match how {
                    Copy::Content { max, .. }
                        if stat.size <= max && self.bytes.saturating_add(stat.size) <= MAX_BYTES =>
                    {
                        self.bytes += stat.size;
                        fs.read_file(inode, max)?
                    }
                    _ => Vec::new(),
                };
                self.make_file(at, path, &content)?;
            }
            Kind::Other => {}
        }
        Ok(())
    }

    /// The host path of an image path, its parents created as real directories.
    fn place(&self, at: &str, path: &[Vec<u8>]) -> io::Result<Option<PathBuf>> {
        let mut host = self.dir.clone();
        for name in components(at.as_bytes()).iter().chain(path.iter().take(path.len().saturating_sub(1))) {
            host.push(std::ffi::OsStr::from_bytes(name));
            match fs::symlink_metadata(&host) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => return Ok(None), // a link or file where a directory should be: never followed
                Err(e) if e.kind() == io::ErrorKind::NotFound => fs::DirBuilder::new().mode(0o700).create(&host)?,
                Err(e) => return Err(e),
            }
        }
        Ok(Some(match path.last() {
            Some(name) => host.join(std::ffi::OsStr::from_bytes(name)),
            None => host,
        }))
    }

    fn make_dir(&self, at: &str, path: &[Vec<u8>]) -> io::Result<()> {
        if let Some(host) = self.place(at, path)? {
            match fs::DirBuilder::new().mode(0o700).create(&host) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn make_link(&self, at: &str, path: &[Vec<u8>], target: &[u8]) -> io::Result<()> {
        if target.contains(&0) || path.is_empty() {
            return Ok(());
        }
        if let Some(host) = self.place(at, path)? {
            match std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), &host) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn make_file(&self, at: &str, path: &[Vec<u8>], content: &[u8]) -> io::Result<()> {
        if let Some(host) = self.place(at, path)? {
            let file =
                OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(&host);
            match file {
                Ok(mut file) => file.write_all(content)?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Where the copy goes: `$TMPDIR` when set, else memory (`/dev/shm`), else
/// /tmp. Hundreds of small files made and removed on a busy disk cost
/// twenty times the check itself (docs/benchmarks.md, issue 28).
fn scratch_base(tmpdir: Option<std::ffi::OsString>, shm: bool) -> PathBuf {
    match tmpdir.filter(|t| !t.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None if shm => PathBuf::from("/dev/shm"),
        None => std::env::temp_dir(),
    }
}

/// A name that can be a file name here: not empty, no `/` or NUL, not `.` or `..`.
fn safe_name(name: &[u8]) -> bool {
    !name.is_empty() && name != b"." && name != b".." && !name.contains(&b'/') && !name.contains(&0)
}

fn components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").map(<[u8]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_goes_to_tmpdir_else_memory() {
        assert_eq!(scratch_base(Some("/var/tmp".into()), true), PathBuf::from("/var/tmp"));
        assert_eq!(scratch_base(None, true), PathBuf::from("/dev/shm"));
        assert_eq!(scratch_base(Some("".into()), true), PathBuf::from("/dev/shm"));
        assert_eq!(scratch_base(None, false), std::env::temp_dir());
    }
}
