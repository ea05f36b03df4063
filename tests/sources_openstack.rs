//! The OpenStack sources through the binary under `--root` (issue 24):
//! `--from openstack-drive=DIR`, `=ISO` (made by genisoimage as Nova makes
//! a config drive) and `--from openstack-metadata=URL` (a service on
//! loopback that this test runs). Apply sets the host name, root's key and
//! password, and records the uuid; the same instance is applied once, a new
//! uuid (an image made from this instance, booted anew) applies again.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3grApp1u6rYY7lRUREvN8ueKICW1v5WXml8QdH9WZh alice@example";
const UUID: &str = "ca9e8b7c-f2be-4b6d-a639-f10b4d994d04";

fn root(tree: &TempTree) -> &str {
    tree.path.to_str().unwrap()
}

fn meta_data(uuid: &str) -> String {
    serde_json::json!({"uuid": uuid, "hostname": "ecs-ddd4.novalocal", "public_keys": {"mykey": KEY},
                       "admin_pass": "Op3nStack!pw", "meta": {"admin_pass": ""}})
    .to_string()
}

/// An image with root in /etc/passwd (for its keys).
fn image(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    minimal_image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644);
    tree
}

/// A config drive's content at `/drive` in `tree`, and its ISO 9660 image.
fn drive(tree: &TempTree, uuid: &str) -> (PathBuf, PathBuf) {
    tree.write("/drive/openstack/latest/meta_data.json", &meta_data(uuid), 0o644);
    let network = include_str!("fixtures/openstack/afterburn/ibmcloud-classic/network_data.json");
    tree.write("/drive/openstack/latest/network_data.json", network, 0o644);
    let iso = tree.join(&format!("/config-2-{uuid}.iso"));
    let status = Command::new("genisoimage")
        .args(["-quiet", "-J", "-r", "-V", "config-2", "-o"])
        .arg(&iso)
        .arg(tree.join("/drive"))
        .status()
        .expect("genisoimage (tests/install-deps.sh installs it)");
    assert!(status.success());
    (tree.join("/drive"), iso)
}

fn from(place: &Path) -> String {
    format!("openstack-drive={}", place.display())
}

fn apply(tree: &TempTree, from: &str) -> (i32, String, String) {
    osconf(&["apply", "--root", root(tree), "--no-live", "--from", from])
}

fn assert_applied(tree: &TempTree, source: &str, uuid: &str) {
    assert_eq!(tree.read("/etc/hostname"), "ecs-ddd4\n");
    assert!(
        tree.read("/etc/hosts").contains("\tecs-ddd4.novalocal ecs-ddd4\t# managed by osconf"),
        "{}",
        tree.read("/etc/hosts")
    );
    assert!(tree.read("/root/.ssh/authorized_keys").contains(KEY), "{}", tree.read("/root/.ssh/authorized_keys"));
    let shadow = tree.read("/etc/shadow");
    let hash = shadow.lines().find_map(|l| l.strip_prefix("root:")).unwrap().split(':').next().unwrap();
    assert!(hash.starts_with("$6$") && crypt_matches("Op3nStack!pw", hash), "{shadow}");
    let record: serde_json::Value =
        serde_json::from_str(&tree.read(&format!("/var/lib/osconf/records/{source}.json"))).unwrap();
    assert_eq!((record["from"].as_str(), record["instance_id"].as_str()), (Some(source), Some(uuid)));
    assert!(!record.to_string().contains("Op3nStack"), "the password is never recorded");
}

#[test]
fn a_drive_as_a_directory_then_as_an_iso_image() {
    let tree = image("openstack-drive");
    let (dir, iso) = drive(&tree, UUID);
    let (code, out, err) = osconf(&["plan", "--root", root(&tree), "--from", &from(&dir)]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("ecs-ddd4") && out.contains("records/openstack-drive.json"), "{out}");
    assert!(!out.contains("Op3nStack"), "the password is never shown: {out}");
    // IBM Cloud's network_data.json: the link with the default route is eth0.
    for line in [
        "eth0 (MAC 06:f6:71:3b:64:01): 133.133.209.229/28, gateway 133.133.209.225",
        "eth1 (MAC 06:52:db:01:ff:d9): 10.135.202.146/26",
        "route 166.8.0.0/14 via 10.135.202.129",
        "name servers: 10.0.80.11 10.0.80.12",
    ] {
        assert!(out.contains(line), "{line}\nnot in:\n{out}");
    }
    let (code, _, err) = apply(&tree, &from(&dir));
    assert_eq!(code, 0, "{err}");
    assert_applied(&tree, "openstack-drive", UUID);
    assert!(tree.exists("/drive/openstack/latest/meta_data.json"), "a drive is never written");
    // The same drive as an ISO image: the same instance, applied already.
    let shadow = tree.read("/etc/shadow");
    let (code, _, err) = apply(&tree, &from(&iso));
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied already"), "{err}");
    assert_eq!(tree.read("/etc/shadow"), shadow);
    // A new instance (a new uuid): applied again, a new password hash.
    let (_, iso) = drive(&tree, "0a4e1b38-4f63-4b1e-9a9f-000000000002");
    let (code, _, err) = apply(&tree, &from(&iso));
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("applied already"), "{err}");
    assert_applied(&tree, "openstack-drive", "0a4e1b38-4f63-4b1e-9a9f-000000000002");
    assert_ne!(tree.read("/etc/shadow"), shadow, "a new salt");
}

#[test]
fn password_no_leaves_the_root_password() {
    let tree = image("openstack-drive-nopw");
    let (dir, _) = drive(&tree, UUID);
    tree.write("/etc/osconf/osconf.conf", "[source.openstack-drive]\npassword = no\n", 0o644);
    let (code, _, err) = apply(&tree, &from(&dir));
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/etc/hostname"), "ecs-ddd4\n");
    assert!(tree.read("/etc/shadow").starts_with("root:*:"), "{}", tree.read("/etc/shadow"));
}

/// An OpenStack metadata service on loopback: meta_data.json, and 404 for
/// everything else.
fn service(uuid: &'static str) -> String {
    let answer = move |line: &str, _: &str| match line {
        "GET /openstack/latest/meta_data.json HTTP/1.1" => (200, meta_data(uuid)),
        _ => (404, String::new()),
    };
    common::metadata_server::Server::default().serve(std::sync::Arc::new(answer)).0
}

#[test]
fn the_metadata_service() {
    let tree = image("openstack-metadata");
    let from = format!("openstack-metadata={}", service(UUID));
    let (code, _, err) = apply(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert_applied(&tree, "openstack-metadata", UUID);
    let (code, _, err) = apply(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied already"), "{err}");
    let from = format!("openstack-metadata={}", service("0a4e1b38-4f63-4b1e-9a9f-000000000003"));
    let (code, _, err) = apply(&tree, &from);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("applied already"), "{err}");
    assert_applied(&tree, "openstack-metadata", "0a4e1b38-4f63-4b1e-9a9f-000000000003");
}

/// `[source.openstack-*] password = yes | no` (default yes); other
/// sources do not take the key; both sources sit where the issue puts them.
#[test]
fn the_password_key_and_the_registry_order() {
    use osconf::config::{Config, Enabled};
    use osconf::sources::{by_name, SOURCES};
    let config = Config::parse(
        "[source.openstack-drive]\npassword = no\n[source.openstack-metadata]\npassword = yes\nurl = http://127.0.0.1:9\n\
         [source.alibaba-drop]\npassword = no\n",
    )
    .unwrap();
    let section = |name: &str| config.source(by_name(name).unwrap());
    assert!(!section("openstack-drive").password);
    assert!(section("openstack-metadata").password);
    assert_eq!(section("openstack-metadata").url, "http://127.0.0.1:9");
    assert_eq!(section("alibaba-drop"), by_name("alibaba-drop").unwrap().defaults(), "a key it does not take");
    let e = Config::parse("[source.openstack-drive]\npassword = maybe\n").unwrap_err();
    assert!(e.contains("[source.openstack-drive] password") && e.contains("yes or no"), "{e}");
    let defaults = Config::default();
    assert!(defaults.source(by_name("openstack-drive").unwrap()).password);
    assert!(defaults.source(by_name("openstack-metadata").unwrap()).password);
    assert_eq!(defaults.source(by_name("openstack-drive").unwrap()).enabled, Enabled::Yes);
    assert_eq!(defaults.source(by_name("openstack-metadata").unwrap()).enabled, Enabled::Auto);
    let names: Vec<&str> = SOURCES.iter().map(|s| s.name()).collect();
    let at = |name: &str| names.iter().position(|n| *n == name).unwrap();
    assert_eq!(at("openstack-drive"), at("tencent-cdrom") + 1, "{names:?}");
    // After every local medium: a drive wins over any network service.
    let last_local = SOURCES.iter().rposition(|s| s.network_of().is_none()).unwrap();
    assert!(at("openstack-metadata") > last_local.max(at("alibaba-metadata")), "{names:?}");
}

/// The osconf.conf the packages install says the defaults, the OpenStack
/// sections included.
#[test]
fn the_packaged_osconf_conf_holds_the_defaults() {
    let config = osconf::config::Config::parse(include_str!("../packaging/osconf.conf")).unwrap();
    for source in osconf::sources::SOURCES {
        assert_eq!(config.source(*source), source.defaults(), "{}", source.name());
    }
    assert!(include_str!("../packaging/osconf.conf").contains("[source.openstack-metadata]"));
}
