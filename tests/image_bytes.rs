//! Image files are bytes (issue 22): a byte that is not UTF-8 in a line
//! osconf does not own must neither fail the apply nor change. Every golden
//! case is run again with such a line put at the top of each file its image
//! has under /etc (hosts, hostname, shadow, passwd-free images included,
//! sysconfig/network, resolv.conf, resolvconf's base, interfaces, ifcfg
//! files, keyfiles, netplan YAML, networkd units): the apply succeeds, the
//! files osconf writes are its golden output with that line kept on top
//! (byte for byte, the kept originals too), and every other file is as it was.
//! /etc/passwd and authorized_keys, which no golden image has, are checked
//! through the library.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use common::*;
use osconf::apply::{self, Effects};
use osconf::config::Config;
use osconf::files::Root;
use osconf::plan::{Origin, Plan};
use osconf::settings::{Settings, SshKey};

/// A comment in Latin-1: 0xE9 alone is not UTF-8.
const FOREIGN: &[u8] = b"# r\xe9sum\xe9 \xff (Latin-1, not UTF-8)\n";

/// The header of the files osconf owns and writes whole.
const OWN_HEADER: &[u8] = b"# Written by osconf";
const BACKUPS: &str = "var/lib/osconf/backup/";

/// Puts `FOREIGN` on top of every non-empty regular file under `etc/`
/// (osconf's own files left out); gives their relative paths.
fn add_foreign_lines(dir: &Path, base: &Path, changed: &mut BTreeSet<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let relative = path.strip_prefix(base).unwrap().to_string_lossy().into_owned();
        if meta.is_dir() {
            add_foreign_lines(&path, base, changed);
        } else if meta.is_file() && meta.len() > 0 && !relative.contains("osconf") {
            let old = fs::read(&path).unwrap();
            if old.starts_with(OWN_HEADER) {
                continue;
            }
            fs::write(&path, [FOREIGN, &old].concat()).unwrap();
            changed.insert(relative);
        }
    }
}

fn run_case(case: &Path) -> Result<(), String> {
    let tree = TempTree::new(&format!("bytes-{}", case.file_name().unwrap().to_string_lossy()));
    tree.copy_from(&case.join("image"));
    let mut foreign = BTreeSet::new();
    if tree.join("/etc").is_dir() {
        add_foreign_lines(&tree.join("/etc"), &tree.path, &mut foreign);
    }
    let input = golden_input(case, &tree);
    let before = tree.snapshot();
    let mut args = vec!["apply", "--root", tree.path.to_str().unwrap()];
    args.extend(input.args.iter().map(String::as_str));
    let (code, out, err) = osconf(&args);
    if code != 0 {
        return Err(format!("exit {code}: {out}{err}"));
    }
    let after = tree.snapshot();
    let golden: BTreeMap<String, (Vec<u8>, u32)> = snapshot(&case.join("expected"));
    let mut problems = Vec::new();
    for (path, (content, _)) in &golden {
        let source = path.strip_prefix(BACKUPS).unwrap_or(path);
        // An edited file keeps the line (where, is the editor's business);
        // osconf's own files and /etc/hostname are written whole.
        let keeps_line = foreign.contains(source) && !content.starts_with(OWN_HEADER) && path != "etc/hostname";
        let got = after.get(path).map(|(got, _)| got.clone()).unwrap_or_default();
        let right = if keeps_line { without_foreign_line(&got).as_ref() == Some(content) } else { got == *content };
        if !right {
            problems.push(format!(
                "{path}{}:\n--- golden\n{}--- got\n{}",
                if keeps_line { " (the foreign line kept)" } else { "" },
                String::from_utf8_lossy(content),
                String::from_utf8_lossy(&got)
            ));
        }
    }
    let removed = fs::read_to_string(case.join("removed")).unwrap_or_default();
    for (path, file) in &before {
        let expected_to_change = golden.contains_key(path)
            || GOLDEN_DYNAMIC.contains(&path.as_str())
            || removed.lines().any(|r| r.trim_start_matches('/') == path)
            || path == DROP.trim_start_matches('/');
        if !expected_to_change && after.get(path) != Some(file) {
            problems.push(format!("{path}: changed, but osconf does not write it"));
        }
    }
    let shadow = fs::read(tree.join("/etc/shadow")).unwrap();
    let root_line = shadow.split(|&b| b == b'\n').find(|l| l.starts_with(b"root:")).unwrap_or_default();
    let sets_password = input.sets_password;
    if !shadow.starts_with(FOREIGN) || root_line.starts_with(b"root:$6$") != sets_password {
        problems.push(format!("/etc/shadow: {}", String::from_utf8_lossy(&shadow)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// `content` without its one `FOREIGN` line; `None` if it has not exactly one.
fn without_foreign_line(content: &[u8]) -> Option<Vec<u8>> {
    let lines: Vec<&[u8]> = content.split_inclusive(|&b| b == b'\n').collect();
    (lines.iter().filter(|l| **l == FOREIGN).count() == 1)
        .then(|| lines.into_iter().filter(|l| *l != FOREIGN).flatten().copied().collect())
}

#[test]
fn a_byte_that_is_not_utf8_in_a_foreign_line_is_kept_and_fails_nothing() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut failures = Vec::new();
    let mut cases = 0;
    for group in fs::read_dir(&golden).unwrap().flatten().filter(|e| e.path().is_dir()) {
        for case in fs::read_dir(group.path()).unwrap().flatten().map(|e| e.path()) {
            if !case.join("image/etc/shadow").is_file() {
                continue;
            }
            cases += 1;
            if let Err(why) = run_case(&case) {
                failures.push(format!("== {}\n{why}", case.display()));
            }
        }
    }
    assert!(cases >= 30, "only {cases} golden cases with an image");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn passwd_and_authorized_keys_with_a_foreign_byte_still_give_roots_keys() {
    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3grApp1u6rYY7lRUREvN8ueKICW1v5WXml8QdH9WZh alice@example";
    let tree = TempTree::new("bytes-passwd");
    minimal_image(&tree);
    let passwd =
        [b"d\xe6mon:x:1:1:D\xe6mon:/usr/sbin:/bin/false\nroot:x:0:0:root:/home/admin:/bin/sh\n" as &[u8]].concat();
    fs::write(tree.join("/etc/passwd"), &passwd).unwrap();
    fs::create_dir_all(tree.join("/home/admin/.ssh")).unwrap();
    fs::write(tree.join("/home/admin/.ssh/authorized_keys"), FOREIGN).unwrap();
    let root = Root::new(&tree.path);
    let settings = Settings { ssh_keys: Some(vec![SshKey::parse(KEY).unwrap()]), ..Settings::default() };
    let plan =
        Plan::build(settings, &Origin::drop("test keys", b"keys", None), None, &root, &Config::default()).unwrap();
    apply::run(&plan, None, &root, Effects { live: false, nic_wait: std::time::Duration::ZERO }).unwrap();
    // root's home came from passwd despite the other line's byte.
    let keys = fs::read(tree.join("/home/admin/.ssh/authorized_keys")).unwrap();
    assert!(keys.starts_with(FOREIGN), "{}", String::from_utf8_lossy(&keys));
    assert!(String::from_utf8_lossy(&keys).contains(KEY));
    assert!(!tree.exists("/root/.ssh"), "keys went to the fallback home");
    assert_eq!(fs::read(tree.join("/etc/passwd")).unwrap(), passwd);
}
