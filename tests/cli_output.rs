//! A reader that goes away early (`osconf status | head -n1`) ends a command
//! quietly: exit 0, nothing on standard error, never a panic or an abort.

mod common;

use std::os::fd::OwnedFd;
use std::process::Stdio;

use common::{minimal_image, osconf_command, TempTree};

/// Runs osconf with standard output a pipe whose read end is already closed,
/// so its first write fails with EPIPE (SIGPIPE is ignored by Rust programs).
fn run_with_closed_stdout(args: &[&str]) -> (Option<i32>, String) {
    let (read_end, write_end): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
    drop(read_end);
    let output = osconf_command().args(args).stdout(Stdio::from(write_end)).stderr(Stdio::piped()).output().unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_closed_output_pipe_ends_every_printing_command_quietly() {
    let tree = TempTree::new("closed-stdout");
    minimal_image(&tree);
    let root = tree.path.to_str().unwrap();
    let drop = format!("{}/drop.conf", root);
    std::fs::write(&drop, "hostname=quiet-host\n").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["status", "--root", root],
        vec!["status", "--root", root, "--json"],
        vec!["check", "--root", root],
        vec!["plan", "--drop", &drop, "--root", root],
        vec!["--help"],
        vec!["--version"],
    ];
    for args in cases {
        let (code, stderr) = run_with_closed_stdout(&args);
        assert_eq!(code, Some(0), "osconf {args:?}: exit {code:?}, stderr: {stderr}");
        assert_eq!(stderr, "", "osconf {args:?} printed to stderr");
    }
}
