//! A minimal HTTP/1.1 client for the metadata endpoint: plain HTTP to an IP
//! literal, one request per connection, bounded in time and size. A full
//! HTTP crate would add ~0.5 MB and name resolution (getaddrinfo, which a
//! static glibc binary cannot use reliably) for a few GETs and a PUT.
//!
//! A response ends where its framing says (`Content-Length`, chunked
//! encoding, or the end of the connection for HTTP/1.0-style replies), so a
//! server that keeps the connection open is read as quickly as one that
//! closes it. Every size the server sends is checked arithmetic against a cap.
//! A request that gets no answer in time is tried again, with a longer wait
//! and a pause between tries, until the total time runs out.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use zeroize::{Zeroize, Zeroizing};

/// Largest body accepted: `meta-data/all` of an instance with many NICs is a
/// few KiB; anything near this is not metadata.
pub const MAX_BODY: usize = 256 * 1024;
/// Largest status line plus headers accepted.
pub const MAX_HEAD: usize = 16 * 1024;
/// Largest raw response read (chunk framing included) before giving up.
const MAX_RAW: usize = MAX_HEAD + 4 * MAX_BODY;
/// Pause before the first retry; doubled on each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

/// A reply with its body as the bytes served, wiped when dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub body: Zeroizing<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// Nothing listens (refused, no route): the endpoint is absent.
    Unreachable(String),
    /// It did not answer within the total time, however often it was asked.
    Timeout(String),
    /// Something answered, but not proper HTTP.
    Garbage(String),
    /// Proper HTTP, but not the platform's metadata service (a proxy or
    /// another service at the address, a wrong url): its replies are not
    /// believed, so nothing of it is applied.
    Foreign(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Unreachable(m) | HttpError::Timeout(m) | HttpError::Garbage(m) | HttpError::Foreign(m) => {
                f.write_str(m)
            }
        }
    }
}

/// How one attempt failed: a timeout (or a connection closed without a
/// byte, as a server still starting does) is worth another try.
enum Attempt {
    Retry(String),
    Fatal(HttpError),
}

pub struct Client {
    address: SocketAddr,
    host: String,
    request_timeout: Duration,
    total_timeout: Duration,
    deadline: Instant,
}

impl Client {
    /// `url` is `http://IP[:PORT]` (a trailing `/` allowed).
    pub fn new(url: &str, request_timeout: Duration, total_timeout: Duration) -> Result<Client, String> {
        let host = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?
            .trim_end_matches('/');
        let address: SocketAddr = match host.parse() {
            Ok(address) => address,
            Err(_) => format!("{host}:80")
                .parse()
                .map_err(|_| format!("{url:?}: the host must be an IP address (no name resolution at boot)"))?,
        };
        let request_timeout = request_timeout.max(Duration::from_millis(1));
        Ok(Client {
            address,
            host: host.to_owned(),
            request_timeout,
            total_timeout,
            deadline: Instant::now() + total_timeout,
        })
    }

    /// One request, tried again after a timeout: each try waits twice as
    /// long as the one before (from `request_timeout`), with a pause between
    /// tries, all within the total time.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
        text(path, self.request_retrying(method, path, headers, false)?)
    }

    /// As [`request`](Client::request), the body as the bytes served (user
    /// data may be gzip'd): wiped when dropped.
    pub fn request_bytes(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Result<RawResponse, HttpError> {
        self.request_retrying(method, path, headers, false)
    }

    /// A GET that is also tried again after a 5xx reply (a service still
    /// starting, or overloaded), as cloud-init does for OpenStack's; the
    /// last reply is returned when the total time runs out.
    pub fn get_retrying_server_errors(&self, path: &str) -> Result<Response, HttpError> {
        text(path, self.request_retrying("GET", path, &[], true)?)
    }

    fn request_retrying(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        server_errors: bool,
    ) -> Result<RawResponse, HttpError> {
        let mut wait = self.request_timeout;
        let mut backoff = FIRST_BACKOFF;
        let mut tries = 0;
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(HttpError::Timeout(format!(
                    "{} {path}: no answer within the total {} ms ({tries} tries)",
                    self.address,
                    self.total_timeout.as_millis()
                )));
            }
            tries += 1;
            let attempt = match self.attempt(method, path, headers, wait.min(left)) {
                Ok(response) if server_errors && response.status >= 500 => {
                    if self.deadline.saturating_duration_since(Instant::now()) <= backoff {
                        return Ok(response);
                    }
                    Err(Attempt::Retry(format!("HTTP status {}", response.status)))
                }
                other => other,
            };
            match attempt {
                Ok(response) => return Ok(response),
                Err(Attempt::Fatal(e)) => return Err(e),
                Err(Attempt::Retry(why)) => {
                    log::debug!("metadata {path}: {why}; trying again");
                    let pause = backoff.min(self.deadline.saturating_duration_since(Instant::now()));
                    std::thread::sleep(pause);
                    backoff = backoff.saturating_mul(2);
                    wait = wait.saturating_mul(2);
                }
            }
        }
    }

    fn attempt(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        wait: Duration,
    ) -> Result<RawResponse, Attempt> {
        let until = Instant::now() + wait;
        let timed_out = || Attempt::Retry(format!("no answer within {} ms", wait.as_millis()));
        let io = |e: std::io::Error| match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => timed_out(),
            _ => Attempt::Fatal(HttpError::Unreachable(format!("{} {path}: {e}", self.address))),
        };
        let mut stream = TcpStream::connect_timeout(&self.address, wait).map_err(io)?;
        stream.set_write_timeout(Some(wait)).map_err(io)?;
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: osconf\r\n", self.host);
        for (name, value) in headers {
            request += &format!("{name}: {value}\r\n");
        }
        request += if method == "PUT" { "Content-Length: 0\r\n\r\n" } else { "\r\n" };
        stream.write_all(request.as_bytes()).map_err(io)?;
        let garbage = |e: String| Attempt::Fatal(HttpError::Garbage(format!("{path}: {e}")));
        // Wiped when dropped, and grown by hand so that no outgrown copy is
        // freed unwiped: a reply may hold a password (OpenStack's admin_pass).
        let mut raw = Zeroizing::new(Vec::new());
        let mut buffer = Zeroizing::new([0u8; 4096]);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out());
            }
            stream.set_read_timeout(Some(left)).map_err(io)?;
            let n = stream.read(&mut *buffer).map_err(io)?;
            if n == 0 && raw.is_empty() {
                return Err(Attempt::Retry("the connection closed without an answer".into()));
            }
            append_wiping(&mut raw, &buffer[..n]);
            if let Some(response) = parse_raw(&raw, n == 0).map_err(garbage)? {
                return Ok(response);
            }
            if raw.len() > MAX_RAW {
                return Err(garbage(format!("response larger than {MAX_RAW} bytes")));
            }
        }
    }
}

/// Appends `bytes`; where `buffer` must grow, its old allocation is wiped
/// before it is freed (`Vec`'s own growth would free it as it is).
fn append_wiping(buffer: &mut Zeroizing<Vec<u8>>, bytes: &[u8]) {
    if buffer.capacity() - buffer.len() < bytes.len() {
        let capacity = (buffer.len() + bytes.len()).max(buffer.capacity() * 2).max(4096);
        let mut grown = Zeroizing::new(Vec::with_capacity(capacity));
        grown.extend_from_slice(buffer);
        *buffer = grown;
    }
    buffer.extend_from_slice(bytes);
}

/// Parses a response from the bytes read so far. `Ok(None)`: not complete
/// yet, read more (`eof` says the peer closed: then nothing more comes).
/// Interim 1xx responses are skipped. Never panics, never overflows, never
/// accepts a body over [`MAX_BODY`].
pub fn parse_response(raw: &[u8], eof: bool) -> Result<Option<Response>, String> {
    let Some(mut response) = parse_raw(raw, eof)? else { return Ok(None) };
    // Moved out, not copied: the text is the same allocation.
    let body = String::from_utf8(std::mem::take(&mut *response.body)).map_err(|e| {
        e.into_bytes().zeroize();
        "body is not UTF-8 text"
    })?;
    Ok(Some(Response { status: response.status, body }))
}

/// A reply whose body is text: the bytes moved into a `String`, or an error
/// naming the path.
fn text(path: &str, mut response: RawResponse) -> Result<Response, HttpError> {
    let body = String::from_utf8(std::mem::take(&mut *response.body)).map_err(|e| {
        e.into_bytes().zeroize();
        HttpError::Garbage(format!("{path}: body is not UTF-8 text"))
    })?;
    Ok(Response { status: response.status, body })
}

/// As [`parse_response`], the body as bytes.
pub fn parse_raw(raw: &[u8], eof: bool) -> Result<Option<RawResponse>, String> {
    let mut raw = raw;
    loop {
        let Some(split) = find(raw, b"\r\n\r\n") else {
            if raw.len() > MAX_HEAD {
                return Err(format!("headers longer than {MAX_HEAD} bytes"));
            }
            return if eof { Err("no end of headers".into()) } else { Ok(None) };
        };
        if split > MAX_HEAD {
            return Err(format!("headers longer than {MAX_HEAD} bytes"));
        }
        let head = Head::parse(&raw[..split])?;
        let rest = &raw[split + 4..];
        if (100..200).contains(&head.status) {
            raw = rest;
            continue;
        }
        let copy = |bytes: &[u8]| Zeroizing::new(bytes.to_vec());
        let body = match head.framing {
            Framing::Empty => Some(Zeroizing::new(Vec::new())),
            Framing::Length(length) if rest.len() >= length => Some(copy(&rest[..length])),
            Framing::Length(length) if eof => return Err(format!("body cut short ({} of {length} bytes)", rest.len())),
            Framing::Length(_) => None,
            Framing::Chunked => dechunk(rest, eof)?,
            Framing::UntilClose if rest.len() > MAX_BODY => return Err(format!("body larger than {MAX_BODY} bytes")),
            Framing::UntilClose => eof.then(|| copy(rest)),
        };
        let Some(body) = body else { return Ok(None) };
        return Ok(Some(RawResponse { status: head.status, body }));
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Framing {
    /// 204 and 304 carry no body.
    Empty,
    Length(usize),
    Chunked,
    /// HTTP/1.0 style: the body ends when the server closes.
    UntilClose,
}

struct Head {
    status: u16,
    framing: Framing,
}

impl Head {
    fn parse(bytes: &[u8]) -> Result<Head, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "headers are not text")?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let status =
            (matches!(version, "HTTP/1.0" | "HTTP/1.1") && code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
                .then(|| code.parse::<u16>().ok())
                .flatten()
                .filter(|s| *s >= 100)
                .ok_or_else(|| format!("bad status line {:?}", crate::settings::values::shorten(status_line)))?;
        let mut length: Option<usize> = None;
        let mut chunked = false;
        let mut other_coding = false;
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header {:?}", crate::settings::values::shorten(line)))?;
            let value = value.trim();
            match name.trim().to_ascii_lowercase().as_str() {
                "content-length" => {
                    let n = content_length(value)?;
                    if length.is_some_and(|l| l != n) {
                        return Err("two different Content-Length headers".into());
                    }
                    length = Some(n);
                }
                "transfer-encoding" => {
                    // The last coding decides: chunked ends the body itself.
                    let last = value.rsplit(',').next().unwrap_or_default().trim();
                    chunked = last.eq_ignore_ascii_case("chunked");
                    other_coding = !chunked;
                }
                _ => {}
            }
        }
        let framing = if status == 204 || status == 304 {
            Framing::Empty
        } else if chunked {
            Framing::Chunked
        } else if other_coding {
            Framing::UntilClose
        } else {
            length.map_or(Framing::UntilClose, Framing::Length)
        };
        Ok(Head { status, framing })
    }
}

/// Digits only (no sign, no spaces inside), at most [`MAX_BODY`].
fn content_length(value: &str) -> Result<usize, String> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad Content-Length {:?}", crate::settings::values::shorten(value)));
    }
    match value.parse::<u64>() {
        Ok(n) if n <= MAX_BODY as u64 => Ok(n as usize),
        _ => Err(format!(
            "Content-Length {} is more than the {MAX_BODY} bytes accepted",
            crate::settings::values::shorten(value)
        )),
    }
}

/// Decodes a chunked body. `Ok(None)`: more bytes needed.
fn dechunk(mut data: &[u8], eof: bool) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    let more = |what: &str| if eof { Err(format!("{what} cut short")) } else { Ok(None) };
    // The body is never longer than its framing: room for all of it from
    // the start, so that no outgrown copy is freed unwiped.
    let mut out = Zeroizing::new(Vec::with_capacity(data.len().min(MAX_BODY)));
    loop {
        let Some(end) = find(data, b"\r\n") else {
            return if data.len() > 1024 { Err("chunk size line too long".into()) } else { more("chunked body") };
        };
        let line = std::str::from_utf8(&data[..end]).map_err(|_| "bad chunk size")?;
        let digits = line.split(';').next().unwrap_or_default().trim();
        if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("bad chunk size {:?}", crate::settings::values::shorten(line)));
        }
        let size = u64::from_str_radix(digits, 16).map_err(|_| "bad chunk size")?;
        data = &data[end + 2..];
        if size == 0 {
            // Trailers (ignored) up to an empty line; a peer that closes
            // right after the last chunk has still sent the whole body.
            return match find(data, b"\r\n") {
                Some(0) => Ok(Some(out)),
                Some(_) => match find(data, b"\r\n\r\n") {
                    Some(_) => Ok(Some(out)),
                    None if eof => Ok(Some(out)),
                    None => Ok(None),
                },
                None if eof => Ok(Some(out)),
                None => Ok(None),
            };
        }
        let room = (MAX_BODY - out.len()) as u64;
        if size > room {
            return Err(format!("chunked body larger than {MAX_BODY} bytes (a chunk of {size} bytes)"));
        }
        let size = size as usize;
        // size <= MAX_BODY, so size + 2 cannot overflow.
        if data.len() < size + 2 {
            return more("chunk");
        }
        if &data[size..size + 2] != b"\r\n" {
            return Err("chunk not followed by CRLF".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(raw: &[u8]) -> Response {
        parse_response(raw, true).unwrap().unwrap()
    }

    #[test]
    fn parses_length_chunked_and_until_close() {
        let r = done(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello-extra");
        assert_eq!((r.status, r.body.as_str()), (200, "hello"));
        let r = done(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\n\r\n");
        assert_eq!(r.body, "abcde");
        let r = done(b"HTTP/1.0 404 Not Found\r\n\r\nnope");
        assert_eq!((r.status, r.body.as_str()), (404, "nope"));
    }

    #[test]
    fn a_response_is_complete_by_its_framing_not_by_the_end_of_the_connection() {
        // Keep-alive: the connection stays open, the length says it is all there.
        assert_eq!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel", false), Ok(None));
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false).unwrap().unwrap().body,
            "hello"
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", false),
            Ok(None)
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", false)
                .unwrap()
                .unwrap()
                .body,
            "abc"
        );
        // Without a length only the end of the connection ends the body.
        assert_eq!(parse_response(b"HTTP/1.0 200 OK\r\n\r\nabc", false), Ok(None));
        assert_eq!(parse_response(b"HTTP/1.1 204 No Content\r\n\r\n", false).unwrap().unwrap().body, "");
        // An interim 100 Continue is skipped.
        assert_eq!(done(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").body, "ok");
    }

    #[test]
    fn sizes_from_the_server_are_checked() {
        let huge_chunk =
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nabc\r\n", false);
        assert!(huge_chunk.unwrap_err().contains("larger than"));
        let too_many_digits =
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", false);
        assert!(too_many_digits.unwrap_err().contains("bad chunk size"));
        let e = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n", false).unwrap_err();
        assert!(e.contains("more than"), "{e}");
        let e = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n", false).unwrap_err();
        assert!(e.contains("more than"), "{e}");
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", false).is_err());
        let endless = [b"HTTP/1.0 200 OK\r\n\r\n".as_slice(), &vec![b'a'; MAX_BODY + 1]].concat();
        assert!(parse_response(&endless, false).is_err());
        let long_head = vec![b'a'; MAX_HEAD + 1];
        assert!(parse_response(&long_head, false).is_err());
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n", true).is_err());
        assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n", true).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", true).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", true).is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", true).is_err());
    }

    #[test]
    fn urls_must_be_ip_literals() {
        assert!(Client::new("http://100.100.100.200", Duration::from_secs(1), Duration::from_secs(1)).is_ok());
        assert!(Client::new("http://127.0.0.1:8080/", Duration::from_secs(1), Duration::from_secs(1)).is_ok());
        assert!(Client::new("http://metadata.example", Duration::from_secs(1), Duration::from_secs(1)).is_err());
        assert!(Client::new("https://100.100.100.200", Duration::from_secs(1), Duration::from_secs(1)).is_err());
    }
}
