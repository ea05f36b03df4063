//! The formats of user data, as cloud-init reads them: gzip (magic `1f 8b`),
//! MIME multipart, `#!` scripts and `#cloud-config`. Total and bounded: any
//! bytes give a list of parts and warnings, never a panic; the data after
//! decompression is at most [`MAX_DECODED`] bytes, nesting (gzip in MIME in
//! gzip …) at most [`MAX_DEPTH`] levels, at most [`MAX_PARTS`] parts.
//!
//! MIME is parsed here by hand (headers, `boundary=`, base64 bodies): the
//! subset cloud-init's `write-mime-multipart` produces is small, and a mail
//! crate would bring far more than it (and its own limits to audit).

use std::io::Read as _;

use base64::Engine as _;
use zeroize::Zeroizing;

/// Largest user data after every decompression and decoding.
pub const MAX_DECODED: usize = 16 << 20;
/// Deepest nesting of gzip and multipart containers.
pub const MAX_DEPTH: usize = 4;
/// Most parts (scripts and cloud-configs) taken from one user data.
pub const MAX_PARTS: usize = 64;

/// One piece of user data osconf acts on.
#[derive(Clone, PartialEq, Eq)]
pub enum Part {
    /// A `#!` script, run as it is; `name` is for logs (a MIME filename or `part-N`).
    Script { name: String, body: Zeroizing<Vec<u8>> },
    /// A `#cloud-config` document (YAML text).
    CloudConfig(Zeroizing<String>),
}

impl std::fmt::Debug for Part {
    // Never the content: user data holds passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Script { name, body } => write!(f, "Script({name}, {} bytes)", body.len()),
            Part::CloudConfig(text) => write!(f, "CloudConfig({} bytes)", text.len()),
        }
    }
}

/// What the user data holds.
#[derive(Debug, Default)]
pub struct Parsed {
    pub parts: Vec<Part>,
    /// What was left out, each naming its kind (never its content).
    pub warnings: Vec<String>,
    /// The part cap was reached (warned once).
    capped: bool,
}

/// The parts of `data`, in order.
pub fn parse(data: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut budget = MAX_DECODED;
    classify(data, 0, &mut budget, &mut parsed, "user data");
    parsed
}

fn push(parsed: &mut Parsed, part: Part) {
    if parsed.parts.len() < MAX_PARTS {
        parsed.parts.push(part);
    } else if !parsed.capped {
        parsed.capped = true;
        parsed.warnings.push(format!("more than {MAX_PARTS} parts: the rest is left out"));
    }
}

/// Sorts one blob by its first bytes, as cloud-init does.
fn classify(data: &[u8], depth: usize, budget: &mut usize, parsed: &mut Parsed, what: &str) {
    if depth > MAX_DEPTH {
        parsed.warnings.push(format!("{what}: nested deeper than {MAX_DEPTH} levels, left out"));
        return;
    }
    if data.len() > *budget {
        parsed.warnings.push(format!("{what}: more than {MAX_DECODED} bytes in all, left out"));
        return;
    }
    *budget -= data.len();
    if data.starts_with(&[0x1f, 0x8b]) {
        match gunzip(data, *budget) {
            Ok(inner) => classify(&inner, depth + 1, budget, parsed, what),
            Err(why) => parsed.warnings.push(format!("{what}: gzip data not read: {why}")),
        }
        return;
    }
    let text_start = skip_blank(data);
    if data[text_start..].starts_with(b"#!") {
        let name = if what == "user data" { "user-data".to_owned() } else { what.to_owned() };
        // From the `#!`: the kernel reads it only as the file's first bytes.
        push(parsed, Part::Script { name, body: Zeroizing::new(data[text_start..].to_vec()) });
    } else if first_line(&data[text_start..]).trim_ascii_end() == b"#cloud-config" {
        match std::str::from_utf8(data) {
            Ok(text) => push(parsed, Part::CloudConfig(Zeroizing::new(text.to_owned()))),
            Err(_) => parsed.warnings.push(format!("{what}: #cloud-config that is not UTF-8 text, left out")),
        }
    } else if is_mime(&data[text_start..]) {
        multipart(&data[text_start..], depth + 1, budget, parsed, what);
    } else if data[text_start..].is_empty() {
        // Empty user data: nothing to do, nothing to warn about.
    } else {
        parsed.warnings.push(format!("{what}: {}: not run (osconf runs #! scripts and #cloud-config)", kind_of(data)));
    }
}

/// Index of the first byte that is not whitespace.
fn skip_blank(data: &[u8]) -> usize {
    data.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(data.len())
}

fn first_line(data: &[u8]) -> &[u8] {
    data.split(|&b| b == b'\n').next().unwrap_or_default()
}

/// A name for data osconf does not run: cloud-init's `#include`,
/// `#cloud-boothook` …, or "unrecognised data": never its content.
fn kind_of(data: &[u8]) -> String {
    let line = first_line(&data[skip_blank(data)..]);
    const KNOWN: [&str; 8] = [
        "#include-once",
        "#include",
        "#cloud-boothook",
        "#part-handler",
        "#upstart-job",
        "#cloud-config-archive",
        "#cloud-config-jsonp",
        "## template: jinja",
    ];
    KNOWN
        .iter()
        .find(|known| line.starts_with(known.as_bytes()))
        .map(|known| format!("{known} data"))
        .unwrap_or_else(|| format!("unrecognised data ({} bytes)", data.len()))
}

/// Decompresses gzip (every member), refusing more than `limit` bytes out.
fn gunzip(data: &[u8], limit: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut out = Zeroizing::new(Vec::new());
    let decoder = flate2::read::MultiGzDecoder::new(data);
    decoder.take(limit as u64 + 1).read_to_end(&mut out).map_err(|e| e.to_string())?;
    if out.len() > limit {
        return Err(format!("more than {MAX_DECODED} bytes decompressed"));
    }
    Ok(out)
}

/// A MIME message: starts with a header line cloud-init's tools write.
fn is_mime(data: &[u8]) -> bool {
    let line = first_line(data).to_ascii_lowercase();
    line.starts_with(b"content-type:") || line.starts_with(b"mime-version:")
}

/// A message's headers (names lower-cased, continuation lines joined) and
/// where its body starts.
fn headers(data: &[u8]) -> (Vec<(String, String)>, usize) {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut at = 0;
    while at < data.len() {
        let end = data[at..].iter().position(|&b| b == b'\n').map_or(data.len(), |i| at + i + 1);
        let line = String::from_utf8_lossy(&data[at..end]);
        let line = line.trim_end_matches(['\r', '\n']);
        at = end;
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    (headers, at)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// A header's parameter (`boundary="x"`, `filename=y`).
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|item| {
        let (key, value) = item.split_once('=')?;
        (key.trim().eq_ignore_ascii_case(name)).then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// The content type, lower-cased, without parameters.
fn media_type(value: &str) -> String {
    value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn multipart(data: &[u8], depth: usize, budget: &mut usize, parsed: &mut Parsed, what: &str) {
    if depth > MAX_DEPTH {
        parsed.warnings.push(format!("{what}: nested deeper than {MAX_DEPTH} levels, left out"));
        return;
    }
    let (top, body_at) = headers(data);
    let content_type = header(&top, "content-type").unwrap_or("text/plain");
    if !media_type(content_type).starts_with("multipart/") {
        // A single-part message: its body, decoded, is the data.
        single(&top, &data[body_at..], depth, budget, parsed, what);
        return;
    }
    let Some(boundary) = parameter(content_type, "boundary").filter(|b| !b.is_empty()) else {
        parsed.warnings.push(format!("{what}: a multipart message without a boundary, left out"));
        return;
    };
    let delimiter = format!("--{boundary}");
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut current: Option<usize> = None;
    let mut at = body_at;
    while at < data.len() {
        let end = data[at..].iter().position(|&b| b == b'\n').map_or(data.len(), |i| at + i + 1);
        let line = data[at..end].trim_ascii_end();
        if let Some(rest) = line.strip_prefix(delimiter.as_bytes()) {
            if let Some(start) = current {
                parts.push(strip_final_newline(&data[start..at]));
            }
            if rest.starts_with(b"--") {
                current = None;
                break;
            }
            current = Some(end);
        }
        at = end;
    }
    if let Some(start) = current {
        parts.push(&data[start..]);
    }
    for (index, part) in parts.into_iter().enumerate() {
        let (part_headers, body_at) = headers(part);
        let name = header(&part_headers, "content-disposition")
            .and_then(|d| parameter(d, "filename"))
            .map(|name| printable(&name))
            .unwrap_or_else(|| format!("part-{}", index + 1));
        single(&part_headers, &part[body_at..], depth, budget, parsed, &name);
    }
}

fn strip_final_newline(part: &[u8]) -> &[u8] {
    let part = part.strip_suffix(b"\n").unwrap_or(part);
    part.strip_suffix(b"\r").unwrap_or(part)
}

/// A name shown in logs: printable ASCII only, at most 64 characters.
fn printable(name: &str) -> String {
    name.chars().filter(|c| c.is_ascii_graphic()).take(64).collect()
}

/// One part (or a single-part message): decoded, then taken by its type.
fn single(
    headers: &[(String, String)],
    body: &[u8],
    depth: usize,
    budget: &mut usize,
    parsed: &mut Parsed,
    what: &str,
) {
    let encoding = header(headers, "content-transfer-encoding").unwrap_or("7bit").trim().to_ascii_lowercase();
    let decoded: Zeroizing<Vec<u8>> = match encoding.as_str() {
        "base64" => {
            let clean: Zeroizing<Vec<u8>> =
                Zeroizing::new(body.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect());
            match base64::engine::general_purpose::STANDARD.decode(&*clean) {
                Ok(bytes) => Zeroizing::new(bytes),
                Err(_) => {
                    parsed.warnings.push(format!("{what}: base64 body that does not decode, left out"));
                    return;
                }
            }
        }
        "7bit" | "8bit" | "binary" => Zeroizing::new(body.to_vec()),
        other => {
            parsed
                .warnings
                .push(format!("{what}: Content-Transfer-Encoding {} not supported, left out", printable(other)));
            return;
        }
    };
    let content_type = media_type(header(headers, "content-type").unwrap_or("text/plain"));
    match content_type.as_str() {
        "text/x-shellscript" => {
            if decoded.starts_with(b"#!") {
                push(parsed, Part::Script { name: what.to_owned(), body: decoded });
            } else {
                parsed.warnings.push(format!("{what}: text/x-shellscript without #!, not run"));
            }
        }
        "text/cloud-config" => match std::str::from_utf8(&decoded) {
            Ok(text) => push(parsed, Part::CloudConfig(Zeroizing::new(text.to_owned()))),
            Err(_) => parsed.warnings.push(format!("{what}: text/cloud-config that is not UTF-8 text, left out")),
        },
        // cloud-init sorts these by their content.
        "text/plain"
        | "text/x-not-multipart"
        | "application/octet-stream"
        | "application/gzip"
        | "application/x-gzip" => classify(&decoded, depth, budget, parsed, what),
        multi if multi.starts_with("multipart/") => {
            let mut nested = Vec::with_capacity(decoded.len() + 128);
            for (name, value) in headers {
                if name == "content-type" {
                    nested.extend_from_slice(format!("Content-Type: {value}\n\n").as_bytes());
                }
            }
            nested.extend_from_slice(&decoded);
            let nested = Zeroizing::new(nested);
            multipart(&nested, depth + 1, budget, parsed, what);
        }
        other => parsed.warnings.push(format!("{what}: {}: not run", printable(other))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write as _;

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn script(parts: &[Part], index: usize) -> (&str, &[u8]) {
        match &parts[index] {
            Part::Script { name, body } => (name, body),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_script_is_one_part() {
        let parsed = parse(b"#!/bin/sh\necho hi\n");
        assert_eq!(script(&parsed.parts, 0), ("user-data", &b"#!/bin/sh\necho hi\n"[..]));
        assert!(parsed.warnings.is_empty());
    }

    #[test]
    fn gzip_is_opened() {
        let parsed = parse(&gzip(b"#cloud-config\nhostname: a\n"));
        assert_eq!(parsed.parts, vec![Part::CloudConfig(Zeroizing::new("#cloud-config\nhostname: a\n".into()))]);
    }

    #[test]
    fn a_gzip_bomb_is_refused() {
        let bomb = gzip(&vec![b'#'; MAX_DECODED + 10]);
        let parsed = parse(&bomb);
        assert!(parsed.parts.is_empty());
        assert!(parsed.warnings[0].contains("more than"), "{:?}", parsed.warnings);
    }

    #[test]
    fn nested_gzip_stops_at_the_depth() {
        let mut data = b"#!/bin/sh\n".to_vec();
        for _ in 0..MAX_DEPTH + 2 {
            data = gzip(&data);
        }
        let parsed = parse(&data);
        assert!(parsed.parts.is_empty());
        assert!(parsed.warnings[0].contains("nested deeper"));
    }

    pub(crate) const MULTIPART: &str = "Content-Type: multipart/mixed; boundary=\"XYZ\"\r\nMIME-Version: 1.0\r\n\r\n--XYZ\r\nContent-Type: text/x-shellscript; charset=\"us-ascii\"\r\nContent-Disposition: attachment; filename=\"one.sh\"\r\n\r\n#!/bin/sh\necho one\n\r\n--XYZ\r\nContent-Type: text/cloud-config\r\nContent-Transfer-Encoding: base64\r\n\r\nI2Nsb3VkLWNvbmZpZwpob3N0bmFtZTogYgo=\r\n--XYZ\r\nContent-Type: text/x-include-url\r\n\r\nhttp://example.org/x\r\n--XYZ--\r\n";

    #[test]
    fn multipart_gives_its_parts_in_order() {
        let parsed = parse(MULTIPART.as_bytes());
        assert_eq!(parsed.parts.len(), 2, "{parsed:?}");
        assert_eq!(script(&parsed.parts, 0), ("one.sh", &b"#!/bin/sh\necho one\n"[..]));
        assert_eq!(parsed.parts[1], Part::CloudConfig(Zeroizing::new("#cloud-config\nhostname: b\n".into())));
        assert_eq!(parsed.warnings, vec!["part-3: text/x-include-url: not run".to_owned()]);
    }

    #[test]
    fn other_formats_are_named_not_run() {
        let parsed = parse(b"#include\nhttp://example.org/secret\n");
        assert!(parsed.parts.is_empty());
        assert_eq!(
            parsed.warnings,
            vec!["user data: #include data: not run (osconf runs #! scripts and #cloud-config)"]
        );
        let parsed = parse(b"password=hunter2");
        assert!(!parsed.warnings[0].contains("hunter2"), "{:?}", parsed.warnings);
        assert!(parse(b"").warnings.is_empty() && parse(b" \n").parts.is_empty());
    }

    #[test]
    fn many_parts_are_capped() {
        let mut data = String::from("Content-Type: multipart/mixed; boundary=b\n\n");
        for _ in 0..MAX_PARTS + 5 {
            data.push_str("--b\nContent-Type: text/x-shellscript\n\n#!/bin/sh\n");
        }
        let parsed = parse(data.as_bytes());
        assert_eq!(parsed.parts.len(), MAX_PARTS);
        assert_eq!(parsed.warnings.len(), 1, "{:?}", parsed.warnings);
    }
}
