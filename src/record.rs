//! What osconf did last: written last, atomically, mode 0600, under
//! `/var/lib/osconf/record.json`. The next run compares against it to apply a
//! drop only once and to remove what a changed drop no longer wants.

use std::io;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::files::{write_atomic, Mode, Root};
use crate::settings::{Nic, SshKey};

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
    /// The keys in osconf's block of root's `authorized_keys`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKey>,
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

    pub fn save(&self, root: &Root) -> io::Result<()> {
        write_atomic(&root.path(RECORD_PATH), self.to_json().as_bytes(), Mode::Exact(0o600))
    }
}
