//! File systems osconf has no user-space reader for (btrfs), read through
//! the kernel: as root, the partition of a raw image is attached to a
//! read-only loop device (offset and size limit, auto-cleared) and mounted
//! read-only, without log replay, in a mount namespace of this process's
//! own, so the host never sees it and it goes away with the process.
//! [`Mounted`] then serves the same [`FileSystem`] calls from the mount: it
//! resolves links itself (every host path it touches is link-free).

use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use super::{DirEntry, FileSystem, Info, Kind, Stat};

/// A file system mounted read-only under a private directory.
pub struct Mounted {
    point: PathBuf,
    info: Info,
    /// Inode numbers are indexes into this list of host paths.
    paths: RefCell<Vec<PathBuf>>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = umount2(&self.point, MntFlags::MNT_DETACH);
        let _ = std::fs::remove_dir(&self.point);
    }
}

#[repr(C)]
struct LoopInfo64 {
    device: u64,
    inode: u64,
    rdevice: u64,
    offset: u64,
    sizelimit: u64,
    number: u32,
    encrypt_type: u32,
    encrypt_key_size: u32,
    flags: u32,
    file_name: [u8; 64],
    crypt_name: [u8; 64],
    encrypt_key: [u8; 32],
    init: [u64; 2],
}

#[repr(C)]
struct LoopConfig {
    fd: u32,
    block_size: u32,
    info: LoopInfo64,
    reserved: [u64; 8],
}

const LO_FLAGS_READ_ONLY: u32 = 1;
const LO_FLAGS_AUTOCLEAR: u32 = 4;
nix::ioctl_none_bad!(loop_get_free, 0x4C82);
nix::ioctl_write_ptr_bad!(loop_configure, 0x4C0A, LoopConfig);

/// Mounts `len` bytes of the raw image `file` from `offset`, read-only, as `kind`.
pub fn mount_raw(file: &Path, offset: u64, len: u64, kind: &'static str) -> io::Result<Mounted> {
    if !nix::unistd::geteuid().is_root() {
        return Err(io::Error::other(format!("{kind} is read through the kernel: run osconf check --image as root")));
    }
    // A mount namespace of this process's own, its mounts not propagated back.
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)?;
    mount(None::<&str>, "/", None::<&str>, MsFlags::MS_REC | MsFlags::MS_PRIVATE, None::<&str>)?;
    let image = File::open(file)?;
    let control = File::options().read(true).write(true).open("/dev/loop-control")?;
    // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
    let number = unsafe { loop_get_free(control.as_raw_fd()) }?;
    let device = File::options().read(true).open(format!("/dev/loop{number}"))?;
    let mut config = LoopConfig {
        fd: image.as_raw_fd() as u32,
        block_size: 0,
        info: LoopInfo64 {
            device: 0,
            inode: 0,
            rdevice: 0,
            offset,
            sizelimit: len,
            number: 0,
            encrypt_type: 0,
            encrypt_key_size: 0,
            flags: LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR,
            file_name: [0; 64],
            crypt_name: [0; 64],
            encrypt_key: [0; 32],
            init: [0; 2],
        },
        reserved: [0; 8],
    };
    let name = file.as_os_str().as_bytes();
    config.info.file_name[..name.len().min(63)].copy_from_slice(&name[..name.len().min(63)]);
    // SAFETY: the struct is LOOP_CONFIGURE's layout and lives across the call.
    unsafe { loop_configure(device.as_raw_fd(), &config) }?;
    let point = std::env::temp_dir().join(format!("osconf-check-mount-{}-{number}", std::process::id()));
    std::fs::create_dir(&point)?;
    let flags = MsFlags::MS_RDONLY | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    let source = format!("/dev/loop{number}");
    let mounted = ["rescue=nologreplay", "nologreplay", ""]
        .iter()
        .find_map(|data| mount(Some(source.as_str()), &point, Some(kind), flags, Some(*data)).ok());
    // The device stays attached while mounted; AUTOCLEAR frees it at unmount.
    drop(device);
    if mounted.is_none() {
        let _ = std::fs::remove_dir(&point);
        return Err(io::Error::other(format!("{source}: mounting {kind} read-only failed")));
    }
    let fs = nix::sys::statvfs::statvfs(&point)?;
    let info = Info {
        kind,
        blocks_total: fs.blocks() as u64,
        blocks_free: fs.blocks_available() as u64,
        inodes_total: fs.files() as u64,
        inodes_free: fs.files_free() as u64,
        ..Info::default()
    };
    Ok(Mounted { paths: RefCell::new(vec![point.clone()]), point, info })
}

impl Mounted {
    /// Makes a directory of the mount its root: a btrfs subvolume holding
    /// `/` (Fedora's `root`, `@`), when the top level is not `/` itself.
    pub fn reroot(&mut self, dir: u64) -> io::Result<()> {
        let path = self.path(dir)?;
        self.paths = RefCell::new(vec![path]);
        Ok(())
    }

    fn path(&self, inode: u64) -> io::Result<PathBuf> {
        self.paths.borrow().get(inode as usize).cloned().ok_or_else(|| super::corrupt(format!("no inode {inode}")))
    }
}

impl FileSystem for Mounted {
    fn info(&self) -> Info {
        self.info.clone()
    }

    fn root(&self) -> u64 {
        0
    }

    fn stat(&self, inode: u64) -> io::Result<Stat> {
        let path = self.path(inode)?;
        let meta = std::fs::symlink_metadata(&path)?;
        let kind = meta.file_type();
        let kind = if kind.is_dir() {
            Kind::Dir
        } else if kind.is_symlink() {
            Kind::Symlink
        } else if kind.is_file() {
            Kind::File
        } else {
            let _ = kind.is_fifo();
            Kind::Other
        };
        let immutable = kind == Kind::File && File::open(&path).is_ok_and(|f| crate::check::is_immutable(&f));
        Ok(Stat { kind, mode: meta.mode() & 0o7777, uid: meta.uid(), gid: meta.gid(), size: meta.len(), immutable })
    }

    fn read_dir(&self, dir: u64, max: usize) -> io::Result<Vec<DirEntry>> {
        let path = self.path(dir)?;
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&path)? {
            if entries.len() >= max {
                return Err(io::Error::other(format!("{}: more than {max} entries", path.display())));
            }
            let entry = entry?;
            let mut paths = self.paths.borrow_mut();
            paths.push(entry.path());
            entries.push(DirEntry { name: entry.file_name().as_bytes().to_vec(), inode: paths.len() as u64 - 1 });
        }
        Ok(entries)
    }

    fn read_file(&self, inode: u64, max: u64) -> io::Result<Vec<u8>> {
        use std::io::Read;
        let path = self.path(inode)?;
        let file = File::open(&path)?;
        if file.metadata()?.len() > max {
            return Err(io::Error::other(format!("{}: larger than {max} bytes", path.display())));
        }
        let mut bytes = Vec::new();
        file.take(max).read_to_end(&mut bytes)?;
        Ok(bytes)
    }

    fn read_link(&self, inode: u64) -> io::Result<Vec<u8>> {
        Ok(std::fs::read_link(self.path(inode)?)?.into_os_string().as_bytes().to_vec())
    }
}
