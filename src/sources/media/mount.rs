//! Mounting a medium osconf needs to read (the first partition when nothing
//! mounted it, the Tencent CD-ROM): under /run/osconf, nosuid, nodev,
//! noexec, and unmounted again when no longer needed.

use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};

use crate::error::Error;

/// A mount osconf made; unmounted (and its directory removed) on drop.
#[derive(Debug)]
pub struct Mounted {
    pub point: PathBuf,
    pub fstype: String,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(e) = umount2(&self.point, MntFlags::empty()) {
            log::warn!("unmounting {}: {e}; detaching it", self.point.display());
            let _ = umount2(&self.point, MntFlags::MNT_DETACH);
        }
        let _ = std::fs::remove_dir(&self.point);
    }
}

/// Mounts `device` at /run/osconf/<name>, trying each file system type.
pub fn mount_first_fitting(device: &Path, name: &str, fstypes: &[&str], read_only: bool) -> Result<Mounted, Error> {
    let point = PathBuf::from("/run/osconf").join(name);
    std::fs::create_dir_all(&point).map_err(|e| Error::Failed(format!("creating {}: {e}", point.display())))?;
    let mut flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    if read_only {
        flags |= MsFlags::MS_RDONLY;
    }
    let mut errors = Vec::new();
    for fstype in fstypes {
        match mount(Some(device), &point, Some(*fstype), flags, None::<&str>) {
            Ok(()) => return Ok(Mounted { point, fstype: fstype.to_string() }),
            Err(e) => errors.push(format!("{fstype}: {e}")),
        }
    }
    let _ = std::fs::remove_dir(&point);
    Err(Error::Failed(format!("cannot mount {} ({})", device.display(), errors.join(", "))))
}

/// Where `device` (given as major:minor) is mounted already, if anywhere.
pub fn mount_point_of(major_minor: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    mount_point_in(&text, major_minor)
}

/// mountinfo lines: `id parent major:minor root mount-point options ...`;
/// only a mount of the file system's own root counts.
pub fn mount_point_in(mountinfo: &str, major_minor: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 4 && fields[2] == major_minor && fields[3] == "/").then(|| PathBuf::from(unescape(fields[4])))
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal.
pub fn unescape(field: &str) -> String {
    field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_mount_of_a_device_root_only() {
        let info = "22 1 254:2 / / rw - ext4 /dev/vda2 rw\n30 22 254:1 /sub /elsewhere rw - ext4 /dev/vda1 rw\n31 22 254:1 / /my\\040boot rw - ext4 /dev/vda1 rw\n";
        assert_eq!(mount_point_in(info, "254:1"), Some(PathBuf::from("/my boot")));
        assert_eq!(mount_point_in(info, "254:3"), None);
    }
}
