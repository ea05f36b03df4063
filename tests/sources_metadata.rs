//! The metadata endpoint against a server on loopback that this test runs:
//! token and plain flows, and the ways an endpoint goes wrong. Every server
//! answers a bounded number of connections and stops by itself.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use osconf::config::MetadataConfig;
use osconf::settings::{PasswordForm, Settings};
use osconf::sources::aliyun_metadata::find;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// PUT /latest/api/token gives a token; reads without it get 403.
    Token,
    /// No token support (404 on the PUT); plain reads work.
    Plain,
    /// Every read answers 500.
    ServerError,
    /// Answers nothing for longer than any timeout.
    Slow,
    /// Answers bytes that are not HTTP.
    Garbage,
}

const TOKEN: &str = "AQAEAGh0dHBzOi8vZXhhbXBsZQ==";

fn items() -> HashMap<&'static str, &'static str> {
    HashMap::from([
        ("hostname", "iZbp1meta"),
        ("mac", "00:16:3E:00:00:01"),
        ("network/interfaces/macs/", "00:16:3e:00:00:02/\n00:16:3e:00:00:01/"),
        ("network/interfaces/macs/00:16:3e:00:00:01/primary-ip-address", "172.16.1.10"),
        ("network/interfaces/macs/00:16:3e:00:00:01/netmask", "255.255.240.0"),
        ("network/interfaces/macs/00:16:3e:00:00:01/gateway", "172.16.15.253"),
        ("network/interfaces/macs/00:16:3e:00:00:01/vpc-cidr-block", "172.16.0.0/12"),
        ("network/interfaces/macs/00:16:3e:00:00:02/primary-ip-address", "172.16.2.20"),
        ("network/interfaces/macs/00:16:3e:00:00:02/netmask", "255.255.255.0"),
        ("network/interfaces/macs/00:16:3e:00:00:02/gateway", "172.16.2.253"),
        ("dns-conf/nameservers", "100.100.2.136\n100.100.2.138"),
    ])
}

/// Serves up to `max` connections on 127.0.0.1; returns the URL and a log of requests.
fn serve(mode: Mode, overrides: Vec<(&'static str, (u16, &'static str))>, max: usize) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    thread::spawn(move || {
        for stream in listener.incoming().take(max) {
            let Ok(mut stream) = stream else { continue };
            stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut buf = [0u8; 4096];
            let n = stream.read(&mut buf).unwrap_or(0);
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            let first = request.lines().next().unwrap_or("").to_owned();
            log.lock().unwrap().push(first.clone());
            let path = first.split(' ').nth(1).unwrap_or("");
            let has_token = request.contains(&format!("X-aliyun-ecs-metadata-token: {TOKEN}"));
            let (status, body): (u16, String) = match mode {
                Mode::Slow => {
                    thread::sleep(Duration::from_millis(1500));
                    continue;
                }
                Mode::Garbage => {
                    let _ = stream.write_all(b"SSH-2.0-not-http\r\n");
                    continue;
                }
                _ if first.starts_with("PUT /latest/api/token") => match mode {
                    Mode::Token if request.contains("X-aliyun-ecs-metadata-token-ttl-seconds: 21600") => (200, TOKEN.into()),
                    _ => (404, "not found".into()),
                },
                Mode::ServerError => (500, "oops".into()),
                Mode::Token if !has_token => (403, "token required".into()),
                _ => {
                    let item = path.strip_prefix("/latest/meta-data/").unwrap_or("");
                    match overrides.iter().find(|(k, _)| *k == item) {
                        Some((_, (status, body))) => (*status, body.to_string()),
                        None => match items().get(item) {
                            Some(body) => (200, body.to_string()),
                            None => (404, "not found".into()),
                        },
                    }
                }
            };
            let reason = if status == 200 { "OK" } else { "Error" };
            let _ = stream.write_all(format!("HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).as_bytes());
        }
    });
    (url, seen)
}

fn config(url: &str) -> MetadataConfig {
    MetadataConfig { enabled: true, url: url.into(), request_timeout: Duration::from_millis(300), total_timeout: Duration::from_millis(2000) }
}

const EXPECTED: &str = "hostname=iZbp1meta\n\
eth0_mac_addr=00:16:3e:00:00:01\neth0_ip_addr=172.16.1.10\neth0_netmask=255.255.240.0\neth0_gateway=172.16.15.253\n\
eth0_route=\"0.0.0.0/0 172.16.15.253;172.16.0.0/12 172.16.15.253\"\n\
eth1_mac_addr=00:16:3e:00:00:02\neth1_ip_addr=172.16.2.20\neth1_netmask=255.255.255.0\neth1_gateway=172.16.2.253\n\
dns_nameserver=\"100.100.2.136 100.100.2.138\"\n";

#[test]
fn token_flow_reads_everything_with_the_token() {
    let (url, seen) = serve(Mode::Token, vec![], 50);
    let found = find(&config(&url)).unwrap().expect("settings from the endpoint");
    assert_eq!(String::from_utf8(found.content.clone()).unwrap(), EXPECTED);
    assert_eq!(found.delete_after, None);
    assert_eq!(seen.lock().unwrap()[0], "PUT /latest/api/token HTTP/1.1");
    // What it serves validates: primary NIC first with the one default route.
    let settings = Settings::from_drop(&found.content, PasswordForm::Base64Plain).unwrap();
    assert_eq!(settings.nics[0].default_route().unwrap().via.to_string(), "172.16.15.253");
    assert!(settings.nics[1].default_route().is_none(), "{:?}", settings.nics[1]);
    assert!(settings.password.is_none());
}

#[test]
fn plain_flow_when_tokens_are_not_offered() {
    let (url, seen) = serve(Mode::Plain, vec![], 50);
    let found = find(&config(&url)).unwrap().unwrap();
    assert_eq!(String::from_utf8(found.content).unwrap(), EXPECTED);
    assert!(seen.lock().unwrap().iter().any(|r| r == "GET /latest/meta-data/hostname HTTP/1.1"));
}

#[test]
fn missing_optional_items_are_left_out() {
    let (url, _) = serve(Mode::Plain, vec![("hostname", (404, "")), ("dns-conf/nameservers", (404, ""))], 50);
    let text = String::from_utf8(find(&config(&url)).unwrap().unwrap().content).unwrap();
    assert!(!text.contains("hostname=") && !text.contains("dns_nameserver"), "{text}");
    assert!(text.contains("eth0_ip_addr=172.16.1.10"));
}

#[test]
fn a_missing_required_item_or_server_error_fails_clearly() {
    let (url, _) = serve(Mode::Plain, vec![("network/interfaces/macs/00:16:3e:00:00:02/netmask", (404, ""))], 50);
    let e = find(&config(&url)).unwrap_err().to_string();
    assert!(e.contains("00:16:3e:00:00:02/netmask: not found"), "{e}");
    let (url, _) = serve(Mode::ServerError, vec![], 50);
    let e = find(&config(&url)).unwrap_err().to_string();
    assert!(e.contains("HTTP status 500"), "{e}");
}

#[test]
fn values_that_could_inject_keys_are_refused() {
    let (url, _) = serve(Mode::Plain, vec![("hostname", (200, "evil\neth0_ip_addr=1.2.3.4")), ], 50);
    let e = find(&config(&url)).unwrap_err().to_string();
    assert!(e.contains("hostname: the value has characters"), "{e}");
    let (url, _) = serve(Mode::Plain, vec![("hostname", (200, "x\"; touch /tmp/p; \""))], 50);
    assert!(find(&config(&url)).is_err());
}

#[test]
fn garbage_is_an_error() {
    let (url, _) = serve(Mode::Garbage, vec![], 5);
    let e = find(&config(&url)).unwrap_err().to_string();
    assert!(e.contains("no end of headers") || e.contains("status line"), "{e}");
}

#[test]
fn an_absent_or_silent_endpoint_means_no_settings_within_the_bounds() {
    // Nothing listens: refused at once.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let start = Instant::now();
    assert!(find(&config(&format!("http://127.0.0.1:{port}"))).unwrap().is_none());
    assert!(start.elapsed() < Duration::from_millis(500));
    // Accepts, never answers: given up after the per-request timeout.
    let (url, _) = serve(Mode::Slow, vec![], 3);
    let start = Instant::now();
    assert!(find(&config(&url)).unwrap().is_none());
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(250) && took < Duration::from_millis(1500), "{took:?}");
}
