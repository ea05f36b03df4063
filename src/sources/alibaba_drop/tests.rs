//! The sysfs walk on fake sysfs and mountinfo trees shaped like the kernel's.

use super::*;
use std::fs;
use std::os::unix::fs::symlink;

struct FakeSys(PathBuf);

impl FakeSys {
    fn new(name: &str) -> FakeSys {
        let base = std::env::temp_dir().join(format!("osconf-sysfs-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(base.join("dev/block")).unwrap();
        FakeSys(base)
    }

    /// A block device at devices/<path> with its dev number, linked from
    /// dev/block and class/block.
    fn device(&self, path: &str, dev: &str, partition: Option<u32>) -> PathBuf {
        let dir = self.0.join("devices").join(path);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("dev"), format!("{dev}\n")).unwrap();
        if let Some(n) = partition {
            fs::write(dir.join("partition"), format!("{n}\n")).unwrap();
        }
        symlink(&dir, self.0.join("dev/block").join(dev)).unwrap();
        fs::create_dir_all(self.0.join("class/block")).unwrap();
        symlink(&dir, self.0.join("class/block").join(dir.file_name().unwrap())).unwrap();
        dir
    }

    /// The paths osconf reads, with this mountinfo.
    fn paths(&self, mountinfo: &str) -> KernelPaths {
        fs::write(self.0.join("mountinfo"), mountinfo).unwrap();
        KernelPaths { sys: self.0.clone(), mountinfo: self.0.join("mountinfo") }
    }

    /// /sys/fs/btrfs/<fsid>/devices/<name> links to each member device.
    fn btrfs(&self, fsid: &str, members: &[&PathBuf]) {
        let dir = self.0.join("fs/btrfs").join(fsid).join("devices");
        fs::create_dir_all(&dir).unwrap();
        for member in members {
            symlink(member, dir.join(member.file_name().unwrap())).unwrap();
        }
    }
}

fn first_partition_of(sys: &FakeSys, major: u64, minor: u64) -> Result<Partition, Error> {
    first_partition_of_mount(&sys.paths(""), Path::new("/"), (major, minor))
}

impl Drop for FakeSys {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn root_on_partition_2_finds_partition_1_of_the_same_disk() {
    let sys = FakeSys::new("plain");
    sys.device("pci0000:00/virtio2/block/vda", "254:0", None);
    sys.device("pci0000:00/virtio2/block/vda/vda2", "254:2", Some(2));
    sys.device("pci0000:00/virtio2/block/vda/vda1", "254:1", Some(1));
    sys.device("pci0000:00/virtio3/block/vdb/vdb1", "254:17", Some(1));
    let found = first_partition_of(&sys, 254, 2).unwrap();
    assert_eq!(found, Partition { device: "/dev/vda1".into(), major_minor: "254:1".into() });
}

#[test]
fn nvme_names_and_lvm_root_are_followed() {
    let sys = FakeSys::new("lvm");
    sys.device("pci/nvme/nvme0/nvme0n1", "259:0", None);
    sys.device("pci/nvme/nvme0/nvme0n1/nvme0n1p1", "259:1", Some(1));
    let p2 = sys.device("pci/nvme/nvme0/nvme0n1/nvme0n1p2", "259:2", Some(2));
    let dm = sys.device("virtual/block/dm-0", "253:0", None);
    fs::create_dir_all(dm.join("slaves")).unwrap();
    symlink(&p2, dm.join("slaves/nvme0n1p2")).unwrap();
    let found = first_partition_of(&sys, 253, 0).unwrap();
    assert_eq!(found, Partition { device: "/dev/nvme0n1p1".into(), major_minor: "259:1".into() });
}

#[test]
fn a_disk_without_partition_1_is_a_clear_error() {
    let sys = FakeSys::new("nopart");
    sys.device("pci/block/xvda", "202:0", None);
    sys.device("pci/block/xvda/xvda2", "202:2", Some(2));
    let error = first_partition_of(&sys, 202, 2).unwrap_err().to_string();
    assert!(error.contains("has no partition 1"), "{error}");
    let error = first_partition_of(&sys, 9, 9).unwrap_err().to_string();
    assert!(error.contains("(9:9)"), "{error}");
}

/// openSUSE's layout: / is a btrfs subvolume on vda2, whose stat gives an
/// anonymous 0:NN device with no /sys/dev/block entry.
const BTRFS_MOUNTINFO: &str = "\
25 1 0:27 /@/.snapshots/1/snapshot / rw,relatime shared:1 - btrfs /dev/vda2 rw,space_cache=v2,subvolid=267,subvol=/@/.snapshots/1/snapshot
40 25 0:27 /@/home /home rw,relatime shared:2 - btrfs /dev/vda2 rw,subvol=/@/home
41 25 254:1 / /boot/efi rw,relatime shared:3 - vfat /dev/vda1 rw,fmask=0022
";

#[test]
fn btrfs_root_is_found_through_mountinfo() {
    let sys = FakeSys::new("btrfs");
    sys.device("pci/virtio2/block/vda", "254:0", None);
    sys.device("pci/virtio2/block/vda/vda1", "254:1", Some(1));
    let vda2 = sys.device("pci/virtio2/block/vda/vda2", "254:2", Some(2));
    sys.btrfs("6f0c1a5e-0000-4000-8000-000000000001", &[&vda2]);
    let found = first_partition_of_mount(&sys.paths(BTRFS_MOUNTINFO), Path::new("/"), (0, 31)).unwrap();
    assert_eq!(found, Partition { device: "/dev/vda1".into(), major_minor: "254:1".into() });
}

#[test]
fn multi_device_btrfs_uses_the_member_on_a_partitioned_disk() {
    let sys = FakeSys::new("btrfs-multi");
    // The source mountinfo names (vdb, a whole disk) has no partition 1;
    // /sys/fs/btrfs lists the other member, vda2, whose disk has one.
    sys.device("pci/virtio3/block/vdb", "254:16", None);
    let vdb = sys.0.join("devices/pci/virtio3/block/vdb");
    sys.device("pci/virtio2/block/vda", "254:0", None);
    sys.device("pci/virtio2/block/vda/vda1", "254:1", Some(1));
    let vda2 = sys.device("pci/virtio2/block/vda/vda2", "254:2", Some(2));
    sys.btrfs("6f0c1a5e-0000-4000-8000-000000000002", &[&vdb, &vda2]);
    sys.btrfs("6f0c1a5e-0000-4000-8000-000000000003", &[]);
    let mountinfo = "25 1 0:27 /@ / rw - btrfs /dev/vdb rw,subvol=/@\n";
    let found = first_partition_of_mount(&sys.paths(mountinfo), Path::new("/"), (0, 27)).unwrap();
    assert_eq!(found.device, PathBuf::from("/dev/vda1"));
}

#[test]
fn an_anonymous_device_without_a_block_source_is_a_clear_error() {
    let sys = FakeSys::new("overlay");
    let mountinfo = "25 1 0:27 / / rw - overlay overlay rw,lowerdir=/a\n";
    let error = first_partition_of_mount(&sys.paths(mountinfo), Path::new("/"), (0, 27)).unwrap_err().to_string();
    assert!(error.contains("(0:27)") && error.contains("no block device"), "{error}");
}

#[test]
fn the_visible_mount_at_a_point_is_the_last_one() {
    let info = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:30 / /my\\040root rw shared:4 master:1 - btrfs /dev/sdb2 rw\n3 1 0:31 / / rw - btrfs /dev/sdc2 rw\n";
    assert_eq!(root_device::mount_source(info, Path::new("/")), Some(("btrfs".into(), "/dev/sdc2".into())));
    assert_eq!(root_device::mount_source(info, Path::new("/my root")), Some(("btrfs".into(), "/dev/sdb2".into())));
    assert_eq!(root_device::mount_source(info, Path::new("/none")), None);
}
