//! What osconf did last: written last, atomically, mode 0600, under
//! `/var/lib/osconf/record.json`. The next run compares against it to apply a
//! drop only once and to remove what a changed drop no longer wants.

use std::io;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::files::{Mode, Root, WriteBatch};
use crate::settings::Nic;

pub const RECORD_PATH: &str = "/var/lib/osconf/record.json";

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Record {
    /// Format version of this file.
    pub version: u32,
    /// Seconds since the Unix epoch when the apply finished.
    pub applied_at: u64,
    /// Where the settings came from, in words.
    pub source: String,
    /// SHA-256 (hex) of the drop's bytes: the same drop is never applied twice.
    pub drop_sha256: String,
    pub hostname: Option<String>,
    /// Only whether it was set: the password itself is never recorded.
    pub password_set: bool,
    pub nameservers: Vec<Ipv4Addr>,
    /// Addresses and routes osconf configured, per NIC (matched by MAC).
    pub nics: Vec<Nic>,
    /// The network stack whose files osconf rendered, if any.
    pub network_stack: Option<String>,
    /// Files osconf wrote and owns: removed when a later drop no longer needs them.
    pub owned_files: Vec<String>,
}

impl Record {
    pub const VERSION: u32 = 1;

    /// The last record, or `None` on a system osconf never configured.
    pub fn load(root: &Root) -> io::Result<Option<Record>> {
        let Some(text) = root.read_optional(RECORD_PATH)? else { return Ok(None) };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{RECORD_PATH} is damaged ({e}); move it away to start afresh")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a record always serialises") + "\n"
    }

    /// Stages the record as the batch's last file: it appears only once
    /// everything else the batch writes is durable.
    pub fn stage(&self, root: &Root, batch: &mut WriteBatch) -> io::Result<()> {
        batch.write_last(&root.path(RECORD_PATH), self.to_json().as_bytes(), Mode::Exact(0o600))
    }
}
