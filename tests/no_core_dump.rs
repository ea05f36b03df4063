//! No secret in a core dump: every subcommand makes the process
//! non-dumpable, with a core size limit of 0, before it reads a drop
//! (`src/hardening.rs`). Seen from outside with strace, on the real binary.

mod common;

use std::process::Command;

use common::{minimal_image, TempTree, OSCONF};

/// The traced system calls of `osconf ARGS`: the hardening's and every open.
fn traced(tree: &TempTree, args: &[&str]) -> Vec<String> {
    let trace = tree.join("/strace.out");
    let out = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=prctl,prlimit64,setrlimit,openat", "-o", trace.to_str().unwrap(), OSCONF])
        .args(args)
        .output()
        .expect("strace is needed (tests/install-deps.sh installs it)");
    // `check` exits 1 on this minimal image (not ready): only a usage error or a crash is wrong.
    let ran = matches!(out.status.code(), Some(0 | 1));
    assert!(ran, "osconf {args:?}: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(trace).unwrap().lines().map(str::to_owned).collect()
}

fn position(lines: &[String], what: &str, wanted: impl Fn(&str) -> bool) -> usize {
    lines.iter().position(|l| wanted(l)).unwrap_or_else(|| panic!("no {what} in the trace:\n{}", lines.join("\n")))
}

#[test]
fn every_command_forbids_core_dumps_before_it_reads_the_drop() {
    let tree = TempTree::new("no-core-dump");
    minimal_image(&tree);
    let root = tree.path.to_str().unwrap();
    let drop = tree.join("/drop.conf");
    let drop = drop.to_str().unwrap();
    let cases: [(&[&str], bool); 4] = [
        (&["plan", "--drop", drop, "--root", root], true),
        (&["apply", "--drop", drop, "--root", root], true),
        (&["status", "--root", root], false),
        (&["check", "--root", root], false),
    ];
    for (args, reads_the_drop) in cases {
        std::fs::write(drop, "hostname=no-core\npassword=cXdIcjEyMzQK\n").unwrap();
        let lines = traced(&tree, args);
        let dumpable = position(&lines, "PR_SET_DUMPABLE 0", |l| {
            l.contains("prctl(PR_SET_DUMPABLE, SUID_DUMP_DISABLE)") && l.ends_with("= 0")
        });
        let core = position(&lines, "RLIMIT_CORE 0", |l| {
            l.contains("RLIMIT_CORE, {rlim_cur=0, rlim_max=0}") && l.ends_with("= 0")
        });
        if reads_the_drop {
            let read = position(&lines, "open of the drop", |l| l.contains(&format!("\"{drop}\"")));
            assert!(dumpable < read && core < read, "{args:?}: the drop is read first:\n{}", lines.join("\n"));
        }
    }
}
