//! Property tests of every reader of the image's files and of what a cloud
//! serves (issue 22; the readers and which target covers each are listed in
//! tests/fuzz_readers.rs, the targets and their contract in tests/readers/).
//! For every target:
//!
//! - its corpus (tests/corpus/image, the golden images, and the files the
//!   distribution's packages installed on this machine, read at test time)
//!   is read within the contract, and real netplan files raise no problem;
//! - arbitrary bytes, text built from brackets, quotes, colons and newlines
//!   (nesting, `[}`, `{]`), and corpus files with bytes that are not UTF-8
//!   spliced in keep the contract, never panic and never hang;
//! - huge inputs (300,000 `[`, an 8 MiB line, 200,000 lines, 100,000
//!   definitions of one NIC) end well within `HANG_BOUND`.
//!
//! Every input runs on a thread of its own that must answer within
//! `HANG_BOUND` (hang detection, not a timing assertion: each takes
//! milliseconds). Cases per property: 100 per target (`OSCONF_READER_CASES=N`).

mod common;
mod readers;

use std::sync::mpsc;
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use readers::{capture_warnings, take_warnings, Target, TARGETS};

const HANG_BOUND: Duration = Duration::from_secs(30);

/// `OSCONF_READER_CASES` random cases per reader and property (100; the
/// aarch64 run under emulation takes fewer). Not PROPTEST_CASES: that one
/// sizes the drop parser's properties, whose cases cost far less.
fn runner() -> TestRunner {
    let cases = std::env::var("OSCONF_READER_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

/// Feeds `input` to the target on a thread of its own (a 2 MiB stack, as
/// any thread): its verdict, or a failure when it panicked or hangs.
fn judge(target: &'static Target, tree: &common::TempTree, input: Vec<u8>) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let base = tree.path.clone();
    let sink = readers::sink();
    std::thread::spawn(move || {
        readers::adopt(sink);
        let _ = tx.send(target.feed(&base, &input));
    });
    match rx.recv_timeout(HANG_BOUND) {
        Ok(verdict) => verdict.map_err(|e| format!("{}: {e}", target.name)),
        Err(mpsc::RecvTimeoutError::Timeout) => Err(format!("{}: still reading after {HANG_BOUND:?}", target.name)),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(format!("{}: panicked (message above)", target.name)),
    }
}

/// Runs `strategy`'s inputs through every target.
fn every_target(strategy: impl Strategy<Value = Vec<u8>> + Clone) {
    for target in TARGETS {
        let tree = target.tree("prop");
        runner()
            .run(&strategy, |input| {
                judge(target, &tree, input).map_err(TestCaseError::fail)?;
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", target.name));
    }
}

#[test]
fn every_corpus_file_is_read_within_the_contract() {
    capture_warnings();
    for target in TARGETS {
        let corpus = target.corpus();
        let tree = target.tree("corpus");
        for (name, bytes) in &corpus {
            take_warnings();
            judge(target, &tree, bytes.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
            if target.name == "netplan" {
                // osconf's "just enough YAML" must not call a real file broken.
                let problems: Vec<String> = take_warnings().into_iter().filter(|w| w.contains(" line ")).collect();
                assert!(problems.is_empty(), "{name}: {problems:?}");
            }
        }
        println!("{}: {} corpus files ({} hand-written)", target.name, corpus.len(), target.own_corpus_count());
    }
}

#[test]
fn arbitrary_bytes_keep_the_contract() {
    every_target(proptest::collection::vec(any::<u8>(), 0..2000));
}

/// Text made of what gives structure: brackets of both kinds, mismatched
/// closers, quotes, separators, newlines, indentation and keys netplan uses.
fn structured_text() -> impl Strategy<Value = Vec<u8>> + Clone {
    const TOKENS: [&str; 26] = [
        "[",
        "]",
        "{",
        "}",
        "[}",
        "{]",
        "\"",
        "'",
        ",",
        ": ",
        ":",
        "\n",
        "  ",
        "- ",
        "#",
        "=",
        "a",
        "ens3",
        "match",
        "macaddress",
        "00:8c:fa:5e:14:23",
        "network:\n  ethernets:\n    ",
        "[Match]\n",
        "iface eth0 inet dhcp\n",
        "DEVICE=eth0\n",
        "root:x:0:0::/root:\n",
    ];
    proptest::collection::vec(0..TOKENS.len(), 0..200)
        .prop_map(|picks| picks.into_iter().map(|n| TOKENS[n]).collect::<String>().into_bytes())
}

#[test]
fn nesting_and_mismatched_closers_keep_the_contract() {
    every_target(structured_text());
}

#[test]
fn corpus_files_with_bytes_that_are_not_utf8_keep_the_contract() {
    for target in TARGETS {
        let corpus = target.corpus();
        if corpus.is_empty() {
            continue;
        }
        let tree = target.tree("utf8");
        let bad =
            prop_oneof![Just(&b"\xff"[..]), Just(&b"\xc3"[..]), Just(&b"\xe2\x82"[..]), Just(&b"\xed\xa0\x80"[..])];
        let strategy = (0..corpus.len(), any::<proptest::sample::Index>(), bad);
        runner()
            .run(&strategy, |(file, at, bad)| {
                let mut input = corpus[file].1.clone();
                let at = at.index(input.len() + 1);
                input.splice(at..at, bad.iter().copied());
                judge(target, &tree, input).map_err(TestCaseError::fail)?;
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{}: {e}", target.name));
    }
}

/// The readers osconf only reads say which line they could not read.
#[test]
fn a_line_that_is_not_utf8_is_a_warning_naming_file_and_line() {
    capture_warnings();
    let input = b"[Match]\nName=eth9\n\xff\xfe\n".to_vec();
    for target in TARGETS.iter().filter(|t| ["netplan", "networkd", "ifcfg", "nm-osconf-conf"].contains(&t.name)) {
        let tree = target.tree("line");
        take_warnings();
        judge(target, &tree, input.clone()).unwrap();
        let wanted = format!("{} line 3 is not UTF-8 text", target.path);
        let warnings = take_warnings();
        assert!(warnings.iter().any(|w| w.contains(&wanted)), "{}: no {wanted:?} in {warnings:?}", target.name);
    }
}

#[test]
fn huge_and_deeply_nested_inputs_end() {
    let inputs: Vec<(&str, Vec<u8>)> = vec![
        ("300,000 [", "[".repeat(300_000).into_bytes()),
        ("300,000 {", "{".repeat(300_000).into_bytes()),
        ("a key then 300,000 [", format!("network:\n  ethernets:\n    ens3: {}\n", "[".repeat(300_000)).into_bytes()),
        ("[} x 100,000", format!("a: {}\n", "[}".repeat(100_000)).into_bytes()),
        ("{] x 100,000", format!("a: {}\n", "{]".repeat(100_000)).into_bytes()),
        ("an 8 MiB line", vec![b'a'; 8 << 20]),
        ("200,000 lines", "a: [b]\n".repeat(200_000).into_bytes()),
        (
            "2,000 levels of indentation",
            (0..2000).map(|n| format!("{}k{n}:\n", " ".repeat(n))).collect::<String>().into_bytes(),
        ),
    ];
    for target in TARGETS {
        let tree = target.tree("huge");
        for (what, input) in &inputs {
            judge(target, &tree, input.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
        }
    }
}

/// 100,000 one-line definitions, each of the NIC osconf configures: every
/// step of the netplan renderer must stay linear in them (checking each id
/// against every definition took 10^10 steps).
#[test]
fn a_hundred_thousand_netplan_definitions_of_one_nic_end() {
    let definitions: String = (0..100_000)
        .map(|n| format!("    e{n}:\n      match: {{macaddress: \"00:8c:fa:5e:14:23\"}}\n      dhcp4: true\n"))
        .collect();
    let target = TARGETS.iter().find(|t| t.name == "netplan").unwrap();
    let tree = target.tree("many");
    judge(target, &tree, format!("network:\n  ethernets:\n{definitions}").into_bytes()).unwrap();
}

/// A FIFO or a directory where a scanned file is expected: the renderer
/// must not block on it (reading a FIFO waits for a writer forever).
#[test]
fn a_fifo_or_a_directory_among_the_scanned_files_is_skipped() {
    for name in ["netplan", "networkd", "ifcfg", "nm-keyfile"] {
        let target = TARGETS.iter().find(|t| t.name == name).unwrap();
        for kind in ["fifo", "dir"] {
            let tree = target.tree(kind);
            let path = tree.join(target.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            match kind {
                "fifo" => nix::unistd::mkfifo(&path, nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap(),
                _ => std::fs::create_dir(&path).unwrap(),
            }
            let (tx, rx) = mpsc::channel();
            let base = tree.path.clone();
            std::thread::spawn(move || {
                let _ = tx.send(target.run_only(&base));
            });
            let verdict = rx.recv_timeout(HANG_BOUND).unwrap_or_else(|_| panic!("{name} {kind}: hangs or panicked"));
            verdict.unwrap_or_else(|e| panic!("{name} {kind}: {e}"));
        }
    }
}
