//! Parser and validation tests: both samples of PLATFORM.md, then every kind of bad value.

use std::net::{IpAddr, Ipv4Addr};

use zeroize::Zeroizing;

use super::*;
use crate::settings::{values, Password, Route};

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn route(dest: &str, prefix: u8, via: &str) -> Route {
    Route { dest: ip(dest), prefix, via: ip(via) }
}

const CLASSIC: &str = include_str!("../../../examples/classic.conf");
const TENCENT_DROP: &str = include_str!("../../../examples/tencent.conf");

#[test]
fn alibaba_classic_sample() {
    let s = from_drop(CLASSIC.as_bytes(), ALIBABA).unwrap();
    assert_eq!(s.hostname.as_deref(), Some("iZ23r29djmjZ"));
    assert_eq!(s.password, Some(Password::Plain(Zeroizing::new("qwHr1234".into()))));
    assert_eq!(s.nameservers, vec![IpAddr::V4(ip("7.7.7.7")), IpAddr::V4(ip("8.8.8.8"))]);
    assert!(s.is_classic());
    assert_eq!(s.nics.len(), 2);
    let eth0 = &s.nics[0];
    assert_eq!((eth0.label(), eth0.mac.to_string()), ("eth0".to_string(), "00:8c:fa:5e:14:23".to_string()));
    assert_eq!((eth0.address, eth0.prefix, eth0.gateway), (Some(ip("10.171.254.123")), 24, Some(ip("10.171.254.1"))));
    assert_eq!(eth0.routes, vec![route("10.0.0.0", 8, "10.171.254.1"), route("172.16.0.0", 12, "10.171.254.1")]);
    assert_eq!(eth0.default_route(), None);
    let eth1 = &s.nics[1];
    assert_eq!(eth1.routes, vec![route("0.0.0.0", 0, "42.120.74.1")]);
    assert_eq!(s.primary_address(), Some(ip("10.171.254.123")));
}

#[test]
fn tencent_sample_keeps_the_hash_and_defaults_the_route_to_the_gateway() {
    let s = from_drop(TENCENT_DROP.as_bytes(), TENCENT).unwrap();
    // '_' becomes '-': the one name the kernel, /etc/hostname (which systemd
    // would strip of '_') and /etc/hosts all carry.
    assert_eq!(s.hostname.as_deref(), Some("VM-10-20-xxxx"));
    assert!(matches!(&s.password, Some(Password::Hash(h)) if h.starts_with("$6$saltsaltsalt$")));
    assert_eq!(s.nics[0].mac.to_string(), "52:54:00:e1:96:eb");
    assert_eq!(s.nics[0].prefix, 18);
    assert_eq!(s.nics[0].routes, vec![route("0.0.0.0", 0, "10.104.0.1")]);
    assert_eq!(s.nameservers.len(), 3);
}

#[test]
fn classic_gateway_without_route_gives_eth1_the_default_route_only() {
    let drop = "eth0_ip_addr=10.0.0.2\neth0_mac_addr=52:54:00:00:00:01\neth0_netmask=255.0.0.0\neth0_gateway=10.0.0.1\n\
                eth1_ip_addr=192.0.2.2\neth1_mac_addr=52:54:00:00:00:02\neth1_netmask=255.255.255.0\neth1_gateway=192.0.2.1\n";
    let s = from_drop(drop.as_bytes(), ALIBABA).unwrap();
    assert_eq!(s.nics[0].routes, vec![]);
    assert_eq!(s.nics[1].routes, vec![route("0.0.0.0", 0, "192.0.2.1")]);
}

/// The default route's NIC is the dialect's own choice, not read off the
/// password's encoding: a Base64 password with eth0 as the carrier.
#[test]
fn the_carrier_is_the_dialects_whatever_the_password_form() {
    let drop = "password=YQ==\n\
                eth0_ip_addr=10.0.0.2\neth0_mac_addr=52:54:00:00:00:01\neth0_netmask=255.0.0.0\neth0_gateway=10.0.0.1\n\
                eth1_ip_addr=192.0.2.2\neth1_mac_addr=52:54:00:00:00:02\neth1_netmask=255.255.255.0\neth1_gateway=192.0.2.1\n";
    let dialect = Dialect { carrier: Carrier::FirstNic, ..ALIBABA };
    let s = from_drop(drop.as_bytes(), dialect).unwrap();
    assert!(matches!(&s.password, Some(Password::Plain(p)) if p.as_str() == "a"));
    assert_eq!(s.nics[0].routes, vec![route("0.0.0.0", 0, "10.0.0.1")]);
    assert_eq!(s.nics[1].routes, vec![]);
    // Alibaba's own carrier: the internet-facing eth1.
    assert_eq!(from_drop(drop.as_bytes(), ALIBABA).unwrap().nics[1].routes, vec![route("0.0.0.0", 0, "192.0.2.1")]);
}

#[test]
fn tencent_with_two_nics_takes_the_default_route_via_eth0_gateway() {
    let drop = "eth0_ip_addr=10.0.0.2\neth0_mac_addr=52:54:00:00:00:01\neth0_netmask=255.0.0.0\neth0_gateway=10.0.0.1\n\
                eth1_ip_addr=192.0.2.2\neth1_mac_addr=52:54:00:00:00:02\neth1_netmask=255.255.255.0\neth1_gateway=192.0.2.1\n";
    let s = from_drop(drop.as_bytes(), TENCENT).unwrap();
    assert_eq!(s.nics[0].routes, vec![route("0.0.0.0", 0, "10.0.0.1")]);
    assert_eq!(s.nics[1].routes, vec![]);
}

#[test]
fn any_number_of_nics_in_index_order() {
    let mut drop = String::new();
    for n in [7, 0, 12, 3] {
        drop +=
            &format!("eth{n}_ip_addr=10.{n}.0.2\neth{n}_mac_addr=52:54:00:00:00:{n:02x}\neth{n}_netmask=255.255.0.0\n");
    }
    let s = from_drop(drop.as_bytes(), ALIBABA).unwrap();
    assert_eq!(s.nics.iter().map(|n| n.index).collect::<Vec<_>>(), vec![0, 3, 7, 12]);
}

#[test]
fn unknown_keys_are_ignored() {
    let s = from_drop(b"hostname=a\nfuture_key=1\neth0_mtu=9000\neth0_ip_addr=10.0.0.2\neth0_mac_addr=52:54:00:00:00:01\neth0_netmask=255.0.0.0\n", ALIBABA).unwrap();
    assert_eq!(s.hostname.as_deref(), Some("a"));
    assert_eq!(s.nics.len(), 1);
}

#[test]
fn password_strips_one_newline_only() {
    // "a\n\n" in Base64
    let s = from_drop(b"password=YQoK", ALIBABA);
    assert!(s.unwrap_err().message.contains("newline"));
    let s = from_drop(b"password=YQ==", ALIBABA).unwrap();
    assert_eq!(s.password, Some(Password::Plain(Zeroizing::new("a".into()))));
}

#[test]
fn debug_never_shows_the_password() {
    let s = from_drop(b"password=cXdIcjEyMzQK", ALIBABA).unwrap();
    let shown = format!("{s:?}");
    assert!(!shown.contains("qwHr1234") && shown.contains("redacted"), "{shown}");
}

/// The password's Base64 (every drop value), its decoded text and the
/// drop's bytes are held in `Zeroizing` buffers, wiped when dropped: this
/// does not compile if one of them becomes a plain `String` or `Vec`.
#[test]
fn the_password_and_the_drop_are_held_in_buffers_wiped_when_dropped() {
    fn wiped<T: zeroize::Zeroize>(_: &Zeroizing<T>) {}
    fn drop_content_is_wiped(found: &crate::sources::Found) {
        wiped(&found.content)
    }
    let _ = drop_content_is_wiped;
    let entries = parse(b"password=cXdIcjEyMzQK\n").unwrap();
    wiped(&entries[0].value);
    let s = from_entries(&entries, ALIBABA).unwrap();
    let Some(Password::Plain(text)) = &s.password else { panic!("{s:?}") };
    wiped(text);
    assert_eq!(text.as_str(), "qwHr1234");
}

/// (drop, key named, line named, words in the message)
fn bad(drop: &str, key: &str, line: usize, words: &str) {
    let e = from_drop(drop.as_bytes(), ALIBABA).unwrap_err();
    assert_eq!((e.key.as_str(), e.line), (key, Some(line)), "{drop:?} -> {e}");
    assert!(e.to_string().contains(words), "{drop:?} -> {e} (wanted {words:?})");
    assert!(e.to_string().starts_with(&format!("line {line}: ")), "{e}");
}

const NIC0: &str = "eth0_ip_addr=10.0.0.2\neth0_mac_addr=52:54:00:00:00:01\neth0_netmask=255.255.255.0\n";

#[test]
fn bad_host_names() {
    bad("hostname=", "hostname", 1, "empty");
    bad("\nhostname=a..b", "hostname", 2, "label");
    bad("hostname=-ab", "hostname", 1, "start or end");
    bad("hostname=_ab", "hostname", 1, "start or end with '-' or '_'");
    bad("hostname=a_.b", "hostname", 1, "start or end");
    bad("hostname=a/../b", "hostname", 1, "only letters");
    bad("hostname=$(touch /tmp/x)", "hostname", 1, "after the value");
    bad("hostname=\"$(touch /tmp/x)\"", "hostname", 1, "only letters");
    bad(&format!("hostname={}", "a".repeat(65)), "hostname", 1, "longer than 64");
    bad(&format!("hostname={}", "a".repeat(64)), "hostname", 1, "1 to 63");
}

/// RFC 1123 2.1: the last label is never a number (an address is not a
/// name, and `10.0.0.1` would put an alias `10` into /etc/hosts); nor is the
/// name the loopback host's.
#[test]
fn numeric_and_loopback_host_names_are_refused() {
    for name in ["10.0.0.1", "123", "a.123", "1e10", "2E-3", "0x10", "0X1f", "a.0o17", "0b101", "a.1E_5"] {
        bad(&format!("\nhostname={name}"), "hostname", 2, "last label reads as a number");
    }
    for name in [
        "localhost",
        "LOCALHOST",
        "localhost.localdomain",
        "LocalHost.LocalDomain",
        "a.localhost",
        "ip6-localhost",
        "localhost6",
    ] {
        bad(&format!("hostname={name}"), "hostname", 1, "loopback");
    }
    // What clouds and users name hosts, digits and all.
    for name in [
        "iZ23r29djmjZ",
        "ecs-ddd4.novalocal",
        "host-10",
        "a.b1",
        "10.0.0.1a",
        "1e10x",
        "0x1g",
        "nan",
        "inf",
        "e10",
        "my-localhost",
        "localhostx.example",
    ] {
        let drop = format!("hostname={name}\n");
        let s = from_drop(drop.as_bytes(), ALIBABA).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(s.hostname.as_deref(), Some(name));
    }
    let s = from_drop(b"hostname=VM_10_20_xxxx\n", ALIBABA).unwrap();
    assert_eq!(s.hostname.as_deref(), Some("VM-10-20-xxxx"));
}

#[test]
fn bad_passwords_do_not_echo_the_value() {
    bad("password=", "password", 1, "empty");
    bad("password=Cg==", "password", 1, "empty");
    bad("password=not*base64", "password", 1, "Base64");
    bad("password=//79", "password", 1, "not UTF-8");
    let e = from_drop(b"password=not*base64", ALIBABA).unwrap_err();
    assert!(!e.to_string().contains("not*base64"));
    let e = from_drop(b"password=plaintext", TENCENT).unwrap_err();
    assert!(e.to_string().contains("crypt hash") && !e.to_string().contains("plaintext"));
}

#[test]
fn bad_addresses_and_masks() {
    bad(&NIC0.replace("10.0.0.2", "10.0.0.256"), "eth0_ip_addr", 1, "not an IPv4 address");
    bad(&NIC0.replace("10.0.0.2", "010.0.0.2"), "eth0_ip_addr", 1, "not an IPv4 address");
    bad(&NIC0.replace("10.0.0.2", "0.0.0.0"), "eth0_ip_addr", 1, "cannot be a host");
    bad(&NIC0.replace("10.0.0.2", "224.0.0.1"), "eth0_ip_addr", 1, "cannot be a host");
    bad(&NIC0.replace("255.255.255.0", "255.0.255.0"), "eth0_netmask", 3, "contiguous");
    bad(&NIC0.replace("255.255.255.0", "0.0.0.0"), "eth0_netmask", 3, "usable");
    bad(&NIC0.replace("255.255.255.0", "24"), "eth0_netmask", 3, "not an IPv4");
    bad(&format!("{NIC0}dns_nameserver=\"1.1.1.1 x\""), "dns_nameserver", 4, "not an IPv4");
}

#[test]
fn bad_macs() {
    for mac in ["52:54:00:00:00", "52:54:00:00:00:0g", "5254.0000.0001", "00:00:00:00:00:00", "01:00:5e:00:00:01"] {
        bad(&NIC0.replace("52:54:00:00:00:01", mac), "eth0_mac_addr", 2, "MAC");
    }
}

#[test]
fn bad_gateways_and_routes() {
    bad(&format!("{NIC0}eth0_gateway=10.0.1.1"), "eth0_gateway", 4, "not on eth0's subnet");
    bad(&format!("{NIC0}eth0_gateway=10.0.0.2"), "eth0_gateway", 4, "own address");
    bad(&format!("{NIC0}eth0_route=\"10.0.0.0/8\""), "eth0_route", 4, "DEST/PREFIX GATEWAY");
    bad(&format!("{NIC0}eth0_route=\"10.0.0.0 10.0.0.1\""), "eth0_route", 4, "no /PREFIX");
    bad(&format!("{NIC0}eth0_route=\"10.0.0.0/33 10.0.0.1\""), "eth0_route", 4, "0 to 32");
    bad(&format!("{NIC0}eth0_route=\"10.0.0.0/-1 10.0.0.1\""), "eth0_route", 4, "0 to 32");
    bad(&format!("{NIC0}eth0_route=\"10.1.0.0/8 10.0.0.1\""), "eth0_route", 4, "host bits");
    bad(&format!("{NIC0}eth0_route=\"10.0.0.0/8 10.0.0.1;1.0.0.0/8 9.9.9.9\""), "eth0_route", 4, "route 2");
    bad(&format!("{NIC0}eth0_route=\"10.0.0.0/8 10.0.0.1;10.0.0.0/8 10.0.0.3\""), "eth0_route", 4, "twice");
}

#[test]
fn every_route_of_a_long_list_is_kept() {
    // The documented script's `sed 's/;/\n/'` split only the first `;`.
    let s = from_drop(
        format!("{NIC0}eth0_route=\"10.0.0.0/8 10.0.0.1; 172.16.0.0/12 10.0.0.1;192.168.0.0/16 10.0.0.1;\"").as_bytes(),
        ALIBABA,
    )
    .unwrap();
    assert_eq!(s.nics[0].routes.len(), 3);
}

#[test]
fn incomplete_or_clashing_nics() {
    bad("hostname=a\neth1_ip_addr=10.0.0.2\neth1_netmask=255.0.0.0\n", "eth1_mac_addr", 2, "missing");
    bad("eth0_mac_addr=52:54:00:00:00:01\n", "eth0_ip_addr", 1, "missing");
    let two = format!("{NIC0}{}", NIC0.replace("eth0", "eth1").replace("10.0.0.2", "10.0.0.3"));
    bad(&two, "eth1_mac_addr", 5, "also eth0's MAC");
    let two = format!("{NIC0}{}", NIC0.replace("eth0", "eth1").replace(":01", ":02"));
    bad(&two, "eth1_ip_addr", 4, "also eth0's address");
    let gw0 = format!("{NIC0}eth0_route=\"0.0.0.0/0 10.0.0.1\"\n");
    let gw1 = NIC0.replace("eth0", "eth1").replace("10.0.0", "10.0.1").replace(":01", ":02")
        + "eth1_route=\"0.0.0.0/0 10.0.1.1\"\n";
    bad(&format!("{gw0}{gw1}"), "eth1_route", 8, "second default route");
}

#[test]
fn parse_errors_carry_the_line() {
    bad("hostname=a\nthis is not an assignment\n", "", 2, "not a key=value");
    bad("hostname=a\nhostname=b\n", "hostname", 2, "twice");
}

#[test]
fn eth_keys_need_a_plain_index() {
    assert_eq!(values::nic_key("eth0_ip_addr"), Some((0, "ip_addr")));
    assert_eq!(values::nic_key("eth12_route"), Some((12, "route")));
    assert_eq!(values::nic_key("eth01_route"), None);
    assert_eq!(values::nic_key("eth_route"), None);
    assert_eq!(values::nic_key("ethx_route"), None);
}
