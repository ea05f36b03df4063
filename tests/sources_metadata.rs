//! The metadata endpoint against a server on loopback that this test runs,
//! serving Alibaba's documented item tree (PLATFORM.md §3): token and plain
//! flows, the `meta-data/all` document, keep-alive, chunked and HTTP/1.0
//! replies, slow first replies, partial data, upper-case and hostile
//! listings, and the ways an endpoint goes wrong. Every server stops by
//! itself (a bounded number of connections, each bounded in time).

mod common;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::metadata_server::{Framing, Server, Transport};
use common::{minimal_image, osconf, TempTree};
use osconf::config::{Enabled, SourceConfig};
use osconf::settings::{Nic, Route, Settings, SshKey};
use osconf::sources::alibaba_metadata::find;
use osconf::sources::http::{Client, HttpError};
use osconf::sources::Found;

#[derive(Clone, Copy, PartialEq, Debug)]
enum Auth {
    /// PUT /latest/api/token gives a token; reads without it get 403.
    Token,
    /// No token support (404 on the PUT); plain reads work.
    Plain,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Failure {
    None,
    /// Every request answers 500.
    ServerError,
    /// Accepts, answers nothing for longer than any timeout.
    Silent,
    /// Answers bytes that are not HTTP.
    Garbage,
    /// Answers every request, whatever its path, 200 with this body (a
    /// proxy or another service at the address, a wrong url).
    CatchAll(&'static str),
}

const TOKEN: &str = "AQAEAGh0dHBzOi8vZXhhbXBsZQ==";
/// Made by ssh-keygen (ed25519 and ecdsa-sha2-nistp256).
const KEY_A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEV6rWFWF4UhzhtLEjsSstA7b1fbiJnbaqGGcnkzkv3m alice@meta";
const KEY_B: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBO35xaj/+cn7/mFhFh+vCymznRJ3FhG5AsEGMuAXiLwjeXzeUs524WV1WMbOqVFF9wGerw22ZeF+NKj+hpY7jI8= bob@meta";

/// Alibaba's documented tree for a VPC instance with two NICs (flat: item → body).
fn documented_tree() -> BTreeMap<String, String> {
    [
        ("hostname", "iZbp1meta"),
        ("instance-id", "i-bp1meta0000000001"),
        ("mac", "00:16:3e:00:00:01"),
        ("private-ipv4", "172.16.1.10"),
        ("region-id", "cn-hangzhou"),
        ("public-keys/", "0/\n1/"),
        ("public-keys/0/openssh-key", KEY_A),
        ("public-keys/1/openssh-key", KEY_B),
        ("network/interfaces/", "macs/"),
        ("network/interfaces/macs/", "00:16:3e:00:00:02/\n00:16:3e:00:00:01/"),
        ("network/interfaces/macs/00:16:3e:00:00:01/primary-ip-address", "172.16.1.10"),
        ("network/interfaces/macs/00:16:3e:00:00:01/private-ipv4s", "[\"172.16.1.10\"]"),
        ("network/interfaces/macs/00:16:3e:00:00:01/netmask", "255.255.240.0"),
        ("network/interfaces/macs/00:16:3e:00:00:01/gateway", "172.16.15.253"),
        ("network/interfaces/macs/00:16:3e:00:00:01/vpc-cidr-block", "172.16.0.0/12"),
        ("network/interfaces/macs/00:16:3e:00:00:01/vswitch-cidr-block", "172.16.0.0/20"),
        ("network/interfaces/macs/00:16:3e:00:00:01/ipv6s", "[\"2001:db8:10:1::a\"]"),
        ("network/interfaces/macs/00:16:3e:00:00:01/ipv6-gateway", "2001:db8:10:1::1"),
        ("network/interfaces/macs/00:16:3e:00:00:01/vswitch-ipv6-cidr-block", "2001:db8:10:1::/64"),
        ("network/interfaces/macs/00:16:3e:00:00:02/primary-ip-address", "172.16.2.20"),
        ("network/interfaces/macs/00:16:3e:00:00:02/private-ipv4s", "[\"172.16.2.20\",\"172.16.2.21\"]"),
        ("network/interfaces/macs/00:16:3e:00:00:02/netmask", "255.255.255.0"),
        ("network/interfaces/macs/00:16:3e:00:00:02/gateway", "172.16.2.253"),
        ("network/interfaces/macs/00:16:3e:00:00:02/vpc-cidr-block", "172.16.0.0/12"),
        ("network/interfaces/macs/00:16:3e:00:00:02/vswitch-cidr-block", "172.16.2.0/24"),
        ("dns-conf/", "nameservers"),
        ("dns-conf/nameservers", "100.100.2.136\n100.100.2.138"),
        ("ntp-conf/ntp-servers", "ntp1.aliyun.com"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The tree as the `meta-data/all` JSON document: directories as objects.
fn all_document(tree: &BTreeMap<String, String>) -> String {
    let mut root = serde_json::Map::new();
    for (item, body) in tree.iter().filter(|(k, _)| !k.ends_with('/')) {
        let parts: Vec<&str> = item.split('/').collect();
        let mut node = &mut root;
        for part in &parts[..parts.len() - 1] {
            node = node.entry(part.to_string()).or_insert_with(|| serde_json::json!({})).as_object_mut().unwrap();
        }
        let value = serde_json::from_str::<Vec<String>>(body)
            .map(|l| serde_json::json!(l))
            .unwrap_or_else(|_| serde_json::json!(body));
        node.insert(parts[parts.len() - 1].to_string(), value);
    }
    serde_json::Value::Object(root).to_string()
}

#[derive(Clone)]
struct Mock {
    auth: Auth,
    framing: Framing,
    failure: Failure,
    /// Serve `meta-data/all`.
    all: bool,
    /// The first this many connections are answered only after 700 ms.
    slow_first: usize,
    tree: BTreeMap<String, String>,
    /// Items answered with this status instead.
    status: Vec<(String, u16)>,
}

impl Mock {
    fn new(auth: Auth) -> Mock {
        Mock {
            auth,
            framing: Framing::Close,
            failure: Failure::None,
            all: false,
            slow_first: 0,
            tree: documented_tree(),
            status: Vec::new(),
        }
    }

    fn set(mut self, item: &str, body: &str) -> Mock {
        self.tree.insert(item.into(), body.into());
        self
    }

    fn remove(mut self, item: &str) -> Mock {
        self.tree.remove(item);
        self
    }

    fn status(mut self, item: &str, status: u16) -> Mock {
        self.status.push((item.into(), status));
        self
    }

    /// Serves on 127.0.0.1 (see `Server::serve`); returns the URL and the request lines seen.
    fn serve(self) -> (String, Arc<Mutex<Vec<String>>>) {
        let transport = match self.failure {
            Failure::Silent => Transport::Silent,
            Failure::Garbage => Transport::Garbage,
            _ => Transport::Works,
        };
        let server = Server { framing: self.framing, transport, slow_first: self.slow_first };
        server.serve(Arc::new(move |first: &str, request: &str| self.answer(first, request)))
    }

    fn answer(&self, first: &str, request: &str) -> (u16, String) {
        let path = first.split(' ').nth(1).unwrap_or("");
        if let Failure::CatchAll(body) = self.failure {
            return (200, body.into());
        }
        if first.starts_with("PUT /latest/api/token") {
            return match self.auth {
                Auth::Token if request.contains("X-aliyun-ecs-metadata-token-ttl-seconds: 21600") => {
                    (200, TOKEN.into())
                }
                _ => (404, "not found".into()),
            };
        }
        if self.failure == Failure::ServerError {
            return (500, "oops".into());
        }
        if self.auth == Auth::Token && !request.contains(&format!("X-aliyun-ecs-metadata-token: {TOKEN}")) {
            return (403, "token required".into());
        }
        let item = path.strip_prefix("/latest/meta-data/").unwrap_or("");
        if let Some((_, status)) = self.status.iter().find(|(k, _)| k == item) {
            return (*status, "error".into());
        }
        if item == "all" && self.all {
            return (200, all_document(&self.tree));
        }
        match self.tree.get(item) {
            Some(body) => (200, body.clone()),
            None => (404, "not found".into()),
        }
    }
}

fn config(url: &str) -> SourceConfig {
    SourceConfig {
        enabled: Enabled::Yes,
        url: url.into(),
        request_timeout: Duration::from_millis(300),
        total_timeout: Duration::from_millis(4000),
        ..SourceConfig::default()
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

fn ip6(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

fn key(line: &str) -> SshKey {
    SshKey::parse(line).unwrap()
}

fn route(dest: &str, prefix: u8, via: &str) -> Route {
    Route { dest: ip(dest), prefix, via: ip(via) }
}

/// What the documented tree means.
fn expected() -> Settings {
    let mac0 = "00:16:3e:00:00:01".parse().unwrap();
    let mac1 = "00:16:3e:00:00:02".parse().unwrap();
    Settings {
        hostname: Some("iZbp1meta".into()),
        fqdn: None,
        password: None,
        nameservers: vec![ip("100.100.2.136").into(), ip("100.100.2.138").into()],
        nics: vec![
            Nic {
                gateway: Some(ip("172.16.15.253")),
                routes: vec![route("0.0.0.0", 0, "172.16.15.253"), route("172.16.0.0", 12, "172.16.15.253")],
                ipv6: vec![(ip6("2001:db8:10:1::a"), 64)],
                ipv6_gateway: Some(ip6("2001:db8:10:1::1")),
                ..Nic::new(0, mac0, ip("172.16.1.10"), 20)
            },
            // The second NIC: its secondary address, and its own routing table.
            Nic {
                gateway: Some(ip("172.16.2.253")),
                secondary: vec![(ip("172.16.2.21"), 24)],
                table: Some(1001),
                ..Nic::new(1, mac1, ip("172.16.2.20"), 24)
            },
        ],
        ssh_keys: Some(vec![key(KEY_A), key(KEY_B)]),
    }
}

#[test]
fn token_flow_reads_everything_with_the_token() {
    let (found, seen) = read_mock(Mock::new(Auth::Token));
    assert_eq!(settings(&found), expected());
    assert_eq!(found.delete_after, None);
    assert_eq!(seen[0], "PUT /latest/api/token HTTP/1.1");
    assert_eq!(found.typed().unwrap().instance_id.as_deref(), Some("i-bp1meta0000000001"));
    assert_eq!(warnings(&found), Vec::<String>::new());
}

#[test]
fn plain_flow_when_tokens_are_not_offered() {
    let (found, seen) = read_mock(Mock::new(Auth::Plain));
    assert_eq!(settings(&found), expected());
    assert!(seen.iter().any(|r| r == "GET /latest/meta-data/hostname HTTP/1.1"), "{seen:?}");
}

#[test]
fn the_all_document_is_one_request_in_both_flows() {
    for auth in [Auth::Token, Auth::Plain] {
        let mut mock = Mock::new(auth);
        mock.all = true;
        let (found, seen) = read_mock(mock);
        assert_eq!(settings(&found), expected(), "{auth:?}");
        assert_eq!(seen, ["PUT /latest/api/token HTTP/1.1", "GET /latest/meta-data/all HTTP/1.1"], "{auth:?}");
        assert_eq!(found.typed().unwrap().instance_id.as_deref(), Some("i-bp1meta0000000001"));
    }
    // The document and the item walk give the same digest: the same settings.
    let (walked, _) = read_mock(Mock::new(Auth::Plain));
    let mut mock = Mock::new(Auth::Plain);
    mock.all = true;
    assert_eq!(read_mock(mock).0.content, walked.content);
}

#[test]
fn keep_alive_chunked_and_http10_replies_are_read_by_their_framing() {
    for framing in [Framing::KeepAlive, Framing::Chunked, Framing::Http10] {
        let mut mock = Mock::new(Auth::Token);
        mock.framing = framing;
        let start = Instant::now();
        let (found, _) = read_mock(mock);
        assert_eq!(settings(&found), expected(), "{framing:?}");
        // Not one request timeout per item: the replies end by their framing.
        assert!(start.elapsed() < Duration::from_millis(1500), "{framing:?}: {:?}", start.elapsed());
    }
}

#[test]
fn slow_first_replies_are_waited_for_within_the_total_time() {
    let mut mock = Mock::new(Auth::Token);
    mock.slow_first = 2;
    let start = Instant::now();
    let (found, seen) = read_mock(mock);
    assert_eq!(settings(&found), expected());
    assert!(seen.iter().filter(|r| r.starts_with("PUT")).count() >= 2, "the token request was tried again: {seen:?}");
    assert!(start.elapsed() < Duration::from_millis(4000), "{:?}", start.elapsed());
}

#[test]
fn a_timeout_is_reported_as_a_timeout() {
    let mut mock = Mock::new(Auth::Plain);
    mock.failure = Failure::Silent;
    let (url, seen) = mock.serve();
    let client = Client::new(&url, Duration::from_millis(100), Duration::from_millis(900)).unwrap();
    let start = Instant::now();
    let e = client.request("GET", "/latest/meta-data/hostname", &[]).unwrap_err();
    let took = start.elapsed();
    assert!(matches!(e, HttpError::Timeout(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("no answer within the total 900 ms") && !text.contains("os error"), "{text}");
    assert!(took >= Duration::from_millis(850) && took < Duration::from_millis(1500), "{took:?}");
    assert!(seen.lock().unwrap().len() >= 2, "tried more than once");
}

#[test]
fn upper_case_listings_are_used_exactly_as_listed() {
    let mut mock = Mock::new(Auth::Plain)
        .set("network/interfaces/macs/", "00:16:3E:00:00:02/\n00:16:3E:00:00:01/")
        .set("mac", "00:16:3E:00:00:01");
    for (item, body) in documented_tree().into_iter().filter(|(k, _)| k.starts_with("network/interfaces/macs/00")) {
        mock.tree.remove(&item);
        mock.tree.insert(item.replace(":3e:", ":3E:"), body);
    }
    let (found, seen) = read_mock(mock);
    assert_eq!(settings(&found), expected());
    assert!(seen.iter().any(|r| r.contains("/macs/00:16:3E:00:00:02/primary-ip-address")), "{seen:?}");
    assert!(!seen.iter().any(|r| r.contains(":3e:")), "{seen:?}");
}

#[test]
fn listing_entries_that_are_not_macs_are_refused_with_a_warning() {
    let listing = "foo bar/\n../../../\n00:16:3e:00:00:01/\nlatest%2F..%2Fapi/\n00:16:3e:00:00:02/";
    let (found, seen) = read_mock(Mock::new(Auth::Plain).set("network/interfaces/macs/", listing));
    assert_eq!(settings(&found), expected());
    let warnings = warnings(&found);
    for bad in ["foo bar/", "../../../", "latest%2F..%2Fapi/"] {
        assert!(warnings.iter().any(|w| w.contains(&format!("{bad:?} is not a MAC address"))), "{bad}: {warnings:?}");
    }
    assert!(!seen.iter().any(|r| r.contains("foo") || r.contains("..") || r.contains("%2F")), "{seen:?}");
}

#[test]
fn without_primary_ip_address_the_top_level_and_private_ipv4s_give_the_addresses() {
    // As recorded from real instances: the primary address only in private-ipv4.
    let mock = Mock::new(Auth::Token)
        .remove("network/interfaces/macs/00:16:3e:00:00:01/primary-ip-address")
        .remove("network/interfaces/macs/00:16:3e:00:00:01/private-ipv4s")
        .remove("network/interfaces/macs/00:16:3e:00:00:02/primary-ip-address");
    let (found, _) = read_mock(mock);
    assert_eq!(settings(&found), expected());
    // Without private-ipv4 either, the primary NIC's private-ipv4s gives it.
    let mock = Mock::new(Auth::Plain)
        .remove("network/interfaces/macs/00:16:3e:00:00:01/primary-ip-address")
        .remove("private-ipv4");
    assert_eq!(settings(&read_mock(mock).0), expected());
    // Without a netmask, the vSwitch's CIDR gives the prefix.
    let mock = Mock::new(Auth::Plain).remove("network/interfaces/macs/00:16:3e:00:00:02/netmask");
    assert_eq!(settings(&read_mock(mock).0), expected());
}

#[test]
fn an_odd_optional_item_is_a_warning_naming_it_and_the_rest_applies() {
    type Case = (Mock, &'static str, Box<dyn Fn(&mut Settings)>);
    let cases: Vec<Case> = vec![
        (Mock::new(Auth::Plain).set("hostname", ""), "hostname: empty", Box::new(|s| s.hostname = None)),
        (Mock::new(Auth::Plain).status("hostname", 500), "hostname: HTTP status 500", Box::new(|s| s.hostname = None)),
        (
            Mock::new(Auth::Plain).set("hostname", "bad name!"),
            "hostname: \"bad name!\" is not a valid host name",
            Box::new(|s| s.hostname = None),
        ),
        // The one validator of every source: no address, no loopback name.
        (
            Mock::new(Auth::Plain).set("hostname", "10.0.0.1"),
            "hostname: \"10.0.0.1\" is not a valid host name: its last label reads as a number",
            Box::new(|s| s.hostname = None),
        ),
        (
            Mock::new(Auth::Plain).set("hostname", "LOCALHOST"),
            "hostname: \"LOCALHOST\" is not a valid host name: it names the loopback host",
            Box::new(|s| s.hostname = None),
        ),
        (
            Mock::new(Auth::Plain).set("dns-conf/nameservers", "100.100.2.136\nfe80::53\n100.100.2.138"),
            "dns-conf/nameservers: fe80::53 cannot be a name server",
            Box::new(|_| {}),
        ),
        // An IPv6 name server only where the primary NIC has IPv6 (the documented tree's eth0 has).
        (
            Mock::new(Auth::Plain)
                .set("dns-conf/nameservers", "100.100.2.136\n2400:3200::1\n100.100.2.138")
                .remove("network/interfaces/macs/00:16:3e:00:00:01/ipv6s"),
            "dns-conf/nameservers: 2400:3200::1: eth0, the primary NIC, has no IPv6 address: skipped",
            Box::new(|s| (s.nics[0].ipv6, s.nics[0].ipv6_gateway) = (Vec::new(), None)),
        ),
        (
            Mock::new(Auth::Plain).set("network/interfaces/macs/00:16:3e:00:00:01/vpc-cidr-block", "172.16.1.0/12"),
            "network/interfaces/macs/00:16:3e:00:00:01/vpc-cidr-block: 172.16.1.0/12 has host bits set",
            Box::new(|s| s.nics[0].routes.truncate(1)),
        ),
        (
            Mock::new(Auth::Plain).set("network/interfaces/macs/00:16:3e:00:00:02/gateway", "10.9.9.9"),
            "network/interfaces/macs/00:16:3e:00:00:02/gateway: 10.9.9.9 is not on eth1's subnet",
            // Without a gateway, no table of its own either.
            Box::new(|s| (s.nics[1].gateway, s.nics[1].table) = (None, None)),
        ),
        (
            Mock::new(Auth::Plain)
                .remove("network/interfaces/macs/00:16:3e:00:00:02/primary-ip-address")
                .remove("network/interfaces/macs/00:16:3e:00:00:02/private-ipv4s"),
            "network/interfaces/macs/00:16:3e:00:00:02/primary-ip-address: no address",
            Box::new(|s| drop(s.nics.pop())),
        ),
    ];
    for (mock, warning, change) in cases {
        let (found, _) = read_mock(mock);
        let mut want = expected();
        change(&mut want);
        assert_eq!(settings(&found), want, "{warning}");
        let got = warnings(&found);
        assert!(got.iter().any(|w| w.starts_with(warning)), "{warning}: {got:?}");
    }
}

#[test]
fn garbage_and_nothing_usable_are_errors() {
    let mut mock = Mock::new(Auth::Plain);
    mock.failure = Failure::Garbage;
    let (url, _) = mock.serve();
    let e = find(&config(&url)).unwrap_err().to_string();
    assert!(e.contains("no end of headers") || e.contains("status line"), "{e}");
    // The platform's (a valid instance-id), but nothing else usable.
    let mut mock = Mock::new(Auth::Plain).status("hostname", 500);
    mock.tree.retain(|item, _| item == "instance-id");
    let (url, _) = mock.serve();
    let e = find(&config(&url)).unwrap_err().to_string();
    assert!(e.contains("no usable item") && e.contains("hostname: HTTP status 500"), "{e}");
}

/// Issue 22, item 4: an endpoint whose replies are not Alibaba's (no valid
/// `instance-id`, or an HTML page for an item) is not believed: no settings.
#[test]
fn an_endpoint_that_does_not_answer_like_alibabas_gives_no_settings() {
    let html = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Wi-Fi login</body></html>\n";
    let catch_all = |body: &'static str| {
        let mut mock = Mock::new(Auth::Plain);
        mock.failure = Failure::CatchAll(body);
        mock
    };
    let mut server_error = Mock::new(Auth::Token);
    server_error.failure = Failure::ServerError;
    let cases = [
        catch_all("ok"),
        catch_all(html),
        server_error,
        Mock::new(Auth::Plain).set("instance-id", "i-1\nx"),
        Mock::new(Auth::Token).set("instance-id", "ok"),
        Mock::new(Auth::Token).remove("instance-id"),
        Mock::new(Auth::Token).set("hostname", html),
        Mock::new(Auth::Token).set("public-keys/0/openssh-key", html),
    ];
    for mock in cases {
        let what = format!("{:?} {:?}", mock.failure, mock.tree.get("instance-id"));
        let (url, _) = mock.serve();
        assert!(find(&config(&url)).unwrap().is_none(), "{what}");
    }
}

/// The binary against a proxy answering `200 ok` (or an HTML page) to every
/// path: nothing in the tree changes (root's keys, the host name, the
/// record), exit 0, and the warning names the endpoint and the item.
#[test]
fn a_catch_all_endpoint_changes_nothing() {
    let tree = TempTree::new("metadata-catch-all");
    minimal_image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644);
    let root = tree.path.to_str().unwrap();
    let (url, _) = Mock::new(Auth::Token).serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(tree.read("/root/.ssh/authorized_keys").contains(KEY_A));
    let before = tree.snapshot();
    for body in ["ok", "<html><body>It works!</body></html>"] {
        let mut mock = Mock::new(Auth::Token);
        mock.failure = Failure::CatchAll(body);
        let (url, _) = mock.serve();
        let (code, out, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(err.contains(&format!("metadata endpoint {url}: instance-id: ")), "{err}");
        assert!(err.contains("nothing applied"), "{err}");
        assert!(tree.snapshot() == before, "{body}: the tree changed");
    }
}

/// "Cannot tell" is not "none": a `public-keys/` listing served but giving
/// no valid key (entries that are not `N/`, every key invalid, empty) leaves
/// root's keys installed, with a warning naming the item; the rest applies.
/// Only a 404 for `public-keys/` removes osconf's keys.
#[test]
fn a_key_listing_without_a_valid_key_keeps_roots_keys() {
    let tree = TempTree::new("metadata-unsure-keys");
    minimal_image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644);
    let root = tree.path.to_str().unwrap();
    let apply = |mock: Mock| {
        let (url, _) = mock.serve();
        osconf(&["apply", "--root", root, "--no-live", "--metadata", &url])
    };
    let (code, _, err) = apply(Mock::new(Auth::Token));
    assert_eq!(code, 0, "{err}");
    let keys = tree.read("/root/.ssh/authorized_keys");
    assert!(keys.contains(KEY_A) && keys.contains(KEY_B), "{keys}");
    let unsure = [
        Mock::new(Auth::Token).set("public-keys/", "ok"),
        Mock::new(Auth::Token)
            .set("public-keys/0/openssh-key", "ssh-ed25519 AAAA broken")
            .set("public-keys/1/openssh-key", "ok"),
        Mock::new(Auth::Token).set("public-keys/", ""),
    ];
    for (n, mock) in unsure.into_iter().enumerate() {
        let (code, _, err) = apply(mock.set("hostname", &format!("iZbp1unsure{n}")));
        assert_eq!(code, 0, "{err}");
        assert_eq!(tree.read("/etc/hostname"), format!("iZbp1unsure{n}\n"), "the rest applies");
        assert!(
            err.contains("public-keys/: no valid key among those listed: root's SSH keys left as they are"),
            "{err}"
        );
        assert_eq!(tree.read("/root/.ssh/authorized_keys"), keys, "case {n}");
    }
    let (code, _, err) = apply(Mock::new(Auth::Token).remove("public-keys/"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/root/.ssh/authorized_keys"), "", "404: osconf's keys removed");
}

#[test]
fn an_absent_or_silent_endpoint_means_no_settings_within_the_bounds() {
    // Nothing listens: refused at once.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start = Instant::now();
    assert!(find(&config(&format!("http://127.0.0.1:{port}"))).unwrap().is_none());
    assert!(start.elapsed() < Duration::from_millis(500));
    // Accepts, never answers: asked again until the total time runs out.
    let mut mock = Mock::new(Auth::Plain);
    mock.failure = Failure::Silent;
    let (url, _) = mock.serve();
    let start = Instant::now();
    let short = SourceConfig { total_timeout: Duration::from_millis(1000), ..config(&url) };
    assert!(find(&short).unwrap().is_none());
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(950) && took < Duration::from_millis(1600), "{took:?}");
}

/// The binary with the drop and the metadata both enabled: each source is
/// applied once by its own record, neither re-applies the other.
#[test]
fn a_drop_and_the_metadata_each_keep_their_own_record() {
    let tree = TempTree::new("metadata-records");
    minimal_image(&tree);
    let (url, _) = Mock::new(Auth::Token).serve();
    let root = tree.path.to_str().unwrap();
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", "--root", root, "--no-live"];
        args.extend_from_slice(extra);
        osconf(&args)
    };
    let (code, _, err) = apply(&["--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/etc/hostname"), "iZbp1meta\n");
    let record: serde_json::Value =
        serde_json::from_str(&tree.read("/var/lib/osconf/records/alibaba-metadata.json")).unwrap();
    assert_eq!(record["instance_id"], "i-bp1meta0000000001");
    assert_eq!(record["from"], "alibaba-metadata");
    assert!(!tree.exists("/var/lib/osconf/records/alibaba-drop.json"));

    // A drop arrives: applied (its own record), deleted.
    tree.write(common::DROP, "hostname=from-drop\n", 0o644);
    let (code, _, err) = apply(&["--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/etc/hostname"), "from-drop\n");
    assert!(tree.exists("/var/lib/osconf/records/alibaba-drop.json"));

    // The metadata has not changed: not applied again over the drop's settings.
    let (code, _, err) = apply(&["--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("was applied already"), "{err}");
    assert_eq!(tree.read("/etc/hostname"), "from-drop\n");

    // The same drop again (a read-only medium, or --keep-drop): not re-applied over the metadata either.
    tree.write("/tmp/os.conf", "hostname=from-drop\n", 0o644);
    let (code, _, err) = apply(&["--drop", &tree.join("/tmp/os.conf").to_string_lossy(), "--keep-drop"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("was applied already"), "{err}");

    // The metadata changes: applied.
    let (url, _) = Mock::new(Auth::Token).set("hostname", "iZbp1changed").serve();
    let (code, _, err) = apply(&["--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/etc/hostname"), "iZbp1changed\n");
    let (code, out, _) = osconf(&["status", "--root", root]);
    assert_eq!(code, 0);
    assert!(out.contains("metadata endpoint"), "{out}");
}

/// Metadata without `gateway` on a DHCP image: the image's DHCP (and so its
/// default route) stays, the rest applies (issue 15, point 4).
#[test]
fn metadata_without_a_gateway_keeps_the_images_default_route() {
    let tree = TempTree::new("metadata-no-gateway");
    minimal_image(&tree);
    let interfaces = "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n";
    tree.write("/sbin/ifup", "#!/bin/sh\n", 0o755);
    tree.write("/etc/network/interfaces", interfaces, 0o644);
    let (url, _) = Mock::new(Auth::Token)
        .remove("network/interfaces/macs/00:16:3e:00:00:01/gateway")
        .remove("network/interfaces/macs/00:16:3e:00:00:02/gateway")
        .serve();
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap(), "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("no NIC carries a default route"), "{err}");
    assert_eq!(tree.read("/etc/network/interfaces"), interfaces);
    assert!(!tree.exists("/etc/network/interfaces.d/osconf-eth0"));
    assert_eq!(tree.read("/etc/hostname"), "iZbp1meta\n");
}

/// A host name or name servers the endpoint fails to serve this time (a
/// warning) stay as osconf set them; they are not given back to the image.
#[test]
fn an_item_missing_this_time_keeps_what_osconf_set() {
    let tree = TempTree::new("metadata-keep");
    minimal_image(&tree);
    let root = tree.path.to_str().unwrap();
    let (url, _) = Mock::new(Auth::Token).serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    let resolv = tree.read("/etc/resolv.conf");
    let (url, _) = Mock::new(Auth::Token)
        .status("hostname", 500)
        .remove("dns-conf/nameservers")
        .set("network/interfaces/macs/00:16:3e:00:00:02/primary-ip-address", "172.16.2.30")
        .serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("hostname: HTTP status 500: ignored"), "{err}");
    assert!(err.contains("applied metadata endpoint"), "the changed address applies: {err}");
    assert_eq!(tree.read("/etc/hostname"), "iZbp1meta\n");
    assert_eq!(tree.read("/etc/resolv.conf"), resolv);
}

/// The record's host name kept for a missing item passes the one validator
/// too: a record holding a name an older osconf accepted (`10.0.0.1`) is
/// damaged, and the name reaches neither /etc/hostname nor /etc/hosts again.
#[test]
fn a_recorded_host_name_no_source_may_set_is_not_kept() {
    let tree = TempTree::new("metadata-keep-invalid");
    minimal_image(&tree);
    let root = tree.path.to_str().unwrap();
    let (url, _) = Mock::new(Auth::Token).serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    let path = "/var/lib/osconf/records/alibaba-metadata.json";
    let record = tree.read(path).replace("\"iZbp1meta\"", "\"10.0.0.1\"");
    assert!(record.contains("10.0.0.1"), "{record}");
    tree.write(path, &record, 0o600);
    let (url, _) = Mock::new(Auth::Token).status("hostname", 500).serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("records/alibaba-metadata.json is damaged (hostname: \"10.0.0.1\" is not a valid host name"),
        "{err}"
    );
    assert!(!tree.read("/etc/hostname").contains("10.0.0.1"));
    assert!(!tree.read("/etc/hosts").contains("10.0.0.1"), "{}", tree.read("/etc/hosts"));
}

/// root's keys from `public-keys/`: a bad key is a warning naming its item
/// and the others still go in; a `public-keys/` the endpoint does not have
/// (404) is no key; one it cannot serve this time (or a key it cannot)
/// says nothing about keys, so those installed stay.
#[test]
fn public_keys_become_roots_keys_and_a_bad_one_is_a_warning_naming_it() {
    let (found, _) = read_mock(
        Mock::new(Auth::Plain)
            .set("public-keys/", "0/\n1=bob\n2")
            .set("public-keys/2/openssh-key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9zY29uZg x"),
    );
    let mut want = expected();
    assert_eq!(settings(&found), want);
    let got = warnings(&found);
    assert!(got.len() == 1 && got[0].starts_with("public-keys/2/openssh-key: ssh-ed25519 key: "), "{got:?}");

    let (found, _) = read_mock(Mock::new(Auth::Plain).remove("public-keys/"));
    want.ssh_keys = Some(Vec::new());
    assert_eq!(settings(&found), want);
    assert_eq!(warnings(&found), Vec::<String>::new());

    want.ssh_keys = None;
    for refused in ["public-keys/", "public-keys/1/openssh-key"] {
        let (found, _) = read_mock(Mock::new(Auth::Plain).status(refused, 500));
        assert_eq!(settings(&found), want, "{refused}");
        assert_eq!(warnings(&found), [format!("{refused}: HTTP status 500: root's SSH keys left as they are")]);
    }
}

/// IPv6 name servers are kept, in order, when the primary NIC has IPv6 (the documented tree's eth0 has).
#[test]
fn an_ipv6_name_server_is_kept_when_the_primary_nic_has_ipv6() {
    let (found, _) =
        read_mock(Mock::new(Auth::Token).set("dns-conf/nameservers", "100.100.2.136\n2400:3200::1\n100.100.2.138"));
    let mut want = expected();
    want.nameservers = vec![ip("100.100.2.136").into(), ip6("2400:3200::1").into(), ip("100.100.2.138").into()];
    assert_eq!(settings(&found), want);
    assert_eq!(warnings(&found), Vec::<String>::new());
}

/// Each bad per-NIC item of issue 16 is a warning naming it; the rest of the NIC applies.
#[test]
fn bad_secondary_and_ipv6_items_are_warnings_naming_them() {
    const MAC0: &str = "network/interfaces/macs/00:16:3e:00:00:01/";
    const MAC1: &str = "network/interfaces/macs/00:16:3e:00:00:02/";
    let mock = Mock::new(Auth::Plain)
        .set(&format!("{MAC1}private-ipv4s"), "[\"172.16.2.20\",\"172.16.2.255\",\"172.16.2.21\"]")
        .set(&format!("{MAC0}ipv6s"), "[\"2001:db8:10:1::a\",\"fe80::5\"]")
        .set(&format!("{MAC0}ipv6-gateway"), "not-an-address");
    let (found, _) = read_mock(mock);
    let mut want = expected();
    want.nics[0].ipv6_gateway = None;
    assert_eq!(settings(&found), want);
    let got = warnings(&found);
    for warning in [
        format!("{MAC1}private-ipv4s: 172.16.2.255 is the broadcast address of 172.16.2.0/24"),
        format!("{MAC0}ipv6s: fe80::5 cannot be"),
        format!("{MAC0}ipv6-gateway: \"not-an-address\" is not an IPv6 address"),
    ] {
        assert!(got.iter().any(|w| w.starts_with(&warning)), "{warning}: {got:?}");
    }
    assert_eq!(got.len(), 3, "{got:?}");
    // An empty list is no list, not a warning; the IPv6 prefix defaults to /64.
    let mock = Mock::new(Auth::Plain)
        .set(&format!("{MAC1}private-ipv4s"), "")
        .remove(&format!("{MAC0}vswitch-ipv6-cidr-block"));
    let (found, _) = read_mock(mock);
    want = expected();
    want.nics[1].secondary.clear();
    assert_eq!(settings(&found), want);
    assert_eq!(warnings(&found), Vec::<String>::new());
}

/// NetworkManager-ci's Aliyun scenario (features/scenarios/cloud.feature,
/// "Basic Aliyun nm-cloud-setup checks"): two `private-ipv4s` on different
/// /20s under netmask 255.255.240.0. nm-cloud-setup configures both as /20;
/// so does osconf, in every stack's files, without a warning — with the
/// primary address from `primary-ip-address` as the mock serves it, and
/// from the first of `private-ipv4s` without it.
#[test]
fn the_networkmanager_ci_aliyun_addresses_are_both_configured_as_slash_20() {
    use osconf::plan::network::{render, STACKS};
    const MAC: &str = "network/interfaces/macs/cc:00:00:00:00:01/";
    let tree: BTreeMap<String, String> = [
        ("", "instance-id", "i-nmci0000example"),
        ("", "network/interfaces/macs/", "cc:00:00:00:00:01/"),
        (MAC, "private-ipv4s", "172.31.176.249,172.31.17.249"),
        (MAC, "primary-ip-address", "172.31.176.249"),
        (MAC, "netmask", "255.255.240.0"),
        (MAC, "vpc-cidr-block", "172.31.16.0/20"),
        (MAC, "gateway", "172.31.176.1"),
    ]
    .into_iter()
    .map(|(dir, item, body)| (format!("{dir}{item}"), body.to_owned()))
    .collect();
    let want = Nic {
        gateway: Some(ip("172.31.176.1")),
        routes: vec![route("0.0.0.0", 0, "172.31.176.1"), route("172.31.16.0", 20, "172.31.176.1")],
        secondary: vec![(ip("172.31.17.249"), 20)],
        ..Nic::new(0, "cc:00:00:00:00:01".parse().unwrap(), ip("172.31.176.249"), 20)
    };
    let served = Mock { tree, ..Mock::new(Auth::Token) };
    for mock in [served.clone(), served.remove(&format!("{MAC}primary-ip-address"))] {
        let (found, _) = read_mock(mock);
        assert_eq!(settings(&found).nics, std::slice::from_ref(&want));
        assert_eq!(warnings(&found), Vec::<String>::new());
    }
    let s = Settings { nics: vec![want], ..Settings::default() };
    // Every stack: a new one must say where its files carry both addresses.
    for stack in STACKS {
        let lines = match stack.name() {
            "ifupdown" => [
                "    up ip addr replace 172.31.176.249/20 broadcast + dev eth0",
                "    up ip addr replace 172.31.17.249/20 broadcast + dev eth0",
            ],
            "rhel-ifcfg" => ["IPADDR=172.31.176.249\nPREFIX=20", "IPADDR1=172.31.17.249\nPREFIX1=20"],
            "suse-ifcfg" => ["IPADDR='172.31.176.249/20'", "IPADDR_1='172.31.17.249/20'"],
            "networkd" => ["Address=172.31.176.249/20", "Address=172.31.17.249/20"],
            "networkmanager" => ["address1=172.31.176.249/20", "address2=172.31.17.249/20"],
            "netplan" => ["- \"172.31.176.249/20\"", "- \"172.31.17.249/20\""],
            other => panic!("{other}: which lines of its files carry the two addresses?"),
        };
        let tree = TempTree::new(&format!("nm-ci-aliyun-{stack}"));
        let text: String = render(stack, &s, &osconf::files::Root::new(&tree.path), &[])
            .unwrap()
            .owned
            .iter()
            .map(|w| w.text())
            .collect();
        for line in lines {
            assert!(text.contains(line), "{stack}: {line:?} missing in\n{text}");
        }
    }
}

/// The binary: root's keys go into osconf's block beside a person's line;
/// a later metadata without one key removes it; the second NIC's secondary
/// address and own table and the first NIC's IPv6 reach the image's
/// ifupdown files; `plan` shows them.
#[test]
fn metadata_keys_and_addresses_reach_the_image() {
    let tree = TempTree::new("metadata-extras");
    minimal_image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0o644);
    tree.write("/sbin/ifup", "#!/bin/sh\n", 0o755);
    tree.write("/etc/network/interfaces", "auto lo\niface lo inet loopback\n", 0o644);
    let person = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH person@laptop\n";
    tree.write("/root/.ssh/authorized_keys", person, 0o600);
    let root = tree.path.to_str().unwrap();
    let block = |keys: &[&str]| {
        format!(
            "# BEGIN osconf: keys from the cloud; osconf replaces this block at each apply\n{}# END osconf\n",
            keys.iter().map(|k| format!("{k}\n")).collect::<String>()
        )
    };

    let (url, _) = Mock::new(Auth::Token).serve();
    let (code, out, err) = osconf(&["plan", "--root", root, "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    for shown in [
        "secondary address 172.16.2.21/24",
        "IPv6 address 2001:db8:10:1::a/64",
        "IPv6 gateway 2001:db8:10:1::1",
        "table 1001",
        &key(KEY_A).summary(),
    ] {
        assert!(out.contains(shown), "{shown}: {out}");
    }
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/root/.ssh/authorized_keys"), format!("{person}{}", block(&[KEY_A, KEY_B])));
    let eth0 = tree.read("/etc/network/interfaces.d/osconf-eth0");
    let eth1 = tree.read("/etc/network/interfaces.d/osconf-eth1");
    assert!(
        eth0.contains("up ip -6 addr replace 2001:db8:10:1::a/64 dev eth0")
            && eth0.contains("up ip -6 route replace default via 2001:db8:10:1::1 dev eth0"),
        "{eth0}"
    );
    assert!(eth1.contains("up ip addr replace 172.16.2.21/24 broadcast + dev eth1"), "{eth1}");
    assert!(eth1.contains("up ip rule add from 172.16.2.21 lookup 1001 priority 1001"), "{eth1}");

    // The key pair changes: the key the metadata no longer lists goes, the person's line stays.
    let (url, _) = Mock::new(Auth::Token).set("public-keys/", "0/").serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("applied metadata endpoint"), "a changed key list applies: {err}");
    assert_eq!(tree.read("/root/.ssh/authorized_keys"), format!("{person}{}", block(&[KEY_A])));

    // The endpoint cannot serve the keys this time: the installed ones stay.
    let (url, _) = Mock::new(Auth::Token).status("public-keys/", 503).set("hostname", "iZbp1other").serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/etc/hostname"), "iZbp1other\n");
    assert_eq!(tree.read("/root/.ssh/authorized_keys"), format!("{person}{}", block(&[KEY_A])));

    // No key pair any more: osconf's block goes, the person's line stays.
    let (url, _) = Mock::new(Auth::Token).remove("public-keys/").serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/root/.ssh/authorized_keys"), person);
}

/// Issue 22, item 5: the metadata record is input. A host name holding a
/// new line in it is refused when the record is loaded (a warning naming
/// the file and the field), so a metadata apply without a `hostname` item
/// does not carry it on into /etc/hosts.
#[test]
fn a_recorded_host_name_with_a_new_line_does_not_reach_etc_hosts() {
    let tree = TempTree::new("metadata-record-hostname");
    minimal_image(&tree);
    let root = tree.path.to_str().unwrap();
    let (url, _) = Mock::new(Auth::Token).serve();
    let (code, _, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{err}");
    let hosts = tree.read("/etc/hosts");
    let path = "/var/lib/osconf/records/alibaba-metadata.json";
    let mut record: serde_json::Value = serde_json::from_str(&tree.read(path)).unwrap();
    record["hostname"] = "iZbp1meta\n10.0.0.66 bank.example".into();
    tree.write(path, &record.to_string(), 0o600);

    let (url, _) = Mock::new(Auth::Token).remove("hostname").serve();
    let (code, out, err) = osconf(&["apply", "--root", root, "--no-live", "--metadata", &url]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!tree.read("/etc/hosts").contains("bank.example"), "{}", tree.read("/etc/hosts"));
    assert!(err.contains(&format!("{path} is damaged (hostname: ")), "{err}");
    assert_eq!(tree.read("/etc/hosts"), hosts);
    assert_eq!(tree.read("/etc/hostname"), "iZbp1meta\n");
}
