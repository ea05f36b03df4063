//! Reconciliation beyond the network (issue 13, point 5): whatever osconf
//! set that a later drop no longer sets goes back to the image's original,
//! kept under /var/lib/osconf/backup/ where no stack scans.

mod common;

use common::*;

const CLASSIC: &str = include_str!("../examples/classic.conf");
const HOSTS: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n";
const RESOLV: &str = "search example.internal\nnameserver 192.0.2.53\noptions timeout:2\n";

fn apply(tree: &TempTree, drop: &str) -> String {
    tree.write(DROP, drop, 0o644);
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--no-live"]);
    assert_eq!(code, 0, "{out}{err}");
    err
}

/// The classic drop without `hostname` and `dns_nameserver`.
fn without_name_and_dns() -> String {
    CLASSIC
        .lines()
        .filter(|l| !l.starts_with("hostname=") && !l.starts_with("dns_nameserver="))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn a_drop_without_host_name_or_name_servers_restores_the_images_own() {
    let tree = TempTree::new("reconcile");
    minimal_image(&tree);
    tree.write("/etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=image-name\n", 0o644);
    apply(&tree, CLASSIC);
    assert_eq!(tree.read("/etc/hostname"), "iZ23r29djmjZ\n");
    assert!(tree.read("/etc/resolv.conf").contains("nameserver 7.7.7.7"));
    assert!(tree.read("/etc/sysconfig/network").contains("HOSTNAME=iZ23r29djmjZ"));
    for (path, original) in [
        ("/etc/hostname", "old-name\n"),
        ("/etc/resolv.conf", RESOLV),
        ("/etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=image-name\n"),
    ] {
        assert_eq!(tree.read(&format!("/var/lib/osconf/backup{path}")), original);
        assert_eq!(tree.mode(&format!("/var/lib/osconf/backup{path}")), 0o600);
    }

    // A changed drop still setting both: the originals are not overwritten by osconf's values.
    apply(&tree, &CLASSIC.replace("iZ23r29djmjZ", "second").replace("7.7.7.7", "9.9.9.9"));
    assert_eq!(tree.read("/var/lib/osconf/backup/etc/hostname"), "old-name\n");
    assert_eq!(tree.read("/var/lib/osconf/backup/etc/resolv.conf"), RESOLV);

    let drop = without_name_and_dns();
    tree.write(DROP, &drop, 0o644);
    let (_, plan, _) = osconf(&["plan", "--root", tree.path.to_str().unwrap()]);
    assert!(
        plan.contains("host name: back to the image's own") && plan.contains("name servers: back to the image's own"),
        "{plan}"
    );
    apply(&tree, &drop);
    assert_eq!(tree.read("/etc/hostname"), "old-name\n");
    assert_eq!(tree.read("/etc/hosts"), HOSTS, "the managed line goes");
    assert_eq!(tree.read("/etc/resolv.conf"), RESOLV);
    assert_eq!(tree.read("/etc/sysconfig/network"), "NETWORKING=yes\nHOSTNAME=image-name\n");
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();
    assert_eq!(
        (record["hostname"].clone(), record["nameservers"].clone()),
        (serde_json::Value::Null, serde_json::json!([]))
    );

    // Set again later: kept originals still the image's.
    apply(&tree, CLASSIC);
    assert_eq!(tree.read("/etc/hostname"), "iZ23r29djmjZ\n");
    assert_eq!(tree.read("/var/lib/osconf/backup/etc/hostname"), "old-name\n");
}

#[test]
fn lines_added_since_stay_when_name_servers_are_restored() {
    let tree = TempTree::new("reconcile-merge");
    minimal_image(&tree);
    apply(&tree, CLASSIC);
    let edited = tree.read("/etc/resolv.conf") + "options rotate\n";
    tree.write("/etc/resolv.conf", &edited, 0o644);
    apply(&tree, &without_name_and_dns());
    assert_eq!(
        tree.read("/etc/resolv.conf"),
        "search example.internal\noptions timeout:2\noptions rotate\nnameserver 192.0.2.53\n"
    );
}

#[test]
fn a_resolved_drop_in_is_removed_when_no_longer_set() {
    let tree = TempTree::new("reconcile-resolved");
    minimal_image(&tree);
    std::fs::remove_file(tree.join("/etc/resolv.conf")).unwrap();
    std::os::unix::fs::symlink("../run/systemd/resolve/stub-resolv.conf", tree.join("/etc/resolv.conf")).unwrap();
    apply(&tree, CLASSIC);
    assert!(tree.read("/etc/systemd/resolved.conf.d/osconf.conf").contains("DNS=7.7.7.7 8.8.8.8"));
    apply(&tree, &without_name_and_dns());
    assert!(!tree.exists("/etc/systemd/resolved.conf.d/osconf.conf"));
    assert_eq!(
        std::fs::read_link(tree.join("/etc/resolv.conf")).unwrap().to_str(),
        Some("../run/systemd/resolve/stub-resolv.conf")
    );
}
