//! Golden files for what only the metadata carries — secondary addresses,
//! IPv6, per-NIC routing — rendered by every stack from settings built the
//! way a source builds them (os.conf cannot carry them, so these do not go
//! through a drop). `tests/golden/extras/<stack>/` holds exactly the files
//! written; `OSCONF_BLESS=1 cargo test --test golden_extras` rewrites them.
//! Then each distribution's own reader takes what it can: `netplan
//! generate`, NetworkManager's keyfile writer and reader (`nmcli --offline`),
//! `ifquery`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::*;
use osconf::files::Root;
use osconf::plan::network::{render, Stack, STACKS};
use osconf::settings::{nic_extras, Settings};
use osconf::sources::osconf_format;

/// eth0 (primary: default route, IPv6 with its gateway, an IPv4 and an
/// IPv6 name server) and eth1 (a
/// secondary NIC: two secondary addresses, IPv6 with glean's Rackspace
/// route `fd30::/48 via fe80::f001`, its own routing table).
fn settings() -> Settings {
    let drop = "eth0_ip_addr=192.168.50.10\neth0_mac_addr=52:54:00:12:34:56\neth0_netmask=255.255.255.0\neth0_gateway=192.168.50.1\n\
                eth0_route=\"0.0.0.0/0 192.168.50.1\"\ndns_nameserver=\"192.168.50.2\"\n\
                eth1_ip_addr=10.0.1.5\neth1_mac_addr=52:54:00:12:34:57\neth1_netmask=255.255.255.0\neth1_gateway=10.0.1.1\n";
    // The explicit default route keeps it on eth0 (the primary NIC).
    let mut s = osconf_format::from_drop(drop.as_bytes(), osconf_format::ALIBABA).unwrap();
    // An IPv6 name server, as the metadata gives it when eth0 has IPv6.
    s.nameservers.push("2001:db8:50::53".parse().unwrap());
    let eth0 = &mut s.nics[0];
    nic_extras::add_ipv6(eth0, nic_extras::ipv6_address("2001:db8:50::10").unwrap(), 64).unwrap();
    nic_extras::set_ipv6_gateway(eth0, "2001:db8:50::1".parse().unwrap()).unwrap();
    let eth1 = &mut s.nics[1];
    for address in ["10.0.1.6", "10.0.1.7"] {
        nic_extras::add_secondary(eth1, address.parse().unwrap()).unwrap();
    }
    nic_extras::add_ipv6(eth1, nic_extras::ipv6_address("2001:db8:1::5").unwrap(), 64).unwrap();
    let route = nic_extras::Route6 { dest: "fd30::".parse().unwrap(), prefix: 48, via: "fe80::f001".parse().unwrap() };
    nic_extras::add_ipv6_route(eth1, route).unwrap();
    assert!(nic_extras::route_own_replies(eth1));
    s
}

/// The files the stack named `name` renders for `settings()`, by path.
fn rendered(name: &str) -> BTreeMap<String, (String, u32)> {
    let stack = Stack::from_name(name).unwrap_or_else(|| panic!("{name} is not a stack osconf knows"));
    let tree = TempTree::new(&format!("extras-{name}"));
    let out = render(stack, &settings(), &Root::new(&tree.path), &[]).unwrap();
    out.owned
        .into_iter()
        .chain(out.edited)
        .map(|w| (w.path.trim_start_matches('/').to_owned(), (w.text(), w.mode)))
        .collect()
}

#[test]
fn every_stack_renders_the_golden_files() {
    let mut problems = Vec::new();
    for stack in STACKS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/extras").join(stack.name());
        let files = rendered(stack.name());
        if std::env::var_os("OSCONF_BLESS").is_some() {
            let _ = fs::remove_dir_all(&dir);
            for (path, (text, _)) in &files {
                fs::create_dir_all(dir.join(path).parent().unwrap()).unwrap();
                fs::write(dir.join(path), text).unwrap();
            }
        }
        let expected: BTreeMap<String, String> =
            snapshot(&dir).into_iter().map(|(p, (c, _))| (p, String::from_utf8(c).unwrap())).collect();
        let got: BTreeMap<String, String> = files.into_iter().map(|(p, (t, _))| (p, t)).collect();
        if got != expected {
            problems.push(format!("{stack}:\n--- expected\n{expected:#?}\n--- got\n{got:#?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn netplan_generate_turns_them_into_networkd_files() {
    let tree = TempTree::new("extras-netplan-generate");
    for (path, (text, mode)) in rendered("netplan") {
        tree.write(&path, &text, mode);
    }
    let out = Command::new("netplan")
        .args(["generate", "--root-dir"])
        .arg(&tree.path)
        .output()
        .expect("netplan.io is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let eth0 = tree.read("/run/systemd/network/10-netplan-osconf-eth0.network");
    let eth1 = tree.read("/run/systemd/network/10-netplan-osconf-eth1.network");
    for line in [
        "Address=192.168.50.10/24",
        "Address=2001:db8:50::10/64",
        "Gateway=2001:db8:50::1",
        "DNS=192.168.50.2",
        "DNS=2001:db8:50::53",
    ] {
        assert!(eth0.lines().any(|l| l == line), "{line} missing:\n{eth0}");
    }
    for line in [
        "Address=10.0.1.5/24",
        "Address=10.0.1.6/24",
        "Address=10.0.1.7/24",
        "Address=2001:db8:1::5/64",
        "Table=1001",
        "Scope=link",
        "Gateway=10.0.1.1",
        "Destination=fd30::/48",
        "Gateway=fe80::f001",
    ] {
        assert!(eth1.lines().any(|l| l == line), "{line} missing:\n{eth1}");
    }
    let rules: Vec<&str> = eth1.split("[RoutingPolicyRule]").skip(1).collect();
    assert_eq!(rules.len(), 3, "{eth1}");
    for (rule, from) in rules.iter().zip(["10.0.1.5/32", "10.0.1.6/32", "10.0.1.7/32"]) {
        for line in [format!("From={from}"), "Table=1001".into(), "Priority=1001".into()] {
            assert!(rule.lines().any(|l| l == line), "{line} missing in {rule}");
        }
    }
    // Only eth1 routes its own replies: eth0 has no table and no rule.
    assert!(!eth0.contains("Table=") && !eth0.contains("RoutingPolicyRule"), "{eth0}");
}

/// NetworkManager's own keyfile writer, given the same values through
/// nmcli, writes the same keys osconf writes.
#[test]
fn networkmanager_writes_the_same_keys_itself() {
    let files = rendered("networkmanager");
    let ours = &files["etc/NetworkManager/system-connections/osconf-eth1.nmconnection"].0;
    let out = Command::new("nmcli")
        .args(["--offline", "connection", "add", "type", "ethernet", "con-name", "x", "ipv4.method", "manual", "ipv4.never-default", "yes"])
        .args(["ipv4.addresses", "10.0.1.5/24,10.0.1.6/24,10.0.1.7/24"])
        .args(["ipv4.routes", "10.0.1.0/24 table=1001, 0.0.0.0/0 10.0.1.1 table=1001"])
        .args(["ipv4.routing-rules", "priority 1001 from 10.0.1.5 table 1001, priority 1001 from 10.0.1.6 table 1001, priority 1001 from 10.0.1.7 table 1001"])
        .args(["ipv6.method", "manual", "ipv6.addresses", "2001:db8:1::5/64", "ipv6.never-default", "yes"])
        .args(["ipv6.routes", "fd30::/48 fe80::f001"])
        .output()
        .expect("network-manager is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let theirs = String::from_utf8(out.stdout).unwrap();
    let keys = |text: &str, section: &str| -> Vec<String> {
        let body = text.split(&format!("[{section}]\n")).nth(1).unwrap_or_default();
        let body = body.split("\n[").next().unwrap();
        let mut lines: Vec<String> = body
            .lines()
            .filter(|l| {
                ["address", "route", "routing-rule", "method", "never-default"].iter().any(|k| l.starts_with(k))
            })
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(keys(ours, "ipv4"), keys(&theirs, "ipv4"), "{ours}\n{theirs}");
    assert!(keys(ours, "ipv4").iter().filter(|l| l.starts_with("routing-rule")).count() == 3, "{ours}");
    assert_eq!(keys(ours, "ipv6"), keys(&theirs, "ipv6"), "{ours}\n{theirs}");
    // NetworkManager's keyfile reader (`nmcli --offline connection modify`
    // normalises a keyfile from stdin) keeps every one of those keys.
    let mut reader = Command::new("nmcli")
        .args(["--offline", "connection", "modify"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut reader.stdin.take().unwrap(), ours.as_bytes()).unwrap();
    let read = reader.wait_with_output().unwrap();
    assert!(read.status.success(), "{}", String::from_utf8_lossy(&read.stderr));
    let read = String::from_utf8(read.stdout).unwrap();
    for section in ["ipv4", "ipv6"] {
        let (kept, written) = (keys(&read, section), keys(ours, section));
        assert!(
            written.iter().all(|k| kept.contains(k)),
            "[{section}] {written:?} not all kept by NetworkManager's reader:\n{read}"
        );
    }
    // eth0's IPv6 gateway goes with its first address, as nmcli writes ipv6.gateway.
    let eth0 = &files["etc/NetworkManager/system-connections/osconf-eth0.nmconnection"].0;
    assert!(eth0.contains("[ipv6]\nmethod=manual\naddress1=2001:db8:50::10/64,2001:db8:50::1\n"), "{eth0}");
}

#[test]
fn ifquery_reads_the_ifupdown_stanza() {
    let tree = TempTree::new("extras-ifquery");
    let files = rendered("ifupdown");
    let stanza = &files["etc/network/interfaces.d/osconf-eth1"].0;
    tree.write("/interfaces", stanza, 0o644);
    let out = Command::new("ifquery")
        .arg("-i")
        .arg(tree.join("/interfaces"))
        .arg("eth1")
        .output()
        .expect("ifupdown is installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "up: ip addr replace 10.0.1.6/24 broadcast + dev eth1",
        "up: ip -6 addr replace 2001:db8:1::5/64 dev eth1",
        "up: ip route replace default via 10.0.1.1 dev eth1 table 1001",
        "up: ip rule add from 10.0.1.7 lookup 1001 priority 1001",
        "down: ip route flush table 1001 || true",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
    // eth0's name servers, both families, as resolvconf's ifupdown hook reads them.
    tree.write("/interfaces", &files["etc/network/interfaces.d/osconf-eth0"].0, 0o644);
    let out = Command::new("ifquery").arg("-i").arg(tree.join("/interfaces")).arg("eth0").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success() && text.lines().any(|l| l == "dns-nameservers: 192.168.50.2 2001:db8:50::53"),
        "{text}"
    );
}

#[test]
fn plan_and_status_show_them_and_a_later_settings_removes_them() {
    use osconf::apply::{self, Effects};
    use osconf::config::Config;
    use osconf::plan::{Origin, Plan};
    use osconf::record::Record;

    let tree = TempTree::new("extras-plan");
    minimal_image(&tree);
    tree.write("/etc/osconf/osconf.conf", "[network]\nstack = networkd\n", 0o644);
    let root = Root::new(&tree.path);
    let config = Config::load(&root).unwrap();
    let plan = Plan::build(settings(), &Origin::drop("test", b"1", None), None, &root, &config).unwrap().to_string();
    for line in [
        "  name servers: 192.168.50.2 2001:db8:50::53 (through /etc/resolv.conf)",
        "      secondary address 10.0.1.6/24",
        "      IPv6 address 2001:db8:1::5/64",
        "      IPv6 route fd30::/48 via fe80::f001",
        "      IPv6 gateway 2001:db8:50::1 (default route)",
        "      own routing: replies from its addresses leave by it (table 1001, default via 10.0.1.1)",
        "  + address 10.0.1.7/24 on eth1 (52:54:00:12:34:57)",
        "  + route ::/0 via 2001:db8:50::1 on eth0 (52:54:00:12:34:56)",
        "  + route fd30::/48 via fe80::f001 on eth1 (52:54:00:12:34:57)",
        "  + table 1001 (10.0.1.0/24 on the link, default via 10.0.1.1), rules from 10.0.1.5, from 10.0.1.6, from 10.0.1.7 lookup 1001 on eth1 (52:54:00:12:34:57)",
    ] {
        assert!(plan.lines().any(|l| l == line), "{line} missing:\n{plan}");
    }
    let plan = Plan::build(settings(), &Origin::drop("test", b"1", None), None, &root, &config).unwrap();
    apply::run(&plan, None, &root, Effects { live: false, nic_wait: std::time::Duration::ZERO }).unwrap();
    let (code, status, err) = osconf(&["status", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(status.contains("  eth1 (MAC 52:54:00:12:34:57): 10.0.1.5/24; routes: none\n      secondary address 10.0.1.6/24\n      secondary address 10.0.1.7/24\n"), "{status}");
    assert!(status.contains("      own routing: replies from its addresses leave by it (table 1001"), "{status}");
    assert!(status.contains("      IPv6 route fd30::/48 via fe80::f001\n"), "{status}");
    assert!(status.contains("  name servers: 192.168.50.2 2001:db8:50::53\n"), "{status}");
    assert_eq!(
        tree.read("/etc/resolv.conf").lines().filter(|l| l.starts_with("nameserver")).collect::<Vec<_>>(),
        ["nameserver 192.168.50.2", "nameserver 2001:db8:50::53"]
    );

    // The next settings no longer list them: the plan removes what osconf added.
    let previous = Record::load(&root).unwrap();
    let mut later = settings();
    later.nics[1] = osconf::settings::Nic {
        secondary: Vec::new(),
        ipv6: Vec::new(),
        ipv6_routes: Vec::new(),
        table: None,
        ..later.nics[1].clone()
    };
    let plan = Plan::build(later, &Origin::drop("test", b"2", previous.as_ref()), previous.as_ref(), &root, &config)
        .unwrap()
        .to_string();
    for line in [
        "  - table 1001 (10.0.1.0/24 on the link, default via 10.0.1.1), rules from 10.0.1.5, from 10.0.1.6, from 10.0.1.7 lookup 1001 on eth1 (52:54:00:12:34:57)",
        "  - address 10.0.1.6/24 on eth1 (52:54:00:12:34:57)",
        "  - address 2001:db8:1::5/64 on eth1 (52:54:00:12:34:57)",
        "  - route fd30::/48 via fe80::f001 on eth1 (52:54:00:12:34:57)",
    ] {
        assert!(plan.lines().any(|l| l == line), "{line} missing:\n{plan}");
    }
    assert!(!plan.contains("route ::/0 via 2001:db8:50::1"), "eth0's IPv6 route stays:\n{plan}");
}

/// SUSE's rule file (like RHEL's) is osconf's: written for a NIC with its
/// own routing, removed when the settings no longer give it one.
#[test]
fn the_suse_rule_file_goes_when_the_nic_no_longer_routes_its_own_replies() {
    use osconf::apply::{self, Effects};
    use osconf::config::Config;
    use osconf::plan::{Origin, Plan};
    use osconf::record::Record;

    let tree = TempTree::new("extras-suse-rules");
    minimal_image(&tree);
    tree.write("/etc/osconf/osconf.conf", "[network]\nstack = suse-ifcfg\n", 0o644);
    let (root, effects) = (Root::new(&tree.path), Effects { live: false, nic_wait: std::time::Duration::ZERO });
    let config = Config::load(&root).unwrap();
    apply::run(
        &Plan::build(settings(), &Origin::drop("test", b"1", None), None, &root, &config).unwrap(),
        None,
        &root,
        effects,
    )
    .unwrap();
    assert_eq!(tree.read("/etc/sysconfig/network/ifrule-eth1").lines().filter(|l| !l.starts_with('#')).count(), 3);

    let previous = Record::load(&root).unwrap();
    let mut later = settings();
    later.nics[1].table = None;
    later.nics[1].ipv6_routes.clear(); // ifroute-eth1's other lines
    let plan =
        Plan::build(later, &Origin::drop("test", b"2", previous.as_ref()), previous.as_ref(), &root, &config).unwrap();
    apply::run(&plan, previous.as_ref(), &root, effects).unwrap();
    for file in ["ifrule-eth1", "ifroute-eth1"] {
        assert!(plan.removals.contains(&format!("/etc/sysconfig/network/{file}")), "{:?}", plan.removals);
        assert!(!tree.exists(&format!("/etc/sysconfig/network/{file}")), "{file} is still there");
    }
    assert!(tree.exists("/etc/sysconfig/network/ifcfg-eth1"));
}
