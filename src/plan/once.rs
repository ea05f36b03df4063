//! Apply-once: a source's settings are applied once, judged against that
//! source's own record (`records/<source>.json`, or osconf 0.1's
//! `record.json` / `metadata-record.json`) by the keyed digest of what it served. A version-1
//! record (a plain hash of the drop) still counts, and is migrated to the
//! keyed digest when found applied.

use crate::drop_key::DropKey;
use crate::error::Error;
use crate::files::Root;
use crate::record::Record;

/// The record that marks the source `source` applied. `previous` (what
/// osconf set last, from any source) is reused when it is that source's.
pub fn own_record(source: &str, previous: Option<&Record>, root: &Root) -> Result<Option<Record>, Error> {
    if previous.is_some_and(|r| r.from == source) {
        return Ok(previous.cloned());
    }
    // A damaged one was warned about when `previous` was loaded: absent here too.
    Ok(Record::read_source(root, source)?.unwrap_or(None))
}

/// Whether `own` was written for the drop with these bytes (keyed
/// digest; see `drop_key`). Cheap: `osconf apply` asks it before the plan,
/// to wait for udev only when there is something to apply.
pub fn applied_before(own: Option<&Record>, key: &DropKey, content: &[u8]) -> bool {
    own.is_some_and(|r| r.is_for_drop(&key.digest(content), content))
}

/// When applied already from a version-1 record: that record with its plain
/// hash replaced by the keyed digest (`drop_hmac`), to be saved as the
/// record of `source` (which osconf 0.1's records do not name).
pub fn migrated(own: Option<&Record>, already_applied: bool, drop_hmac: &str, source: &str) -> Option<Record> {
    own.filter(|r| already_applied && r.drop_hmac != drop_hmac).map(|r| Record {
        version: Record::VERSION,
        from: source.to_owned(),
        sequence: r.sequence.max(1),
        drop_hmac: drop_hmac.to_owned(),
        legacy_drop_sha256: None,
        ..r.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::plan::{Origin, Plan};
    use crate::settings::Settings;

    const DROP: &[u8] = b"hostname=once\n";

    /// An empty image whose drop key exists, and a record of `kind` for `DROP`.
    fn image(name: &str, from: &str) -> (Root, Record) {
        let dir = std::env::temp_dir().join(format!("osconf-once-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = Root::new(&dir);
        let key = DropKey::load_or_new(&root).unwrap();
        key.save_if_new(&root).unwrap();
        let record = Record { from: from.into(), sequence: 3, drop_hmac: key.digest(DROP), ..Record::default() };
        (root, record)
    }

    fn build(root: &Root, origin: &Origin, previous: Option<&Record>) -> Plan {
        Plan::build(Settings::default(), origin, previous, root, &Config::default()).unwrap()
    }

    #[test]
    fn applied_already_is_judged_by_the_sources_own_record_inside_build() {
        let (root, metadata) = image("own", "alibaba-metadata");
        // What osconf set last (the metadata's record) holds the same digest,
        // but the drop's own record is absent: the drop is new.
        let plan = build(&root, &Origin::drop("a drop", DROP, None), Some(&metadata));
        assert!(!plan.already_applied);
        assert_eq!(plan.record.sequence, 4);
        // Its own record says it was applied: applied already, whatever osconf set last.
        let own = Record { from: "alibaba-drop".into(), ..metadata.clone() };
        let plan = build(&root, &Origin::drop("a drop", DROP, Some(&own)), None);
        assert!(plan.already_applied);
        assert!(plan.migrated_record.is_none());
        assert_eq!(plan.drop_id(), "drop #1");
    }

    #[test]
    fn the_plans_record_is_of_the_origins_source_and_instance() {
        let (root, _) = image("kind", "alibaba-drop");
        let origin = Origin {
            source: "alibaba-metadata",
            typed: true,
            instance_id: Some("i-once".into()),
            ..Origin::drop("the metadata", DROP, None)
        };
        let plan = build(&root, &origin, None);
        assert_eq!(plan.record.from, "alibaba-metadata");
        assert_eq!(plan.record.instance_id.as_deref(), Some("i-once"));
        assert_eq!(plan.record.source, "the metadata");
    }

    #[test]
    fn a_version_1_own_record_is_migrated_to_the_keyed_digest() {
        let (root, keyed) = image("v1", "alibaba-drop");
        let hex: String = <sha2::Sha256 as sha2::Digest>::digest(DROP).iter().map(|b| format!("{b:02x}")).collect();
        let v1 = Record { version: 1, drop_hmac: String::new(), legacy_drop_sha256: Some(hex), ..keyed.clone() };
        let plan = build(&root, &Origin::drop("a drop", DROP, Some(&v1)), Some(&v1));
        assert!(plan.already_applied);
        let migrated = plan.migrated_record.expect("migrated");
        assert_eq!(
            (migrated.version, migrated.drop_hmac, migrated.legacy_drop_sha256),
            (Record::VERSION, keyed.drop_hmac, None)
        );
    }
}
