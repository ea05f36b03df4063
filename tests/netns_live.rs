//! Live network configuration against the real kernel, each test inside a
//! network namespace of its own (veth pairs with fixed MACs stand in for the
//! NICs). Needs root: it fails, rather than skips, without it.

use std::process::Command;
use std::time::Duration;

use osconf::apply::network_live::{apply, changes};
use osconf::settings::{PasswordForm, Settings};

const CHILD: &str = "OSCONF_NETNS_CHILD";

/// In the parent: re-runs this one test in a new network namespace and checks
/// that it passed, returning false. In that child: returns true.
fn isolated(test: &str) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    assert!(nix::unistd::geteuid().is_root(), "the netns tests need root (network namespaces): run them with sudo");
    let exe = std::env::current_exe().unwrap();
    let out = Command::new("unshare")
        .args(["--net", "--uts", "--"])
        .arg(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} failed in its namespace:\n{text}");
    assert!(text.contains("1 passed"), "{test} did not run in its namespace:\n{text}");
    false
}

fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A NIC stand-in: veth `name` with `mac`, its peer up so the link has carrier.
fn veth(name: &str, mac: &str) {
    sh(&["ip", "link", "add", name, "type", "veth", "peer", "name", &format!("{name}p")]);
    sh(&["ip", "link", "set", "dev", name, "address", mac]);
    sh(&["ip", "link", "set", "dev", &format!("{name}p"), "up"]);
}

/// `name address/prefix` for every IPv4 address on our test links.
fn addresses() -> Vec<String> {
    let text = sh(&["ip", "-4", "-o", "addr", "show"]);
    let mut out: Vec<String> = text
        .lines()
        .filter(|l| !l.contains(" lo "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            format!("{} {}", f[1], f[3])
        })
        .collect();
    out.sort();
    out
}

/// The main table's IPv4 routes, as `ip route` prints them.
fn routes() -> Vec<String> {
    let mut out: Vec<String> = sh(&["ip", "-4", "route", "show", "table", "main"]).lines().map(|l| l.trim().to_owned()).collect();
    out.sort();
    out
}

fn settings(drop: &str) -> Settings {
    Settings::from_drop(drop.as_bytes(), PasswordForm::Base64Plain).unwrap()
}

const WAIT: Duration = Duration::from_secs(2);

const VPC: &str = "eth0_ip_addr=192.168.50.10\neth0_mac_addr=52:54:00:12:34:56\neth0_netmask=255.255.255.0\neth0_gateway=192.168.50.1\neth0_route=\"0.0.0.0/0 192.168.50.1\"\n";
const CLASSIC: &str = "eth0_ip_addr=10.171.254.123\neth0_mac_addr=52:54:00:12:34:56\neth0_netmask=255.255.255.0\neth0_gateway=10.171.254.1\n\
eth0_route=\"10.0.0.0/8 10.171.254.1;172.16.0.0/12 10.171.254.1\"\n\
eth1_ip_addr=192.0.2.105\neth1_mac_addr=52:54:00:12:34:57\neth1_netmask=255.255.255.0\neth1_gateway=192.0.2.1\neth1_route=\"0.0.0.0/0 192.0.2.1\"\n";

fn two_nics() {
    // Kernel names differ from the drop's ethN on purpose: matching is by MAC.
    veth("ens3", "52:54:00:12:34:56");
    veth("enp0s4", "52:54:00:12:34:57");
}

#[test]
fn vpc_sets_address_and_default_route() {
    if !isolated("vpc_sets_address_and_default_route") {
        return;
    }
    two_nics();
    let s = settings(VPC);
    apply(&s.nics, &[], WAIT).unwrap();
    assert_eq!(addresses(), ["ens3 192.168.50.10/24"]);
    assert_eq!(routes(), ["192.168.50.0/24 dev ens3 proto kernel scope link src 192.168.50.10", "default via 192.168.50.1 dev ens3 proto static"]);
    assert!(sh(&["ip", "link", "show", "ens3"]).contains(",UP"));
}

#[test]
fn classic_sets_intranet_routes_on_eth0_and_default_on_eth1() {
    if !isolated("classic_sets_intranet_routes_on_eth0_and_default_on_eth1") {
        return;
    }
    two_nics();
    apply(&settings(CLASSIC).nics, &[], WAIT).unwrap();
    assert_eq!(addresses(), ["enp0s4 192.0.2.105/24", "ens3 10.171.254.123/24"]);
    assert_eq!(
        routes(),
        [
            "10.0.0.0/8 via 10.171.254.1 dev ens3 proto static",
            "10.171.254.0/24 dev ens3 proto kernel scope link src 10.171.254.123",
            "172.16.0.0/12 via 10.171.254.1 dev ens3 proto static",
            "192.0.2.0/24 dev enp0s4 proto kernel scope link src 192.0.2.105",
            "default via 192.0.2.1 dev enp0s4 proto static",
        ]
    );
}

#[test]
fn many_nics_with_many_routes_and_reapply_is_a_no_op() {
    if !isolated("many_nics_with_many_routes_and_reapply_is_a_no_op") {
        return;
    }
    // More routes (10 x 8) than requests in flight at once (32): the pipeline refills.
    let mut drop = String::new();
    for n in 0..10u32 {
        veth(&format!("nic{n}"), &format!("52:54:00:aa:00:{n:02x}"));
        let routes: Vec<String> = (0..8).map(|r| format!("172.{}.{n}.0/24 10.{n}.0.1", 16 + r)).collect();
        drop += &format!("eth{n}_ip_addr=10.{n}.0.5\neth{n}_mac_addr=52:54:00:aa:00:{n:02x}\neth{n}_netmask=255.255.0.0\neth{n}_gateway=10.{n}.0.1\neth{n}_route=\"{}\"\n", routes.join(";"));
    }
    let s = settings(&drop);
    apply(&s.nics, &[], WAIT).unwrap();
    let (addrs, table) = (addresses(), routes());
    assert_eq!(addrs.len(), 10);
    assert_eq!(table.len(), 10 + 10 * 8 + 1, "{table:#?}");
    assert!(table.iter().any(|r| r == "172.23.9.0/24 via 10.9.0.1 dev nic9 proto static"));
    // eth1 is present (a "classic" layout) and its gateway gives the default route.
    assert_eq!(table.iter().filter(|r| r.starts_with("default")).collect::<Vec<_>>(), ["default via 10.1.0.1 dev nic1 proto static"]);
    // Again, with the record saying we set it: nothing changes, no EEXIST.
    assert_eq!(changes(&s.nics, &s.nics), vec![]);
    apply(&s.nics, &s.nics, WAIT).unwrap();
    assert_eq!((addresses(), routes()), (addrs, table));
}

#[test]
fn a_changed_drop_reconciles_and_leaves_foreign_settings_alone() {
    if !isolated("a_changed_drop_reconciles_and_leaves_foreign_settings_alone") {
        return;
    }
    two_nics();
    // Set by someone else: must survive.
    sh(&["ip", "link", "set", "enp0s4", "up"]);
    sh(&["ip", "addr", "add", "198.51.100.7/24", "dev", "enp0s4"]);
    let classic = settings(CLASSIC);
    apply(&classic.nics, &[], WAIT).unwrap();
    // Classic → VPC with a new address on eth0.
    let vpc = settings(&VPC.replace("192.168.50", "10.171.254").replace(".10\n", ".124\n"));
    apply(&vpc.nics, &classic.nics, WAIT).unwrap();
    assert_eq!(addresses(), ["enp0s4 198.51.100.7/24", "ens3 10.171.254.124/24"]);
    assert_eq!(
        routes(),
        [
            "10.171.254.0/24 dev ens3 proto kernel scope link src 10.171.254.124",
            "198.51.100.0/24 dev enp0s4 proto kernel scope link src 198.51.100.7",
            "default via 10.171.254.1 dev ens3 proto static",
        ]
    );
}

#[test]
fn a_missing_nic_fails_naming_its_mac_and_changes_nothing() {
    if !isolated("a_missing_nic_fails_naming_its_mac_and_changes_nothing") {
        return;
    }
    veth("ens3", "52:54:00:12:34:56");
    let before = (addresses(), routes());
    let error = apply(&settings(CLASSIC).nics, &[], Duration::from_millis(300)).unwrap_err();
    assert!(error.to_string().contains("eth1 (MAC 52:54:00:12:34:57)"), "{error}");
    assert_eq!((addresses(), routes()), before);
    assert!(!sh(&["ip", "link", "show", "ens3"]).contains(",UP"));
}

#[test]
fn a_late_nic_is_waited_for() {
    if !isolated("a_late_nic_is_waited_for") {
        return;
    }
    let late = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_millis(300));
        veth("ens3", "52:54:00:12:34:56");
    });
    apply(&settings(VPC).nics, &[], WAIT).unwrap();
    late.join().unwrap();
    assert_eq!(addresses(), ["ens3 192.168.50.10/24"]);
}

