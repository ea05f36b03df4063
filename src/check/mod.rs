//! `osconf check`: is this image ready to be uploaded as a custom image?
//! Each item is OK, WARNING or FAILED, with a one-line fix. Reads only.

pub mod clouds;
pub mod image;

use std::fmt;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::files::Root;
use crate::plan::network::{self, enabled as wants_links};
use crate::sources::alibaba_drop::{self, root_device::KernelPaths};
use crate::sources::media::probe::{probe, Content, CLOUD_WRITABLE};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Status {
    Ok,
    Warning,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
    /// What to do about it (empty when OK).
    pub fix: String,
    /// The clouds whose rule this is; empty: osconf's own item, for every cloud.
    pub clouds: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    /// Every cloud asked about is ready (and osconf's own items did not fail).
    pub ready: bool,
    pub items: Vec<Item>,
    /// The verdict for each cloud asked about (`--cloud`); empty without it.
    pub clouds: Vec<clouds::Verdict>,
    /// What `--image` found on the disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<image::Summary>,
}

impl Report {
    /// The report of these items for these clouds.
    pub fn new(items: Vec<Item>, clouds: &[clouds::Cloud], image: Option<image::Summary>) -> Report {
        let verdicts = clouds::verdicts(&items, clouds);
        let ready = items.iter().all(|i| i.status != Status::Failed || !i.clouds.is_empty())
            && verdicts.iter().all(|v| v.ready);
        Report { ready, items, clouds: verdicts, image }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(image) = &self.image {
            writeln!(f, "{image}")?;
        }
        for item in &self.items {
            let status = match item.status {
                Status::Ok => "OK",
                Status::Warning => "WARNING",
                Status::Failed => "FAILED",
            };
            let clouds = if item.clouds.is_empty() { String::new() } else { format!(" [{}]", item.clouds.join(", ")) };
            writeln!(f, "{status:<8} {}{clouds}: {}", item.name, item.detail)?;
            if !item.fix.is_empty() {
                writeln!(f, "         fix: {}", item.fix)?;
            }
        }
        for cloud in &self.clouds {
            writeln!(f, "{}: {}", cloud.name, if cloud.ready { "ready" } else { "NOT ready" })?;
        }
        let names: Vec<&str> = self.clouds.iter().map(|c| c.name).collect();
        let clouds = if names.is_empty() { String::new() } else { format!(" and {}", names.join(", ")) };
        if self.ready {
            writeln!(f, "The image is ready for osconf{clouds}.")
        } else {
            writeln!(f, "The image is NOT ready: fix the FAILED items.")
        }
    }
}

pub(crate) fn ok(name: &'static str, detail: impl Into<String>) -> Item {
    Item { name, status: Status::Ok, detail: detail.into(), fix: String::new(), clouds: Vec::new() }
}

pub(crate) fn warning(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Item {
    Item { name, status: Status::Warning, detail: detail.into(), fix: fix.into(), clouds: Vec::new() }
}

pub(crate) fn failed(name: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Item {
    Item { name, status: Status::Failed, detail: detail.into(), fix: fix.into(), clouds: Vec::new() }
}

/// Minimum system disk size the platform accepts.
const MIN_DISK_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// The report of a tree (`--root DIR`, or the booted `/`), with the rules of
/// these clouds that a tree can show.
pub fn run(root: &Root, clouds: &[clouds::Cloud]) -> Report {
    let mut items = for_alibaba_drops(first_partition(root), clouds);
    items.extend(tree_items(root, None));
    items.extend(clouds::items(root, None, clouds));
    Report::new(items, clouds, None)
}

/// The first partition is where Alibaba's drop arrives: asked about given
/// clouds, its items are Alibaba's rule (and left out without Alibaba);
/// asked about none, they stay osconf's own.
pub fn for_alibaba_drops(items: Vec<Item>, clouds: &[clouds::Cloud]) -> Vec<Item> {
    if clouds.is_empty() {
        return items;
    }
    if !clouds.contains(&clouds::Cloud::Alibaba) {
        return Vec::new();
    }
    items.into_iter().map(|item| Item { clouds: vec![clouds::Cloud::Alibaba.name()], ..item }).collect()
}

/// osconf's own items after the first partition's. `immutable`: whether
/// /etc/shadow is immutable, where the caller knows it (an image's inode).
pub fn tree_items(root: &Root, shadow_immutable: Option<bool>) -> Vec<Item> {
    let mut items = vec![osconf_enabled(root)];
    items.extend(shadow(root, shadow_immutable));
    items.push(root_login(root));
    items.push(network_stack(root));
    items.extend(conflicts(root));
    items
}

/// Where the first partition is mounted (or would be), its file system, writability, and the drop directory.
fn first_partition(root: &Root) -> Vec<Item> {
    const NAME: &str = "first partition";
    let (point, device) = if root.is_host() {
        match alibaba_drop::first_partition_of_root(&KernelPaths::host()) {
            Ok(partition) => match crate::sources::media::mount::mount_point_of(&partition.major_minor) {
                Some(point) => (point, partition.device.display().to_string()),
                None => return vec![unmounted_partition(&partition.device, probe(&partition.device))],
            },
            Err(e) => {
                return vec![failed(
                    NAME,
                    e.to_string(),
                    "put / on a partitioned disk whose partition 1 is FAT32, ext2/3/4 or UFS",
                )]
            }
        }
    } else {
        (root.path("/boot"), format!("{}/boot (offline image)", root.base().display()))
    };
    let mut items = Vec::new();
    // An image's /boot is found beneath the root (its links followed inside it).
    let opened = if root.is_host() { Root::new(&point).open_dir("/") } else { root.open_dir("/boot") };
    match opened.and_then(|dir| {
        let writable = nix::unistd::faccessat(&dir, ".", nix::unistd::AccessFlags::W_OK, nix::fcntl::AtFlags::empty());
        Ok((nix::sys::statfs::fstatfs(&dir)?, writable.is_ok()))
    }) {
        Ok((fs, dir_writable)) => {
            let kind = fs_name(fs.filesystem_type());
            let writable = dir_writable && !fs.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY);
            match (kind, writable) {
                (Some(kind), true) => {
                    items.push(ok(NAME, format!("{device} at {}: {kind}, writable", point.display())))
                }
                (Some(kind), false) => items.push(failed(
                    NAME,
                    format!("{device} at {}: {kind}, read-only", point.display()),
                    "make the first partition writable: the cloud writes os.conf there and osconf deletes it",
                )),
                (None, _) => items.push(failed(
                    NAME,
                    format!(
                        "{device} at {}: file system not one the cloud can write ({CLOUD_WRITABLE})",
                        point.display()
                    ),
                    NOT_WRITABLE_FIX,
                )),
            }
        }
        Err(e) => {
            items.push(failed(NAME, format!("{}: {e}", point.display()), "create the first partition (often /boot)"))
        }
    }
    let dir = point.join("aliyun_custom_image");
    let drop_dir = if root.is_host() {
        Root::new(&point).is_dir("/aliyun_custom_image")
    } else {
        root.is_dir("/boot/aliyun_custom_image")
    };
    items.push(if drop_dir {
        ok("drop directory", format!("{} exists", dir.display()))
    } else {
        warning(
            "drop directory",
            format!("{} is missing (the cloud creates it, but not every tool does)", dir.display()),
            format!("mkdir {}", dir.display()),
        )
    });
    if root.is_host() {
        items.push(disk_size(&device));
    }
    items
}

const NOT_WRITABLE_FIX: &str = "make partition 1 of the system disk FAT32 or ext4 (for example the EFI system partition, or /boot as ext4): the cloud writes os.conf only there";

/// A first partition nothing mounted: what its superblock says it holds.
pub fn unmounted_partition(device: &Path, content: std::io::Result<Content>) -> Item {
    const NAME: &str = "first partition";
    match content {
        Ok(content) if content.cloud_writable => warning(
            NAME,
            format!(
                "{} ({}) is not mounted: aliyun_custom_image/ cannot be checked (osconf mounts it itself at boot)",
                device.display(),
                content.name
            ),
            "mount it (e.g. at /boot) and run osconf check again",
        ),
        Ok(content) => failed(
            NAME,
            format!(
                "{} holds {}, not a file system the cloud can write ({CLOUD_WRITABLE}): no Alibaba drop can arrive",
                device.display(),
                content.name
            ),
            NOT_WRITABLE_FIX,
        ),
        Err(e) => warning(NAME, format!("{} cannot be read: {e}", device.display()), "run osconf check as root"),
    }
}

/// statfs magic numbers of the file systems the platform can write.
fn fs_name(kind: nix::sys::statfs::FsType) -> Option<&'static str> {
    // The field's width differs between architectures (and libcs); the magic numbers fit all of them.
    #[allow(clippy::unnecessary_cast)]
    match kind.0 as i64 {
        0xEF53 => Some("ext2/3/4"),
        0x4d44 => Some("FAT (vfat)"),
        0x00011954 | 0x19540119 => Some("UFS"),
        _ => None,
    }
}

fn disk_size(partition: &str) -> Item {
    const NAME: &str = "system disk size";
    let name = Path::new(partition).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let disk =
        std::fs::canonicalize(format!("/sys/class/block/{name}")).ok().and_then(|p| p.parent().map(Path::to_path_buf));
    let bytes = disk
        .and_then(|d| std::fs::read_to_string(d.join("size")).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|sectors| sectors.saturating_mul(512));
    match bytes {
        Some(b) if b > MIN_DISK_BYTES => ok(NAME, format!("{:.1} GiB", b as f64 / 1073741824.0)),
        Some(b) => failed(
            NAME,
            format!("{:.1} GiB, the platform requires more than 5 GiB", b as f64 / 1073741824.0),
            "grow the virtual disk beyond 5 GiB before uploading",
        ),
        None => warning(NAME, "unknown", "check that the virtual disk is larger than 5 GiB"),
    }
}

fn osconf_enabled(root: &Root) -> Item {
    const NAME: &str = "osconf at boot";
    let systemd = wants_links(root, "osconf.service");
    let sysv = ["rcS.d", "rc2.d", "rc3.d"].iter().find_map(|dir| {
        root.read_dir(&format!("/etc/{dir}"))
            .ok()?
            .into_iter()
            .map(|e| e.name)
            .find(|n| n.starts_with('S') && n.ends_with("osconf"))
            .map(|n| format!("/etc/{dir}/{n}"))
    });
    let has_systemd = root.exists("/lib/systemd/systemd") || root.exists("/usr/lib/systemd/systemd");
    if root.exists("/sbin/openrc-run") && !has_systemd {
        return openrc_enabled(root);
    }
    // The .deb enables the unit (deb-systemd-helper) on SysV images too, for a
    // later switch to systemd: the wants link counts only where systemd is.
    match (has_systemd, systemd, sysv) {
        (true, Some(link), _) => ok(NAME, format!("enabled for systemd ({link})")),
        (true, None, Some(link)) => {
            warning(NAME, format!("only a SysV link ({link}) on a systemd image"), "systemctl enable osconf.service")
        }
        (true, None, None) => failed(NAME, "osconf.service is not enabled", "systemctl enable osconf.service"),
        (false, _, Some(link)) => ok(NAME, format!("enabled for SysV init ({link})")),
        (false, _, None) => {
            failed(NAME, "/etc/init.d/osconf is not enabled", "update-rc.d osconf defaults (or chkconfig --add osconf)")
        }
    }
}

/// OpenRC (Alpine, Gentoo, Debian's openrc): the OpenRC script in a runlevel.
/// Debian's openrc also runs LSB scripts, ordered by their headers
/// (lsb2rcconf): there the .deb's SysV script is the one, in sysinit.
fn openrc_enabled(root: &Root) -> Item {
    const NAME: &str = "osconf at boot";
    const FIX: &str = "install openrc/osconf as /etc/init.d/osconf and rc-update add osconf boot";
    let script = root.read_optional("/etc/init.d/osconf").ok().flatten().unwrap_or_default();
    let link = ["boot", "sysinit", "default"]
        .iter()
        .map(|level| format!("/etc/runlevels/{level}/osconf"))
        .find(|link| root.exists(link));
    let runs_lsb_scripts = root.exists("/lib/rc/bin/lsb2rcconf") || root.exists("/usr/lib/rc/bin/lsb2rcconf");
    let runnable =
        script.starts_with("#!/sbin/openrc-run") || (runs_lsb_scripts && script.contains("### BEGIN INIT INFO"));
    match (runnable, link) {
        (false, _) => failed(NAME, "/etc/init.d/osconf is not the OpenRC script (#!/sbin/openrc-run)", FIX),
        (true, Some(link)) => ok(NAME, format!("enabled for OpenRC ({link})")),
        (true, None) => failed(NAME, "/etc/init.d/osconf is in no OpenRC runlevel", "rc-update add osconf boot"),
    }
}

fn shadow(root: &Root, immutable: Option<bool>) -> Vec<Item> {
    const NAME: &str = "/etc/shadow";
    let file = match root.open("/etc/shadow").and_then(|f| f.ok_or_else(|| std::io::ErrorKind::NotFound.into())) {
        Ok(file) => file,
        Err(e) => {
            return vec![failed(
                NAME,
                format!("cannot be read: {e}"),
                "the image needs /etc/shadow (pwconv creates it)",
            )]
        }
    };
    let mut items = Vec::new();
    let dir_writable = root.open_dir("/etc").is_ok_and(|dir| {
        nix::unistd::faccessat(&dir, ".", nix::unistd::AccessFlags::W_OK, nix::fcntl::AtFlags::empty()).is_ok()
    });
    // An image's tree is a copy made by `check --image`: its inode said.
    let (immutable, dir_writable) = match immutable {
        Some(immutable) => (immutable, true),
        None => (is_immutable(&file), dir_writable),
    };
    items.push(match (immutable, dir_writable) {
        (true, _) => failed(NAME, "is immutable (chattr +i): the password cannot be set", "chattr -i /etc/shadow"),
        (false, false) => failed(NAME, "its directory is not writable", "make /etc writable at boot"),
        (false, true) => ok(NAME, "present and writable"),
    });
    let text = root.read_optional("/etc/shadow").ok().flatten().unwrap_or_default();
    items.push(match text.lines().find(|l| l.starts_with("root:")) {
        Some(_) => ok("root account", "present in /etc/shadow"),
        None => failed("root account", "missing from /etc/shadow", "add root to /etc/passwd and /etc/shadow (pwconv)"),
    });
    items
}

/// FS_IOC_GETFLAGS and the immutable bit, as lsattr shows them.
pub(crate) fn is_immutable(file: &std::fs::File) -> bool {
    const FS_IMMUTABLE_FL: nix::libc::c_long = 0x10;
    nix::ioctl_read!(get_flags, b'f', 1, nix::libc::c_long);
    let mut flags: nix::libc::c_long = 0;
    // SAFETY: the fd is open for the call; the kernel writes one long.
    unsafe { get_flags(file.as_raw_fd(), &mut flags) }.is_ok() && flags & FS_IMMUTABLE_FL != 0
}

/// No default password or key may ship in a public image.
fn root_login(root: &Root) -> Item {
    const NAME: &str = "root login";
    let shadow = root.read_optional("/etc/shadow").ok().flatten().unwrap_or_default();
    let hash =
        shadow.lines().find_map(|l| l.strip_prefix("root:")).and_then(|rest| rest.split(':').next()).unwrap_or("");
    let keys = root.read_optional("/root/.ssh/authorized_keys").ok().flatten().unwrap_or_default();
    if keys.lines().any(|l| !l.trim().is_empty() && !l.starts_with('#')) {
        warning(
            NAME,
            "/root/.ssh/authorized_keys holds keys",
            "remove keys baked into the image: the platform forbids default key pairs",
        )
    } else if hash.starts_with('$') {
        warning(
            NAME,
            "root has a password in the image",
            "lock it (passwd -l root): the cloud sets the password through osconf",
        )
    } else {
        ok(NAME, "no baked-in password or SSH key")
    }
}

fn network_stack(root: &Root) -> Item {
    const NAME: &str = "network stack";
    let config = Config::load(root).unwrap_or_default();
    match network::detect(root, config.network_stack.as_deref()) {
        Ok(detection) => match detection.stack {
            Some(stack) => ok(NAME, format!("{stack}: {}; {}", detection.reason, (stack.check)(root))),
            None => warning(NAME, detection.reason, "install ifupdown, systemd-networkd, NetworkManager or netplan, or set [network] stack in /etc/osconf/osconf.conf"),
        },
        Err(e) => failed(NAME, e.to_string(), "fix [network] stack in /etc/osconf/osconf.conf"),
    }
}

fn conflicts(root: &Root) -> Vec<Item> {
    let mut items = Vec::new();
    let cloud_init: Option<PathBuf> =
        ["/usr/bin/cloud-init", "/etc/cloud/cloud.cfg"].iter().find(|p| root.is_file(p)).map(|p| root.path(p));
    items.push(match cloud_init {
        Some(path) => warning(
            "cloud-init",
            format!("installed ({})", path.display()),
            "remove cloud-init, or disable it (touch /etc/cloud/cloud-init.disabled): both would configure the network",
        ),
        None => ok("cloud-init", "not installed"),
    });
    if wants_links(root, "NetworkManager.service").is_some() && wants_links(root, "systemd-networkd.service").is_some()
    {
        items.push(warning(
            "network services",
            "NetworkManager and systemd-networkd are both enabled",
            "disable one of them",
        ));
    }
    items
}
