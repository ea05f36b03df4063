//! Every file osconf reads or writes goes through a [`Root`] (so `--root DIR`
//! can stand in for `/`), and every write is atomic: temp file in the same
//! directory, made durable, renamed, directory synced. A reader (or a power
//! cut) sees the old file or the new one, never a torn one. A [`WriteBatch`]
//! does this for many files in a fixed number of syncs.
//!
//! Under `--root` every path is resolved beneath the root, one component at
//! a time without letting the kernel follow a symbolic link: a link is read
//! and followed as the image means it (an absolute target from the image's
//! root, `..` never above it, as `openat2`'s `RESOLVE_IN_ROOT` does; the walk
//! also works on kernels before 5.6). A link whose target is not in the image
//! (`etc -> /etc` of the build host, `hosts -> /home/me/secret`) is refused
//! with an error naming it: nothing outside the root is ever read or written.
//! Each operation then works on the directory found that way (`openat`,
//! `renameat`, `unlinkat`), never on a path the kernel would resolve again.
//! On the host's own root (`/`) paths resolve as they always did.
//!
//! Image files are bytes: [`Root::read_optional`] decodes them losslessly
//! (see [`text_of`]), so one byte that is not UTF-8 in a line osconf does not
//! own neither fails the apply nor changes, and a [`FileWrite`] made from
//! such text writes the same byte back.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::{openat, renameat, AtFlags, OFlag};
use nix::sys::stat::{fstatat, mkdirat, FileStat, Mode as Perm, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

/// The file system osconf works on: `/` on a live system, a directory in tests
/// and when an image is prepared offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    base: PathBuf,
}

/// Most symbolic links followed on one path (the kernel's MAXSYMLINKS).
const MAX_LINKS: usize = 40;

/// A path found beneath the root: the open directory holding it and its
/// name there (the file itself may not exist yet).
struct Located {
    dir: File,
    name: OsString,
}

/// One entry of a directory listed by [`Root::read_dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The file name (lossy where it is not UTF-8).
    pub name: String,
    /// A regular file itself (a symbolic link is not).
    pub is_file: bool,
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

    /// Where an absolute guest path such as `/etc/shadow` lies on the host,
    /// for messages and for tools given a path: never to be opened, since
    /// the kernel would follow the image's links out of the root. Every
    /// access goes through the methods below.
    pub fn path(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> PathBuf {
        let relative = guest_path.as_ref().strip_prefix("/").unwrap_or(guest_path.as_ref());
        self.base.join(relative)
    }

    /// Reads a file's bytes; `Ok(None)` when it does not exist.
    pub fn read_bytes(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> io::Result<Option<Vec<u8>>> {
        let guest = guest_path.as_ref();
        let Some(mut file) = self.open(guest)? else { return Ok(None) };
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| with_context("reading", guest, e))?;
        Ok(Some(bytes))
    }

    /// Reads a text file, losslessly ([`text_of`]); `Ok(None)` when it does
    /// not exist. A line that is not UTF-8 is named in a log line.
    pub fn read_optional(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> io::Result<Option<String>> {
        let guest = guest_path.as_ref();
        let Some(bytes) = self.read_bytes(guest)? else { return Ok(None) };
        if let Some(line) = bytes.split(|&b| b == b'\n').position(|line| std::str::from_utf8(line).is_err()) {
            log::info!("{}: line {} is not UTF-8: its bytes are kept as they are", guest.display(), line + 1);
        }
        Ok(Some(text_of(&bytes)))
    }

    /// Opens a regular file for reading; `Ok(None)` when it does not exist.
    pub fn open(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> io::Result<Option<File>> {
        let guest = guest_path.as_ref();
        let located = match self.locate(guest, true, false) {
            Ok(located) => located,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(with_context("reading", guest, e)),
        };
        // Never blocking on a FIFO; the file must be a regular one.
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | self.no_follow();
        let file = match openat(&located.dir, located.name.as_os_str(), flags, Perm::empty()) {
            Ok(fd) => File::from(fd),
            Err(Errno::ENOENT) => return Ok(None),
            Err(e) => return Err(with_context("reading", guest, e.into())),
        };
        let meta = file.metadata().map_err(|e| with_context("reading", guest, e))?;
        if !meta.is_file() {
            return Err(io::Error::other(format!("reading {}: not a regular file", guest.display())));
        }
        Ok(Some(file))
    }

    /// Whether anything is at this path (a dangling link too: not followed).
    pub fn exists(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> bool {
        matches!(self.stat(guest_path.as_ref(), false), Ok(Some(_)))
    }

    /// A regular file, or a link (inside the image) to one.
    pub fn is_file(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> bool {
        self.file_kind(guest_path.as_ref(), true) == Some(SFlag::S_IFREG)
    }

    /// A directory, or a link (inside the image) to one.
    pub fn is_dir(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> bool {
        self.file_kind(guest_path.as_ref(), true) == Some(SFlag::S_IFDIR)
    }

    /// The path itself is a symbolic link.
    pub fn is_symlink(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> bool {
        self.file_kind(guest_path.as_ref(), false) == Some(SFlag::S_IFLNK)
    }

    /// A symbolic link's target as written in it; `None` for anything else.
    pub fn read_link(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> Option<PathBuf> {
        let located = self.locate(guest_path.as_ref(), false, false).ok()?;
        nix::fcntl::readlinkat(&located.dir, located.name.as_os_str()).ok().map(PathBuf::from)
    }

    /// The entries of a directory ("." and ".." left out), in no set order.
    pub fn read_dir(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> io::Result<Vec<DirEntry>> {
        let guest = guest_path.as_ref();
        let dir = self.open_dir(guest).map_err(|e| with_context("listing", guest, e))?;
        let mut listing = nix::dir::Dir::from_fd(dir.into()).map_err(|e| with_context("listing", guest, e.into()))?;
        let fd = listing.as_fd().try_clone_to_owned()?;
        let mut entries = Vec::new();
        for entry in listing.iter() {
            let entry = entry.map_err(|e| with_context("listing", guest, e.into()))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let is_file = match entry.file_type() {
                Some(kind) => kind == nix::dir::Type::File,
                // A file system without d_type: asked, not following a link.
                None => fstatat(&fd, name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok_and(|s| kind_of(&s) == SFlag::S_IFREG),
            };
            entries.push(DirEntry { name: String::from_utf8_lossy(name).into_owned(), is_file });
        }
        Ok(entries)
    }

    /// Opens a directory (following links inside the image).
    pub fn open_dir(&self, guest_path: &(impl AsRef<Path> + ?Sized)) -> io::Result<File> {
        let guest = guest_path.as_ref();
        if guest.parent().is_none() {
            return open_base(&self.base);
        }
        let located = self.locate(guest, true, false)?;
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC | self.no_follow();
        Ok(File::from(openat(&located.dir, located.name.as_os_str(), flags, Perm::empty())?))
    }

    /// Creates a directory with `mode` and `owner` where it is missing (its
    /// parents as plain directories); an existing one is left as it is.
    pub fn create_dir(&self, guest_path: &(impl AsRef<Path> + ?Sized), mode: u32, owner: (u32, u32)) -> io::Result<()> {
        let guest = guest_path.as_ref();
        let located = self.locate(guest, true, true).map_err(|e| with_context("creating", guest, e))?;
        match mkdirat(&located.dir, located.name.as_os_str(), Perm::from_bits_truncate(mode)) {
            Ok(()) => {}
            Err(Errno::EEXIST) => return Ok(()),
            Err(e) => return Err(with_context("creating", guest, e.into())),
        }
        let dir = self.open_dir(guest).map_err(|e| with_context("creating", guest, e))?;
        std::os::unix::fs::fchown(&dir, Some(owner.0), Some(owner.1))
            .map_err(|e| with_context("creating", guest, e))?;
        // mkdir's mode went through the umask.
        dir.set_permissions(fs::Permissions::from_mode(mode)).map_err(|e| with_context("creating", guest, e))
    }

    /// Sets the mode of a file or directory (following links inside the image).
    pub fn set_mode(&self, guest_path: &(impl AsRef<Path> + ?Sized), mode: u32) -> io::Result<()> {
        let guest = guest_path.as_ref();
        let located = self.locate(guest, true, false).map_err(|e| with_context("changing the mode of", guest, e))?;
        let flags = OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | self.no_follow();
        let file = File::from(
            openat(&located.dir, located.name.as_os_str(), flags, Perm::empty())
                .map_err(|e| with_context("changing the mode of", guest, e.into()))?,
        );
        file.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| with_context("changing the mode of", guest, e))
    }

    /// Opens a lock file for writing, created (`mode`, parents too) when missing.
    pub fn open_lock_file(&self, guest_path: &(impl AsRef<Path> + ?Sized), mode: u32) -> io::Result<File> {
        let guest = guest_path.as_ref();
        let located = self.locate(guest, false, true).map_err(|e| with_context("opening", guest, e))?;
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_CLOEXEC | self.no_follow();
        openat(&located.dir, located.name.as_os_str(), flags, Perm::from_bits_truncate(mode))
            .map(File::from)
            .map_err(|e| with_context("opening", guest, e.into()))
    }

    /// The file's status, the last component followed or not; `None` when missing.
    fn stat(&self, guest: &Path, follow: bool) -> io::Result<Option<FileStat>> {
        let located = match self.locate(guest, follow, false) {
            Ok(located) => located,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let flags = if follow && self.is_host() { AtFlags::empty() } else { AtFlags::AT_SYMLINK_NOFOLLOW };
        match fstatat(&located.dir, located.name.as_os_str(), flags) {
            Ok(stat) => Ok(Some(stat)),
            Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn file_kind(&self, guest: &Path, follow: bool) -> Option<SFlag> {
        self.stat(guest, follow).ok().flatten().map(|s| kind_of(&s))
    }

    /// On the host the kernel follows links as it always did; beneath
    /// another root [`locate`](Root::locate) has followed them already, so
    /// a link found now was swapped in since: not followed.
    fn no_follow(&self) -> OFlag {
        if self.is_host() {
            OFlag::empty()
        } else {
            OFlag::O_NOFOLLOW
        }
    }

    /// Finds `guest`'s directory and name beneath the root: links in the
    /// directories always followed (as the image means them), the last
    /// component's only with `follow`; missing directories created with
    /// `create_dirs`. A missing last component is no error (the caller
    /// tells); a missing directory is `NotFound`.
    fn locate(&self, guest: &Path, follow: bool, create_dirs: bool) -> io::Result<Located> {
        if self.is_host() {
            let path = self.path(guest);
            let name = path.file_name().ok_or_else(|| not_a_file(guest))?.to_owned();
            let dir = directory_of(&path);
            if create_dirs {
                fs::create_dir_all(dir)?;
            }
            return Ok(Located { dir: open_base(dir)?, name });
        }
        if create_dirs {
            // The root itself is the caller's: made as a plain path.
            fs::create_dir_all(&self.base)?;
        }
        let mut dirs: Vec<(File, PathBuf)> = vec![(open_base(&self.base)?, PathBuf::from("/"))];
        let mut todo: VecDeque<OsString> = components(guest);
        // Links being walked: the link, its target, and how many components
        // come after the target's (all of them once the target is walked).
        let mut walking: Vec<(PathBuf, PathBuf, usize)> = Vec::new();
        let mut links = 0;
        while let Some(name) = todo.pop_front() {
            walking.retain(|(_, _, after)| todo.len() + 1 > *after);
            let last = todo.is_empty();
            let (dir, shown_dir) = dirs.last().expect("the root is never popped");
            let shown = shown_dir.join(&name);
            if name == ".." || name == "." {
                if name == ".." && dirs.len() > 1 {
                    dirs.pop();
                }
                if last {
                    // A link to a directory ending in `.` or `..`: that directory.
                    let (dir, _) = dirs.last().expect("the root is never popped");
                    return Ok(Located { dir: dir.try_clone()?, name: OsString::from(".") });
                }
                continue;
            }
            if last && !follow {
                return Ok(Located { dir: dir.try_clone()?, name });
            }
            let escape = |walking: &[(PathBuf, PathBuf, usize)]| {
                walking.first().map(|(link, target, _)| {
                    io::Error::other(format!(
                        "{} is a symbolic link to {}, which is not in the image {}: not followed",
                        link.display(),
                        target.display(),
                        self.base.display()
                    ))
                })
            };
            let kind = match fstatat(dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(stat) => kind_of(&stat),
                Err(Errno::ENOENT) => {
                    if let Some(e) = escape(&walking) {
                        return Err(e);
                    }
                    if last {
                        return Ok(Located { dir: dir.try_clone()?, name });
                    }
                    if !create_dirs {
                        return Err(io::Error::new(
                            io::ErrorKind::NotFound,
                            format!("{} does not exist", shown.display()),
                        ));
                    }
                    match mkdirat(dir, name.as_os_str(), Perm::from_bits_truncate(0o777)) {
                        Ok(()) | Err(Errno::EEXIST) => SFlag::S_IFDIR,
                        Err(e) => return Err(errno(e, format!("creating {}", shown.display()))),
                    }
                }
                Err(e) => return Err(errno(e, shown.display().to_string())),
            };
            if kind == SFlag::S_IFLNK {
                links += 1;
                let target = PathBuf::from(nix::fcntl::readlinkat(dir, name.as_os_str())?);
                if links > MAX_LINKS {
                    return Err(io::Error::other(format!(
                        "{} is a symbolic link to {}: too many levels of links, not followed",
                        walking.first().map_or(&shown, |(link, _, _)| link).display(),
                        target.display()
                    )));
                }
                walking.push((shown, target.clone(), todo.len()));
                if target.is_absolute() {
                    dirs.truncate(1);
                }
                for component in components(&target).into_iter().rev() {
                    todo.push_front(component);
                }
                continue;
            }
            if last {
                return Ok(Located { dir: dir.try_clone()?, name });
            }
            if kind != SFlag::S_IFDIR {
                return Err(errno(Errno::ENOTDIR, shown.display().to_string()));
            }
            let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
            let next = openat(dir, name.as_os_str(), flags, Perm::empty())
                .map_err(|e| errno(e, shown.display().to_string()))?;
            dirs.push((File::from(next), shown));
        }
        Err(not_a_file(guest))
    }
}

/// The components of a path, `..` kept (resolved against the directories
/// walked), the root and `.` left out.
fn components(path: &Path) -> VecDeque<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_owned()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

fn open_base(dir: &Path) -> io::Result<File> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    nix::fcntl::open(dir, flags, Perm::empty()).map(File::from).map_err(|e| errno(e, dir.display().to_string()))
}

fn kind_of(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits())
}

fn not_a_file(guest: &Path) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("{}: not a file's path", guest.display()))
}

/// An errno as an `io::Error` of its kind, saying what failed.
fn errno(e: Errno, what: String) -> io::Error {
    io::Error::new(io::Error::from(e).kind(), format!("{what}: {e}"))
}

fn with_context(doing: &str, guest: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{doing} {}: {e}", guest.display()))
}

/// The first of 256 code points (the last 256 of Unicode, private use) that
/// stand for the bytes of an image file that are not UTF-8, as PEP 383's
/// `surrogateescape` does with surrogates (which a Rust string cannot hold).
const BYTE_ESCAPES: u32 = 0x10FF00;

/// An image file's bytes as text, losslessly: a byte that is not part of
/// valid UTF-8 becomes `BYTE_ESCAPES + byte`, and so does each byte of a
/// (rare) character of that range, so that [`bytes_of`] gives back exactly
/// the bytes read. The editors work on lines; a line they do not own keeps
/// its bytes whatever they are.
pub fn text_of(bytes: &[u8]) -> String {
    let escape =
        |out: &mut String, byte: u8| out.push(char::from_u32(BYTE_ESCAPES + u32::from(byte)).expect("below U+10FFFF"));
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if u32::from(c) >= BYTE_ESCAPES {
                c.encode_utf8(&mut [0; 4]).bytes().for_each(|b| escape(&mut out, b));
            } else {
                out.push(c);
            }
        }
        chunk.invalid().iter().for_each(|&b| escape(&mut out, b));
    }
    out
}

/// The bytes [`text_of`] read: each escape back to its byte.
pub fn bytes_of(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        match u32::from(c).checked_sub(BYTE_ESCAPES) {
            Some(byte) => out.push(byte as u8),
            None => out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out
}

/// A file's new content: text (an image file's, as [`text_of`] read it, or
/// osconf's own) is written as [`bytes_of`] it; bytes as they are.
pub trait Content {
    fn into_bytes(self) -> Vec<u8>;
}

impl Content for String {
    fn into_bytes(self) -> Vec<u8> {
        bytes_of(&self)
    }
}

impl Content for &str {
    fn into_bytes(self) -> Vec<u8> {
        bytes_of(self)
    }
}

impl Content for &String {
    fn into_bytes(self) -> Vec<u8> {
        bytes_of(self)
    }
}

impl Content for Vec<u8> {
    fn into_bytes(self) -> Vec<u8> {
        self
    }
}

impl Content for &[u8] {
    fn into_bytes(self) -> Vec<u8> {
        self.to_vec()
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
    pub fn new(path: impl Into<String>, content: impl Content, mode: u32) -> FileWrite {
        FileWrite { path: path.into(), content: content.into_bytes(), mode, exact_mode: false, secret: false }
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
pub fn write_atomic(
    root: &Root,
    guest_path: &(impl AsRef<Path> + ?Sized),
    content: &[u8],
    mode: Mode,
) -> io::Result<()> {
    let mut batch = WriteBatch::new();
    batch.write(root, guest_path, content, mode)?;
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
/// batch fails or is dropped are removed. Each file is found beneath its
/// [`Root`] when it is staged, and renamed or removed in the directory found
/// then: a file that is itself a symbolic link is replaced, never written
/// through.
#[derive(Default)]
pub struct WriteBatch {
    staged: Vec<Temp>,
    removals: Vec<Removal>,
    last: Option<Temp>,
    /// The directories open for the files staged, one descriptor each.
    dirs: Dirs,
}

/// Open directories by identity (device, inode), shared by the files in them.
type Dirs = BTreeMap<(u64, u64), Rc<File>>;

/// One open directory for all the files of the batch in it.
fn share(dirs: &mut Dirs, dir: File) -> io::Result<((u64, u64), Rc<File>)> {
    let meta = dir.metadata()?;
    let id = (meta.dev(), meta.ino());
    Ok((id, dirs.entry(id).or_insert_with(|| Rc::new(dir)).clone()))
}

/// A new content in its temp file beside its target, waiting for its rename.
struct Temp {
    dir: Rc<File>,
    dir_id: (u64, u64),
    temp: OsString,
    name: OsString,
    /// The target's host path, for messages and the fault-injection hook.
    path: PathBuf,
    file: File,
    renamed: bool,
}

/// A file to remove: its directory, its name there, its host path.
struct Removal {
    dir: Rc<File>,
    dir_id: (u64, u64),
    name: OsString,
    path: PathBuf,
}

impl WriteBatch {
    pub fn new() -> WriteBatch {
        WriteBatch::default()
    }

    /// Stages `content` for `guest_path` in `root`, with `mode` as the policy says.
    pub fn write(
        &mut self,
        root: &Root,
        guest_path: &(impl AsRef<Path> + ?Sized),
        content: &[u8],
        mode: Mode,
    ) -> io::Result<()> {
        self.staged.push(prepare_temp(root, guest_path.as_ref(), content, mode, &mut self.dirs)?);
        Ok(())
    }

    /// Stages the file renamed after every other change is durable.
    pub fn write_last(
        &mut self,
        root: &Root,
        guest_path: &(impl AsRef<Path> + ?Sized),
        content: &[u8],
        mode: Mode,
    ) -> io::Result<()> {
        self.last = Some(prepare_temp(root, guest_path.as_ref(), content, mode, &mut self.dirs)?);
        Ok(())
    }

    /// Removes `guest_path` (if it is there) after the renames.
    pub fn remove(&mut self, root: &Root, guest_path: &(impl AsRef<Path> + ?Sized)) -> io::Result<()> {
        let guest = guest_path.as_ref();
        let path = root.path(guest);
        match root.locate(guest, false, false) {
            Ok(Located { dir, name }) => {
                let (dir_id, dir) = share(&mut self.dirs, dir).map_err(|e| with_path(&path, e))?;
                self.removals.push(Removal { dir, dir_id, name, path })
            }
            // No directory, so no file to remove.
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("removing {}: {e}", path.display()))),
        }
        Ok(())
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
        // Each directory touched, once.
        let mut dirs: BTreeMap<(u64, u64), (Rc<File>, PathBuf)> = BTreeMap::new();
        let mut touched = |id: (u64, u64), dir: &Rc<File>, path: &Path| {
            dirs.entry(id).or_insert_with(|| (dir.clone(), directory_of(path).to_path_buf()));
        };
        let renames = self.staged.len() + self.removals.len();
        for temp in std::mem::take(&mut self.staged) {
            step(&temp.path)?;
            touched(temp.dir_id, &temp.dir, &temp.path);
            temp.rename()?;
        }
        for removal in std::mem::take(&mut self.removals) {
            step(&removal.path)?;
            remove_file(&removal)?;
            touched(removal.dir_id, &removal.dir, &removal.path);
        }
        let renamed = Instant::now();
        dirs.values().try_for_each(|(dir, path)| sync_dir(dir, path))?;
        let dirs_synced = Instant::now();
        if let Some(temp) = self.last.take() {
            step(&temp.path)?;
            let dir = temp.dir.clone();
            let path = temp.path.clone();
            temp.rename()?;
            sync_dir(&dir, directory_of(&path))?;
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
    fn rename(mut self) -> io::Result<()> {
        renameat(&self.dir, self.temp.as_os_str(), &self.dir, self.name.as_os_str())
            .map_err(|e| with_path(&self.path, e.into()))?;
        self.renamed = true;
        Ok(())
    }
}

/// A temp that never reached its rename (failure, or a batch dropped
/// unfinished) is removed: a failed apply leaves no temp file.
impl Drop for Temp {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = unlinkat(&self.dir, self.temp.as_os_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// Creates the temp file beside `guest` (found beneath `root`, its missing
/// directories created) with `content`, the owner, group and `security.*`
/// attributes of the file it replaces, and the mode `mode` says. Nothing
/// visible changes. The one place where a replaced file's attributes are
/// carried over to the new content (the rename then swaps whole inodes).
fn prepare_temp(root: &Root, guest: &Path, content: &[u8], mode: Mode, dirs: &mut Dirs) -> io::Result<Temp> {
    let path = root.path(guest);
    let Located { dir, name } = root.locate(guest, false, true).map_err(|e| with_path(&path, e))?;
    let (dir_id, dir) = share(dirs, dir).map_err(|e| with_path(&path, e))?;
    let existing =
        fstatat(&dir, name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ok().filter(|s| kind_of(s) == SFlag::S_IFREG);
    let temp_prefix = format!(".{}.osconf-", name.to_str().unwrap_or("file"));
    remove_stale_temps(&dir, &temp_prefix);
    let temp = OsString::from(format!("{temp_prefix}{}", std::process::id()));
    let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let file = openat(&dir, temp.as_os_str(), flags, Perm::from_bits_truncate(0o600))
        .map(File::from)
        .map_err(|e| with_path(&path, e.into()))?;
    // From here on, dropping `staged` removes the temp.
    let mut staged = Temp { dir, dir_id, temp, name, path, file, renamed: false };
    let result = (|| {
        staged.file.write_all(content)?;
        if let Some(meta) = &existing {
            std::os::unix::fs::fchown(&staged.file, Some(meta.st_uid), Some(meta.st_gid))?;
        }
        let bits = match (mode, &existing) {
            (Mode::KeepExisting(_), Some(meta)) => meta.st_mode & 0o7777,
            (Mode::KeepExisting(bits) | Mode::Exact(bits), _) => bits,
        };
        staged.file.set_permissions(fs::Permissions::from_mode(bits))?;
        // After the chown: it would clear a carried security.capability.
        if existing.is_some() {
            let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
            let old = File::from(openat(&staged.dir, staged.name.as_os_str(), flags, Perm::empty())?);
            copy_security_xattrs(&old, &staged.file)?;
        }
        Ok(())
    })();
    result.map_err(|e| with_path(&staged.path, e))?;
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

fn sync_dir(dir: &File, shown: &Path) -> io::Result<()> {
    dir.sync_all().map_err(|e| io::Error::new(e.kind(), format!("syncing directory {}: {e}", shown.display())))
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
}

fn remove_file(removal: &Removal) -> io::Result<()> {
    match unlinkat(&removal.dir, removal.name.as_os_str(), UnlinkatFlags::NoRemoveDir) {
        Err(e) if e != Errno::ENOENT => Err(errno(e, format!("removing {}", removal.path.display()))),
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
fn copy_security_xattrs(from: &File, to: &File) -> io::Result<()> {
    let from = from.as_raw_fd();
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
    // SAFETY (both calls): `from` is an open descriptor, and `buf`/`len` a buffer of that size or null/0.
    let names = match read(&|buf, len| unsafe { libc::flistxattr(from, buf.cast(), len) }) {
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
        let value = read(&|buf, len| unsafe { libc::fgetxattr(from, c_name.as_ptr(), buf, len) })
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
fn remove_stale_temps(dir: &File, prefix: &str) {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let Ok(mut listing) = nix::dir::Dir::openat(dir, ".", flags, Perm::empty()) else { return };
    let stale: Vec<OsString> = listing
        .iter()
        .flatten()
        .filter(|entry| {
            let is_ours = entry
                .file_name()
                .to_str()
                .is_ok_and(|n| n.strip_prefix(prefix).is_some_and(|pid| pid.chars().all(|c| c.is_ascii_digit())));
            let is_file = fstatat(dir, entry.file_name(), AtFlags::AT_SYMLINK_NOFOLLOW)
                .is_ok_and(|s| kind_of(&s) == SFlag::S_IFREG);
            is_ours && is_file
        })
        .map(|entry| OsStr::from_bytes(entry.file_name().to_bytes()).to_owned())
        .collect();
    for name in stale {
        let _ = unlinkat(dir, name.as_os_str(), UnlinkatFlags::NoRemoveDir);
    }
}

/// Removes a file if it is there; the directory entry removal is made durable.
pub fn remove_durably(root: &Root, guest_path: &(impl AsRef<Path> + ?Sized)) -> io::Result<()> {
    let mut batch = WriteBatch::new();
    batch.remove(root, guest_path)?;
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

    fn host() -> Root {
        Root::new("/")
    }

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
        write_atomic(&host(), &path, b"one", Mode::KeepExisting(0o640)).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o640);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        write_atomic(&host(), &path, b"two", Mode::KeepExisting(0o644)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o600);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&host(), &path, b"three", Mode::Exact(0o600)).unwrap();
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
        write_atomic(&host(), &path, b"new", Mode::KeepExisting(0o644)).unwrap();
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
        write_atomic(&host(), &path, b"old", Mode::KeepExisting(0o644)).unwrap();
        // The temp name is taken by a directory: create_new fails before the rename.
        fs::create_dir(dir.join(format!(".f.osconf-{}", std::process::id()))).unwrap();
        assert!(write_atomic(&host(), &path, b"new", Mode::KeepExisting(0o644)).is_err());
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
        let root = Root::new(dir);
        let mut batch = WriteBatch::new();
        batch.write(&root, "/a/one", b"one new", Mode::KeepExisting(0o644)).unwrap();
        batch.write(&root, "/b/two", b"two new", Mode::Exact(0o600)).unwrap();
        batch.remove(&root, "/a/gone").unwrap();
        batch.write_last(&root, "/c/record", b"record new", Mode::Exact(0o600)).unwrap();
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

    #[test]
    fn image_text_gives_back_every_byte() {
        let bytes =
            "caf\u{e9} \u{10FF41}\u{10FFFF} ok\n".bytes().chain([0xe9, b'\n', 0xff, 0xf4, 0x8f]).collect::<Vec<u8>>();
        let text = text_of(&bytes);
        assert_eq!(bytes_of(&text), bytes);
        assert!(text.starts_with("caf\u{e9} "), "valid UTF-8 stays as it is: {text:?}");
        assert_eq!(text_of(b"plain\n"), "plain\n");
        // A FileWrite made from such text writes the same bytes.
        assert_eq!(FileWrite::new("/f", text, 0o644).content, bytes);
    }

    fn symlink(target: &str, at: PathBuf) {
        std::os::unix::fs::symlink(target, at).unwrap();
    }

    #[test]
    fn links_are_followed_inside_the_root_and_refused_when_they_lead_out() {
        let dir = temp_dir("links");
        let root = Root::new(dir.join("img"));
        write_atomic(&root, "/usr/etc/hosts", b"inside\n", Mode::KeepExisting(0o644)).unwrap();
        fs::write(dir.join("outside"), b"secret\n").unwrap();
        symlink("/usr/etc", dir.join("img/etc"));
        symlink("../../../etc/hosts", dir.join("img/usr/etc/up")); // '..' stops at the root
        symlink(dir.join("outside").to_str().unwrap(), dir.join("img/usr/etc/out"));
        symlink("/b", dir.join("img/a"));
        symlink("../a", dir.join("img/b"));
        assert_eq!(root.read_optional("/etc/hosts").unwrap().as_deref(), Some("inside\n"));
        assert_eq!(root.read_optional("/etc/up").unwrap().as_deref(), Some("inside\n"));
        assert!(root.is_dir("/etc") && root.is_symlink("/etc") && root.is_file("/etc/up"));
        symlink("../etc/..", dir.join("img/usr/parent")); // /etc is /usr/etc: its .. is /usr
        assert!(root.is_dir("/usr/parent") && root.is_file("/usr/parent/etc/hosts"));
        let e = root.read_optional("/etc/out").unwrap_err().to_string();
        assert!(e.contains("/etc/out is a symbolic link to") && e.contains("not in the image"), "{e}");
        assert!(!root.is_file("/etc/out") && root.exists("/etc/out"));
        let e = root.read_optional("/a/x").unwrap_err().to_string();
        assert!(e.contains("too many levels"), "{e}");
        // The image: etc -> /etc is the image's own /etc, a loop, never the host's.
        let host_etc = Root::new(dir.join("host-etc"));
        fs::create_dir(host_etc.base()).unwrap();
        symlink("/etc", dir.join("host-etc/etc"));
        let e = host_etc.read_optional("/etc/shadow").unwrap_err().to_string();
        assert!(e.contains("/etc is a symbolic link to /etc: too many levels"), "{e}");
        // A write through an escaping directory link is refused before any temp file.
        symlink(dir.to_str().unwrap(), dir.join("img/var"));
        let e = write_atomic(&root, "/var/new", b"x", Mode::KeepExisting(0o644)).unwrap_err().to_string();
        assert!(e.contains("/var is a symbolic link"), "{e}");
        assert!(!dir.join("new").exists());
        // Writing a file that is a link replaces the link, never its target.
        write_atomic(&root, "/etc/out", b"new\n", Mode::KeepExisting(0o644)).unwrap();
        assert_eq!(fs::read(dir.join("outside")).unwrap(), b"secret\n");
        assert_eq!(fs::read(dir.join("img/usr/etc/out")).unwrap(), b"new\n");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn on_the_host_root_paths_resolve_as_the_kernel_does() {
        let dir = temp_dir("host");
        fs::write(dir.join("file"), b"host\n").unwrap();
        symlink(dir.join("file").to_str().unwrap(), dir.join("link"));
        let link = dir.join("link");
        assert_eq!(host().read_optional(&link).unwrap().as_deref(), Some("host\n"));
        assert!(host().is_file(&link) && host().is_symlink(&link));
        fs::remove_dir_all(dir).unwrap();
    }
}
