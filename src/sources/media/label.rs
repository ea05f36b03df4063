//! Finding a medium by its ISO 9660 volume label, read from the volume
//! descriptor itself: no udev, no blkid. CD-ROMs (`sr*`) are looked at first.

use std::path::{Path, PathBuf};

use super::iso9660;

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

/// The volume label of an ISO 9660 device or image file ([`iso9660::volume_label`]).
pub fn iso9660_label(device: &Path) -> Option<String> {
    iso9660::volume_label(&mut std::fs::File::open(device).ok()?)
}
