//! Finding a medium by its volume label, read from the medium itself (an
//! ISO 9660 volume descriptor, a FAT boot sector): no udev, no blkid.
//! CD-ROMs (`sr*`) are looked at first.

use std::path::{Path, PathBuf};

use super::iso9660;

/// The first block device under `sys_block` (`/sys/block`) whose ISO 9660
/// volume label is one of `labels`; `None` when there is none (or no sysfs).
pub fn find_device(sys_block: &Path, labels: &[&str]) -> Option<PathBuf> {
    find_labelled(sys_block, labels, iso9660_label)
}

/// The same for a FAT file system on a whole disk (an OpenStack config
/// drive written as vfat).
pub fn find_fat_device(sys_block: &Path, labels: &[&str]) -> Option<PathBuf> {
    find_labelled(sys_block, labels, fat_label)
}

fn find_labelled(sys_block: &Path, labels: &[&str], label_of: fn(&Path) -> Option<String>) -> Option<PathBuf> {
    let entries = std::fs::read_dir(sys_block).ok()?;
    let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort_by_key(|n| (!n.starts_with("sr"), n.clone()));
    names
        .into_iter()
        .filter(|name| !(name.starts_with("ram") || name.starts_with("zram") || name.starts_with("dm-")))
        .map(|name| PathBuf::from("/dev").join(name))
        .find(|device| label_of(device).is_some_and(|label| labels.contains(&label.as_str())))
}

/// The volume label of an ISO 9660 device or image file ([`iso9660::volume_label`]).
pub fn iso9660_label(device: &Path) -> Option<String> {
    iso9660::volume_label(&mut std::fs::File::open(device).ok()?)
}

/// The volume label of a FAT file system: its boot sector's `BS_VolLab`
/// (11 bytes at 71 for FAT32, at 43 for FAT12/16, after the extended boot
/// signature 0x29), blanks trimmed; `None` for anything else.
pub fn fat_label(device: &Path) -> Option<String> {
    let mut sector = [0u8; 512];
    std::io::Read::read_exact(&mut std::fs::File::open(device).ok()?, &mut sector).ok()?;
    fat_label_of(&sector)
}

fn fat_label_of(sector: &[u8; 512]) -> Option<String> {
    if sector[510..512] != [0x55, 0xAA] {
        return None;
    }
    let label_at = if &sector[82..90] == b"FAT32   " && sector[66] == 0x29 {
        71
    } else if matches!(&sector[54..62], b"FAT12   " | b"FAT16   ") && sector[38] == 0x29 {
        43
    } else {
        return None;
    };
    let label = std::str::from_utf8(&sector[label_at..label_at + 11]).ok()?.trim_end_matches([' ', '\0']);
    (!label.is_empty() && label != "NO NAME").then(|| label.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sector(fat32: bool, label: &[u8; 11]) -> [u8; 512] {
        let mut s = [0u8; 512];
        s[510..512].copy_from_slice(&[0x55, 0xAA]);
        if fat32 {
            s[66] = 0x29;
            s[71..82].copy_from_slice(label);
            s[82..90].copy_from_slice(b"FAT32   ");
        } else {
            s[38] = 0x29;
            s[43..54].copy_from_slice(label);
            s[54..62].copy_from_slice(b"FAT16   ");
        }
        s
    }

    #[test]
    fn fat_labels_from_the_boot_sector() {
        assert_eq!(fat_label_of(&sector(true, b"config-2   ")).as_deref(), Some("config-2"));
        assert_eq!(fat_label_of(&sector(false, b"CONFIG-2   ")).as_deref(), Some("CONFIG-2"));
        assert_eq!(fat_label_of(&sector(true, b"NO NAME    ")), None);
        let mut no_signature = sector(true, b"config-2   ");
        no_signature[510] = 0;
        assert_eq!(fat_label_of(&no_signature), None);
        let mut no_boot_sig = sector(false, b"config-2   ");
        no_boot_sig[38] = 0x28;
        assert_eq!(fat_label_of(&no_boot_sig), None);
        assert_eq!(fat_label_of(&[0u8; 512]), None);
    }

    /// dosfstools' own mkfs.fat, as Nova makes a vfat config drive.
    #[test]
    fn mkfs_fat_s_label_is_read() {
        let dir = std::env::temp_dir().join(format!("osconf-fat-label-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let image = dir.join("drive.img");
        std::fs::write(&image, vec![0u8; 1 << 20]).unwrap();
        let out = std::process::Command::new("mkfs.vfat")
            .args(["-n", "config-2"])
            .arg(&image)
            .output()
            .expect("mkfs.vfat (dosfstools, tests/install-deps.sh installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(fat_label(&image).as_deref(), Some("config-2"));
        assert_eq!(iso9660_label(&image), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
