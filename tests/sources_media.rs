//! Drops read through the real mount path: disk images made here (MBR with
//! an ext4 first partition, an ISO 9660 labelled config-2), attached as loop
//! devices. Needs root, like CI: fails, rather than skips, without it.
//!
//! The kernel of this project's build machines has neither vfat nor iso9660
//! (see /proc/filesystems), so mounting a FAT32 first partition and the
//! Tencent CD-ROM is proven in the QEMU suite (tests/vm), whose Debian
//! kernel has both; here the ISO's label is read without mounting.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use osconf::sources::aliyun_disk::{partition_from_device, read_from_partition};
use osconf::sources::tencent_cdrom::{iso9660_label, read_from_device};
use osconf::sources::read_drop_file;
use osconf::settings::PasswordForm;

use common::TempTree;

fn run(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn require_root() {
    assert!(nix::unistd::geteuid().is_root(), "these tests mount loop devices: run them as root");
}

/// A loop device for an image (or, with an offset, for one partition of
/// it: this kernel does not create loop partition nodes); detached on drop.
struct Loop(String);

impl Loop {
    fn attach(image: &Path, partition_1: bool) -> Loop {
        let mut args = vec!["losetup", "-f", "--show"];
        if partition_1 {
            args.extend(["-o", "1048576", "--sizelimit", "41943040"]);
        }
        args.push(image.to_str().unwrap());
        Loop(run(&args))
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.0]).status();
    }
}

/// An MBR disk whose first partition (fs) holds aliyun_custom_image/os.conf.
fn disk(tree: &TempTree, fs: &str, drop: Option<&str>) -> PathBuf {
    let content = tree.join("/content");
    std::fs::create_dir_all(content.join("aliyun_custom_image")).unwrap();
    if let Some(drop) = drop {
        std::fs::write(content.join("aliyun_custom_image/os.conf"), drop).unwrap();
    }
    let part = tree.join("/p1.img");
    let image = tree.join("/disk.img");
    run(&["truncate", "-s", "40M", part.to_str().unwrap()]);
    match fs {
        "ext4" => {
            run(&["mkfs.ext4", "-q", "-F", "-d", content.to_str().unwrap(), part.to_str().unwrap()]);
        }
        _ => {
            run(&["mkfs.vfat", "-F", "32", part.to_str().unwrap()]);
            let out = Command::new("mcopy").env("MTOOLS_SKIP_CHECK", "1").args(["-s", "-i", part.to_str().unwrap(), content.join("aliyun_custom_image").to_str().unwrap(), "::/"]).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
    }
    run(&["truncate", "-s", "42M", image.to_str().unwrap()]);
    let mut sfdisk = Command::new("sfdisk").args(["-q", image.to_str().unwrap()]).stdin(std::process::Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    sfdisk.stdin.take().unwrap().write_all(format!("label: dos\nstart=1MiB, size=40MiB, type={}\n", if fs == "ext4" { "83" } else { "c" }).as_bytes()).unwrap();
    assert!(sfdisk.wait().unwrap().success());
    run(&["dd", &format!("if={}", part.display()), &format!("of={}", image.display()), "bs=1M", "seek=1", "conv=notrunc", "status=none"]);
    image
}

fn first_partition(l: &Loop) -> PathBuf {
    PathBuf::from(&l.0)
}

fn mounts_of(device: &Path) -> usize {
    std::fs::read_to_string("/proc/self/mounts").unwrap().lines().filter(|l| l.starts_with(&format!("{} ", device.display()))).count()
}

const DROP: &str = "hostname=from-disk\n";

fn unmounted_partition_is_mounted_read_and_released(fs: &str) {
    require_root();
    let tree = TempTree::new(&format!("media-{fs}"));
    let image = disk(&tree, fs, Some(DROP));
    let l = Loop::attach(&image, true);
    let p1 = first_partition(&l);
    let partition = partition_from_device(&p1).unwrap();
    let found = read_from_partition(&partition).unwrap().expect("the drop is found");
    assert_eq!(found.content, DROP.as_bytes());
    assert!(found.description.contains("mounted by osconf"), "{}", found.description);
    assert_eq!(mounts_of(&p1), 1, "mounted while in use");
    found.consume().unwrap();
    let point = found.mount.as_ref().unwrap().point.clone();
    assert!(point.join("aliyun_custom_image").is_dir(), "the directory is kept");
    assert!(!point.join("aliyun_custom_image/os.conf").exists());
    drop(found);
    assert_eq!(mounts_of(&p1), 0, "unmounted after use");
    // The deletion reached the medium: nothing found any more, nothing left mounted.
    assert!(read_from_partition(&partition).unwrap().is_none());
    assert_eq!(mounts_of(&p1), 0);
}

#[test]
fn ext4_first_partition() {
    unmounted_partition_is_mounted_read_and_released("ext4");
}

#[test]
fn an_already_mounted_partition_is_used_where_it_is() {
    require_root();
    let tree = TempTree::new("media-mounted");
    let image = disk(&tree, "ext4", Some(DROP));
    let l = Loop::attach(&image, true);
    let p1 = first_partition(&l);
    let point = tree.join("/boot");
    std::fs::create_dir_all(&point).unwrap();
    run(&["mount", p1.to_str().unwrap(), point.to_str().unwrap()]);
    let found = read_from_partition(&partition_from_device(&p1).unwrap()).unwrap().unwrap();
    assert!(found.mount.is_none());
    assert_eq!(found.delete_after.as_deref(), Some(point.join("aliyun_custom_image/os.conf").as_path()));
    found.consume().unwrap();
    assert!(!point.join("aliyun_custom_image/os.conf").exists());
    run(&["umount", point.to_str().unwrap()]);
}

#[test]
fn tencent_iso_labelled_config_2_is_found_by_its_label() {
    require_root();
    let tree = TempTree::new("media-iso");
    let content = tree.join("/iso");
    std::fs::create_dir_all(content.join("qcloud_action")).unwrap();
    std::fs::write(content.join("qcloud_action/os.conf"), "hostname=VM_1_2_x\n").unwrap();
    let iso = tree.join("/config.iso");
    run(&["genisoimage", "-quiet", "-V", "config-2", "-r", "-J", "-o", iso.to_str().unwrap(), content.to_str().unwrap()]);
    let l = Loop::attach(&iso, false);
    let device = PathBuf::from(&l.0);
    assert_eq!(iso9660_label(&device).as_deref(), Some("config-2"));
    assert_eq!(iso9660_label(&iso).as_deref(), Some("config-2"));
    if std::fs::read_to_string("/proc/filesystems").unwrap().contains("iso9660") {
        let found = read_from_device(&device).unwrap().unwrap();
        assert_eq!(found.content, b"hostname=VM_1_2_x\n");
        assert_eq!(found.form, PasswordForm::CryptHash);
        assert_eq!(found.delete_after, None, "a CD-ROM is never written");
        drop(found);
    } else {
        // No iso9660 in this kernel: the failure must say so (the QEMU suite mounts it for real).
        let e = read_from_device(&device).unwrap_err().to_string();
        assert!(e.contains("cannot mount") && e.contains("iso9660"), "{e}");
    }
    assert_eq!(mounts_of(&device), 0);
    // A disk that is not an ISO has no label.
    let plain = disk(&tree, "ext4", None);
    assert_eq!(iso9660_label(&plain), None);
}

#[test]
fn symlink_fifo_and_oversized_drops_are_refused() {
    let tree = TempTree::new("media-files");
    tree.write("/real.conf", "hostname=x\n", 0o644);
    let link = tree.join("/link.conf");
    std::os::unix::fs::symlink(tree.join("/real.conf"), &link).unwrap();
    let e = read_drop_file(&link, PasswordForm::Base64Plain).unwrap_err().to_string();
    assert!(e.contains("symbolic link"), "{e}");
    let fifo = tree.join("/fifo.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let e = read_drop_file(&fifo, PasswordForm::Base64Plain).unwrap_err().to_string();
    assert!(e.contains("FIFO"), "{e}");
    tree.write("/big.conf", &"#".repeat(100_000), 0o644);
    let e = read_drop_file(&tree.join("/big.conf"), PasswordForm::Base64Plain).unwrap_err().to_string();
    assert!(e.contains("more than the 65536 allowed"), "{e}");
    assert!(read_drop_file(&tree.join("/missing.conf"), PasswordForm::Base64Plain).unwrap().is_none());
}
