//! `tencent-metadata` against a stand-in on loopback serving Tencent's
//! documented item tree (PLATFORM.md §6): the mapping, each odd optional
//! item a warning naming it, the refusal of a foreign endpoint, and the
//! transport cases of Alibaba's endpoint (keep-alive, chunked, HTTP/1.0,
//! slow first replies, nothing listening, silence, garbage).

#[path = "mock.rs"]
mod mock;
#[path = "../../../tests/common/metadata_server.rs"]
mod server;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, TcpListener};
use std::time::{Duration, Instant};

use self::mock::{Mock, ETH0, ETH1, KEY};
use self::server::{Framing, Server, Transport};
use super::*;
use crate::settings::{Mac, Nic, Route, Settings, SshKey};
use crate::sources::Source;
use crate::sources::{by_name, Found};

fn config(url: &str) -> SourceConfig {
    SourceConfig {
        url: url.into(),
        request_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_millis(4000),
        ..SOURCE.defaults()
    }
}

fn read_mock(mock: Mock) -> (Found, Vec<String>) {
    let (url, seen) = mock.serve();
    let found = find(&config(&url)).unwrap().expect("settings from the endpoint");
    let seen = seen.lock().unwrap().clone();
    (found, seen)
}

fn settings(found: &Found) -> Settings {
    found.settings().unwrap()
}

fn warnings(found: &Found) -> Vec<String> {
    found.typed().expect("typed settings").warnings.clone()
}

fn ip(text: &str) -> Ipv4Addr {
    text.parse().unwrap()
}

/// What the documented tree means.
fn expected() -> Settings {
    let mut eth0 = Nic::new(0, Mac([0x52, 0x54, 0, 0xbf, 0xb3, 0x51]), ip("10.0.0.5"), 24);
    eth0.gateway = Some(ip("10.0.0.1"));
    eth0.routes = vec![Route::default_via(ip("10.0.0.1"))];
    eth0.secondary = vec![(ip("10.0.0.9"), 24)];
    let mut eth1 = Nic::new(1, Mac([0x20, 0x90, 0x6f, 0xa1, 0, 2]), ip("10.0.1.7"), 24);
    eth1.gateway = Some(ip("10.0.1.1"));
    eth1.table = Some(1001);
    Settings {
        hostname: Some("VM-0-5-centos".into()),
        nics: vec![eth0, eth1],
        ssh_keys: Some(vec![SshKey::parse(KEY).unwrap()]),
        ..Settings::default()
    }
}

#[test]
fn the_documented_tree_gives_nics_addresses_routing_keys_and_the_host_name() {
    let (found, seen) = read_mock(Mock::new());
    assert_eq!(settings(&found), expected());
    assert_eq!(warnings(&found), Vec::<String>::new());
    assert_eq!(found.source, "tencent-metadata");
    assert_eq!(found.typed().unwrap().instance_id.as_deref(), Some("ins-3j1ha2pk"));
    // Upper-case MACs are requested exactly as listed; no DNS, no user data, plain GETs.
    assert!(seen.iter().any(|r| r.contains(&format!("{ETH0}local-ipv4s/10.0.0.5/subnet-mask"))), "{seen:#?}");
    assert!(seen.iter().all(|r| r.starts_with("GET /latest/meta-data/")), "{seen:#?}");
    assert!(!seen.iter().any(|r| r.contains("dns") || r.contains("user-data")), "{seen:#?}");
    // The canonical form holds the instance id: another instance is applied anew.
    let (other, _) = read_mock(Mock::new().set("instance-id", "ins-00000000"));
    assert_ne!(other.content, found.content);
    assert!(String::from_utf8_lossy(&found.content).contains("ins-3j1ha2pk"));
}

/// The documented sample: gateway 10.15.1.1 for 10.104.13.59/255.255.192.0.
/// No on-link route in the model: a warning naming the item, no route via
/// it (so no default route: the image's network stays), the rest applies.
#[test]
fn a_gateway_outside_the_subnet_is_a_warning_and_no_route() {
    let sample = |key: &str| format!("{ETH0}local-ipv4s/10.104.13.59/{key}");
    let mock = Mock::new()
        .set("network/interfaces/macs/", "52:54:00:BF:B3:51/")
        .set(&format!("{ETH0}primary-local-ipv4"), "10.104.13.59")
        .set(&format!("{ETH0}local-ipv4s/"), "10.104.13.59/")
        .set(&sample("subnet-mask"), "255.255.192.0")
        .set(&sample("gateway"), "10.15.1.1");
    let (found, _) = read_mock(mock);
    let nics = settings(&found).nics;
    assert_eq!(nics.len(), 1);
    assert_eq!((nics[0].address, nics[0].prefix, nics[0].gateway), (Some(ip("10.104.13.59")), 18, None));
    assert!(nics[0].routes.is_empty());
    assert_eq!(
        warnings(&found),
        [format!("{}: 10.15.1.1 is not on eth0's subnet 10.104.0.0/18: no route via it", sample("gateway"))]
    );
    assert_eq!(settings(&found).hostname.as_deref(), Some("VM-0-5-centos"));
}

#[test]
fn each_odd_optional_item_is_a_warning_naming_it_and_the_rest_applies() {
    let mock = Mock::new()
        .set("hostname", "bad_name!")
        .set(&format!("{ETH0}primary-local-ipv4"), "nonsense")
        .set(&format!("{ETH0}local-ipv4s/"), "10.0.0.5/\nfoo/\n10.0.0.255/\n10.0.0.9/")
        .remove(&format!("{ETH1}local-ipv4s/10.0.1.7/subnet-mask"))
        .status("public-keys/0/openssh-key", 500);
    let (found, _) = read_mock(mock);
    let got = settings(&found);
    assert_eq!(got.hostname, None);
    assert_eq!(got.nics.len(), 1, "eth1 without a subnet mask is left out");
    assert_eq!((got.nics[0].address, &got.nics[0].secondary), (Some(ip("10.0.0.5")), &vec![(ip("10.0.0.9"), 24)]));
    assert_eq!(got.nics[0].routes, [Route::default_via(ip("10.0.0.1"))]);
    assert_eq!(got.ssh_keys, None, "a key refused this time: root's keys stay");
    let warnings = warnings(&found);
    let expected = [
        "hostname: ",
        &format!("{ETH0}local-ipv4s/: entry \"foo/\": "),
        &format!("{ETH0}primary-local-ipv4: \"nonsense\" is not an IPv4 address: ignored"),
        &format!("{ETH0}local-ipv4s/10.0.0.255/: 10.0.0.255 is the broadcast address"),
        &format!("{ETH1}local-ipv4s/10.0.1.7/subnet-mask: no subnet mask: eth1 (20:90:6f:a1:00:02) left as"),
        "public-keys/0/openssh-key: HTTP status 500: root's SSH keys left as they are",
    ];
    assert_eq!(warnings.len(), expected.len(), "{warnings:#?}");
    for (warning, start) in warnings.iter().zip(expected) {
        assert!(warning.starts_with(start), "{warning} / {start}");
    }
}

#[test]
fn without_primary_local_ipv4_the_first_entry_is_the_address_and_without_keys_none() {
    let mock = Mock::new()
        .remove(&format!("{ETH0}primary-local-ipv4"))
        .set(&format!("{ETH0}local-ipv4s/"), "10.0.0.9/\n10.0.0.5/")
        .set(&format!("{ETH0}local-ipv4s/10.0.0.9/gateway"), "10.0.0.254")
        .remove("public-keys/")
        .remove("hostname");
    let (found, _) = read_mock(mock);
    let got = settings(&found);
    assert_eq!((got.nics[0].address, got.nics[0].gateway), (Some(ip("10.0.0.9")), Some(ip("10.0.0.254"))));
    assert_eq!(got.nics[0].secondary, [(ip("10.0.0.5"), 24)]);
    assert_eq!(got.ssh_keys, Some(vec![]), "public-keys/ 404: no key");
    assert_eq!(got.hostname, None, "not served: left alone, no warning");
    assert_eq!(warnings(&found), Vec::<String>::new());
}

#[test]
fn the_uuid_identifies_the_instance_where_instance_id_is_not_served() {
    let (found, _) = read_mock(Mock::new().remove("instance-id"));
    assert_eq!(found.typed().unwrap().instance_id.as_deref(), Some("cfac763a-7094-446b-a8a9-b995e638471a"));
    assert_eq!(settings(&found), expected());
}

/// A proxy answering `200 ok` (or an HTML page) to every path, an instance
/// id of another form, an HTML item, no id at all: not believed, no settings.
#[test]
fn an_endpoint_that_does_not_answer_like_tencents_gives_no_settings() {
    let html = "<!DOCTYPE html><html><body>Login</body></html>";
    let foreign = [
        ("catch-all ok", Mock { catch_all: Some("ok"), ..Mock::new() }),
        ("catch-all html", Mock { catch_all: Some(html), ..Mock::new() }),
        ("alibaba id", Mock::new().set("instance-id", "i-bp1meta0000000001")),
        ("html host name", Mock::new().set("hostname", html)),
        ("no id", Mock::new().remove("instance-id").remove("uuid")),
        ("bad uuid", Mock::new().remove("instance-id").set("uuid", "ok")),
        ("id refused", Mock::new().status("instance-id", 403)),
    ];
    for (what, mock) in foreign {
        let (url, _) = mock.serve();
        assert!(find(&config(&url)).unwrap().is_none(), "{what}");
    }
}

#[test]
fn instance_ids_and_uuids_of_tencents_form() {
    for good in
        ["ins-3j1ha2pk", "ins-abcd", "cfac763a-7094-446b-a8a9-b995e638471a", "CFAC763A-7094-446B-A8A9-B995E638471A"]
    {
        assert_eq!(instance_id(good).as_deref(), Ok(good));
    }
    for bad in
        ["", "ok", "ins-", "ins-abc", "ins-ABCDEFGH", "i-bp1h4adlltjc1d48goaq", "cfac763a-7094-446b-a8a9", "ins-a b"]
    {
        assert!(instance_id(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn keep_alive_chunked_and_http10_replies_are_read_by_their_framing() {
    for framing in [Framing::KeepAlive, Framing::Chunked, Framing::Http10] {
        let mock = Mock { server: Server { framing, ..Server::default() }, ..Mock::new() };
        let start = Instant::now();
        let (found, _) = read_mock(mock);
        assert_eq!(settings(&found), expected(), "{framing:?}");
        // Not one request timeout per item: the replies end by their framing.
        assert!(start.elapsed() < Duration::from_millis(1500), "{framing:?}: {:?}", start.elapsed());
    }
}

#[test]
fn slow_first_replies_are_waited_for_within_the_total_time() {
    let mock = Mock { server: Server { slow_first: 2, ..Server::default() }, ..Mock::new() };
    let start = Instant::now();
    let (found, seen) = read_mock(mock);
    assert_eq!(settings(&found), expected());
    let listing = seen.iter().filter(|r| r.starts_with("GET /latest/meta-data/ ")).count();
    assert!(listing >= 2, "the first request was tried again: {seen:?}");
    assert!(start.elapsed() < Duration::from_millis(4000), "{:?}", start.elapsed());
}

#[test]
fn an_absent_or_silent_endpoint_means_no_settings_within_the_bounds() {
    // Nothing listens: refused at once.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start = Instant::now();
    assert!(find(&config(&format!("http://127.0.0.1:{port}"))).unwrap().is_none());
    assert!(start.elapsed() < Duration::from_millis(500));
    // Accepts, never answers: asked again until the total time runs out.
    let mock = Mock { server: Server { transport: Transport::Silent, ..Server::default() }, ..Mock::new() };
    let (url, _) = mock.serve();
    let start = Instant::now();
    let short = SourceConfig { total_timeout: Duration::from_millis(1000), ..config(&url) };
    assert!(find(&short).unwrap().is_none());
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(950) && took < Duration::from_millis(1600), "{took:?}");
}

#[test]
fn garbage_and_nothing_usable_are_errors() {
    let mock = Mock { server: Server { transport: Transport::Garbage, ..Server::default() }, ..Mock::new() };
    let (url, _) = mock.serve();
    assert!(find(&config(&url)).is_err(), "not HTTP");
    // An instance id and nothing else usable: an error, not empty settings.
    let bare: BTreeMap<String, String> = [("instance-id".to_owned(), "ins-3j1ha2pk".to_owned())].into();
    let (url, _) = Mock { tree: bare, ..Mock::new() }.serve();
    let e = find(&config(&url)).unwrap_err().to_string();
    assert!(e.contains("no usable item"), "{e}");
}

#[test]
fn it_is_registered_and_asked_by_itself_only_on_tencent_cloud() {
    let source = by_name("tencent-metadata").expect("registered");
    let defaults = source.defaults();
    assert_eq!((defaults.enabled, defaults.url.as_str()), (Enabled::Auto, "http://169.254.0.23"));
    assert_eq!(source.network_of(), Some(Cloud::Tencent));
    assert_eq!(source.keys(), ["url", "timeout_ms", "total_timeout_ms"]);
    let asked = |enabled, cloud| crate::sources::asked(source, &SourceConfig { enabled, ..defaults.clone() }, cloud);
    assert!(asked(Enabled::Auto, Some(Cloud::Tencent)));
    assert!(!asked(Enabled::Auto, None), "no wait on 169.254.0.23 elsewhere");
    assert!(!asked(Enabled::Auto, Some(Cloud::Alibaba)));
    assert!(asked(Enabled::Yes, None), "yes forces it");
    let index = |name: &str| crate::sources::SOURCES.iter().position(|s| s.name() == name);
    assert_eq!(index("tencent-metadata"), index("alibaba-metadata").map(|i| i + 1), "after alibaba-metadata");
}
