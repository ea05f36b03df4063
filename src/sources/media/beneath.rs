//! Opening a drop beneath the root of its medium without following a
//! symbolic link in any component: on a partition the cloud (or anyone with
//! the disk) writes, `aliyun_custom_image -> /etc` must not make osconf read,
//! and later delete, a file outside it. `openat2` with `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS` where the kernel has it (5.6+), otherwise a walk
//! opening one component at a time with `O_NOFOLLOW`.

use std::os::fd::OwnedFd;
use std::path::{Component, Path};

use nix::errno::Errno;
use nix::fcntl::{open, openat, openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

/// How to resolve the directory path: tests force the walk, which kernels
/// before 5.6 (no openat2) take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolve {
    Openat2,
    Walk,
}

const DIR_FLAGS: OFlag = OFlag::O_RDONLY.union(OFlag::O_DIRECTORY).union(OFlag::O_CLOEXEC);

/// Opens directory `relative` beneath `base` (itself trusted: a mount point).
/// `ELOOP`/`ENOTDIR` when a component is a symbolic link or not a directory,
/// `EXDEV` for a path that would leave `base`, `ENOENT` when it is missing.
pub fn open_dir(base: &Path, relative: &Path, resolve: Resolve) -> nix::Result<OwnedFd> {
    let base = open(base, DIR_FLAGS, Mode::empty())?;
    if relative.as_os_str().is_empty() {
        return Ok(base);
    }
    if resolve == Resolve::Openat2 {
        let how =
            OpenHow::new().flags(DIR_FLAGS).resolve(ResolveFlag::RESOLVE_BENEATH | ResolveFlag::RESOLVE_NO_SYMLINKS);
        match openat2(&base, relative, how) {
            Err(Errno::ENOSYS) => {
                log::debug!("no openat2 in this kernel: opening {} one component at a time", relative.display())
            }
            result => return result,
        }
    }
    let mut dir = base;
    for component in relative.components() {
        let Component::Normal(name) = component else { return Err(Errno::EXDEV) };
        dir = openat(&dir, name, DIR_FLAGS | OFlag::O_NOFOLLOW, Mode::empty())?;
    }
    Ok(dir)
}

/// Opens file `name` in `dir` for reading: never through a symlink, never
/// blocking on a FIFO (the caller checks it is a regular file).
pub fn open_file(dir: &OwnedFd, name: &std::ffi::OsStr) -> nix::Result<std::fs::File> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    openat(dir, name, flags, Mode::empty()).map(std::fs::File::from)
}
