//! A seeded mutation fuzzer over every reader of untrusted input (issue 22):
//! cargo-fuzz needs a nightly compiler, so this is a small dependency-free
//! one that runs inside `cargo test`. Per target (tests/readers/mod.rs) it
//! starts from the target's corpus, applies byte mutations (bit flips,
//! inserted, deleted and duplicated chunks, splices of two corpus files,
//! brackets, quotes, newlines, non-UTF-8 bytes, long runs of one token) and
//! feeds each input to the reader. It fails on a panic, on a broken contract
//! (see `Target`), and on an input still running after `HANG_BOUND` (a
//! watchdog thread: hang detection, not a timing assertion); the input is
//! saved to a file whose path is printed with the seed.
//!
//! `OSCONF_FUZZ_SECONDS` (default 20) is the time for all targets together,
//! `OSCONF_FUZZ_SEED` replays a run (the seed is printed), `OSCONF_FUZZ_TARGET`
//! fuzzes only the targets whose name contains it.
//!
//! The readers, and the tests that cover each (proptest: tests/proptest_readers.rs):
//!
//! | reader (src/)                                          | file read                                  | target              |
//! |--------------------------------------------------------|--------------------------------------------|---------------------|
//! | plan/network/netplan/yaml.rs `read` (netplan/mod.rs)   | /etc/netplan, /lib/netplan, /run/netplan *.yaml | netplan (+ tests/netplan_typos.rs) |
//! | plan/network/networkd/mod.rs `names_nic`                | /etc, /run, /lib, /usr/lib systemd/network *.network | networkd |
//! | plan/network/mod.rs `NicNames::read`                    | /sys/class/net/*/address                   | sysfs-address       |
//! | plan/network/ifupdown/interfaces_file.rs `without_conflicts` | /etc/network/interfaces (`source` lines are matched, never followed) | ifupdown |
//! | plan/network/ifupdown/busybox.rs `without_block`        | /etc/network/interfaces                    | ifupdown-busybox    |
//! | plan/network/rhel_ifcfg/mod.rs `conflicting`, `value`   | /etc/sysconfig/network-scripts/ifcfg-*     | ifcfg               |
//! | plan/network/networkmanager/mod.rs `bound_keyfiles`     | /etc/NetworkManager/system-connections/*   | nm-keyfile          |
//! | plan/network/networkmanager/mod.rs `no_auto_default`    | /etc/NetworkManager/conf.d/90-osconf.conf  | nm-osconf-conf      |
//! | plan/dns.rs `render`, `restore` (`keep_other_lines`)    | /etc/resolv.conf                           | resolv.conf         |
//! | plan/dns.rs + plan/shell_vars.rs                        | /etc/sysconfig/network/config (netconfig)  | netconfig           |
//! | plan/hostname.rs `render`, `restore`                    | /etc/hosts                                 | hosts               |
//! | plan/hostname.rs + plan/shell_vars.rs                   | /etc/sysconfig/network                     | sysconfig-network   |
//! | plan/originals.rs `read` (hostname.rs `restore`)        | /var/lib/osconf/backup/etc/hostname        | original-hostname   |
//! | plan/password.rs `render`, apply/password.rs `rebase`   | /etc/shadow                                | shadow              |
//! | plan/ssh_keys.rs `root_home`                            | /etc/passwd                                | passwd              |
//! | plan/ssh_keys.rs `planned_content`                      | /root/.ssh/authorized_keys                 | authorized_keys     |
//! | record.rs `Record::load`                                | /var/lib/osconf/record.json                | record.json         |
//! | drop_key.rs `DropKey::load_or_new`                      | /var/lib/osconf/drop.key                   | drop.key            |
//! | config.rs `Config::load`                                | /etc/osconf/osconf.conf                    | osconf.conf         |
//! | sources/alibaba_metadata/items.rs `Document`, map.rs `read` | the meta-data/all JSON document         | metadata-document   |
//! | sources/alibaba_metadata/map.rs `read` (item by item)    | every metadata item                        | metadata-items      |
//! | sources/openstack_format/meta.rs `read`                 | meta_data.json (drive, service)            | openstack-meta-data |
//! | sources/openstack_format/network.rs `read`              | network_data.json (drive, service)         | openstack-network-data |
//! | sources/http/mod.rs `parse_response`        | the HTTP response                          | http-response (+ tests/proptest_http.rs) |
//! | sources/media/iso9660.rs `volume_label`, `read_file`   | an ISO 9660 image file (config drive)      | iso9660 (+ its unit tests) |
//! | user_data/format.rs `parse`                             | user data (drive, metadata services)       | user-data (+ its unit tests, tests/user_data.rs) |
//! | user_data/cloud_config.rs `read`                        | #cloud-config in user data                 | cloud-config        |
//! | check.rs `run`                                          | /etc/shadow, authorized_keys (offline image) | check-image       |
//! | sources/osconf_format/ (the os.conf drop, Tencent's CD-ROM) | os.conf                                  | tests/proptest_parser.rs, tests/hostile.rs |
//!
//! os-release is not read by osconf (only /etc/alpine-release's existence);
//! it is corpus for the shell-variable readers. /proc/self/mountinfo and
//! /sys/block (sources/) are the kernel's, not the image's.

mod common;
mod readers;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use readers::{Target, TARGETS};

/// An input still being read after this long hangs. Every reader is linear
/// and the inputs are at most `MAX_INPUT` bytes: they take milliseconds.
const HANG_BOUND: Duration = Duration::from_secs(20);
/// Inputs grow by duplication; capped to keep each run quick.
const MAX_INPUT: usize = 512 << 10;

/// xorshift64*: small, seedable, good enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens the readers give meaning to, and bytes that are not UTF-8.
const TOKENS: &[&[u8]] = &[
    b"[",
    b"]",
    b"{",
    b"}",
    b"\"",
    b"'",
    b"\n",
    b"\r\n",
    b":",
    b": ",
    b"=",
    b"#",
    b",",
    b"- ",
    b"  ",
    b"\t",
    b"\\",
    b"\xff",
    b"\xc3",
    b"\xe2\x82",
    b"\x00",
    b"---\n",
    b"[Match]\n",
    b"[connection]\n",
    b"MACAddress=",
    b"mac-address=",
    b"HWADDR=",
    b"DEVICE=",
    b"iface ",
    b"auto ",
    b"source ",
    b"nameserver ",
    b"root:",
    b"network:\n  ethernets:\n",
    b"match:",
    b"macaddress: ",
    b"00:8c:fa:5e:14:23",
    b"ens3",
    b"eth0",
    b"{\"",
    b"HTTP/1.1 200 OK\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Content-Length: ",
    b"\r\n\r\n",
    b"ffffffff",
    b"# BEGIN osconf",
    b"# END osconf",
];

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(9) {
            0 if !input.is_empty() => {
                let i = rng.below(input.len());
                input[i] ^= 1 << rng.below(8);
            }
            1 => input.insert(at, rng.next() as u8),
            2 if !input.is_empty() => {
                let len = 1 + rng.below(16.min(input.len() - at.min(input.len() - 1)));
                let start = at.min(input.len() - 1);
                input.drain(start..(start + len).min(input.len()));
            }
            3 if !input.is_empty() => {
                let start = rng.below(input.len());
                let len = 1 + rng.below((input.len() - start).min(256));
                let chunk = input[start..start + len].to_vec();
                input.splice(at..at, chunk);
            }
            4 => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                input.truncate(at);
                input.extend_from_slice(&other[from..]);
            }
            5 => {
                // A long run of one token: nesting, many lines, a long line.
                let token = TOKENS[rng.below(TOKENS.len())];
                // 300,000: deeper than any recursive reader's stack allows; rare, as it is slow.
                let count = if rng.below(16) == 0 { 300_000 } else { [10, 100, 1000, 10_000][rng.below(4)] };
                let run: Vec<u8> = token.iter().copied().cycle().take(token.len() * count).collect();
                input.splice(at..at, run);
            }
            6 if !input.is_empty() => input.truncate(at),
            _ => {
                let token = TOKENS[rng.below(TOKENS.len())];
                input.splice(at..at, token.iter().copied());
            }
        }
    }
    input.truncate(MAX_INPUT);
}

/// What the watchdog watches: when the current input started (ms since the
/// run began, 0 when idle), and what it is.
struct Current {
    started_ms: AtomicU64,
    what: Mutex<(String, Vec<u8>)>,
}

fn save(target: &str, seed: u64, input: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("osconf-fuzz-{target}-{seed}.bin"));
    std::fs::write(&path, input).unwrap();
    path.display().to_string()
}

fn seconds() -> f64 {
    std::env::var("OSCONF_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(20.0)
}

#[test]
fn fuzz_every_reader() {
    let seed = std::env::var("OSCONF_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    let only = std::env::var("OSCONF_FUZZ_TARGET").unwrap_or_default();
    let targets: Vec<&Target> = TARGETS.iter().filter(|t| t.name.contains(only.as_str())).collect();
    assert!(!targets.is_empty(), "no target matches OSCONF_FUZZ_TARGET={only:?}");
    let per_target = Duration::from_secs_f64(seconds() / targets.len() as f64);
    println!("fuzz_readers: seed {seed} (OSCONF_FUZZ_SEED={seed} replays it), {per_target:?} per target");

    let began = Instant::now();
    let current = Arc::new(Current { started_ms: AtomicU64::new(0), what: Mutex::new(Default::default()) });
    let watched = Arc::clone(&current);
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(200));
        let started = watched.started_ms.load(Ordering::SeqCst);
        if started != 0 && (began.elapsed().as_millis() as u64).saturating_sub(started) > HANG_BOUND.as_millis() as u64
        {
            let (target, input) = watched.what.lock().unwrap().clone();
            let path = save(&target, seed, &input);
            eprintln!(
                "fuzz_readers: {target}: an input still running after {HANG_BOUND:?} (seed {seed}), saved as {path}"
            );
            std::process::exit(101);
        }
    });

    for target in targets {
        let mut rng =
            Rng(seed
                ^ target.name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3)));
        let mut corpus: Vec<Vec<u8>> = target.corpus().into_iter().map(|(_, bytes)| bytes).collect();
        corpus.push(Vec::new());
        let tree = target.tree("fuzz");
        let deadline = Instant::now() + per_target;
        let mut tried = 0u64;
        while Instant::now() < deadline {
            let mut input = corpus[rng.below(corpus.len())].clone();
            mutate(&mut rng, &mut input, &corpus);
            *current.what.lock().unwrap() = (target.name.to_owned(), input.clone());
            current.started_ms.store(began.elapsed().as_millis() as u64 + 1, Ordering::SeqCst);
            let outcome = catch_unwind(AssertUnwindSafe(|| target.feed(&tree.path, &input)));
            current.started_ms.store(0, Ordering::SeqCst);
            tried += 1;
            let failure = match outcome {
                Ok(Ok(())) => None,
                Ok(Err(broken)) => Some(broken),
                Err(_) => Some("panicked (message above)".to_owned()),
            };
            if let Some(why) = failure {
                let path = save(target.name, seed, &input);
                panic!("{}: {why}; seed {seed}, input saved as {path} (input #{tried})", target.name);
            }
        }
        println!("fuzz_readers: {:<18} {tried:>7} inputs from {} corpus files", target.name, corpus.len() - 1);
    }
}
