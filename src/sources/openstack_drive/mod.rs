//! The OpenStack config drive (PLATFORM.md §5): a medium labelled
//! `config-2` (or `CONFIG-2`), ISO 9660 or vfat, holding
//! `openstack/<version>/meta_data.json` and `network_data.json`, read with
//! `openstack_format`. Read-only: nothing is deleted, and "apply once" comes
//! from the record's digest and the instance's `uuid`.
//!
//! An ISO 9660 drive is read without mounting it (`media::iso9660`); a vfat
//! one (no ISO label) is found as `/dev/disk/by-label/config-2` and mounted
//! read-only.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::config::SourceConfig;
use crate::error::Error;
use crate::settings::SshKey;
use crate::sources::media::beneath;
use crate::sources::media::mount::{mount_first_fitting, mount_point_of, Mounted};
use crate::sources::media::{iso9660, label};
use crate::sources::openstack_format::{self, Options, MAX_JSON_BYTES, META_DATA, NETWORK_DATA};
use crate::sources::platform::Cloud;
use crate::sources::{Context, Found, MediumUserData, Payload, Source, Typed, MAX_USER_DATA};

/// The user data beside meta_data.json (never `vendor_data*.json`).
pub const USER_DATA: &str = "user_data";

#[cfg(test)]
mod tests;

/// The source `openstack-drive`.
pub struct OpenstackDrive;

pub const LABELS: [&str; 2] = ["config-2", "CONFIG-2"];

/// The versions a drive may hold, newest first: `latest`, then the dated
/// ones Nova writes (the ISO reader lists no directory, so each is tried).
pub const VERSIONS: [&str; 10] = [
    "latest",
    "2018-08-27",
    "2017-02-22",
    "2016-10-06",
    "2016-09-28",
    "2016-06-30",
    "2015-10-15",
    "2013-10-17",
    "2013-04-04",
    "2012-08-10",
];

impl Source for OpenstackDrive {
    fn name(&self) -> &'static str {
        "openstack-drive"
    }

    fn takes(&self) -> &'static str {
        "a device, an ISO 9660 image file, or a directory holding openstack/"
    }

    fn network_of(&self) -> Option<Cloud> {
        None
    }

    fn keys(&self) -> &'static [&'static str] {
        &["password"]
    }

    fn defaults(&self) -> SourceConfig {
        SourceConfig::default()
    }

    /// On a booted instance only: an image tree has no drive.
    fn find(&self, context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error> {
        if !context.root.is_host() {
            return Ok(None);
        }
        if let Some(device) = label::find_device(Path::new("/sys/block"), &LABELS) {
            return read_device(&device, config);
        }
        // A vfat drive: its FAT label, read from its boot sector; else the
        // name udev gives it by label (a drive on a partition).
        if let Some(device) = label::find_fat_device(Path::new("/sys/block"), &LABELS) {
            return read_device(&device, config);
        }
        for name in LABELS {
            let device = Path::new("/dev/disk/by-label").join(name);
            if device.exists() {
                return read_device(&device, config);
            }
        }
        Ok(None)
    }

    fn find_at(&self, place: &OsStr, _context: &Context, config: &SourceConfig) -> Result<Option<Found>, Error> {
        let path = Path::new(place);
        let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        let found = if meta.is_dir() {
            read_tree(&Tree::Directory(path), path.display().to_string(), None, config)?
        } else if std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type()) {
            read_device(path, config)?
        } else if label::iso9660_label(path).is_some() {
            read_tree(&Tree::Image(path), format!("{} (ISO 9660 image)", path.display()), None, config)?
        } else {
            return Err(Error::Usage(format!(
                "{}: neither a directory, a device nor an ISO 9660 image",
                path.display()
            )));
        };
        found.map(Some).ok_or_else(|| Error::Usage(format!("{}: no openstack/*/{META_DATA} there", path.display())))
    }

    fn instance_id(&self, id: &str) -> Result<String, String> {
        crate::sources::openstack_format::instance_id(id)
    }
}

/// Where the drive's files are read from.
enum Tree<'a> {
    /// Its content, as a directory (mounted, or given).
    Directory(&'a Path),
    /// An ISO 9660 device or image file, read without mounting it.
    Image(&'a Path),
}

impl Tree<'_> {
    /// One file of the drive, at most [`MAX_JSON_BYTES`]; `None` when absent.
    fn read(&self, relative: &str) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        self.read_at_most(relative, MAX_JSON_BYTES)
    }

    fn read_at_most(&self, relative: &str, max: usize) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
        match self {
            Tree::Image(image) => {
                let bad = |e: String| Error::Invalid(format!("{}:/{relative}: {e}", image.display()));
                let mut file = std::fs::File::open(image).map_err(|e| bad(e.to_string()))?;
                iso9660::read_file(&mut file, relative, max).map_err(|e| bad(e.to_string()))
            }
            Tree::Directory(base) => read_beneath(base, relative, max),
        }
    }
}

/// `openstack/latest/user_data` in Tencent's CD-ROM's directory, when
/// there, with the `uuid` of the `meta_data.json` beside it (its os.conf
/// gives no instance id); one too large or unreadable is a warning and none.
pub fn user_data_in_dir(base: &Path) -> Option<MediumUserData> {
    with_instance_id(&Tree::Directory(base))
}

/// As [`user_data_in_dir`], in an ISO 9660 device or image file.
pub fn user_data_in_image(image: &Path) -> Option<MediumUserData> {
    with_instance_id(&Tree::Image(image))
}

fn with_instance_id(tree: &Tree) -> Option<MediumUserData> {
    let bytes = user_data_of(tree, "latest")?;
    let meta_data = tree.read(&format!("openstack/latest/{META_DATA}")).ok().flatten();
    let instance_id = meta_data.and_then(|meta| openstack_format::instance_of(&meta).ok());
    Some(MediumUserData { bytes, instance_id })
}

fn user_data_of(tree: &Tree, version: &str) -> Option<Zeroizing<Vec<u8>>> {
    match tree.read_at_most(&format!("openstack/{version}/{USER_DATA}"), MAX_USER_DATA) {
        Ok(data) => data,
        Err(e) => {
            log::warn!("config drive: {e}: no user data from it");
            None
        }
    }
}

/// A file beneath `base`, never through a symbolic link, never more than
/// `max` bytes.
fn read_beneath(base: &Path, relative: &str, max: usize) -> Result<Option<Zeroizing<Vec<u8>>>, Error> {
    let relative = Path::new(relative);
    let (Some(dir), Some(name)) = (relative.parent(), relative.file_name()) else { return Ok(None) };
    let shown = base.join(relative).display().to_string();
    let dir = match beneath::open_dir(base, dir, beneath::Resolve::Openat2) {
        Ok(dir) => dir,
        Err(nix::errno::Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(Error::Invalid(format!("{shown}: {e} (a symbolic link or not a directory on the way?)"))),
    };
    let file = match beneath::open_file(&dir, name) {
        Ok(file) => file,
        Err(nix::errno::Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(Error::Invalid(format!("{shown}: {e}"))),
    };
    let meta = file.metadata().map_err(|e| Error::Failed(format!("{shown}: {e}")))?;
    if !meta.is_file() {
        return Err(Error::Invalid(format!("{shown}: not a regular file")));
    }
    // Room for all of it from the start (and the one byte that shows the end):
    // a Vec grown by read_to_end frees its outgrown copies unwiped, and the
    // file may hold a password (admin_pass, a user-data script).
    let room = usize::try_from(meta.len()).unwrap_or(usize::MAX).min(max) + 1;
    let mut content = Zeroizing::new(Vec::with_capacity(room));
    std::io::Read::read_to_end(&mut std::io::Read::take(file, max as u64 + 1), &mut content)
        .map_err(|e| Error::Failed(format!("{shown}: {e}")))?;
    if content.len() > max {
        return Err(Error::Invalid(format!("{shown}: larger than {max} bytes")));
    }
    Ok(Some(content))
}

/// A drive device: read in place when ISO 9660, else mounted read-only as
/// vfat (or where it is mounted already).
pub fn read_device(device: &Path, config: &SourceConfig) -> Result<Option<Found>, Error> {
    if label::iso9660_label(device).is_some() {
        return read_tree(&Tree::Image(device), format!("{} (config drive)", device.display()), None, config);
    }
    let rdev = nix::sys::stat::stat(device).map_err(|e| Error::Failed(format!("{}: {e}", device.display())))?.st_rdev;
    let major_minor = format!("{}:{}", nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    let description = format!("{} (config drive)", device.display());
    if let Some(point) = mount_point_of(&major_minor) {
        return read_tree(&Tree::Directory(&point), description, None, config);
    }
    let mounted = mount_first_fitting(device, "config-2", &["vfat"], true)?;
    let point: PathBuf = mounted.point.clone();
    read_tree(&Tree::Directory(&point), description, Some(mounted), config)
}

/// root's SSH keys from the OpenStack tree beside another cloud's settings
/// on the same medium (Tencent's `config-2` CD-ROM, where
/// `qcloud_action/os.conf` decides everything else): those of the newest
/// `meta_data.json` present (`Some(empty)`: it lists no key pair). `None`
/// where there is none, or it cannot be read (a warning naming it).
pub fn ssh_keys_in_directory(dir: &Path) -> Option<Vec<SshKey>> {
    ssh_keys_on(&Tree::Directory(dir), &dir.display().to_string())
}

/// The same, from an ISO 9660 device or image file read without mounting it.
pub fn ssh_keys_in_image(image: &Path) -> Option<Vec<SshKey>> {
    ssh_keys_on(&Tree::Image(image), &image.display().to_string())
}

fn ssh_keys_on(tree: &Tree, shown: &str) -> Option<Vec<SshKey>> {
    for version in VERSIONS {
        let file = format!("openstack/{version}/{META_DATA}");
        let meta_data = match tree.read(&file) {
            Ok(Some(meta_data)) => meta_data,
            Ok(None) => continue,
            Err(e) => {
                log::warn!("{shown}: {e}: root's SSH keys left as they are");
                return None;
            }
        };
        // Only the keys are taken: never its password, whatever osconf.conf says.
        return match openstack_format::read(&meta_data, None, Options { password: false }) {
            Ok(read) => {
                read.warnings.iter().for_each(|w| log::warn!("{shown}: {w}"));
                read.settings.ssh_keys
            }
            Err(why) => {
                log::warn!("{shown}:/{file}: {why}: root's SSH keys left as they are");
                None
            }
        };
    }
    None
}

/// The newest version present; its `meta_data.json` and, when there,
/// `network_data.json`.
fn read_tree(
    tree: &Tree,
    description: String,
    mount: Option<Mounted>,
    config: &SourceConfig,
) -> Result<Option<Found>, Error> {
    for version in VERSIONS {
        let Some(meta_data) = tree.read(&format!("openstack/{version}/{META_DATA}"))? else { continue };
        let network_data = tree.read(&format!("openstack/{version}/{NETWORK_DATA}"))?;
        let description = format!("{description}: openstack/{version}");
        let read = openstack_format::read(
            &meta_data,
            network_data.as_deref().map(|v| v.as_slice()),
            Options { password: config.password },
        )
        .map_err(|why| Error::Invalid(format!("{description}: {why}")))?;
        for warning in &read.warnings {
            log::warn!("config drive: {warning}");
        }
        let typed = Typed { settings: read.settings, instance_id: Some(read.instance_id), warnings: read.warnings };
        return Ok(Some(Found {
            source: OpenstackDrive.name(),
            description,
            content: read.canonical,
            payload: Payload::Typed(typed),
            delete_after: None,
            drop_dir: None,
            user_data: user_data_of(tree, version).map(|bytes| MediumUserData { bytes, instance_id: None }),
            mount,
        }));
    }
    Ok(None)
}
