//! The config drive as a directory and as an ISO 9660 image made as Nova
//! makes one (`genisoimage -J -r -V config-2`): which version is read, what
//! is optional, what is refused, and that nothing is ever deleted.

use std::path::{Path, PathBuf};

use super::*;
use crate::files::Root;
use crate::settings::ssh_key::tests::ED25519;
use crate::sources::Access;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("osconf-openstack-drive-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    fn write(&self, relative: &str, content: &str) {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// The directory as an ISO 9660 image labelled `config-2`, beside it.
    fn iso(&self) -> PathBuf {
        let image = self.0.with_extension("iso");
        let status = std::process::Command::new("genisoimage")
            .args(["-quiet", "-J", "-r", "-V", "config-2", "-o"])
            .arg(&image)
            .arg(&self.0)
            .status()
            .expect("genisoimage (tests/install-deps.sh installs it)");
        assert!(status.success());
        image
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("iso"));
    }
}

fn meta(uuid: &str, hostname: &str) -> String {
    serde_json::json!({"uuid": uuid, "hostname": hostname, "public_keys": {"k": ED25519}, "admin_pass": "pw"})
        .to_string()
}

const NETWORK: &str = r#"{"links": [{"id": "l", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01"}],
  "networks": [{"link": "l", "type": "ipv4", "ip_address": "10.0.0.5", "netmask": "255.255.255.0",
                "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}]}],
  "services": [{"type": "dns", "address": "10.0.0.2"}]}"#;

fn find_at(place: &Path, config: &SourceConfig) -> Result<Option<Found>, Error> {
    let root = Root::new("/nonexistent-root");
    let context = Context { root: &root, access: Access::ReadWrite, cloud: None };
    OpenstackDrive.find_at(place.as_os_str(), &context, config)
}

fn typed(found: &Found) -> &Typed {
    found.typed().expect("typed settings")
}

#[test]
fn a_directory_and_its_iso_image_give_the_same_settings() {
    let drive = Scratch::new("same");
    drive.write("openstack/latest/meta_data.json", &meta("11111111-2222-3333-4444-555555555555", "vm1.novalocal"));
    drive.write("openstack/latest/network_data.json", NETWORK);
    drive.write("openstack/latest/user_data", "#!/bin/sh\n");
    let before = crate::files::Root::new(&drive.0).path("/");
    let from_dir = find_at(&drive.0, &SourceConfig::default()).unwrap().unwrap();
    let iso = drive.iso();
    let from_iso = find_at(&iso, &SourceConfig::default()).unwrap().unwrap();
    for found in [&from_dir, &from_iso] {
        let typed = typed(found);
        assert_eq!(found.source, "openstack-drive");
        assert_eq!(typed.instance_id.as_deref(), Some("11111111-2222-3333-4444-555555555555"));
        assert_eq!(typed.settings.hostname.as_deref(), Some("vm1"));
        assert_eq!(typed.settings.nics.len(), 1);
        assert_eq!(typed.settings.nics[0].gateway, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(typed.settings.nameservers, ["10.0.0.2".parse::<std::net::IpAddr>().unwrap()]);
        assert_eq!(typed.settings.ssh_keys.as_ref().map(Vec::len), Some(1));
        assert!(typed.settings.password.is_some());
        assert!((found.delete_after.is_none() && found.drop_dir.is_none()), "read-only: nothing deleted");
        assert!(found.description.ends_with("openstack/latest"), "{}", found.description);
    }
    assert_eq!(*from_dir.content, *from_iso.content, "the same canonical bytes, so the same digest");
    // Nothing on the drive was touched.
    assert!(before.join("openstack/latest/meta_data.json").is_file());
}

#[test]
fn latest_wins_else_the_newest_dated_version() {
    let drive = Scratch::new("versions");
    drive.write("openstack/2012-08-10/meta_data.json", &meta("old-uuid", "old"));
    drive.write("openstack/2016-06-30/meta_data.json", &meta("newer-uuid", "newer"));
    drive.write("openstack/2013-10-17/meta_data.json", &meta("middle-uuid", "middle"));
    let iso = drive.iso();
    for place in [drive.0.clone(), iso] {
        let found = find_at(&place, &SourceConfig::default()).unwrap().unwrap();
        assert_eq!(typed(&found).instance_id.as_deref(), Some("newer-uuid"), "{}", place.display());
        assert!(found.description.ends_with("openstack/2016-06-30"), "{}", found.description);
        assert_eq!(typed(&found).settings.nics, [], "no network_data.json: the network is left alone");
    }
    drive.write("openstack/latest/meta_data.json", &meta("latest-uuid", "latest"));
    let found = find_at(&drive.0, &SourceConfig::default()).unwrap().unwrap();
    assert_eq!(typed(&found).instance_id.as_deref(), Some("latest-uuid"));
}

#[test]
fn the_password_switch_and_what_is_refused() {
    let drive = Scratch::new("refused");
    drive.write("openstack/latest/meta_data.json", &meta("u-1", "host"));
    let off = SourceConfig { password: false, ..SourceConfig::default() };
    let found = find_at(&drive.0, &off).unwrap().unwrap();
    assert_eq!(typed(&found).settings.password, None);

    // No OpenStack tree: a usage error naming the place.
    let empty = Scratch::new("empty");
    let e = find_at(&empty.0, &SourceConfig::default()).unwrap_err().to_string();
    assert!(e.contains("no openstack/*/meta_data.json there"), "{e}");
    // A plain file is neither a drive nor an image.
    drive.write("plain", "x");
    let e = find_at(&drive.0.join("plain"), &SourceConfig::default()).unwrap_err().to_string();
    assert!(e.contains("neither a directory, a device nor an ISO 9660 image"), "{e}");
    // meta_data.json without a uuid, or not JSON: invalid, nothing applied.
    drive.write("openstack/latest/meta_data.json", "{\"hostname\": \"h\"}");
    let e = find_at(&drive.0, &SourceConfig::default()).unwrap_err().to_string();
    assert!(e.contains("no uuid"), "{e}");
    // A symbolic link on the drive is not followed.
    let link = Scratch::new("link");
    std::fs::create_dir_all(link.0.join("openstack")).unwrap();
    std::os::unix::fs::symlink(drive.0.join("openstack/latest"), link.0.join("openstack/latest")).unwrap();
    assert!(find_at(&link.0, &SourceConfig::default()).is_err());
    // A huge file is refused, not read whole.
    drive.write("openstack/latest/meta_data.json", &" ".repeat(MAX_JSON_BYTES + 1));
    let e = find_at(&drive.0, &SourceConfig::default()).unwrap_err().to_string();
    assert!(e.contains("larger than"), "{e}");
}

/// Hostile JSON on a drive: an error or warnings, never a panic.
#[test]
fn hostile_json_on_a_drive() {
    let drive = Scratch::new("hostile");
    drive.write("openstack/latest/meta_data.json", &format!("{}{}", "[".repeat(50_000), "]".repeat(50_000)));
    assert!(find_at(&drive.0, &SourceConfig::default()).is_err());
    drive.write("openstack/latest/meta_data.json", r#"{"uuid": "u-2", "hostname": 1e400}"#);
    assert!(find_at(&drive.0, &SourceConfig::default()).is_err());
    drive.write(
        "openstack/latest/meta_data.json",
        r#"{"uuid": "u-2", "hostname": {"a": [1, 2]}, "keys": 99999999999999999999999}"#,
    );
    drive.write(
        "openstack/latest/network_data.json",
        r#"{"links": [{"id": {}, "ethernet_mac_address": 5}], "networks": [{"link": 1}]}"#,
    );
    let found = find_at(&drive.0, &SourceConfig::default()).unwrap().unwrap();
    assert_eq!(
        typed(&found).warnings,
        [
            "meta_data.json: hostname: not a string: ignored",
            "meta_data.json: keys: not a list: ignored",
            "network_data.json: links[0]: no id: ignored",
            "network_data.json: networks[0].link: missing or not a string: network ignored",
        ]
    );
}

/// Under `--root DIR` nothing is looked for: an image tree has no drive.
#[test]
fn an_image_tree_has_no_drive() {
    let root = Root::new("/nonexistent-root");
    let context = Context { root: &root, access: Access::ReadOnly, cloud: None };
    assert!(OpenstackDrive.find(&context, &SourceConfig::default()).unwrap().is_none());
}
