//! busybox ifupdown, which cannot source interfaces.d (older ones have no
//! `source` at all, 1.35 expands no glob): osconf's stanzas go in
//! a marked block of /etc/network/interfaces, checked with busybox's own
//! `ifup` parser (`busybox ifup -n`, which prints what it would run).

mod common;

use std::process::Command;

use common::*;

const CLASSIC: &str = include_str!("../examples/classic.conf");

fn busybox_image(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    minimal_image(&tree);
    tree.write("/bin/busybox", "", 0o755);
    std::fs::create_dir_all(tree.join("/sbin")).unwrap();
    std::os::unix::fs::symlink("/bin/busybox", tree.join("/sbin/ifup")).unwrap();
    tree.write(
        "/etc/network/interfaces",
        "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n",
        0o644,
    );
    tree
}

/// What busybox's ifup would run for `nic` with this interfaces file.
fn busybox_ifup_dry_run(tree: &TempTree, nic: &str) -> (bool, String) {
    let state = tree.join("/run/ifstate");
    std::fs::create_dir_all(state.parent().unwrap()).unwrap();
    let out = Command::new("busybox")
        .args(["ifup", "-n", "-v", "-f", "-i", tree.join("/etc/network/interfaces").to_str().unwrap(), nic])
        .env("IFSTATE_FILE", &state)
        .output()
        .expect("busybox (busybox-static) is installed");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn stanzas_go_in_one_marked_block_that_busybox_ifup_reads() {
    let tree = busybox_image("busybox");
    tree.write(DROP, CLASSIC, 0o644);
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!tree.exists("/etc/network/interfaces.d/osconf-eth0"), "no interfaces.d files: busybox cannot source them");
    let text = tree.read("/etc/network/interfaces");
    assert!(!text.lines().any(|l| l.starts_with("source")), "{text}");
    assert!(text.contains("#osconf# iface eth0 inet dhcp"), "the image's own eth0 stanza is commented out: {text}");
    assert_eq!(text.matches("# BEGIN osconf").count(), 1, "{text}");
    let (ok, commands) = busybox_ifup_dry_run(&tree, "eth1");
    assert!(ok, "{commands}");
    assert!(commands.contains("ip addr replace 42.120.74.105/24 broadcast + dev eth1"), "{commands}");
    assert!(commands.contains("ip route replace default via 42.120.74.1 dev eth1"), "{commands}");

    // A changed drop replaces the block: one block, eth1 gone.
    let vpc = CLASSIC
        .lines()
        .filter(|l| !l.starts_with("eth1_"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("iZ23r29djmjZ", "vpc-host")
        + "\n";
    tree.write(DROP, &vpc, 0o644);
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let text = tree.read("/etc/network/interfaces");
    assert_eq!(text.matches("# BEGIN osconf").count(), 1, "{text}");
    assert_eq!(text.matches("# END osconf").count(), 1, "{text}");
    assert!(!text.contains("eth1"), "{text}");
    assert!(text.starts_with("auto lo\niface lo inet loopback\n"), "{text}");
    let (ok, commands) = busybox_ifup_dry_run(&tree, "eth0");
    assert!(ok && commands.contains("ip addr replace 10.171.254.123/24"), "{commands}");
}

/// busybox 1.35's ifup knows `source FILE` but expands no glob: the
/// `source /etc/network/interfaces.d/*` other ifupdowns use fails it.
#[test]
fn busybox_ifup_fails_on_sourcing_interfaces_d_which_is_why_the_block_exists() {
    let tree = busybox_image("busybox-source");
    tree.write(
        "/etc/network/interfaces",
        "source /etc/network/interfaces.d/*\nauto lo\niface lo inet loopback\n",
        0o644,
    );
    let (ok, output) = busybox_ifup_dry_run(&tree, "lo");
    assert!(!ok && output.contains("interfaces.d/*"), "busybox ifup accepted `source`: {output}");
}

#[test]
fn check_says_where_the_stanzas_go() {
    let tree = busybox_image("busybox-check");
    let (_, out, _) = osconf(&["check", "--root", tree.path.to_str().unwrap()]);
    assert!(out.contains("marked block in /etc/network/interfaces"), "{out}");
}

/// busybox's ifup has no hook that creates a bond or a VLAN: cloud-init's
/// bond sample leaves the bond, its members and its VLANs out with a
/// warning naming each and the stack, and the apply still succeeds; beside
/// a VLAN on it, a static NIC still gets its stanza, which busybox reads.
#[test]
fn bonds_and_vlans_are_left_out_with_a_warning_and_the_rest_applies() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openstack/cloud-init");
    let meta = std::fs::read_to_string(fixtures.join("vlan/meta_data.json")).unwrap();
    let vlan_on_static = r#"{"links": [
        {"id": "eth0", "type": "phy", "ethernet_mac_address": "fa:16:3e:69:b0:58"},
        {"id": "vlan1", "type": "vlan", "vlan_id": 602, "vlan_link": "eth0", "vlan_mac_address": "fa:16:3e:69:b0:58"}],
      "networks": [
        {"link": "eth0", "type": "ipv4", "ip_address": "10.0.0.5", "netmask": "255.255.255.0",
         "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.0.1"}]},
        {"link": "vlan1", "type": "ipv4", "ip_address": "10.0.1.5", "netmask": "255.255.255.248"}]}"#;
    let bond = std::fs::read_to_string(fixtures.join("bond/network_data.json")).unwrap();
    let cases: [(&str, &str, &[&str], Option<&str>); 2] = [
        ("bond", &bond, &["VLAN: bond0.602", "VLAN: bond0.612", "bond: eth2, a member of bond0,", "bond: bond0"], None),
        ("vlan", vlan_on_static, &["VLAN: eth0.602"], Some("eth0")),
    ];
    for (name, network_data, left_out, kept) in cases {
        let tree = busybox_image(&format!("busybox-{name}"));
        let drive = TempTree::new(&format!("busybox-drive-{name}"));
        drive.write("/openstack/latest/meta_data.json", &meta, 0o644);
        drive.write("/openstack/latest/network_data.json", network_data, 0o644);
        let from = format!("openstack-drive={}", drive.path.display());
        let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--no-live", "--from", &from]);
        assert_eq!(code, 0, "{out}{err}");
        for device in left_out {
            let warning =
                format!("ifupdown: /sbin/ifup is busybox: busybox's ifup cannot create a {device} is left out");
            assert!(err.contains(&warning), "{warning}\n{err}");
        }
        let text = tree.read("/etc/network/interfaces");
        assert!(!text.contains("vlan-raw-device") && !text.contains("bond-"), "{text}");
        if let Some(nic) = kept {
            let (ok, commands) = busybox_ifup_dry_run(&tree, nic);
            assert!(ok, "{commands}");
            assert!(commands.contains(&format!("ip addr replace 10.0.0.5/24 broadcast + dev {nic}")), "{commands}");
        }
    }
}
