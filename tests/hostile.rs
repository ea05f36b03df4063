//! Hostile drops through the built binary (issue 8). Whoever can write the
//! first partition writes os.conf, and osconf runs as root: every case here
//! must be refused with exit 2 and a message naming the line (and the key,
//! where the line has one), leave the tree byte for byte as it was (the drop
//! included: it is kept), and run nothing (`/tmp/pwned` is never created).
//!
//! Exit codes (docs/guarantees.md, "When the input is bad"): 2 for anything wrong with the drop
//! itself — its content, its size, or a drop that is not a regular file
//! (symlink, FIFO, device, directory): retrying cannot help. 1 is kept for
//! failures of the system (I/O errors, a missing /etc/shadow) where the next
//! boot may succeed.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use base64::Engine;
use common::*;

const PWNED: &str = "/tmp/pwned";

/// Every key the platform writes, with a valid value: line n+1 holds KEYS[n].
const KEYS: [(&str, &str); 13] = [
    ("hostname", "iZ23r29djmjZ"),
    ("password", "cXdIcjEyMzQK"),
    ("eth0_ip_addr", "10.171.254.123"),
    ("eth0_mac_addr", "00:8c:fa:5e:14:23"),
    ("eth0_netmask", "255.255.255.0"),
    ("eth0_gateway", "10.171.254.1"),
    ("eth0_route", "\"10.0.0.0/8 10.171.254.1;172.16.0.0/12 10.171.254.1\""),
    ("eth1_ip_addr", "42.120.74.105"),
    ("eth1_mac_addr", "00:8c:fa:5e:14:24"),
    ("eth1_netmask", "255.255.255.0"),
    ("eth1_gateway", "42.120.74.1"),
    ("eth1_route", "\"0.0.0.0/0 42.120.74.1\""),
    ("dns_nameserver", "\"7.7.7.7 8.8.8.8\""),
];

/// The valid drop with `key`'s value replaced by `value` (verbatim).
fn drop_with(key: &str, value: &str) -> String {
    KEYS.iter().map(|(k, v)| format!("{k}={}\n", if *k == key { value } else { v })).collect()
}

fn line_of(key: &str) -> usize {
    KEYS.iter().position(|(k, _)| *k == key).unwrap() + 1
}

fn clear_pwned() {
    let _ = fs::remove_file(PWNED);
}

fn assert_not_pwned(context: &str) {
    assert!(!Path::new(PWNED).exists(), "{context}: {PWNED} was created: a value was run as a command");
}

/// Runs `osconf apply --root TREE [extra]` with at most `mem_kib` of address
/// space (a drop read without bound, e.g. /dev/zero, fails instead of eating
/// the machine), killing it after `limit`.
fn apply_limited(tree: &TempTree, extra: &[&str], mem_kib: u32, limit: Duration) -> (i32, String) {
    // Under an emulator (tests/aarch64.sh) the limit covers qemu too: its
    // translation cache and the guest's mappings need about 300 MiB more.
    let mem_kib = if std::env::var_os("OSCONF_TEST_RUNNER").is_some() { mem_kib + 512 * 1024 } else { mem_kib };
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!("ulimit -v {mem_kib} && exec \"$@\"")).arg("sh").args(osconf_argv());
    command.arg("apply").arg("--root").arg(&tree.path).args(extra);
    run_within(command, limit)
}

fn apply_within(tree: &TempTree, extra: &[&str], limit: Duration) -> (i32, String) {
    apply_limited(tree, extra, 256 * 1024, limit)
}

/// A tree with a minimal image and `drop` (raw bytes) where the platform puts it.
fn tree_with_drop(name: &str, drop: &[u8]) -> TempTree {
    let tree = TempTree::new(name);
    minimal_image(&tree);
    fs::create_dir_all(tree.join("/boot/aliyun_custom_image")).unwrap();
    fs::write(tree.join(DROP), drop).unwrap();
    tree
}

/// The drop is refused: exit `code`, every `wanted` text in the error, the
/// tree unchanged (drop kept), nothing run.
fn assert_refused(tree: &TempTree, code: i32, wanted: &[&str]) -> String {
    let before = tree.snapshot();
    let (got, err) = apply_within(tree, &[], Duration::from_secs(10));
    let context = format!("{}", tree.path.display());
    assert_eq!(got, code, "{context}: exit {got}, expected {code}:\n{err}");
    for text in wanted {
        assert!(err.contains(text), "{context}: wanted {text:?} in:\n{err}");
    }
    assert_eq!(err.lines().count(), 1, "one error line, no warnings or traces:\n{err}");
    assert_eq!(tree.snapshot(), before, "{context}: the tree changed");
    assert_not_pwned(&context);
    err
}

fn refused(name: &str, drop: &[u8], wanted: &[&str]) -> String {
    let tree = tree_with_drop(name, drop);
    assert_refused(&tree, 2, wanted)
}

#[test]
fn the_valid_base_drop_applies() {
    let tree = tree_with_drop("hostile-base", drop_with("", "").as_bytes());
    let (code, err) = apply_within(&tree, &[], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    assert_eq!(tree.read("/etc/hostname"), "iZ23r29djmjZ\n");
}

#[test]
fn shell_syntax_in_every_value_is_refused_naming_key_and_line() {
    clear_pwned();
    let payloads = [
        "$(touch /tmp/pwned)",
        "`touch /tmp/pwned`",
        ";touch /tmp/pwned",
        "|touch /tmp/pwned",
        "&&touch /tmp/pwned",
        ">/tmp/pwned",
        "$(IFS=_;c=touch_/tmp/pwned;$c)",
        "${IFS}touch${IFS}/tmp/pwned",
        "10.0.0.1;touch${IFS}/tmp/pwned",
        "10.0.0.1\ttouch /tmp/pwned",
    ];
    let mut n = 0;
    for (key, _) in KEYS {
        for payload in payloads {
            for quoted in [payload.to_string(), format!("\"{payload}\""), format!("'{payload}'")] {
                n += 1;
                let err = refused(
                    &format!("shell-{n}"),
                    drop_with(key, &quoted).as_bytes(),
                    &[&format!("line {}: {key}", line_of(key))],
                );
                if key == "password" {
                    assert!(!err.contains("touch"), "the password's text was shown: {err}");
                }
            }
        }
    }
}

/// A password whose plain text is shell syntax is a valid password: it is
/// hashed as text, never run.
#[test]
fn a_password_made_of_shell_syntax_is_set_literally() {
    clear_pwned();
    let password = "$(touch /tmp/pwned)`touch /tmp/pwned`;|&>x";
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{password}\n"));
    let tree = tree_with_drop("literal-password", drop_with("password", &encoded).as_bytes());
    let (code, err) = apply_within(&tree, &[], Duration::from_secs(10));
    assert_eq!(code, 0, "{err}");
    let shadow = tree.read("/etc/shadow");
    let hash = shadow.lines().next().unwrap().split(':').nth(1).unwrap();
    assert!(crypt_matches(password, hash), "{hash}");
    assert_not_pwned("literal password");
}

#[test]
fn newlines_nul_bytes_and_control_characters_are_refused() {
    let drop = drop_with("", "");
    let cases: Vec<(String, Vec<&str>)> = vec![
        // A quoted value cannot span lines: the open quote is the error.
        (drop.replace("iZ23r29djmjZ", "\"iZ23r29\ntouch /tmp/pwned\""), vec!["line 1: hostname", "missing closing"]),
        (
            drop.replace("10.171.254.123", "'10.171.254.123\nhostname=evil'"),
            vec!["line 3: eth0_ip_addr", "missing closing"],
        ),
        (drop.replace("iZ23r29djmjZ", "iZ23\0r29"), vec!["line 1: contains a NUL byte"]),
        (drop.replace("00:8c:fa:5e:14:23", "00:8c:fa:5e:14:23\0"), vec!["line 4: contains a NUL byte"]),
        (drop.replace("iZ23r29djmjZ", "iZ23\x1b]0;owned\x07"), vec!["line 1: contains the control character"]),
        (drop.replace("iZ23r29djmjZ", "iZ23r29\rdjmjZ"), vec!["line 1: contains the control character"]),
        (drop.replace("7.7.7.7 8.8.8.8", "7.7.7.7\u{85}8.8.8.8"), vec!["line 13: contains the control character"]),
    ];
    for (n, (drop, wanted)) in cases.iter().enumerate() {
        let err = refused(&format!("ctl-{n}"), drop.as_bytes(), wanted);
        assert!(!err.contains('\x1b') && !err.contains('\x07'), "control characters reached the log: {err:?}");
    }
}

#[test]
fn crlf_line_ends_apply_like_lf() {
    let lf = tree_with_drop("crlf-lf", drop_with("", "").as_bytes());
    let crlf = tree_with_drop("crlf-crlf", drop_with("", "").replace('\n', "\r\n").as_bytes());
    for tree in [&lf, &crlf] {
        let (code, err) = apply_within(tree, &[], Duration::from_secs(10));
        assert_eq!(code, 0, "{err}");
        assert!(!tree.exists(DROP));
    }
    // Same files, same content, except what is random or tells drops apart.
    let normal = |tree: &TempTree| {
        let mut snap = tree.snapshot();
        snap.remove("etc/shadow");
        snap.remove("var/lib/osconf/records/alibaba-drop.json");
        snap.remove("var/lib/osconf/drop.key");
        snap
    };
    assert_eq!(normal(&lf), normal(&crlf));
    assert_eq!(crlf.read("/etc/hostname"), "iZ23r29djmjZ\n", "no \\r may reach a file");
    for tree in [&lf, &crlf] {
        let root = tree.read("/etc/shadow").lines().next().unwrap().to_owned();
        assert!(crypt_matches("qwHr1234", root.split(':').nth(1).unwrap()), "{root}");
    }
}

#[test]
fn invalid_utf8_is_refused_naming_the_line() {
    let drop = drop_with("", "").replace("iZ23r29djmjZ", "iZ23\u{fffd}");
    let bytes = drop
        .replace('\u{fffd}', "\u{1}")
        .into_bytes()
        .iter()
        .map(|&b| if b == 1 { 0xff } else { b })
        .collect::<Vec<u8>>();
    refused("utf8-value", &bytes, &["line 1: is not valid UTF-8"]);
    // Overlong encoding of '/' and a lone continuation byte, in a later line.
    let mut bytes = drop_with("", "").into_bytes();
    bytes.extend_from_slice(b"# \xc0\xaf\x80\n");
    refused("utf8-comment", &bytes, &["line 14: is not valid UTF-8"]);
}

#[test]
fn duplicate_keys_are_refused_naming_both_lines() {
    let mut drop = drop_with("", "");
    drop += "hostname=evil\n";
    refused("dup-hostname", drop.as_bytes(), &["line 14: hostname: given twice (first on line 1)"]);
    let mut drop = drop_with("", "");
    drop += "eth0_route=\"0.0.0.0/0 10.171.254.1\"\n";
    refused("dup-route", drop.as_bytes(), &["line 14: eth0_route: given twice (first on line 7)"]);
}

#[test]
fn a_one_megabyte_value_is_refused_by_size() {
    let drop = drop_with("hostname", &"a".repeat(1 << 20));
    let err = refused("one-mb", drop.as_bytes(), &["more than the 65536 allowed"]);
    assert!(err.len() < 400, "the error must not quote the value: {} bytes", err.len());
    assert!(!err.contains(": : "), "an empty key shown: {err}");
}

/// A 100 MB drop is refused from its size, without reading it: under a 32 MB
/// address-space limit, reading it all would fail with "out of memory".
#[test]
fn a_hundred_megabyte_file_is_refused_quickly_without_reading_it() {
    let tree = tree_with_drop("hundred-mb", b"");
    let file = fs::OpenOptions::new().write(true).open(tree.join(DROP)).unwrap();
    file.set_len(100 << 20).unwrap(); // sparse: cheap to make, costly to read
    drop(file);
    let before = snapshot_without_drop(&tree);
    // Not read: refused from its size under a 32 KiB read limit (a hang is
    // caught by run_within; speed is for bench/, not for tests).
    let (code, err) = apply_limited(&tree, &[], 32 * 1024, Duration::from_secs(10));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("104857600 bytes, more than the 65536 allowed"), "{err}");
    assert_eq!(fs::metadata(tree.join(DROP)).unwrap().len(), 100 << 20, "the drop is kept");
    assert_eq!(snapshot_without_drop(&tree), before);
}

fn snapshot_without_drop(tree: &TempTree) -> std::collections::BTreeMap<String, (Vec<u8>, u32)> {
    let mut snap = tree.snapshot();
    snap.remove(DROP.trim_start_matches('/'));
    snap
}

/// os.conf must be a regular file. A symlink is never followed (it could
/// point at a valid drop elsewhere, at /dev/zero, at a FIFO), a FIFO must not
/// block the boot, a device or a directory is no drop. None is deleted.
#[test]
fn a_drop_that_is_not_a_regular_file_is_refused_without_hanging() {
    let outside = TempTree::new("outside");
    outside.write("/valid.conf", &drop_with("", ""), 0o644);
    let fifo_dir = TempTree::new("fifo-target");
    nix::unistd::mkfifo(&fifo_dir.join("/fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let targets = [
        outside.join("/valid.conf").to_string_lossy().into_owned(),
        "/dev/zero".to_owned(),
        "/dev/urandom".to_owned(),
        fifo_dir.join("/fifo").to_string_lossy().into_owned(),
        "/nonexistent/os.conf".to_owned(),
        "/etc/shadow".to_owned(),
    ];
    for (n, target) in targets.iter().enumerate() {
        let tree = tree_with_drop(&format!("symlink-{n}"), b"");
        fs::remove_file(tree.join(DROP)).unwrap();
        std::os::unix::fs::symlink(target, tree.join(DROP)).unwrap();
        assert_refused(&tree, 2, &["os.conf", "symbolic link"]);
        assert!(tree.join(DROP).symlink_metadata().unwrap().file_type().is_symlink(), "the link is kept");
    }

    let tree = tree_with_drop("fifo", b"");
    fs::remove_file(tree.join(DROP)).unwrap();
    nix::unistd::mkfifo(&tree.join(DROP), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    assert_refused(&tree, 2, &["os.conf", "not a regular file"]);

    let tree = tree_with_drop("device", b"");
    fs::remove_file(tree.join(DROP)).unwrap();
    let zero = nix::sys::stat::makedev(1, 5);
    nix::sys::stat::mknod(
        &tree.join(DROP),
        nix::sys::stat::SFlag::S_IFCHR,
        nix::sys::stat::Mode::from_bits_truncate(0o644),
        zero,
    )
    .expect("mknod (tests run as root)");
    assert_refused(&tree, 2, &["os.conf", "not a regular file"]);

    let tree = tree_with_drop("directory", b"");
    fs::remove_file(tree.join(DROP)).unwrap();
    fs::create_dir(tree.join(DROP)).unwrap();
    assert_refused(&tree, 2, &["os.conf", "not a regular file"]);

    // The same rules for a drop named on the command line.
    let tree = tree_with_drop("fifo-arg", b"");
    let fifo = fifo_dir.join("/fifo");
    let (code, err) = apply_within(&tree, &["--drop", fifo.to_str().unwrap()], Duration::from_secs(10));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not a regular file"), "{err}");
}

#[test]
fn path_traversal_in_the_host_name_is_refused() {
    for (n, name) in ["../../etc/passwd", "/etc/passwd", "..", "a/b", "a\\b", "%2e%2e%2fetc", "~root", "-n", "a b"]
        .iter()
        .enumerate()
    {
        let quoted = format!("\"{name}\"");
        let err = refused(&format!("traversal-{n}"), drop_with("hostname", &quoted).as_bytes(), &["line 1: hostname"]);
        assert!(err.contains("not a valid host name") || err.contains("value contains"), "{err}");
    }
}

#[test]
fn netmasks_that_are_not_masks_are_refused() {
    for (n, mask) in [
        "255.0.255.0",
        "255.255.255.1",
        "0.255.255.255",
        "0.0.0.0",
        "256.0.0.0",
        "24",
        "/24",
        "255.255.255",
        "255.255.255.0.0",
        "0xffffff00",
        "",
    ]
    .iter()
    .enumerate()
    {
        refused(&format!("netmask-{n}"), drop_with("eth1_netmask", mask).as_bytes(), &["line 10: eth1_netmask"]);
    }
}

#[test]
fn routes_with_bad_prefixes_are_refused() {
    for (n, route) in [
        "10.0.0.0/33 10.171.254.1",
        "10.0.0.0/-1 10.171.254.1",
        "10.0.0.0/+8 10.171.254.1",
        "10.0.0.0/8x 10.171.254.1",
        "10.0.0.0/ 10.171.254.1",
        "10.0.0.0/99999999999999999999 10.171.254.1",
        "10.0.0.0/0x8 10.171.254.1",
        "10.1.2.3/8 10.171.254.1",
        "10.0.0.0 10.171.254.1",
        "10.0.0.0/8",
        "10.0.0.0/8 10.171.254.1 extra",
        "10.0.0.0/8 192.168.0.1",
        "10.0.0.0/8 10.171.254.123",
        "10.0.0.0/8 10.171.254.1;10.0.0.0/8 10.171.254.2",
    ]
    .iter()
    .enumerate()
    {
        refused(
            &format!("route-{n}"),
            drop_with("eth0_route", &format!("\"{route}\"")).as_bytes(),
            &["line 7: eth0_route"],
        );
    }
    // eth1 carries 0.0.0.0/0 already: a second default route, on eth0, is refused
    // where the second one is (in NIC order).
    refused(
        "route-two-defaults",
        drop_with("eth0_route", "\"0.0.0.0/0 10.171.254.1\"").as_bytes(),
        &["line 12: eth1_route", "second default route"],
    );
}

#[test]
fn a_password_that_decodes_to_invalid_utf8_is_refused_without_showing_it() {
    for (n, value) in ["/w==", "wMA=", "gA==", "7aCA"].iter().enumerate() {
        let err = refused(
            &format!("password-utf8-{n}"),
            drop_with("password", value).as_bytes(),
            &["line 2: password", "not UTF-8"],
        );
        assert!(!err.contains(value), "{err}");
    }
    for (n, text) in ["a\nb", "a\rb", "\u{1b}[2J", ""].iter().enumerate() {
        let value = base64::engine::general_purpose::STANDARD.encode(text);
        refused(&format!("password-ctl-{n}"), drop_with("password", &value).as_bytes(), &["line 2: password"]);
    }
}

/// Every `bad-*` input of the parser corpus, through the binary.
#[test]
fn the_corpus_of_bad_drops_changes_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut names: Vec<String> =
        fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let mut count = 0;
    for name in names.iter().filter(|n| n.starts_with("bad-") && n.ends_with(".conf")) {
        let bytes = fs::read(dir.join(name)).unwrap();
        let tree = tree_with_drop(&format!("corpus-{name}"), &bytes);
        let mut extra = vec![];
        let drop_path = tree.join(DROP);
        if name.contains("tencent") {
            extra = vec!["--drop", drop_path.to_str().unwrap(), "--format", "tencent"];
        }
        let before = tree.snapshot();
        let (code, err) = apply_within(&tree, &extra, Duration::from_secs(10));
        assert_eq!(code, 2, "{name}: {err}");
        assert_eq!(tree.snapshot(), before, "{name}: the tree changed");
        let first = String::from_utf8_lossy(bytes.split(|&b| b == b'\n').next().unwrap()).into_owned();
        if let Some(expect) = first.strip_prefix("# expect: ") {
            assert!(err.contains(expect.trim_end()), "{name}: wanted {expect:?} in {err}");
        }
        count += 1;
    }
    assert!(count >= 20, "{count} bad drops");
    assert_not_pwned("corpus");
}
