//! Settings in which no NIC carries a default route (a drop without any
//! gateway, metadata without `gateway`) must not take away the default
//! route the instance has: neither the image's own (a DHCP stanza osconf
//! would comment out) nor one osconf set before. The network is left as it
//! is, with a warning; host name and name servers still apply. Judged with
//! ifupdown's own `ifquery` on the files.

mod common;

use std::process::Command;

use common::*;

const DHCP_IMAGE: &str = "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n";
const NO_GATEWAY: &str = "hostname=no-gateway\neth0_mac_addr=00:16:3e:00:00:01\neth0_ip_addr=172.16.1.10\neth0_netmask=255.255.240.0\ndns_nameserver=100.100.2.136\n";
const WITH_GATEWAY: &str = "hostname=with-gateway\neth0_mac_addr=00:16:3e:00:00:01\neth0_ip_addr=172.16.1.10\neth0_netmask=255.255.240.0\neth0_gateway=172.16.15.253\n";

fn ifupdown_image(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    minimal_image(&tree);
    tree.write("/sbin/ifup", "#!/bin/sh\n", 0o755);
    tree.write("/etc/network/interfaces", DHCP_IMAGE, 0o644);
    tree
}

fn apply(tree: &TempTree) -> (i32, String, String) {
    osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--no-live"])
}

/// The interfaces ifupdown brings up on hotplug, by its own parser.
fn hotplug(tree: &TempTree) -> String {
    let out = Command::new("ifquery")
        .args(["-i"])
        .arg(tree.join("/etc/network/interfaces"))
        .args(["--list", "--allow=hotplug"])
        .output()
        .expect("ifquery (ifupdown) is installed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_drop_without_a_default_route_keeps_the_images_dhcp() {
    let tree = ifupdown_image("noroute-dhcp");
    tree.write(DROP, NO_GATEWAY, 0o644);
    let (code, out, err) = apply(&tree);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("no NIC carries a default route") && err.contains("eth0 (00:16:3e:00:00:01)"), "{err}");
    assert_eq!(tree.read("/etc/network/interfaces"), DHCP_IMAGE);
    assert_eq!(hotplug(&tree), "eth0\n", "ifupdown still brings eth0 up with DHCP");
    assert!(!tree.exists("/etc/network/interfaces.d/osconf-eth0"));
    // The rest applies.
    assert_eq!(tree.read("/etc/hostname"), "no-gateway\n");
    assert!(tree.read("/etc/resolv.conf").contains("nameserver 100.100.2.136"));
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();
    assert_eq!(record["nics"], serde_json::json!([]));
}

#[test]
fn a_drop_without_a_default_route_keeps_the_one_osconf_set() {
    let tree = ifupdown_image("noroute-kept");
    tree.write(DROP, WITH_GATEWAY, 0o644);
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 0, "{err}");
    let stanza = tree.read("/etc/network/interfaces.d/osconf-eth0");
    assert!(stanza.contains("up ip route replace default via 172.16.15.253 dev eth0"), "{stanza}");
    let record_before: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();

    tree.write(DROP, NO_GATEWAY, 0o644);
    let (code, out, err) = osconf(&["plan", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("- route 0.0.0.0/0"), "the plan must not remove the default route:\n{out}");
    assert!(err.contains("left as osconf set it before"), "{err}");
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 0, "{err}");
    let after = tree.read("/etc/network/interfaces.d/osconf-eth0");
    assert!(
        after.contains("up ip route replace default via 172.16.15.253 dev eth0"),
        "the stanza keeps its default route:\n{after}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-drop.json")).unwrap();
    assert_eq!(record["nics"], record_before["nics"], "the record still holds the default route osconf set");
    assert_eq!(tree.read("/etc/hostname"), "no-gateway\n");
}

#[test]
fn a_drop_with_a_default_route_still_takes_the_nic_over() {
    let tree = ifupdown_image("route-takes-over");
    tree.write(DROP, WITH_GATEWAY, 0o644);
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("no NIC carries a default route"), "{err}");
    assert_eq!(hotplug(&tree), "", "the image's DHCP stanza for eth0 is commented out");
    assert!(tree.exists("/etc/network/interfaces.d/osconf-eth0"));
}

#[test]
fn settings_without_any_nic_keep_the_default_route_osconf_set() {
    let tree = ifupdown_image("noroute-nonic");
    tree.write(DROP, WITH_GATEWAY, 0o644);
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 0, "{err}");
    let stanza = tree.read("/etc/network/interfaces.d/osconf-eth0");
    tree.write(DROP, "hostname=only-a-name\n", 0o644);
    let (code, out, err) = osconf(&["plan", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("- route") && !out.contains("remove /etc/network"), "{out}");
    let (code, _, err) = apply(&tree);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no NIC carries a default route"), "{err}");
    assert_eq!(tree.read("/etc/network/interfaces.d/osconf-eth0"), stanza);
    assert_eq!(tree.read("/etc/hostname"), "only-a-name\n");
}
