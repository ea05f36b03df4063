//! What osconf did last: written last, atomically, mode 0600. Each kind of
//! source keeps its own record — `/var/lib/osconf/record.json` for drops
//! (first partition, CD-ROM, `--drop`), `metadata-record.json` for the
//! metadata endpoint — so each is applied once by its own digest, and
//! enabling both never makes one re-apply the other. The newer of the two
//! is what osconf set last: the next run diffs against it to remove what the
//! new settings no longer want.

use std::io;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::files::{write_atomic, Mode, Root};
use crate::settings::Nic;

pub const RECORD_PATH: &str = "/var/lib/osconf/record.json";
pub const METADATA_RECORD_PATH: &str = "/var/lib/osconf/metadata-record.json";

/// Which source a record is for (and so which file holds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordKind {
    #[default]
    Drop,
    Metadata,
}

impl RecordKind {
    pub fn path(self) -> &'static str {
        match self {
            RecordKind::Drop => RECORD_PATH,
            RecordKind::Metadata => METADATA_RECORD_PATH,
        }
    }

    fn is_drop(&self) -> bool {
        *self == RecordKind::Drop
    }
}

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
    /// Which source's record this is; absent in drop records (older ones too).
    #[serde(default, skip_serializing_if = "RecordKind::is_drop")]
    pub kind: RecordKind,
    /// The instance the settings were for (the metadata's `instance-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

impl Record {
    pub const VERSION: u32 = 1;

    /// What osconf set last, from either source: the newer record, or
    /// `None` on a system osconf never configured.
    pub fn load(root: &Root) -> io::Result<Option<Record>> {
        let drop = Record::load_kind(root, RecordKind::Drop)?;
        let metadata = Record::load_kind(root, RecordKind::Metadata)?;
        Ok(match (drop, metadata) {
            // The metadata unit runs after the drop unit: a tie goes to it.
            (Some(d), Some(m)) => Some(if m.applied_at >= d.applied_at { m } else { d }),
            (d, m) => d.or(m),
        })
    }

    /// The record of one kind of source: what it applied last.
    pub fn load_kind(root: &Root, kind: RecordKind) -> io::Result<Option<Record>> {
        let path = kind.path();
        let Some(text) = root.read_optional(path)? else { return Ok(None) };
        serde_json::from_str(&text)
            .map(|record| Some(Record { kind, ..record }))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{path} is damaged ({e}); move it away to start afresh")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a record always serialises") + "\n"
    }

    pub fn save(&self, root: &Root) -> io::Result<()> {
        write_atomic(&root.path(self.kind.path()), self.to_json().as_bytes(), Mode::Exact(0o600))
    }
}
