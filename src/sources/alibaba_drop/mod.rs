//! Alibaba Cloud: `aliyun_custom_image/os.conf` on the first partition of
//! the system disk. The partition is found from the device(s) that hold `/`
//! by walking sysfs (never a hard-coded /dev/vda1), or named in osconf.conf.
//! A first partition the cloud cannot write (a BIOS boot partition, XFS,
//! swap, nothing) holds no drop: a warning, and the other sources are tried.

pub mod root_device;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::config::{PartitionChoice, SourceConfig};
use crate::error::Error;
use crate::sources::media::mount::{mount_first_fitting, mount_point_of};
use crate::sources::media::probe::{probe, CLOUD_WRITABLE};
use crate::sources::platform::Cloud;
use crate::sources::{osconf_format, read_drop_beneath, read_drop_file, Access, Context, DropKind, Found, Source};

use self::root_device::{backing_devices, KernelPaths};

/// The source `alibaba-drop`.
pub struct AlibabaDrop;

/// Its drops: Alibaba's os.conf contract.
pub const KIND: DropKind = DropKind { source: "alibaba-drop", dialect: osconf_format::ALIBABA };

pub const DROP_PATH: &str = "aliyun_custom_image/os.conf";

/// Under `--root DIR` (not `/`) no device is looked for: the first partition
/// is taken to be DIR/boot.
pub const OFFLINE_DROP: &str = "boot/aliyun_custom_image/os.conf";

impl Source for AlibabaDrop {
    fn name(&self) -> &'static str {
        KIND.source
    }

    fn takes(&self) -> &'static str {
        "an os.conf file"
    }

    fn network_of(&self) -> Option<Cloud> {
        None
    }

    fn keys(&self) -> &'static [&'static str] {
        &["partition"]
    }

    fn defaults(&self) -> SourceConfig {
        SourceConfig::default()
    }

    fn find(&self, context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error> {
        if context.root.is_host() {
            return find(config, context.access);
        }
        // Beneath the root itself: an image's /boot that links elsewhere is
        // refused like any link on the way to a drop (it would be deleted).
        Ok(read_drop_beneath(context.root.base(), Path::new(OFFLINE_DROP))?.map(|file| Found::drop(KIND, file)))
    }

    fn find_at(&self, place: &OsStr, _context: &Context, _config: &SourceConfig) -> Result<Option<Found>, Error> {
        let path = Path::new(place);
        match read_drop_file(path)? {
            Some(file) => Ok(Some(Found::drop(KIND, file))),
            None => Err(Error::Usage(format!("{}: no such file", path.display()))),
        }
    }
}
/// What the platform may format the first partition with.
const FILE_SYSTEMS: [&str; 5] = ["vfat", "ext4", "ext3", "ext2", "ufs"];

/// A block device partition: its /dev node and its `major:minor`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    pub device: PathBuf,
    pub major_minor: String,
}

/// `Ok(None)` also when there is no usable first partition (/ on a whole
/// disk, a container, a partition the cloud cannot write): the other
/// sources are still tried, and the boot goes on.
pub fn find(config: &SourceConfig, access: Access) -> Result<Option<Found>, Error> {
    let partition = match &config.partition {
        PartitionChoice::Auto => first_partition_of_root(&KernelPaths::host()),
        PartitionChoice::Device(path) => partition_from_device(path),
    };
    let partition = match partition {
        Ok(partition) => partition,
        Err(e) => {
            log::warn!("{e}: no Alibaba drop can be read; trying the other sources (osconf check explains)");
            return Ok(None);
        }
    };
    log::debug!("first partition: {} ({})", partition.device.display(), partition.major_minor);
    read_from_partition(&partition, access)
}

/// Reads the drop from the partition: where it is mounted already (often
/// /boot), or from a private mount made for the time of the apply
/// (read-only for `plan`). A partition that holds no file system the cloud
/// can write, or that cannot be mounted, is a warning and `Ok(None)`.
pub fn read_from_partition(partition: &Partition, access: Access) -> Result<Option<Found>, Error> {
    if let Some(point) = mount_point_of(&partition.major_minor) {
        return Ok(read_drop_beneath(&point, Path::new(DROP_PATH))?.map(|file| Found::drop(KIND, file)));
    }
    let unusable = |why: String| -> Result<Option<Found>, Error> {
        let device = partition.device.display();
        log::warn!("first partition {device}: {why}; the cloud writes os.conf only on {CLOUD_WRITABLE}, so no Alibaba drop can be read: trying the other sources (osconf check says how to fix the image)");
        Ok(None)
    };
    // Told from the superblock: no mount attempts (and kernel log noise) on
    // swap or XFS, and only the right type tried on the others.
    let fstypes = match probe(&partition.device) {
        Ok(content) if !content.cloud_writable => return unusable(format!("holds {}", content.name)),
        Ok(content) => content.mount_types(),
        Err(_) => &FILE_SYSTEMS,
    };
    let mounted = match mount_first_fitting(&partition.device, "first-partition", fstypes, access == Access::ReadOnly) {
        Ok(mounted) => mounted,
        Err(e) => return unusable(e.to_string()),
    };
    let found = read_drop_beneath(&mounted.point, Path::new(DROP_PATH))?;
    let how = if access == Access::ReadOnly { "mounted read-only by osconf" } else { "mounted by osconf" };
    Ok(found.map(|file| Found {
        description: format!("{}:/{DROP_PATH} ({}, {how})", partition.device.display(), mounted.fstype),
        mount: Some(mounted),
        ..Found::drop(KIND, file)
    }))
}

/// Partition 1 of the disk holding `/`.
pub fn first_partition_of_root(paths: &KernelPaths) -> Result<Partition, Error> {
    let st = nix::sys::stat::stat("/").map_err(|e| Error::Failed(format!("stat /: {e}")))?;
    first_partition_of_mount(
        paths,
        Path::new("/"),
        (nix::sys::stat::major(st.st_dev), nix::sys::stat::minor(st.st_dev)),
    )
}

/// Partition 1 of the disk holding the file system mounted at `mount_point`
/// (device number `major:minor` from its `stat`). Device-mapper devices
/// (LVM, crypt) are followed down to the partition under them; for a btrfs
/// over several devices, the first device on a partitioned disk counts.
pub fn first_partition_of_mount(
    paths: &KernelPaths,
    mount_point: &Path,
    (major, minor): (u64, u64),
) -> Result<Partition, Error> {
    let not_found = |why: String| {
        Error::Failed(format!(
            "cannot find the first partition of the disk holding {} ({major}:{minor}): {why}",
            mount_point.display()
        ))
    };
    let devices = backing_devices(paths, mount_point, (major, minor));
    if devices.is_empty() {
        return Err(not_found("no block device for it in sysfs or in mountinfo".into()));
    }
    let mut errors = Vec::new();
    for device in devices {
        match partition_1_of_disk_under(device) {
            Ok(partition) => return Ok(partition),
            Err(e) => errors.push(e),
        }
    }
    Err(not_found(errors.join("; ")))
}

/// From a block device's sysfs directory: through device-mapper layers to
/// the real partition, then partition 1 of its disk.
fn partition_1_of_disk_under(mut device: PathBuf) -> Result<Partition, String> {
    for _ in 0..8 {
        let slaves: Vec<PathBuf> = std::fs::read_dir(device.join("slaves"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        match slaves.into_iter().min() {
            Some(slave) => device = slave.canonicalize().map_err(|e| e.to_string())?,
            None => break,
        }
    }
    let disk = if device.join("partition").exists() {
        device.parent().map(Path::to_path_buf).unwrap_or(device)
    } else {
        device
    };
    let entries = std::fs::read_dir(&disk).map_err(|e| format!("{}: {e}", disk.display()))?;
    for entry in entries.flatten() {
        let number = std::fs::read_to_string(entry.path().join("partition")).unwrap_or_default();
        if number.trim() == "1" {
            let name = entry.file_name().to_string_lossy().into_owned();
            let major_minor =
                std::fs::read_to_string(entry.path().join("dev")).map_err(|e| e.to_string())?.trim().to_owned();
            return Ok(Partition { device: PathBuf::from("/dev").join(name), major_minor });
        }
    }
    Err(format!("{} has no partition 1", disk.display()))
}

/// A partition named in osconf.conf (`/dev/...`, or `UUID=`/`LABEL=` already
/// turned into a /dev/disk/by-* path by the config).
pub fn partition_from_device(path: &Path) -> Result<Partition, Error> {
    let device =
        path.canonicalize().map_err(|e| Error::Failed(format!("[source] partition {}: {e}", path.display())))?;
    let st = nix::sys::stat::stat(&device)
        .map_err(|e| Error::Failed(format!("[source] partition {}: {e}", device.display())))?;
    if st.st_mode & nix::libc::S_IFMT != nix::libc::S_IFBLK {
        return Err(Error::Failed(format!("[source] partition {} is not a block device", device.display())));
    }
    let major_minor = format!("{}:{}", nix::sys::stat::major(st.st_rdev), nix::sys::stat::minor(st.st_rdev));
    Ok(Partition { device, major_minor })
}

#[cfg(test)]
mod tests;
