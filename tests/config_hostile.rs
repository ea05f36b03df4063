//! Hostile numbers and bytes in osconf's own configuration (issue 13,
//! point 7): `Config::parse` never panics, every error names its
//! `[section] key` on one line, and every value it accepts can be turned
//! into the deadlines osconf computes without overflow. Through the binary,
//! `nic_wait_seconds = 18446744073709551615` is a clear error, not an abort.

mod common;

use std::time::Instant;

use common::*;
use osconf::config::Config;
use osconf::sources::SOURCES;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

const NUMERIC_KEYS: [(&str, &str); 5] = [
    ("network", "nic_wait_seconds"),
    ("metadata", "timeout_ms"),
    ("metadata", "total_timeout_ms"),
    ("source.alibaba-metadata", "timeout_ms"),
    ("source.alibaba-metadata", "total_timeout_ms"),
];

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() })
}

/// The properties for one configuration text.
fn judge(text: &str) -> Result<(), String> {
    let parsed = std::panic::catch_unwind(|| Config::parse(text)).map_err(|_| "Config::parse panicked".to_string())?;
    match parsed {
        Ok(config) => {
            let now = Instant::now();
            let mut waits = vec![("nic_wait", config.nic_wait)];
            for source in SOURCES {
                let section = config.source(*source);
                waits.extend([("request_timeout", section.request_timeout), ("total_timeout", section.total_timeout)]);
            }
            for (what, wait) in waits {
                if now.checked_add(wait).is_none() {
                    return Err(format!("accepted a {what} that overflows a deadline: {wait:?}"));
                }
            }
            Ok(())
        }
        Err(e) if e.contains('\n') || e.contains('\r') => Err(format!("multi-line error: {e:?}")),
        Err(_) => Ok(()),
    }
}

fn check(strategy: impl Strategy<Value = String>) {
    let result =
        runner().run(&strategy, |text| judge(&text).map_err(|p| TestCaseError::fail(format!("{p}\ninput: {text:?}"))));
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn arbitrary_bytes() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..400),
        prop::collection::vec(
            prop::sample::select(b"[]=#;\\\"' \t\r\nanetworkmetadatanic_wait_seconds0123456789\xff".to_vec()),
            0..200
        ),
    ];
    check(bytes.prop_map(|b| String::from_utf8_lossy(&b).into_owned()));
}

#[test]
fn extreme_numbers_for_every_numeric_key() {
    let number = prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "-1",
            "+5",
            "1e9",
            "0x10",
            " 7 ",
            "",
            "3600",
            "3601",
            "600000",
            "600001"
        ])
        .prop_map(str::to_owned),
    ];
    check(
        (prop::sample::select(NUMERIC_KEYS.to_vec()), number)
            .prop_map(|((section, key), n)| format!("[{section}]\n{key} = {n}\n")),
    );
    for (section, key) in NUMERIC_KEYS {
        let e = Config::parse(&format!("[{section}]\n{key} = 18446744073709551615\n")).unwrap_err();
        assert!(e.contains(&format!("[{section}] {key}")), "the error must name the key: {e}");
    }
}

#[test]
fn a_huge_nic_wait_is_a_clear_error_not_an_abort() {
    let tree = TempTree::new("config-hostile");
    minimal_image(&tree);
    tree.write("/etc/osconf/osconf.conf", "[network]\nnic_wait_seconds = 18446744073709551615\n", 0o644);
    tree.write(DROP, include_str!("../examples/classic.conf"), 0o644);
    let before = tree.snapshot();
    let (code, out, err) = osconf(&["plan", "--root", tree.path.to_str().unwrap()]);
    assert!(
        code == 1 && err.contains("[network] nic_wait_seconds") && err.contains("at most 3600"),
        "plan: exit {code}: {out}{err}"
    );
    // Live, in a private network and UTS namespace (only lo: the NICs are
    // waited for, where the deadline used to overflow and abort, exit 134).
    let out = std::process::Command::new("unshare")
        .args(["--net", "--uts", OSCONF, "apply", "--live", "--root", tree.path.to_str().unwrap()])
        .env_remove("OSCONF_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "apply --live: {err} (134 or a signal is an abort)");
    assert!(err.contains("[network] nic_wait_seconds") && err.contains("at most 3600"), "{err}");
    assert_eq!(tree.snapshot(), before, "apply changed files");
}
