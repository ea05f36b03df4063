//! Choosing a source (issue 23): `--from SOURCE[=WHERE]` for every kind of
//! WHERE a source takes, `--help` listing the registry, `[source] order`,
//! and one record per source, with osconf 0.1's records still honoured.
//! The binary, with `--root` on temp trees; an ISO 9660 image made by
//! genisoimage as a cloud makes its CD-ROM.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use osconf::sources::SOURCES;

const TENCENT: &str = include_str!("../examples/tencent.conf");
const CLASSIC: &str = include_str!("../examples/classic.conf");

fn root(tree: &TempTree) -> &str {
    tree.path.to_str().unwrap()
}

/// A `config-2` ISO 9660 image holding `qcloud_action/os.conf`, as Tencent's CD-ROM.
fn tencent_iso(tree: &TempTree) -> std::path::PathBuf {
    make_iso(tree, &[("qcloud_action/os.conf", TENCENT)], "/config-2.iso")
}

/// A `config-2` ISO 9660 image at `iso` holding `files` (its content also
/// left in /cdrom of `tree`).
fn make_iso(tree: &TempTree, files: &[(&str, &str)], iso: &str) -> std::path::PathBuf {
    let content = tree.join("/cdrom");
    for (path, text) in files {
        std::fs::create_dir_all(content.join(path).parent().unwrap()).unwrap();
        std::fs::write(content.join(path), text).unwrap();
    }
    let iso = tree.join(iso);
    let status = Command::new("genisoimage")
        .args(["-quiet", "-V", "config-2", "-r", "-J", "-o"])
        .arg(&iso)
        .arg(&content)
        .status()
        .expect("genisoimage (tests/install-deps.sh installs it)");
    assert!(status.success());
    iso
}

#[test]
fn help_lists_every_registered_source_and_what_it_takes() {
    let (code, out, _) = osconf(&["--help"]);
    assert_eq!(code, 0);
    for source in SOURCES {
        let line = out.lines().find(|l| l.trim_start().starts_with(source.name())).unwrap_or_else(|| {
            panic!("--help does not list {}:\n{out}", source.name());
        });
        assert!(line.contains(source.takes()), "{line}");
    }
}

#[test]
fn an_iso_image_a_directory_and_a_file_are_each_a_tencent_cdrom() {
    let tree = TempTree::new("from-tencent");
    minimal_image(&tree);
    let iso = tencent_iso(&tree);
    let before = std::fs::read(&iso).unwrap();
    let from_iso = format!("tencent-cdrom={}", iso.display());
    let (code, out, err) = osconf(&["plan", "--root", root(&tree), "--from", &from_iso]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("host name: VM-10-20-xxxx") && out.contains("(ISO 9660 image)"), "{out}");
    assert!(out.contains("/var/lib/osconf/records/tencent-cdrom.json"), "{out}");
    assert!(out.contains("keep the drop"), "an image file is never written: {out}");
    // The directory the CD-ROM's content is in, and its os.conf itself: the same plan.
    let plan_of = |place: &Path| {
        let (code, out, err) = osconf(&[
            "plan",
            "--root",
            root(&tree),
            "--from",
            &format!("tencent-cdrom={}", place.display()),
            "--keep-drop",
        ]);
        assert_eq!(code, 0, "{err}");
        out.lines().filter(|l| !l.contains("cdrom") && !l.contains(".iso")).map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(plan_of(&tree.join("/cdrom")), plan_of(&tree.join("/cdrom/qcloud_action/os.conf")));
    assert_eq!(plan_of(&tree.join("/cdrom")), plan_of(&iso));
    // Applied from the image: the crypt hash set, the record is the CD-ROM's.
    let (code, _, err) = osconf(&["apply", "--root", root(&tree), "--no-live", "--from", &from_iso]);
    assert_eq!(code, 0, "{err}");
    assert!(tree.read("/etc/shadow").contains("$6$saltsaltsalt$"), "{}", tree.read("/etc/shadow"));
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/tencent-cdrom.json")).unwrap();
    assert_eq!(record["from"], "tencent-cdrom");
    assert_eq!(std::fs::read(&iso).unwrap(), before, "the image is unchanged");
    let (code, _, err) = osconf(&["apply", "--root", root(&tree), "--no-live", "--from", &from_iso]);
    assert_eq!(code, 0);
    assert!(err.contains("applied already"), "{err}");
}

#[test]
fn drop_is_from_alibaba_drop_and_bad_choices_are_usage_errors() {
    let tree = TempTree::new("from-alias");
    minimal_image(&tree);
    tree.write("/tmp/os.conf", CLASSIC, 0o644);
    let path = tree.join("/tmp/os.conf");
    let by_drop = osconf(&["plan", "--root", root(&tree), "--drop", path.to_str().unwrap()]);
    let by_from = osconf(&["plan", "--root", root(&tree), "--from", &format!("alibaba-drop={}", path.display())]);
    assert_eq!(by_drop, by_from);
    assert!(by_drop.1.contains("records/alibaba-drop.json"), "{}", by_drop.1);
    for (args, says) in [
        (vec!["--from", "nowhere"], "no such source (one of alibaba-drop, tencent-cdrom"),
        (vec!["--from", "alibaba-drop=/nonexistent/os.conf"], "no such file"),
        (vec!["--from", "alibaba-drop", "--drop", "/x"], "--drop and --from"),
        (vec!["--from"], "--from needs a value"),
    ] {
        let mut argv = vec!["plan", "--root", root(&tree)];
        argv.extend(args);
        let (code, _, err) = osconf(&argv);
        assert_eq!(code, 2, "{argv:?}: {err}");
        assert!(err.contains(says), "{argv:?}: {err}");
    }
}

#[test]
fn the_order_in_osconf_conf_decides_which_source_wins() {
    let tree = TempTree::new("from-order");
    minimal_image(&tree);
    tree.write(DROP, "hostname=from-drop\n", 0o644);
    let url = metadata_with_hostname("from-metadata");
    let conf =
        |order: &str| format!("[source]\norder = {order}\n[source.alibaba-metadata]\nenabled = yes\nurl = {url}\n");
    tree.write("/etc/osconf/osconf.conf", &conf("alibaba-metadata alibaba-drop"), 0o644);
    let (code, out, err) = osconf(&["plan", "--root", root(&tree)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from-metadata") && !out.contains("from-drop"), "{out}");
    tree.write("/etc/osconf/osconf.conf", &conf("alibaba-drop, alibaba-metadata"), 0o644);
    let (code, out, err) = osconf(&["plan", "--root", root(&tree)]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("from-drop") && !out.contains("from-metadata"), "{out}");
    // A source left out of the order is not asked, enabled or not.
    tree.write("/etc/osconf/osconf.conf", &conf("alibaba-metadata"), 0o644);
    std::fs::remove_file(tree.join(DROP)).unwrap();
    tree.write("/etc/osconf/osconf.conf", &conf("alibaba-drop"), 0o644);
    let (code, out, _) = osconf(&["plan", "--root", root(&tree)]);
    assert_eq!((code, out.trim()), (0, "No settings found: nothing to do."));
}

#[test]
fn each_source_keeps_its_own_record_and_osconf_0_1s_records_still_count() {
    let tree = TempTree::new("from-records");
    minimal_image(&tree);
    tree.write(DROP, CLASSIC, 0o644);
    let (code, _, err) = osconf(&["apply", "--root", root(&tree), "--no-live", "--keep-drop"]);
    assert_eq!(code, 0, "{err}");
    // As osconf 0.1 left it: its one record of the drops, no records/ folder.
    let record = tree.read("/var/lib/osconf/records/alibaba-drop.json");
    std::fs::remove_dir_all(tree.join("/var/lib/osconf/records")).unwrap();
    let old: serde_json::Value = serde_json::from_str(&record).unwrap();
    let mut old = old.as_object().unwrap().clone();
    old.remove("from");
    tree.write("/var/lib/osconf/record.json", &serde_json::Value::Object(old).to_string(), 0o600);
    let shadow = tree.read("/etc/shadow");
    let (code, _, err) = osconf(&["apply", "--root", root(&tree), "--no-live", "--keep-drop"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied already"), "osconf 0.1's record marks the drop applied: {err}");
    assert_eq!(tree.read("/etc/shadow"), shadow);
    let (code, out, _) = osconf(&["status", "--root", root(&tree)]);
    assert_eq!(code, 0);
    assert!(out.contains("Last applied:"), "{out}");
    // A new drop: its record is the source's own; the old one stays as it was.
    tree.write(DROP, "hostname=second\n", 0o644);
    let (code, _, err) = osconf(&["apply", "--root", root(&tree), "--no-live", "--keep-drop"]);
    assert_eq!(code, 0, "{err}");
    let new: serde_json::Value = serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();
    assert_eq!((new["from"].as_str(), new["sequence"].as_u64()), (Some("alibaba-drop"), Some(2)));
    assert_eq!(new["hostname"], "second");
    let (_, out, _) = osconf(&["status", "--root", root(&tree), "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["hostname"], "second", "the newest record is what osconf set last");
}

/// Tencent's CD-ROM with an OpenStack tree beside `qcloud_action/os.conf`
/// (its label is OpenStack's): the tree's keys are root's, os.conf decides
/// the rest (the tree's host name and `admin_pass` are not used); new keys
/// on the same os.conf apply again, the same keys do not.
#[test]
fn an_openstack_tree_on_the_tencent_cdrom_adds_roots_keys() {
    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3grApp1u6rYY7lRUREvN8ueKICW1v5WXml8QdH9WZh alice@example";
    const OTHER: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnS2k5hZ8+0fYQ8oC3a4XvJ2bJ9mG4Vb4cT3cS0k2mE deploy@example";
    let meta = |key: &str| {
        serde_json::json!({"uuid": "ca9e8b7c-f2be-4b6d-a639-f10b4d994d04", "hostname": "not-this-one",
                           "admin_pass": "NotThisOne1", "public_keys": {"k": key}})
        .to_string()
    };
    let tree = TempTree::new("from-tencent-keys");
    minimal_image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644);
    let first = meta(KEY);
    let files = [("qcloud_action/os.conf", TENCENT), ("openstack/latest/meta_data.json", first.as_str())];
    let iso = make_iso(&tree, &files, "/keys.iso");
    let apply = |place: &Path| {
        let from = format!("tencent-cdrom={}", place.display());
        osconf(&["apply", "--root", root(&tree), "--no-live", "--from", &from])
    };
    let (code, out, err) = apply(&iso);
    assert_eq!(code, 0, "{out}{err}");
    assert!(tree.read("/root/.ssh/authorized_keys").contains(KEY), "{}", tree.read("/root/.ssh/authorized_keys"));
    assert_eq!(tree.read("/etc/hostname"), "VM-10-20-xxxx\n", "os.conf's host name");
    assert!(tree.read("/etc/shadow").contains("root:$6$saltsaltsalt$"), "os.conf's password, not admin_pass");
    // The same CD-ROM again: nothing to do.
    let (code, _, err) = apply(&iso);
    assert_eq!((code, err.contains("applied already")), (0, true), "{err}");
    // Another key pair, the same os.conf: applied, the old key gone.
    let second = meta(OTHER);
    let files = [("qcloud_action/os.conf", TENCENT), ("openstack/latest/meta_data.json", second.as_str())];
    let iso = make_iso(&tree, &files, "/keys2.iso");
    let (code, _, err) = apply(&iso);
    assert_eq!((code, err.contains("applied already")), (0, false), "{err}");
    let keys = tree.read("/root/.ssh/authorized_keys");
    assert!(keys.contains(OTHER) && !keys.contains(KEY), "{keys}");
    // The CD-ROM's content as a directory gives the same.
    let (code, _, err) = apply(&tree.join("/cdrom"));
    assert_eq!((code, err.contains("applied already")), (0, true), "{err}");
}
