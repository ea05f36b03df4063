//! The SysV init script (init.d/osconf) and the OpenRC script's start()
//! (openrc/osconf, sourced with stand-ins for openrc-run's ebegin/eend),
//! run for real in a private mount namespace: the log is root's alone and
//! carries no digest of the drop.

mod common;

use std::process::Command;

use common::*;

/// Runs `init.d/osconf start` with a tmpfs over /usr/sbin (holding an
/// `osconf` that is the built binary on `tree`) and over /var/log.
fn start(tree: &TempTree, init: Init, existing_log_mode: Option<u32>) -> (String, u32) {
    let run = match init {
        Init::SysV => concat!("sh ", env!("CARGO_MANIFEST_DIR"), "/init.d/osconf start"),
        Init::OpenRc => concat!(
            "sh -c 'ebegin() { :; }; eend() { :; }; ewarn() { :; }; . ",
            env!("CARGO_MANIFEST_DIR"),
            "/openrc/osconf; start'"
        ),
    };
    let setup = format!(
        "set -e; mount -t tmpfs none /usr/sbin; mount -t tmpfs none /var/log
         printf '#!/bin/sh\\nexec {OSCONF} \"$@\" --root {root} --no-live\\n' >/usr/sbin/osconf; chmod 755 /usr/sbin/osconf
         {existing}
         {run} >/dev/null
         cat /var/log/osconf.log; stat -c 'mode=%a' /var/log/osconf.log",
        root = tree.path.display(),
        existing = existing_log_mode
            .map(|m| format!("echo 'old line' >/var/log/osconf.log; chmod {m:o} /var/log/osconf.log"))
            .unwrap_or_default(),
    );
    let out = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &setup])
        .output()
        .expect("unshare");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    let (log, mode) = text.rsplit_once("mode=").unwrap();
    (log.to_owned(), u32::from_str_radix(mode.trim(), 8).unwrap())
}

#[derive(Clone, Copy, Debug)]
enum Init {
    SysV,
    OpenRc,
}

#[test]
fn the_log_is_created_0600_and_holds_no_digest_of_the_drop() {
    for init in [Init::SysV, Init::OpenRc] {
        let tree = TempTree::new("initd");
        minimal_image(&tree);
        let drop = include_str!("../examples/classic.conf");
        tree.write(DROP, drop, 0o644);
        let (log, mode) = start(&tree, init, None);
        assert_eq!(mode, 0o600, "{init:?}: {log}");
        assert!(log.contains("applied") && log.contains("osconf: exit 0"), "{log}");
        assert!(!tree.exists(DROP), "the drop was applied: {log}");
        let plain: String = {
            use sha2::{Digest, Sha256};
            Sha256::digest(drop.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
        };
        assert!(
            !log.contains(&plain[..12])
                && !log.contains("sha256")
                && !log.contains("qwHr1234")
                && !log.contains("cXdIcjEyMzQK"),
            "{log}"
        );
    }
}

#[test]
fn an_older_readable_log_is_made_roots_alone() {
    let tree = TempTree::new("initd-old");
    minimal_image(&tree);
    for (init, mode) in [(Init::SysV, 0o644), (Init::SysV, 0o666), (Init::SysV, 0o640), (Init::OpenRc, 0o644)] {
        let (log, got) = start(&tree, init, Some(mode));
        assert_eq!(got, 0o600, "{init:?} from {mode:o}");
        assert!(log.starts_with("old line\n"), "the old lines stay: {log}");
    }
}
