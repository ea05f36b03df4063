//! The sysfs walk on fake sysfs trees shaped like the kernel's.

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

    /// A block device at devices/<path> with its dev number, linked from dev/block.
    fn device(&self, path: &str, dev: &str, partition: Option<u32>) -> PathBuf {
        let dir = self.0.join("devices").join(path);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("dev"), format!("{dev}\n")).unwrap();
        if let Some(n) = partition {
            fs::write(dir.join("partition"), format!("{n}\n")).unwrap();
        }
        symlink(&dir, self.0.join("dev/block").join(dev)).unwrap();
        dir
    }
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
    let found = first_partition_of(&sys.0, 254, 2).unwrap();
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
    let found = first_partition_of(&sys.0, 253, 0).unwrap();
    assert_eq!(found, Partition { device: "/dev/nvme0n1p1".into(), major_minor: "259:1".into() });
}

#[test]
fn a_disk_without_partition_1_is_a_clear_error() {
    let sys = FakeSys::new("nopart");
    sys.device("pci/block/xvda", "202:0", None);
    sys.device("pci/block/xvda/xvda2", "202:2", Some(2));
    let error = first_partition_of(&sys.0, 202, 2).unwrap_err().to_string();
    assert!(error.contains("has no partition 1"), "{error}");
    let error = first_partition_of(&sys.0, 9, 9).unwrap_err().to_string();
    assert!(error.contains("(9:9)"), "{error}");
}
