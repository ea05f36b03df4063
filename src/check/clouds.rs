//! Each cloud's import rules (`../shared/PLATFORM.md` §7) as check items.
//! Items that need the disk (its format, size, partition table, file
//! systems) come from an image's [`DiskFacts`]; the rest read the image's
//! tree through a [`Root`], so `--root DIR` and a booted `/` get them too.

use serde::Serialize;

use super::{failed, ok, warning, Item, Status};
use crate::files::Root;
use crate::plan::network::enabled;

/// The clouds `check` knows the import rules of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Alibaba,
    Tencent,
    Huawei,
    Ctyun,
}

pub const ALL: [Cloud; 4] = [Cloud::Alibaba, Cloud::Tencent, Cloud::Huawei, Cloud::Ctyun];

impl Cloud {
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Alibaba => "alibaba",
            Cloud::Tencent => "tencent",
            Cloud::Huawei => "huawei",
            Cloud::Ctyun => "ctyun",
        }
    }

    /// `--cloud alibaba,tencent` or `--cloud all`.
    pub fn parse_list(text: &str) -> Result<Vec<Cloud>, String> {
        let mut clouds = Vec::new();
        for word in text.split(',').map(str::trim) {
            match word {
                "all" => clouds.extend(ALL),
                _ => clouds.push(
                    *ALL.iter()
                        .find(|c| c.name() == word)
                        .ok_or_else(|| format!("--cloud {word:?}: expected alibaba, tencent, huawei, ctyun or all"))?,
                ),
            }
        }
        clouds.sort();
        clouds.dedup();
        Ok(clouds)
    }
}

/// What the disk itself says (only `check --image` knows it).
#[derive(Debug, Clone, Default)]
pub struct DiskFacts {
    /// "raw", "qcow2", "vhd", "vmdk".
    pub format: &'static str,
    pub virtual_size: u64,
    /// Bytes the image file takes on its file system (Tencent's "actual size").
    pub allocated: u64,
    /// "MBR", "GPT" or "none".
    pub table: &'static str,
    pub partitions: usize,
    /// Where `/` was found ("partition 2", "LVM vg0/root"); None: not found.
    pub root_at: Option<String>,
    /// `/`'s file system ("ext4", "xfs", …), its 64bit feature, its usage.
    pub root_fs: Option<crate::check::image::fs::Info>,
    /// An LVM physical volume is on the disk.
    pub lvm: bool,
    /// `/` is on a logical volume.
    pub root_on_lvm: bool,
    /// BIOS boot code (an MBR's boot code or a BIOS boot partition).
    pub bios_boot: bool,
    /// An EFI system partition holding an `.efi` boot loader.
    pub uefi_boot: bool,
    /// The UUIDs and labels of the file systems on this disk (fstab's data disks are the others).
    pub uuids: Vec<String>,
    pub labels: Vec<String>,
}

/// Items of the given clouds' rules. `disk` is None for a tree (`--root`, booted `/`).
pub fn items(root: &Root, disk: Option<&DiskFacts>, clouds: &[Cloud]) -> Vec<Item> {
    use Cloud::*;
    let wants =
        |of: &[Cloud]| -> Vec<&'static str> { of.iter().filter(|c| clouds.contains(c)).map(|c| c.name()).collect() };
    let mut items = Vec::new();
    let mut push = |of: &[Cloud], item: Item| {
        let names = wants(of);
        if !names.is_empty() {
            items.push(Item { clouds: names, ..item });
        }
    };
    if let Some(disk) = disk {
        let format = image_format(disk);
        // Only China Telecom refuses formats (VHD, VMDK); the others take all four.
        push(if format.status == Status::Failed { &[Ctyun] } else { &[Alibaba, Tencent, Huawei, Ctyun] }, format);
        push(&[Tencent], tencent_size(disk));
        push(&[Alibaba], alibaba_disk_size(disk));
        push(&[Alibaba, Tencent], partition_table(disk, clouds));
        push(&[Alibaba, Tencent, Huawei, Ctyun], root_partition(disk));
        push(&[Alibaba], lvm(disk));
        if let Some(fs) = &disk.root_fs {
            push(&[Alibaba], file_system(fs));
            push(&[Alibaba], usage("disk usage", fs.blocks_total, fs.blocks_free));
            if fs.inodes_total > 0 {
                push(&[Alibaba], usage("inode usage", fs.inodes_total, fs.inodes_free));
            }
        }
        push(&[Huawei], boot_mode(root, disk));
        push(&[Huawei, Ctyun], data_disks(root, disk));
        if disk.root_at.is_none() {
            return items; // no tree to judge: "root partition" said why
        }
    }
    push(&[Alibaba, Tencent, Huawei, Ctyun], virtio(root));
    push(&[Tencent, Huawei, Ctyun], first_boot_agent(root));
    push(&[Ctyun, Huawei], architecture(root, disk));
    push(&[Tencent], distribution(root));
    push(&[Alibaba], selinux(root));
    push(&[Alibaba], qemu_guest_agent(root));
    push(&[Alibaba], network_service(root));
    push(&[Alibaba], ssh_server(root));
    push(&[Alibaba], firewall(root));
    push(&[Alibaba], passwd_command(root));
    push(&[Alibaba], lib_links(root));
    push(&[Huawei, Ctyun], dhcp(root));
    push(&[Huawei], fstab_by_uuid(root));
    push(&[Huawei, Ctyun], udev_net_rules(root));
    items
}

const GIB: u64 = 1 << 30;

fn gib(bytes: u64) -> String {
    if bytes < GIB {
        format!("{} MiB", bytes.div_ceil(1 << 20))
    } else {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    }
}

fn image_format(disk: &DiskFacts) -> Item {
    const NAME: &str = "image format";
    if !matches!(disk.format, "raw" | "qcow2") {
        return failed(
            NAME,
            format!("{}: China Telecom imports RAW or QCOW2 only", disk.format),
            "qemu-img convert -O qcow2 IMAGE OUT.qcow2",
        );
    }
    ok(NAME, disk.format)
}

fn tencent_size(disk: &DiskFacts) -> Item {
    const NAME: &str = "image size";
    let detail = format!("actual {}, virtual {}", gib(disk.allocated), gib(disk.virtual_size));
    if disk.allocated > 50 * GIB || disk.virtual_size > 500 * GIB {
        failed(
            NAME,
            format!("{detail}: Tencent imports at most 50 GiB actual and 500 GiB virtual"),
            "shrink the image (qemu-img convert drops unused space) or the virtual disk",
        )
    } else {
        ok(NAME, detail)
    }
}

fn alibaba_disk_size(disk: &DiskFacts) -> Item {
    const NAME: &str = "system disk size";
    let size = gib(disk.virtual_size);
    if disk.virtual_size > 500 * GIB {
        failed(
            NAME,
            format!("{size}: Alibaba's system disks are 40 to 500 GiB"),
            "make the virtual disk 500 GiB or less",
        )
    } else if disk.virtual_size < 40 * GIB {
        warning(
            NAME,
            format!("{size}: the instance's disk will be at least 40 GiB"),
            "grow the root partition at first boot (growpart), or make the virtual disk 40 GiB",
        )
    } else {
        ok(NAME, size)
    }
}

fn partition_table(disk: &DiskFacts, clouds: &[Cloud]) -> Item {
    const NAME: &str = "partition table";
    let detail = format!("{}, {} partition(s)", disk.table, disk.partitions);
    match disk.table {
        "GPT" if clouds.contains(&Cloud::Tencent) => {
            failed(NAME, format!("{detail}: Tencent does not import GPT disks"), "use an MBR (dos) partition table")
        }
        "GPT" => warning(
            NAME,
            format!("{detail}: Alibaba's image_check expects MBR"),
            "use MBR, or import the image with the UEFI boot mode",
        ),
        "none" => failed(
            NAME,
            "no partition table (PartitionNotPresent)",
            "put the file systems in partitions of an MBR table",
        ),
        _ => ok(NAME, detail),
    }
}

fn root_partition(disk: &DiskFacts) -> Item {
    const NAME: &str = "root partition";
    match &disk.root_at {
        Some(at) => ok(NAME, format!("/ is on {at}")),
        None => failed(
            NAME,
            "no file system holds /etc/os-release and /etc/fstab (RootPartitionNotFound)",
            "install the operating system into a partition of the disk",
        ),
    }
}

fn lvm(disk: &DiskFacts) -> Item {
    const NAME: &str = "LVM";
    match (disk.lvm, disk.root_on_lvm) {
        (_, true) => failed(NAME, "/ is on an LVM logical volume", "put / on a plain partition"),
        (true, false) => warning(NAME, "the disk holds an LVM physical volume", "do not use LVM on the system disk"),
        _ => ok(NAME, "not used"),
    }
}

fn file_system(fs: &crate::check::image::fs::Info) -> Item {
    const NAME: &str = "file system";
    match fs.kind {
        "ext4" if fs.ext_64bit => {
            failed(NAME, "/ is ext4 with the 64bit feature", "make / without it (mkfs.ext4 -O ^64bit, or resize2fs -s)")
        }
        "xfs" | "ext3" | "ext4" | "ext2" => ok(NAME, format!("/ is {}", fs.kind)),
        other => failed(NAME, format!("/ is {other}: Alibaba supports XFS, ext3 and ext4"), "make / XFS or ext4"),
    }
}

fn usage(name: &'static str, total: u64, free: u64) -> Item {
    let used = total.saturating_sub(free.min(total));
    let percent = used.saturating_mul(100).checked_div(total).unwrap_or(100);
    if percent >= 95 {
        failed(
            name,
            format!("{percent}% used"),
            "free space in / before uploading: the first boot writes logs and keys",
        )
    } else if percent >= 85 {
        warning(name, format!("{percent}% used"), "free space in /, or grow it")
    } else {
        ok(name, format!("{percent}% used"))
    }
}

fn boot_mode(root: &Root, disk: &DiskFacts) -> Item {
    const NAME: &str = "boot mode";
    let arm = elf_machine(root) == Some("aarch64");
    match (disk.bios_boot, disk.uefi_boot) {
        (_, false) if arm => failed(
            NAME,
            "an ARM image without an EFI system partition: Huawei boots ARM with UEFI only",
            "install GRUB for EFI on an EFI system partition",
        ),
        (true, true) => ok(NAME, "BIOS and UEFI: register the image with either"),
        (true, false) => ok(NAME, "BIOS: register the image with the BIOS boot mode"),
        (false, true) => ok(NAME, "UEFI: register the image with the UEFI boot mode"),
        (false, false) => warning(
            NAME,
            "no boot loader found (no MBR boot code, BIOS boot partition or EFI loader)",
            "install GRUB (grub-install) before uploading",
        ),
    }
}

/// An fstab line: device, mount point, type, options.
pub fn fstab(root: &Root) -> Vec<(String, String, String, String)> {
    let text = root.read_optional("/etc/fstab").ok().flatten().unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let device = words.next().filter(|w| !w.starts_with('#'))?;
            let point = words.next()?;
            let kind = words.next().unwrap_or("auto");
            let options = words.next().unwrap_or("defaults");
            Some((device.to_owned(), point.to_owned(), kind.to_owned(), options.to_owned()))
        })
        .take(1000)
        .collect()
}

/// Pseudo and network file systems, swap and bind mounts: no disk behind them.
fn on_a_disk(device: &str, kind: &str, options: &str) -> bool {
    !matches!(
        kind,
        "proc"
            | "sysfs"
            | "tmpfs"
            | "devpts"
            | "devtmpfs"
            | "swap"
            | "nfs"
            | "nfs4"
            | "cifs"
            | "none"
            | "efivarfs"
            | "securityfs"
            | "cgroup"
            | "cgroup2"
            | "debugfs"
            | "hugetlbfs"
            | "mqueue"
            | "overlay"
    ) && !options.split(',').any(|o| o == "bind")
        && device != "none"
}

fn fstab_by_uuid(root: &Root) -> Item {
    const NAME: &str = "fstab by UUID";
    let by_name: Vec<String> = fstab(root)
        .into_iter()
        .filter(|(device, _, kind, options)| {
            // Kernel names of disks change with the hypervisor's bus; LVM's /dev/VG/LV do not.
            let name = device.strip_prefix("/dev/").unwrap_or("");
            on_a_disk(device, kind, options) && ["sd", "vd", "hd", "xvd", "nvme"].iter().any(|p| name.starts_with(p))
        })
        .map(|(device, point, ..)| format!("{device} on {point}"))
        .collect();
    if by_name.is_empty() {
        ok(NAME, "every disk in /etc/fstab is named by UUID, label or a stable link")
    } else {
        failed(
            NAME,
            format!("/etc/fstab names {} by device name, which changes between hypervisors", by_name.join(", ")),
            "name them UUID=… (blkid prints the UUIDs)",
        )
    }
}

fn data_disks(root: &Root, disk: &DiskFacts) -> Item {
    const NAME: &str = "data disks in fstab";
    let foreign: Vec<(String, bool)> = fstab(root)
        .into_iter()
        .filter(|(device, _, kind, options)| on_a_disk(device, kind, options))
        .filter(|(device, ..)| {
            let value = |prefix: &str| device.strip_prefix(prefix).map(|v| v.trim_matches('"').to_ascii_lowercase());
            if let Some(uuid) = value("UUID=") {
                !disk.uuids.iter().any(|u| u.eq_ignore_ascii_case(&uuid))
            } else if let Some(label) = device.strip_prefix("LABEL=") {
                !disk.labels.iter().any(|l| l == label.trim_matches('"'))
            } else if device.starts_with("PARTUUID=") || device.starts_with("/dev/disk/by-") {
                false // partition ids are not read: believed to be this disk's
            } else {
                // /dev/vdb…, /dev/sdb…: a second disk.
                let name = device.trim_start_matches("/dev/");
                ["vd", "sd", "xvd", "hd"]
                    .iter()
                    .any(|p| name.strip_prefix(p).is_some_and(|rest| !rest.starts_with('a')))
                    || name.starts_with("nvme") && !name.starts_with("nvme0n1")
            }
        })
        .map(|(device, point, _, options)| (format!("{device} on {point}"), options.split(',').any(|o| o == "nofail")))
        .collect();
    if foreign.is_empty() {
        ok(NAME, "every file system in /etc/fstab is on this disk")
    } else if foreign.iter().all(|(_, nofail)| *nofail) {
        let names: Vec<&str> = foreign.iter().map(|(n, _)| n.as_str()).collect();
        warning(
            NAME,
            format!("/etc/fstab mounts {} (nofail), not on this disk", names.join(", ")),
            "remove data disks from /etc/fstab",
        )
    } else {
        let names: Vec<&str> = foreign.iter().map(|(n, _)| n.as_str()).collect();
        failed(
            NAME,
            format!("/etc/fstab mounts {}, not on this disk: the boot waits for it", names.join(", ")),
            "remove data disks from /etc/fstab",
        )
    }
}

/// The virtio drivers the clouds' hypervisors need: built in, or in the initramfs.
/// Each module with the kernel option that builds it in.
const VIRTIO: [(&str, &str); 4] = [
    ("virtio_blk", "CONFIG_VIRTIO_BLK"),
    ("virtio_scsi", "CONFIG_SCSI_VIRTIO"),
    ("virtio_net", "CONFIG_VIRTIO_NET"),
    ("virtio_pci", "CONFIG_VIRTIO_PCI"),
];

fn virtio(root: &Root) -> Item {
    const NAME: &str = "virtio drivers";
    const FIX: &str = "add virtio_blk, virtio_scsi, virtio_net and virtio_pci to the initramfs (dracut --add-drivers, or /etc/initramfs-tools/modules) and rebuild it";
    let versions = kernel_versions(root);
    let Some(version) = versions.last() else {
        return failed(NAME, "no kernel in /boot (VirtioNotInstall)", "install a kernel and its initramfs in /boot");
    };
    let config = root.read_optional(&format!("/boot/config-{version}")).ok().flatten().unwrap_or_default();
    let builtin_list = ["/lib/modules", "/usr/lib/modules"]
        .iter()
        .find_map(|dir| root.read_optional(&format!("{dir}/{version}/modules.builtin")).ok().flatten())
        .unwrap_or_default();
    let initramfs = initramfs_of(root, version);
    let names = initramfs.as_ref().ok().cloned().unwrap_or_default();
    let mut missing = Vec::new();
    for (module, option) in VIRTIO {
        let built_in = config.lines().any(|l| l.trim().strip_prefix(option) == Some("=y"))
            || builtin_list.lines().any(|l| module_name(l).as_deref() == Some(module));
        let in_initramfs = names.iter().any(|n| module_name(n).as_deref() == Some(module));
        if !built_in && !in_initramfs {
            missing.push(module);
        }
    }
    match (&initramfs, missing.is_empty()) {
        (_, true) => ok(NAME, format!("kernel {version}: built in or in the initramfs")),
        (Err(e), false) => failed(
            NAME,
            format!("kernel {version}: {} not built in, and the initramfs: {e} (VirtioNotInstall)", missing.join(", ")),
            FIX,
        ),
        (Ok(_), false) => failed(
            NAME,
            format!(
                "kernel {version}: {} neither built in nor in the initramfs (VirtioNotInstall)",
                missing.join(", ")
            ),
            FIX,
        ),
    }
}

/// `kernel/drivers/block/virtio_blk.ko.xz` → `virtio_blk` (and `-` as `_`, as modprobe reads it).
fn module_name(path: &str) -> Option<String> {
    let file = path.trim().rsplit('/').next()?;
    let stem = file.split(".ko").next().filter(|_| file.contains(".ko"))?;
    Some(stem.replace('-', "_"))
}

/// The kernel versions in /boot, oldest first (the newest is what GRUB boots by default).
fn kernel_versions(root: &Root) -> Vec<String> {
    let mut versions: Vec<String> = root
        .read_dir("/boot")
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| {
            ["vmlinuz-", "config-", "vmlinux-", "Image-"].iter().find_map(|p| e.name.strip_prefix(p).map(str::to_owned))
        })
        .filter(|v| !v.is_empty() && !v.contains("rescue"))
        .collect();
    versions.sort_by_key(|v| version_key(v));
    versions.dedup();
    versions
}

/// "6.1.0-27-amd64" → [6, 1, 0, 27]: numbers compared as numbers.
fn version_key(version: &str) -> Vec<u64> {
    version.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse().ok()).take(16).collect()
}

/// The file names in the initramfs of `version`, as Debian, dracut and SUSE name it.
fn initramfs_of(root: &Root, version: &str) -> Result<Vec<String>, String> {
    const LIMIT: usize = 200_000;
    let candidates = [
        format!("/boot/initrd.img-{version}"),
        format!("/boot/initramfs-{version}.img"),
        format!("/boot/initrd-{version}"),
    ];
    let Some(path) = candidates.iter().find(|p| root.is_file(p)) else {
        return Err(format!("none found for {version}"));
    };
    let mut file = root.open(path).map_err(|e| e.to_string())?.ok_or_else(|| format!("{path} is gone"))?;
    let mut bytes = Vec::new();
    use std::io::Read;
    (&mut file).take(1 << 30).read_to_end(&mut bytes).map_err(|e| format!("{path}: {e}"))?;
    crate::check::image::initramfs::file_names(&bytes, LIMIT).map_err(|e| format!("{path}: {e}"))
}

/// The machine of the image's /bin/sh (its ELF header's e_machine).
pub fn elf_machine(root: &Root) -> Option<&'static str> {
    use std::io::Read;
    let mut header = [0u8; 20];
    for path in ["/bin/sh", "/usr/bin/sh", "/bin/busybox", "/usr/bin/env"] {
        if let Ok(Some(mut file)) = root.open(path) {
            if file.read_exact(&mut header).is_ok() && header.starts_with(b"\x7fELF") {
                return match u16::from_le_bytes([header[18], header[19]]) {
                    62 => Some("x86_64"),
                    183 => Some("aarch64"),
                    3 => Some("i386"),
                    _ => Some("other"),
                };
            }
        }
    }
    None
}

fn architecture(root: &Root, _disk: Option<&DiskFacts>) -> Item {
    const NAME: &str = "architecture";
    match elf_machine(root) {
        Some("x86_64") => ok(NAME, "x86_64"),
        Some(other) => warning(
            NAME,
            format!("{other}: China Telecom imports x86_64 only, Huawei ARM images boot with UEFI"),
            "build an x86_64 image for China Telecom",
        ),
        None => warning(NAME, "unknown (/bin/sh is not an ELF file)", "check that the image holds an operating system"),
    }
}

/// Tencent refuses an image without cloud-init (CloudInitNotInstalled)
/// unless it is a forced import; Huawei and China Telecom want cloud-init or
/// another agent that sets the password at first boot. osconf is that agent.
fn first_boot_agent(root: &Root) -> Item {
    const NAME: &str = "first-boot agent";
    let osconf = enabled(root, "osconf.service").is_some()
        || ["/etc/init.d/osconf", "/usr/sbin/osconf"].iter().all(|p| root.exists(p));
    let cloud_init = ["/usr/bin/cloud-init", "/etc/cloud/cloud.cfg"].iter().any(|p| root.is_file(p));
    match (osconf, cloud_init) {
        (true, _) => ok(NAME, "osconf: on Tencent, import the image with a forced import (osconf reads its CD-ROM)"),
        (false, true) => ok(NAME, "cloud-init"),
        (false, false) => failed(
            NAME,
            "neither osconf nor cloud-init is installed (CloudInitNotInstalled)",
            "install osconf (or cloud-init)",
        ),
    }
}

fn os_release(root: &Root) -> String {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|p| root.read_optional(p).ok().flatten())
        .unwrap_or_default()
}

/// A key of os-release, unquoted.
pub fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('=').map(|v| v.trim().trim_matches(['"', '\'']).to_owned()))
}

fn distribution(root: &Root) -> Item {
    const NAME: &str = "distribution";
    let text = os_release(root);
    let id = os_release_value(&text, "ID").unwrap_or_default();
    let like = os_release_value(&text, "ID_LIKE").unwrap_or_default();
    let pretty = os_release_value(&text, "PRETTY_NAME").unwrap_or_else(|| id.clone());
    let known = ["centos", "ubuntu", "debian", "coreos", "opensuse", "sles", "suse", "rhel", "fedora"];
    if std::iter::once(id.as_str()).chain(like.split_whitespace()).any(|w| known.iter().any(|k| w.starts_with(k))) {
        ok(NAME, pretty)
    } else if id.is_empty() {
        failed(NAME, "no /etc/os-release", "the image needs /etc/os-release")
    } else {
        warning(
            NAME,
            format!("{pretty}: Tencent lists CentOS, Ubuntu, Debian, CoreOS, openSUSE and SUSE"),
            "import it as \"Other Linux\" with a forced import",
        )
    }
}

fn config_value(root: &Root, path: &str, key: &str) -> Option<String> {
    let text = root.read_optional(path).ok().flatten()?;
    text.lines().rev().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_owned())
    })
}

fn selinux(root: &Root) -> Item {
    const NAME: &str = "SELinux";
    match config_value(root, "/etc/selinux/config", "SELINUX").as_deref() {
        Some("enforcing") => {
            failed(NAME, "enforcing in /etc/selinux/config", "set SELINUX=disabled in /etc/selinux/config")
        }
        Some("permissive") => {
            warning(NAME, "permissive in /etc/selinux/config", "set SELINUX=disabled in /etc/selinux/config")
        }
        _ => ok(NAME, "not enabled"),
    }
}

fn any_file(root: &Root, paths: &[&str]) -> Option<String> {
    paths.iter().find(|p| root.exists(p)).map(|p| p.to_string())
}

fn qemu_guest_agent(root: &Root) -> Item {
    const NAME: &str = "qemu-ga";
    match any_file(root, &["/usr/bin/qemu-ga", "/usr/sbin/qemu-ga", "/usr/local/bin/qemu-ga"]) {
        Some(path) => {
            warning(NAME, format!("installed ({path})"), "uninstall qemu-guest-agent: Alibaba installs its own agent")
        }
        None => ok(NAME, "not installed"),
    }
}

/// A service enabled for systemd, SysV init or OpenRC.
fn service_enabled(root: &Root, names: &[&str]) -> Option<String> {
    for name in names {
        if let Some(link) = enabled(root, &format!("{name}.service")) {
            return Some(link);
        }
        for dir in ["/etc/rc2.d", "/etc/rc3.d", "/etc/rc.d/rc3.d", "/etc/runlevels/default", "/etc/runlevels/boot"] {
            if let Ok(entries) = root.read_dir(dir) {
                if let Some(e) = entries.into_iter().find(|e| {
                    e.name == *name
                        || e.name.starts_with('S')
                            && e.name.trim_start_matches(|c: char| c == 'S' || c.is_ascii_digit()) == *name
                }) {
                    return Some(format!("{dir}/{}", e.name));
                }
            }
        }
    }
    None
}

fn network_service(root: &Root) -> Item {
    const NAME: &str = "network service";
    match service_enabled(root, &["NetworkManager"]) {
        Some(link) => warning(
            NAME,
            format!("NetworkManager is enabled ({link})"),
            "Alibaba advises the network service over NetworkManager; osconf configures either",
        ),
        None => ok(NAME, "NetworkManager is not enabled"),
    }
}

fn ssh_server(root: &Root) -> Item {
    const NAME: &str = "sshd";
    let installed = any_file(root, &["/usr/sbin/sshd", "/sbin/sshd", "/usr/bin/sshd"]);
    // Ubuntu starts sshd from ssh.socket.
    let enabled = service_enabled(root, &["ssh", "sshd"])
        .or_else(|| ["ssh.socket", "sshd.socket"].iter().find_map(|unit| enabled(root, unit)));
    let root_login = config_value_ws(root, "/etc/ssh/sshd_config", "PermitRootLogin");
    match (installed, enabled, root_login.as_deref()) {
        (None, ..) => warning(NAME, "no SSH server installed: nobody can log in over SSH", "install openssh-server"),
        (Some(_), None, _) => failed(NAME, "installed but not enabled at boot", "systemctl enable sshd (or ssh)"),
        (Some(_), Some(_), Some("no")) => failed(
            NAME,
            "PermitRootLogin no in /etc/ssh/sshd_config: the password the cloud sets cannot log in",
            "set PermitRootLogin yes (or prohibit-password with keys)",
        ),
        (Some(_), Some(link), _) => ok(NAME, format!("enabled ({link})")),
    }
}

/// sshd_config's first `Key value` (sshd takes the first one it reads).
fn config_value_ws(root: &Root, path: &str, key: &str) -> Option<String> {
    let text = root.read_optional(path).ok().flatten()?;
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        words.next().filter(|w| w.eq_ignore_ascii_case(key))?;
        words.next().map(str::to_owned)
    })
}

fn firewall(root: &Root) -> Item {
    const NAME: &str = "firewall";
    match service_enabled(root, &["firewalld", "iptables", "ip6tables", "ufw", "nftables"]) {
        Some(link) => warning(
            NAME,
            format!("a firewall is enabled ({link})"),
            "disable it: the cloud's security groups filter traffic",
        ),
        None => ok(NAME, "none enabled"),
    }
}

fn passwd_command(root: &Root) -> Item {
    const NAME: &str = "passwd command";
    match any_file(root, &["/usr/bin/passwd", "/bin/passwd"]) {
        Some(path) => ok(NAME, path),
        None => failed(NAME, "no passwd command", "install passwd (shadow-utils)"),
    }
}

fn lib_links(root: &Root) -> Item {
    const NAME: &str = "/lib and /lib64";
    let absolute: Vec<String> = ["/lib", "/lib64"]
        .iter()
        .filter_map(|p| root.read_link(p).filter(|t| t.is_absolute()).map(|t| format!("{p} -> {}", t.display())))
        .collect();
    if absolute.is_empty() {
        ok(NAME, "directories or relative links")
    } else {
        failed(NAME, format!("absolute links: {}", absolute.join(", ")), "make them relative (ln -sfn usr/lib /lib)")
    }
}

/// Whether the image's own network definitions get an address by DHCP.
fn dhcp(root: &Root) -> Item {
    const NAME: &str = "DHCP";
    let mut found: Vec<String> = Vec::new();
    let scan = |found: &mut Vec<String>, dir: &str, suffixes: &[&str], says_dhcp: &dyn Fn(&str) -> bool| {
        for entry in root.read_dir(dir).unwrap_or_default().into_iter().take(500) {
            if suffixes.iter().any(|s| entry.name.ends_with(s) || s.is_empty()) {
                let path = format!("{dir}/{}", entry.name);
                if root.read_optional(&path).ok().flatten().is_some_and(|t| says_dhcp(&t)) {
                    found.push(path);
                }
            }
        }
    };
    let yaml = |t: &str| {
        t.lines()
            .any(|l| matches!(l.split('#').next().unwrap_or("").replace(' ', "").as_str(), "dhcp4:true" | "dhcp4:yes"))
    };
    scan(&mut found, "/etc/netplan", &[".yaml", ".yml"], &yaml);
    let networkd =
        |t: &str| t.lines().any(|l| matches!(l.replace(' ', "").as_str(), "DHCP=yes" | "DHCP=ipv4" | "DHCP=true"));
    for dir in ["/etc/systemd/network", "/usr/lib/systemd/network", "/lib/systemd/network"] {
        scan(&mut found, dir, &[".network"], &networkd);
    }
    let ifupdown =
        |t: &str| t.lines().any(|l| l.split_whitespace().collect::<Vec<_>>().windows(2).any(|w| w == ["inet", "dhcp"]));
    scan(&mut found, "/etc/network/interfaces.d", &[""], &ifupdown);
    if root.read_optional("/etc/network/interfaces").ok().flatten().is_some_and(|t| ifupdown(&t)) {
        found.push("/etc/network/interfaces".into());
    }
    let ifcfg = |t: &str| t.lines().any(|l| l.replace(['"', '\''], "").trim().eq_ignore_ascii_case("BOOTPROTO=dhcp"));
    scan(&mut found, "/etc/sysconfig/network-scripts", &[""], &ifcfg);
    scan(&mut found, "/etc/sysconfig/network", &[""], &ifcfg);
    let keyfile = |t: &str| t.contains("method=auto");
    scan(&mut found, "/etc/NetworkManager/system-connections", &[""], &keyfile);
    if let Some(first) = found.first() {
        return ok(NAME, format!("{first} asks for DHCP"));
    }
    // NetworkManager's default: a wired connection by DHCP on every NIC without one.
    if let Some(link) = service_enabled(root, &["NetworkManager"]) {
        return ok(NAME, format!("NetworkManager ({link}) configures unconfigured NICs by DHCP"));
    }
    warning(
        NAME,
        "no network definition of the image asks for DHCP",
        "configure the first NIC by DHCP: without a config drive, osconf reaches the metadata service through it",
    )
}

fn udev_net_rules(root: &Root) -> Item {
    const NAME: &str = "udev net rules";
    let rules: Vec<String> =
        ["/etc/udev/rules.d/70-persistent-net.rules", "/etc/udev/rules.d/75-persistent-net-generator.rules"]
            .iter()
            .filter(|p| {
                root.read_optional(p)
                    .ok()
                    .flatten()
                    .is_some_and(|t| t.lines().any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')))
            })
            .map(|p| p.to_string())
            .collect();
    if rules.is_empty() {
        ok(NAME, "no persistent NIC names")
    } else {
        failed(
            NAME,
            format!("{} pins NIC names to the build machine's MACs", rules.join(", ")),
            format!("rm {}", rules.join(" ")),
        )
    }
}

/// The verdict per cloud: ready when no item of that cloud, and none of osconf's own, FAILED.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub name: &'static str,
    pub ready: bool,
}

pub fn verdicts(items: &[Item], clouds: &[Cloud]) -> Vec<Verdict> {
    clouds
        .iter()
        .map(|cloud| Verdict {
            name: cloud.name(),
            ready: !items
                .iter()
                .any(|i| i.status == Status::Failed && (i.clouds.is_empty() || i.clouds.contains(&cloud.name()))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_are_read_as_modprobe_reads_them() {
        assert_eq!(
            module_name("usr/lib/modules/6.1/kernel/drivers/block/virtio_blk.ko.xz").as_deref(),
            Some("virtio_blk")
        );
        assert_eq!(module_name("kernel/drivers/virtio/virtio-pci.ko").as_deref(), Some("virtio_pci"));
        assert_eq!(module_name("kernel/drivers/virtio/virtio_pci.kofoo").as_deref(), Some("virtio_pci"));
        assert_eq!(module_name("etc/modprobe.d/virtio.conf"), None);
    }

    #[test]
    fn kernel_versions_sort_as_numbers() {
        let mut v = vec!["5.10.0-9-amd64", "5.10.0-10-amd64", "4.19.0-1"];
        v.sort_by_key(|v| version_key(v));
        assert_eq!(v, ["4.19.0-1", "5.10.0-9-amd64", "5.10.0-10-amd64"]);
    }

    #[test]
    fn cloud_lists_parse() {
        assert_eq!(Cloud::parse_list("all").unwrap(), ALL);
        assert_eq!(Cloud::parse_list("tencent,alibaba").unwrap(), [Cloud::Alibaba, Cloud::Tencent]);
        assert!(Cloud::parse_list("aws").unwrap_err().contains("aws"));
    }
}
