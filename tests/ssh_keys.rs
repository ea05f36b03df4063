//! root's SSH keys on temp trees: settings carrying keys are applied the way
//! `osconf apply` applies any settings (Plan::build, then apply::run), and
//! the binary's own `apply` (an os.conf drop, which carries no keys) and
//! `status` run in between. OpenSSH's own `ssh-keygen` reads the result.

mod common;

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use common::*;
use osconf::apply::{self, Effects};
use osconf::config::Config;
use osconf::files::Root;
use osconf::plan::{Origin, Plan};
use osconf::record::Record;
use osconf::settings::{Settings, SshKey};

const CLASSIC: &str = include_str!("../examples/classic.conf");
const PERSON_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH person@laptop";
const KEYS: &str = "/root/.ssh/authorized_keys";

/// Fresh key pairs from ssh-keygen: (public key line, ssh-keygen's fingerprint).
fn generate(tree: &TempTree, kinds: &[(&str, &str)]) -> Vec<(String, String)> {
    kinds
        .iter()
        .enumerate()
        .map(|(n, (kind, bits))| {
            let file = tree.join(&format!("/keys/k{n}"));
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            let mut args = vec!["-q", "-t", kind, "-N", "", "-C", "generated key", "-f", file.to_str().unwrap()];
            if !bits.is_empty() {
                args.extend(["-b", bits]);
            }
            let status =
                Command::new("ssh-keygen").args(&args).status().expect("ssh-keygen (openssh-client) is installed");
            assert!(status.success());
            let public = std::fs::read_to_string(file.with_extension("pub")).unwrap();
            (public.trim().to_owned(), fingerprints(&file.with_extension("pub"))[0].clone())
        })
        .collect()
}

/// The fingerprints `ssh-keygen -l` reads from a file (authorized_keys too), in order.
fn fingerprints(path: &std::path::Path) -> Vec<String> {
    let out = Command::new("ssh-keygen").arg("-lf").arg(path).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().lines().map(|l| l.split_whitespace().nth(1).unwrap().to_owned()).collect()
}

fn image(tree: &TempTree) {
    minimal_image(tree);
    tree.write(
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
        0o644,
    );
}

/// Applies settings holding only `keys`, as `osconf apply` applies settings
/// from a source; returns the plan as `osconf plan` prints it.
fn apply_keys(tree: &TempTree, keys: Option<&[&str]>, tag: &str) -> String {
    let root = Root::new(&tree.path);
    let ssh_keys = keys.map(|lines| lines.iter().map(|l| SshKey::parse(l).unwrap()).collect());
    let settings = Settings { ssh_keys, ..Settings::default() };
    let previous = Record::load(&root).unwrap();
    let plan = Plan::build(
        settings,
        &Origin::drop("test keys", tag.as_bytes(), previous.as_ref()),
        previous.as_ref(),
        &root,
        &Config::default(),
    )
    .unwrap();
    apply::run(&plan, previous.as_ref(), &root, Effects { live: false, nic_wait: Duration::ZERO }).unwrap();
    plan.to_string()
}

fn block(keys: &[&str]) -> String {
    let lines: String = keys.iter().map(|k| format!("{k}\n")).collect();
    format!("# BEGIN osconf: keys from the cloud; osconf replaces this block at each apply\n{lines}# END osconf\n")
}

fn owner(tree: &TempTree, path: &str) -> (u32, u32) {
    let meta = std::fs::metadata(tree.join(path)).unwrap();
    (meta.uid(), meta.gid())
}

#[test]
fn fingerprints_are_those_of_ssh_keygen() {
    let tree = TempTree::new("ssh-fp");
    let kinds = [("ed25519", ""), ("rsa", "2048"), ("ecdsa", "256"), ("ecdsa", "384"), ("ecdsa", "521")];
    for (line, fingerprint) in generate(&tree, &kinds) {
        let key = SshKey::parse(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(key.fingerprint(), fingerprint, "{line}");
        assert_eq!(key.to_string(), line);
    }
}

#[test]
fn a_persons_lines_survive_every_apply_and_removed_keys_go() {
    let tree = TempTree::new("ssh-apply");
    image(&tree);
    let generated = generate(&tree, &[("ed25519", ""), ("rsa", "2048")]);
    let (a, b) = (generated[0].0.as_str(), generated[1].0.as_str());
    let mine = format!("# my own key\n{PERSON_KEY}\n");
    tree.write(KEYS, &mine, 0o644);
    std::fs::set_permissions(tree.join("/root/.ssh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::os::unix::fs::chown(tree.join(KEYS), Some(0), Some(1234)).unwrap();

    let plan = apply_keys(&tree, Some(&[a, b]), "1");
    assert_eq!(tree.read(KEYS), format!("{mine}{}", block(&[a, b])));
    assert_eq!((tree.mode(KEYS), tree.mode("/root/.ssh")), (0o600, 0o700));
    assert_eq!(owner(&tree, KEYS), (0, 1234), "the owner is kept");
    // OpenSSH reads every line: the person's key and both of osconf's.
    let person = SshKey::parse(PERSON_KEY).unwrap().fingerprint();
    assert_eq!(fingerprints(&tree.join(KEYS)), [person.clone(), generated[0].1.clone(), generated[1].1.clone()]);
    // The plan shows the count and fingerprints, never a key itself.
    assert!(plan.contains("SSH keys for root: 2 (osconf's block in /root/.ssh/authorized_keys)"), "{plan}");
    assert!(plan.contains(&format!("key {} ssh-ed25519 generated key", generated[0].1)), "{plan}");
    assert!(plan.contains("make /root/.ssh a 0700 directory") && plan.contains(&format!("write {KEYS}")), "{plan}");
    for key in [a, b] {
        assert!(!plan.contains(key.split(' ').nth(1).unwrap()), "{plan}");
    }

    // The person adds a line after osconf's block.
    let edited = format!("{}command=\"uptime\" {PERSON_KEY}\n", tree.read(KEYS));
    std::fs::write(tree.join(KEYS), &edited).unwrap();

    // An os.conf drop says nothing about keys: the binary leaves the file
    // alone, and status still lists the keys osconf installed.
    tree.write(DROP, CLASSIC, 0o644);
    let (code, out, err) = osconf(&["apply", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(tree.read(KEYS), edited);
    let (code, status, _) = osconf(&["status", "--root", tree.path.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(status.contains("SSH keys for root (osconf's block): 2"), "{status}");
    assert!(status.contains(&format!("    {} ssh-rsa generated key", generated[1].1)), "{status}");
    assert!(!status.contains(a.split(' ').nth(1).unwrap()), "{status}");

    // A later list without a: a goes, b and every line of the person stay.
    apply_keys(&tree, Some(&[b]), "2");
    assert_eq!(tree.read(KEYS), format!("{mine}{}command=\"uptime\" {PERSON_KEY}\n", block(&[b])));
    let (_, status, _) = osconf(&["status", "--root", tree.path.to_str().unwrap()]);
    assert!(status.contains("SSH keys for root (osconf's block): 1") && !status.contains(&generated[0].1), "{status}");

    // No key at all: the block goes, the person's file is as they left it.
    apply_keys(&tree, Some(&[]), "3");
    assert_eq!(tree.read(KEYS), format!("{mine}command=\"uptime\" {PERSON_KEY}\n"));
    assert_eq!((tree.mode(KEYS), owner(&tree, KEYS)), (0o600, (0, 1234)));
    let (_, status, _) = osconf(&["status", "--root", tree.path.to_str().unwrap()]);
    assert!(status.contains("SSH keys for root (osconf's block): none"), "{status}");
}

#[test]
fn keys_on_an_image_without_ssh_dir_and_a_home_from_passwd() {
    let tree = TempTree::new("ssh-fresh");
    image(&tree);
    tree.write("/etc/passwd", "root:x:0:0:root:/var/lib/rootdir:/bin/sh\n", 0o644);
    let (key, fingerprint) = generate(&tree, &[("ecdsa", "256")]).remove(0);
    apply_keys(&tree, Some(&[&key, &key]), "1");
    let path = "/var/lib/rootdir/.ssh/authorized_keys";
    assert_eq!(tree.read(path), block(&[&key]), "a key listed twice is installed once");
    assert_eq!(
        (tree.mode(path), tree.mode("/var/lib/rootdir/.ssh"), tree.mode("/var/lib/rootdir")),
        (0o600, 0o700, 0o700)
    );
    assert_eq!((owner(&tree, path), owner(&tree, "/var/lib/rootdir/.ssh")), ((0, 0), (0, 0)));
    assert_eq!(fingerprints(&tree.join(path)), [fingerprint]);
    assert!(!tree.exists(KEYS));
    // Settings that say nothing about keys (None) leave them alone.
    let changed = |run: &dyn Fn()| {
        let before = tree.snapshot();
        run();
        let after = tree.snapshot();
        after.keys().filter(|p| before.get(*p) != after.get(*p)).cloned().collect::<Vec<String>>()
    };
    assert_eq!(changed(&|| drop(apply_keys(&tree, None, "2"))), ["var/lib/osconf/records/alibaba-drop.json"]);
    // No key removes the block (the file was only that); no key again changes nothing.
    assert_eq!(
        changed(&|| drop(apply_keys(&tree, Some(&[]), "3"))),
        ["var/lib/osconf/records/alibaba-drop.json", path.trim_start_matches('/')]
    );
    assert_eq!(tree.read(path), "");
    assert_eq!(changed(&|| drop(apply_keys(&tree, Some(&[]), "4"))), ["var/lib/osconf/records/alibaba-drop.json"]);
}

#[test]
fn a_damaged_block_leaves_the_file_alone_and_the_rest_applies() {
    let tree = TempTree::new("ssh-damaged");
    image(&tree);
    let damaged = format!("# BEGIN osconf: keys\n{PERSON_KEY}\n");
    tree.write(KEYS, &damaged, 0o600);
    let root = Root::new(&tree.path);
    let key = generate(&tree, &[("ed25519", "")]).remove(0).0;
    let settings = Settings {
        hostname: Some("fine".into()),
        ssh_keys: Some(vec![SshKey::parse(&key).unwrap()]),
        ..Settings::default()
    };
    let plan = Plan::build(settings, &Origin::drop("test", b"x", None), None, &root, &Config::default()).unwrap();
    assert!(plan.to_string().contains("SSH keys for root: 1 asked for, not installed: /root/.ssh/authorized_keys: \"# BEGIN osconf\" without \"# END osconf\""), "{plan}");
    let record = apply::run(&plan, None, &root, Effects { live: false, nic_wait: Duration::ZERO }).unwrap();
    assert_eq!(tree.read(KEYS), damaged);
    assert_eq!(tree.read("/etc/hostname"), "fine\n");
    assert!(record.ssh_keys.is_empty(), "the record lists only keys that are installed");
}
