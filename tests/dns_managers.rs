//! A resolv.conf that links to NetworkManager's or netconfig's file stays
//! that link; the name servers go to that manager (issue 13, point 6), and
//! go away again when a later drop sets none.

mod common;

use std::process::Command;

use common::*;

const CLASSIC: &str = include_str!("../examples/classic.conf");

fn apply(tree: &TempTree, drop: &str) {
    tree.write(DROP, drop, 0o644);
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--no-live"]);
    assert_eq!(code, 0, "{out}{err}");
}

fn link_resolv_conf(tree: &TempTree, target: &str) {
    std::fs::remove_file(tree.join("/etc/resolv.conf")).unwrap();
    std::os::unix::fs::symlink(target, tree.join("/etc/resolv.conf")).unwrap();
}

fn resolv_target(tree: &TempTree) -> String {
    std::fs::read_link(tree.join("/etc/resolv.conf"))
        .expect("resolv.conf is still a link")
        .to_string_lossy()
        .into_owned()
}

fn without_dns() -> String {
    CLASSIC.lines().filter(|l| !l.starts_with("dns_nameserver=")).map(|l| format!("{l}\n")).collect()
}

/// NetworkManager's own reading of the tree's configuration.
fn networkmanager_config(tree: &TempTree) -> String {
    let out = Command::new("NetworkManager")
        .arg(format!("--config={}", tree.join("/etc/NetworkManager/NetworkManager.conf").display()))
        .arg(format!("--config-dir={}", tree.join("/etc/NetworkManager/conf.d").display()))
        .arg(format!("--system-config-dir={}", tree.join("/usr/lib/NetworkManager/conf.d").display()))
        .arg("--print-config")
        .output()
        .expect("NetworkManager (Debian network-manager) is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn networkmanagers_resolv_conf_gets_the_servers_through_nm_global_dns() {
    let tree = TempTree::new("dns-nm");
    minimal_image(&tree);
    tree.write("/etc/NetworkManager/NetworkManager.conf", "[main]\nplugins=keyfile\n", 0o644);
    link_resolv_conf(&tree, "/run/NetworkManager/resolv.conf");
    apply(&tree, CLASSIC);
    assert_eq!(resolv_target(&tree), "/run/NetworkManager/resolv.conf");
    let config = networkmanager_config(&tree);
    assert!(
        config.contains("[global-dns-domain-*]\nservers=7.7.7.7,8.8.8.8\n"),
        "NetworkManager does not read the servers:\n{config}"
    );

    apply(&tree, &without_dns());
    assert_eq!(resolv_target(&tree), "/run/NetworkManager/resolv.conf");
    assert!(!networkmanager_config(&tree).contains("global-dns"), "osconf's servers are still configured");
}

#[test]
fn netconfigs_resolv_conf_gets_the_servers_through_its_static_setting() {
    let tree = TempTree::new("dns-netconfig");
    minimal_image(&tree);
    let config = "## Path: System/Network\nNETCONFIG_DNS_POLICY=\"auto\"\nNETCONFIG_DNS_STATIC_SEARCHLIST=\"example.internal\"\nNETCONFIG_DNS_STATIC_SERVERS=\"192.0.2.53\"\nNETCONFIG_NTP_POLICY=\"auto\"\n";
    tree.write("/etc/sysconfig/network/config", config, 0o644);
    link_resolv_conf(&tree, "/run/netconfig/resolv.conf");
    apply(&tree, CLASSIC);
    assert_eq!(resolv_target(&tree), "/run/netconfig/resolv.conf");
    let edited = tree.read("/etc/sysconfig/network/config");
    assert_eq!(edited, config.replace("\"192.0.2.53\"", "\"7.7.7.7 8.8.8.8\""), "one line changed, every other kept");
    // netconfig sources the file with the shell: what it reads.
    let sourced = Command::new("sh")
        .arg("-c")
        .arg(". \"$1\"; printf '%s|%s' \"$NETCONFIG_DNS_STATIC_SERVERS\" \"$NETCONFIG_DNS_POLICY\"")
        .arg("sh")
        .arg(tree.join("/etc/sysconfig/network/config"))
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&sourced.stdout), "7.7.7.7 8.8.8.8|auto");

    apply(&tree, &without_dns());
    assert_eq!(tree.read("/etc/sysconfig/network/config"), config, "the image's own servers come back");
    assert_eq!(resolv_target(&tree), "/run/netconfig/resolv.conf");
}
