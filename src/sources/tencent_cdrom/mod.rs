//! Tencent Cloud: `qcloud_action/os.conf` on an ISO 9660 CD-ROM labelled
//! `config-2`. The medium is read-only: nothing is deleted, and "apply once"
//! comes from the record's hash. Its password is a crypt hash.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::Error;

use super::mount::{mount_first_fitting, mount_point_of};
use super::{osconf_format, read_drop_beneath, Found};

pub const LABEL: &str = "config-2";
pub const DROP_PATH: &str = "qcloud_action/os.conf";

pub fn find() -> Result<Option<Found>, Error> {
    match find_device(Path::new("/sys/block"))? {
        Some(device) => read_from_device(&device),
        None => Ok(None),
    }
}

/// The first CD-ROM (or any block device) whose ISO 9660 volume label is
/// `config-2`, read from the volume descriptor itself: no udev needed.
pub fn find_device(sys_block: &Path) -> Result<Option<PathBuf>, Error> {
    let Ok(entries) = std::fs::read_dir(sys_block) else { return Ok(None) };
    let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort_by_key(|n| (!n.starts_with("sr"), n.clone()));
    for name in names {
        if name.starts_with("ram") || name.starts_with("zram") || name.starts_with("dm-") {
            continue;
        }
        let device = PathBuf::from("/dev").join(&name);
        if iso9660_label(&device).as_deref() == Some(LABEL) {
            return Ok(Some(device));
        }
    }
    Ok(None)
}

/// The volume identifier of an ISO 9660 primary volume descriptor (sector
/// 16: type 1, "CD001", the identifier at byte 40, 32 bytes space-padded).
pub fn iso9660_label(device: &Path) -> Option<String> {
    let mut file = std::fs::File::open(device).ok()?;
    file.seek(SeekFrom::Start(16 * 2048)).ok()?;
    let mut sector = [0u8; 72];
    file.read_exact(&mut sector).ok()?;
    if sector[0] != 1 || &sector[1..6] != b"CD001" {
        return None;
    }
    Some(String::from_utf8_lossy(&sector[40..72]).trim_end().to_owned())
}

pub fn read_from_device(device: &Path) -> Result<Option<Found>, Error> {
    let rdev = nix::sys::stat::stat(device).map_err(|e| Error::Failed(format!("{}: {e}", device.display())))?.st_rdev;
    let major_minor = format!("{}:{}", nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    let mounted = match mount_point_of(&major_minor) {
        Some(point) => {
            return read_drop_beneath(&point, Path::new(DROP_PATH), osconf_format::TENCENT).map(|f| f.map(read_only))
        }
        None => mount_first_fitting(device, "cdrom", &["iso9660"], true)?,
    };
    let found = read_drop_beneath(&mounted.point, Path::new(DROP_PATH), osconf_format::TENCENT)?;
    Ok(found.map(|found| Found {
        description: format!("{}:/{DROP_PATH} (CD-ROM {LABEL})", device.display()),
        mount: Some(mounted),
        ..read_only(found)
    }))
}

fn read_only(found: Found) -> Found {
    Found { delete_after: None, drop_dir: None, ..found }
}
