//! Where settings come from (issue 5): the Alibaba drop on the first partition,
//! the Tencent CD-ROM, the Alibaba metadata endpoint. Each source yields the
//! drop's bytes in os.conf format, so one parser validates them all.

use std::path::PathBuf;

use crate::config::Config;
use crate::error::Error;
use crate::files::Root;
use crate::settings::PasswordForm;

/// Until partition discovery lands: the drop under /boot.
pub const FALLBACK_DROP: &str = "/boot/aliyun_custom_image/os.conf";

/// A drop that was found, and how to consume it after a successful apply.
#[derive(Debug)]
pub struct Found {
    /// Where it came from, in words (for logs, plan and the record).
    pub description: String,
    /// The os.conf bytes (hashed for "apply once").
    pub content: Vec<u8>,
    pub form: PasswordForm,
    /// The file to delete after success; `None` for read-only media.
    pub delete_after: Option<PathBuf>,
}

impl Found {
    /// Deletes the drop (keeping its directory) where the medium is writable.
    pub fn consume(&self) -> Result<(), Error> {
        match &self.delete_after {
            Some(path) => crate::files::remove_durably(path).map_err(Error::from),
            None => Ok(()),
        }
    }
}

/// Looks for settings where the platform puts them. `Ok(None)`: none found.
pub fn find(root: &Root, config: &Config) -> Result<Option<Found>, Error> {
    let _ = config;
    let path = root.path(FALLBACK_DROP);
    read_drop_file(&path, PasswordForm::Base64Plain)
}

/// Reads a drop file named on the command line or found on a medium.
pub fn read_drop_file(path: &std::path::Path, form: PasswordForm) -> Result<Option<Found>, Error> {
    match std::fs::read(path) {
        Ok(content) => Ok(Some(Found { description: path.display().to_string(), content, form, delete_after: Some(path.to_owned()) })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Failed(format!("reading {}: {e}", path.display()))),
    }
}
