//! Drops read through the real mount path: disk images made here (MBR with
//! an ext4 first partition, an ISO 9660 labelled config-2; first partitions
//! the cloud cannot write: swap, nothing, FAT without vfat in the kernel),
//! attached as loop devices. Needs root, like CI: fails, rather than skips,
//! without it.
//!
//! The kernel of this project's build machines has neither vfat nor iso9660
//! (see /proc/filesystems), so mounting a FAT32 first partition and the
//! Tencent CD-ROM is proven in the QEMU suite (tests/vm), whose Debian
//! kernel has both; here the ISO's label is read without mounting.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use osconf::check::{unmounted_partition, Status};
use osconf::config::{Config, Enabled, PartitionChoice, SourceConfig};
use osconf::error::Error;
use osconf::files::Root;
use osconf::sources::alibaba_drop::{self, partition_from_device, read_from_partition, DROP_PATH};
use osconf::sources::media::beneath::Resolve;
use osconf::sources::media::label::iso9660_label;
use osconf::sources::media::probe::probe;
use osconf::sources::tencent_cdrom::{self, read_from_device};
use osconf::sources::{
    alibaba_metadata, by_name, osconf_format, read_drop_beneath, read_drop_beneath_with, read_drop_file, Access,
    Context, Found, Payload,
};

use common::{metadata_with_hostname, TempTree};

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
    disk_of(tree, fs, &content)
}

/// An MBR disk whose first partition is `fs` ("ext4", "vfat", "swap", or
/// "empty": zeros) holding the tree `content` (ext4, vfat).
fn disk_of(tree: &TempTree, fs: &str, content: &Path) -> PathBuf {
    let part = tree.join("/p1.img");
    let image = tree.join("/disk.img");
    let _ = std::fs::remove_file(&part);
    run(&["truncate", "-s", "40M", part.to_str().unwrap()]);
    match fs {
        "ext4" => {
            run(&["mkfs.ext4", "-q", "-F", "-d", content.to_str().unwrap(), part.to_str().unwrap()]);
        }
        "vfat" => {
            run(&["mkfs.vfat", "-F", "32", part.to_str().unwrap()]);
            let out = Command::new("mcopy")
                .env("MTOOLS_SKIP_CHECK", "1")
                .args([
                    "-s",
                    "-i",
                    part.to_str().unwrap(),
                    content.join("aliyun_custom_image").to_str().unwrap(),
                    "::/",
                ])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        "swap" => {
            run(&["mkswap", part.to_str().unwrap()]);
        }
        "empty" => {}
        other => panic!("no such test file system {other}"),
    }
    let _ = std::fs::remove_file(&image);
    run(&["truncate", "-s", "42M", image.to_str().unwrap()]);
    let mut sfdisk = Command::new("sfdisk")
        .args(["-q", image.to_str().unwrap()])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    sfdisk
        .stdin
        .take()
        .unwrap()
        .write_all(
            format!("label: dos\nstart=1MiB, size=40MiB, type={}\n", if fs == "vfat" { "c" } else { "83" }).as_bytes(),
        )
        .unwrap();
    assert!(sfdisk.wait().unwrap().success());
    run(&[
        "dd",
        &format!("if={}", part.display()),
        &format!("of={}", image.display()),
        "bs=1M",
        "seek=1",
        "conv=notrunc",
        "status=none",
    ]);
    image
}

fn first_partition(l: &Loop) -> PathBuf {
    PathBuf::from(&l.0)
}

fn mounts_of(device: &Path) -> usize {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&format!("{} ", device.display())))
        .count()
}

const DROP: &str = "hostname=from-disk\n";

fn unmounted_partition_is_mounted_read_and_released(fs: &str) {
    require_root();
    let tree = TempTree::new(&format!("media-{fs}"));
    let image = disk(&tree, fs, Some(DROP));
    let l = Loop::attach(&image, true);
    let p1 = first_partition(&l);
    let partition = partition_from_device(&p1).unwrap();
    let found = read_from_partition(&partition, Access::ReadWrite).unwrap().expect("the drop is found");
    assert_eq!(*found.content, DROP.as_bytes());
    assert!(found.description.contains("mounted by osconf"), "{}", found.description);
    assert_eq!(mounts_of(&p1), 1, "mounted while in use");
    found.consume().unwrap();
    let point = found.mount.as_ref().unwrap().point.clone();
    assert!(point.join("aliyun_custom_image").is_dir(), "the directory is kept");
    assert!(!point.join("aliyun_custom_image/os.conf").exists());
    drop(found);
    assert_eq!(mounts_of(&p1), 0, "unmounted after use");
    // The deletion reached the medium: nothing found any more, nothing left mounted.
    assert!(read_from_partition(&partition, Access::ReadWrite).unwrap().is_none());
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
    let found = read_from_partition(&partition_from_device(&p1).unwrap(), Access::ReadWrite).unwrap().unwrap();
    assert!(found.mount.is_none());
    assert_eq!(found.delete_after.as_deref(), Some(point.join("aliyun_custom_image/os.conf").as_path()));
    found.consume().unwrap();
    assert!(!point.join("aliyun_custom_image/os.conf").exists());
    drop(found);
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
    run(&[
        "genisoimage",
        "-quiet",
        "-V",
        "config-2",
        "-r",
        "-J",
        "-o",
        iso.to_str().unwrap(),
        content.to_str().unwrap(),
    ]);
    let l = Loop::attach(&iso, false);
    let device = PathBuf::from(&l.0);
    assert_eq!(iso9660_label(&device).as_deref(), Some("config-2"));
    assert_eq!(iso9660_label(&iso).as_deref(), Some("config-2"));
    if std::fs::read_to_string("/proc/filesystems").unwrap().contains("iso9660") {
        let found = read_from_device(&device).unwrap().unwrap();
        assert_eq!(*found.content, b"hostname=VM_1_2_x\n");
        assert!(matches!(found.payload, Payload::OsConf(osconf_format::TENCENT)));
        assert_eq!(found.source, tencent_cdrom::KIND.source);
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
    let e = read_drop_file(&link).unwrap_err().to_string();
    assert!(e.contains("symbolic link"), "{e}");
    let fifo = tree.join("/fifo.conf");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let e = read_drop_file(&fifo).unwrap_err().to_string();
    assert!(e.contains("FIFO"), "{e}");
    tree.write("/big.conf", &"#".repeat(100_000), 0o644);
    let e = read_drop_file(&tree.join("/big.conf")).unwrap_err().to_string();
    assert!(e.contains("more than the 65536 allowed"), "{e}");
    assert!(read_drop_file(&tree.join("/missing.conf")).unwrap().is_none());
}

fn has_file_system(name: &str) -> bool {
    std::fs::read_to_string("/proc/filesystems").unwrap().lines().any(|l| l.split_whitespace().last() == Some(name))
}

/// Mount options of the mount of `device` (field 6 of mountinfo).
fn mount_options(device: &Path) -> Vec<String> {
    let rdev = nix::sys::stat::stat(device).unwrap().st_rdev;
    let dev = format!("{}:{}", nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = info.lines().find(|l| l.split_whitespace().nth(2) == Some(dev.as_str())).expect("mounted");
    line.split_whitespace().nth(5).unwrap().split(',').map(str::to_owned).collect()
}

#[test]
fn plan_mounts_the_first_partition_read_only_and_apply_read_write() {
    require_root();
    let tree = TempTree::new("media-ro");
    let image = disk(&tree, "ext4", Some(DROP));
    let l = Loop::attach(&image, true);
    let partition = partition_from_device(&first_partition(&l)).unwrap();
    let found = read_from_partition(&partition, Access::ReadOnly).unwrap().unwrap();
    assert!(
        mount_options(&first_partition(&l)).contains(&"ro".to_string()),
        "{:?}",
        mount_options(&first_partition(&l))
    );
    assert!(found.description.contains("mounted read-only by osconf"), "{}", found.description);
    drop(found);
    let found = read_from_partition(&partition, Access::ReadWrite).unwrap().unwrap();
    assert!(mount_options(&first_partition(&l)).contains(&"rw".to_string()));
    drop(found);
    assert_eq!(mounts_of(&first_partition(&l)), 0);
}

/// This host, as `osconf apply` sees it (DMI names no cloud here: a test machine).
fn host() -> Context<'static> {
    static ROOT: std::sync::OnceLock<Root> = std::sync::OnceLock::new();
    Context::new(ROOT.get_or_init(|| Root::new("/")), Access::ReadWrite)
}

/// A config that names the partition, without the CD-ROM (this kernel has
/// no iso9660), with the metadata endpoint at `url` when given.
fn config_for(partition: &Path, metadata: Option<&str>) -> Config {
    let mut config = Config::default();
    let section = |name| by_name(name).unwrap();
    let partition = PartitionChoice::Device(partition.to_owned());
    config.set_source(section("alibaba-drop"), SourceConfig { partition, ..SourceConfig::default() });
    config.set_source(section("tencent-cdrom"), SourceConfig { enabled: Enabled::No, ..SourceConfig::default() });
    if let Some(url) = metadata {
        let metadata = &alibaba_metadata::SOURCE;
        config.set_source(
            metadata,
            SourceConfig { enabled: Enabled::Yes, url: url.to_owned(), ..config.source(metadata) },
        );
    }
    config
}

#[test]
fn an_unusable_first_partition_warns_and_the_other_sources_are_still_tried() {
    require_root();
    let tree = TempTree::new("media-unusable");
    // FAT is what the cloud writes, but this kernel cannot mount it: the
    // "cannot be mounted" case; on a kernel with vfat it mounts and is empty.
    for fs in ["swap", "empty", "vfat"] {
        let content = tree.join("/content-empty");
        std::fs::create_dir_all(content.join("aliyun_custom_image")).unwrap();
        let image = disk_of(&tree, fs, &content);
        let l = Loop::attach(&image, true);
        let p1 = first_partition(&l);
        let partition = partition_from_device(&p1).unwrap();
        assert!(read_from_partition(&partition, Access::ReadWrite).unwrap().is_none(), "{fs}: no drop, no error");
        assert_eq!(mounts_of(&p1), 0, "{fs}: nothing left mounted");
        // The other sources: nothing at all is exit 0; the metadata endpoint is read.
        assert!(osconf::sources::find(&host(), &config_for(&p1, None)).unwrap().is_none());
        let url = metadata_with_hostname("from-metadata");
        let found =
            osconf::sources::find(&host(), &config_for(&p1, Some(&url))).unwrap().expect("the metadata's settings");
        assert!(
            found.description.contains("metadata endpoint")
                && found.settings().unwrap().hostname.as_deref() == Some("from-metadata"),
            "{fs}"
        );
        // osconf check: FAILED with the fix, naming what is there.
        let item = unmounted_partition(&p1, probe(&p1));
        if fs == "vfat" {
            assert_eq!(item.status, Status::Warning, "FAT is writable by the cloud");
            if !has_file_system("vfat") {
                let e = osconf::sources::media::mount::mount_first_fitting(&p1, "probe-test", &["vfat"], true)
                    .unwrap_err()
                    .to_string();
                assert!(e.contains("vfat"), "{e}");
            }
        } else {
            assert_eq!(item.status, Status::Failed, "{fs}: {item:?}");
            assert!(
                item.detail.contains(if fs == "swap" { "holds swap" } else { "holds nothing" })
                    && item.detail.contains("FAT32, ext2/3/4 or UFS"),
                "{item:?}"
            );
            assert!(item.fix.contains("partition 1") && item.fix.contains("FAT32 or ext4"), "{item:?}");
        }
    }
    // A [source] partition that does not exist: the same.
    let missing = Path::new("/dev/disk/by-label/osconf-test-no-such-label");
    let url = metadata_with_hostname("from-metadata");
    assert!(osconf::sources::find(&host(), &config_for(missing, Some(&url))).unwrap().is_some());
}

/// A partition whose `aliyun_custom_image` is a symlink (absolute, out of the
/// partition; or relative, within it), and a real os.conf where each points.
fn partition_with_symlinked_drop_dir(tree: &TempTree, target: &Path) -> PathBuf {
    let content = tree.join("/content-link");
    let _ = std::fs::remove_dir_all(&content);
    std::fs::create_dir_all(&content).unwrap();
    std::os::unix::fs::symlink(target, content.join("aliyun_custom_image")).unwrap();
    std::fs::create_dir_all(content.join("inside")).unwrap();
    std::fs::write(content.join("inside/os.conf"), DROP).unwrap();
    disk_of(tree, "ext4", &content)
}

fn assert_refused<T: std::fmt::Debug>(result: Result<Option<T>, Error>) {
    match result {
        Err(Error::Invalid(e)) => assert!(e.contains("symbolic link") && e.contains("aliyun_custom_image"), "{e}"),
        other => panic!("a symlinked drop directory must be refused, got {other:?}"),
    }
}

#[test]
fn a_symlink_in_the_drop_path_never_leads_out_of_the_partition() {
    require_root();
    let tree = TempTree::new("media-symlink");
    let outside = tree.join("/elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("os.conf"), DROP).unwrap();
    for target in [outside.clone(), PathBuf::from("inside")] {
        let image = partition_with_symlinked_drop_dir(&tree, &target);
        let l = Loop::attach(&image, true);
        let p1 = first_partition(&l);
        // osconf's own mount (openat2 on this kernel) ...
        assert_refused(read_from_partition(&partition_from_device(&p1).unwrap(), Access::ReadWrite));
        assert_eq!(mounts_of(&p1), 0);
        // ... and a partition mounted already, with openat2 and with the O_NOFOLLOW walk.
        let point = tree.join("/mnt");
        std::fs::create_dir_all(&point).unwrap();
        run(&["mount", p1.to_str().unwrap(), point.to_str().unwrap()]);
        for resolve in [Resolve::Openat2, Resolve::Walk] {
            assert_refused(read_drop_beneath_with(&point, Path::new(DROP_PATH), resolve));
        }
        run(&["umount", point.to_str().unwrap()]);
        assert_eq!(std::fs::read_to_string(outside.join("os.conf")).unwrap(), DROP, "the file outside is untouched");
    }
}

#[test]
fn the_drop_is_deleted_through_its_directory_not_its_path() {
    require_root();
    let tree = TempTree::new("media-unlinkat");
    let outside = tree.join("/elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("os.conf"), DROP).unwrap();
    let image = disk(&tree, "ext4", Some(DROP));
    let l = Loop::attach(&image, true);
    let point = tree.join("/mnt");
    std::fs::create_dir_all(&point).unwrap();
    run(&["mount", first_partition(&l).to_str().unwrap(), point.to_str().unwrap()]);
    for resolve in [Resolve::Openat2, Resolve::Walk] {
        std::fs::create_dir_all(point.join("aliyun_custom_image")).unwrap();
        std::fs::write(point.join(DROP_PATH), DROP).unwrap();
        let found = Found::drop(
            alibaba_drop::KIND,
            read_drop_beneath_with(&point, Path::new(DROP_PATH), resolve).unwrap().unwrap(),
        );
        assert_eq!(*found.content, DROP.as_bytes());
        // Between the read and the deletion the directory is swapped for a link out.
        std::fs::rename(point.join("aliyun_custom_image"), point.join("moved")).unwrap();
        std::os::unix::fs::symlink(&outside, point.join("aliyun_custom_image")).unwrap();
        found.consume().unwrap();
        assert!(!point.join("moved/os.conf").exists(), "the drop that was read is deleted");
        assert!(outside.join("os.conf").exists(), "the file the new link points to is not");
        std::fs::remove_file(point.join("aliyun_custom_image")).unwrap();
        std::fs::remove_dir(point.join("moved")).unwrap();
    }
    assert!(read_drop_beneath(&point, Path::new(DROP_PATH)).unwrap().is_none(), "nothing left to read");
    run(&["umount", point.to_str().unwrap()]);
}

#[test]
fn file_systems_made_by_their_own_tools_are_told_apart() {
    let tree = TempTree::new("media-probe");
    let image = |name: &str, size: &str| {
        let path = tree.join(&format!("/{name}.img"));
        run(&["truncate", "-s", size, path.to_str().unwrap()]);
        path
    };
    let cases: [(&str, &[&str], &str, bool); 4] = [
        ("ext4", &["mkfs.ext4", "-q", "-F"], "ext2/3/4", true),
        ("vfat", &["mkfs.vfat", "-F", "32"], "FAT", true),
        ("swap", &["mkswap"], "swap", false),
        ("xfs", &["mkfs.xfs", "-q"], "XFS", false),
    ];
    for (name, mkfs, expected, writable) in cases {
        let path = image(name, if name == "xfs" { "320M" } else { "40M" });
        let mut args = mkfs.to_vec();
        args.push(path.to_str().unwrap());
        run(&args);
        let content = probe(&path).unwrap();
        assert_eq!((content.name, content.cloud_writable), (expected, writable), "{name}");
    }
    let empty = image("empty", "40M");
    assert_eq!(probe(&empty).unwrap().name, "nothing (an empty partition)");
}

/// `osconf plan` itself, in a private mount namespace whose /etc holds an
/// osconf.conf naming the loop device: the partition it mounts is read-only.
#[test]
fn osconf_plan_mounts_the_partition_read_only() {
    use std::ffi::CString;
    use std::os::unix::process::CommandExt;
    require_root();
    let tree = TempTree::new("media-plan");
    let image = disk(&tree, "ext4", Some(DROP));
    let l = Loop::attach(&image, true);
    tree.write("/etc/osconf/osconf.conf", &format!("[source]\npartition = {}\ntencent = false\n", l.0), 0o644);
    tree.write("/etc/hostname", "old\n", 0o644);
    // Prepared before fork: the child only makes system calls.
    let etc = CString::new(tree.join("/etc").to_str().unwrap()).unwrap();
    let (root, target) = (CString::new("/").unwrap(), CString::new("/etc").unwrap());
    let mut command = Command::new(common::OSCONF);
    command.arg("plan").env_remove("OSCONF_LOG");
    // SAFETY: only async-signal-safe system calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            use nix::libc::{mount, unshare, CLONE_NEWNS, MS_BIND, MS_PRIVATE, MS_REC};
            let fail = || Err(std::io::Error::last_os_error());
            if unshare(CLONE_NEWNS) != 0
                || mount(std::ptr::null(), root.as_ptr(), std::ptr::null(), MS_REC | MS_PRIVATE, std::ptr::null()) != 0
            {
                return fail();
            }
            if mount(etc.as_ptr(), target.as_ptr(), std::ptr::null(), MS_BIND, std::ptr::null()) != 0 {
                return fail();
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "Settings from {}:/aliyun_custom_image/os.conf (ext4, mounted read-only by osconf)",
            l.0
        )),
        "{stdout}{stderr}"
    );
    assert_eq!(mounts_of(&first_partition(&l)), 0);
}
