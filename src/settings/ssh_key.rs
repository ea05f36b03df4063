//! An SSH public key for root, validated down to its wire format: one line,
//! a key type OpenSSH accepts, a Base64 body that decodes to a blob of that
//! same type with the fields that type has, an optional comment. Nothing
//! else (no `command=` or other authorized_keys options) can get through, so
//! a key can be written as one line of `authorized_keys` as it is.
//!
//! A source validates each key with [`SshKey::parse`] (the metadata source:
//! `sources::metadata_items::public_keys`); a bad key is a warning naming
//! its item, never a failed boot (the other keys still go in).

use std::fmt;

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::values::shorten;

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Made by `ssh-keygen -t ed25519 -C alice@example` (the fingerprint is ssh-keygen's).
    pub(crate) const ED25519: &str =
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
}
