//! The image's own versions of the files osconf edits for a setting (host
//! name, name servers), kept once, before osconf first changes them, under
//! `/var/lib/osconf/backup/<absolute path>` where no network stack or
//! resolver scans. A later drop that no longer sets the value puts the
//! image's original back from there.

use crate::files::Root;
use crate::state::backup_path;

/// The kept original of `guest_path`, if one was kept. `None` also when
/// osconf before this version changed the file (it kept no original): the
/// caller then leaves the file as it is, with a warning.
pub fn read(root: &Root, guest_path: &str) -> std::io::Result<Option<String>> {
    root.read_optional(&backup_path(guest_path))
}

/// Whether the original of `guest_path` must be kept before osconf writes
/// it now: a regular file, not kept before, and (`set_before` false) not
/// already holding a value of osconf's, which would not be the image's.
pub fn needs_keeping(root: &Root, guest_path: &str, set_before: bool) -> bool {
    !set_before && !root.exists(&backup_path(guest_path)) && root.is_file(guest_path)
}
