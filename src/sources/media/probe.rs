//! What a partition holds, told from its superblock magic numbers (no mount,
//! no udev, no blkid): whether the cloud can write the drop there (FAT32,
//! ext2/3/4, UFS), and if not, what is there instead, for the warning and
//! for `osconf check`.

use std::io::Read;
use std::path::Path;

/// The file systems the platform can write os.conf on (PLATFORM.md §1).
pub const CLOUD_WRITABLE: &str = "FAT32, ext2/3/4 or UFS";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Content {
    /// In words: "ext2/3/4", "XFS", "swap", ...
    pub name: &'static str,
    /// One of the file systems the cloud can write os.conf on.
    pub cloud_writable: bool,
}

/// Bytes read: up to UFS2's superblock magic (65536 + 1372).
pub const PROBE_BYTES: usize = 65536 + 2048;

impl Content {
    /// The kernel file system types to mount it with (no vfat attempt, and
    /// its kernel log noise, on an ext4 partition).
    pub fn mount_types(&self) -> &'static [&'static str] {
        match self.name {
            "ext2/3/4" => &["ext4", "ext3", "ext2"],
            "FAT" => &["vfat"],
            "UFS" => &["ufs"],
            _ => &[],
        }
    }
}

pub fn probe(device: &Path) -> std::io::Result<Content> {
    let mut head = Vec::with_capacity(PROBE_BYTES);
    std::fs::File::open(device)?.take(PROBE_BYTES as u64).read_to_end(&mut head)?;
    Ok(identify(&head))
}

/// Identifies the content from the first bytes of a partition.
pub fn identify(head: &[u8]) -> Content {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    let writable = |name| Content { name, cloud_writable: true };
    let other = |name| Content { name, cloud_writable: false };
    let ufs_magic = |sb: usize| {
        head.get(sb + 1372..sb + 1376)
            .map(|m| u32::from_le_bytes(m.try_into().expect("4 bytes")))
            .is_some_and(|m| [0x0001_1954, 0x1954_0119].iter().any(|&magic| m == magic || m == u32::swap_bytes(magic)))
    };
    if at(1080, &[0x53, 0xEF]) {
        writable("ext2/3/4")
    } else if at(510, &[0x55, 0xAA]) && (at(82, b"FAT32") || at(54, b"FAT1")) {
        writable("FAT")
    } else if ufs_magic(8192) || ufs_magic(65536) {
        writable("UFS")
    } else if at(0, b"XFSB") {
        other("XFS")
    } else if at(65536 + 64, b"_BHRfS_M") {
        other("btrfs")
    } else if at(4086, b"SWAPSPACE2") || at(4086, b"SWAP-SPACE") {
        other("swap")
    } else if at(512, b"LABELONE") {
        other("an LVM physical volume")
    } else if at(0, b"LUKS\xba\xbe") {
        other("a LUKS encrypted volume")
    } else if at(3, b"NTFS    ") {
        other("NTFS")
    } else if at(32769, b"CD001") {
        other("ISO 9660")
    } else if head.iter().all(|&b| b == 0) {
        other("nothing (an empty partition)")
    } else {
        other("no file system osconf knows (a BIOS boot partition, or raw data)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(offset: usize, magic: &[u8]) -> Vec<u8> {
        let mut head = vec![0u8; PROBE_BYTES];
        head[offset..offset + magic.len()].copy_from_slice(magic);
        head
    }

    #[test]
    fn magic_numbers_name_the_content() {
        assert_eq!(identify(&with(1080, &[0x53, 0xEF])), Content { name: "ext2/3/4", cloud_writable: true });
        let mut fat = with(82, b"FAT32   ");
        fat[510..512].copy_from_slice(&[0x55, 0xAA]);
        assert!(identify(&fat).cloud_writable);
        assert!(identify(&with(65536 + 1372, &0x1954_0119u32.to_le_bytes())).cloud_writable);
        assert_eq!(identify(&with(0, b"XFSB")).name, "XFS");
        assert_eq!(identify(&with(4086, b"SWAPSPACE2")).name, "swap");
        assert!(!identify(&with(4086, b"SWAPSPACE2")).cloud_writable);
        assert_eq!(identify(&vec![0; PROBE_BYTES]).name, "nothing (an empty partition)");
        // GRUB's core.img in a BIOS boot partition: code, no file system.
        assert!(identify(&with(0, &[0x52, 0xe8, 0x28, 0x01])).name.contains("BIOS boot"));
        assert!(!identify(&[]).cloud_writable);
        assert_eq!(identify(&with(1080, &[0x53, 0xEF])).mount_types(), ["ext4", "ext3", "ext2"]);
        assert_eq!(identify(&fat).mount_types(), ["vfat"]);
    }
}
