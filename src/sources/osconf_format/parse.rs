//! The os.conf line format: `key=value` assignments, read as data, never as shell.
//!
//! Accepted: blank lines, `#` comments (also after a value), spaces around `=`,
//! values in double or single quotes, CRLF line ends. Everything else is an
//! error that names the line: a shell would run such a line, we must not guess.

use std::fmt;

use zeroize::Zeroizing;

use crate::settings::values::shorten;
use crate::settings::SettingsError;

/// One `key=value` assignment and the line it came from (1-based). The
/// value is wiped when dropped: the password's is its Base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub value: Zeroizing<String>,
    pub line: usize,
}

/// A drop larger than this is refused before parsing: real ones are < 1 KiB.
pub const MAX_DROP_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.key {
            _ if self.line == 0 => f.write_str(&self.message),
            Some(key) => write!(f, "line {}: {}: {}", self.line, key, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

fn error(line: usize, key: Option<&str>, message: impl Into<String>) -> ParseError {
    ParseError { line, key: key.map(str::to_owned), message: message.into() }
}

/// Splits a drop into its assignments, in file order. Duplicate keys are an
/// error: the platform never writes them, and guessing which one wins is how
/// a hostile drop hides a value.
pub fn parse(bytes: &[u8]) -> Result<Vec<Entry>, ParseError> {
    if bytes.len() > MAX_DROP_BYTES {
        return Err(error(0, None, format!("file is {} bytes, more than the {} allowed", bytes.len(), MAX_DROP_BYTES)));
    }
    let mut entries: Vec<Entry> = Vec::new();
    for (index, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.contains(&0) {
            return Err(error(line, None, "contains a NUL byte"));
        }
        let text = std::str::from_utf8(raw).map_err(|_| error(line, None, "is not valid UTF-8"))?;
        if let Some(entry) = parse_line(text, line)? {
            if let Some(first) = entries.iter().find(|e| e.key == entry.key) {
                return Err(error(line, Some(&entry.key), format!("given twice (first on line {})", first.line)));
            }
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn parse_line(text: &str, line: usize) -> Result<Option<Entry>, ParseError> {
    let trimmed = text.trim_matches(|c| c == ' ' || c == '\t');
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(None);
    }
    if let Some(c) = trimmed.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(error(line, None, format!("contains the control character {:?}", c)));
    }
    let Some((key, rest)) = trimmed.split_once('=') else {
        return Err(error(line, None, "is not a key=value assignment"));
    };
    let key = key.trim_end_matches([' ', '\t']);
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(error(line, None, format!("{:?} is not a valid key name", shorten(key))));
    }
    // The password's text never goes into a message (logs are not secret).
    let value = parse_value(rest.trim_start_matches([' ', '\t']), key == "password")
        .map_err(|message| error(line, Some(key), message))?;
    Ok(Some(Entry { key: key.to_owned(), value, line }))
}

/// The value after `=`: quoted or bare, then only blanks or a comment.
fn parse_value(rest: &str, secret: bool) -> Result<Zeroizing<String>, String> {
    let (value, tail) = match rest.chars().next() {
        Some(quote @ ('"' | '\'')) => {
            let body = &rest[1..];
            let end = body.find(quote).ok_or_else(|| format!("missing closing {quote}"))?;
            (&body[..end], &body[end + 1..])
        }
        _ => {
            let end = rest.find([' ', '\t']).unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        }
    };
    let tail = tail.trim_start_matches([' ', '\t']);
    if !tail.is_empty() && !tail.starts_with('#') {
        let shown = if secret { "(not shown)".to_owned() } else { format!("{:?}", shorten(tail)) };
        return Err(format!("unexpected text after the value: {shown} (quote values that contain spaces)"));
    }
    if let Some(c) = value.chars().find(|c| matches!(c, '"' | '\'' | '\\' | '`')) {
        return Err(format!("value contains {c:?}, which os.conf values never hold"));
    }
    Ok(Zeroizing::new(value.to_owned()))
}

impl From<ParseError> for SettingsError {
    fn from(e: ParseError) -> SettingsError {
        SettingsError { key: e.key.unwrap_or_default(), line: Some(e.line), message: e.message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(input: &str) -> Vec<(String, String, usize)> {
        parse(input.as_bytes()).unwrap().into_iter().map(|e| (e.key, e.value.to_string(), e.line)).collect()
    }

    #[test]
    fn reads_quotes_spaces_comments_and_crlf() {
        let got = kv("# comment\r\n\r\na=1\r\n  b = \"x y\"  # trailing\r\nc='z;w'\nd=\ne=\"\"\n");
        assert_eq!(
            got,
            vec![
                ("a".into(), "1".into(), 3),
                ("b".into(), "x y".into(), 4),
                ("c".into(), "z;w".into(), 5),
                ("d".into(), "".into(), 6),
                ("e".into(), "".into(), 7),
            ]
        );
    }

    #[test]
    fn bare_value_with_comment() {
        assert_eq!(kv("a=1 # one"), vec![("a".into(), "1".into(), 1)]);
    }

    fn err(input: &[u8]) -> ParseError {
        parse(input).unwrap_err()
    }

    #[test]
    fn rejects_what_a_shell_would_run() {
        assert_eq!(err(b"a=1\nrm -rf /\n").line, 2);
        assert!(err(b"a=1 2").message.contains("after the value"));
        assert!(err(b"a=`id`").message.contains('`'));
        assert!(err(b"a=\"x\\\"y\"").message.contains('\\'));
        assert!(err(b"a=\"open").message.contains("closing"));
        assert!(err(b"a$(id)=1").message.contains("key name"));
        assert!(err(b"=1").message.contains("key name"));
    }

    #[test]
    fn never_shows_the_password_in_an_error() {
        let e = err(b"password=cXdI secret-tail");
        assert_eq!((e.line, e.key.as_deref()), (1, Some("password")));
        assert!(!e.to_string().contains("secret"), "{e}");
        assert!(err(b"hostname=a b").message.contains("\"b\""));
    }

    #[test]
    fn rejects_bytes_that_are_not_text() {
        assert_eq!(err(b"a=1\nb=\xff\n"), error(2, None, "is not valid UTF-8"));
        assert_eq!(err(b"a=\x001"), error(1, None, "contains a NUL byte"));
        assert!(err(b"a=1\x0b2").message.contains("control character"));
    }

    #[test]
    fn rejects_duplicate_keys_naming_both_lines() {
        let e = err(b"hostname=a\n\nhostname=b\n");
        assert_eq!((e.line, e.key.as_deref()), (3, Some("hostname")));
        assert!(e.message.contains("line 1"));
    }

    #[test]
    fn rejects_oversized_input() {
        let big = vec![b'a'; MAX_DROP_BYTES + 1];
        assert!(err(&big).message.contains("more than"));
        // A whole-file error: no "line 0", no empty key in front.
        assert_eq!(
            err(&big).to_string(),
            format!("file is {} bytes, more than the {MAX_DROP_BYTES} allowed", MAX_DROP_BYTES + 1)
        );
        let e = crate::settings::SettingsError::from(err(&big));
        assert_eq!(e.to_string(), err(&big).to_string());
    }
}
