//! Tencent Cloud: `qcloud_action/os.conf` on an ISO 9660 CD-ROM labelled
//! `config-2`. The medium is read-only: nothing is deleted, and "apply once"
//! comes from the record's digest. Its password is a crypt hash. An
//! OpenStack tree on the same medium (`openstack/latest/meta_data.json`,
//! the label being OpenStack's) adds root's SSH keys, which os.conf cannot
//! carry; os.conf decides everything else.

use std::ffi::OsStr;
use std::path::Path;

use crate::config::SourceConfig;
use crate::error::Error;
use crate::settings::SshKey;
use crate::sources::media::mount::{mount_first_fitting, mount_point_of};
use crate::sources::media::{iso9660, label};
use crate::sources::osconf_format::MAX_DROP_BYTES;
use crate::sources::platform::Cloud;
use crate::sources::{
    openstack_drive, osconf_format, read_drop_beneath, read_drop_file, Context, DropKind, Found, Payload, Source,
};

/// The source `tencent-cdrom`.
pub struct TencentCdrom;

/// Its drops: Tencent's os.conf contract.
pub const KIND: DropKind = DropKind { source: "tencent-cdrom", dialect: osconf_format::TENCENT };

pub const LABEL: &str = "config-2";
pub const DROP_PATH: &str = "qcloud_action/os.conf";

impl Source for TencentCdrom {
    fn name(&self) -> &'static str {
        KIND.source
    }

    fn takes(&self) -> &'static str {
        "a device, an ISO 9660 image file, a directory holding qcloud_action/, or an os.conf file"
    }

    fn network_of(&self) -> Option<Cloud> {
        None
    }

    fn keys(&self) -> &'static [&'static str] {
        &[]
    }

    fn defaults(&self) -> SourceConfig {
        SourceConfig::default()
    }

    /// On a booted instance only: an image tree has no CD-ROM.
    fn find(&self, context: &Context, _config: &SourceConfig) -> Result<Option<Found>, Error> {
        if !context.root.is_host() {
            return Ok(None);
        }
        match label::find_device(Path::new("/sys/block"), &[LABEL]) {
            Some(device) => read_from_device(&device),
            None => Ok(None),
        }
    }

    fn find_at(&self, place: &OsStr, _context: &Context, _config: &SourceConfig) -> Result<Option<Found>, Error> {
        let path = Path::new(place);
        let meta = std::fs::metadata(path).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        let found = if meta.is_dir() {
            // A directory: the CD-ROM's content, e.g. where it is mounted.
            let found = read_drop_beneath(path, Path::new(DROP_PATH))?.map(|file| read_only(Found::drop(KIND, file)));
            found.map(|found| with_openstack_tree(found, path))
        } else if std::os::unix::fs::FileTypeExt::is_block_device(&meta.file_type()) {
            read_from_device(path)?
        } else if label::iso9660_label(path).is_some() {
            read_from_image_file(path)?
        } else {
            // An os.conf file of Tencent's (`--drop PATH --format tencent`).
            read_drop_file(path)?.map(|file| Found::drop(KIND, file))
        };
        found.map(Some).ok_or_else(|| Error::Usage(format!("{}: no {DROP_PATH} there", path.display())))
    }
}

pub fn read_from_device(device: &Path) -> Result<Option<Found>, Error> {
    let rdev = nix::sys::stat::stat(device).map_err(|e| Error::Failed(format!("{}: {e}", device.display())))?.st_rdev;
    let major_minor = format!("{}:{}", nix::sys::stat::major(rdev), nix::sys::stat::minor(rdev));
    let drop_on = |point: &Path| -> Result<Option<Found>, Error> {
        let found = read_drop_beneath(point, Path::new(DROP_PATH))?.map(|file| read_only(Found::drop(KIND, file)));
        Ok(found.map(|found| with_openstack_tree(found, point)))
    };
    let mounted = match mount_point_of(&major_minor) {
        Some(point) => return drop_on(&point),
        None => mount_first_fitting(device, "cdrom", &["iso9660"], true)?,
    };
    Ok(drop_on(&mounted.point)?.map(|found| Found {
        description: format!("{}:/{DROP_PATH} (CD-ROM {LABEL})", device.display()),
        mount: Some(mounted),
        ..found
    }))
}

/// The drop inside an ISO 9660 image file (a CD-ROM a builder made to test
/// with), read without mounting it; the image is never written.
pub fn read_from_image_file(image: &Path) -> Result<Option<Found>, Error> {
    let bad = |e: String| Error::Invalid(format!("{}: {e}", image.display()));
    let mut file = std::fs::File::open(image).map_err(|e| bad(e.to_string()))?;
    let content = iso9660::read_file(&mut file, DROP_PATH, MAX_DROP_BYTES).map_err(|e| bad(e.to_string()))?;
    let found = content.map(|content| Found {
        source: KIND.source,
        description: format!("{}:/{DROP_PATH} (ISO 9660 image)", image.display()),
        content,
        payload: Payload::OsConf(KIND.dialect),
        delete_after: None,
        drop_dir: None,
        mount: None,
        user_data: openstack_drive::user_data_in_image(image),
    });
    Ok(found.map(|found| with_keys(found, openstack_drive::ssh_keys_in_image(image))))
}

/// What the CD-ROM (directory `point`) may hold beside its drop, in an
/// OpenStack tree: root's keys and `openstack/latest/user_data`.
fn with_openstack_tree(found: Found, point: &Path) -> Found {
    let found = Found { user_data: openstack_drive::user_data_in_dir(point), ..found };
    with_keys(found, openstack_drive::ssh_keys_in_directory(point))
}

/// The drop with root's keys from the medium's OpenStack tree, if it has one.
fn with_keys(found: Found, keys: Option<Vec<SshKey>>) -> Found {
    match keys {
        Some(keys) => Found { payload: Payload::OsConfWithKeys(KIND.dialect, keys), ..found },
        None => found,
    }
}

/// A CD-ROM is never written: its drop stays.
fn read_only(found: Found) -> Found {
    Found { delete_after: None, drop_dir: None, ..found }
}
