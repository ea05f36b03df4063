//! What osconf did last: written last, atomically, mode 0600. Each kind of
//! source keeps its own record — `/var/lib/osconf/record.json` for drops
//! (first partition, CD-ROM, `--drop`), `metadata-record.json` for the
//! metadata endpoint — so each is applied once by its own digest, and
//! enabling both never makes one re-apply the other. The newer of the two
//! is what osconf set last: the next run diffs against it to remove what the
//! new settings no longer want.

use std::io;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::files::{write_atomic, Mode, Root, WriteBatch};
use crate::settings::{Nic, SshKey};

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
    /// Counts applies on this host (1, 2, ...): the drop's display id in
    /// logs and `status`, revealing nothing about the drop.
    #[serde(default)]
    pub sequence: u64,
    /// HMAC-SHA256 (hex) of the drop's bytes under the host's key
    /// (`drop_key`): the same drop is never applied twice. Never printed.
    #[serde(default)]
    pub drop_hmac: String,
    /// A version-1 record's plain SHA-256 of the drop: read to recognise that
    /// drop once more, then replaced by `drop_hmac`, never written again.
    #[serde(default, rename = "drop_sha256", skip_serializing)]
    pub legacy_drop_sha256: Option<String>,
    pub hostname: Option<String>,
    /// Only whether it was set: the password itself is never recorded.
    pub password_set: bool,
    /// An IPv4 server reads and writes as before (`"7.7.7.7"`): older records still load.
    pub nameservers: Vec<IpAddr>,
    /// Addresses and routes osconf configured, per NIC (matched by MAC).
    pub nics: Vec<Nic>,
    /// The network stack whose files osconf rendered, if any.
    pub network_stack: Option<String>,
    /// Files osconf wrote and owns: removed when a later drop no longer needs them.
    pub owned_files: Vec<String>,
    /// The keys in osconf's block of root's `authorized_keys`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_keys: Vec<SshKey>,
    /// Which source's record this is; absent in drop records (older ones too).
    #[serde(default, skip_serializing_if = "RecordKind::is_drop")]
    pub kind: RecordKind,
    /// The instance the settings were for (the metadata's `instance-id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

impl Record {
    /// 2: `drop_sha256` replaced by `drop_hmac` and `sequence`.
    pub const VERSION: u32 = 2;

    /// What osconf set last, from either source: the newer record, or
    /// `None` on a system osconf never configured.
    pub fn load(root: &Root) -> io::Result<Option<Record>> {
        let drop = Record::load_kind(root, RecordKind::Drop)?;
        let metadata = Record::load_kind(root, RecordKind::Metadata)?;
        Ok(match (drop, metadata) {
            // `sequence` counts applies across both; a tie (records from
            // before it) goes to the metadata, whose unit runs after the drop's.
            (Some(d), Some(m)) => Some(if (m.sequence, m.applied_at) >= (d.sequence, d.applied_at) { m } else { d }),
            (d, m) => d.or(m),
        })
    }

    /// The record of one kind of source: what it applied last.
    pub fn load_kind(root: &Root, kind: RecordKind) -> io::Result<Option<Record>> {
        let path = kind.path();
        let Some(text) = root.read_optional(path)? else { return Ok(None) };
        serde_json::from_str(&text).map(|record| Some(Record { kind, ..record })).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{path} is damaged ({e}); move it away to start afresh"))
        })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a record always serialises") + "\n"
    }

    /// What `status --json` shows: the record without its digest.
    pub fn to_display_json(&self) -> String {
        let mut value = serde_json::to_value(self).expect("a record always serialises");
        if let Some(map) = value.as_object_mut() {
            map.remove("drop_hmac");
        }
        serde_json::to_string_pretty(&value).expect("a record always serialises") + "\n"
    }

    /// Whether this record was written for the drop with these bytes: by its
    /// keyed digest, or (a version-1 record) by the plain hash it kept.
    pub fn is_for_drop(&self, keyed_digest: &str, content: &[u8]) -> bool {
        (!self.drop_hmac.is_empty() && self.drop_hmac == keyed_digest)
            || self.legacy_drop_sha256.as_deref().is_some_and(|old| old == legacy_sha256_hex(content))
    }

    pub fn save(&self, root: &Root) -> io::Result<()> {
        write_atomic(root, self.kind.path(), self.to_json().as_bytes(), Mode::Exact(0o600))
    }

    /// Stages the record as the batch's last file: it appears only once
    /// everything else the batch writes is durable.
    pub fn stage(&self, root: &Root, batch: &mut WriteBatch) -> io::Result<()> {
        batch.write_last(root, self.kind.path(), self.to_json().as_bytes(), Mode::Exact(0o600))
    }
}

/// The version-1 digest, computed only to compare with an old record.
fn legacy_sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Name servers became `IpAddr` (IPv6 from the metadata): a record
    /// written before still loads, and an IPv4 server is written as before.
    #[test]
    fn an_older_record_with_ipv4_name_servers_still_reads() {
        let old = r#"{"version": 2, "applied_at": 1790000000, "source": "x", "sequence": 3, "drop_hmac": "ab", "hostname": null,
                      "password_set": false, "nameservers": ["7.7.7.7", "8.8.8.8"], "nics": [], "network_stack": null, "owned_files": []}"#;
        let record: Record = serde_json::from_str(old).unwrap();
        assert_eq!(record.nameservers, ["7.7.7.7".parse::<IpAddr>().unwrap(), "8.8.8.8".parse().unwrap()]);
        assert!(
            record.to_json().contains("\"nameservers\": [\n    \"7.7.7.7\",\n    \"8.8.8.8\"\n  ]"),
            "{}",
            record.to_json()
        );
        let with_ipv6 = Record { nameservers: vec!["2400:3200::1".parse().unwrap()], ..record };
        let read: Record = serde_json::from_str(&with_ipv6.to_json()).unwrap();
        assert_eq!(read.nameservers, with_ipv6.nameservers);
    }
}
