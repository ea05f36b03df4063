//! Issue 22: a typo in one of the image's own netplan files hung the boot.
//! The old reader stopped at a closer of the wrong kind without consuming
//! it: `[192.168.9.10/24}` looped forever, `{dhcp4: true]` also grew memory
//! without bound, and 300,000 `[` overflowed the stack (abort).
//!
//! Each case runs `plan` and `apply --no-live` through the built binary on a
//! netplan image (tests/golden/netplan/conflict-cloud-init) with the typo,
//! under a memory cap and killed after a generous limit (a hang fails the
//! test, see `run_within`): each must exit 0, warn naming the file and the
//! line, and apply the whole drop.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;

/// Far above what a debug build needs (tens of milliseconds): only a hang reaches it.
const LIMIT: Duration = Duration::from_secs(60);
const IMAGE_FILE: &str = "/etc/netplan/50-cloud-init.yaml";
const OTHER_FILE: &str = "/etc/netplan/60-more.yaml";

fn golden() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/netplan/conflict-cloud-init")
}

/// The golden image, its drop at DROP, and `edit` applied to the tree.
fn image(name: &str, edit: impl FnOnce(&TempTree)) -> TempTree {
    let tree = TempTree::new(&format!("netplan-typo-{name}"));
    tree.copy_from(&golden().join("image"));
    tree.write(DROP, &fs::read_to_string(golden().join("os.conf")).unwrap(), 0o644);
    edit(&tree);
    tree
}

/// `osconf COMMAND --drop DROP --root TREE`, under a 1 GiB address-space cap
/// (the old reader's unbounded growth fails instead of eating the machine).
fn run(tree: &TempTree, args: &[&str]) -> (i32, String) {
    let mut command = Command::new("sh");
    command.arg("-c").arg("ulimit -v 1048576 && exec \"$@\"").arg("sh").args(osconf_argv()).args(args);
    command.arg("--drop").arg(tree.join(DROP)).arg("--root").arg(&tree.path);
    run_within(command, LIMIT)
}

/// plan, then apply: both succeed and warn `wanted`; the drop is applied.
fn plans_and_applies(tree: &TempTree, wanted: &[&str]) -> String {
    for args in [&["plan"][..], &["apply", "--no-live"][..]] {
        let (code, err) = run(tree, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        for want in wanted {
            assert!(err.contains(want), "{args:?}: no {want:?} in:\n{err}");
        }
        if args[0] == "apply" {
            assert_eq!(tree.read("/etc/hostname"), "iZ23r29djmjZ\n");
            assert!(tree.read("/etc/netplan/90-osconf.yaml").contains("macaddress: \"00:8c:fa:5e:14:24\""));
            assert!(tree.exists("/var/lib/osconf/records/alibaba-drop.json"), "the drop is recorded applied");
            return err;
        }
    }
    unreachable!()
}

/// netplan's own generator on the tree: whether it accepts every file.
fn netplan_generates(tree: &TempTree) -> Result<(), String> {
    let out = Command::new("netplan")
        .args(["generate", "--root-dir"])
        .arg(&tree.path)
        .output()
        .expect("netplan (netplan.io, tests/install-deps.sh)");
    out.status.success().then_some(()).ok_or_else(|| String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn a_wrong_closer_in_a_definition_osconf_replaces_goes_with_it() {
    let tree = image("in-ours", |tree| {
        let text = tree.read(IMAGE_FILE).replace("dhcp4: true", "addresses: [192.168.9.10/24}");
        tree.write(IMAGE_FILE, &text, 0o644);
    });
    assert!(netplan_generates(&tree).is_err(), "the typo is one netplan rejects");
    plans_and_applies(
        &tree,
        &[
            "/etc/netplan/50-cloud-init.yaml line 9: `}` closes a `[` (column 40)",
            "in a definition osconf replaces, and goes with it",
        ],
    );
    assert!(!tree.read(IMAGE_FILE).contains("192.168.9.10"), "{}", tree.read(IMAGE_FILE));
    // netplan reads every file again, so osconf's definitions are the ones applied.
    netplan_generates(&tree).unwrap();
}

#[test]
fn a_wrong_closer_in_another_nic_s_definition_is_a_warning_and_the_file_is_kept() {
    let broken = "network:\n  version: 2\n  ethernets:\n    ens9: {dhcp4: true]\n";
    let tree = image("in-other", |tree| tree.write(OTHER_FILE, broken, 0o600));
    plans_and_applies(
        &tree,
        &[
            "/etc/netplan/60-more.yaml line 4: `]` closes a `{` (column 23)",
            "netplan rejects this file",
            "what the image's definition \"ens9\" matches could not be read",
        ],
    );
    assert_eq!(tree.read(OTHER_FILE), broken, "a file osconf cannot read is left as it is");
    assert!(!tree.read(IMAGE_FILE).contains("dhcp4"), "the readable file's definition of eth0 is still cut");
}

#[test]
fn three_hundred_thousand_open_brackets_are_a_warning_not_an_abort() {
    let broken = format!("network:\n  ethernets:\n    ens9:\n      addresses: {}\n", "[".repeat(300_000));
    let tree = image("deep", |tree| tree.write(OTHER_FILE, &broken, 0o600));
    plans_and_applies(&tree, &["/etc/netplan/60-more.yaml line 4: flow collections nested deeper than 64"]);
    assert_eq!(tree.read(OTHER_FILE), broken);
}
