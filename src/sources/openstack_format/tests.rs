//! The OpenStack readers against real fixtures (tests/fixtures/openstack,
//! its README names their origin) and made-up and hostile documents.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;
use crate::settings::ssh_key::tests::ED25519;
use crate::settings::{Bond, Ipv6Auto, Mac, Nic, NicKind, Parent, Password, Route, Route6, Vlan};

const ON: Options = Options { password: true };

fn ip4(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn mac(text: &str) -> Mac {
    crate::settings::values::mac(text).unwrap()
}

fn route(dest: &str, prefix: u8, via: &str) -> Route {
    Route { dest: ip4(dest), prefix, via: ip4(via) }
}

fn fixture(origin: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/openstack").join(origin);
    (std::fs::read(dir.join(META_DATA)).unwrap(), std::fs::read(dir.join(NETWORK_DATA)).unwrap())
}

fn read_fixture(origin: &str) -> Read {
    let (meta, network) = fixture(origin);
    read(&meta, Some(&network), ON).unwrap()
}

/// IBM Cloud classic: the default route is on the second link, which
/// becomes eth0; the first keeps its static routes and has no gateway.
#[test]
fn afterburn_ibmcloud_classic() {
    let read = read_fixture("afterburn/ibmcloud-classic");
    assert_eq!(read.instance_id, "3c9085db-3eba-4ef2-9d97-d3ffcff6fffe");
    assert_eq!(read.settings.hostname.as_deref(), Some("rh-lbruno-classic01"));
    assert_eq!(read.settings.fqdn.as_deref(), Some("rh-lbruno-classic01.example.cloud"));
    let keys = read.settings.ssh_keys.as_ref().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!((keys[0].kind(), keys[0].comment()), ("ssh-rsa", Some("luca.bruno@coreos.com")));
    let mut public = Nic::new(0, mac("06:f6:71:3b:64:01"), ip4("133.133.209.229"), 28);
    public.gateway = Some(ip4("133.133.209.225"));
    public.routes = vec![Route::default_via(ip4("133.133.209.225"))];
    let mut private = Nic::new(1, mac("06:52:db:01:ff:d9"), ip4("10.135.202.146"), 26);
    private.routes = vec![
        route("10.0.0.0", 8, "10.135.202.129"),
        route("161.26.0.0", 16, "10.135.202.129"),
        route("166.8.0.0", 14, "10.135.202.129"),
    ];
    assert_eq!(read.settings.nics, [public, private]);
    assert_eq!(read.settings.nameservers, [ip("10.0.80.11"), ip("10.0.80.12")]);
    assert_eq!(read.settings.password, None);
    assert_eq!(read.warnings, Vec::<String>::new());
}

/// KubeVirt's config drive: static IPv4 and IPv6 on eth0, a DHCP link with
/// legacy `ipv6_dhcp` (stateful DHCPv6, as cloud-init reads it) and a
/// DHCP-only link, IPv4 and IPv6 name servers.
#[test]
fn afterburn_kubevirt_config_drive() {
    let read = read_fixture("afterburn/kubevirt-config-drive");
    assert_eq!(read.instance_id, "5d307ca9-b3ef-428c-8861-06e72d69f223");
    // `test_instance-kubevirt.foo.cloud`: the first label, `_` made `-` as systemd would.
    assert_eq!(read.settings.hostname.as_deref(), Some("test-instance-kubevirt"));
    assert_eq!(read.settings.fqdn.as_deref(), Some("test-instance-kubevirt.foo.cloud"));
    assert_eq!(read.settings.ssh_keys.as_ref().map(Vec::len), Some(1));
    let mut nic = Nic::new(0, mac("06:aa:bb:cc:dd:00"), ip4("192.168.1.10"), 24);
    nic.gateway = Some(ip4("192.168.1.1"));
    nic.routes = vec![Route::default_via(ip4("192.168.1.1"))];
    nic.ipv6 = vec![("2001:db8::10".parse().unwrap(), 64)];
    nic.ipv6_gateway = Some("2001:db8::1".parse().unwrap());
    let mut dual = Nic { dhcp4: true, ..Nic::automatic(1, mac("06:aa:bb:cc:dd:01")) };
    dual.ipv6_auto = Some(Ipv6Auto::DhcpStateful);
    let dhcp = Nic { dhcp4: true, ..Nic::automatic(2, mac("06:aa:bb:cc:dd:02")) };
    assert_eq!(read.settings.nics, [nic, dual, dhcp]);
    let servers = ["8.8.8.8", "8.8.4.4", "2001:4860:4860::8888", "2001:4860:4860::8844"];
    assert_eq!(read.settings.nameservers, servers.map(ip));
    assert_eq!(read.warnings, Vec::<String>::new());
}

/// Huawei's ECS sample as Open Telekom Cloud documents it: `.novalocal`,
/// no key pair, a redacted name server, a DHCP NIC on a `cascading` link.
#[test]
fn otc_huawei_sample() {
    let read = read_fixture("otc");
    assert_eq!(read.instance_id, "ca9e8b7c-f2be-4b6d-a639-f10b4d994d04");
    assert_eq!(read.settings.hostname.as_deref(), Some("ecs-ddd4"));
    assert_eq!(read.settings.fqdn.as_deref(), Some("ecs-ddd4.novalocal"));
    assert_eq!(read.settings.ssh_keys, Some(Vec::new()), "no public_keys: the instance has no key pair");
    assert_eq!(read.settings.nics, [Nic { dhcp4: true, ..Nic::automatic(0, mac("fa:16:3e:f7:c1:47")) }]);
    assert_eq!(read.settings.nameservers, [ip("100.125.21.250")]);
    assert_eq!(read.settings.password, None);
    assert_eq!(read.warnings, ["network_data.json: services[0].address: \"xxx.xx.x.x\" is not an IP address: skipped"]);
}

fn meta(extra: serde_json::Value) -> Vec<u8> {
    let mut object = serde_json::json!({"uuid": "83679162-1378-4288-a2d4-70e13ec132aa"});
    for (key, value) in extra.as_object().unwrap() {
        object[key] = value.clone();
    }
    object.to_string().into_bytes()
}

fn network(value: serde_json::Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

#[test]
fn admin_pass_is_the_root_password_unless_switched_off() {
    let bytes = meta(serde_json::json!({"admin_pass": "s3cret pass"}));
    let read_on = read(&bytes, None, ON).unwrap();
    match &read_on.settings.password {
        Some(Password::Plain(text)) => assert_eq!(text.as_str(), "s3cret pass"),
        other => panic!("{other:?}"),
    }
    let read_off = read(&bytes, None, Options { password: false }).unwrap();
    assert_eq!(read_off.settings.password, None);
    // A changed password is a change to apply: it is in the digested bytes.
    let other = read(&meta(serde_json::json!({"admin_pass": "other"})), None, ON).unwrap();
    assert_ne!(*read_on.canonical, *other.canonical);
    assert_ne!(*read_on.canonical, *read_off.canonical);
    for (odd, warning) in [
        (serde_json::json!(""), None),
        (serde_json::json!(null), None),
        (serde_json::json!(12), Some("meta_data.json: admin_pass: not a string: ignored")),
        (
            serde_json::json!("a\nb"),
            Some("meta_data.json: admin_pass: holds a newline or control character (value not shown): ignored"),
        ),
    ] {
        let read = read(&meta(serde_json::json!({ "admin_pass": odd })), None, ON).unwrap();
        assert_eq!(read.settings.password, None, "{odd}");
        assert_eq!(read.warnings.first().map(String::as_str), warning, "{odd}");
    }
}

#[test]
fn keys_from_public_keys_and_keys_each_once() {
    let other = ED25519.replace("alice", "bob").replace("AAAAIF3g", "AAAAIF4g");
    let read = read(
        &meta(serde_json::json!({
            "public_keys": {"alice": ED25519, "broken": "ssh-ed25519 AAAA broken", "number": 5},
            "keys": [
                {"name": "alice", "type": "ssh", "data": ED25519},
                {"name": "bob", "type": "ssh", "data": other},
                {"name": "x509", "type": "x509", "data": "-----BEGIN CERTIFICATE-----"},
                {"name": "nodata", "type": "ssh"}
            ]
        })),
        None,
        ON,
    )
    .unwrap();
    let keys = read.settings.ssh_keys.unwrap();
    assert_eq!(keys.iter().map(|k| k.comment().unwrap()).collect::<Vec<_>>(), ["alice@example", "bob@example"]);
    assert_eq!(read.warnings.len(), 3, "{:#?}", read.warnings);
    assert!(
        read.warnings[0].starts_with("meta_data.json: public_keys.broken: ssh-ed25519 key"),
        "{:#?}",
        read.warnings
    );
    assert_eq!(read.warnings[1], "meta_data.json: public_keys.number: not a string: skipped");
    assert_eq!(read.warnings[2], "meta_data.json: keys[3]: no data: skipped");
    // Listed, but none valid: root's keys are left as they are.
    let unsure = super::read(&meta(serde_json::json!({"public_keys": {"a": "nonsense"}})), None, ON).unwrap();
    assert_eq!(unsure.settings.ssh_keys, None);
    assert!(unsure.warnings.last().unwrap().ends_with("root's SSH keys left as they are"));
}

#[test]
fn without_a_valid_uuid_nothing_is_believed() {
    for (bytes, why) in [
        (b"{}".to_vec(), "no uuid"),
        (br#"{"uuid": 7}"#.to_vec(), "uuid: not a string"),
        (br#"{"uuid": "a b"}"#.to_vec(), "is not an instance id"),
        (br#"{"uuid": ""}"#.to_vec(), "is not an instance id"),
        (b"[1]".to_vec(), "not a JSON object"),
        (b"<html>".to_vec(), "not JSON"),
        (vec![b' '; MAX_JSON_BYTES + 1], "larger than"),
    ] {
        let e = read(&bytes, None, ON).unwrap_err();
        assert!(e.starts_with("meta_data.json: ") && e.contains(why), "{e}");
    }
}

/// The link whose network has the default route is eth0; another NIC with
/// a gateway routes its own replies; MACs match in any case; a second IPv4
/// network is a secondary address; IPv6 masks are expanded; IPv6 routes
/// other than the default one are the NIC's, a bad one a warning naming it.
#[test]
fn a_multi_nic_static_network() {
    let network_data = network(serde_json::json!({
        "links": [
            {"id": "a", "type": "vif", "ethernet_mac_address": "FA:16:3E:00:00:0A", "mtu": null},
            {"id": "b", "type": "ovs", "ethernet_mac_address": "fa:16:3e:00:00:0b"},
            {"id": "c", "type": "weird", "ethernet_mac_address": "fa:16:3e:00:00:0c", "mtu": 9000}
        ],
        "networks": [
            {"id": "n0", "link": "a", "type": "ipv4", "ip_address": "10.0.1.5", "netmask": "255.255.255.0",
             "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.1.1"}]},
            {"id": "n1", "link": "b", "type": "ipv4", "ip_address": "10.0.2.5", "netmask": "255.255.255.0",
             "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.0.2.1"},
                        {"network": "172.16.0.0", "netmask": "255.240.0.0", "gateway": "10.0.2.1"}],
             "services": [{"type": "dns", "address": "10.0.2.53"}]},
            {"id": "n2", "link": "b", "type": "ipv4", "ip_address": "10.0.2.6", "netmask": "255.255.255.0"},
            {"id": "n3", "link": "b", "type": "ipv6", "ip_address": "2001:db8:2::5", "netmask": "ffff:ffff:ffff:ffff::",
             "routes": [{"network": "::", "netmask": "::", "gateway": "fe80::1"},
                        {"network": "2001:db8:9::", "netmask": "ffff:ffff:ffff:ffff::", "gateway": "fe80::1"},
                        {"network": "fd30::", "netmask": "48", "gateway": "fe80::f001"},
                        {"network": "fd31::1", "netmask": "ffff:ffff:ffff::", "gateway": "fe80::1"},
                        {"network": "fd32::", "netmask": "ffff:0:ffff::", "gateway": "fe80::1"},
                        {"network": "fd33::", "netmask": "ffff:ffff:ffff::", "gateway": "2001:db8:3::1"}]},
            {"id": "n4", "link": "c", "type": "ipv4", "ip_address": "10.0.3.5", "netmask": "255.255.255.128"},
            {"id": "n5", "link": "nowhere", "type": "ipv4", "ip_address": "10.0.4.5", "netmask": "255.255.255.0"}
        ],
        "services": [{"type": "dns", "address": "10.0.0.53"}, {"type": "dns", "address": "2001:db8::53"}, {"type": "ntp", "address": "x"}]
    }));
    // The default route comes first in the list of a link listed second.
    let read = read(&meta(serde_json::json!({})), Some(&network_data), ON).unwrap();
    let mut a = Nic::new(0, mac("fa:16:3e:00:00:0a"), ip4("10.0.1.5"), 24);
    a.gateway = Some(ip4("10.0.1.1"));
    a.routes = vec![Route::default_via(ip4("10.0.1.1"))];
    let mut b = Nic::new(1, mac("fa:16:3e:00:00:0b"), ip4("10.0.2.5"), 24);
    b.gateway = Some(ip4("10.0.2.1"));
    b.routes = vec![route("172.16.0.0", 12, "10.0.2.1")];
    b.secondary = vec![(ip4("10.0.2.6"), 24)];
    b.ipv6 = vec![("2001:db8:2::5".parse::<Ipv6Addr>().unwrap(), 64)];
    b.ipv6_gateway = Some("fe80::1".parse().unwrap());
    b.ipv6_routes = vec![
        Route6 { dest: "2001:db8:9::".parse().unwrap(), prefix: 64, via: "fe80::1".parse().unwrap() },
        Route6 { dest: "fd30::".parse().unwrap(), prefix: 48, via: "fe80::f001".parse().unwrap() },
    ];
    b.table = Some(1001);
    let c = Nic { mtu: Some(9000), ..Nic::new(2, mac("fa:16:3e:00:00:0c"), ip4("10.0.3.5"), 25) };
    assert_eq!(read.settings.nics, [a, b, c]);
    assert_eq!(read.settings.nameservers, [ip("10.0.0.53"), ip("10.0.2.53")]);
    assert_eq!(
        read.warnings,
        [
            "network_data.json: links[2].type: \"weird\" is not a known link type: taken as a physical NIC",
            "network_data.json: networks[3].routes[4]: netmask ffff:0:ffff:: is not a contiguous IPv6 mask: ignored",
            "network_data.json: networks[5].link: \"nowhere\" is no link listed: network ignored",
            "network_data.json: networks[3].routes[3]: fd31::1/48 has host bits set (did you mean fd31::/48?): ignored",
            "network_data.json: networks[3].routes[5]: 2001:db8:3::1 is neither link-local nor on a prefix of eth1: ignored",
            "network_data.json: services: 2001:db8::53: eth0, the primary NIC, has no IPv6 address: skipped",
        ]
    );
}

/// SLAAC beside a static IPv4 address, and a link with a static IPv6
/// address only, are applied; a bond with an address of its own, its
/// members after the addressed NICs, carrying no address.
#[test]
fn slaac_ipv6_only_and_bond_links_are_applied() {
    let network_data = network(serde_json::json!({
        "links": [
            {"id": "p0", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01"},
            {"id": "p1", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:02"},
            {"id": "bond0", "type": "bond", "bond_links": ["p0", "p1"], "bond_mode": "active-backup", "ethernet_mac_address": "fa:16:3e:00:00:01"},
            {"id": "p3", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:03"},
            {"id": "p4", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:04"}
        ],
        "networks": [
            {"link": "bond0", "type": "ipv4", "ip_address": "10.0.0.5", "netmask": "255.255.255.0"},
            {"link": "p3", "type": "ipv4", "ip_address": "10.0.3.5", "netmask": "255.255.255.0"},
            {"link": "p3", "type": "ipv6_slaac"},
            {"link": "p4", "type": "ipv6", "ip_address": "2001:db8::4/64"}
        ]
    }));
    let read = read(&meta(serde_json::json!({})), Some(&network_data), ON).unwrap();
    let bond = Bond {
        number: 0,
        members: vec![mac("fa:16:3e:00:00:01"), mac("fa:16:3e:00:00:02")],
        mode: "active-backup".into(),
        miimon: None,
        xmit_hash_policy: None,
    };
    let bond0 = Nic { kind: Some(NicKind::Bond(bond)), ..Nic::new(0, mac("fa:16:3e:00:00:01"), ip4("10.0.0.5"), 24) };
    let slaac = Nic { ipv6_auto: Some(Ipv6Auto::Slaac), ..Nic::new(1, mac("fa:16:3e:00:00:03"), ip4("10.0.3.5"), 24) };
    let v6_only =
        Nic { ipv6: vec![("2001:db8::4".parse().unwrap(), 64)], ..Nic::automatic(2, mac("fa:16:3e:00:00:04")) };
    let members = [Nic::automatic(3, mac("fa:16:3e:00:00:01")), Nic::automatic(4, mac("fa:16:3e:00:00:02"))];
    let want = [bond0, slaac, v6_only, members[0].clone(), members[1].clone()];
    assert_eq!(read.settings.nics, want, "{:#?}", read.warnings);
    assert_eq!(read.warnings, Vec::<String>::new());
    assert_eq!(read.settings.nics[0].label(), "bond0");
}

/// cloud-init's `NETWORK_DATA_BOND`: an 802.3ad bond (mode "4") of two
/// links with two VLANs on it, the first carrying the default route; the
/// bond itself has no network, so it and its members follow, unaddressed.
#[test]
fn cloud_init_bond_with_vlans() {
    let read = read_fixture("cloud-init/bond");
    let labels: Vec<String> = read.settings.nics.iter().map(Nic::label).collect();
    assert_eq!(labels, ["bond0.602", "bond0.612", "eth2", "eth3", "bond0"]);
    let [vlan602, vlan612, eth2, eth3, bond0] = &read.settings.nics[..] else { panic!("{labels:?}") };
    assert_eq!(vlan602.vlan(), Some(&Vlan { parent: Parent::Bond(0), id: 602 }));
    assert_eq!(vlan602.ipv4(), Some((ip4("2.2.2.13"), 29)));
    assert_eq!(vlan602.routes, [Route::default_via(ip4("2.2.2.9"))]);
    assert_eq!(vlan612.vlan(), Some(&Vlan { parent: Parent::Bond(0), id: 612 }));
    assert_eq!(vlan612.routes, [route("192.168.1.0", 32, "10.0.1.1")]);
    assert_eq!((eth2.mac, eth2.mtu, eth2.is_addressed()), (mac("0c:c4:7a:34:6e:3c"), Some(1500), false));
    assert_eq!((eth3.mac, eth3.is_addressed()), (mac("0c:c4:7a:34:6e:3d"), false));
    let bond = Bond {
        number: 0,
        members: vec![eth2.mac, eth3.mac],
        mode: "802.3ad".into(),
        miimon: Some(100),
        xmit_hash_policy: Some("layer3+4".into()),
    };
    assert_eq!(bond0.bond(), Some(&bond));
    assert_eq!((bond0.mac, bond0.is_addressed()), (mac("fa:16:3e:b3:72:36"), false));
    assert_eq!(read.settings.nameservers, [ip("1.1.1.191"), ip("1.1.1.4")]);
    assert_eq!(read.warnings, Vec::<String>::new());
}

/// cloud-init's `NETWORK_DATA_VLAN`: a VLAN on a link with no network of
/// its own, which follows it to carry it.
#[test]
fn cloud_init_vlan_on_a_physical_link() {
    let read = read_fixture("cloud-init/vlan");
    let vlan = Nic {
        kind: Some(NicKind::Vlan(Vlan { parent: Parent::Nic(1), id: 602 })),
        routes: vec![route("192.168.1.0", 32, "10.0.1.1")],
        ..Nic::new(0, mac("fa:16:3e:b3:72:30"), ip4("10.0.1.5"), 29)
    };
    let parent = Nic { mtu: Some(1500), ..Nic::automatic(1, mac("fa:16:3e:69:b0:58")) };
    assert_eq!(read.settings.nics, [vlan, parent]);
    assert_eq!(read.settings.nics[0].label(), "eth1.602");
    assert_eq!(read.warnings, Vec::<String>::new());
}

/// A bond or VLAN osconf cannot build is left to the image with a warning
/// naming it; everything else applies.
#[test]
fn odd_bonds_and_vlans_are_warnings_and_left_to_the_image() {
    let network_data = network(serde_json::json!({
        "links": [
            {"id": "p0", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01"},
            {"id": "p1", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:02"},
            {"id": "p2", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:03"},
            {"id": "b0", "type": "bond", "bond_links": ["p0", "nowhere"]},
            {"id": "b1", "type": "bond", "bond_links": ["p0"], "bond_mode": "lacp"},
            {"id": "b2", "type": "bond", "bond_links": ["p0", "p1"], "bond_mode": 6, "bond_miimon": -1, "bond_xmit_hash_policy": "layer9"},
            {"id": "b3", "type": "bond", "bond_links": ["p1"]},
            {"id": "v0", "type": "vlan", "vlan_link": "nowhere", "vlan_id": 5},
            {"id": "v1", "type": "vlan", "vlan_link": "p2", "vlan_id": 4095},
            {"id": "v2", "type": "vlan", "vlan_link": "p0", "vlan_id": 7},
            {"id": "v3", "type": "vlan", "vlan_link": "p2", "vlan_id": "8"}
        ],
        "networks": [
            {"link": "p0", "type": "ipv4_dhcp"},
            {"link": "b2", "type": "ipv4_dhcp"},
            {"link": "v3", "type": "ipv4_dhcp"}
        ]
    }));
    let read = read(&meta(serde_json::json!({})), Some(&network_data), ON).unwrap();
    let labels: Vec<String> = read.settings.nics.iter().map(Nic::label).collect();
    assert_eq!(labels, ["bond2", "eth4.8", "eth2", "eth3", "eth4"], "{:#?}", read.warnings);
    let bond = read.settings.nics[0].bond().unwrap();
    assert_eq!((bond.mode.as_str(), bond.miimon, bond.xmit_hash_policy.as_deref()), ("balance-alb", None, None));
    let n = "network_data.json";
    assert_eq!(
        read.warnings,
        [
            format!("{n}: links[3].bond_links: \"nowhere\" is no physical link listed: the bond is left to the image's own configuration"),
            format!("{n}: links[4].bond_mode: \"lacp\" is not a bonding mode (balance-rr, active-backup, balance-xor, broadcast, 802.3ad, balance-tlb, balance-alb or 0 to 6): the bond is left to the image's own configuration"),
            format!("{n}: links[5].bond_miimon: -1 is not a non-negative integer: ignored"),
            format!("{n}: links[5].bond_xmit_hash_policy: \"layer9\" is not a transmit hash policy (layer2, layer2+3, layer3+4, encap2+3, encap3+4): ignored"),
            format!("{n}: links[6].bond_links: \"p1\" is listed twice or in another bond: the bond is left to the image's own configuration"),
            format!("{n}: links[7].vlan_link: \"nowhere\" is no physical or bond link listed: the VLAN is left to the image's own configuration"),
            format!("{n}: links[8].vlan_id: 4095 is not a VLAN id (1 to 4094): the VLAN is left to the image's own configuration"),
            format!("{n}: links[9].vlan_link: \"p0\" is a bond's member: the VLAN is left to the image's own configuration"),
            format!("{n}: networks[0].link: \"p0\" is a bond's member, which carries no address: network ignored"),
        ]
    );
}

/// DHCP beside a static IPv4 address is not applied (the static one is);
/// two IPv6 modes: the first; an MTU out of range or not a number: ignored.
#[test]
fn conflicting_modes_and_odd_mtus_are_warnings() {
    let network_data = network(serde_json::json!({
        "links": [
            {"id": "a", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:0a", "mtu": 40},
            {"id": "b", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:0b", "mtu": "1500"},
            {"id": "c", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:0c", "mtu": 1450}
        ],
        "networks": [
            {"link": "a", "type": "ipv4_dhcp"},
            {"link": "a", "type": "ipv4", "ip_address": "10.0.1.5", "netmask": "255.255.255.0"},
            {"link": "b", "type": "ipv4", "ip_address": "10.0.2.5", "netmask": "255.255.255.0"},
            {"link": "b", "type": "ipv4_dhcp"},
            {"link": "c", "type": "ipv6_slaac"},
            {"link": "c", "type": "ipv6_dhcpv6-stateful"},
            {"link": "c", "type": "ipv6_slaac"}
        ]
    }));
    let read = read(&meta(serde_json::json!({})), Some(&network_data), ON).unwrap();
    let a = Nic::new(0, mac("fa:16:3e:00:00:0a"), ip4("10.0.1.5"), 24);
    let b = Nic::new(1, mac("fa:16:3e:00:00:0b"), ip4("10.0.2.5"), 24);
    let c = Nic { ipv6_auto: Some(Ipv6Auto::Slaac), mtu: Some(1450), ..Nic::automatic(2, mac("fa:16:3e:00:00:0c")) };
    assert_eq!(read.settings.nics, [a, b, c]);
    assert_eq!(
        read.warnings,
        [
            "network_data.json: links[0].mtu: \"40\" is not an MTU (68 to 65535): ignored",
            "network_data.json: links[1].mtu: \"1500\" is not an integer: ignored",
            "network_data.json: networks[0].type: the link has a static IPv4 address (networks[1]): DHCP is not applied",
            "network_data.json: networks[3].type: ipv4_dhcp: the link has a static IPv4 address: DHCP is not applied",
            "network_data.json: networks[5].type: ipv6_dhcpv6-stateful: the link takes IPv6 by SLAAC already: ignored",
        ]
    );
}

#[test]
fn odd_values_are_warnings_naming_them() {
    let network_data = network(serde_json::json!({
        "links": [
            {"id": "a", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:0a"},
            {"id": "b", "type": "phy", "ethernet_mac_address": "not a mac"},
            {"id": "c", "type": "phy"},
            {"type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:0d"},
            {"id": "a", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:0e"},
            7
        ],
        "networks": [
            {"link": "a", "type": "ipv4", "ip_address": "10.0.1.5", "netmask": "255.255.255.0",
             "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "10.9.9.9"},
                        {"network": "10.1.0.0", "netmask": "255.0.255.0", "gateway": "10.0.1.1"},
                        {"network": "10.2.0.1", "netmask": "255.255.0.0", "gateway": "10.0.1.1"},
                        "route"]},
            {"link": "a", "type": "ipv6", "ip_address": "fe80::5", "netmask": "ffff:ffff:ffff:ffff::"},
            {"link": "a", "type": "ipv6", "ip_address": "2001:db8::5", "netmask": "ffff:0:ffff::"},
            "network"
        ],
        "services": [{"type": "dns", "address": "127.0.0.1"}, {"type": "dns"}]
    }));
    let read =
        read(&meta(serde_json::json!({"hostname": "-bad-.example", "public_keys": [1]})), Some(&network_data), ON)
            .unwrap();
    let nic = Nic::new(0, mac("fa:16:3e:00:00:0a"), ip4("10.0.1.5"), 24);
    assert_eq!(read.settings.nics, [nic]);
    assert_eq!(read.settings.hostname, None);
    let warnings = read.warnings.join("\n");
    for expected in [
        "meta_data.json: hostname: \"-bad-\" is not a valid host name",
        "meta_data.json: public_keys: not an object: ignored",
        "network_data.json: links[1].ethernet_mac_address: \"not a mac\" is not a MAC address",
        "network_data.json: links[2].ethernet_mac_address: missing or not a string: link ignored",
        "network_data.json: links[3]: no id: ignored",
        "network_data.json: links[4]: id \"a\" or MAC fa:16:3e:00:00:0e given twice: link ignored",
        "network_data.json: links[5]: no id: ignored",
        "network_data.json: networks[0].routes[1]: 255.0.255.0 is not a contiguous netmask: ignored",
        "network_data.json: networks[0].routes[2]: 10.2.0.1 is not the network of /16: ignored",
        "network_data.json: networks[0].routes[3]: no network: ignored",
        "network_data.json: networks[1].ip_address: fe80::5 cannot be a NIC's configured IPv6 address: ignored",
        "network_data.json: networks[2].ip_address: netmask ffff:0:ffff:: is not a contiguous IPv6 mask: ignored",
        "network_data.json: networks[3]: not an object: ignored",
        "network_data.json: services[0].address: 127.0.0.1 cannot be a host's address: skipped",
        "network_data.json: services[1].address: missing or not a string: skipped",
        "network_data.json: networks[0].routes[0].gateway: 10.9.9.9 is not on eth0's subnet 10.0.1.0/24: ignored",
    ] {
        assert!(warnings.contains(expected), "{expected}\nnot in:\n{warnings}");
    }
    assert_eq!(read.warnings.len(), 16, "{warnings}");
}

/// Any JSON at all: `Ok` or an error, never a panic; a bad network_data.json
/// is a warning and the rest applies.
#[test]
fn hostile_json_is_an_error_or_a_warning_never_a_panic() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!("{{\"uuid\":\"x\",\"meta\":{}{}}}", "{\"a\":".repeat(5000), "}".repeat(5001));
    let hostile: Vec<Vec<u8>> = vec![
        deep.clone().into_bytes(),
        deep_object.into_bytes(),
        br#"{"uuid": "x", "hostname": 1e999}"#.to_vec(),
        br#"{"uuid": "x", "hostname": 123456789012345678901234567890}"#.to_vec(),
        br#"{"uuid": "x", "hostname": ["a"], "public_keys": "k", "keys": {"a": 1}, "admin_pass": {}}"#.to_vec(),
        br#"{"uuid": "x", "links": "#.to_vec(),
        b"\xff\xfe{}".to_vec(),
        b"".to_vec(),
        b"null".to_vec(),
    ];
    let good_meta = meta(serde_json::json!({"hostname": "host"}));
    for bytes in &hostile {
        let _ = read(bytes, None, ON);
        let read = read(&good_meta, Some(bytes), ON).unwrap();
        assert_eq!(read.settings.hostname.as_deref(), Some("host"));
        assert_eq!(read.settings.nics, []);
    }
    let read = super::read(&good_meta, Some(deep.as_bytes()), ON).unwrap();
    assert!(
        read.warnings[0].starts_with("network_data.json: not JSON (recursion limit exceeded"),
        "{:?}",
        read.warnings
    );
    let wrong_types = network(serde_json::json!({
        "links": {"a": 1}, "networks": "x", "services": 5
    }));
    let read = super::read(&good_meta, Some(&wrong_types), ON).unwrap();
    assert_eq!(
        read.warnings,
        [
            "network_data.json: links: not a list: ignored",
            "network_data.json: services: not a list: ignored",
            "network_data.json: networks: not a list: ignored"
        ]
    );
}

/// The first label is the host name; the full name goes to /etc/hosts only
/// when valid as a whole.
#[test]
fn host_name_and_full_name() {
    for (given, hostname, fqdn, warning) in [
        ("ecs-ddd4.novalocal", Some("ecs-ddd4"), Some("ecs-ddd4.novalocal"), None),
        ("plain", Some("plain"), None, None),
        ("h.-bad-", Some("h"), None, Some("meta_data.json: hostname: \"h.-bad-\" is not a valid host name: a label may not start or end with '-' or '_': /etc/hosts gets the first label only")),
        ("localhost.localdomain", None, None, Some("meta_data.json: hostname: \"localhost\" is not a valid host name: it names the loopback host, not this one (localhost is 127.0.0.1 in /etc/hosts): ignored")),
    ] {
        let read = read(&meta(serde_json::json!({ "hostname": given })), None, ON).unwrap();
        assert_eq!((read.settings.hostname.as_deref(), read.settings.fqdn.as_deref()), (hostname, fqdn), "{given}");
        assert_eq!(read.warnings.first().map(String::as_str), warning, "{given}");
    }
}

/// Forms seen in cloud-init's `OS_SAMPLES`: an IPv6 netmask empty (/64) or
/// given as a length ("64"); a second IPv4 network on the link with a mask
/// of its own (a /24 beside a /22) keeps it.
#[test]
fn ipv6_lengths_as_text_and_secondary_networks_with_their_own_mask() {
    let network_data = network(serde_json::json!({
        "links": [{"id": "a", "type": "bridge", "ethernet_mac_address": "fa:16:3e:ed:9a:59"}],
        "networks": [
            {"link": "a", "type": "ipv4", "ip_address": "172.19.1.34", "netmask": "255.255.252.0",
             "routes": [{"network": "0.0.0.0", "netmask": "0.0.0.0", "gateway": "172.19.3.254"}]},
            {"link": "a", "type": "ipv4", "ip_address": "10.0.0.10", "netmask": "255.255.255.0"},
            {"link": "a", "type": "ipv6", "ip_address": "2001:DB8::10", "netmask": ""},
            {"link": "a", "type": "ipv6", "ip_address": "2001:DB9::10", "netmask": "64"},
            {"link": "a", "type": "ipv6", "ip_address": "2001:DBA::10", "netmask": "129"}
        ]
    }));
    let read = read(&meta(serde_json::json!({})), Some(&network_data), ON).unwrap();
    let nic = &read.settings.nics[0];
    assert_eq!(nic.secondary, [(ip4("10.0.0.10"), 24)]);
    let v6: Vec<(Ipv6Addr, u8)> = vec![("2001:db8::10".parse().unwrap(), 64), ("2001:db9::10".parse().unwrap(), 64)];
    assert_eq!(nic.ipv6, v6);
    assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
    assert!(read.warnings[0].contains("\"129\" is not an IPv6 prefix length"), "{:?}", read.warnings);
}

/// A bond no network addresses, with no VLAN on it, is left to the image
/// as an unaddressed physical link is: its members too.
#[test]
fn a_bond_without_a_network_is_left_to_the_image_with_its_members() {
    let network_data = network(serde_json::json!({
        "links": [
            {"id": "p0", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:01"},
            {"id": "p1", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:02"},
            {"id": "b0", "type": "bond", "bond_links": ["p0", "p1"], "bond_mode": "1"},
            {"id": "p2", "type": "phy", "ethernet_mac_address": "fa:16:3e:00:00:03"}
        ],
        "networks": [{"link": "p2", "type": "ipv4_dhcp"}]
    }));
    let read = read(&meta(serde_json::json!({})), Some(&network_data), ON).unwrap();
    assert_eq!(read.settings.nics, [Nic { dhcp4: true, ..Nic::automatic(0, mac("fa:16:3e:00:00:03")) }]);
    assert_eq!(read.warnings, Vec::<String>::new());
}
