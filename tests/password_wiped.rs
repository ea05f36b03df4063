//! After an apply, no copy of the password is left in the process's memory:
//! neither its plain text nor the Base64 the drop carries (the drop's bytes,
//! the parsed value, the decoded text, the hash's inputs are all wiped when
//! dropped). Scanned through /proc/self/mem, in a child process running only
//! this test, so that no other test's memory is in the way.
//!
//! What this can see: heap and stack copies left at the end of an apply, as
//! a core dump would have held them had the process crashed then. Not: a
//! copy that lived only while the apply ran (a crash then is what
//! `tests/no_core_dump.rs` covers), nor words a hasher holds byte-swapped.

mod common;

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use base64::Engine;
use common::{alone_in_a_child, minimal_image, TempTree};
use osconf::commands::{self, Options};
use osconf::files::Root;
use osconf::settings::Password;
use osconf::sources;
use zeroize::Zeroizing;

const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const LEN: usize = 40;

/// A secret the scan looks for, kept only XORed with a random mask: the
/// test itself holds no copy that the scan could find.
struct Needle {
    name: &'static str,
    masked: Vec<u8>,
    mask: Vec<u8>,
}

impl Needle {
    /// 16 bytes from the middle of `secret`: a freed block's first 16 bytes
    /// are malloc's list pointers, its middle is left as it was.
    fn new(name: &'static str, secret: &[u8]) -> Needle {
        let middle = &secret[secret.len() / 2 - 8..secret.len() / 2 + 8];
        let mask = random(middle.len());
        Needle { name, masked: middle.iter().zip(mask.iter()).map(|(s, m)| s ^ m).collect(), mask: mask.to_vec() }
    }

    fn found_at(&self, bytes: &[u8]) -> Option<usize> {
        let n = self.masked.len();
        (0..bytes.len().saturating_sub(n - 1)).find(|&i| (0..n).all(|j| bytes[i + j] ^ self.mask[j] == self.masked[j]))
    }
}

fn random(len: usize) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    File::open("/dev/urandom").unwrap().read_exact(&mut bytes).unwrap();
    bytes
}

/// Every writable mapping of this process (heap, stacks, anonymous memory),
/// searched for each needle; returns what was found where.
fn scan(needles: &[Needle]) -> Vec<String> {
    let mem = File::open("/proc/self/mem").unwrap();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut chunk = Zeroizing::new(vec![0u8; 1 << 20]);
    let mut found = Vec::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !fields[1].starts_with("rw") {
            continue;
        }
        let (start, end) = fields[0].split_once('-').unwrap();
        let (start, end) = (u64::from_str_radix(start, 16).unwrap(), u64::from_str_radix(end, 16).unwrap());
        // Overlapping reads, so that a copy across two reads is seen.
        let mut at = start;
        while at < end {
            let len = chunk.len().min((end - at) as usize);
            if let Ok(got) = mem.read_at(&mut chunk[..len], at) {
                for needle in needles {
                    if let Some(i) = needle.found_at(&chunk[..got]) {
                        found.push(format!("{} at {:#x} in {line}", needle.name, at + i as u64));
                    }
                }
            }
            at += (len as u64).saturating_sub(32).max(1);
            if len < chunk.len() {
                break;
            }
        }
    }
    found
}

/// The child's part: a drop with a fresh random password read, parsed and
/// hashed, then the scan; then a whole apply of it, then the scan.
fn apply_then_scan() {
    let tree = TempTree::new("password-wiped");
    minimal_image(&tree);
    let drop_path: PathBuf = tree.join("/drop.conf");
    let needles = {
        let mut plain = random(LEN);
        for byte in plain.iter_mut() {
            *byte = ALPHABET[*byte as usize % ALPHABET.len()];
        }
        let mut drop = Zeroizing::new(Vec::with_capacity(128));
        drop.extend_from_slice(b"hostname=wiped\npassword=");
        let start = drop.len();
        drop.resize(start + LEN.div_ceil(3) * 4, 0);
        base64::engine::general_purpose::STANDARD.encode_slice(&*plain, &mut drop[start..]).unwrap();
        drop.push(b'\n');
        std::fs::write(&drop_path, &*drop).unwrap();
        [Needle::new("the plain text", &plain), Needle::new("the Base64", &drop[start..drop.len() - 1])]
    };
    // The scan must see a copy that is there: the masked needles, put together.
    let planted: Vec<Zeroizing<Vec<u8>>> =
        needles.iter().map(|n| Zeroizing::new(n.masked.iter().zip(&n.mask).map(|(a, b)| a ^ b).collect())).collect();
    let seen = scan(&needles);
    assert!(seen.len() >= 2, "the scan does not see what is in memory: {seen:?}");
    drop(planted);
    assert!(scan(&needles).is_empty(), "the test's own copies are left");

    // The password's own path: the drop read, parsed, its password decoded and hashed.
    {
        let file = sources::read_drop_file(&drop_path).unwrap().unwrap();
        let found = sources::Found::drop(sources::alibaba_drop::KIND, file);
        let settings = found.settings().unwrap();
        let password = settings.password.as_ref().unwrap();
        let hash = osconf::plan::password::hash_of(password).unwrap();
        let shadow = osconf::plan::password::render(&Root::new(&tree.path), &hash, 1).unwrap();
        assert!(shadow.content.starts_with(b"root:$6$"));
    }
    let left = scan(&needles);
    assert!(left.is_empty(), "copies of the password left once it is hashed:\n{}", left.join("\n"));

    let options = Options {
        root: tree.path.clone(),
        from: Some(osconf::commands::SourceChoice {
            name: "alibaba-drop".into(),
            place: Some(drop_path.clone().into_os_string()),
        }),
        live: Some(false),
        keep_drop: false,
        json: false,
        metadata: None,
        image: None,
        clouds: None,
    };
    assert_eq!(commands::apply(&options).unwrap(), 0);
    assert!(tree.read("/etc/shadow").starts_with("root:$6$"), "the password was set");
    let left = scan(&needles);
    assert!(left.is_empty(), "copies of the password left in memory after the apply:\n{}", left.join("\n"));
}

#[test]
fn no_copy_of_the_password_is_left_in_memory_after_an_apply() {
    alone_in_a_child("no_copy_of_the_password_is_left_in_memory_after_an_apply", apply_then_scan);
}

/// The plan keeps the hash it wrote into /etc/shadow, not the plain text:
/// that is wiped once hashed, not when the run ends.
#[test]
fn the_plan_keeps_the_hash_not_the_plain_text() {
    let tree = TempTree::new("password-plan");
    minimal_image(&tree);
    let root = Root::new(&tree.path);
    let config = osconf::config::Config::load(&root).unwrap();
    let drop = b"password=cXdIcjEyMzQK\n";
    let settings = sources::osconf_format::from_drop(drop, sources::osconf_format::ALIBABA).unwrap();
    assert!(matches!(settings.password, Some(Password::Plain(_))));
    let plan =
        osconf::plan::Plan::build(settings, &osconf::plan::Origin::drop("test", drop, None), None, &root, &config)
            .unwrap();
    let Some(Password::Hash(hash)) = &plan.settings.password else {
        panic!("the plan keeps {:?}", plan.settings.password)
    };
    let shadow = plan.writes.iter().find(|w| w.path == "/etc/shadow").unwrap();
    assert!(String::from_utf8_lossy(&shadow.content).starts_with(&format!("root:{hash}:")), "{hash}");
    assert!(common::crypt_matches("qwHr1234", hash));
}
