//! osconf's renderers against cloud-init's: the `network_data.json` samples
//! of cloud-init's `OS_SAMPLES` (tests/unittests/test_net.py, extracted
//! unchanged into `tests/fixtures/openstack/cloud-init/os-samples.json`
//! by its `extract.py`) are read by osconf's OpenStack reader and rendered
//! by its RHEL ifcfg, SUSE ifcfg and NetworkManager stacks; each file must
//! say what cloud-init's expected file for the same sample says about the
//! NIC's addressing: the same boot protocol, addresses with their masks,
//! default gateways, MAC and start mode. Name servers are left out:
//! cloud-init writes its own `dns_nameservers` extension per network,
//! osconf the `services` of `network_data.json` on the first NIC.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

use common::*;
use osconf::files::Root;
use osconf::plan::network::{render, Stack};
use osconf::sources::openstack_format::{self, Options};

const SAMPLES: &str = include_str!("fixtures/openstack/cloud-init/os-samples.json");

struct Sample {
    number: usize,
    json: serde_json::Value,
}

fn samples() -> Vec<Sample> {
    let all: Vec<serde_json::Value> = serde_json::from_str(SAMPLES).unwrap();
    assert_eq!(all.len(), 5, "cloud-init's OS_SAMPLES");
    all.into_iter().enumerate().map(|(number, json)| Sample { number, json }).collect()
}

/// What osconf's `stack` writes for the sample, by path, on a tree whose
/// NICs are named as the sample's `in_macs` says.
fn rendered(sample: &Sample, stack: &str) -> BTreeMap<String, String> {
    let tree = TempTree::new(&format!("ci-sample-{}-{stack}", sample.number));
    for (mac, name) in sample.json["in_macs"].as_object().unwrap() {
        tree.write(&format!("/sys/class/net/{}/address", name.as_str().unwrap()), &format!("{mac}\n"), 0o644);
    }
    let meta = br#"{"uuid": "83679162-1378-4288-a2d4-70e13ec132aa"}"#;
    let network = serde_json::to_vec(&sample.json["in_data"]).unwrap();
    let read = openstack_format::read(meta, Some(&network), Options { password: false }).unwrap();
    let stack = Stack::from_name(stack).unwrap();
    let out = render(stack, &read.settings, &Root::new(&tree.path), &[]).unwrap();
    out.owned.into_iter().map(|w| (w.path.trim_start_matches('/').to_owned(), w.text())).collect()
}

/// `KEY=value` lines, unquoted.
fn shell_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned()))
        .collect()
}

fn prefix_of(netmask: &str) -> u8 {
    u32::from(netmask.parse::<Ipv4Addr>().unwrap()).leading_ones() as u8
}

/// An address with its prefix, the address parsed (so case and zero
/// compression do not matter).
fn cidr(address: &str, prefix: u8) -> (IpAddr, u8) {
    (address.parse().unwrap_or_else(|_| panic!("{address}")), prefix)
}

fn with_prefix(text: &str) -> (IpAddr, u8) {
    let (address, prefix) = text.split_once('/').unwrap_or((text, "64"));
    cidr(address, prefix.parse().unwrap())
}

/// Every IPv4 and IPv6 address of a RHEL ifcfg file: `IPADDR[n]` with
/// `NETMASK[n]` or `PREFIX[n]`, `IPV6ADDR`, `IPV6ADDR_SECONDARIES`.
fn rhel_addresses(values: &BTreeMap<String, String>) -> BTreeSet<(IpAddr, u8)> {
    let mut out = BTreeSet::new();
    for (key, value) in values {
        if let Some(n) = key.strip_prefix("IPADDR") {
            let prefix = values
                .get(&format!("PREFIX{n}"))
                .map(|p| p.parse().unwrap())
                .or_else(|| values.get(&format!("NETMASK{n}")).map(|m| prefix_of(m)))
                .unwrap_or_else(|| panic!("{key} has no mask: {values:?}"));
            out.insert(cidr(value, prefix));
        }
    }
    for key in ["IPV6ADDR", "IPV6ADDR_SECONDARIES"] {
        for address in values.get(key).map(|v| v.split_whitespace().collect::<Vec<_>>()).unwrap_or_default() {
            out.insert(with_prefix(address));
        }
    }
    out
}

#[test]
fn rhel_ifcfg_says_what_cloud_init_s_sysconfig_renderer_says() {
    for sample in samples() {
        let ours = rendered(&sample, "rhel-ifcfg");
        for (path, theirs) in sample.json["out_sysconfig_rhel"].as_object().unwrap() {
            let case = format!("sample {} {path}", sample.number);
            let theirs = shell_values(theirs.as_str().unwrap());
            let ours = shell_values(ours.get(path).unwrap_or_else(|| panic!("{case}: osconf wrote {:?}", ours.keys())));
            for key in
                ["BOOTPROTO", "DEVICE", "GATEWAY", "DEFROUTE", "ONBOOT", "TYPE", "IPV6INIT", "IPV6_AUTOCONF", "MTU"]
            {
                if let Some(value) = theirs.get(key) {
                    assert_eq!(ours.get(key), Some(value), "{case}: {key}\nours {ours:?}\ntheirs {theirs:?}");
                }
            }
            assert_eq!(ours["HWADDR"].to_lowercase(), theirs["HWADDR"].to_lowercase(), "{case}: HWADDR");
            if let Some(gateway) = theirs.get("IPV6_DEFAULTGW") {
                assert_eq!(
                    ours.get("IPV6_DEFAULTGW").map(|g| g.parse::<IpAddr>().unwrap()),
                    Some(gateway.parse().unwrap()),
                    "{case}: IPV6_DEFAULTGW"
                );
            }
            assert_eq!(
                rhel_addresses(&ours),
                rhel_addresses(&theirs),
                "{case}: addresses\nours {ours:?}\ntheirs {theirs:?}"
            );
        }
    }
}

/// Every address of a SUSE ifcfg file: cloud-init writes `IPADDR[n]` with
/// `NETMASK[n]` and `IPADDR6[_n]` with a length; osconf `IPADDR[_n]` as
/// `address/length`.
fn suse_addresses(values: &BTreeMap<String, String>) -> BTreeSet<(IpAddr, u8)> {
    let mut out = BTreeSet::new();
    for (key, value) in values.iter().filter(|(k, _)| k.starts_with("IPADDR")) {
        let suffix = key.trim_start_matches("IPADDR6").trim_start_matches("IPADDR");
        match (value.contains('/'), values.get(&format!("NETMASK{suffix}"))) {
            (true, _) => out.insert(with_prefix(value)),
            (false, Some(mask)) if !key.starts_with("IPADDR6") => out.insert(cidr(value, prefix_of(mask))),
            _ => panic!("{key}={value}: no length: {values:?}"),
        };
    }
    out
}

#[test]
fn suse_ifcfg_says_what_cloud_init_s_sysconfig_renderer_says() {
    for sample in samples() {
        let ours = rendered(&sample, "suse-ifcfg");
        for (path, theirs) in sample.json["out_sysconfig_opensuse"].as_object().unwrap() {
            let case = format!("sample {} {path}", sample.number);
            let theirs = shell_values(theirs.as_str().unwrap());
            let ours = shell_values(ours.get(path).unwrap_or_else(|| panic!("{case}: osconf wrote {:?}", ours.keys())));
            for key in ["BOOTPROTO", "STARTMODE", "MTU"] {
                if let Some(value) = theirs.get(key) {
                    assert_eq!(ours.get(key), Some(value), "{case}: {key}\nours {ours:?}\ntheirs {theirs:?}");
                }
            }
            assert_eq!(
                suse_addresses(&ours),
                suse_addresses(&theirs),
                "{case}: addresses\nours {ours:?}\ntheirs {theirs:?}"
            );
        }
    }
}

/// A keyfile's sections: (section, key) → value.
fn keyfile(text: &str) -> BTreeMap<(String, String), String> {
    let mut section = String::new();
    let mut out = BTreeMap::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
        } else if let Some((k, v)) = line.split_once('=') {
            out.insert((section.clone(), k.trim().to_owned()), v.trim().to_owned());
        }
    }
    out
}

/// `[ipv4]` addresses and the default gateway: cloud-init writes it as a
/// `routeN=0.0.0.0/0,GW`, osconf as the first address's `,GW`.
fn nm_ipv4(profile: &BTreeMap<(String, String), String>) -> (BTreeSet<(IpAddr, u8)>, Option<IpAddr>) {
    let mut addresses = BTreeSet::new();
    let mut gateway = None;
    for ((section, key), value) in profile.iter().filter(|((s, _), _)| s == "ipv4") {
        let _ = section;
        let (target, via) = value.split_once(',').map_or((value.as_str(), None), |(t, v)| (t, Some(v)));
        if key.starts_with("address") {
            addresses.insert(with_prefix(target));
            gateway = gateway.or(via.map(|v| v.parse().unwrap()));
        } else if key.starts_with("route") && !key.contains('_') && target == "0.0.0.0/0" {
            gateway = via.map(|v| v.parse().unwrap());
        } else if key == "gateway" {
            gateway = Some(value.parse().unwrap());
        }
    }
    (addresses, gateway)
}

#[test]
fn networkmanager_keyfiles_say_what_cloud_init_s_renderer_says() {
    let mut compared = 0;
    for sample in samples() {
        let ours = rendered(&sample, "networkmanager");
        for (path, theirs) in sample.json["expected_network_manager"].as_object().unwrap() {
            let case = format!("sample {} {path}", sample.number);
            let label = path.rsplit("cloud-init-").next().unwrap().trim_end_matches(".nmconnection");
            let ours_path = format!("etc/NetworkManager/system-connections/osconf-{label}.nmconnection");
            let theirs = keyfile(theirs.as_str().unwrap());
            let ours =
                keyfile(ours.get(&ours_path).unwrap_or_else(|| panic!("{case}: osconf wrote {:?}", ours.keys())));
            let key = |s: &str, k: &str| (s.to_owned(), k.to_owned());
            assert_eq!(ours.get(&key("ipv4", "method")), theirs.get(&key("ipv4", "method")), "{case}: ipv4.method");
            assert_eq!(
                ours.get(&key("ethernet", "mac-address")),
                theirs.get(&key("ethernet", "mac-address")),
                "{case}"
            );
            assert_eq!(nm_ipv4(&ours), nm_ipv4(&theirs), "{case}\nours {ours:?}\ntheirs {theirs:?}");
            compared += 1;
        }
    }
    assert_eq!(compared, 3, "cloud-init expects keyfiles for three samples");
}
