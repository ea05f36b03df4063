//! The block device(s) behind `/`. `stat("/")` names it directly on most
//! file systems; btrfs gives an anonymous device number (major 0) with no
//! `/sys/dev/block` entry, so its devices are taken from the mount's source
//! in `/proc/self/mountinfo` and, for every device of that file system,
//! `/sys/fs/btrfs/<fsid>/devices/`. Paths are injectable: tests run on fake trees.

use std::path::{Path, PathBuf};

use crate::sources::media::mount::unescape;

/// Where the kernel describes block devices and mounts.
#[derive(Debug, Clone)]
pub struct KernelPaths {
    /// `/sys`
    pub sys: PathBuf,
    /// `/proc/self/mountinfo`
    pub mountinfo: PathBuf,
}

impl KernelPaths {
    pub fn host() -> KernelPaths {
        KernelPaths { sys: PathBuf::from("/sys"), mountinfo: PathBuf::from("/proc/self/mountinfo") }
    }
}

/// The sysfs directories of the block devices holding the file system
/// mounted at `mount_point`, whose `stat` device number is `major:minor`:
/// the device itself, or (btrfs, anonymous numbers) the devices of the
/// mount's source. Empty when none can be told.
pub fn backing_devices(paths: &KernelPaths, mount_point: &Path, (major, minor): (u64, u64)) -> Vec<PathBuf> {
    if let Ok(device) = paths.sys.join(format!("dev/block/{major}:{minor}")).canonicalize() {
        return vec![device];
    }
    let mountinfo = std::fs::read_to_string(&paths.mountinfo).unwrap_or_default();
    let Some((fstype, source)) = mount_source(&mountinfo, mount_point) else { return Vec::new() };
    // /dev/mapper/x and /dev/disk/by-* are links to the kernel's name (dm-0, vda2).
    let name = Path::new(&source).canonicalize().unwrap_or_else(|_| PathBuf::from(&source));
    let Some(name) = name.file_name().map(|n| n.to_string_lossy().into_owned()) else { return Vec::new() };
    let mut names = vec![name.clone()];
    if fstype == "btrfs" {
        names.extend(btrfs_siblings(&paths.sys, &name));
    }
    names.dedup();
    names.iter().filter_map(|n| paths.sys.join("class/block").join(n).canonicalize().ok()).collect()
}

/// The file system type and source of the (last, i.e. visible) mount at
/// `mount_point`: `... mount-point options [optional fields] - fstype source super-options`.
pub fn mount_source(mountinfo: &str, mount_point: &Path) -> Option<(String, String)> {
    mountinfo.lines().rev().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if Path::new(&unescape(left.split_whitespace().nth(4)?)) != mount_point {
            return None;
        }
        let mut right = right.split_whitespace();
        Some((right.next()?.to_owned(), unescape(right.next()?)))
    })
}

/// The other devices of the multi-device btrfs that `device` belongs to,
/// sorted: the file system whose `/sys/fs/btrfs/<fsid>/devices/` lists it.
fn btrfs_siblings(sys: &Path, device: &str) -> Vec<String> {
    let Ok(filesystems) = std::fs::read_dir(sys.join("fs/btrfs")) else { return Vec::new() };
    for fs in filesystems.flatten() {
        let Ok(devices) = std::fs::read_dir(fs.path().join("devices")) else { continue };
        let mut names: Vec<String> = devices.flatten().map(|d| d.file_name().to_string_lossy().into_owned()).collect();
        if names.iter().any(|n| n == device) {
            names.sort();
            return names.into_iter().filter(|n| n != device).collect();
        }
    }
    Vec::new()
}
