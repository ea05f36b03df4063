//! Property tests of the metadata client's response parser (issue 15): what
//! a server sends is untrusted, so on arbitrary bytes, on valid responses
//! with extreme numbers spliced in, and on valid responses cut at any point:
//!
//! - nothing panics or overflows (debug builds check arithmetic) or hangs;
//! - no accepted body is larger than `MAX_BODY`;
//! - a valid response, however it is framed (length, chunks of any sizes,
//!   until close) and wherever the bytes arriving so far stop, is either
//!   "read more" or exactly its body, never something else.
//!
//! Cases per property: 2000 (`PROPTEST_CASES=N` for a longer run).

use osconf::sources::http::{parse_response, Response, MAX_BODY};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000);
    TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() })
}

fn bounded(result: &Result<Option<Response>, String>) -> Result<(), TestCaseError> {
    if let Ok(Some(response)) = result {
        prop_assert!(response.body.len() <= MAX_BODY);
    }
    if let Err(message) = result {
        prop_assert!(!message.contains('\n'), "{message:?}");
    }
    Ok(())
}

#[test]
fn arbitrary_bytes_never_panic() {
    let bytes = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..600),
        // Mostly-HTTP: a status line and headers from a small alphabet.
        proptest::collection::vec(
            prop_oneof![Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(b'0'), Just(b'f'), any::<u8>()],
            0..300
        )
        .prop_map(|tail| [b"HTTP/1.1 200 OK\r\n".as_slice(), &tail].concat()),
    ];
    runner()
        .run(&(bytes, any::<bool>()), |(bytes, eof)| {
            bounded(&parse_response(&bytes, eof))?;
            Ok(())
        })
        .unwrap();
}

/// Numbers a hostile or broken server may put where sizes go.
fn extreme_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| format!("{n:x}")),
        Just("ffffffffffffffff".to_string()),
        Just("18446744073709551615".to_string()),
        Just("18446744073709551616".to_string()),
        Just("99999999999999999999999999".to_string()),
        Just(format!("{:x}", MAX_BODY)),
        Just(format!("{:x}", MAX_BODY + 1)),
        Just((MAX_BODY + 1).to_string()),
        Just("-1".to_string()),
        Just("+5".to_string()),
        Just(" 5".to_string()),
        Just("0x10".to_string()),
        Just(String::new()),
    ]
}

#[test]
fn extreme_sizes_are_errors_not_overflows() {
    let strategy = (extreme_number(), extreme_number(), proptest::collection::vec(any::<u8>(), 0..64), any::<bool>());
    runner()
        .run(&strategy, |(a, b, tail, eof)| {
            let length = [format!("HTTP/1.1 200 OK\r\nContent-Length: {a}\r\n\r\n").as_bytes(), &tail].concat();
            bounded(&parse_response(&length, eof))?;
            let chunked = [
                format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n{a}\r\n").as_bytes(),
                &tail,
                format!("\r\n{b}\r\n").as_bytes(),
            ]
            .concat();
            bounded(&parse_response(&chunked, eof))?;
            Ok(())
        })
        .unwrap();
}

#[derive(Debug, Clone)]
enum Framing {
    Length,
    Chunked(Vec<usize>),
    UntilClose,
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        Just(Framing::Length),
        proptest::collection::vec(1usize..40, 1..20).prop_map(Framing::Chunked),
        Just(Framing::UntilClose)
    ]
}

fn encode(body: &str, framing: &Framing, status: u16) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} Whatever\r\nServer: mock\r\n").into_bytes();
    match framing {
        Framing::Length => out.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).bytes()),
        Framing::UntilClose => out.extend(format!("Connection: close\r\n\r\n{body}").bytes()),
        Framing::Chunked(sizes) => {
            out.extend(b"Transfer-Encoding: chunked\r\n\r\n");
            let mut rest = body.as_bytes();
            let mut sizes = sizes.iter().cycle();
            while !rest.is_empty() {
                let n = (*sizes.next().unwrap()).min(rest.len());
                out.extend(format!("{n:x}\r\n").bytes());
                out.extend(&rest[..n]);
                out.extend(b"\r\n");
                rest = &rest[n..];
            }
            out.extend(b"0\r\n\r\n");
        }
    }
    out
}

#[test]
fn valid_responses_cut_anywhere_are_read_more_or_exactly_their_body() {
    let strategy = (
        "[ -~\n]{0,200}",
        framing(),
        prop_oneof![Just(200u16), Just(404), Just(500)],
        any::<proptest::sample::Index>(),
    );
    runner()
        .run(&strategy, |(body, framing, status, cut)| {
            let raw = encode(&body, &framing, status);
            let expected = Response { status, body: body.clone() };
            prop_assert_eq!(parse_response(&raw, true), Ok(Some(expected.clone())));
            let cut = cut.index(raw.len() + 1);
            match parse_response(&raw[..cut], false) {
                Ok(None) => {}
                Ok(Some(got)) => prop_assert_eq!(got, expected, "complete early at {} of {}", cut, raw.len()),
                Err(e) => prop_assert!(false, "a valid prefix ({} of {} bytes) is an error: {}", cut, raw.len(), e),
            }
            Ok(())
        })
        .unwrap();
}
