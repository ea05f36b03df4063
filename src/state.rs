//! osconf's own state on the guest, under `/var/lib/osconf`: the records, the
//! drop key, and the copies of files osconf replaced or removes. One place
//! for these paths, because both [`plan`](crate::plan) (which reads them to
//! decide) and [`apply`](crate::apply) (which writes them) need them. The
//! paths are a compatibility promise: a newer osconf finds an older one's
//! record, key and backups where that one left them.

/// Everything osconf keeps about itself.
pub const DIR: &str = "/var/lib/osconf";

/// Each source's record: `records/<source name>.json`.
pub const RECORDS_DIR: &str = "/var/lib/osconf/records";

/// The record of a source, by its registered name.
pub fn record_path(source: &str) -> String {
    format!("{RECORDS_DIR}/{source}.json")
}

/// osconf 0.1's record of the drops (first partition, CD-ROM, `--drop`).
pub const RECORD_PATH: &str = "/var/lib/osconf/record.json";

/// osconf 0.1's record of the metadata endpoint.
pub const METADATA_RECORD_PATH: &str = "/var/lib/osconf/metadata-record.json";

/// The per-host key of the record's digest of the drop (see `drop_key`).
pub const KEY_PATH: &str = "/var/lib/osconf/drop.key";

/// Where the copies of the image's files are kept.
pub const BACKUP_DIR: &str = "/var/lib/osconf/backup";

/// Where the copy of a file osconf replaces or removes but did not write
/// itself is kept: `/etc/x` → `/var/lib/osconf/backup/etc/x`, with the
/// originals of the host name and DNS files. Never beside the original: every
/// stack scans its own directory (initscripts and NetworkManager load every
/// `ifcfg-*` except a few suffixes, netplan every `*.yaml`).
pub fn backup_path(guest_path: &str) -> String {
    format!("{BACKUP_DIR}{guest_path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_under_var_lib_by_absolute_path() {
        assert_eq!(backup_path("/etc/resolv.conf"), "/var/lib/osconf/backup/etc/resolv.conf");
    }

    #[test]
    fn every_path_is_under_dir() {
        for path in [RECORD_PATH, METADATA_RECORD_PATH, KEY_PATH, BACKUP_DIR, RECORDS_DIR] {
            assert!(path.starts_with(&format!("{DIR}/")), "{path}");
        }
    }
}
