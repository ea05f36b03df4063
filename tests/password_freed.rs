//! No memory that held the password is given back unwiped: this test
//! binary's global allocator looks into every block as it is freed, while
//! an apply runs, for the password's bytes. A core dump or a later reader
//! of reused memory would find what a freed block still holds; the scan of
//! `tests/password_wiped.rs` sees only what is left at the end, after
//! malloc reused most freed blocks. Here nothing is missed: every free is
//! seen. One test per secret path, each in a child process of its own.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{alone_in_a_child, minimal_image, TempTree};
use osconf::commands::{self, Options, SourceChoice};
use zeroize::Zeroizing;

/// Each secret's middle 16 bytes, XORed with its MASK: the test keeps no
/// copy. Two: a drop's password is watched in plain text and in Base64.
static mut NEEDLES: [[u8; 16]; 2] = [[0; 16]; 2];
static mut MASKS: [[u8; 16]; 2] = [[0; 16]; 2];
static ARMED: AtomicBool = AtomicBool::new(false);
thread_local! {
    /// Only the thread that applies is watched: a stand-in server's own
    /// copies of what it serves are not osconf's.
    static WATCHED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}
static HITS: AtomicUsize = AtomicUsize::new(0);

struct Watching;

unsafe impl GlobalAlloc for Watching {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) && layout.size() >= 16 && WATCHED.with(|w| w.get()) {
            // No allocation here: compare in place.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let (needles, masks) = unsafe { (&*std::ptr::addr_of!(NEEDLES), &*std::ptr::addr_of!(MASKS)) };
            for (needle, mask) in needles.iter().zip(masks) {
                if block.windows(16).any(|w| w.iter().zip(needle).zip(mask).all(|((b, n), m)| b ^ m == *n)) {
                    HITS.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Watching = Watching;

fn random_text(len: usize) -> Zeroizing<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = Zeroizing::new(vec![0u8; len]);
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut bytes).unwrap();
    for byte in bytes.iter_mut() {
        *byte = ALPHABET[*byte as usize % ALPHABET.len()];
    }
    bytes
}

/// Watches for the secrets' middles from now on (the first again when one is given).
fn arm(secrets: [&[u8]; 2]) {
    for (n, secret) in secrets.iter().enumerate() {
        let middle = &secret[secret.len() / 2 - 8..secret.len() / 2 + 8];
        let mask = random_text(16);
        unsafe {
            for i in 0..16 {
                MASKS[n][i] = mask[i];
                NEEDLES[n][i] = middle[i] ^ mask[i];
            }
        }
    }
    HITS.store(0, Ordering::SeqCst);
    WATCHED.with(|w| w.set(true));
    ARMED.store(true, Ordering::SeqCst);
}

/// Applies with `--from SOURCE=PLACE` while the watch is armed; then no hit.
fn apply_watched(tree: &TempTree, source: &str, place: std::path::PathBuf) {
    let options = Options {
        root: tree.path.clone(),
        from: Some(SourceChoice { name: source.into(), place: Some(place.into_os_string()) }),
        live: Some(false),
        keep_drop: false,
        json: false,
        metadata: None,
        image: None,
        clouds: None,
    };
    assert_eq!(commands::apply(&options).unwrap(), 0);
    ARMED.store(false, Ordering::SeqCst);
    assert!(tree.read("/etc/shadow").starts_with("root:$6$"), "the password was set");
    assert_eq!(HITS.load(Ordering::SeqCst), 0, "blocks holding the password were freed unwiped");
}

/// An apply of an OpenStack config drive whose `admin_pass` is `plain`.
fn apply_drive() {
    let tree = TempTree::new("password-freed-drive");
    minimal_image(&tree);
    let drive = tree.join("/drive");
    std::fs::create_dir_all(drive.join("openstack/latest")).unwrap();
    let plain = random_text(48);
    let mut json = Zeroizing::new(Vec::with_capacity(256));
    json.extend_from_slice(b"{\"uuid\": \"7d1e2a4c-0b5e-4f4e-9a3c-2f6b8d9e0a11\", \"admin_pass\": \"");
    json.extend_from_slice(&plain);
    json.extend_from_slice(b"\"}");
    std::fs::write(drive.join("openstack/latest/meta_data.json"), &*json).unwrap();
    // The watch sees a block freed unwiped: a plain copy, dropped.
    arm([&plain, &plain]);
    drop(String::from_utf8(plain.to_vec()).unwrap());
    assert!(HITS.load(Ordering::SeqCst) > 0, "the watch does not see a freed copy");
    drop(json);
    arm([&plain, &plain]);
    drop(plain);
    apply_watched(&tree, "openstack-drive", drive);
}

/// An apply of an Alibaba os.conf drop whose password is `plain`, in Base64.
fn apply_os_conf() {
    use base64::Engine;
    let tree = TempTree::new("password-freed-drop");
    minimal_image(&tree);
    let path = tree.join("/drop.conf");
    let plain = random_text(48);
    let mut drop_bytes = Zeroizing::new(Vec::with_capacity(128));
    drop_bytes.extend_from_slice(b"hostname=freed\npassword=");
    let start = drop_bytes.len();
    drop_bytes.resize(start + 64, 0);
    base64::engine::general_purpose::STANDARD.encode_slice(&*plain, &mut drop_bytes[start..]).unwrap();
    drop_bytes.push(b'\n');
    std::fs::write(&path, &*drop_bytes).unwrap();
    arm([&plain, &drop_bytes[start..start + 64]]);
    drop(drop_bytes);
    drop(plain);
    apply_watched(&tree, "alibaba-drop", path);
}

#[test]
fn an_os_conf_password_is_never_freed_unwiped() {
    alone_in_a_child("an_os_conf_password_is_never_freed_unwiped", apply_os_conf);
}

#[test]
fn an_openstack_admin_pass_is_never_freed_unwiped() {
    alone_in_a_child("an_openstack_admin_pass_is_never_freed_unwiped", apply_drive);
}

/// An apply from an OpenStack metadata service on loopback serving `admin_pass`.
fn apply_service() {
    let tree = TempTree::new("password-freed-service");
    minimal_image(&tree);
    let plain = random_text(48);
    let body = format!(
        "{{\"uuid\": \"7d1e2a4c-0b5e-4f4e-9a3c-2f6b8d9e0a11\", \"admin_pass\": \"{}\"}}",
        std::str::from_utf8(&plain).unwrap()
    );
    let answer = move |line: &str, _: &str| match line {
        "GET /openstack/latest/meta_data.json HTTP/1.1" => (200, body.clone()),
        _ => (404, String::new()),
    };
    let url = common::metadata_server::Server::default().serve(std::sync::Arc::new(answer)).0;
    std::thread::sleep(std::time::Duration::from_millis(50));
    arm([&plain, &plain]);
    drop(plain);
    apply_watched(&tree, "openstack-metadata", url.into());
}

#[test]
fn an_admin_pass_from_a_metadata_service_is_never_freed_unwiped() {
    alone_in_a_child("an_admin_pass_from_a_metadata_service_is_never_freed_unwiped", apply_service);
}

/// The drive's `admin_pass` with a quote, a backslash and a `\u` escape in
/// its middle: serde_json would decode it through a scratch buffer it frees
/// unwiped; osconf takes it out of the bytes first (`secret_field`).
fn apply_drive_escaped() {
    let tree = TempTree::new("password-freed-escaped");
    minimal_image(&tree);
    let drive = tree.join("/drive");
    std::fs::create_dir_all(drive.join("openstack/latest")).unwrap();
    let mut plain = random_text(48);
    plain[20] = b'"';
    plain[24] = b'\\';
    plain[27] = b'/';
    // The JSON string: `"` and `\` escaped, the letter at 22 as `\u00NN`.
    let mut json = Zeroizing::new(Vec::with_capacity(256));
    json.extend_from_slice(b"{\"uuid\": \"7d1e2a4c-0b5e-4f4e-9a3c-2f6b8d9e0a11\", \"admin_pass\": \"");
    for (i, &byte) in plain.iter().enumerate() {
        match byte {
            b'"' | b'\\' => json.extend_from_slice(&[b'\\', byte]),
            _ if i == 22 => json.extend_from_slice(format!("\\u{:04x}", byte).as_bytes()),
            _ => json.push(byte),
        }
    }
    json.extend_from_slice(b"\"}");
    std::fs::write(drive.join("openstack/latest/meta_data.json"), &*json).unwrap();
    let expected = Zeroizing::new(String::from_utf8(plain.to_vec()).unwrap());
    drop(json);
    arm([&plain, &plain]);
    drop(plain);
    apply_watched(&tree, "openstack-drive", drive);
    let shadow = tree.read("/etc/shadow");
    let hash = shadow.lines().next().unwrap().split(':').nth(1).unwrap();
    assert!(common::crypt_matches(&expected, hash), "the decoded password was set");
}

#[test]
fn an_admin_pass_with_escapes_is_never_freed_unwiped() {
    alone_in_a_child("an_admin_pass_with_escapes_is_never_freed_unwiped", apply_drive_escaped);
}

/// `osconf user-data` on a config drive whose user data is a script holding
/// a password (Huawei's form, with a plain password in place of the hash):
/// its bytes are read, parsed, digested and written to the private script
/// file without a freed copy left unwiped. (The script itself cannot run in
/// this tree, which has no shell: its outcome is a warning, as any failure.)
fn user_data_script() {
    let tree = TempTree::new("password-freed-user-data");
    minimal_image(&tree);
    let drive = tree.join("/drive");
    std::fs::create_dir_all(drive.join("openstack/latest")).unwrap();
    std::fs::write(
        drive.join("openstack/latest/meta_data.json"),
        br#"{"uuid": "7d1e2a4c-0b5e-4f4e-9a3c-2f6b8d9e0a11"}"#,
    )
    .unwrap();
    let plain = random_text(48);
    let mut script = Zeroizing::new(Vec::with_capacity(128));
    script.extend_from_slice(b"#!/bin/sh\necho 'root:");
    script.extend_from_slice(&plain);
    script.extend_from_slice(b"' | chpasswd\n");
    std::fs::write(drive.join("openstack/latest/user_data"), &*script).unwrap();
    drop(script);
    arm([&plain, &plain]);
    drop(plain);
    let options = Options {
        root: tree.path.clone(),
        from: Some(SourceChoice { name: "openstack-drive".into(), place: Some(drive.into_os_string()) }),
        live: Some(false),
        keep_drop: false,
        json: false,
        metadata: None,
        image: None,
        clouds: None,
    };
    assert_eq!(commands::user_data(&options).unwrap(), 0);
    ARMED.store(false, Ordering::SeqCst);
    assert!(tree.exists("/var/lib/osconf/user-data.json"), "the user data was taken");
    assert_eq!(HITS.load(Ordering::SeqCst), 0, "blocks holding the user data's password were freed unwiped");
}

#[test]
fn a_password_in_a_user_data_script_is_never_freed_unwiped() {
    alone_in_a_child("a_password_in_a_user_data_script_is_never_freed_unwiped", user_data_script);
}
