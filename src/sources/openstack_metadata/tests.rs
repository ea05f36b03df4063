//! The metadata service against a server on loopback that the test runs:
//! a 404 is "not served", a 5xx is tried again, a silent service times out,
//! and what is not OpenStack's (a page, garbage, JSON without a uuid) is not
//! believed. Every server stops when its test drops it.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::settings::ssh_key::tests::ED25519;
use crate::sources::Source;

/// What the server answers for a path, given how often it was asked before.
type Answer = Box<dyn Fn(&str, usize) -> Option<(u16, String)> + Send + Sync>;

struct Server {
    url: String,
    asked: Arc<Mutex<HashMap<String, usize>>>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// `None` from `answer`: accept and say nothing (a silent service).
    fn start(answer: Answer) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (counts, stopped) = (asked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut silent = Vec::new();
            while !stopped.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                stream.set_nonblocking(false).unwrap();
                stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head);
                let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let count = {
                    let mut counts = counts.lock().unwrap();
                    let count = counts.entry(path.clone()).or_insert(0);
                    *count += 1;
                    *count - 1
                };
                match answer(&path, count) {
                    Some((status, body)) => {
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(reply.as_bytes());
                    }
                    None => silent.push(stream),
                }
            }
        });
        Server { url, asked, stop }
    }

    fn asked(&self, path: &str) -> usize {
        self.asked.lock().unwrap().get(path).copied().unwrap_or(0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

const META: &str = "/openstack/latest/meta_data.json";
const NETWORK: &str = "/openstack/latest/network_data.json";

fn meta_data() -> String {
    serde_json::json!({"uuid": "ca9e8b7c-f2be-4b6d-a639-f10b4d994d04", "hostname": "ecs-ddd4.novalocal",
                       "public_keys": {"k": ED25519}})
    .to_string()
}

fn config(url: &str) -> SourceConfig {
    SourceConfig {
        url: url.to_owned(),
        request_timeout: Duration::from_millis(200),
        total_timeout: Duration::from_millis(3000),
        ..SOURCE.defaults()
    }
}

#[test]
fn meta_data_and_a_missing_network_data() {
    let server = Server::start(Box::new(|path, _| match path {
        META => Some((200, meta_data())),
        _ => Some((404, "Not Found".into())),
    }));
    let found = find(&config(&server.url)).unwrap().unwrap();
    let typed = found.typed().unwrap();
    assert_eq!(found.source, "openstack-metadata");
    assert_eq!(typed.instance_id.as_deref(), Some("ca9e8b7c-f2be-4b6d-a639-f10b4d994d04"));
    assert_eq!(typed.settings.hostname.as_deref(), Some("ecs-ddd4"));
    assert_eq!(typed.settings.ssh_keys.as_ref().map(Vec::len), Some(1));
    assert_eq!(typed.settings.nics, []);
    assert_eq!(typed.warnings, Vec::<String>::new(), "a 404 network_data.json is no network, no warning");
    assert_eq!((server.asked(META), server.asked(NETWORK)), (1, 1), "a 404 is not asked again");
}

#[test]
fn a_server_error_is_tried_again() {
    let server = Server::start(Box::new(|path, count| match (path, count) {
        (META, 0 | 1) => Some((503, "busy".into())),
        (META, _) => Some((200, meta_data())),
        (NETWORK, 0) => Some((500, "oops".into())),
        (NETWORK, _) => Some((200, r#"{"links": [], "networks": []}"#.into())),
        _ => Some((404, String::new())),
    }));
    let found = find(&config(&server.url)).unwrap().unwrap();
    assert_eq!(found.typed().unwrap().warnings, Vec::<String>::new());
    assert_eq!((server.asked(META), server.asked(NETWORK)), (3, 2));
}

#[test]
fn absent_silent_or_forbidden_services() {
    // 404 for meta_data.json: not OpenStack's service, nothing from it.
    let server = Server::start(Box::new(|_, _| Some((404, String::new()))));
    assert!(find(&config(&server.url)).unwrap().is_none());
    // Nothing listens.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    assert!(find(&config(&format!("http://127.0.0.1:{port}"))).unwrap().is_none());
    // Accepts and says nothing: a timeout within the total time.
    let silent = Server::start(Box::new(|_, _| None));
    let started = std::time::Instant::now();
    assert!(find(&SourceConfig { total_timeout: Duration::from_millis(600), ..config(&silent.url) })
        .unwrap()
        .is_none());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // 403: an answer, but a wrong one; not retried.
    let forbidden = Server::start(Box::new(|_, _| Some((403, "no".into()))));
    let e = find(&config(&forbidden.url)).unwrap_err().to_string();
    assert!(e.contains("HTTP status 403"), "{e}");
    assert_eq!(forbidden.asked(META), 1);
    // 500 for good: tried until the total time, then an error naming the status.
    let broken = Server::start(Box::new(|_, _| Some((500, "down".into()))));
    let e = find(&SourceConfig { total_timeout: Duration::from_millis(500), ..config(&broken.url) })
        .unwrap_err()
        .to_string();
    assert!(e.contains("HTTP status 500"), "{e}");
    assert!(broken.asked(META) > 1);
}

#[test]
fn what_is_not_openstacks_is_not_believed() {
    for body in [
        "<!DOCTYPE html><html><body>Login</body></html>",
        "ok",
        "{\"hostname\": \"no-uuid\"}",
        "[1, 2, 3]",
        "\u{0}\u{1}garbage",
    ] {
        let server = Server::start(Box::new(move |_, _| Some((200, body.to_owned()))));
        assert!(find(&config(&server.url)).unwrap().is_none(), "{body}");
        assert_eq!(server.asked(NETWORK), 0, "{body}: refused before anything else is asked");
    }
    // A bad network_data.json: a warning, the rest applies.
    let server = Server::start(Box::new(|path, _| match path {
        META => Some((200, meta_data())),
        _ => Some((200, "<html>".into())),
    }));
    let found = find(&config(&server.url)).unwrap().unwrap();
    let warnings = &found.typed().unwrap().warnings;
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].starts_with("network_data.json: not JSON"), "{warnings:?}");
}

#[test]
fn asked_by_default_only_where_dmi_says_openstack() {
    let defaults = SOURCE.defaults();
    assert_eq!((defaults.enabled, defaults.url.as_str(), defaults.password), (Enabled::Auto, DEFAULT_URL, true));
    assert!(crate::sources::asked(&SOURCE, &defaults, Some(Cloud::OpenStack)));
    assert!(!crate::sources::asked(&SOURCE, &defaults, None));
    assert!(!crate::sources::asked(&SOURCE, &defaults, Some(Cloud::Alibaba)));
}

/// China Telecom's multi-AZ pools serve no `/openstack/`, only the EC2-style
/// tree at `/meta-data/<item>` (no `/latest`): its instance id, host name and
/// keys are read there; Nova's `/latest/meta-data/` is asked only after it.
#[test]
fn without_meta_data_json_the_ec2_tree_china_telecom_serves() {
    let server = Server::start(Box::new(|path, _| match path {
        "/meta-data/instance-id" => Some((200, "5e0a1c2b-3d4e-4f50-8a6b-7c8d9e0f1a2b".into())),
        "/meta-data/hostname" => Some((200, "ct-vm-01.novalocal".into())),
        "/meta-data/public-keys/" => Some((200, "0=ct-key".into())),
        "/meta-data/public-keys/0/openssh-key" => Some((200, format!("{ED25519}\n"))),
        _ => Some((404, "Not Found".into())),
    }));
    let found = find(&config(&server.url)).unwrap().unwrap();
    let typed = found.typed().unwrap();
    assert_eq!(found.source, "openstack-metadata");
    assert_eq!(typed.instance_id.as_deref(), Some("5e0a1c2b-3d4e-4f50-8a6b-7c8d9e0f1a2b"));
    assert_eq!(typed.settings.hostname.as_deref(), Some("ct-vm-01"));
    assert_eq!(typed.settings.fqdn.as_deref(), Some("ct-vm-01.novalocal"));
    assert_eq!(typed.settings.ssh_keys.as_ref().map(Vec::len), Some(1));
    assert_eq!((typed.settings.nics.len(), typed.settings.password.is_none()), (0, true));
    assert_eq!(typed.warnings, Vec::<String>::new());
    assert_eq!((server.asked(META), server.asked("/latest/meta-data/instance-id")), (1, 0));

    // Nova's own EC2 tree, with its `i-` ids, where `/meta-data/` is not served.
    let nova = Server::start(Box::new(|path, _| match path {
        "/latest/meta-data/instance-id" => Some((200, "i-0000001e".into())),
        "/latest/meta-data/hostname" => Some((200, "nova-vm".into())),
        _ => Some((404, String::new())),
    }));
    let found = find(&config(&nova.url)).unwrap().unwrap();
    let typed = found.typed().unwrap();
    assert_eq!(
        (typed.instance_id.as_deref(), typed.settings.hostname.as_deref(), typed.settings.fqdn.as_deref()),
        (Some("i-0000001e"), Some("nova-vm"), None)
    );
    assert_eq!(typed.settings.ssh_keys, Some(Vec::new()), "no public-keys/: no key pair");
    assert_eq!(nova.asked("/meta-data/instance-id"), 1);

    // A page or an odd id where the instance id should be: not believed.
    for id in ["<html>portal</html>", "ok", "i-xyz", "12345"] {
        let odd = Server::start(Box::new(move |path, _| match path {
            "/meta-data/instance-id" => Some((200, id.to_owned())),
            "/meta-data/hostname" => Some((200, "x".into())),
            _ => Some((404, String::new())),
        }));
        assert!(find(&config(&odd.url)).unwrap().is_none(), "{id}");
        assert_eq!(odd.asked("/meta-data/hostname"), 0, "{id}: refused before anything else is asked");
    }
}
