//! Finding a medium by its ISO 9660 volume label, read from the volume
//! descriptor itself: no udev, no blkid. CD-ROMs (`sr*`) are looked at first.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The first block device under `sys_block` (`/sys/block`) whose ISO 9660
/// volume label is one of `labels`; `None` when there is none (or no sysfs).
pub fn find_device(sys_block: &Path, labels: &[&str]) -> Option<PathBuf> {
    let entries = std::fs::read_dir(sys_block).ok()?;
    let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort_by_key(|n| (!n.starts_with("sr"), n.clone()));
    names
        .into_iter()
        .filter(|name| !(name.starts_with("ram") || name.starts_with("zram") || name.starts_with("dm-")))
        .map(|name| PathBuf::from("/dev").join(name))
        .find(|device| iso9660_label(device).is_some_and(|label| labels.contains(&label.as_str())))
}

/// The volume identifier of an ISO 9660 primary volume descriptor (sector
/// 16: type 1, "CD001", the identifier at byte 40, 32 bytes space-padded),
/// of a device or an image file.
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
