//! Crash consistency: a failure injected before each step of an apply (the
//! debug-build hook in src/apply/fault.rs), kill -9 at arbitrary moments, a
//! full disk, and two osconf at once. After each, every file is either as
//! it was or as a complete apply makes it — never torn —, the drop is kept
//! until the record says it was applied, and the next run converges.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const PASSWORD: &str = "qwHr1234";
const CLASSIC: &str = include_str!("../examples/classic.conf");

/// Classic applied (ifupdown image), then a changed VPC drop waiting: the
/// apply under test writes, removes eth1's file, records and deletes.
fn prepared(name: &str) -> TempTree {
    let tree = TempTree::new(name);
    minimal_image(&tree);
    tree.write("/sbin/ifup", "", 0o755);
    tree.write("/etc/network/interfaces", "source /etc/network/interfaces.d/*\n", 0o644);
    tree.write(DROP, CLASSIC, 0o644);
    let (code, _, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    tree.write(DROP, &vpc_drop(), 0o644);
    tree
}

fn vpc_drop() -> String {
    CLASSIC
        .lines()
        .filter(|l| !l.starts_with("eth1_"))
        .map(|l| {
            let l = l.replace("iZ23r29djmjZ", "moved").replace("10.171.254.123", "10.171.254.124");
            if l.starts_with("eth0_route=") {
                "eth0_route=\"0.0.0.0/0 10.171.254.1\"".to_string()
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn run(tree: &TempTree, env: &[(&str, String)]) -> (i32, String) {
    let mut command = osconf_command();
    command.args(["apply", "--root", tree.path.to_str().unwrap()]).env_remove("OSCONF_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command.output().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

type Snapshot = BTreeMap<String, (Vec<u8>, u32)>;

/// The record without its timestamp and digest, the random key's bytes, and shadow without root's salted hash,
/// so that two complete applies compare equal.
fn normalised(mut snap: Snapshot) -> Snapshot {
    if let Some((record, _)) = snap.get_mut("var/lib/osconf/records/alibaba-drop.json") {
        let mut json: serde_json::Value = serde_json::from_slice(record).unwrap();
        json["applied_at"] = 0.into();
        json["source"] = "".into();
        json["drop_hmac"] = "".into();
        *record = serde_json::to_vec(&json).unwrap();
    }
    // The per-host key is random: only its presence and mode compare.
    if let Some((key, _)) = snap.get_mut("var/lib/osconf/drop.key") {
        key.clear();
    }
    if let Some((shadow, _)) = snap.get_mut("etc/shadow") {
        let text = String::from_utf8(shadow.clone()).unwrap();
        *shadow = text
            .lines()
            .map(|l| if l.starts_with("root:$6$") { "root:<hash>".to_string() } else { l.to_string() })
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes();
    }
    snap
}

/// Every file is the old one or the new one and shadow is never torn. A
/// failed step leaves no temp file; a killed process may leave one (the
/// next run removes it: the convergence checks compare whole trees).
fn assert_old_or_new(tree: &TempTree, old: &Snapshot, new: &Snapshot, context: &str, killed: bool) {
    let now = tree.snapshot();
    let shadow = tree.read("/etc/shadow");
    let root_hash = shadow.lines().find(|l| l.starts_with("root:")).unwrap().split(':').nth(1).unwrap().to_string();
    assert!(
        old.get("etc/shadow").map(|(b, _)| b.as_slice()) == Some(shadow.as_bytes())
            || crypt_matches(PASSWORD, &root_hash),
        "{context}: /etc/shadow is neither the old file nor a complete new one:\n{shadow}"
    );
    assert_eq!(shadow.lines().count(), 3, "{context}: shadow lost lines");
    let (now_n, old_n, new_n) = (normalised(now.clone()), normalised(old.clone()), normalised(new.clone()));
    for (path, file) in &now_n {
        if path == "boot/aliyun_custom_image/os.conf" {
            continue;
        }
        let temp = path.contains(".osconf-") && !path.ends_with(".osconf-orig");
        if temp && killed {
            continue;
        }
        assert!(!temp, "{context}: temp file left: {path}");
        assert!(
            old_n.get(path) == Some(file) || new_n.get(path) == Some(file),
            "{context}: {path} is neither old nor new:\n{}",
            String::from_utf8_lossy(&file.0)
        );
    }
    for path in old_n.keys().filter(|p| !now_n.contains_key(*p)) {
        assert!(!new_n.contains_key(path) || path == "boot/aliyun_custom_image/os.conf", "{context}: {path} vanished");
    }
}

/// The state a complete, uninterrupted apply reaches.
fn reference(name: &str) -> (Snapshot, Snapshot) {
    let tree = prepared(&format!("{name}-reference"));
    let old = tree.snapshot();
    let (code, err) = run(&tree, &[]);
    assert_eq!(code, 0, "{err}");
    (old, tree.snapshot())
}

#[test]
fn a_failure_before_any_step_leaves_old_or_new_files_and_the_next_run_converges() {
    let (old, new) = reference("crash-step");
    let mut step = 1;
    let mut between_renames = 0;
    loop {
        let tree = prepared("crash-step");
        let (code, err) = run(&tree, &[("OSCONF_TEST_FAIL_AT", step.to_string())]);
        if code == 0 {
            break; // past the last step: nothing was injected
        }
        assert_eq!(code, 1, "step {step}: {err}");
        assert!(err.contains(&format!("injected failure at step {step}")), "{err}");
        let context = format!("failure at step {step}");
        assert_old_or_new(&tree, &old, &new, &context, false);
        if is_mixed(&tree.snapshot(), &old, &new) {
            between_renames += 1;
        }
        let recorded = tree.read("/var/lib/osconf/records/alibaba-drop.json")
            != String::from_utf8_lossy(&old["var/lib/osconf/records/alibaba-drop.json"].0);
        assert!(tree.exists(DROP) || recorded, "{context}: the drop was deleted before the record was written");
        // The next boot, without a fault, ends where an uninterrupted apply does.
        let (code, err) = run(&tree, &[]);
        assert_eq!(code, 0, "{context}, rerun: {err}");
        assert_eq!(normalised(tree.snapshot()), normalised(new.clone()), "{context}: the rerun did not converge");
        step += 1;
    }
    assert!(step >= 8, "only {step} steps were injected: the hook is not reached");
    // The batch's renames are steps too: some failures fall between two of them.
    assert!(between_renames >= 3, "only {between_renames} failures left some files new and others old");
}

/// Some files (the record aside) are already new and others still old: the
/// apply stopped between two renames.
fn is_mixed(now: &Snapshot, old: &Snapshot, new: &Snapshot) -> bool {
    let (now, old, new) = (normalised(now.clone()), normalised(old.clone()), normalised(new.clone()));
    let changed = |path: &String| {
        path != "var/lib/osconf/records/alibaba-drop.json"
            && path != "boot/aliyun_custom_image/os.conf"
            && old.get(path) != new.get(path)
    };
    let paths: Vec<&String> = old.keys().chain(new.keys()).filter(|p| changed(p)).collect();
    paths.iter().any(|p| now.get(*p) == new.get(*p)) && paths.iter().any(|p| now.get(*p) == old.get(*p))
}

/// Durability in a fixed number of syncs: the fsync/fdatasync/syncfs calls of
/// an apply (counted with strace) do not grow with the number of files it
/// writes — 3 NICs' files or 12 NICs' files, the same count.
#[test]
fn an_apply_syncs_the_same_number_of_times_whatever_the_number_of_files() {
    let syncs = |nics: usize| {
        let tree = TempTree::new(&format!("crash-syncs-{nics}"));
        minimal_image(&tree);
        tree.write("/sbin/ifup", "", 0o755);
        tree.write("/etc/network/interfaces", "source /etc/network/interfaces.d/*\n", 0o644);
        let mut drop = String::from("hostname=many\npassword=cXdIcjEyMzQK\ndns_nameserver=\"192.0.2.1\"\n");
        for n in 0..nics {
            drop += &format!("eth{n}_ip_addr=10.{n}.0.5\neth{n}_mac_addr=52:54:00:cc:00:{n:02x}\neth{n}_netmask=255.255.255.0\neth{n}_gateway=10.{n}.0.1\n");
        }
        tree.write(DROP, &drop, 0o644);
        let trace = tree.join("/strace.out");
        let out = Command::new("strace")
            .args([
                "-f",
                "-qq",
                "-e",
                "trace=fsync,fdatasync,syncfs,sync",
                "-o",
                trace.to_str().unwrap(),
                OSCONF,
                "apply",
                "--root",
                tree.path.to_str().unwrap(),
            ])
            .output()
            .expect("strace is needed (tests/install-deps.sh installs it)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(tree.snapshot().keys().filter(|p| p.starts_with("etc/network/interfaces.d/")).count(), nics);
        std::fs::read_to_string(trace).unwrap().lines().filter(|l| l.contains("sync")).count()
    };
    let (few, many) = (syncs(3), syncs(12));
    assert_eq!(few, many, "3 NICs: {few} syncs, 12 NICs: {many}");
    // A first apply: the image's originals kept first (one syncfs, the
    // backup directory); then one syncfs, /etc, /etc/network/interfaces.d,
    // /var/lib/osconf (the new drop key), the record's rename there, the
    // drop's directory.
    assert!(many <= 8, "{many} syncs");
}

#[test]
fn kill_9_at_any_moment_leaves_old_or_new_files() {
    let (old, new) = reference("crash-kill");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..24 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_millis(seed % 180);
        let tree = prepared("crash-kill");
        let mut child = osconf_command()
            .args(["apply", "--root", tree.path.to_str().unwrap()])
            .env("OSCONF_TEST_STEP_DELAY_MS", "20")
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let context = format!("kill #{i} after {delay:?}");
        assert_old_or_new(&tree, &old, &new, &context, true);
        let (code, err) = run(&tree, &[]);
        assert_eq!(code, 0, "{context}, rerun: {err}");
        assert_eq!(normalised(tree.snapshot()), normalised(new.clone()), "{context}: the rerun did not converge");
    }
}

#[test]
fn a_full_disk_keeps_the_old_files_and_leaves_no_temp_file() {
    assert!(nix::unistd::geteuid().is_root(), "this test mounts a small tmpfs: run it as root");
    let tree = TempTree::new("crash-full");
    let mount_point = tree.join("/fs");
    std::fs::create_dir_all(&mount_point).unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs", mount_point.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(ok.success());
    let root = TempTree { path: mount_point.clone() };
    minimal_image(&root);
    root.write(DROP, CLASSIC, 0o644);
    let before = root.snapshot();
    // Fill the file system to the last block.
    let filler = mount_point.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![0u8; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    let (code, err) = run(&root, &[]);
    let mut after = root.snapshot();
    after.remove("filler");
    std::mem::forget(root);
    let _ = Command::new("umount").arg(&mount_point).status();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert_eq!(after, before, "a full disk changed files or left a temp file");
}

/// A write error that shows only when the batch is synced fails the apply
/// before any rename: exit 1, the drop kept, every file as it was. The image
/// is an ext2 (no journal to abort and turn the file system read-only, so
/// only the sync can report the error) on a loop device whose backing file
/// cannot grow: every write(2) succeeds, writeback fails.
#[test]
fn a_write_error_found_at_sync_time_fails_the_apply_and_keeps_the_old_files() {
    assert!(nix::unistd::geteuid().is_root(), "this test mounts file systems: run it as root");
    let tree = TempTree::new("crash-eio");
    let (backing, image) = (tree.join("/backing"), tree.join("/image"));
    std::fs::create_dir_all(&backing).unwrap();
    std::fs::create_dir_all(&image).unwrap();
    let sh = |script: &str| assert!(Command::new("sh").args(["-euc", script]).status().unwrap().success(), "{script}");
    let (b, i) = (backing.to_str().unwrap(), image.to_str().unwrap());
    sh(&format!("mount -t tmpfs -o size=16m tmpfs {b}; truncate -s 64M {b}/img; mkfs.ext2 -q -F {b}/img; mount -o loop,errors=continue {b}/img {i}"));
    let root = TempTree { path: image.clone() };
    minimal_image(&root);
    root.write(DROP, CLASSIC, 0o644);
    sh(&format!("sync; dd if=/dev/zero of={b}/filler bs=64k 2>/dev/null || true"));
    let before = root.snapshot();
    let (code, err) = run(&root, &[]);
    let after = root.snapshot();
    std::mem::forget(root);
    let _ = Command::new("umount").arg(&image).status();
    let _ = Command::new("umount").arg(&backing).status();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("the drop is kept"), "{err}");
    // Temps may stay where removing them failed too: the next write of
    // that file removes them.
    let after: Snapshot =
        after.into_iter().filter(|(path, _)| !path.contains(".osconf-") || path.ends_with(".osconf-orig")).collect();
    assert_eq!(after, before, "a failed sync changed files");
}

#[test]
fn two_at_once_apply_once_and_a_held_lock_is_waited_for() {
    let tree = TempTree::new("crash-two");
    minimal_image(&tree);
    tree.write(DROP, CLASSIC, 0o644);
    let spawn = || {
        osconf_command()
            .args(["apply", "--root", tree.path.to_str().unwrap()])
            .env("OSCONF_TEST_STEP_DELAY_MS", "30")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    let logs = format!("{}{}", String::from_utf8_lossy(&a.stderr), String::from_utf8_lossy(&b.stderr));
    assert_eq!(logs.matches("osconf: info: applied").count(), 1, "{logs}");
    assert!(logs.contains("waiting for it to finish"), "{logs}");
    assert!(crypt_matches(PASSWORD, tree.read("/etc/shadow").lines().next().unwrap().split(':').nth(1).unwrap()));

    // A lock held by someone else: osconf waits, then proceeds when it is released.
    tree.write(DROP, &vpc_drop(), 0o644);
    let lock_file = std::fs::File::create(tree.join("/run/osconf.lock")).unwrap();
    let held = nix::fcntl::Flock::lock(lock_file, nix::fcntl::FlockArg::LockExclusive).unwrap();
    let mut waiting = spawn();
    std::thread::sleep(Duration::from_millis(300));
    assert!(waiting.try_wait().unwrap().is_none(), "osconf did not wait for the lock");
    assert_eq!(tree.read("/etc/hostname"), "iZ23r29djmjZ\n", "changed files while another held the lock");
    drop(held);
    assert!(waiting.wait().unwrap().success());
    assert_eq!(tree.read("/etc/hostname"), "moved\n");
}

#[test]
fn shadow_keeps_its_owner_and_mode_and_the_record_is_private() {
    let tree = TempTree::new("crash-modes");
    minimal_image(&tree);
    std::os::unix::fs::chown(tree.join("/etc/shadow"), Some(0), Some(42)).unwrap();
    tree.write(DROP, CLASSIC, 0o644);
    assert_eq!(run(&tree, &[]).0, 0);
    let meta = std::fs::metadata(tree.join("/etc/shadow")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid(), meta.mode() & 0o7777), (0, 42, 0o640));
    assert_eq!(tree.mode("/var/lib/osconf/records/alibaba-drop.json"), 0o600);
}
