//! Once per instance: `/var/lib/osconf/user-data.json` (0600) says for which
//! instance the user data ran, when, what each script and command exited
//! with, and a keyed digest of the data (HMAC-SHA256 under the per-host key
//! of `crate::drop_key`, with its own label: user data holds passwords, so
//! never a plain hash). Runs again only for a new instance id.
//!
//! New data for the same instance does not run: cloud-init runs user scripts
//! once per instance, and a script that sets a password or appends to a file
//! must not run twice because a metadata service served it anew. It is a
//! warning saying so.

use serde::{Deserialize, Serialize};

use crate::drop_key::DropKey;
use crate::files::{write_atomic, Mode, Root};

/// The record.
pub const RECORD_PATH: &str = "/var/lib/osconf/user-data.json";
/// Keeps this digest apart from the drop's, under the same key.
const LABEL: &[u8] = b"osconf user-data v1\0";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDataRecord {
    pub instance_id: String,
    pub source: String,
    /// Seconds since the epoch when it ran.
    pub ran_at: u64,
    /// HMAC-SHA256 (hex) of the data under the per-host key.
    pub digest: String,
    pub results: Vec<RunResult>,
    /// What was left out or failed, each naming its item.
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// One script's or command's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    pub name: String,
    pub exit_code: i32,
    pub outcome: String,
}

/// What to do with the data found.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Run,
    RanAlready,
    /// Same instance, other data: not run again (see the module's docs).
    ChangedForSameInstance,
}

/// The keyed digest of `data`.
pub fn digest(key: &DropKey, data: &[u8]) -> String {
    let mut message = zeroize::Zeroizing::new(Vec::with_capacity(LABEL.len() + data.len()));
    message.extend_from_slice(LABEL);
    message.extend_from_slice(data);
    key.digest(&message)
}

pub fn decide(previous: Option<&UserDataRecord>, instance_id: &str, digest: &str) -> Decision {
    match previous {
        Some(record) if record.instance_id == instance_id && record.digest == digest => Decision::RanAlready,
        Some(record) if record.instance_id == instance_id => Decision::ChangedForSameInstance,
        _ => Decision::Run,
    }
}

/// The record, if any; a damaged one is a warning and counts as none (the
/// data runs again: a lost record must not stop a new instance's data).
pub fn load(root: &Root) -> Option<UserDataRecord> {
    let bytes = match root.read_bytes(RECORD_PATH) {
        Ok(bytes) => bytes?,
        Err(e) => {
            log::warn!("{RECORD_PATH}: {e}: taken as no record");
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(record) => Some(record),
        Err(e) => {
            log::warn!("{RECORD_PATH}: damaged ({e}): taken as no record");
            None
        }
    }
}

pub fn save(root: &Root, record: &UserDataRecord) -> std::io::Result<()> {
    let json = serde_json::to_string_pretty(record).map_err(std::io::Error::other)?;
    write_atomic(root, RECORD_PATH, format!("{json}\n").as_bytes(), Mode::Exact(0o600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_once_per_instance() {
        let record = UserDataRecord {
            instance_id: "i-1".into(),
            source: "s".into(),
            ran_at: 0,
            digest: "d".into(),
            results: vec![],
            warnings: vec![],
        };
        assert_eq!(decide(None, "i-1", "d"), Decision::Run);
        assert_eq!(decide(Some(&record), "i-1", "d"), Decision::RanAlready);
        assert_eq!(decide(Some(&record), "i-1", "e"), Decision::ChangedForSameInstance);
        assert_eq!(decide(Some(&record), "i-2", "d"), Decision::Run);
    }

    #[test]
    fn the_digest_is_keyed_and_not_the_drops() {
        let root = Root::new(std::env::temp_dir().join(format!("osconf-ud-key-{}", std::process::id())));
        let a = DropKey::load_or_new(&root).unwrap();
        let b = DropKey::load_or_new(&root).unwrap();
        assert_ne!(digest(&a, b"x"), digest(&b, b"x"));
        assert_eq!(digest(&a, b"x"), digest(&a, b"x"));
        assert_ne!(digest(&a, b"x"), a.digest(b"x"));
    }
}
