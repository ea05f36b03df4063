//! The built binary run with `--root` on temp trees: apply, plan, status,
//! once semantics, and a bad drop changing nothing.

mod common;

use common::*;

const CLASSIC: &str = include_str!("../examples/classic.conf");
const PASSWORD: &str = "qwHr1234";

fn root_hash(tree: &TempTree) -> String {
    let shadow = tree.read("/etc/shadow");
    shadow.lines().find(|l| l.starts_with("root:")).unwrap().split(':').nth(1).unwrap().to_owned()
}

fn apply(tree: &TempTree) -> (i32, String, String) {
    osconf(&["apply", "--root", tree.path.to_str().unwrap()])
}

#[test]
fn apply_sets_everything_records_it_and_deletes_the_drop() {
    let tree = TempTree::new("apply");
    minimal_image(&tree);
    tree.write(DROP, CLASSIC, 0o644);
    let (code, out, err) = apply(&tree);
    assert_eq!(code, 0, "{out}{err}");

    // Password: only root's line changed, hash verifiable, not expired, mode kept.
    let shadow = tree.read("/etc/shadow");
    let lines: Vec<&str> = shadow.lines().collect();
    let root: Vec<&str> = lines[0].split(':').collect();
    assert!(root[1].starts_with("$6$") && crypt_matches(PASSWORD, root[1]), "{}", lines[0]);
    assert!(!crypt_matches("wrong", root[1]));
    let today = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 86400;
    assert!(root[2].parse::<u64>().unwrap() >= today - 1, "last change must be today, not 0 (expired)");
    assert_eq!(root[3..].join(":"), "0:99999:7:::");
    assert_eq!(&lines[1..], &["daemon:*:19000:0:99999:7:::", "alice:$6$abc$def:19000:0:99999:7:::"]);
    assert_eq!(tree.mode("/etc/shadow"), 0o640);

    assert_eq!(tree.read("/etc/hostname"), "iZ23r29djmjZ\n");
    assert_eq!(
        tree.read("/etc/hosts"),
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n10.171.254.123\tiZ23r29djmjZ\t# managed by osconf\n"
    );
    assert_eq!(
        tree.read("/etc/resolv.conf"),
        "search example.internal\noptions timeout:2\nnameserver 7.7.7.7\nnameserver 8.8.8.8\n"
    );

    // Drop gone, its directory kept; record written 0600 and complete.
    assert!(!tree.exists(DROP));
    assert!(tree.exists("/boot/aliyun_custom_image"));
    assert_eq!(tree.mode("/var/lib/osconf/records/alibaba-drop.json"), 0o600);
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();
    let digest = record["drop_hmac"].as_str().unwrap();
    assert!(digest.len() == 64 && digest != sha256(CLASSIC.as_bytes()), "a keyed digest, not the plain hash: {digest}");
    assert!(record.get("drop_sha256").is_none());
    assert_eq!(record["sequence"], 1);
    assert_eq!(tree.mode("/var/lib/osconf/drop.key"), 0o600);
    assert_eq!(std::fs::read(tree.join("/var/lib/osconf/drop.key")).unwrap().len(), 32);
    assert_eq!(record["hostname"], "iZ23r29djmjZ");
    assert_eq!(record["password_set"], true);
    assert_eq!(record["nameservers"], serde_json::json!(["7.7.7.7", "8.8.8.8"]));
    assert_eq!(record["nics"][1]["mac"], "00:8c:fa:5e:14:24");
    assert_eq!(
        record["nics"][1]["routes"],
        serde_json::json!([{"dest": "0.0.0.0", "prefix": 0, "via": "42.120.74.1"}])
    );
    assert!(record["applied_at"].as_u64().unwrap() > 1_700_000_000);

    // The password appears nowhere but as a hash in shadow.
    for text in [&out, &err, &tree.read("/var/lib/osconf/records/alibaba-drop.json")] {
        assert!(!text.contains(PASSWORD) && !text.contains("cXdIcjEyMzQK"), "{text}");
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn the_same_drop_is_applied_once_a_changed_one_again() {
    let tree = TempTree::new("once");
    minimal_image(&tree);
    tree.write(DROP, CLASSIC, 0o644);
    assert_eq!(apply(&tree).0, 0);
    let first_hash = root_hash(&tree);

    // No drop: nothing to do, exit 0, nothing changes.
    let before = tree.snapshot();
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 0);
    assert!(err.contains("no settings found"), "{err}");
    assert_eq!(tree.snapshot(), before);

    // The same drop again (e.g. its deletion failed): not re-applied, but deleted.
    tree.write(DROP, CLASSIC, 0o644);
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 0);
    assert!(err.contains("applied already"), "{err}");
    assert_eq!(root_hash(&tree), first_hash, "a re-applied password would get a new salt");
    assert!(!tree.exists(DROP));

    // A changed drop is applied; the hosts line is replaced, not duplicated.
    tree.write(DROP, &CLASSIC.replace("iZ23r29djmjZ", "renamed").replace("10.171.254.123", "10.171.254.124"), 0o644);
    assert_eq!(apply(&tree).0, 0);
    assert_eq!(tree.read("/etc/hostname"), "renamed\n");
    let hosts = tree.read("/etc/hosts");
    assert_eq!(hosts.matches("osconf").count(), 1, "{hosts}");
    assert!(hosts.contains("10.171.254.124\trenamed\t# managed by osconf\n"));
    assert_ne!(root_hash(&tree), first_hash);
}

#[test]
fn a_bad_drop_changes_nothing_and_names_key_and_line() {
    let cases = [
        ("eth0_ip_addr=10.0.0.300", "line 4: eth0_ip_addr"),
        ("hostname=$(touch /tmp/osconf-pwned)", "line 4: hostname"),
        ("password=!!!", "line 4: password"),
        ("eth1_netmask=255.0.255.0", "line 4: eth1_netmask"),
        ("not an assignment", "line 4: is not a key=value"),
    ];
    for (bad_line, expected) in cases {
        let tree = TempTree::new("bad");
        minimal_image(&tree);
        // Line 4 is bad; a valid key after it must not be applied either.
        let drop = format!("hostname=good\neth1_ip_addr=10.0.1.5\neth1_mac_addr=52:54:00:00:00:02\n{bad_line}\ndns_nameserver=1.1.1.1\n");
        let drop = if bad_line.starts_with("eth1_netmask") { drop } else { drop + "eth1_netmask=255.255.255.0\n" };
        tree.write(DROP, &drop, 0o644);
        let before = tree.snapshot();
        let (code, out, err) = apply(&tree);
        assert_eq!(code, 2, "{bad_line}: {out}{err}");
        assert!(err.contains(expected), "{bad_line}: wanted {expected:?} in {err}");
        assert_eq!(tree.snapshot(), before, "{bad_line}: the tree changed");
        assert!(!std::path::Path::new("/tmp/osconf-pwned").exists());
    }
}

#[test]
fn plan_prints_everything_and_changes_nothing() {
    let tree = TempTree::new("plan");
    minimal_image(&tree);
    tree.write(DROP, CLASSIC, 0o644);
    let before = tree.snapshot();
    let (code, out, err) = osconf(&["plan", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.snapshot(), before);
    for words in [
        "root password: set",
        "host name: iZ23r29djmjZ",
        "name servers: 7.7.7.7 8.8.8.8",
        "eth0 (MAC 00:8c:fa:5e:14:23): 10.171.254.123/24, gateway 10.171.254.1",
        "route 10.0.0.0/8 via 10.171.254.1",
        "route 172.16.0.0/12 via 10.171.254.1",
        "route 0.0.0.0/0 via 42.120.74.1 (default)",
        "write /etc/shadow",
        "write /etc/hostname",
        "Then: delete",
    ] {
        assert!(out.contains(words), "missing {words:?} in:\n{out}");
    }
    assert!(!out.contains(PASSWORD) && !err.contains(PASSWORD));
}

#[test]
fn status_shows_the_record() {
    let tree = TempTree::new("status");
    minimal_image(&tree);
    let root = tree.path.to_str().unwrap();
    assert_eq!(osconf(&["status", "--root", root]).1, "osconf has not applied anything on this system yet.\n");
    tree.write(DROP, CLASSIC, 0o644);
    assert_eq!(apply(&tree).0, 0);
    let (code, json, _) = osconf(&["status", "--root", root, "--json"]);
    assert_eq!(code, 0);
    let mut record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();
    record.as_object_mut().unwrap().remove("drop_hmac");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        record,
        "status --json is the record without its digest"
    );
    let (_, text, _) = osconf(&["status", "--root", root]);
    assert!(
        text.contains("(drop #1, unix time ")
            && text.contains("host name: iZ23r29djmjZ")
            && text.contains("root password: set"),
        "{text}"
    );
}

/// Issue 13 point 1: a plain (fast, unkeyed) digest of the drop lets anyone
/// who reads it test password guesses offline. None may be printed, logged,
/// or left in any file, and no digest at all is printed.
#[test]
fn no_digest_of_the_drop_is_printed_or_left_anywhere() {
    let tree = TempTree::new("nodigest");
    minimal_image(&tree);
    let root = tree.path.to_str().unwrap();
    tree.write(DROP, CLASSIC, 0o644);
    let mut printed = vec![osconf(&["plan", "--root", root])];
    printed.push(osconf(&["apply", "--root", root]));
    tree.write(DROP, CLASSIC, 0o644);
    printed.push(osconf(&["plan", "--root", root]));
    printed.push(osconf(&["apply", "--root", root]));
    printed.push(osconf(&["status", "--root", root]));
    printed.push(osconf(&["status", "--root", root, "--json"]));
    let plain = sha256(CLASSIC.as_bytes());
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();
    let keyed = record["drop_hmac"].as_str().unwrap().to_owned();
    for (code, out, err) in &printed {
        assert_eq!(*code, 0, "{out}{err}");
        for digest in [&plain, &keyed] {
            // Any 12 hex digits of either digest would already be a usable filter.
            assert!(
                !digest
                    .as_bytes()
                    .chunks(12)
                    .any(|c| out.contains(std::str::from_utf8(c).unwrap())
                        || err.contains(std::str::from_utf8(c).unwrap())),
                "{out}{err}"
            );
        }
        assert!(!out.contains("sha256") && !err.contains("sha256"), "{out}{err}");
    }
    assert!(printed[3].2.contains("applied already (drop #1)"), "{}", printed[3].2);
    for (path, (content, _)) in tree.snapshot() {
        assert!(!String::from_utf8_lossy(&content).contains(&plain), "{path} holds the drop's plain SHA-256");
    }
}

/// A version-1 record kept the plain SHA-256: its drop is recognised once
/// (not applied again: a Tencent CD-ROM stays attached), and the record's
/// hash is then replaced by the keyed digest.
#[test]
fn an_old_records_plain_hash_is_honoured_once_then_replaced() {
    let tree = TempTree::new("migrate");
    minimal_image(&tree);
    let old = format!(
        "{{\n  \"version\": 1,\n  \"applied_at\": 1790000000,\n  \"source\": \"x\",\n  \"drop_sha256\": \"{}\",\n  \"hostname\": \"iZ23r29djmjZ\",\n  \"password_set\": true,\n  \"nameservers\": [],\n  \"nics\": [],\n  \"network_stack\": null,\n  \"owned_files\": []\n}}\n",
        sha256(CLASSIC.as_bytes())
    );
    tree.write("/var/lib/osconf/record.json", &old, 0o600);
    tree.write(DROP, CLASSIC, 0o644);
    let shadow = tree.read("/etc/shadow");
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--keep-drop"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("applied already"), "{err}");
    assert_eq!(tree.read("/etc/shadow"), shadow, "the old drop's password must not be set again");
    let record = tree.read("/var/lib/osconf/records/alibaba-drop.json");
    assert!(!record.contains("drop_sha256") && !record.contains(&sha256(CLASSIC.as_bytes())), "{record}");
    assert!(record.contains("\"drop_hmac\"") && record.contains("\"version\": 2"), "{record}");
    // Recognised again through the keyed digest alone.
    let (code, _, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--keep-drop"]);
    assert_eq!(code, 0);
    assert!(err.contains("applied already"), "{err}");
    assert_eq!(tree.read("/etc/shadow"), shadow);
}

#[test]
fn tencent_drop_writes_the_hash_as_is_and_is_never_deleted_by_format() {
    let tree = TempTree::new("tencent");
    minimal_image(&tree);
    let drop = include_str!("../examples/tencent.conf");
    tree.write("/media/cdrom/qcloud_action/os.conf", drop, 0o444);
    let path = tree.join("/media/cdrom/qcloud_action/os.conf");
    let (code, out, err) =
        osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--drop", path.to_str().unwrap(), "--keep-drop"]);
    assert_eq!(code, 0, "{out}{err}");
    let expected = drop.lines().find_map(|l| l.strip_prefix("password=")).unwrap();
    assert_eq!(root_hash(&tree), expected);
    assert!(crypt_matches(PASSWORD, expected));
    assert!(tree.exists("/media/cdrom/qcloud_action/os.conf"));
    // Tencent's VM_10_20_xxxx: one name, with '-' for '_', in every place
    // (systemd would strip '_' from /etc/hostname at the next boot).
    assert_eq!(tree.read("/etc/hostname"), "VM-10-20-xxxx\n");
    assert_eq!(tree.read("/etc/hosts").lines().last().unwrap(), "10.104.62.201\tVM-10-20-xxxx\t# managed by osconf");
    assert!(err.contains("hostname VM_10_20_xxxx: '_' is not allowed") && err.contains("using VM-10-20-xxxx"), "{err}");
    assert_eq!(err.matches("'_' is not allowed").count(), 1, "logged once: {err}");
}

#[test]
fn a_bare_file_name_as_drop_is_applied_and_deleted() {
    let tree = TempTree::new("bare-drop");
    minimal_image(&tree);
    tree.write("/work/os.conf", CLASSIC, 0o644);
    let out = osconf_command()
        .args(["apply", "--drop", "os.conf", "--root", tree.path.to_str().unwrap()])
        .current_dir(tree.join("/work"))
        .env_remove("OSCONF_LOG")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!tree.exists("/work/os.conf"), "the drop is deleted");
    assert_eq!(tree.read("/etc/hostname"), "iZ23r29djmjZ\n");
}

#[test]
fn usage_errors_exit_2_and_help_and_version_exit_0() {
    assert_eq!(osconf(&[]).0, 2);
    assert_eq!(osconf(&["frobnicate"]).0, 2);
    assert_eq!(osconf(&["apply", "--root"]).0, 2);
    assert_eq!(osconf(&["apply", "--format", "aws"]).0, 2);
    assert_eq!(osconf(&["apply", "--drop", "/nonexistent/os.conf", "--root", "/nonexistent"]).0, 2);
    let (code, out, _) = osconf(&["--help"]);
    assert!(code == 0 && out.contains("osconf apply") && out.contains("Exit codes"));
    let (code, out, _) = osconf(&["--version"]);
    assert_eq!((code, out), (0, format!("osconf {}\n", env!("CARGO_PKG_VERSION"))));
}

#[test]
fn a_failed_apply_keeps_the_drop_and_exits_1() {
    let tree = TempTree::new("fail");
    minimal_image(&tree);
    std::fs::remove_file(tree.join("/etc/shadow")).unwrap();
    tree.write(DROP, CLASSIC, 0o644);
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("/etc/shadow does not exist"), "{err}");
    assert!(tree.exists(DROP));
    assert!(!tree.exists("/var/lib/osconf/records/alibaba-drop.json"));
    assert_eq!(tree.read("/etc/hostname"), "old-name\n");
}
