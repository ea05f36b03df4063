//! Alibaba Cloud: `aliyun_custom_image/os.conf` on the first partition of
//! the system disk. The partition is found from the device that holds `/`
//! by walking sysfs (never a hard-coded /dev/vda1), or named in osconf.conf.

use std::path::{Path, PathBuf};

use crate::config::{Config, PartitionChoice};
use crate::error::Error;
use crate::settings::PasswordForm;

use super::mount::{mount_first_fitting, mount_point_of};
use super::{read_drop_file, Found};

pub const DROP_PATH: &str = "aliyun_custom_image/os.conf";
/// What the platform may format the first partition with.
const FILE_SYSTEMS: [&str; 5] = ["vfat", "ext4", "ext3", "ext2", "ufs"];

/// A block device partition: its /dev node and its `major:minor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub device: PathBuf,
    pub major_minor: String,
}

pub fn find(config: &Config) -> Result<Option<Found>, Error> {
    let partition = match &config.partition {
        // Without a first partition (/ on a whole disk, a container) there
        // is simply no Alibaba drop: the other sources are still tried.
        PartitionChoice::Auto => match root_device().and_then(|(major, minor)| first_partition_of(Path::new("/sys"), major, minor)) {
            Ok(partition) => partition,
            Err(e) => {
                log::warn!("{e}: no Alibaba drop can be read (osconf check explains)");
                return Ok(None);
            }
        },
        PartitionChoice::Device(path) => partition_from_device(path)?,
    };
    log::debug!("first partition: {} ({})", partition.device.display(), partition.major_minor);
    read_from_partition(&partition)
}

/// Reads the drop from the partition: where it is mounted already (often
/// /boot), or from a private mount made for the time of the apply.
pub fn read_from_partition(partition: &Partition) -> Result<Option<Found>, Error> {
    if let Some(point) = mount_point_of(&partition.major_minor) {
        return read_drop_file(&point.join(DROP_PATH), PasswordForm::Base64Plain);
    }
    let mounted = mount_first_fitting(&partition.device, "first-partition", &FILE_SYSTEMS, false)?;
    let path = mounted.point.join(DROP_PATH);
    let found = read_drop_file(&path, PasswordForm::Base64Plain)?;
    Ok(found.map(|found| Found {
        description: format!("{}:/{DROP_PATH} ({}, mounted by osconf)", partition.device.display(), mounted.fstype),
        mount: Some(mounted),
        ..found
    }))
}

/// `major:minor` of the device holding `/`.
fn root_device() -> Result<(u64, u64), Error> {
    let st = nix::sys::stat::stat("/").map_err(|e| Error::Failed(format!("stat /: {e}")))?;
    Ok((nix::sys::stat::major(st.st_dev), nix::sys::stat::minor(st.st_dev)))
}

/// The partition numbered 1 on the disk that holds device `major:minor`.
/// Device-mapper devices (LVM, crypt) are followed down to the partition
/// under them. `sys` is `/sys` (a fake tree in tests).
pub fn first_partition_of(sys: &Path, major: u64, minor: u64) -> Result<Partition, Error> {
    let not_found = |why: String| Error::Failed(format!("cannot find the first partition of the disk holding / ({major}:{minor}): {why}"));
    let mut device = sys.join(format!("dev/block/{major}:{minor}")).canonicalize().map_err(|e| not_found(format!("sysfs: {e}")))?;
    // Through device-mapper layers to the real partition.
    for _ in 0..8 {
        let slaves: Vec<PathBuf> = std::fs::read_dir(device.join("slaves")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        match slaves.into_iter().min() {
            Some(slave) => device = slave.canonicalize().map_err(|e| not_found(e.to_string()))?,
            None => break,
        }
    }
    let disk = if device.join("partition").exists() { device.parent().map(Path::to_path_buf).unwrap_or(device) } else { device };
    let entries = std::fs::read_dir(&disk).map_err(|e| not_found(format!("{}: {e}", disk.display())))?;
    for entry in entries.flatten() {
        let number = std::fs::read_to_string(entry.path().join("partition")).unwrap_or_default();
        if number.trim() == "1" {
            let name = entry.file_name().to_string_lossy().into_owned();
            let major_minor = std::fs::read_to_string(entry.path().join("dev")).map_err(|e| not_found(e.to_string()))?.trim().to_owned();
            return Ok(Partition { device: PathBuf::from("/dev").join(name), major_minor });
        }
    }
    Err(not_found(format!("{} has no partition 1", disk.display())))
}

/// A partition named in osconf.conf (`/dev/...`, or `UUID=`/`LABEL=` already
/// turned into a /dev/disk/by-* path by the config).
pub fn partition_from_device(path: &Path) -> Result<Partition, Error> {
    let device = path.canonicalize().map_err(|e| Error::Failed(format!("[source] partition {}: {e}", path.display())))?;
    let st = nix::sys::stat::stat(&device).map_err(|e| Error::Failed(format!("[source] partition {}: {e}", device.display())))?;
    if st.st_mode & nix::libc::S_IFMT != nix::libc::S_IFBLK {
        return Err(Error::Failed(format!("[source] partition {} is not a block device", device.display())));
    }
    let major_minor = format!("{}:{}", nix::sys::stat::major(st.st_rdev), nix::sys::stat::minor(st.st_rdev));
    Ok(Partition { device, major_minor })
}

#[cfg(test)]
mod tests;
