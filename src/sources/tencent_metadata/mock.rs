//! A stand-in for Tencent's metadata service serving its documented item
//! tree (PLATFORM.md §6), for `tencent_metadata/tests.rs` and the tests of
//! the binary (`tests/sources_tencent_metadata.rs`), which both include this
//! file beside `tests/common/metadata_server.rs` (as `server`). Standard
//! library only.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::server::Server;

pub const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEV6rWFWF4UhzhtLEjsSstA7b1fbiJnbaqGGcnkzkv3m alice@meta";
pub const ETH0: &str = "network/interfaces/macs/52:54:00:BF:B3:51/";
pub const ETH1: &str = "network/interfaces/macs/20:90:6F:A1:00:02/";

/// Tencent's documented tree, for a VPC instance with two NICs (item →
/// body). The listing names the secondary NIC first: `mac` says which is
/// primary. The items osconf does not use are served too.
pub fn documented_tree() -> BTreeMap<String, String> {
    [
        ("", "instance-id\nuuid\ninstance-name\nlocal-ipv4\npublic-ipv4\nmac\nplacement/\nnetwork/\npublic-keys/\nhostname"),
        ("instance-id", "ins-3j1ha2pk"),
        ("uuid", "cfac763a-7094-446b-a8a9-b995e638471a"),
        ("instance-name", "web-1"),
        ("hostname", "VM-0-5-centos"),
        ("local-ipv4", "10.0.0.5"),
        ("public-ipv4", "203.0.113.9"),
        ("mac", "52:54:00:BF:B3:51"),
        ("placement/region", "ap-guangzhou"),
        ("placement/zone", "ap-guangzhou-3"),
        ("network/interfaces/macs/", "20:90:6F:A1:00:02/\n52:54:00:BF:B3:51/"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/mac", "52:54:00:BF:B3:51"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/vpc-id", "vpc-ja82n9op"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/subnet-id", "subnet-ja9k3ffi"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/primary-local-ipv4", "10.0.0.5"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/public-ipv4s", "203.0.113.9"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/local-ipv4s/", "10.0.0.5/\n10.0.0.9/"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/local-ipv4s/10.0.0.5/gateway", "10.0.0.1"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/local-ipv4s/10.0.0.5/subnet-mask", "255.255.255.0"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/local-ipv4s/10.0.0.5/public-ipv4", "203.0.113.9"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/local-ipv4s/10.0.0.5/public-ipv4-mode", "NAT"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/local-ipv4s/10.0.0.9/gateway", "10.0.0.1"),
        ("network/interfaces/macs/52:54:00:BF:B3:51/local-ipv4s/10.0.0.9/subnet-mask", "255.255.255.0"),
        ("network/interfaces/macs/20:90:6F:A1:00:02/mac", "20:90:6F:A1:00:02"),
        ("network/interfaces/macs/20:90:6F:A1:00:02/local-ipv4s/", "10.0.1.7/"),
        ("network/interfaces/macs/20:90:6F:A1:00:02/local-ipv4s/10.0.1.7/gateway", "10.0.1.1"),
        ("network/interfaces/macs/20:90:6F:A1:00:02/local-ipv4s/10.0.1.7/subnet-mask", "255.255.255.0"),
        ("public-keys/", "0/"),
        ("public-keys/0/openssh-key", KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// Tencent's endpoint: plain GETs of `/latest/meta-data/ITEM`, 404 for
/// what is absent; `status` answers those items with that status instead;
/// `catch_all` answers every path 200 with that body.
#[derive(Clone, Default)]
pub struct Mock {
    pub server: Server,
    pub tree: BTreeMap<String, String>,
    pub status: Vec<(String, u16)>,
    pub catch_all: Option<&'static str>,
}

impl Mock {
    pub fn new() -> Mock {
        Mock { tree: documented_tree(), ..Mock::default() }
    }

    pub fn set(mut self, item: &str, body: &str) -> Mock {
        self.tree.insert(item.into(), body.into());
        self
    }

    pub fn remove(mut self, item: &str) -> Mock {
        self.tree.remove(item);
        self
    }

    pub fn status(mut self, item: &str, status: u16) -> Mock {
        self.status.push((item.into(), status));
        self
    }

    pub fn serve(self) -> (String, Arc<Mutex<Vec<String>>>) {
        let server = self.server;
        server.serve(Arc::new(move |first: &str, _: &str| self.answer(first)))
    }

    fn answer(&self, first: &str) -> (u16, String) {
        if let Some(body) = self.catch_all {
            return (200, body.into());
        }
        let path = first.split(' ').nth(1).unwrap_or("");
        let Some(item) = path.strip_prefix("/latest/meta-data/").filter(|_| first.starts_with("GET ")) else {
            return (404, "not found".into());
        };
        if let Some((_, status)) = self.status.iter().find(|(k, _)| k == item) {
            return (*status, "error".into());
        }
        match self.tree.get(item) {
            Some(body) => (200, body.clone()),
            None => (404, "not found".into()),
        }
    }
}
