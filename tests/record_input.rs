//! The record is input (issue 22, item 5): the binary with `--root` on temp
//! trees whose `/var/lib/osconf/records/alibaba-drop.json` was edited after an apply. A
//! damaged record is a warning naming the file and the field and counts as
//! absent: nothing is removed or printed on its word, the drop applies
//! again, and the image's originals kept under /var/lib/osconf/backup stay.

mod common;

use common::*;

const CLASSIC: &str = include_str!("../examples/classic.conf");
const RECORD: &str = "/var/lib/osconf/records/alibaba-drop.json";

fn apply(tree: &TempTree) -> (i32, String, String) {
    osconf(&["apply", "--root", tree.path.to_str().unwrap()])
}

/// Applies the classic drop, then changes its record with `edit`.
fn applied_then_edited(tree: &TempTree, edit: impl Fn(&mut serde_json::Value)) {
    minimal_image(tree);
    tree.write(DROP, CLASSIC, 0o644);
    let (code, out, err) = apply(tree);
    assert_eq!(code, 0, "{out}{err}");
    let mut record: serde_json::Value = serde_json::from_str(&tree.read(RECORD)).unwrap();
    edit(&mut record);
    tree.write(RECORD, &record.to_string(), 0o600);
}

/// A recorded owned file that leads out of the root is not unlinked there
/// (the record is refused before any path in it is used), and the new drop
/// still applies.
#[test]
fn an_owned_file_outside_the_root_is_not_unlinked() {
    let tree = TempTree::new("record-escape");
    let outside = TempTree::new("record-escape-victim");
    outside.write("/x", "not osconf's\n", 0o644);
    let sibling = outside.path.file_name().unwrap().to_str().unwrap();
    // From the root /tmp/osconf-test-record-escape-PID-N: `..` is /tmp.
    let escape = format!("/../{sibling}/x");
    assert!(tree.join(&escape).exists(), "the test's path reaches the file");
    applied_then_edited(&tree, |record| record["owned_files"] = serde_json::json!([escape]));

    tree.write(DROP, &CLASSIC.replace("hostname=iZ23r29djmjZ", "hostname=renamed"), 0o644);
    let (code, out, err) = apply(&tree);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(outside.read("/x"), "not osconf's\n", "a file outside the root was removed");
    assert!(err.contains(&format!("{RECORD} is damaged (owned_files[0]: ")), "{err}");
    assert_eq!(tree.read("/etc/hostname"), "renamed\n", "the drop applies, as with no record");
    let record: serde_json::Value = serde_json::from_str(&tree.read(RECORD)).unwrap();
    assert_eq!(record["owned_files"], serde_json::json!([]), "a new, valid record");
}

/// `status` on a record with a NIC prefix of 200 says the record is
/// damaged and names the field, and prints no `/200`; `--json` prints
/// `null` (no record osconf goes by) with the warning on stderr.
#[test]
fn status_says_a_record_is_damaged_and_prints_none_of_it() {
    let tree = TempTree::new("record-status");
    applied_then_edited(&tree, |record| record["nics"][0]["prefix"] = 200.into());
    let root = tree.path.to_str().unwrap();
    let (code, out, err) = osconf(&["status", "--root", root]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("/200;") && !out.contains("host name:"), "{out}");
    assert!(out.contains(&format!("Damaged record: {RECORD} is damaged (nics[0].prefix: /200 is not")), "{out}");
    assert!(out.contains("No usable record"), "{out}");
    let (code, json, err) = osconf(&["status", "--root", root, "--json"]);
    assert_eq!((code, json.as_str()), (0, "null\n"), "{err}");
    assert!(err.contains("is damaged (nics[0].prefix"), "{err}");
}

/// A record that is not JSON: a warning, the drop applies as if none had
/// been applied, and the image's original /etc/hostname kept at the first
/// apply stays — a later drop without a host name gives it back.
#[test]
fn a_damaged_record_keeps_the_images_originals() {
    let tree = TempTree::new("record-backups");
    applied_then_edited(&tree, |_| {});
    let kept = "/var/lib/osconf/backup/etc/hostname";
    assert_eq!(tree.read(kept), "old-name\n");
    tree.write(RECORD, "{\"version\": 2, \"nics\": [", 0o600);

    tree.write(DROP, &CLASSIC.replace("hostname=iZ23r29djmjZ", "hostname=renamed"), 0o644);
    let (code, out, err) = apply(&tree);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains(&format!("{RECORD} is damaged (not JSON: ")), "{err}");
    assert_eq!(tree.read("/etc/hostname"), "renamed\n");
    assert_eq!(tree.read(kept), "old-name\n", "the image's original is kept");

    tree.write(DROP, &CLASSIC.replace("hostname=iZ23r29djmjZ\n", ""), 0o644);
    let (code, out, err) = apply(&tree);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(tree.read("/etc/hostname"), "old-name\n", "the image's own name is back");
}
