//! Golden "what would be written" tests, through the built binary: for each
//! `tests/golden/<group>/<case>/`, the image in `image/` plus the drop in
//! `os.conf` must produce exactly the files in `expected/` (byte for byte,
//! with the modes listed in `modes`, since git keeps no file modes but the
//! executable bit) and change no other file, except /etc/shadow (random
//! salt, checked in cli_apply.rs), the record (a timestamp) and the host's
//! random drop key; the files
//! listed in `removed` must be deleted, and no others.
//!
//! A case with a file `openstack-drive` instead of `os.conf` applies an
//! OpenStack config drive made of a fixture (see `common::golden_input`).
//!
//! `OSCONF_BLESS=1 cargo test --test golden_apply` rewrites `expected/`:
//! review the diff before committing it.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use osconf::plan::network::STACKS;

fn run_case(case: &Path) -> Result<(), String> {
    let tree = TempTree::new(&format!("golden-{}", case.file_name().unwrap().to_string_lossy()));
    if case.join("image").is_dir() {
        tree.copy_from(&case.join("image"));
        as_git_checks_out(&tree.path);
    }
    let input = golden_input(case, &tree);
    let mut args = vec!["apply".to_owned(), "--root".into(), tree.path.to_str().unwrap().into()];
    args.extend(input.args.iter().cloned());
    let before = tree.snapshot();
    let (code, out, err) = osconf(&args.iter().map(String::as_str).collect::<Vec<_>>());
    if code != 0 {
        return Err(format!("exit {code}: {out}{err}"));
    }
    let after = tree.snapshot();
    let changed: BTreeMap<&String, &(Vec<u8>, u32)> = after
        .iter()
        .filter(|(path, file)| before.get(*path) != Some(*file) && !GOLDEN_DYNAMIC.contains(&path.as_str()))
        .collect();
    let expected_dir = case.join("expected");
    if std::env::var_os("OSCONF_BLESS").is_some() {
        let _ = fs::remove_dir_all(&expected_dir);
        let mut modes = String::new();
        for (path, (content, mode)) in &changed {
            let target = expected_dir.join(path);
            fs::create_dir_all(target.parent().unwrap()).unwrap();
            fs::write(&target, content).unwrap();
            modes += &format!("{mode:o} /{path}\n");
        }
        fs::write(case.join("modes"), modes).unwrap();
    }
    let modes: BTreeMap<String, u32> = fs::read_to_string(case.join("modes"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(mode, path)| {
            (path.trim_start_matches('/').to_owned(), u32::from_str_radix(mode, 8).expect("octal mode"))
        })
        .collect();
    let expected: BTreeMap<String, (Vec<u8>, u32)> = snapshot(&expected_dir)
        .into_iter()
        .map(|(path, (content, _))| {
            let mode =
                *modes.get(&path).unwrap_or_else(|| panic!("{}: no mode listed for {path} in modes", case.display()));
            (path, (content, mode))
        })
        .collect();
    let mut problems = Vec::new();
    for (path, (content, mode)) in &expected {
        match changed.get(path) {
            None => problems.push(format!("{path}: expected to be written, was not")),
            Some((got, _)) if got != content => problems.push(format!(
                "{path}: content differs\n--- expected\n{}--- got\n{}",
                String::from_utf8_lossy(content),
                String::from_utf8_lossy(got)
            )),
            Some((_, got_mode)) if got_mode != mode => {
                problems.push(format!("{path}: mode {got_mode:o}, expected {mode:o}"))
            }
            Some(_) => {}
        }
    }
    for path in changed.keys() {
        if !expected.contains_key(*path) {
            problems.push(format!("{path}: written but not expected"));
        }
    }
    // `removed` lists the files the case must delete (one guest path a line).
    let drop_path = DROP.trim_start_matches('/');
    let removed: Vec<&String> = before.keys().filter(|p| !after.contains_key(*p) && p.as_str() != drop_path).collect();
    let removed_file = case.join("removed");
    if std::env::var_os("OSCONF_BLESS").is_some() {
        let text: String = removed.iter().map(|p| format!("/{p}\n")).collect();
        if text.is_empty() {
            let _ = fs::remove_file(&removed_file);
        } else {
            fs::write(&removed_file, text).unwrap();
        }
    }
    let expected_removed: Vec<String> = fs::read_to_string(&removed_file)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim_start_matches('/').to_owned())
        .collect();
    if removed.iter().map(|p| p.as_str()).ne(expected_removed.iter().map(|p| p.as_str())) {
        problems.push(format!("removed {removed:?}, expected {expected_removed:?}"));
    }
    if after.contains_key(drop_path) {
        problems.push("the drop was not deleted".into());
    }
    drop(input);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Git keeps only the executable bit: give the image the modes a fresh
/// clone has (0644 or 0755), whatever this work tree says.
fn as_git_checks_out(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            as_git_checks_out(&path);
        } else if meta.is_file() {
            let mode = if meta.permissions().mode() & 0o111 != 0 { 0o755 } else { 0o644 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        }
    }
}

#[test]
fn every_golden_case_writes_exactly_its_expected_files() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut cases: Vec<_> = fs::read_dir(&golden)
        .unwrap()
        .map(|group| group.unwrap().path())
        .filter(|group| group.is_dir())
        .flat_map(|group| fs::read_dir(group).unwrap())
        .map(|case| case.unwrap().path())
        .filter(|case| case.join("os.conf").is_file() || case.join("openstack-drive").is_file())
        .collect();
    cases.sort();
    assert!(cases.len() >= 4, "golden cases missing: {cases:?}");
    // Every stack has the cases tests/golden/regenerate.sh makes for it.
    for stack in STACKS {
        let openstack = ["openstack-multi-nic", "openstack-kubevirt", "openstack-huawei", "openstack-bond-vlan"];
        for case in ["vpc", "classic", "many", "classic-to-vpc"].into_iter().chain(openstack) {
            let case = golden.join(stack.name()).join(case);
            assert!(cases.contains(&case), "{stack}: no golden case {} (tests/golden/regenerate.sh)", case.display());
        }
    }
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            run_case(case).err().map(|e| format!("== {}\n{e}", case.strip_prefix(&golden).unwrap().display()))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} golden cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
