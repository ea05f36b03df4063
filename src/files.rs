//! Every file osconf reads or writes goes through a [`Root`] (so `--root DIR`
//! can stand in for `/`), and every write is atomic: temp file in the same
//! directory, made durable, renamed, directory synced. A reader (or a power
//! cut) sees the old file or the new one, never a torn one. A [`WriteBatch`]
//! does this for many files in a fixed number of syncs.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
        f.debug_struct("FileWrite")
            .field("path", &self.path)
            .field("mode", &format_args!("{:o}", self.mode))
            .field("content", &content)
            .finish()
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

/// Writes one file atomically: [`WriteBatch`] with a single file (temp file,
/// fsync, rename, fsync of the directory). Parent directories are created.
pub fn write_atomic(path: &Path, content: &[u8], mode: Mode) -> io::Result<()> {
    let mut batch = WriteBatch::new();
    batch.write(path, content, mode)?;
    batch.commit(|_| Ok(()))
}

/// Several files made durable together, in a fixed number of syncs whatever
/// their count, with the guarantees of one atomic write each:
/// 1. [`write`](WriteBatch::write) puts each new content in a temp file beside
///    its target (owner, mode set there); nothing visible changes yet;
/// 2. [`commit`](WriteBatch::commit) makes every temp durable (one fsync for a
///    single file, else one `syncfs` per file system), renames them into place
///    in the order written, unlinks the removals, fsyncs each directory touched
///    once, and only then renames the [`last`](WriteBatch::write_last) file.
///
/// Every temp's content is on disk before the first rename, so a crash between
/// two renames leaves each file whole: old or new. The last file (the record)
/// appears only once everything else is durable. Temps not renamed when the
/// batch fails or is dropped are removed.
#[derive(Default)]
pub struct WriteBatch {
    staged: Vec<Temp>,
    removals: Vec<PathBuf>,
    last: Option<Temp>,
}

/// A new content in its temp file beside `path`, waiting for its rename.
struct Temp {
    temp: PathBuf,
    path: PathBuf,
    file: File,
    renamed: bool,
}

impl WriteBatch {
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Stages `content` for `path`, with `mode` as the policy says.
    pub fn write(&mut self, path: &Path, content: &[u8], mode: Mode) -> io::Result<()> {
        self.staged.push(prepare_temp(path, content, mode)?);
        Ok(())
    }

    /// Stages the file renamed after every other change is durable.
    pub fn write_last(&mut self, path: &Path, content: &[u8], mode: Mode) -> io::Result<()> {
        self.last = Some(prepare_temp(path, content, mode)?);
        Ok(())
    }

    /// Removes `path` (if it is there) after the renames.
    pub fn remove(&mut self, path: &Path) {
        self.removals.push(path.to_path_buf());
    }

    /// Makes the batch durable and visible (see the type). `step` runs before
    /// each rename and removal: the fault-injection hook of the crash tests.
    /// On an error, the temps not yet renamed are removed.
    pub fn commit(mut self, mut step: impl FnMut(&Path) -> io::Result<()>) -> io::Result<()> {
        if self.staged.is_empty() && self.removals.is_empty() && self.last.is_none() {
            return Ok(());
        }
        let started = Instant::now();
        let syncs = sync_contents(self.staged.iter().chain(&self.last))?;
        let synced = Instant::now();
        let mut dirs = BTreeSet::new();
        let renames = self.staged.len() + self.removals.len();
        for temp in std::mem::take(&mut self.staged) {
            step(&temp.path)?;
            dirs.insert(temp.dir().to_path_buf());
            temp.rename()?;
        }
        for path in std::mem::take(&mut self.removals) {
            step(&path)?;
            remove_file(&path)?;
            dirs.insert(directory_of(&path).to_path_buf());
        }
        let renamed = Instant::now();
        dirs.iter().try_for_each(|dir| sync_dir(dir))?;
        let dirs_synced = Instant::now();
        if let Some(temp) = self.last.take() {
            step(&temp.path)?;
            let dir = temp.dir().to_path_buf();
            temp.rename()?;
            sync_dir(&dir)?;
        }
        let ms = |from: Instant, to: Instant| to.duration_since(from).as_secs_f64() * 1e3;
        let done = Instant::now();
        log::debug!(
            "time: sync {:.3} ms = {syncs} content sync(s) {:.3} ms + {renames} rename(s)/removal(s) {:.3} ms + {} directory fsync(s) {:.3} ms + last file {:.3} ms",
            ms(started, done),
            ms(started, synced),
            ms(synced, renamed),
            dirs.len(),
            ms(renamed, dirs_synced),
            ms(dirs_synced, done),
        );
        Ok(())
    }
}

impl Temp {
    fn dir(&self) -> &Path {
        directory_of(&self.path)
    }

    fn rename(mut self) -> io::Result<()> {
        fs::rename(&self.temp, &self.path).map_err(|e| with_path(&self.path, e))?;
        self.renamed = true;
        Ok(())
    }
}

/// A temp that never reached its rename (failure, or a batch dropped
/// unfinished) is removed: a failed apply leaves no temp file.
impl Drop for Temp {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Creates `path`'s temp file beside it with `content`, the owner, group and
/// `security.*` attributes of the file it replaces, and the mode `mode` says.
/// Nothing visible changes. The one place where a replaced file's
/// attributes are carried over to the new content (the rename then swaps
/// whole inodes).
fn prepare_temp(path: &Path, content: &[u8], mode: Mode) -> io::Result<Temp> {
    let dir = directory_of(path);
    fs::create_dir_all(dir).map_err(|e| with_path(path, e))?;
    let existing = fs::symlink_metadata(path).ok().filter(|m| m.file_type().is_file());
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let temp_prefix = format!(".{name}.osconf-");
    remove_stale_temps(dir, &temp_prefix);
    let temp = dir.join(format!("{temp_prefix}{}", std::process::id()));
    let file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(&temp).map_err(|e| with_path(path, e))?;
    // From here on, dropping `staged` removes the temp.
    let mut staged = Temp { temp, path: path.to_path_buf(), file, renamed: false };
    let result = (|| {
        staged.file.write_all(content)?;
        if let Some(meta) = &existing {
            std::os::unix::fs::fchown(&staged.file, Some(meta.uid()), Some(meta.gid()))?;
        }
        let bits = match (mode, &existing) {
            (Mode::KeepExisting(_), Some(meta)) => meta.mode() & 0o7777,
            (Mode::KeepExisting(bits) | Mode::Exact(bits), _) => bits,
        };
        staged.file.set_permissions(fs::Permissions::from_mode(bits))?;
        // After the chown: it would clear a carried security.capability.
        if existing.is_some() {
            copy_security_xattrs(path, &staged.file)?;
        }
        Ok(())
    })();
    result.map_err(|e| with_path(path, e))?;
    Ok(staged)
}

/// Makes every temp's content durable: one fsync for a single file, else one
/// `syncfs` per file system (a journal commit each, instead of one per file).
/// Returns how many syncs it took.
fn sync_contents<'a>(temps: impl Iterator<Item = &'a Temp>) -> io::Result<usize> {
    let temps: Vec<&Temp> = temps.collect();
    if let [only] = temps[..] {
        only.file.sync_all().map_err(|e| with_path(&only.path, e))?;
        return Ok(1);
    }
    let mut devices = BTreeSet::new();
    for temp in &temps {
        let device = temp.file.metadata().map_err(|e| with_path(&temp.path, e))?.dev();
        if devices.insert(device) {
            nix::unistd::syncfs(&temp.file).map_err(|e| with_path(&temp.path, e.into()))?;
        }
    }
    // syncfs reports writeback errors only since Linux 5.8: on older kernels
    // (RHEL 8's 4.18, Alibaba Cloud Linux 2's 4.19) an I/O error would pass
    // silently. Waiting on each temp's pages, already written (no I/O, no
    // device flush), reports it on every kernel.
    let flags = libc::SYNC_FILE_RANGE_WAIT_BEFORE | libc::SYNC_FILE_RANGE_WRITE | libc::SYNC_FILE_RANGE_WAIT_AFTER;
    for temp in temps {
        // SAFETY: a descriptor this Temp owns; offset 0 and length 0 mean the whole file.
        if unsafe { libc::sync_file_range(temp.file.as_raw_fd(), 0, 0, flags) } != 0 {
            return Err(with_path(&temp.path, io::Error::last_os_error()));
        }
    }
    Ok(devices.len())
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io::Error::new(e.kind(), format!("syncing directory {}: {e}", dir.display())))
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
}

fn remove_file(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            Err(io::Error::new(e.kind(), format!("removing {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
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
    let c_path = std::ffi::CString::new(from.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in path"))?;
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
        Err(e) => {
            return Err(io::Error::new(e.kind(), format!("listing the extended attributes of the old file: {e}")))
        }
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
        let is_ours = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.strip_prefix(prefix).is_some_and(|pid| pid.chars().all(|c| c.is_ascii_digit())));
        if is_ours && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Removes a file if it is there; the directory entry removal is made durable.
pub fn remove_durably(path: &Path) -> io::Result<()> {
    let mut batch = WriteBatch::new();
    batch.remove(path);
    batch.commit(|_| Ok(()))
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
        let mut left: Vec<_> =
            fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
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

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    /// Files in two directories, a removal and a last file: renamed in the
    /// order staged, the last one after everything else.
    fn batch(dir: &Path) -> WriteBatch {
        let mut batch = WriteBatch::new();
        batch.write(&dir.join("a/one"), b"one new", Mode::KeepExisting(0o644)).unwrap();
        batch.write(&dir.join("b/two"), b"two new", Mode::Exact(0o600)).unwrap();
        batch.remove(&dir.join("a/gone"));
        batch.write_last(&dir.join("c/record"), b"record new", Mode::Exact(0o600)).unwrap();
        batch
    }

    fn old_tree(name: &str) -> PathBuf {
        let dir = temp_dir(name);
        for (path, content) in
            [("a/one", "one old"), ("b/two", "two old"), ("a/gone", "gone"), ("c/record", "record old")]
        {
            fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
            fs::write(dir.join(path), content).unwrap();
        }
        dir
    }

    #[test]
    fn a_batch_renames_in_order_and_the_last_file_after_everything_else() {
        let dir = old_tree("batch");
        let staged = batch(&dir);
        // Before the commit nothing visible has changed; the temps are there.
        assert_eq!(fs::read(dir.join("a/one")).unwrap(), b"one old");
        assert_eq!(names(&dir.join("a")), [format!(".one.osconf-{}", std::process::id()), "gone".into(), "one".into()]);
        let mut order = Vec::new();
        staged
            .commit(|path| {
                order.push(path.strip_prefix(&dir).unwrap().to_str().unwrap().to_owned());
                Ok(())
            })
            .unwrap();
        assert_eq!(order, ["a/one", "b/two", "a/gone", "c/record"]);
        assert_eq!(fs::read(dir.join("a/one")).unwrap(), b"one new");
        assert_eq!(fs::read(dir.join("b/two")).unwrap(), b"two new");
        assert_eq!(fs::read(dir.join("c/record")).unwrap(), b"record new");
        assert_eq!(
            (names(&dir.join("a")), names(&dir.join("b")), names(&dir.join("c"))),
            (vec!["one".into()], vec!["two".into()], vec!["record".into()])
        );
        assert_eq!(fs::metadata(dir.join("b/two")).unwrap().mode() & 0o7777, 0o600);
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failure_between_two_renames_leaves_every_file_whole_and_no_temp() {
        for failing in 1..=4 {
            let dir = old_tree("batch-fail");
            let mut n = 0;
            let result = batch(&dir).commit(|_| {
                n += 1;
                if n == failing {
                    Err(io::Error::other("injected"))
                } else {
                    Ok(())
                }
            });
            assert!(result.is_err());
            // (file, its step, new content): what comes before the failing step is new, the rest old.
            let expected: [(&str, usize, &[u8]); 3] =
                [("a/one", 1, b"one new"), ("b/two", 2, b"two new"), ("c/record", 4, b"record new")];
            for (path, step, new) in expected {
                let now = fs::read(dir.join(path)).unwrap();
                assert_eq!(
                    now == new,
                    step < failing,
                    "failure at step {failing}: {path} is {:?}",
                    String::from_utf8_lossy(&now)
                );
            }
            assert_eq!(dir.join("a/gone").exists(), failing <= 3);
            let temps: Vec<String> =
                ["a", "b", "c"].iter().flat_map(|d| names(&dir.join(d))).filter(|n| n.contains(".osconf-")).collect();
            assert!(temps.is_empty(), "failure at step {failing}: temps left: {temps:?}");
            fs::remove_dir_all(dir).unwrap();
        }
    }

    #[test]
    fn a_batch_dropped_before_its_commit_changes_nothing() {
        let dir = old_tree("batch-drop");
        drop(batch(&dir));
        assert_eq!(names(&dir.join("a")), ["gone", "one"]);
        assert_eq!(fs::read(dir.join("c/record")).unwrap(), b"record old");
        fs::remove_dir_all(dir).unwrap();
    }
}
