//! Property tests of the os.conf parser and validator (issue 8), on arbitrary
//! bytes, on mutated valid drops and on extreme numbers (issue 13), plus a
//! replay of `tests/corpus/`:
//!
//! - nothing panics or hangs (a watchdog aborts the test binary after 120 s,
//!   and every input must be judged in well under a second);
//! - every error names a line inside the input (1..=line count), or line 0
//!   for the whole-file size error only; a validation error also names a key;
//!   its message is one line without control characters (no log forging)
//!   and never shows the password;
//! - everything accepted holds only valid values (checked here independently
//!   of the validator) and round-trips: written back as os.conf and read
//!   again, it gives the same settings.
//!
//! Cases per property: 2000 (`PROPTEST_CASES=N` for a longer local run). A
//! failing input proptest finds belongs in `tests/corpus/` (see its README).

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Once;
use std::time::Duration;

use base64::Engine;
use osconf::settings::{Password, PasswordForm, Settings, SettingsError};
use osconf::sources::osconf_format::{self, parse, MAX_DROP_BYTES};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

const FORMS: [PasswordForm; 2] = [PasswordForm::Base64Plain, PasswordForm::CryptHash];

/// A drop of the cloud whose password form `form` is (Alibaba's Base64,
/// Tencent's crypt hash), parsed as that cloud's source parses it.
fn from_drop(bytes: &[u8], form: PasswordForm) -> Result<Settings, SettingsError> {
    let dialect = match form {
        PasswordForm::Base64Plain => osconf_format::ALIBABA,
        PasswordForm::CryptHash => osconf_format::TENCENT,
    };
    osconf_format::from_drop(bytes, dialect)
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

fn runner() -> TestRunner {
    watchdog();
    TestRunner::new(Config { cases: cases(), failure_persistence: None, ..Config::default() })
}

/// A hang must fail the run, not block CI until its time limit.
fn watchdog() {
    static START: Once = Once::new();
    START.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(120));
            eprintln!("proptest_parser: still running after 120 s: a parser hang? aborting");
            std::process::abort();
        });
    });
}

/// Lines as the parser counts them: pieces between `\n`.
fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

/// The raw value on line `line` (1-based) when it assigns `password`.
fn password_on_line(bytes: &[u8], line: usize) -> Option<String> {
    let raw = bytes.split(|&b| b == b'\n').nth(line.checked_sub(1)?)?;
    let text = String::from_utf8_lossy(raw);
    let rest = text.trim_start_matches([' ', '\t']).strip_prefix("password")?;
    let value = rest.trim_start_matches([' ', '\t']).strip_prefix('=')?;
    Some(value.trim_matches(|c: char| c == ' ' || c == '\t' || c == '\r' || c == '"' || c == '\'').to_owned())
}

/// An error message is one line of plain text, and on a password line it
/// shows no piece of the value.
fn check_message(shown: &str, bytes: &[u8], line: usize) -> Result<(), String> {
    if shown.chars().any(char::is_control) {
        return Err(format!("error message has a control character: {shown:?}"));
    }
    if let Some(secret) = password_on_line(bytes, line) {
        for piece in secret.split([' ', '\t', '#']).filter(|p| p.len() >= 6) {
            if shown.contains(piece) {
                return Err(format!("error message shows part of the password {piece:?}: {shown:?}"));
            }
        }
    }
    Ok(())
}

/// The properties, for one input. `Err` describes the violation.
fn judge(bytes: &[u8]) -> Result<Vec<Settings>, String> {
    let lines = line_count(bytes);
    let parsed = std::panic::catch_unwind(|| parse(bytes)).map_err(|_| "parse panicked".to_string())?;
    match &parsed {
        Err(e) if bytes.len() > MAX_DROP_BYTES => {
            if e.line != 0 || e.key.is_some() {
                return Err(format!("size error should be whole-file (line 0, no key): {e:?}"));
            }
        }
        Err(e) => {
            if e.line == 0 || e.line > lines {
                return Err(format!("parse error line {} outside 1..={lines}: {e:?}", e.line));
            }
            check_message(&e.to_string(), bytes, e.line)?;
        }
        Ok(entries) => {
            for entry in entries {
                if entry.line == 0 || entry.line > lines {
                    return Err(format!("entry line {} outside 1..={lines}: {entry:?}", entry.line));
                }
            }
            let keys: BTreeSet<&str> = entries.iter().map(|e| e.key.as_str()).collect();
            if keys.len() != entries.len() {
                return Err("duplicate keys accepted".into());
            }
        }
    }
    let mut accepted = Vec::new();
    for form in FORMS {
        let result =
            std::panic::catch_unwind(|| from_drop(bytes, form)).map_err(|_| format!("from_drop({form:?}) panicked"))?;
        match result {
            Err(e) => check_settings_error(&e, bytes, lines, parsed.is_err())?,
            Ok(settings) => {
                if parsed.is_err() {
                    return Err("parse failed but from_drop accepted".into());
                }
                check_valid(&settings)?;
                check_round_trip(&settings, form)?;
                accepted.push(settings);
            }
        }
    }
    Ok(accepted)
}

fn check_settings_error(e: &SettingsError, bytes: &[u8], lines: usize, parse_failed: bool) -> Result<(), String> {
    match e.line {
        Some(0) if bytes.len() > MAX_DROP_BYTES => {}
        Some(n) if (1..=lines).contains(&n) => {}
        other => return Err(format!("settings error line {other:?} outside 1..={lines}: {e:?}")),
    }
    // A line-level syntax error may have no key (`rm -rf /`); a validation error always has one.
    if e.key.is_empty() && !parse_failed {
        return Err(format!("validation error without a key: {e:?}"));
    }
    check_message(&e.to_string(), bytes, e.line.unwrap_or(0))
}

/// Every accepted value is one the platform could mean, checked here without
/// the validator's own helpers.
/// Whether a host name's last label is a number to some parser: Rust's
/// float parser (`123`, `1e10`, `2E-3`), or digits after a `0x`/`0o`/`0b`.
fn reads_as_a_number(name: &str) -> bool {
    let top = name.rsplit('.').next().unwrap_or_default().replace('_', "-").to_ascii_lowercase();
    let radix = |prefix: &str, radix: u32| {
        top.strip_prefix(prefix).is_some_and(|d| !d.is_empty() && d.chars().all(|c| c.is_digit(radix)))
    };
    (top.starts_with(|c: char| c.is_ascii_digit()) && top.parse::<f64>().is_ok())
        || radix("0x", 16)
        || radix("0o", 8)
        || radix("0b", 2)
}

fn check_valid(s: &Settings) -> Result<(), String> {
    let bad = |what: String| Err(format!("accepted an invalid value: {what} in {s:?}"));
    if let Some(name) = &s.hostname {
        let label_ok = |l: &str| {
            (1..=63).contains(&l.len())
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if name.is_empty() || name.len() > 64 || !name.split('.').all(label_ok) {
            return bad(format!("host name {name:?}"));
        }
        let lower = name.to_ascii_lowercase();
        let (first, last) = (lower.split('.').next().unwrap_or_default(), lower.rsplit('.').next().unwrap_or_default());
        let loopback = ["localhost", "localhost4", "localhost6", "ip6-localhost", "ip6-loopback"].contains(&first);
        if reads_as_a_number(name) || loopback || last == "localhost" {
            return bad(format!("host name {name:?} (RFC 1123 2.1: a number or the loopback host)"));
        }
    }
    match &s.password {
        Some(Password::Plain(p)) if p.is_empty() || p.chars().any(char::is_control) => {
            return bad("plain password".into())
        }
        // A ':' or a newline in the hash would corrupt /etc/shadow.
        Some(Password::Hash(h)) if !h.starts_with('$') || h.contains([':', '\n', '\r', ' ']) => {
            return bad(format!("hash {h:?}"))
        }
        _ => {}
    }
    let host = |a: Ipv4Addr| !(a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback());
    let mask = |p: u8| if p == 0 { 0 } else { u32::MAX << (32 - u32::from(p)) };
    let net = |a: Ipv4Addr, p: u8| u32::from(a) & mask(p);
    if let Some(a) = s.nameservers.iter().find(|a| !matches!(a, IpAddr::V4(v4) if host(*v4))) {
        return bad(format!("name server {a}"));
    }
    let mut defaults = 0;
    for (i, nic) in s.nics.iter().enumerate() {
        if i > 0 && s.nics[i - 1].index >= nic.index {
            return bad("NICs not in strictly increasing index order".into());
        }
        if nic.mac.0 == [0; 6] || nic.mac.0[0] & 1 == 1 {
            return bad(format!("MAC {}", nic.mac));
        }
        // An os.conf NIC always has a static address.
        let Some(address) = nic.address.filter(|a| host(*a) && (1..=32).contains(&nic.prefix)) else {
            return bad(format!("address {}", nic.ipv4_text()));
        };
        let on_link = |via: Ipv4Addr| host(via) && via != address && net(via, nic.prefix) == net(address, nic.prefix);
        if let Some(gw) = nic.gateway.filter(|gw| !on_link(*gw)) {
            return bad(format!("gateway {gw}"));
        }
        let mut seen = BTreeSet::new();
        for r in &nic.routes {
            if r.prefix > 32
                || net(r.dest, r.prefix) != u32::from(r.dest)
                || !on_link(r.via)
                || !seen.insert((r.dest, r.prefix))
            {
                return bad(format!("route {r}"));
            }
            defaults += usize::from(r.is_default());
        }
        for other in &s.nics[i + 1..] {
            if other.mac == nic.mac || other.address == nic.address {
                return bad(format!("eth{} and eth{} share a MAC or address", nic.index, other.index));
            }
        }
    }
    if defaults > 1 {
        return bad("more than one default route".into());
    }
    Ok(())
}

/// Writes settings back in the platform's format.
fn to_drop(s: &Settings, form: PasswordForm) -> String {
    let mut out = String::new();
    if let Some(name) = &s.hostname {
        out += &format!("hostname={name}\n");
    }
    match (&s.password, form) {
        (Some(Password::Plain(p)), PasswordForm::Base64Plain) => {
            out +=
                &format!("password={}\n", base64::engine::general_purpose::STANDARD.encode(format!("{}\n", p.as_str())))
        }
        (Some(Password::Hash(h)), PasswordForm::CryptHash) => out += &format!("password={h}\n"),
        (None, _) => {}
        (Some(_), _) => panic!("a password of the other form"),
    }
    if !s.nameservers.is_empty() {
        let list: Vec<String> = s.nameservers.iter().map(IpAddr::to_string).collect();
        out += &format!("dns_nameserver=\"{}\"\n", list.join(" "));
    }
    for nic in &s.nics {
        let n = nic.index;
        out += &format!(
            "eth{n}_ip_addr={}\neth{n}_mac_addr={}\neth{n}_netmask={}\n",
            nic.address.expect("an os.conf NIC"),
            nic.mac,
            nic.netmask()
        );
        if let Some(gw) = nic.gateway {
            out += &format!("eth{n}_gateway={gw}\n");
        }
        if !nic.routes.is_empty() {
            let routes: Vec<String> = nic.routes.iter().map(|r| format!("{}/{} {}", r.dest, r.prefix, r.via)).collect();
            out += &format!("eth{n}_route=\"{}\"\n", routes.join(";"));
        }
    }
    out
}

fn check_round_trip(s: &Settings, form: PasswordForm) -> Result<(), String> {
    let text = to_drop(s, form);
    match from_drop(text.as_bytes(), form) {
        Ok(again) if &again == s => Ok(()),
        Ok(again) => Err(format!("round trip changed the settings:\n{s:?}\n{text}\n{again:?}")),
        Err(e) => Err(format!("round trip rejected its own output: {e}\n{text}")),
    }
}

// ---------------------------------------------------------------- inputs

fn examples() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut drops: Vec<Vec<u8>> = ["examples/classic.conf", "examples/vpc.conf", "examples/tencent.conf"]
        .iter()
        .map(|p| std::fs::read(dir.join(p)).unwrap())
        .collect();
    drops.extend(corpus().into_iter().filter(|(name, _)| name.starts_with("ok-")).map(|(_, bytes)| bytes));
    drops
}

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "conf"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

const KEYS: &[&str] = &[
    "hostname",
    "password",
    "dns_nameserver",
    "eth0_ip_addr",
    "eth0_mac_addr",
    "eth0_netmask",
    "eth0_gateway",
    "eth0_route",
    "eth1_ip_addr",
    "eth1_mac_addr",
    "eth1_netmask",
    "eth1_gateway",
    "eth1_route",
    "eth2_ip_addr",
    "eth2_mac_addr",
    "eth2_netmask",
    "eth10_route",
    "eth01_ip_addr",
    "eth0_foo",
    "eth",
    "eth_ip_addr",
    "Hostname",
    "a-b",
    "",
    "x y",
    "PATH",
];

const VALUES: &[&str] = &[
    "",
    " ",
    "0",
    "10.0.0.1",
    "10.0.0.2",
    "10.171.254.1",
    "10.171.254.124",
    "42.120.74.1",
    "172.16.15.1",
    "0.0.0.0",
    "255.255.255.255",
    "255.255.255.0",
    "255.255.0.0",
    "255.0.0.0",
    "255.255.0.255",
    "255.255.255.254",
    "128.0.0.0",
    "127.0.0.1",
    "224.0.0.1",
    "1.2.3.4.5",
    "010.0.0.1",
    "0x0a.0.0.1",
    "10.0.0.0/8 10.171.254.1",
    "0.0.0.0/0 10.171.254.1",
    "0.0.0.0/0 42.120.74.1",
    "\"10.0.0.0/8 10.171.254.1;0.0.0.0/0 10.171.254.1\"",
    "10.0.0.0/33 10.0.0.1",
    "10.0.0.1/8 10.0.0.1",
    "10.0.0.0/-1 10.0.0.1",
    "10.0.0.0/+8 10.0.0.1",
    "10.0.0.0/8",
    ";;",
    "00:8c:fa:5e:14:23",
    "00:8c:fa:5e:14:24",
    "52:54:00:E1:96:EB",
    "01:00:5e:00:00:01",
    "00:00:00:00:00:00",
    "00:8C:FA:5E:14:2",
    "cXdIcjEyMzQK",
    "/w==",
    "AA==",
    "CgoK",
    "cXdI cjEy",
    "$6$salt$hash",
    "$6$rounds=5000$s$h",
    "$6$s$h:0:0",
    "$(touch /tmp/pwned)",
    "`id`",
    ";reboot",
    "a|b",
    "a&b",
    "a>b",
    "\"a b\"",
    "'x'",
    "\"quoted",
    "\\",
    "é",
    "ﬀ",
    "iZ23r29djmjZ",
    "VM_10_20_xxxx",
    "../../etc/passwd",
    "-bad",
    "a..b",
    "a.b.c",
    "#",
    "a#b",
    "x # c",
    "\"7.7.7.7 8.8.8.8\"",
    "\"7.7.7.7  8.8.8.8\"",
    "\u{7f}",
    "\u{1b}[31m",
    "\u{2028}",
];

/// One mutation of a drop, by position (indexes wrap around the input).
#[derive(Debug, Clone)]
enum Mutation {
    SetValue(Index, String),
    SetKey(Index, String),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    InsertLine(Index, String),
    InsertByte(Index, u8),
    DeleteByte(Index),
    XorByte(Index, u8),
    Crlf,
    Append(Index, String),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(VALUES).prop_map(str::to_owned),
        1 => "[ -~]{0,12}",
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
        1 => (prop::sample::select(VALUES), 1usize..3000).prop_map(|(v, n)| v.repeat(n)),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let byte = prop_oneof![prop::sample::select(b"=\"'#\\ \t\r\n\0;/:.$`x09".to_vec()), any::<u8>()];
    prop_oneof![
        6 => (any::<Index>(), text()).prop_map(|(i, v)| Mutation::SetValue(i, v)),
        2 => (any::<Index>(), prop::sample::select(KEYS)).prop_map(|(i, k)| Mutation::SetKey(i, k.to_owned())),
        2 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => any::<Index>().prop_map(Mutation::DuplicateLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        2 => (any::<Index>(), prop::sample::select(KEYS), text()).prop_map(|(i, k, v)| Mutation::InsertLine(i, format!("{k}={v}"))),
        2 => (any::<Index>(), byte.clone()).prop_map(|(i, b)| Mutation::InsertByte(i, b)),
        1 => any::<Index>().prop_map(Mutation::DeleteByte),
        1 => (any::<Index>(), 1u8..).prop_map(|(i, b)| Mutation::XorByte(i, b)),
        1 => Just(Mutation::Crlf),
        1 => (any::<Index>(), prop::sample::select(vec![" # comment", " ", "\t", "\r", " x", "\"", "=", "=1"]))
            .prop_map(|(i, s)| Mutation::Append(i, s.to_owned())),
    ]
}

fn mutate(base: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for m in mutations {
        let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        let n = lines.len();
        match m {
            Mutation::SetValue(i, v) | Mutation::SetKey(i, v) => {
                let line = &mut lines[i.index(n)];
                let eq = line.iter().position(|&b| b == b'=');
                let (key, value) = match eq {
                    Some(p) => (line[..p].to_vec(), line[p + 1..].to_vec()),
                    None => (line.clone(), Vec::new()),
                };
                *line = match m {
                    Mutation::SetValue(..) => [&key[..], b"=", v.as_bytes()].concat(),
                    _ => [v.as_bytes(), b"=", &value[..]].concat(),
                };
            }
            Mutation::DeleteLine(i) => drop(lines.remove(i.index(n))),
            Mutation::DuplicateLine(i) => {
                let line = lines[i.index(n)].clone();
                lines.insert(i.index(n), line);
            }
            Mutation::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
            Mutation::InsertLine(i, text) => lines.insert(i.index(n + 1), text.as_bytes().to_vec()),
            Mutation::Append(i, text) => lines[i.index(n)].extend_from_slice(text.as_bytes()),
            Mutation::Crlf => lines.iter_mut().for_each(|l| l.push(b'\r')),
            Mutation::InsertByte(..) | Mutation::DeleteByte(_) | Mutation::XorByte(..) => {}
        }
        bytes = lines.join(&b'\n');
        match m {
            Mutation::InsertByte(i, b) => bytes.insert(i.index(bytes.len() + 1), *b),
            Mutation::DeleteByte(i) if !bytes.is_empty() => drop(bytes.remove(i.index(bytes.len()))),
            Mutation::XorByte(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] ^= b;
            }
            _ => {}
        }
    }
    bytes
}

fn run(runner: &mut TestRunner, strategy: impl Strategy<Value = Vec<u8>>) -> (u32, u32) {
    let (accepted, total) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let result = runner.run(&strategy, |bytes| {
        total.set(total.get() + 1);
        match judge(&bytes) {
            Ok(settings) => {
                accepted.set(accepted.get() + u32::from(!settings.is_empty()));
                Ok(())
            }
            Err(problem) => {
                Err(TestCaseError::fail(format!("{problem}\ninput: {:?}", String::from_utf8_lossy(&bytes))))
            }
        }
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    (accepted.get(), total.get())
}

// ---------------------------------------------------------------- tests

#[test]
fn arbitrary_bytes() {
    let bytes = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        // Mostly printable, with the bytes the syntax cares about.
        prop::collection::vec(prop::sample::select(b"ab_01=\"' #\t\r\n.:/;$`\\\0\xff\xc3\xa9".to_vec()), 0..256),
    ];
    let (accepted, total) = run(&mut runner(), bytes);
    eprintln!("arbitrary bytes: {accepted} of {total} accepted");
}

/// Numbers the platform never sends, in every numeric position of a drop
/// (NIC index, address octets, netmask octets, route prefix): beyond u8,
/// u32, u64, signed, with leading zeros or other bases (issue 13, point 7).
#[test]
fn extreme_numbers_in_every_numeric_position() {
    const EXTREMES: [&str; 16] = [
        "0",
        "1",
        "32",
        "33",
        "255",
        "256",
        "65536",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "340282366920938463463374607431768211456",
        "-1",
        "+1",
        "007",
        "0x20",
    ];
    let slot = || prop_oneof![Just(None), prop::sample::select(EXTREMES.to_vec()).prop_map(Some)];
    let strategy = prop::collection::vec(slot(), 7).prop_map(|slots| {
        let pick = |i: usize, normal: &'static str| slots[i].unwrap_or(normal);
        let n = pick(0, "0");
        format!(
            "eth{n}_ip_addr=10.{}.0.5\neth{n}_mac_addr=52:54:00:00:00:01\neth{n}_netmask=255.{}.{}.0\neth{n}_gateway=10.0.0.{}\neth{n}_route=\"10.{}.0.0/{} 10.0.0.1\"\ndns_nameserver=\"{}.8.8.8\"\n",
            pick(1, "0"), pick(2, "255"), pick(3, "255"), pick(4, "1"), pick(5, "1"), pick(6, "16"), pick(1, "8")
        )
        .into_bytes()
    });
    let (accepted, total) = run(&mut runner(), strategy);
    eprintln!("extreme numbers: {accepted} of {total} accepted");
    assert!(accepted > 0, "the unchanged template must be accepted: the slots are not exercised otherwise");
}

#[test]
fn mutated_valid_drops() {
    let bases = examples();
    let strategy = (prop::sample::select(bases), prop::collection::vec(mutation(), 1..4))
        .prop_map(|(base, ms)| mutate(&base, &ms));
    let (accepted, total) = run(&mut runner(), strategy);
    eprintln!("mutated drops: {accepted} of {total} accepted");
    // Some mutations (comments, CRLF, a changed but valid value) keep a drop
    // valid: the round trip must have been exercised, not only the errors.
    assert!(
        accepted * 20 > total,
        "only {accepted} of {total} mutated drops were accepted: the mutations are too destructive"
    );
}

/// Drops generated valid by construction: any number of NICs, random
/// addresses, prefixes, on-link gateways and routes. All must be accepted
/// exactly as generated.
#[test]
fn generated_valid_drops_are_accepted_as_written() {
    let nic = (1u8..=30, any::<u32>(), any::<[u8; 5]>(), 0usize..4, any::<bool>(), any::<bool>());
    let strategy = (
        "[a-zA-Z0-9]([a-zA-Z0-9_-]{0,20}[a-zA-Z0-9])?(\\.[a-z0-9]{1,10}){0,2}",
        "[ -~]{1,40}",
        prop::collection::vec(any::<[u8; 4]>(), 0..4),
        prop::collection::vec(nic, 0..5),
    );
    // A last label that reads as a number (`a.123`, `1e5`) is refused (RFC 1123 2.1): made a name.
    let strategy = strategy.prop_map(|(hostname, password, dns, nics)| {
        let hostname = if reads_as_a_number(&hostname) { hostname + "x" } else { hostname };
        (hostname, password, dns, nics)
    });
    let mut runner = runner();
    let result = runner.run(&strategy, |(hostname, password, dns, nics)| {
        // '_' is written as '-' (systemd drops '_' from a host name at boot).
        let mut s = Settings {
            hostname: Some(hostname.replace('_', "-")),
            password: Some(Password::Plain(password.into())),
            ..Settings::default()
        };
        s.nameservers = dns
            .iter()
            .map(|o| Ipv4Addr::from(*o))
            .map(|a| {
                if a.is_unspecified() || a.is_broadcast() || a.is_multicast() || a.is_loopback() {
                    Ipv4Addr::new(192, 0, 2, 53)
                } else {
                    a
                }
            })
            .map(IpAddr::V4)
            .collect();
        for (n, (prefix, seed, mac_tail, routes, gateway, default)) in nics.into_iter().enumerate() {
            // Each NIC in its own 10.n.0.0/16-or-smaller block: distinct addresses.
            let prefix = prefix.clamp(16, 30);
            let base = u32::from(Ipv4Addr::new(10, n as u8, 0, 0));
            let size = 1u32 << (32 - u32::from(prefix));
            let host = |k: u32| Ipv4Addr::from(base + 1 + k % (size - 2));
            let address = host(seed);
            let mut gw = host(seed / 7 + 1);
            if gw == address {
                gw = host(seed + 1);
            }
            let mut mac = [0x52, mac_tail[0], mac_tail[1], mac_tail[2], mac_tail[3], n as u8];
            mac[0] &= 0xfe;
            let mut nic = osconf::settings::Nic::new(n as u32, osconf::settings::Mac(mac), address, prefix);
            nic.gateway = gateway.then_some(gw);
            for r in 0..routes {
                nic.routes.push(osconf::settings::Route {
                    dest: Ipv4Addr::new(172, 16 + r as u8, n as u8, 0),
                    prefix: 24,
                    via: gw,
                });
            }
            if default && n == 0 {
                nic.routes.push(osconf::settings::Route::default_via(gw));
            }
            s.nics.push(nic);
        }
        let text = to_drop(&s, PasswordForm::Base64Plain);
        let got = from_drop(text.as_bytes(), PasswordForm::Base64Plain)
            .map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        // The validator adds the default route from the carrier's gateway when
        // none is explicit, and makes '_' in the host name '-' (systemd drops '_').
        let mut want = s.clone();
        want.hostname = want.hostname.map(|h| h.replace('_', "-"));
        if want.nics.iter().all(|n| n.default_route().is_none()) {
            let carrier = if want.nics.iter().any(|n| n.index == 1) { 1 } else { 0 };
            if let Some(nic) = want.nics.iter_mut().find(|n| n.index == carrier) {
                if let Some(gw) = nic.gateway {
                    nic.routes.insert(0, osconf::settings::Route::default_via(gw));
                }
            }
        }
        prop_assert_eq!(&got, &want, "{}", text);
        judge(text.as_bytes()).map_err(TestCaseError::fail)?;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Boundaries the random inputs are unlikely to hit.
#[test]
fn size_limit_boundaries() {
    for len in [MAX_DROP_BYTES - 1, MAX_DROP_BYTES, MAX_DROP_BYTES + 1, 4 * MAX_DROP_BYTES] {
        for filler in [b'\n', b'#', b'a'] {
            let bytes = vec![filler; len];
            judge(&bytes).unwrap_or_else(|p| panic!("{len} x {:?}: {p}", filler as char));
        }
    }
    // The most entries a drop can hold, all distinct: accepted (a hang is
    // caught by the watchdog; speed is for bench/, not for tests).
    let mut many = String::new();
    for i in 0.. {
        let line = format!("k{i:x}=\n");
        if many.len() + line.len() > MAX_DROP_BYTES {
            break;
        }
        many += &line;
    }
    assert!(parse(many.as_bytes()).is_ok());
}

/// Every file in tests/corpus/ is judged like a random input; `ok-*` files
/// must be accepted, `bad-*` rejected (with the password form `tencent` in the
/// name selects), and a first line `# expect: line N KEY` pins the error.
#[test]
fn corpus_replays() {
    let files = corpus();
    assert!(files.len() >= 20, "the corpus is missing: {}", files.len());
    let mut problems = Vec::new();
    for (name, bytes) in &files {
        if let Err(p) = judge(bytes) {
            problems.push(format!("{name}: {p}"));
            continue;
        }
        let form = if name.contains("tencent") { PasswordForm::CryptHash } else { PasswordForm::Base64Plain };
        let result = from_drop(bytes, form);
        match (name.split('-').next(), &result) {
            (Some("ok"), Err(e)) => problems.push(format!("{name}: rejected: {e}")),
            (Some("bad"), Ok(_)) => problems.push(format!("{name}: accepted")),
            (Some("ok" | "bad"), _) => {}
            _ => problems.push(format!("{name}: name it ok-* or bad-*")),
        }
        let first = String::from_utf8_lossy(bytes.split(|&b| b == b'\n').next().unwrap_or_default()).into_owned();
        if let (Some(expect), Err(e)) = (first.strip_prefix("# expect: "), &result) {
            let shown = e.to_string();
            if !shown.starts_with(expect.trim_end()) {
                problems.push(format!("{name}: error {shown:?} does not start with {expect:?}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
