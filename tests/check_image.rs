//! `osconf check --image`: small disk images made here (sfdisk, `mke2fs -d`,
//! `qemu-img convert`; no debootstrap, no mount), a ready one and one per
//! defect, each read unprivileged and never changed.

mod common;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value;

const ROOT_UUID: &str = "6a1f3c2e-9b1d-4c55-8d2a-1f0e6b7c8d90";
const BOOT_UUID: &str = "0d2c4b6a-1e3f-4a5b-9c8d-7e6f5a4b3c2d";
const KERNEL: &str = "6.1.0-27-amd64";
const MIB: u64 = 1 << 20;

/// The trees of a ready image: / and /boot (partition 1, ext4, mounted at /boot).
struct Trees {
    root: TempTree,
    boot: TempTree,
}

impl Trees {
    fn ready(name: &str) -> Trees {
        let root = TempTree::new(&format!("img-{name}-root"));
        let boot = TempTree::new(&format!("img-{name}-boot"));
        root.write("/usr/lib/os-release", "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n", 0o644);
        std::fs::create_dir_all(root.join("/etc")).unwrap();
        std::os::unix::fs::symlink("../usr/lib/os-release", root.join("/etc/os-release")).unwrap();
        root.write("/etc/fstab", &format!("UUID={ROOT_UUID} / ext4 defaults 0 1\nUUID={BOOT_UUID} /boot ext4 defaults 0 2\nproc /proc proc defaults 0 0\n"), 0o644);
        root.write("/etc/shadow", "root:*:19000:0:99999:7:::\n", 0o640);
        root.write("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644);
        // /bin/sh's ELF header says the machine (x86-64 here).
        let mut elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec();
        elf.resize(64, 0);
        std::fs::create_dir_all(root.join("/usr/bin")).unwrap();
        std::fs::write(root.join("/usr/bin/dash"), &elf).unwrap();
        std::os::unix::fs::symlink("usr/bin", root.join("/bin")).unwrap();
        std::os::unix::fs::symlink("dash", root.join("/usr/bin/sh")).unwrap();
        root.write("/usr/bin/passwd", "", 0o755);
        std::os::unix::fs::symlink("usr/lib", root.join("/lib")).unwrap();
        root.write("/usr/lib/systemd/systemd", "", 0o755);
        root.write("/usr/lib/systemd/system/osconf.service", "[Unit]\n", 0o644);
        root.write("/usr/lib/systemd/system/systemd-networkd.service", "[Unit]\n", 0o644);
        for unit in ["osconf.service", "systemd-networkd.service"] {
            std::fs::create_dir_all(root.join("/etc/systemd/system/multi-user.target.wants")).unwrap();
            std::os::unix::fs::symlink(
                format!("/lib/systemd/system/{unit}"),
                root.join(&format!("/etc/systemd/system/multi-user.target.wants/{unit}")),
            )
            .unwrap();
        }
        root.write("/usr/lib/systemd/systemd-networkd", "", 0o755);
        root.write("/etc/systemd/network/80-dhcp.network", "[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\n", 0o644);
        std::fs::create_dir_all(root.join("/boot")).unwrap();
        boot.write(
            &format!("/config-{KERNEL}"),
            "CONFIG_VIRTIO_PCI=y\nCONFIG_VIRTIO_BLK=y\nCONFIG_VIRTIO_NET=y\nCONFIG_SCSI_VIRTIO=m\n",
            0o644,
        );
        boot.write(&format!("/vmlinuz-{KERNEL}"), "kernel", 0o644);
        std::fs::create_dir_all(boot.join("/aliyun_custom_image")).unwrap();
        let trees = Trees { root, boot };
        trees.initramfs(&["usr/lib/modules/6.1.0-27-amd64/kernel/drivers/scsi/virtio_scsi.ko.xz"], "zstd");
        trees
    }

    /// /boot/initrd.img-KERNEL: an early microcode cpio, then these files in
    /// a cpio compressed with `compressor`, as Debian builds it.
    fn initramfs(&self, files: &[&str], compressor: &str) {
        let work = TempTree::new("initramfs");
        let cpio = |dir: &str, names: &[&str]| -> Vec<u8> {
            for name in names {
                work.write(&format!("/{dir}/{name}"), "module", 0o644);
            }
            let list: String = names.iter().map(|n| format!("{n}\n")).collect();
            let out = std::process::Command::new("cpio")
                .args(["-o", "-H", "newc", "--quiet"])
                .current_dir(work.join(dir))
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .map(|mut child| {
                    std::io::Write::write_all(&mut child.stdin.take().unwrap(), list.as_bytes()).unwrap();
                    child.wait_with_output().unwrap()
                })
                .expect("cpio (tests/install-deps.sh installs it)");
            assert!(out.status.success());
            out.stdout
        };
        std::fs::create_dir_all(work.join("/early")).unwrap();
        std::fs::create_dir_all(work.join("/main")).unwrap();
        let mut bytes = cpio("early", &["kernel/x86/microcode/GenuineIntel.bin"]);
        let main = cpio("main", files);
        let compressed = run_tool(compressor, &["-c"], Some(&main));
        assert!(compressed.status.success(), "{compressor}");
        bytes.extend_from_slice(&compressed.stdout);
        std::fs::write(self.boot.join(&format!("/initrd.img-{KERNEL}")), bytes).unwrap();
    }
}

/// How the disk is made.
struct Disk {
    /// sfdisk's label: "dos" or "gpt"; "" for a bare file system (no table).
    label: &'static str,
    /// mke2fs -O for /.
    root_features: &'static str,
}

const READY: Disk = Disk { label: "dos", root_features: "^64bit" };

/// Builds the raw image: partition 1 = /boot, partition 2 = /, both ext4.
fn build(trees: &Trees, disk: &Disk, out: &Path) {
    let work = TempTree::new("mkimg");
    let p1 = work.join("/p1");
    let p2 = work.join("/p2");
    let mkfs = |src: &Path, file: &Path, uuid: &str, label: &str, mb: u64, features: &str| {
        std::fs::File::create(file).unwrap().set_len(mb * MIB).unwrap();
        let o = run_tool(
            "mke2fs",
            &[
                "-q",
                "-F",
                "-t",
                "ext4",
                "-O",
                features,
                "-U",
                uuid,
                "-L",
                label,
                "-d",
                src.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "mke2fs: {}", String::from_utf8_lossy(&o.stderr));
    };
    mkfs(&trees.boot.path, &p1, BOOT_UUID, "boot", 16, "^64bit");
    mkfs(&trees.root.path, &p2, ROOT_UUID, "root", 24, disk.root_features);
    if disk.label.is_empty() {
        std::fs::copy(&p2, out).unwrap();
        return;
    }
    assemble(out, disk.label, &[(&std::fs::read(&p1).unwrap(), "L"), (&std::fs::read(&p2).unwrap(), "L")]);
}

/// A disk of these partitions (bytes, sfdisk type), one after the other
/// from 1 MiB, each its size rounded up to a MiB; a MiB left at the end for
/// GPT's backup header.
fn assemble(out: &Path, label: &str, partitions: &[(&[u8], &str)]) {
    let mut table = format!("label: {label}\n");
    let mut start = MIB;
    for (bytes, kind) in partitions {
        let size = (bytes.len() as u64).div_ceil(MIB) * MIB;
        table += &format!("start={}MiB, size={}MiB, type={kind}\n", start / MIB, size / MIB);
        start += size;
    }
    let image = std::fs::File::create(out).unwrap();
    image.set_len(start + MIB).unwrap();
    let o = run_tool("sfdisk", &["-q", out.to_str().unwrap()], Some(table.as_bytes()));
    assert!(o.status.success(), "sfdisk: {}", String::from_utf8_lossy(&o.stderr));
    let mut at = MIB;
    for (bytes, _) in partitions {
        image.write_all_at(bytes, at).unwrap();
        at += (bytes.len() as u64).div_ceil(MIB) * MIB;
    }
}

fn image(trees: &Trees, disk: &Disk, name: &str) -> (TempTree, PathBuf) {
    let dir = TempTree::new(&format!("image-{name}"));
    let path = dir.join("/disk.raw");
    build(trees, disk, &path);
    (dir, path)
}

/// `osconf check --image` as JSON: (exit code, report). The image is never changed.
fn check(path: &Path, clouds: &str) -> (i32, Value) {
    let before = sha256(path);
    let (code, out, err) = osconf(&["check", "--image", path.to_str().unwrap(), "--cloud", clouds, "--json"]);
    assert_eq!(sha256(path), before, "check --image changed the image");
    assert!(!err.contains("panicked"), "{err}");
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, report)
}

fn sha256(path: &Path) -> String {
    let o = run_tool("sha256sum", &[path.to_str().unwrap()], None);
    String::from_utf8_lossy(&o.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

/// The status of the item named `name` ("OK", "WARNING", "FAILED").
fn status<'a>(report: &'a Value, name: &str) -> &'a str {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no item {name} in {report:#}"))["status"]
        .as_str()
        .unwrap()
}

fn ready_for(report: &Value, cloud: &str) -> bool {
    report["clouds"].as_array().unwrap().iter().find(|c| c["name"] == cloud).unwrap()["ready"].as_bool().unwrap()
}

fn failed_items(report: &Value) -> Vec<String> {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["status"] == "FAILED")
        .map(|i| format!("{}: {}", i["name"], i["detail"]))
        .collect()
}

#[test]
fn a_ready_image_passes_for_every_cloud_raw_and_qcow2() {
    let trees = Trees::ready("ready");
    let (dir, raw) = image(&trees, &READY, "ready");
    let (code, report) = check(&raw, "all");
    assert_eq!(code, 0, "{:?}", failed_items(&report));
    assert_eq!(report["ready"], true);
    assert_eq!(report["image"]["format"], "raw");
    assert_eq!(report["image"]["partition_table"], "MBR");
    assert_eq!(report["image"]["root"], "partition 2");
    for cloud in ["alibaba", "tencent", "huawei", "ctyun"] {
        assert!(ready_for(&report, cloud), "{cloud}");
    }
    // osconf's own items, read from the image's tree.
    assert_eq!(status(&report, "osconf at boot"), "OK");
    assert_eq!(status(&report, "first partition"), "OK");
    assert_eq!(status(&report, "drop directory"), "OK");
    assert_eq!(status(&report, "network stack"), "OK");
    // virtio: three built in, virtio_scsi in the zstd initramfs after the microcode.
    assert_eq!(status(&report, "virtio drivers"), "OK");
    assert_eq!(status(&report, "fstab by UUID"), "OK");
    assert_eq!(status(&report, "data disks in fstab"), "OK");
    assert_eq!(status(&report, "DHCP"), "OK");
    assert_eq!(status(&report, "first-boot agent"), "OK");
    let item = report["items"].as_array().unwrap().iter().find(|i| i["name"] == "virtio drivers").unwrap();
    assert_eq!(item["clouds"], serde_json::json!(["alibaba", "tencent", "huawei", "ctyun"]));

    let qcow2 = dir.join("/disk.qcow2");
    let o = run_tool("qemu-img", &["convert", "-O", "qcow2", raw.to_str().unwrap(), qcow2.to_str().unwrap()], None);
    assert!(o.status.success(), "qemu-img: {}", String::from_utf8_lossy(&o.stderr));
    let (code, report) = check(&qcow2, "all");
    assert_eq!(code, 0, "{:?}", failed_items(&report));
    assert_eq!(report["image"]["format"], "qcow2");
}

#[test]
fn the_text_report_names_each_cloud() {
    let trees = Trees::ready("text");
    let (_dir, raw) = image(&trees, &READY, "text");
    let (code, out, _) = osconf(&["check", "--image", raw.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("OK       virtio drivers [alibaba, tencent, huawei, ctyun]: kernel 6.1.0-27-amd64"), "{out}");
    // The disk first: what was found where.
    let first = out.lines().next().unwrap();
    assert!(
        first.contains("disk.raw: raw, 42 MiB virtual, ") && first.ends_with(" MiB actual, partition table MBR"),
        "{out}"
    );
    assert!(out.contains("\n  partition 2: 24 MiB, ext4 UUID=6a1f3c2e-9b1d-4c55-8d2a-1f0e6b7c8d90 (/)\n"), "{out}");
    for cloud in ["alibaba: ready", "tencent: ready", "huawei: ready", "ctyun: ready"] {
        assert!(out.lines().any(|l| l == cloud), "{cloud} in {out}");
    }
    assert!(out.ends_with("The image is ready for osconf and alibaba, tencent, huawei, ctyun.\n"), "{out}");
}

#[test]
fn gpt_fails_tencent_and_warns_alibaba() {
    let trees = Trees::ready("gpt");
    let (_dir, raw) = image(&trees, &Disk { label: "gpt", ..READY }, "gpt");
    let (code, report) = check(&raw, "tencent");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "partition table"), "FAILED");
    let (code, report) = check(&raw, "alibaba");
    assert_eq!(code, 0, "{:?}", failed_items(&report));
    assert_eq!(status(&report, "partition table"), "WARNING");
}

#[test]
fn ext4_with_64bit_fails_alibaba_only() {
    let trees = Trees::ready("64bit");
    let (_dir, raw) = image(&trees, &Disk { root_features: "64bit", ..READY }, "64bit");
    let (code, report) = check(&raw, "all");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "file system"), "FAILED");
    assert!(!ready_for(&report, "alibaba"));
    assert!(ready_for(&report, "tencent") && ready_for(&report, "huawei"), "{:?}", failed_items(&report));
}

#[test]
fn virtio_missing_from_the_initramfs_fails_every_cloud() {
    let trees = Trees::ready("novirtio");
    trees.initramfs(&["usr/lib/modules/6.1.0-27-amd64/kernel/fs/ext4/ext4.ko.xz"], "xz");
    let (_dir, raw) = image(&trees, &READY, "novirtio");
    let (code, report) = check(&raw, "all");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "virtio drivers"), "FAILED");
    let detail =
        report["items"].as_array().unwrap().iter().find(|i| i["name"] == "virtio drivers").unwrap()["detail"].clone();
    assert!(detail.as_str().unwrap().contains("virtio_scsi"), "{detail}");
    for cloud in ["alibaba", "tencent", "huawei", "ctyun"] {
        assert!(!ready_for(&report, cloud));
    }
    // The same module in a gzip'd initramfs is found.
    trees.initramfs(&["usr/lib/modules/6.1.0-27-amd64/kernel/drivers/scsi/virtio_scsi.ko"], "gzip");
    let (_dir, raw) = image(&trees, &READY, "gzvirtio");
    assert_eq!(status(&check(&raw, "all").1, "virtio drivers"), "OK");
    // Or built in: virtio_scsi's option is CONFIG_SCSI_VIRTIO.
    trees.initramfs(&[], "gzip");
    let config = format!("/config-{KERNEL}");
    assert_eq!(status(&check(&image(&trees, &READY, "noscsi").1, "all").1, "virtio drivers"), "FAILED");
    trees.boot.write(&config, &trees.boot.read(&config).replace("CONFIG_SCSI_VIRTIO=m", "CONFIG_SCSI_VIRTIO=y"), 0o644);
    assert_eq!(status(&check(&image(&trees, &READY, "builtin").1, "all").1, "virtio drivers"), "OK");
}

#[test]
fn an_immutable_shadow_fails() {
    let trees = Trees::ready("immutable");
    let (_dir, raw) = image(&trees, &READY, "immutable");
    // Partition 2 starts at 17 MiB: debugfs edits it in a copy of the file system.
    let work = TempTree::new("immutable-fs");
    let p2 = work.join("/p2");
    let bytes = std::fs::read(&raw).unwrap();
    std::fs::write(&p2, &bytes[17 * MIB as usize..41 * MIB as usize]).unwrap();
    let o = run_tool("debugfs", &["-w", "-R", "set_inode_field /etc/shadow flags 0x80010", p2.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::File::options()
        .write(true)
        .open(&raw)
        .unwrap()
        .write_all_at(&std::fs::read(&p2).unwrap(), 17 * MIB)
        .unwrap();
    let (code, report) = check(&raw, "alibaba");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "/etc/shadow"), "FAILED");
}

#[test]
fn fstab_by_device_name_and_data_disks_fail_huawei() {
    let trees = Trees::ready("fstab");
    trees.root.write(
        "/etc/fstab",
        &format!("/dev/vda2 / ext4 defaults 0 1\nUUID={BOOT_UUID} /boot ext4 defaults 0 2\nUUID=11111111-2222-3333-4444-555555555555 /data ext4 defaults 0 2\n"),
        0o644,
    );
    let (_dir, raw) = image(&trees, &READY, "fstab");
    let (code, report) = check(&raw, "huawei");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "fstab by UUID"), "FAILED");
    assert_eq!(status(&report, "data disks in fstab"), "FAILED");
    assert!(ready_for(&check(&raw, "alibaba").1, "alibaba"));
}

#[test]
fn persistent_udev_net_rules_fail_huawei_and_ctyun() {
    let trees = Trees::ready("udev");
    trees.root.write(
        "/etc/udev/rules.d/70-persistent-net.rules",
        "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"\n",
        0o644,
    );
    let (_dir, raw) = image(&trees, &READY, "udev");
    let (code, report) = check(&raw, "huawei,ctyun");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "udev net rules"), "FAILED");
}

#[test]
fn alibaba_rules_on_the_tree_selinux_and_lib64() {
    let trees = Trees::ready("selinux");
    trees.root.write("/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n", 0o644);
    std::os::unix::fs::symlink("/usr/lib64", trees.root.join("/lib64")).unwrap();
    let (_dir, raw) = image(&trees, &READY, "selinux");
    let (code, report) = check(&raw, "alibaba");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "SELinux"), "FAILED");
    assert_eq!(status(&report, "/lib and /lib64"), "FAILED");
}

#[test]
fn a_disk_without_a_partition_table_fails_tencent() {
    let trees = Trees::ready("bare");
    let (_dir, raw) = image(&trees, &Disk { label: "", ..READY }, "bare");
    let (code, report) = check(&raw, "tencent");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "partition table"), "FAILED");
    assert_eq!(report["image"]["root"], "the whole disk");
}

#[test]
fn vhd_is_refused_by_china_telecom_only() {
    let trees = Trees::ready("vhd");
    let (dir, raw) = image(&trees, &READY, "vhd");
    let vhd = dir.join("/disk.vhd");
    let o = run_tool("qemu-img", &["convert", "-O", "vpc", raw.to_str().unwrap(), vhd.to_str().unwrap()], None);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (code, report) = check(&vhd, "all");
    assert_eq!(code, 1);
    assert_eq!(report["image"]["format"], "vhd");
    assert_eq!(status(&report, "image format"), "FAILED");
    assert!(!ready_for(&report, "ctyun"));
    assert!(ready_for(&report, "tencent"), "{:?}", failed_items(&report));
}

#[test]
fn an_unreadable_image_is_exit_2_and_a_usage_error_too() {
    let dir = TempTree::new("image-garbage");
    let path = dir.join("/disk.qcow2");
    // A qcow2 header whose L1 table lies past the end of the file.
    let mut header = vec![0u8; 512];
    header[..4].copy_from_slice(b"QFI\xfb");
    header[4..8].copy_from_slice(&3u32.to_be_bytes());
    header[20..24].copy_from_slice(&16u32.to_be_bytes());
    header[24..32].copy_from_slice(&(64 * MIB).to_be_bytes());
    header[36..40].copy_from_slice(&1u32.to_be_bytes());
    header[40..48].copy_from_slice(&(1u64 << 40).to_be_bytes());
    std::fs::write(&path, &header).unwrap();
    let (code, out, err) = osconf(&["check", "--image", path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("cannot check the image"), "{err}");
    let (code, _, err) = osconf(&["check", "--image", "/nonexistent.img"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = osconf(&["check", "--cloud", "aws"]);
    assert_eq!(code, 2);
    assert!(err.contains("aws"), "{err}");
}

#[test]
fn the_tree_modes_take_cloud_rules_too() {
    let trees = Trees::ready("tree");
    trees.root.write("/etc/udev/rules.d/70-persistent-net.rules", "SUBSYSTEM==\"net\", NAME=\"eth0\"\n", 0o644);
    let root = trees.root.path.to_str().unwrap();
    let (_, out, _) = osconf(&["check", "--root", root, "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["clouds"], serde_json::json!([]));
    assert!(report["items"].as_array().unwrap().iter().all(|i| i["clouds"] == serde_json::json!([])));
    let (_, out, _) = osconf(&["check", "--root", root, "--cloud", "huawei", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status(&report, "udev net rules"), "FAILED");
    assert!(!ready_for(&report, "huawei"));
    // Neither osconf nor cloud-init: Tencent's CloudInitNotInstalled.
    assert_eq!(status(&report, "first-boot agent"), "OK");
    std::fs::remove_file(trees.root.join("/etc/systemd/system/multi-user.target.wants/osconf.service")).unwrap();
    let (_, out, _) = osconf(&["check", "--root", root, "--cloud", "tencent", "--json"]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(status(&report, "first-boot agent"), "FAILED");
}

/// Damaged images: bytes flipped in the partition table and in each file
/// system's first 256 KiB (superblocks, group descriptors, inode tables,
/// the root directory). Every run ends, within a bound, with a report or
/// exit 2, never a crash; and the image is never written.
#[test]
fn damaged_images_end_in_a_report_or_exit_2_never_a_crash() {
    let trees = Trees::ready("damaged");
    let (dir, raw) = image(&trees, &READY, "damaged");
    let pristine = std::fs::read(&raw).unwrap();
    let damaged = dir.join("/damaged.raw");
    let regions = [(0u64, 1024u64), (MIB, 256 * 1024), (17 * MIB, 256 * 1024)];
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // 120 rounds; OSCONF_READER_CASES (tests/aarch64.sh: 25) under emulation.
    let rounds = std::env::var("OSCONF_READER_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    for round in 0..rounds {
        let mut bytes = pristine.clone();
        for _ in 0..1 + next() % 24 {
            let (start, len) = regions[(next() % regions.len() as u64) as usize];
            let at = (start + next() % len) as usize;
            bytes[at] = match next() % 3 {
                0 => 0,
                1 => 0xff,
                _ => next() as u8,
            };
        }
        std::fs::write(&damaged, &bytes).unwrap();
        let mut command = osconf_command();
        command.args(["check", "--image", damaged.to_str().unwrap(), "--json"]);
        let (code, err) = run_within(command, std::time::Duration::from_secs(60));
        assert!(matches!(code, 0..=2), "round {round}: exit {code}: {err}");
        assert!(!err.contains("panicked"), "round {round}: {err}");
        assert_eq!(std::fs::read(&damaged).unwrap(), bytes, "round {round}: the image was written");
    }
}

/// `/` on an LVM logical volume of two segments (the LVM reader's fixture, a
/// real PV made by LVM2): the file system is read through both segments.
#[test]
fn root_on_lvm_is_read_through_its_segments_and_fails_alibaba() {
    let trees = Trees::ready("lvm");
    let work = TempTree::new("lvm-image");
    // lv1: LV bytes 0..8 MiB at PV 1..9 MiB, 8..20 MiB at PV 21..33 MiB.
    let pv = work.join("/pv.img");
    let o =
        run_tool("xz", &["-dc", concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/check/lvm/two-lvs.img.xz")], None);
    assert!(o.status.success(), "xz: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::write(&pv, &o.stdout).unwrap();
    let root_fs = work.join("/root.ext4");
    std::fs::File::create(&root_fs).unwrap().set_len(20 * MIB).unwrap();
    let o = run_tool(
        "mke2fs",
        &[
            "-q",
            "-F",
            "-t",
            "ext4",
            "-O",
            "^64bit",
            "-U",
            ROOT_UUID,
            "-d",
            trees.root.path.to_str().unwrap(),
            root_fs.to_str().unwrap(),
        ],
        None,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let fs_bytes = std::fs::read(&root_fs).unwrap();
    let pv_file = std::fs::File::options().write(true).open(&pv).unwrap();
    pv_file.write_all_at(&fs_bytes[..8 * MIB as usize], MIB).unwrap();
    pv_file.write_all_at(&fs_bytes[8 * MIB as usize..], 21 * MIB).unwrap();
    // The disk: partition 1 /boot (ext4), partition 2 the PV (type 8e).
    let (dir, raw) = image(&trees, &READY, "lvm-base");
    let boot = std::fs::read(&raw).unwrap()[MIB as usize..17 * MIB as usize].to_vec();
    let disk = dir.join("/lvm.raw");
    assemble(&disk, "dos", &[(&boot, "L"), (&std::fs::read(&pv).unwrap(), "8e")]);
    let (code, report) = check(&disk, "all");
    assert_eq!(code, 1);
    assert_eq!(report["image"]["root"], "LVM osconftestvg/lv1");
    assert_eq!(status(&report, "LVM"), "FAILED");
    assert_eq!(status(&report, "virtio drivers"), "OK", "/boot found through fstab's UUID");
    assert!(!ready_for(&report, "alibaba"));
    assert!(ready_for(&report, "tencent") && ready_for(&report, "huawei"), "{:?}", failed_items(&report));
}

/// `check` as the user nobody (setpriv drops root's rights): (exit code, report).
fn check_as_nobody(path: &Path, clouds: &str) -> (i32, Value) {
    assert!(nix::unistd::geteuid().is_root(), "this test drops root's rights: run it as root (CI does)");
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(osconf_argv())
        .args(["check", "--image", path.to_str().unwrap(), "--cloud", clouds, "--json"])
        .env_remove("OSCONF_LOG")
        .output()
        .expect("setpriv (util-linux)");
    let report =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), report)
}

/// An unprivileged user reads an ext4 image as root does: parsing, no mount.
#[test]
fn an_unprivileged_user_reads_an_ext4_image() {
    let trees = Trees::ready("unprivileged");
    let (_dir, raw) = image(&trees, &READY, "unprivileged");
    let (code, report) = check_as_nobody(&raw, "all");
    assert_eq!(code, 0, "{:?}", failed_items(&report));
    assert_eq!(status(&report, "virtio drivers"), "OK");
}

/// `/` on btrfs (no user-space reader): as root, read through a private
/// read-only loop mount that neither the host's mounts nor its loop devices
/// keep; unprivileged, FAILED with the way to read it.
#[test]
fn btrfs_root_is_read_through_a_private_mount_as_root_only() {
    assert!(nix::unistd::geteuid().is_root(), "this test mounts: run it as root (CI does)");
    let trees = Trees::ready("btrfs");
    let (dir, raw) = image(&trees, &READY, "btrfs-base");
    let boot = std::fs::read(&raw).unwrap()[MIB as usize..17 * MIB as usize].to_vec();
    // A btrfs `/` of `rootdir`, behind the ready image's /boot.
    let btrfs_disk = |rootdir: &Path, name: &str| -> PathBuf {
        let p2 = dir.join(&format!("/{name}.p2"));
        std::fs::File::create(&p2).unwrap().set_len(128 * MIB).unwrap();
        let o = run_tool(
            "mkfs.btrfs",
            &["-q", "-f", "-U", ROOT_UUID, "--rootdir", rootdir.to_str().unwrap(), p2.to_str().unwrap()],
            None,
        );
        assert!(o.status.success(), "mkfs.btrfs: {}", String::from_utf8_lossy(&o.stderr));
        let disk = dir.join(&format!("/{name}.raw"));
        assemble(&disk, "dos", &[(&boot, "L"), (&std::fs::read(&p2).unwrap(), "L")]);
        std::fs::remove_file(&p2).unwrap();
        disk
    };
    let disk = btrfs_disk(&trees.root.path, "btrfs");
    let (code, report) = check(&disk, "tencent");
    assert_eq!(code, 0, "{:?}", failed_items(&report));
    assert_eq!(report["image"]["root"], "partition 2");
    assert_eq!(status(&report, "distribution"), "OK");
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains("osconf-check-mount"), "the mount leaked into the host:\n{mounts}");
    let loops = run_tool("losetup", &["-j", disk.to_str().unwrap()], None);
    assert!(String::from_utf8_lossy(&loops.stdout).trim().is_empty(), "a loop device stayed: {loops:?}");
    let (code, report) = check_as_nobody(&disk, "tencent");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "root file system"), "FAILED");

    // Fedora's layout: `/` in a top-level directory (its subvolume `root`).
    let wrapper = TempTree::new("btrfs-subvolume");
    let o = run_tool("cp", &["-a", trees.root.path.to_str().unwrap(), wrapper.join("/root").to_str().unwrap()], None);
    assert!(o.status.success());
    let disk = btrfs_disk(&wrapper.path, "fedora");
    let (code, report) = check(&disk, "tencent");
    assert_eq!(code, 0, "{:?}", failed_items(&report));
    assert_eq!(status(&report, "virtio drivers"), "OK");
}

/// A disk without an operating system: RootPartitionNotFound, and no item
/// judges a tree that is not there (no "passwd command missing" noise).
#[test]
fn a_disk_without_an_os_says_root_partition_not_found_only() {
    let trees = Trees::ready("noos");
    for file in ["/etc/fstab", "/usr/lib/os-release"] {
        std::fs::remove_file(trees.root.join(file)).unwrap();
    }
    let (_dir, raw) = image(&trees, &READY, "noos");
    let (code, report) = check(&raw, "all");
    assert_eq!(code, 1);
    assert_eq!(status(&report, "root partition"), "FAILED");
    assert_eq!(status(&report, "root file system"), "FAILED");
    let names: Vec<&str> = report["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    for tree_item in ["passwd command", "virtio drivers", "osconf at boot", "sshd"] {
        assert!(!names.contains(&tree_item), "{tree_item} in {names:?}");
    }
}

#[test]
fn image_options_belong_to_check_alone() {
    let (code, _, err) = osconf(&["apply", "--image", "/x.img"]);
    assert_eq!(code, 2);
    assert!(err.contains("--image and --cloud are options of check"), "{err}");
    let (code, _, err) = osconf(&["check", "--image", "/x.img", "--root", "/tmp"]);
    assert_eq!(code, 2);
    assert!(err.contains("give one of them"), "{err}");
}

/// Alibaba's sshd rule on a tree: installed but not started is FAILED,
/// started by ssh.socket (Ubuntu) is OK, `PermitRootLogin no` is FAILED.
#[test]
fn sshd_must_start_and_let_root_in_for_alibaba() {
    let trees = Trees::ready("sshd");
    let root = trees.root.path.to_str().unwrap();
    let sshd = || {
        let (_, out, _) = osconf(&["check", "--root", root, "--cloud", "alibaba", "--json"]);
        status(&serde_json::from_str(&out).unwrap(), "sshd").to_owned()
    };
    assert_eq!(sshd(), "WARNING", "not installed");
    trees.root.write("/usr/sbin/sshd", "", 0o755);
    assert_eq!(sshd(), "FAILED", "installed, not enabled");
    std::fs::create_dir_all(trees.root.join("/etc/systemd/system/sockets.target.wants")).unwrap();
    std::os::unix::fs::symlink(
        "/lib/systemd/system/ssh.socket",
        trees.root.join("/etc/systemd/system/sockets.target.wants/ssh.socket"),
    )
    .unwrap();
    assert_eq!(sshd(), "OK");
    trees.root.write("/etc/ssh/sshd_config", "# comment\nPermitRootLogin no\n", 0o644);
    assert_eq!(sshd(), "FAILED");
}

/// Links in the image that point out of it (absolute, or `..` past its
/// root) are resolved inside the image: the host's files are neither read
/// nor written.
#[test]
fn links_out_of_the_image_stay_inside_it() {
    let host = TempTree::new("outside");
    host.write("/70-persistent-net.rules", "SUBSYSTEM==\"net\", NAME=\"eth0\"\n", 0o644);
    let trees = Trees::ready("links-out");
    std::fs::create_dir_all(trees.root.join("/etc/udev/rules.d")).unwrap();
    let escape = format!("/../../../..{}/70-persistent-net.rules", host.path.display());
    std::os::unix::fs::symlink(&escape, trees.root.join("/etc/udev/rules.d/70-persistent-net.rules")).unwrap();
    std::fs::create_dir_all(trees.root.join("/root")).unwrap();
    std::os::unix::fs::symlink(&host.path, trees.root.join("/root/.ssh")).unwrap();
    let (_dir, raw) = image(&trees, &READY, "links-out");
    let (code, report) = check(&raw, "huawei");
    assert_eq!(code, 0, "{:?}", failed_items(&report));
    assert_eq!(status(&report, "udev net rules"), "OK", "the host's rules file was read");
    let left: Vec<_> = std::fs::read_dir(&host.path).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, ["70-persistent-net.rules"], "the copy wrote into the host's directory");
}
