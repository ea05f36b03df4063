//! /etc/shadow is written under the password-file lock (issue 13, point 4),
//! and osconf.service runs after the image's own first-boot writers of it.

mod common;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::os::unix::io::AsRawFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const DROP_TEXT: &str = include_str!("../examples/classic.conf");

/// Takes /etc/.pwd.lock in `tree` as glibc's lckpwdf does (fcntl F_WRLCK),
/// in this process: the osconf child must wait for it.
fn hold_pwd_lock(tree: &TempTree) -> File {
    let file = OpenOptions::new().write(true).create(true).truncate(false).open(tree.join("/etc/.pwd.lock")).unwrap();
    // SAFETY: zeroed flock is valid; fd and pointer are live.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = libc::F_WRLCK as libc::c_short;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    assert_eq!(
        unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &lock) },
        0,
        "{}",
        std::io::Error::last_os_error()
    );
    file
}

fn spawn_apply(tree: &TempTree) -> std::process::Child {
    osconf_command()
        .args(["apply", "--root", tree.path.to_str().unwrap(), "--no-live"])
        .env_remove("OSCONF_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Reads the child's log until `line` appears; returns everything read.
fn read_until(stderr: &mut impl BufRead, words: &str) -> String {
    let mut all = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(stderr.read_line(&mut line).unwrap(), 0, "osconf ended before logging {words:?}:\n{all}");
        all += &line;
        if line.contains(words) {
            return all;
        }
    }
}

#[test]
fn shadow_waits_for_the_lock_and_keeps_what_the_holder_wrote() {
    let tree = TempTree::new("pwdlock");
    minimal_image(&tree);
    tree.write(DROP, DROP_TEXT, 0o644);
    let lock = hold_pwd_lock(&tree);
    let mut child = spawn_apply(&tree);
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    read_until(&mut stderr, "waiting for /etc/.pwd.lock");
    assert!(tree.read("/etc/shadow").starts_with("root:*:"), "shadow was written while the lock was held");
    // What a sysusers run holding the lock would do: add an account.
    let added = tree.read("/etc/shadow") + "svc:!*:19999::::::\n";
    std::fs::write(tree.join("/etc/shadow"), &added).unwrap();
    drop(lock);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    assert!(child.wait().unwrap().success(), "{rest}");
    let shadow = tree.read("/etc/shadow");
    assert!(
        shadow.starts_with("root:$6$") && shadow.ends_with("alice:$6$abc$def:19000:0:99999:7:::\nsvc:!*:19999::::::\n"),
        "{shadow}"
    );
}

#[test]
fn a_lock_held_too_long_fails_the_apply_cleanly_and_keeps_the_drop() {
    let tree = TempTree::new("pwdlock-held");
    minimal_image(&tree);
    tree.write(DROP, DROP_TEXT, 0o644);
    let shadow = tree.read("/etc/shadow");
    let _lock = hold_pwd_lock(&tree);
    let started = Instant::now();
    let out = spawn_apply(&tree).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("/etc/.pwd.lock is still held after 15 s"), "{err}");
    assert!(started.elapsed() >= Duration::from_secs(15), "gave up before glibc's 15 s");
    assert_eq!(tree.read("/etc/shadow"), shadow);
    assert!(tree.exists(DROP), "a failed apply keeps the drop");
}

/// The unit as systemd itself reads it: ordered after the image's first-boot
/// writers of shadow (so their setup cannot overwrite the cloud's password),
/// and `systemd-analyze verify` (the host's systemd and units) prints nothing
/// about it: no unknown key, no bad dependency.
#[test]
fn the_unit_runs_after_sysusers_and_firstboot() {
    let unit = concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/osconf.service");
    let text = std::fs::read_to_string(unit).unwrap();
    let after: Vec<&str> =
        text.lines().filter_map(|l| l.strip_prefix("After=")).flat_map(str::split_whitespace).collect();
    for writer in ["systemd-sysusers.service", "systemd-firstboot.service"] {
        assert!(after.contains(&writer), "osconf.service must be After={writer}");
        assert!(!text.lines().filter_map(|l| l.strip_prefix("Before=")).any(|l| l.contains(writer)));
    }
    let script = format!(
        "set -e; mount -t tmpfs none /usr/sbin; printf '#!/bin/sh\\n' >/usr/sbin/osconf; chmod 755 /usr/sbin/osconf
         mkdir -p /tmp/osconf-verify-$$; cp {unit} /tmp/osconf-verify-$$/; systemd-analyze verify --man=no /tmp/osconf-verify-$$/osconf.service 2>&1; rm -r /tmp/osconf-verify-$$"
    );
    let out =
        Command::new("unshare").args(["--mount", "--propagation", "private", "sh", "-c", &script]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.trim().is_empty(),
        "systemd-analyze verify: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
