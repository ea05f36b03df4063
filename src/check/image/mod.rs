//! `osconf check --image FILE`: reads a disk image (raw, qcow2, VHD, VMDK)
//! read-only, without booting or mounting it: its partition table, LVM, the
//! file systems, `/` (the file system with os-release and fstab) and `/boot`
//! (fstab's). The parts the items read are copied into a private temporary
//! tree ([`tree`]), where osconf's own items and each cloud's rules run as on
//! `--root DIR`; what only the disk knows (format, sizes, partitions, the
//! file systems' features and usage, boot loaders) comes as [`DiskFacts`].
//!
//! The layers, each reading the one below through [`read_at::ReadAt`]:
//! the file ([`disk`]) → partitions ([`partitions`]) and LVM volumes
//! ([`lvm`]) → file systems ([`fs`]: ext2/3/4, XFS, vfat).

pub mod disk;
pub mod fs;
pub mod initramfs;
pub mod lvm;
pub mod partitions;
pub mod read_at;
pub mod tree;

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use self::fs::{FileSystem, Info, Kind};
use self::read_at::{read_vec, ReadAt, Slice};
use super::clouds::{self, Cloud, DiskFacts};
use super::{failed, ok, warning, Item, Report};
use crate::files::Root;
use crate::sources::media::probe::{identify, PROBE_BYTES};

/// What the report says about the disk.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub file: String,
    pub format: &'static str,
    pub virtual_size: u64,
    pub actual_size: u64,
    pub partition_table: &'static str,
    pub volumes: Vec<VolumeSummary>,
    /// Where `/` is ("partition 2", "LVM vg0/root").
    pub root: Option<String>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |bytes: u64| bytes.div_ceil(1 << 20);
        write!(
            f,
            "{}: {}, {} MiB virtual, {} MiB actual, partition table {}",
            self.file,
            self.format,
            mib(self.virtual_size),
            mib(self.actual_size),
            self.partition_table
        )?;
        for v in &self.volumes {
            write!(f, "\n  {}: {} MiB, {}", v.at, mib(v.size), v.content)?;
            if !v.uuid.is_empty() {
                write!(f, " UUID={}", v.uuid)?;
            }
            if self.root.as_deref() == Some(v.at.as_str()) {
                f.write_str(" (/)")?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeSummary {
    pub at: String,
    pub size: u64,
    /// "ext4", "xfs", "vfat", "btrfs", "swap", "LVM2_member", or "unknown".
    pub content: &'static str,
    pub uuid: String,
    pub label: String,
}

/// A partition, a logical volume or the whole disk, and what it holds.
struct Volume {
    at: String,
    partition: Option<partitions::Partition>,
    device: Arc<dyn ReadAt>,
    content: &'static str,
    fs: Option<Box<dyn FileSystem>>,
    info: Info,
    on_lvm: bool,
}

/// The report of an image: Err is an unreadable image (exit 2).
pub fn check(path: &Path, clouds: &[Cloud]) -> Result<Report, String> {
    let disk = disk::open(path)?;
    let device = disk.device.clone();
    let table =
        partitions::read_table(&*device).map_err(|e| format!("{}: the partition table: {e}", path.display()))?;
    for warning in &table.warnings {
        log::warn!("{}: {warning}", path.display());
    }
    let mut volumes = Vec::new();
    let mut pvs: Vec<Arc<dyn ReadAt>> = Vec::new();
    if table.partitions.is_empty() {
        volumes.push(volume("the whole disk".into(), None, device.clone(), false));
    }
    // An MBR's extended partition is the container of the logical ones.
    for partition in table.partitions.iter().filter(|p| !p.is_extended()) {
        let slice: Arc<dyn ReadAt> = Arc::new(Slice::new(device.clone(), partition.start, partition.size));
        let v = volume(format!("partition {}", partition.number), Some(partition.clone()), slice.clone(), false);
        if v.content == "LVM2_member" {
            pvs.push(slice);
        }
        volumes.push(v);
    }
    if !pvs.is_empty() {
        match lvm::logical_volumes(&pvs) {
            Ok(lvs) => {
                for lv in lvs {
                    volumes.push(volume(format!("LVM {}/{}", lv.vg, lv.name), None, lv.device, true));
                }
            }
            Err(e) => log::warn!("{}: LVM: {e}", path.display()),
        }
    }
    if !volumes.iter().any(|v| v.fs.as_deref().is_some_and(holds_an_os)) {
        mount_unreadable(path, matches!(disk.format, disk::Format::Raw), &mut volumes);
    }
    let root_index = volumes.iter().position(|v| v.fs.as_deref().is_some_and(holds_an_os));
    let mut tree = tree::Tree::new().map_err(|e| format!("a temporary directory: {e}"))?;
    let mut shadow_immutable = None;
    if let Some(root) = root_index.and_then(|i| volumes[i].fs.as_deref()) {
        copy_root(&mut tree, root).map_err(|e| format!("{}: reading /: {e}", path.display()))?;
        shadow_immutable =
            lookup(root, "/etc/shadow").ok().flatten().and_then(|i| root.stat(i).ok()).map(|s| s.immutable);
    }
    let tree_root = Root::new(tree.dir());
    // /boot and /boot/efi on their own file systems, as fstab mounts them.
    for (device, point, ..) in &clouds::fstab(&tree_root) {
        if point != "/boot" {
            continue;
        }
        if let Some(fs) = volumes.iter().find(|v| names(v, device)).and_then(|v| v.fs.as_deref()) {
            if let Err(e) = tree.copy_boot(fs, "/boot") {
                log::warn!("{}: reading /boot: {e}", path.display());
            }
        }
    }
    let uefi_boot = volumes
        .iter()
        .any(|v| v.partition.as_ref().is_some_and(|p| p.is_esp()) && v.fs.as_deref().is_some_and(has_efi_loader));
    let facts = DiskFacts {
        format: disk.format.name(),
        virtual_size: disk.virtual_size,
        allocated: disk.allocated,
        table: match table.kind {
            partitions::TableKind::Mbr => "MBR",
            partitions::TableKind::Gpt => "GPT",
            partitions::TableKind::None => "none",
        },
        partitions: table.partitions.len(),
        root_at: root_index.map(|i| volumes[i].at.clone()),
        root_fs: root_index.map(|i| volumes[i].info.clone()),
        lvm: !pvs.is_empty(),
        root_on_lvm: root_index.is_some_and(|i| volumes[i].on_lvm),
        bios_boot: table.mbr_boot_code || table.partitions.iter().any(|p| p.is_bios_boot()),
        uefi_boot,
        uuids: volumes.iter().map(|v| v.info.uuid.clone()).filter(|u| !u.is_empty()).collect(),
        labels: volumes.iter().map(|v| v.info.label.clone()).filter(|l| !l.is_empty()).collect(),
    };
    let mut items = super::for_alibaba_drops(first_partition(&volumes), clouds);
    if root_index.is_some() {
        items.extend(super::tree_items(&tree_root, shadow_immutable));
    } else {
        items.push(unreadable_root(&volumes));
    }
    items.extend(clouds::items(&tree_root, Some(&facts), clouds));
    let summary = Summary {
        file: path.display().to_string(),
        format: facts.format,
        virtual_size: disk.virtual_size,
        actual_size: disk.allocated,
        partition_table: facts.table,
        volumes: volumes
            .iter()
            .map(|v| VolumeSummary {
                at: v.at.clone(),
                size: v.device.size(),
                content: v.content,
                uuid: v.info.uuid.clone(),
                label: v.info.label.clone(),
            })
            .collect(),
        root: facts.root_at.clone(),
    };
    Ok(Report::new(items, clouds, Some(summary)))
}

/// Probes what a volume holds and opens the file systems osconf reads.
fn volume(at: String, partition: Option<partitions::Partition>, device: Arc<dyn ReadAt>, on_lvm: bool) -> Volume {
    let mut v =
        Volume { at, partition, device: device.clone(), content: "unknown", fs: None, info: Info::default(), on_lvm };
    let opened: Option<std::io::Result<Box<dyn FileSystem>>> = if lvm::is_pv(&*device) {
        v.content = "LVM2_member";
        None
    } else if fs::ext::is_ext(&*device) {
        Some(fs::ext::open(device.clone()).map(|f| Box::new(f) as Box<dyn FileSystem>))
    } else if fs::xfs::is_xfs(&*device) {
        Some(fs::xfs::open(device.clone()).map(|f| Box::new(f) as Box<dyn FileSystem>))
    } else if fs::vfat::is_vfat(&*device) {
        Some(fs::vfat::open(device.clone()).map(|f| Box::new(f) as Box<dyn FileSystem>))
    } else {
        v.content = probe_other(&*device);
        if v.content == "btrfs" {
            v.info = btrfs_info(&*device);
        }
        None
    };
    match opened {
        Some(Ok(fs)) => {
            v.info = fs.info();
            v.content = v.info.kind;
            v.fs = Some(fs);
        }
        Some(Err(e)) => log::warn!("{}: the file system cannot be read: {e}", v.at),
        None => {}
    }
    v
}

/// File systems osconf only recognises (no reader): btrfs, swap; told by
/// the magic numbers the first-partition probe knows.
fn probe_other(device: &dyn ReadAt) -> &'static str {
    let head = read_vec(device, 0, device.size().min(PROBE_BYTES as u64) as usize).unwrap_or_default();
    match identify(&head).name {
        name @ ("btrfs" | "swap") => name,
        _ => "unknown",
    }
}

/// btrfs's UUID and label, from its superblock (at 64 KiB).
fn btrfs_info(device: &dyn ReadAt) -> Info {
    let mut sb = vec![0u8; 0x22b];
    let _ = device.read_exact_at(&mut sb, 0x10000);
    let fsid = read_at::Le(&sb).bytes(0x20, 16).to_vec();
    let le = read_at::Le(&sb);
    let label = le.bytes(0x12b, 256);
    let label =
        String::from_utf8_lossy(&label[..label.iter().position(|&b| b == 0).unwrap_or(label.len())]).into_owned();
    Info { kind: "btrfs", uuid: fs::uuid_text(&fsid), label, ..Info::default() }
}

/// The file systems osconf has no reader for, mounted by the kernel (root,
/// raw images only); a warning names each one that cannot be.
fn mount_unreadable(path: &Path, raw: bool, volumes: &mut [Volume]) {
    for v in volumes.iter_mut().filter(|v| v.fs.is_none() && v.content == "btrfs") {
        let Some(partition) = v.partition.as_ref().filter(|_| raw) else {
            log::warn!("{}: {} is btrfs, read only in a raw image (qemu-img convert -O raw)", path.display(), v.at);
            continue;
        };
        match fs::mounted::mount_raw(path, partition.start, partition.size, "btrfs") {
            Ok(mut mounted) => {
                // `/` in a subvolume of the top level (Fedora: root, SUSE's default subvolume is `/`).
                if !holds_an_os(&mounted) {
                    let top = mounted.read_dir(mounted.root(), 64).unwrap_or_default();
                    let holds = |name: &[u8], file: &str| {
                        let path = format!("/{}/{file}", String::from_utf8_lossy(name));
                        lookup(&mounted, &path).ok().flatten().is_some()
                    };
                    let subvolume = top.iter().find(|d| {
                        (holds(&d.name, "etc/os-release") || holds(&d.name, "usr/lib/os-release"))
                            && holds(&d.name, "etc/fstab")
                    });
                    if let Some(inode) = subvolume.map(|d| d.inode) {
                        mounted.reroot(inode).unwrap_or_else(|e| log::warn!("{}: {e}", v.at));
                    }
                }
                let Info { uuid, label, .. } = std::mem::take(&mut v.info);
                v.info = Info { uuid, label, ..mounted.info() };
                v.fs = Some(Box::new(mounted));
            }
            Err(e) => log::warn!("{}: {}: {e}", path.display(), v.at),
        }
    }
}

/// The inode at `path`, following links inside the file system.
pub fn lookup(fs: &dyn FileSystem, path: &str) -> std::io::Result<Option<u64>> {
    Ok(walk(fs, path.as_bytes(), &mut |_, _| Ok(()))?.map(|(inode, _)| inode))
}

/// What [`walk`] calls for each link: the link's own path, its target.
pub type OnLink<'a> = dyn FnMut(&[Vec<u8>], &[u8]) -> std::io::Result<()> + 'a;

/// Follows `path` from the file system's root, links resolved inside it (at
/// most 40, as Linux allows): the inode and its link-free path. Each link
/// met is handed to `on_link` (its own path and its target). None: not there.
pub fn walk(fs: &dyn FileSystem, path: &[u8], on_link: &mut OnLink) -> std::io::Result<Option<(u64, Vec<Vec<u8>>)>> {
    let components = |path: &[u8]| -> Vec<Vec<u8>> {
        path.split(|&b| b == b'/').filter(|c| !c.is_empty() && *c != b".").rev().map(<[u8]>::to_vec).collect()
    };
    let mut pending = components(path);
    let mut here: Vec<(u64, Vec<u8>)> = Vec::new(); // (inode, name) from the root down
    let mut links = 0;
    while let Some(name) = pending.pop() {
        if name == b".." {
            here.pop();
            continue;
        }
        let dir = here.last().map_or(fs.root(), |(inode, _)| *inode);
        if fs.stat(dir)?.kind != Kind::Dir {
            return Ok(None);
        }
        let Some(entry) = fs.read_dir(dir, 100_000)?.into_iter().find(|e| e.name == name) else {
            return Ok(None);
        };
        if fs.stat(entry.inode)?.kind == Kind::Symlink {
            links += 1;
            if links > 40 {
                return Ok(None);
            }
            let target = fs.read_link(entry.inode)?;
            let own: Vec<Vec<u8>> = here.iter().map(|(_, n)| n.clone()).chain([name]).collect();
            on_link(&own, &target)?;
            if target.starts_with(b"/") {
                here.clear();
            }
            pending.extend(components(&target));
        } else {
            here.push((entry.inode, name));
        }
    }
    let inode = here.last().map_or(fs.root(), |(inode, _)| *inode);
    Ok(Some((inode, here.into_iter().map(|(_, n)| n).collect())))
}

/// A root file system: os-release and fstab.
fn holds_an_os(fs: &dyn FileSystem) -> bool {
    let exists = |p: &str| lookup(fs, p).ok().flatten().is_some();
    (exists("/etc/os-release") || exists("/usr/lib/os-release")) && exists("/etc/fstab")
}

fn copy_root(tree: &mut tree::Tree, fs: &dyn FileSystem) -> std::io::Result<()> {
    tree.copy(fs, "/", tree::FROM_ROOT)?;
    tree.copy_boot(fs, "/")?;
    tree.copy_modules_builtin(fs)
}

/// An `.efi` file under the ESP's /EFI (GRUB, shim, systemd-boot).
fn has_efi_loader(fs: &dyn FileSystem) -> bool {
    let Ok(Some(efi)) = lookup(fs, "/EFI") else { return false };
    let Ok(vendors) = fs.read_dir(efi, 1000) else { return false };
    vendors.iter().any(|vendor| {
        fs.read_dir(vendor.inode, 1000)
            .unwrap_or_default()
            .iter()
            .any(|f| String::from_utf8_lossy(&f.name).to_ascii_lowercase().ends_with(".efi"))
    })
}

/// Whether fstab's device names this volume: UUID=, LABEL=, or /dev/vda1-like (the partition number).
fn names(v: &Volume, device: &str) -> bool {
    if let Some(uuid) = device.strip_prefix("UUID=") {
        return !v.info.uuid.is_empty() && v.info.uuid.eq_ignore_ascii_case(uuid.trim_matches('"'));
    }
    if let Some(label) = device.strip_prefix("LABEL=") {
        return !v.info.label.is_empty() && v.info.label == label.trim_matches('"');
    }
    let number = device.trim_end_matches(|c: char| !c.is_ascii_digit()).len();
    let digits: String =
        device[..number].chars().rev().take_while(char::is_ascii_digit).collect::<String>().chars().rev().collect();
    v.partition.as_ref().is_some_and(|p| digits.parse() == Ok(p.number))
}

/// osconf's first-partition items, from the image's partition 1.
fn first_partition(volumes: &[Volume]) -> Vec<Item> {
    const NAME: &str = "first partition";
    let Some(p1) = volumes.iter().find(|v| v.partition.as_ref().is_some_and(|p| p.number == 1)) else {
        return vec![failed(
            NAME,
            "the disk has no partition 1",
            "put the first partition (FAT32 or ext4, often /boot) in partition 1",
        )];
    };
    let mut items = Vec::new();
    match p1.content {
        "ext2" | "ext3" | "ext4" | "vfat" => {
            items.push(ok(NAME, format!("{}: {}, the cloud can write it", p1.at, p1.content)));
            let has_drop_dir = p1.fs.as_deref().is_some_and(|fs| {
                lookup(fs, "/aliyun_custom_image")
                    .ok()
                    .flatten()
                    .and_then(|i| fs.stat(i).ok())
                    .is_some_and(|s| s.kind == Kind::Dir)
            });
            items.push(if has_drop_dir {
                ok("drop directory", format!("{}: /aliyun_custom_image exists", p1.at))
            } else {
                warning(
                    "drop directory",
                    format!(
                        "{}: /aliyun_custom_image is missing (the cloud creates it, but not every tool does)",
                        p1.at
                    ),
                    "mkdir aliyun_custom_image at the top of partition 1",
                )
            });
        }
        other => items.push(failed(
            NAME,
            format!("{} holds {other}, not a file system the cloud can write: no Alibaba drop can arrive", p1.at),
            "make partition 1 of the system disk FAT32 or ext4 (for example /boot as ext4)",
        )),
    }
    items
}

/// osconf's items need `/`: say why it was not read.
fn unreadable_root(volumes: &[Volume]) -> Item {
    let btrfs = volumes.iter().find(|v| v.content == "btrfs");
    match btrfs {
        Some(v) => failed(
            "root file system",
            format!("{} is btrfs, which check --image reads through the kernel: as root, of a raw image", v.at),
            "run osconf check --image as root on a raw image (qemu-img convert -O raw)",
        ),
        None => failed(
            "root file system",
            "no file system holds /etc/os-release and /etc/fstab",
            "install the operating system into a partition",
        ),
    }
}
