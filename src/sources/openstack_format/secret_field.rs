//! Takes a secret string (`admin_pass`) out of a JSON object's bytes
//! before serde_json sees them: serde_json decodes a string with escapes
//! (`\"`, `\\`, `\u00e9`) through a scratch buffer it grows and frees
//! unwiped, so a password with a quote or a backslash would stay in freed
//! memory. Here the top-level member's string is decoded into one buffer
//! sized once and wiped when dropped, and its bytes in the document are
//! overwritten with spaces (still a valid JSON string) before the document
//! is parsed.
//!
//! The scan is total and bounded: one pass, no recursion (nesting is only
//! counted), no allocation but the secret's. On anything it does not
//! understand it gives `Unreadable` and leaves the bytes alone: the
//! parser then reports the document's error itself.

use zeroize::Zeroizing;

/// What the scan found for the member.
#[derive(Debug, PartialEq, Eq)]
pub enum Secret {
    /// No such top-level member (or `null`).
    Absent,
    /// Its string, decoded; its bytes in the document blanked.
    Text(Zeroizing<String>),
    /// Present, but not a string (the caller says so).
    NotText,
    /// The document is not a JSON object this scan can read.
    Unreadable,
}

/// Takes the top-level string member `name` out of `document`.
/// A secret found before the rest turned out unreadable is still given
/// (its bytes are blanked already): the parser then judges the document.
pub fn take(document: &mut [u8], name: &str) -> Secret {
    let mut scan = Scan { bytes: document, at: 0, found: Secret::Absent };
    match scan.member(name) {
        Some(()) => scan.found,
        None if matches!(scan.found, Secret::Text(_)) => scan.found,
        None => Secret::Unreadable,
    }
}

struct Scan<'a> {
    bytes: &'a mut [u8],
    at: usize,
    found: Secret,
}

impl Scan<'_> {
    fn member(&mut self, name: &str) -> Option<()> {
        self.space();
        self.expect(b'{')?;
        self.space();
        if self.peek() == Some(b'}') {
            return Some(());
        }
        loop {
            self.space();
            let key = self.string_span()?;
            let is_it = &self.bytes[key.0..key.1] == name.as_bytes();
            self.space();
            self.expect(b':')?;
            self.space();
            match (is_it, self.peek()?) {
                (true, b'"') => {
                    let (start, end) = self.string_span()?;
                    let text = decode(&self.bytes[start..end])?;
                    self.bytes[start..end].iter_mut().for_each(|b| *b = b' ');
                    self.found = Secret::Text(text);
                }
                (true, b'n') => {
                    self.skip_value()?;
                    self.found = Secret::Absent;
                }
                (true, _) => {
                    self.skip_value()?;
                    self.found = Secret::NotText;
                }
                (false, _) => self.skip_value()?,
            }
            self.space();
            match self.next()? {
                b',' => continue,
                b'}' => return Some(()),
                _ => return None,
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    /// A string's raw content (between its quotes), the scan past it.
    fn string_span(&mut self) -> Option<(usize, usize)> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            match self.next()? {
                b'"' => return Some((start, self.at - 1)),
                b'\\' => {
                    self.next()?;
                }
                byte if byte < 0x20 => return None,
                _ => {}
            }
        }
    }

    /// Any value: strings by their quotes, objects and arrays by counting
    /// their nesting, other tokens up to a delimiter.
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string_span()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.at += 1;
                }
                b'}' | b']' if depth > 0 => {
                    depth -= 1;
                    self.at += 1;
                }
                b',' | b'}' | b']' if depth == 0 => return Some(()),
                _ => self.at += 1,
            }
            if depth == 0 && matches!(self.peek(), Some(b',' | b'}')) {
                return Some(());
            }
        }
    }
}

/// A JSON string's raw content decoded, into one buffer sized once (never
/// grown: growing would free a copy unwiped). `None` for a bad escape.
fn decode(raw: &[u8]) -> Option<Zeroizing<String>> {
    let mut out = Zeroizing::new(String::with_capacity(raw.len()));
    let text = std::str::from_utf8(raw).ok()?;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let decoded = match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let high = hex4(&mut chars)?;
                match high {
                    0xD800..=0xDBFF => {
                        if (chars.next()?, chars.next()?) != ('\\', 'u') {
                            return None;
                        }
                        let low = hex4(&mut chars)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    _ => char::from_u32(high)?,
                }
            }
            _ => return None,
        };
        // Each escape is at least as long as what it decodes to: no growth.
        out.push(decoded);
    }
    Some(out)
}

fn hex4(chars: &mut std::str::Chars) -> Option<u32> {
    let mut value = 0;
    for _ in 0..4 {
        value = value * 16 + chars.next()?.to_digit(16)?;
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(json: &str) -> (Secret, String) {
        let mut bytes = json.as_bytes().to_vec();
        let secret = take(&mut bytes, "admin_pass");
        (secret, String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn the_secret_is_decoded_and_blanked_and_the_document_still_parses() {
        let json = r#"{"uuid": "u", "meta": {"admin_pass": "not this", "x": [1, {"y": "}"}]}, "admin_pass": "p\"w\\\u00e9\ud83d\ude00/", "n": -1.5e3}"#;
        let (secret, blanked) = taken(json);
        assert_eq!(secret, Secret::Text(Zeroizing::new("p\"w\\é😀/".to_owned())));
        assert!(!blanked.contains("p\\\"w"), "{blanked}");
        let value: serde_json::Value = serde_json::from_str(&blanked).unwrap();
        assert_eq!(value["admin_pass"].as_str().unwrap().trim(), "");
        assert_eq!(value["meta"]["admin_pass"], "not this", "only the top-level member");
        assert_eq!(value["n"], -1500.0);
    }

    #[test]
    fn absent_null_not_text_and_unreadable() {
        assert_eq!(taken(r#"{"uuid": "u"}"#).0, Secret::Absent);
        assert_eq!(taken("{}").0, Secret::Absent);
        assert_eq!(taken(r#"{"admin_pass": null}"#).0, Secret::Absent);
        assert_eq!(taken(r#"{"admin_pass": 7}"#).0, Secret::NotText);
        assert_eq!(taken(r#"{"admin_pass": ["x"]}"#).0, Secret::NotText);
        for bad in
            ["", "[1]", "{", r#"{"admin_pass": "\x"}"#, r#"{"admin_pass": "\ud800"}"#, "{\"a\" 1}", "{\"a\": \"\n\"}"]
        {
            let mut bytes = bad.as_bytes().to_vec();
            assert_eq!(take(&mut bytes, "admin_pass"), Secret::Unreadable, "{bad:?}");
            assert_eq!(bytes, bad.as_bytes(), "{bad:?}: left alone");
        }
    }

    fn json_value() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z_]{0,12}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Any password, among any other members, escaped as serde_json
        /// writes it: decoded exactly, and the blanked document still parses.
        #[test]
        fn any_password_among_any_members(password in ".*", before in json_value(), after in json_value(), pretty: bool) {
            let document = serde_json::json!({"a": before, "admin_pass": password, "z": after});
            let text = if pretty { serde_json::to_string_pretty(&document) } else { serde_json::to_string(&document) }.unwrap();
            let (secret, blanked) = taken(&text);
            proptest::prop_assert_eq!(secret, Secret::Text(Zeroizing::new(password)));
            let parsed: serde_json::Value = serde_json::from_str(&blanked).unwrap();
            proptest::prop_assert!(parsed["admin_pass"].as_str().unwrap().bytes().all(|b| b == b' '));
            proptest::prop_assert_eq!(&parsed["a"], &document["a"]);
            proptest::prop_assert_eq!(&parsed["z"], &document["z"]);
        }

        /// Any bytes: no panic, and the bytes change only where a secret was taken.
        #[test]
        fn any_bytes(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let mut scanned = bytes.clone();
            let secret = take(&mut scanned, "admin_pass");
            if !matches!(secret, Secret::Text(_)) {
                proptest::prop_assert_eq!(scanned, bytes);
            }
        }
    }
}
