//! The binary with `--from tencent-metadata=URL` under `--root`, against
//! the stand-in of Tencent's metadata service on loopback
//! (`src/sources/tencent_metadata/mock.rs`): plan changes nothing, apply
//! writes the host name, root's keys and the source's own record (once per
//! instance), leaves DNS alone; an absent or foreign endpoint changes
//! nothing and exits 0.

mod common;
#[path = "../src/sources/tencent_metadata/mock.rs"]
mod mock;

use std::net::TcpListener;

use common::metadata_server as server;
use common::{minimal_image, osconf, TempTree};
use mock::{Mock, KEY};

fn image(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    minimal_image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644);
    tree
}

#[test]
fn plan_and_apply_from_tencent_metadata_under_root() {
    let tree = image("tencent-metadata-apply");
    let root = tree.path.to_str().unwrap();
    let (url, _) = Mock::new().serve();
    let from = format!("tencent-metadata={url}");
    let resolv = tree.read("/etc/resolv.conf");

    let before = tree.snapshot();
    let (code, out, err) = osconf(&["plan", "--root", root, "--from", &from]);
    assert_eq!(code, 0, "{out}{err}");
    for shown in ["VM-0-5-centos", "10.0.0.5/24", "secondary address 10.0.0.9/24", "10.0.1.7/24", "table 1001"] {
        assert!(out.contains(shown), "{shown}: {out}");
    }
    assert!(tree.snapshot() == before, "plan changed the tree");

    let (code, out, err) = osconf(&["apply", "--root", root, "--no-live", "--from", &from]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(tree.read("/etc/hostname"), "VM-0-5-centos\n");
    assert!(tree.read("/root/.ssh/authorized_keys").contains(KEY));
    assert_eq!(tree.read("/etc/resolv.conf"), resolv, "the service has no DNS: left alone");
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/tencent-metadata.json")).unwrap();
    assert_eq!(
        (record["from"].as_str(), record["instance_id"].as_str()),
        (Some("tencent-metadata"), Some("ins-3j1ha2pk"))
    );

    // Once per instance: the record (with Tencent's form of instance id) is believed.
    let (code, out, err) = osconf(&["apply", "--root", root, "--no-live", "--from", &from]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("was applied already") && !err.contains("instance_id"), "{err}");

    // Another host name: applied.
    let (url, _) = Mock::new().set("hostname", "VM-0-5-renamed").serve();
    let (code, out, err) =
        osconf(&["apply", "--root", root, "--no-live", "--from", &format!("tencent-metadata={url}")]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(tree.read("/etc/hostname"), "VM-0-5-renamed\n");
}

/// Nothing listening, or a proxy answering `200 ok` to every path: no
/// settings, nothing changes, exit 0; the foreign one is named in a warning.
#[test]
fn an_absent_or_foreign_endpoint_changes_nothing() {
    let tree = image("tencent-metadata-absent");
    let root = tree.path.to_str().unwrap();
    let before = tree.snapshot();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let from = format!("tencent-metadata=http://127.0.0.1:{port}");
    let (code, out, err) = osconf(&["apply", "--root", root, "--no-live", "--from", &from]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(tree.snapshot() == before, "the tree changed");

    let (url, _) = Mock { catch_all: Some("ok"), ..Mock::new() }.serve();
    let (code, out, err) =
        osconf(&["apply", "--root", root, "--no-live", "--from", &format!("tencent-metadata={url}")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains(&format!("metadata endpoint {url}: instance-id: ")), "{err}");
    assert!(err.contains("Tencent Cloud's metadata service") && err.contains("nothing applied"), "{err}");
    assert!(tree.snapshot() == before, "the tree changed");
}
