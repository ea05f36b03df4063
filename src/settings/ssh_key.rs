//! An SSH public key for root, validated down to its wire format: one line,
//! a key type OpenSSH accepts, a Base64 body that decodes to a blob of that
//! same type with the fields that type has, an optional comment. Nothing
//! else (no `command=` or other authorized_keys options) can get through, so
//! a key can be written as one line of `authorized_keys` as it is.
//!
//! The metadata source calls [`keys_from_metadata`] (which calls
//! [`SshKey::parse`] once per key); a bad key is a warning naming its item,
//! never a failed boot (the other keys still go in).

use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::parse::shorten;

/// Longer than any key OpenSSH makes (a 16384-bit RSA key is ~2.8 KB).
const MAX_LINE: usize = 8192;

/// The key types OpenSSH's sshd accepts by default, and the fields (SSH
/// wire strings) after the type name in each one's blob: `C` a curve name
/// matching the type, `32` exactly 32 bytes, `*` any bytes.
const TYPES: &[(&str, &[&str])] = &[
    ("ssh-ed25519", &["32"]),
    ("ssh-rsa", &["*", "*"]),
    ("ecdsa-sha2-nistp256", &["C", "*"]),
    ("ecdsa-sha2-nistp384", &["C", "*"]),
    ("ecdsa-sha2-nistp521", &["C", "*"]),
    ("sk-ssh-ed25519@openssh.com", &["32", "*"]),
    ("sk-ecdsa-sha2-nistp256@openssh.com", &["C", "*", "*"]),
];

/// `TYPE BASE64 [COMMENT]`, as `ssh-keygen` writes a `.pub` file.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SshKey {
    kind: String,
    body: String,
    comment: Option<String>,
}

impl SshKey {
    /// Validates one key. Surrounding white space (a served item's final
    /// newline) is ignored; any other line break or control character is an error.
    pub fn parse(text: &str) -> Result<SshKey, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("is empty, not an SSH public key".into());
        }
        if text.len() > MAX_LINE {
            return Err(format!("is {} bytes long, more than the {MAX_LINE} of any SSH public key", text.len()));
        }
        if text.contains(['\n', '\r']) {
            return Err("holds more than one line: one key per item".into());
        }
        if text.chars().any(|c| c.is_control() && c != '\t') {
            return Err("holds a control character".into());
        }
        // Image files are edited as text in which U+10FF00..=U+10FFFF stand
        // for their non-UTF-8 bytes (files::text_of): such a character in a
        // comment would be written as a lone byte.
        if text.chars().any(|c| u32::from(c) >= 0xF0000) {
            return Err("holds a private-use character".into());
        }
        let mut fields = text.splitn(3, [' ', '\t']);
        let kind = fields.next().unwrap_or_default();
        let body = fields.next().map(str::trim).unwrap_or_default();
        let comment = fields.next().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
        let Some((_, layout)) = TYPES.iter().find(|(name, _)| *name == kind) else {
            return Err(format!("{:?} is not a key type osconf installs (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256/384/521, sk-…@openssh.com); options before the type are not accepted", shorten(kind)));
        };
        if body.is_empty() {
            return Err(format!("{kind} key without its Base64 body"));
        }
        let blob = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| format!("{kind} key: the body is not valid Base64"))?;
        check_blob(kind, layout, &blob)?;
        Ok(SshKey { kind: kind.to_owned(), body: body.to_owned(), comment })
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn comment(&self) -> Option<&str> {
        self.comment.as_deref()
    }

    /// `SHA256:<unpadded Base64 of the blob's SHA-256>`, as `ssh-keygen -l` shows it.
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let blob = base64::engine::general_purpose::STANDARD.decode(&self.body).expect("validated in parse");
        format!("SHA256:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(Sha256::digest(blob)))
    }

    /// What `plan` and `status` show: never the whole key.
    pub fn summary(&self) -> String {
        match &self.comment {
            Some(comment) => format!("{} {} {comment}", self.fingerprint(), self.kind),
            None => format!("{} {}", self.fingerprint(), self.kind),
        }
    }

    /// The same key (type and body), whatever its comment.
    pub fn same_key(&self, other: &SshKey) -> bool {
        self.kind == other.kind && self.body == other.body
    }
}

/// The blob is SSH wire strings: the type name again, then the type's fields.
fn check_blob(kind: &str, layout: &[&str], blob: &[u8]) -> Result<(), String> {
    let bad = |why: &str| Err(format!("{kind} key: {why}"));
    let mut rest = blob;
    let mut strings = Vec::new();
    while !rest.is_empty() {
        let Some((len, after)) = rest.split_first_chunk::<4>() else { return bad("the body's data is cut short") };
        let len = u32::from_be_bytes(*len) as usize;
        if len > after.len() {
            return bad("the body's data is cut short");
        }
        strings.push(&after[..len]);
        rest = &after[len..];
    }
    match strings.first() {
        Some(name) if *name == kind.as_bytes() => {}
        Some(name) => {
            return bad(&format!("the body is a {:?} key, not {kind}", shorten(&String::from_utf8_lossy(name))))
        }
        None => return bad("the body is empty"),
    }
    let fields = &strings[1..];
    if fields.len() != layout.len() {
        return bad(&format!("the body has {} fields after the type, a {kind} key has {}", fields.len(), layout.len()));
    }
    let curve = kind.trim_end_matches("@openssh.com").rsplit('-').next().unwrap_or_default();
    for (field, expected) in fields.iter().zip(layout) {
        let ok = match *expected {
            "32" => field.len() == 32,
            "C" => *field == curve.as_bytes(),
            _ => !field.is_empty(),
        };
        if !ok {
            return bad("the body's fields do not fit the key type");
        }
    }
    Ok(())
}

impl fmt::Display for SshKey {
    /// The `authorized_keys` line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.body)?;
        match &self.comment {
            Some(comment) => write!(f, " {comment}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for SshKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SshKey({})", self.summary())
    }
}

/// Stored (in the record) as its `authorized_keys` line.
impl Serialize for SshKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SshKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SshKey, D::Error> {
        SshKey::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// The index of one entry of the metadata's `public-keys/` listing: `0/`
/// (a directory) or `0=name` (EC2 style); the key is then `public-keys/0/openssh-key`.
pub fn listing_index(entry: &str) -> Result<u32, String> {
    let entry = entry.trim();
    let digits = entry.strip_suffix('/').unwrap_or_else(|| entry.split_once('=').map_or(entry, |(n, _)| n));
    match digits.parse::<u32>() {
        Ok(n) if digits.chars().all(|c| c.is_ascii_digit()) => Ok(n),
        _ => Err(format!("entry {:?} is not of the form N/ or N=name", shorten(entry))),
    }
}

/// root's keys from the metadata: `listing` is the `public-keys/` item
/// (`None`: not served, so no key pair is bound), `get` reads one item
/// (`Ok(None)`: not served). Every key of every listed entry's
/// `public-keys/<n>/openssh-key`, in listing order; a bad entry or key is a
/// warning naming its item. The complete list, for `Settings::ssh_keys`;
/// the metadata source takes an empty list from a served listing as "cannot
/// tell", not as "no key" (only a listing not served is that).
pub fn keys_from_metadata<E>(
    listing: Option<&str>,
    mut get: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<(Vec<SshKey>, Vec<String>), E> {
    let (mut keys, mut warnings) = (Vec::new(), Vec::new());
    for entry in listing.unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()) {
        let index = match listing_index(entry) {
            Ok(index) => index,
            Err(e) => {
                warnings.push(format!("public-keys/: {e}: skipped"));
                continue;
            }
        };
        let item = format!("public-keys/{index}/openssh-key");
        match get(&item)? {
            None => warnings.push(format!("{item}: not served: skipped")),
            // Some endpoints serve several keys of one pair, one a line.
            Some(text) => {
                for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
                    match SshKey::parse(line) {
                        Ok(key) => keys.push(key),
                        Err(e) => warnings.push(format!("{item}: {e}: skipped")),
                    }
                }
            }
        }
    }
    Ok((keys, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `ssh-keygen -t ed25519 -C alice@example` (the fingerprint is ssh-keygen's).
    pub const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3grApp1u6rYY7lRUREvN8ueKICW1v5WXml8QdH9WZh alice@example";
    const ED25519_FINGERPRINT: &str = "SHA256:YYbsrqTjHIJdYMbLLdCXTMlS8mp/sW7Isvgf9W3uRck";

    fn blob(strings: &[&[u8]]) -> String {
        let mut out = Vec::new();
        for s in strings {
            out.extend_from_slice(&(s.len() as u32).to_be_bytes());
            out.extend_from_slice(s);
        }
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    #[test]
    fn a_generated_key_parses_and_prints_as_it_came() {
        let key = SshKey::parse(&format!("  {ED25519}\n")).unwrap();
        assert_eq!(key.to_string(), ED25519);
        assert_eq!(key.kind(), "ssh-ed25519");
        assert_eq!(key.comment(), Some("alice@example"));
        assert_eq!(key.fingerprint(), ED25519_FINGERPRINT);
        assert_eq!(key.summary(), format!("{ED25519_FINGERPRINT} ssh-ed25519 alice@example"));
        assert!(!format!("{key:?}").contains("AAAAC3"), "Debug shows the fingerprint, not the key");
    }

    #[test]
    fn every_type_with_its_layout_is_accepted() {
        let k32 = [7u8; 32];
        let cases: Vec<(&str, Vec<&[u8]>)> = vec![
            ("ssh-ed25519", vec![&k32]),
            ("ssh-rsa", vec![b"\x01\x00\x01", b"\x00\xc0\xff\xee"]),
            ("ecdsa-sha2-nistp256", vec![b"nistp256", b"\x04point"]),
            ("ecdsa-sha2-nistp384", vec![b"nistp384", b"\x04point"]),
            ("ecdsa-sha2-nistp521", vec![b"nistp521", b"\x04point"]),
            ("sk-ssh-ed25519@openssh.com", vec![&k32, b"ssh:"]),
            ("sk-ecdsa-sha2-nistp256@openssh.com", vec![b"nistp256", b"\x04point", b"ssh:"]),
        ];
        for (kind, fields) in cases {
            let mut strings: Vec<&[u8]> = vec![kind.as_bytes()];
            strings.extend(fields);
            let line = format!("{kind} {}", blob(&strings));
            let key = SshKey::parse(&line).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(key.to_string(), line);
            assert_eq!(key.comment(), None);
        }
    }

    #[test]
    fn bad_keys_are_refused_with_the_reason() {
        let k32 = [7u8; 32];
        let ed = |strings: &[&[u8]]| format!("ssh-ed25519 {}", blob(strings));
        let cases = [
            (String::new(), "empty"),
            (format!("{ED25519}\nssh-ed25519 AAAA"), "more than one line"),
            (format!("{ED25519}\rx"), "more than one line"),
            (format!("{ED25519}\u{1b}[2J"), "control character"),
            (format!("command=\"/bin/sh\" {ED25519}"), "options before the type"),
            ("ssh-dss AAAAB3NzaC1kc3M= x".into(), "not a key type"),
            ("ssh-ed25519".into(), "without its Base64 body"),
            ("ssh-ed25519 not*base64".into(), "not valid Base64"),
            (ed(&[b"ssh-rsa", &k32]), "is a \"ssh-rsa\" key, not ssh-ed25519"),
            (ed(&[b"ssh-ed25519", b"short"]), "do not fit"),
            (ed(&[b"ssh-ed25519", &k32, b"extra"]), "2 fields after the type"),
            (ed(&[b"ssh-ed25519"]), "0 fields"),
            ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA".into(), "cut short"),
            ("ssh-ed25519 AAAA".into(), "cut short"),
            (format!("ecdsa-sha2-nistp256 {}", blob(&[b"ecdsa-sha2-nistp256", b"nistp384", b"\x04p"])), "do not fit"),
            (format!("ssh-ed25519 {}", "A".repeat(9000)), "more than the 8192"),
        ];
        for (line, reason) in cases {
            let e = SshKey::parse(&line).unwrap_err();
            assert!(e.contains(reason), "{line:?}: {e}");
        }
    }

    #[test]
    fn a_private_use_character_is_refused_as_it_would_be_written_as_a_byte() {
        for c in ['\u{F0000}', '\u{10FF41}', '\u{10FFFF}'] {
            let error = SshKey::parse(&format!("{ED25519} alice{c}@example")).unwrap_err();
            assert_eq!(error, "holds a private-use character");
        }
    }

    #[test]
    fn comments_keep_inner_spaces_and_tabs_separate_fields() {
        let body = ED25519.split(' ').nth(1).unwrap();
        let key = SshKey::parse(&format!("ssh-ed25519\t{body}  root key  of bob ")).unwrap();
        assert_eq!(key.comment(), Some("root key  of bob"));
        assert_eq!(key.to_string(), format!("ssh-ed25519 {body} root key  of bob"));
    }

    #[test]
    fn same_key_ignores_the_comment() {
        let a = SshKey::parse(ED25519).unwrap();
        let b = SshKey::parse(ED25519.replace("alice@example", "other").as_str()).unwrap();
        assert!(a.same_key(&b) && a != b);
        assert_eq!(a.fingerprint(), b.fingerprint());
    }

    #[test]
    fn serialises_as_its_line_and_checks_it_on_the_way_back() {
        let key = SshKey::parse(ED25519).unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("{ED25519:?}"));
        assert_eq!(serde_json::from_str::<SshKey>(&json).unwrap(), key);
        assert!(serde_json::from_str::<SshKey>("\"ssh-ed25519 AAAA\"").is_err());
    }

    #[test]
    fn keys_from_metadata_reads_every_listed_key_and_names_bad_items() {
        let items = |item: &str| -> Result<Option<String>, ()> {
            Ok(match item {
                "public-keys/0/openssh-key" => Some(format!("{ED25519}\n")),
                "public-keys/1/openssh-key" => Some("ssh-ed25519 AAAA broken\n".into()),
                "public-keys/3/openssh-key" => Some(format!("{}\n\n{}", ED25519.replace("alice", "bob"), "not a key")),
                _ => None,
            })
        };
        let (keys, warnings) = keys_from_metadata(Some("0/\n1=pair-b\nx/\n2/\n3/\n"), items).unwrap();
        assert_eq!(keys.iter().map(|k| k.comment().unwrap()).collect::<Vec<_>>(), ["alice@example", "bob@example"]);
        assert_eq!(warnings.len(), 4, "{warnings:#?}");
        assert!(warnings[0].starts_with("public-keys/1/openssh-key: ssh-ed25519 key: the body"), "{warnings:#?}");
        assert!(warnings[1].starts_with("public-keys/: entry \"x/\""), "{warnings:#?}");
        assert_eq!(warnings[2], "public-keys/2/openssh-key: not served: skipped");
        assert!(warnings[3].starts_with("public-keys/3/openssh-key: \"not\" is not a key type"), "{warnings:#?}");
        // Nothing listed: no key (osconf's block goes); a transport error stops.
        assert_eq!(keys_from_metadata(None, items).unwrap(), (vec![], vec![]));
        assert_eq!(keys_from_metadata(Some("0/"), |_| Err::<Option<String>, _>("timeout")), Err("timeout"));
    }

    #[test]
    fn listing_entries() {
        assert_eq!(listing_index("0/"), Ok(0));
        assert_eq!(listing_index("12=my-key-pair"), Ok(12));
        assert_eq!(listing_index(" 3 "), Ok(3));
        for bad in ["", "/", "x/", "-1/", "+1/", "1/2/", "99999999999/"] {
            assert!(listing_index(bad).is_err(), "{bad:?}");
        }
    }
}
