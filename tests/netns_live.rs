//! Live network configuration against the real kernel, each test inside a
//! network namespace of its own (veth pairs with fixed MACs stand in for the
//! NICs). Needs root: it fails, rather than skips, without it.

use std::process::Command;
use std::time::Duration;

use osconf::apply::network_live::{apply, Configure};
use osconf::plan::network::live::changes;
use osconf::settings::Settings;
use osconf::sources::osconf_format;

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
    let mut out: Vec<String> =
        sh(&["ip", "-4", "route", "show", "table", "main"]).lines().map(|l| l.trim().to_owned()).collect();
    out.sort();
    out
}

fn settings(drop: &str) -> Settings {
    osconf_format::from_drop(drop.as_bytes(), osconf_format::ALIBABA).unwrap()
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
    apply(&s.nics, &[], WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), ["ens3 192.168.50.10/24"]);
    assert_eq!(
        routes(),
        [
            "192.168.50.0/24 dev ens3 proto kernel scope link src 192.168.50.10",
            "default via 192.168.50.1 dev ens3 proto static"
        ]
    );
    assert!(sh(&["ip", "link", "show", "ens3"]).contains(",UP"));
}

#[test]
fn classic_sets_intranet_routes_on_eth0_and_default_on_eth1() {
    if !isolated("classic_sets_intranet_routes_on_eth0_and_default_on_eth1") {
        return;
    }
    two_nics();
    apply(&settings(CLASSIC).nics, &[], WAIT, Configure::Now).unwrap();
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
    apply(&s.nics, &[], WAIT, Configure::Now).unwrap();
    let (addrs, table) = (addresses(), routes());
    assert_eq!(addrs.len(), 10);
    assert_eq!(table.len(), 10 + 10 * 8 + 1, "{table:#?}");
    assert!(table.iter().any(|r| r == "172.23.9.0/24 via 10.9.0.1 dev nic9 proto static"));
    // eth1 is present (a "classic" layout) and its gateway gives the default route.
    assert_eq!(
        table.iter().filter(|r| r.starts_with("default")).collect::<Vec<_>>(),
        ["default via 10.1.0.1 dev nic1 proto static"]
    );
    // Again, with the record saying we set it: nothing changes, no EEXIST.
    assert_eq!(changes(&s.nics, &s.nics), vec![]);
    apply(&s.nics, &s.nics, WAIT, Configure::Now).unwrap();
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
    apply(&classic.nics, &[], WAIT, Configure::Now).unwrap();
    // Classic → VPC with a new address on eth0.
    let vpc = settings(&VPC.replace("192.168.50", "10.171.254").replace(".10\n", ".124\n"));
    apply(&vpc.nics, &classic.nics, WAIT, Configure::Now).unwrap();
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
fn a_missing_nic_is_skipped_and_the_others_are_configured() {
    if !isolated("a_missing_nic_is_skipped_and_the_others_are_configured") {
        return;
    }
    veth("ens3", "52:54:00:12:34:56");
    let skipped = apply(&settings(CLASSIC).nics, &[], Duration::from_millis(300), Configure::Now).unwrap();
    assert_eq!(skipped, ["52:54:00:12:34:57".parse().unwrap()]);
    // eth0 gets its address and routes; eth1's default route waits for eth1.
    assert_eq!(addresses(), ["ens3 10.171.254.123/24"]);
    assert_eq!(
        routes(),
        [
            "10.0.0.0/8 via 10.171.254.1 dev ens3 proto static",
            "10.171.254.0/24 dev ens3 proto kernel scope link src 10.171.254.123",
            "172.16.0.0/12 via 10.171.254.1 dev ens3 proto static",
        ]
    );
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
    apply(&settings(VPC).nics, &[], WAIT, Configure::Now).unwrap();
    late.join().unwrap();
    assert_eq!(addresses(), ["ens3 192.168.50.10/24"]);
}

/// Classic-like settings plus what only the metadata carries: eth1 (a
/// secondary NIC) with a secondary address, IPv6 and its own routing table.
fn with_extras() -> Settings {
    use osconf::settings::nic_extras;
    let mut s = settings(VPC);
    let drop =
        "eth1_ip_addr=10.0.1.5\neth1_mac_addr=52:54:00:12:34:57\neth1_netmask=255.255.255.0\neth1_gateway=10.0.1.1\n";
    let mut eth1 = settings(drop).nics.remove(0);
    eth1.routes.clear(); // the primary NIC (eth0) carries the default route
    nic_extras::add_secondary(&mut eth1, "10.0.1.6".parse().unwrap()).unwrap();
    nic_extras::add_ipv6(&mut eth1, nic_extras::ipv6_address("2001:db8:1::5").unwrap(), 64).unwrap();
    nic_extras::set_ipv6_gateway(&mut eth1, "2001:db8:1::1".parse().unwrap()).unwrap();
    assert!(nic_extras::route_own_replies(&mut eth1));
    s.nics.push(eth1);
    s
}

fn lines(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = sh(args).lines().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
    out.sort();
    out
}

/// Which link `ip route get` picks for a reply from `source` to an outside
/// address (a lookup only: nothing is sent).
fn leaves_by(source: &str) -> String {
    let text = sh(&["ip", "-4", "route", "get", "198.51.100.99", "from", source]);
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "dev").unwrap();
    words[at + 1].to_owned()
}

#[test]
fn secondary_addresses_ipv6_and_per_nic_routing() {
    if !isolated("secondary_addresses_ipv6_and_per_nic_routing") {
        return;
    }
    two_nics();
    let s = with_extras();
    apply(&s.nics, &[], WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), ["enp0s4 10.0.1.5/24", "enp0s4 10.0.1.6/24", "ens3 192.168.50.10/24"]);
    let v6: Vec<String> = lines(&["ip", "-6", "-o", "addr", "show", "scope", "global"])
        .iter()
        .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(v6, [format!("{} enp0s4 inet6 2001:db8:1::5/64", v6[0].split_whitespace().next().unwrap())]);
    assert_eq!(
        lines(&["ip", "-6", "route", "show", "default"]),
        ["default via 2001:db8:1::1 dev enp0s4 proto static metric 1024 pref medium"]
    );
    assert_eq!(
        lines(&["ip", "rule", "show", "table", "1001"]),
        ["1001:\tfrom 10.0.1.5 lookup 1001", "1001:\tfrom 10.0.1.6 lookup 1001"]
    );
    assert_eq!(
        lines(&["ip", "route", "show", "table", "1001"]),
        ["10.0.1.0/24 dev enp0s4 proto static scope link", "default via 10.0.1.1 dev enp0s4 proto static"]
    );
    // Replies from eth1's addresses leave by eth1; the rest by the default route (eth0).
    assert_eq!(
        (leaves_by("10.0.1.5"), leaves_by("10.0.1.6"), leaves_by("192.168.50.10")),
        ("enp0s4".into(), "enp0s4".into(), "ens3".into())
    );
    // Again: nothing changes, no rule twice.
    let state = || {
        (
            addresses(),
            routes(),
            lines(&["ip", "rule"]),
            lines(&["ip", "route", "show", "table", "1001"]),
            lines(&["ip", "-6", "route"]),
        )
    };
    let before = state();
    assert_eq!(changes(&s.nics, &s.nics), vec![]);
    apply(&s.nics, &s.nics, WAIT, Configure::Now).unwrap();
    assert_eq!(state(), before);
}

/// NetworkManager-ci's Aliyun addresses, here on a secondary NIC: the one
/// off the primary address's /20 is set with the /20 too, and its replies
/// leave by its NIC like the primary address's (a rule for each).
#[test]
fn a_secondary_address_off_the_primary_subnet_is_set_and_routed() {
    use osconf::settings::nic_extras;
    if !isolated("a_secondary_address_off_the_primary_subnet_is_set_and_routed") {
        return;
    }
    two_nics();
    let mut s = settings(VPC);
    let drop = "eth1_ip_addr=172.31.176.249\neth1_mac_addr=52:54:00:12:34:57\neth1_netmask=255.255.240.0\neth1_gateway=172.31.176.1\n";
    let mut eth1 = settings(drop).nics.remove(0);
    eth1.routes.clear(); // eth0 carries the default route
    nic_extras::add_secondary(&mut eth1, "172.31.17.249".parse().unwrap()).unwrap();
    assert!(nic_extras::route_own_replies(&mut eth1));
    s.nics.push(eth1);
    apply(&s.nics, &[], WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), ["enp0s4 172.31.17.249/20", "enp0s4 172.31.176.249/20", "ens3 192.168.50.10/24"]);
    assert_eq!(
        lines(&["ip", "rule", "show", "table", "1001"]),
        ["1001:\tfrom 172.31.17.249 lookup 1001", "1001:\tfrom 172.31.176.249 lookup 1001"]
    );
    assert_eq!((leaves_by("172.31.176.249"), leaves_by("172.31.17.249")), ("enp0s4".into(), "enp0s4".into()));
    let before = (addresses(), routes(), lines(&["ip", "rule"]));
    apply(&s.nics, &s.nics, WAIT, Configure::Now).unwrap();
    assert_eq!((addresses(), routes(), lines(&["ip", "rule"])), before);
}

#[test]
fn extras_no_longer_wanted_are_removed() {
    if !isolated("extras_no_longer_wanted_are_removed") {
        return;
    }
    two_nics();
    let rules_before = lines(&["ip", "rule"]);
    let old = with_extras();
    apply(&old.nics, &[], WAIT, Configure::Now).unwrap();
    let mut new = old.clone();
    let eth1 = &mut new.nics[1];
    eth1.secondary.clear();
    eth1.ipv6.clear();
    eth1.ipv6_gateway = None;
    eth1.table = None;
    let shown: Vec<String> = changes(&new.nics, &old.nics).iter().map(|c| c.to_string()).collect();
    assert_eq!(
        shown,
        [
            "- table 1001 (10.0.1.0/24 on the link, default via 10.0.1.1), rules from 10.0.1.5, from 10.0.1.6 lookup 1001 on eth1 (52:54:00:12:34:57)",
            "- route ::/0 via 2001:db8:1::1 on eth1 (52:54:00:12:34:57)",
            "- address 10.0.1.6/24 on eth1 (52:54:00:12:34:57)",
            "- address 2001:db8:1::5/64 on eth1 (52:54:00:12:34:57)",
        ]
    );
    apply(&new.nics, &old.nics, WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), ["enp0s4 10.0.1.5/24", "ens3 192.168.50.10/24"]);
    assert_eq!(lines(&["ip", "rule"]), rules_before);
    assert_eq!(lines(&["ip", "route", "show", "table", "1001"]), Vec::<String>::new());
    assert_eq!(lines(&["ip", "-6", "route", "show", "default"]), Vec::<String>::new());
    assert!(lines(&["ip", "-6", "addr", "show", "scope", "global"]).is_empty());
    assert_eq!(leaves_by("10.0.1.5"), "ens3");
}

/// The kernel's state in words, without the routes' `proto` (ifup's `ip`
/// writes "boot", netlink "static": the same route to every reader).
fn kernel_state() -> Vec<Vec<String>> {
    let strip = |lines: Vec<String>| -> Vec<String> {
        lines
            .iter()
            .map(|l| {
                let words: Vec<&str> = l.split_whitespace().collect();
                let at = words.iter().position(|w| *w == "proto");
                words
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| at.is_none_or(|p| *i != p && *i != p + 1))
                    .map(|(_, w)| *w)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    };
    // A table that was never filled does not exist yet: no routes.
    let table = Command::new("ip").args(["route", "show", "table", "1001"]).output().unwrap();
    let table: Vec<String> = String::from_utf8_lossy(&table.stdout).lines().map(str::to_owned).collect();
    let v6: Vec<String> = lines(&["ip", "-6", "-o", "addr", "show", "scope", "global"])
        .iter()
        .map(|l| l.split_whitespace().skip(1).take(3).collect::<Vec<_>>().join(" "))
        .collect();
    vec![
        addresses(),
        v6,
        strip(routes()),
        strip(table),
        strip(lines(&["ip", "-6", "route", "show", "default"])),
        strip(lines(&["ip", "-6", "route", "show", "fd30::/48"])),
        lines(&["ip", "rule"]),
    ]
}

#[test]
fn ifupdown_files_bring_up_what_netlink_sets_and_take_it_down() {
    use osconf::plan::network::{render, Stack};
    use osconf::settings::nic_extras;
    if !isolated("ifupdown_files_bring_up_what_netlink_sets_and_take_it_down") {
        return;
    }
    veth("eth0", "52:54:00:12:34:56");
    veth("eth1", "52:54:00:12:34:57");
    let bare = kernel_state();
    let mut s = with_extras();
    let route = nic_extras::Route6 { dest: "fd30::".parse().unwrap(), prefix: 48, via: "fe80::f001".parse().unwrap() };
    nic_extras::add_ipv6_route(&mut s.nics[1], route).unwrap();
    let dir = std::env::temp_dir().join(format!("osconf-ifup-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("state")).unwrap();
    let rendered = render(Stack::from_name("ifupdown").unwrap(), &s, &osconf::files::Root::new(&dir), &[]).unwrap();
    let stanzas: String = rendered.owned.iter().map(|w| w.text()).collect();
    std::fs::write(dir.join("interfaces"), stanzas).unwrap();
    // ifupdown itself runs osconf's stanzas (no hook scripts: nothing outside this namespace).
    let ifupdown = |command: &str| {
        let (file, state) = (dir.join("interfaces"), dir.join("state"));
        sh(&[
            command,
            "--no-scripts",
            "--state-dir",
            state.to_str().unwrap(),
            "-i",
            file.to_str().unwrap(),
            "eth0",
            "eth1",
        ]);
    };
    ifupdown("ifup");
    let by_files = kernel_state();
    ifupdown("ifdown");
    assert_eq!(kernel_state(), bare, "ifdown takes down all that ifup set");
    apply(&s.nics, &[], WAIT, Configure::Now).unwrap();
    let by_netlink = kernel_state();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(by_files, by_netlink);
    assert!(by_netlink[6].iter().any(|r| r == "1001:\tfrom 10.0.1.6 lookup 1001"), "{by_netlink:#?}");
    assert_eq!(by_netlink[5], ["fd30::/48 via fe80::f001 dev eth1 metric 1024 pref medium"]);
}

/// glean's Rackspace route (`fd30::/48 via fe80::f001`) beside an IPv6
/// default route: both set over netlink, again a no-op; later settings
/// without it remove it and keep the default one.
#[test]
fn an_ipv6_route_besides_the_default_one_is_set_and_removed() {
    use osconf::settings::nic_extras;
    if !isolated("an_ipv6_route_besides_the_default_one_is_set_and_removed") {
        return;
    }
    veth("ens3", "52:54:00:12:34:56");
    let mut old = settings(VPC);
    let eth0 = &mut old.nics[0];
    nic_extras::add_ipv6(eth0, nic_extras::ipv6_address("2001:db8:1::5").unwrap(), 64).unwrap();
    nic_extras::set_ipv6_gateway(eth0, "fe80::def".parse().unwrap()).unwrap();
    let route = nic_extras::Route6 { dest: "fd30::".parse().unwrap(), prefix: 48, via: "fe80::f001".parse().unwrap() };
    nic_extras::add_ipv6_route(eth0, route).unwrap();
    apply(&old.nics, &[], WAIT, Configure::Now).unwrap();
    let v6_routes = || {
        let all = lines(&["ip", "-6", "route", "show", "dev", "ens3"]);
        all.into_iter().filter(|l| !l.starts_with("fe80::/64") && !l.starts_with("2001:db8:1::/64")).collect::<Vec<_>>()
    };
    assert_eq!(
        v6_routes(),
        [
            "default via fe80::def proto static metric 1024 pref medium",
            "fd30::/48 via fe80::f001 proto static metric 1024 pref medium"
        ]
    );
    apply(&old.nics, &old.nics, WAIT, Configure::Now).unwrap();
    assert_eq!(v6_routes().len(), 2, "set again: no route twice");
    let mut new = old.clone();
    new.nics[0].ipv6_routes.clear();
    let shown: Vec<String> = changes(&new.nics, &old.nics).iter().map(|c| c.to_string()).collect();
    assert_eq!(shown, ["- route fd30::/48 via fe80::f001 on eth0 (52:54:00:12:34:56)"]);
    apply(&new.nics, &old.nics, WAIT, Configure::Now).unwrap();
    assert_eq!(v6_routes(), ["default via fe80::def proto static metric 1024 pref medium"]);
}

#[test]
fn a_link_without_ipv6_gets_the_rest() {
    if !isolated("a_link_without_ipv6_gets_the_rest") {
        return;
    }
    two_nics();
    sh(&["sysctl", "-qw", "net.ipv6.conf.enp0s4.disable_ipv6=1"]);
    let s = with_extras();
    apply(&s.nics, &[], WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), ["enp0s4 10.0.1.5/24", "enp0s4 10.0.1.6/24", "ens3 192.168.50.10/24"]);
    assert!(lines(&["ip", "-6", "addr", "show", "scope", "global"]).is_empty());
    assert_eq!(leaves_by("10.0.1.6"), "enp0s4");
}

#[test]
fn left_to_the_stack_osconf_configures_nothing_but_removes_what_it_set_before() {
    if !isolated("left_to_the_stack_osconf_configures_nothing_but_removes_what_it_set_before") {
        return;
    }
    two_nics();
    // NetworkManager adopts a NIC only if it finds it unconfigured: osconf
    // leaves the link down and without addresses.
    apply(&settings(VPC).nics, &[], WAIT, Configure::ByStack).unwrap();
    assert_eq!((addresses(), routes()), (Vec::<String>::new(), Vec::<String>::new()));
    assert!(!sh(&["ip", "link", "show", "ens3"]).contains(",UP"));
    // What osconf set live before (an older osconf, or another stack) still goes.
    let classic = settings(CLASSIC);
    apply(&classic.nics, &[], WAIT, Configure::Now).unwrap();
    apply(&settings(VPC).nics, &classic.nics, WAIT, Configure::ByStack).unwrap();
    assert_eq!((addresses(), routes()), (Vec::<String>::new(), Vec::<String>::new()));
}

/// The binary with `--root TREE --live` (how an image is tested, and how
/// bench/ runs it): the files go under the tree, the NICs are the running
/// kernel's — the wait for them must not look for them under the tree.
#[test]
fn the_binary_applies_live_with_a_root_tree() {
    if !isolated("the_binary_applies_live_with_a_root_tree") {
        return;
    }
    two_nics();
    let tree = std::env::temp_dir().join(format!("osconf-netns-root-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tree);
    for (path, text) in [
        ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
        ("etc/osconf/osconf.conf", "[network]\nnic_wait_seconds = 2\n"),
        ("boot/aliyun_custom_image/os.conf", VPC),
    ] {
        std::fs::create_dir_all(tree.join(path).parent().unwrap()).unwrap();
        std::fs::write(tree.join(path), text).unwrap();
    }
    let out = osconf_live(&tree, &[]);
    let _ = std::fs::remove_dir_all(&tree);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(addresses(), ["ens3 192.168.50.10/24"]);
}

/// `osconf apply --live --root TREE ARGS` with a sysfs of this namespace, as
/// `ip netns exec` gives it, in a mount namespace of its own (a plain
/// `unshare --net` still shows the host's NICs in /sys).
fn osconf_live(tree: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("unshare")
        .args(["--mount", "--", "sh", "-c", "mount -t sysfs sysfs /sys && exec \"$0\" \"$@\""])
        .arg(env!("CARGO_BIN_EXE_osconf"))
        .args(["apply", "--live", "--root"])
        .arg(tree)
        .args(args)
        .output()
        .unwrap()
}

/// A file under `tree`, or "" when it is not there.
fn read(tree: &std::path::Path, path: &str) -> String {
    std::fs::read_to_string(tree.join(path)).unwrap_or_default()
}

/// A drop for eth0 (present: ens3) and eth1, whose MAC no link has: eth1 is
/// a warning naming it, everything else applies (live, files, password,
/// host name), eth1's files are written keyed by its MAC, and the drop is
/// recorded, so a later boot with the same drop neither applies nor waits.
#[test]
fn an_absent_nic_is_a_warning_and_everything_else_applies() {
    if !isolated("an_absent_nic_is_a_warning_and_everything_else_applies") {
        return;
    }
    veth("ens3", "52:54:00:12:34:56");
    let drop = format!(
        "hostname=absent-nic-host\npassword=U2VjcmV0LTE=\n{VPC}\
         eth1_ip_addr=10.0.1.5\neth1_mac_addr=52:54:00:12:34:57\neth1_netmask=255.255.255.0\n"
    );
    for stack in ["networkd", "rhel-ifcfg"] {
        let tree = std::env::temp_dir().join(format!("osconf-netns-absent-{stack}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tree);
        for (path, text) in [
            ("etc/shadow", "root:*:19000:0:99999:7:::\n".to_owned()),
            ("etc/hostname", "old-name\n".to_owned()),
            ("etc/osconf/osconf.conf", format!("[network]\nstack = {stack}\nnic_wait_seconds = 1\n")),
            ("boot/aliyun_custom_image/os.conf", drop.clone()),
        ] {
            std::fs::create_dir_all(tree.join(path).parent().unwrap()).unwrap();
            std::fs::write(tree.join(path), text).unwrap();
        }
        let out = osconf_live(&tree, &["--keep-drop"]);
        let log = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stack}: {log}");
        assert!(
            log.contains("no network interface with the MAC of eth1 (MAC 52:54:00:12:34:57) appeared within 1 s"),
            "{stack}: {log}"
        );
        assert!(log.contains("applied "), "{stack}: {log}");
        // Live: eth0 (ens3) configured, the host name set.
        assert_eq!(addresses(), ["ens3 192.168.50.10/24"]);
        assert!(routes().iter().any(|r| r == "default via 192.168.50.1 dev ens3 proto static"), "{:?}", routes());
        assert_eq!(sh(&["hostname"]).trim(), "absent-nic-host");
        // Files: password, host name, and each NIC's files keyed by its MAC.
        assert!(read(&tree, "etc/shadow").starts_with("root:$6$"), "{stack}: the password is set");
        assert_eq!(read(&tree, "etc/hostname"), "absent-nic-host\n");
        match stack {
            "networkd" => {
                let eth1 = read(&tree, "etc/systemd/network/10-osconf-eth1.network");
                assert!(
                    eth1.contains("MACAddress=52:54:00:12:34:57") && eth1.contains("Address=10.0.1.5/24"),
                    "{eth1}"
                );
            }
            _ => {
                // DEVICE is the drop's label (the kernel's name under
                // net.ifnames=0); HWADDR ties the file to the NIC.
                let eth1 = read(&tree, "etc/sysconfig/network-scripts/ifcfg-eth1");
                for line in ["DEVICE=eth1", "HWADDR=52:54:00:12:34:57", "IPADDR=10.0.1.5"] {
                    assert!(eth1.lines().any(|l| l == line), "{line} missing in {eth1}");
                }
            }
        }
        let record = read(&tree, "var/lib/osconf/records/alibaba-drop.json");
        assert!(record.contains("52:54:00:12:34:57"), "eth1 is recorded: {record}");

        // The next boot with the same drop (a read-only CD-ROM keeps it):
        // nothing to do, and no wait for eth1 (the check comes first).
        let again = osconf_live(&tree, &["--keep-drop"]);
        let log = String::from_utf8_lossy(&again.stderr).into_owned();
        assert!(again.status.success(), "{stack}: {log}");
        assert!(log.contains("was applied already"), "{stack}: {log}");
        assert!(!log.contains("appeared within"), "{stack}: waited again: {log}");
        assert_eq!(read(&tree, "var/lib/osconf/records/alibaba-drop.json"), record);
        std::fs::remove_dir_all(&tree).unwrap();
    }
}

/// A NIC whose IPv4 comes from DHCP (OpenStack's `ipv4_dhcp`): osconf
/// brings its link up with its MTU and sets no address (the stack's DHCP
/// client does); the static address osconf set before, when the NIC was
/// static, is removed.
#[test]
fn a_dhcp_nic_gets_its_link_up_and_mtu_and_loses_osconf_s_old_static_address() {
    if !isolated("a_dhcp_nic_gets_its_link_up_and_mtu_and_loses_osconf_s_old_static_address") {
        return;
    }
    veth("eth0", "52:54:00:12:34:56");
    let before = settings(VPC).nics;
    apply(&before, &[], WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), ["eth0 192.168.50.10/24"]);

    let mut dhcp = osconf::settings::Nic::automatic(0, before[0].mac);
    dhcp.dhcp4 = true;
    dhcp.mtu = Some(1450);
    let desired = [dhcp];
    let shown: Vec<String> = changes(&desired, &before).iter().map(|c| c.to_string()).collect();
    assert_eq!(
        shown,
        [
            "- route 0.0.0.0/0 via 192.168.50.1 on eth0 (52:54:00:12:34:56)",
            "- address 192.168.50.10/24 on eth0 (52:54:00:12:34:56)"
        ]
    );
    apply(&desired, &before, WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), Vec::<String>::new());
    assert_eq!(routes(), Vec::<String>::new());
    let link = sh(&["ip", "-o", "link", "show", "dev", "eth0"]);
    assert!(link.contains("mtu 1450") && link.contains(",UP"), "{link}");
}

/// A bond, its members and a VLAN on it are the stack's to create when it
/// starts after osconf: osconf creates no device, waits for none (their
/// MACs are no hardware's), leaves the members alone, and removes the
/// static address it set before on a NIC now a member.
#[test]
fn a_bond_and_its_vlan_are_left_to_the_stack_and_a_new_member_loses_osconf_s_old_address() {
    if !isolated("a_bond_and_its_vlan_are_left_to_the_stack_and_a_new_member_loses_osconf_s_old_address") {
        return;
    }
    use osconf::settings::{Bond, Nic, NicKind, Parent, Vlan};
    veth("eth0", "52:54:00:12:34:56");
    let before = settings(VPC).nics;
    apply(&before, &[], WAIT, Configure::Now).unwrap();
    assert_eq!(addresses(), ["eth0 192.168.50.10/24"]);

    let bond = Bond {
        number: 0,
        members: vec![before[0].mac],
        mode: "active-backup".into(),
        miimon: Some(100),
        xmit_hash_policy: None,
    };
    let desired = [
        Nic {
            kind: Some(NicKind::Vlan(Vlan { parent: Parent::Bond(0), id: 5 })),
            mtu: Some(1400),
            ..Nic::new(0, "52:54:00:99:99:05".parse().unwrap(), "10.5.0.2".parse().unwrap(), 24)
        },
        Nic { kind: Some(NicKind::Bond(bond)), dhcp4: true, ..Nic::automatic(1, "52:54:00:99:99:00".parse().unwrap()) },
        Nic { mtu: Some(1450), ..Nic::automatic(2, before[0].mac) },
    ];
    let started = std::time::Instant::now();
    let absent = apply(&desired, &before, Duration::from_secs(5), Configure::Now).unwrap();
    assert!(started.elapsed() < Duration::from_secs(4), "waited for devices the stack creates");
    assert_eq!(absent, Vec::new());
    assert_eq!(addresses(), Vec::<String>::new());
    assert_eq!(routes(), Vec::<String>::new());
    let links = sh(&["ip", "-o", "link", "show"]);
    assert!(!links.contains("bond") && !links.contains("vlan"), "osconf created a device: {links}");
    let member = sh(&["ip", "-o", "link", "show", "dev", "eth0"]);
    assert!(!member.contains("mtu 1450") && !member.contains("master"), "a member is the stack's: {member}");
}
