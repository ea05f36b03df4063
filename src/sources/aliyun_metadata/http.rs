//! A minimal HTTP/1.1 client for the metadata endpoint: plain HTTP to an IP
//! literal, one request per connection, bounded in time and size. A full
//! HTTP crate would add ~0.5 MB and name resolution (getaddrinfo, which a
//! static glibc binary cannot use reliably) for four GETs and a PUT.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Bodies larger than this are not metadata: refused.
const MAX_RESPONSE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

#[derive(Debug)]
pub enum HttpError {
    /// Nothing listens, or nothing answered in time: the endpoint is absent.
    Unreachable(String),
    /// Something answered, but not proper HTTP.
    Garbage(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Unreachable(m) | HttpError::Garbage(m) => f.write_str(m),
        }
    }
}

pub struct Client {
    address: SocketAddr,
    host: String,
    request_timeout: Duration,
    deadline: Instant,
}

impl Client {
    /// `url` is `http://IP[:PORT]` (a trailing `/` allowed).
    pub fn new(url: &str, request_timeout: Duration, total_timeout: Duration) -> Result<Client, String> {
        let host = url.strip_prefix("http://").ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?.trim_end_matches('/');
        let address: SocketAddr = match host.parse() {
            Ok(address) => address,
            Err(_) => format!("{host}:80").parse().map_err(|_| format!("{url:?}: the host must be an IP address (no name resolution at boot)"))?,
        };
        Ok(Client { address, host: host.to_owned(), request_timeout, deadline: Instant::now() + total_timeout })
    }

    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Result<Response, HttpError> {
        let timeout = self.time_left()?;
        let mut stream = TcpStream::connect_timeout(&self.address, timeout).map_err(|e| HttpError::Unreachable(format!("{}: {e}", self.address)))?;
        let io = |e: std::io::Error| HttpError::Unreachable(format!("{} {path}: {e}", self.address));
        stream.set_write_timeout(Some(timeout)).map_err(io)?;
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: osconf\r\n", self.host);
        for (name, value) in headers {
            request += &format!("{name}: {value}\r\n");
        }
        request += if method == "PUT" { "Content-Length: 0\r\n\r\n" } else { "\r\n" };
        stream.write_all(request.as_bytes()).map_err(io)?;
        let mut raw = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            stream.set_read_timeout(Some(self.time_left()?)).map_err(io)?;
            match stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => raw.extend_from_slice(&buffer[..n]),
                Err(e) => return Err(io(e)),
            }
            if raw.len() > MAX_RESPONSE {
                return Err(HttpError::Garbage(format!("{path}: response larger than {MAX_RESPONSE} bytes")));
            }
        }
        parse_response(&raw).map_err(|e| HttpError::Garbage(format!("{path}: {e}")))
    }

    /// What is left of the total time, capped by the per-request timeout.
    fn time_left(&self) -> Result<Duration, HttpError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Unreachable("the metadata endpoint's total time ran out".into()));
        }
        Ok(left.min(self.request_timeout))
    }
}

/// Status line, headers, and a body delimited by Content-Length, chunked
/// encoding or the end of the connection.
pub fn parse_response(raw: &[u8]) -> Result<Response, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|_| "headers are not text")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts.next().and_then(|s| s.parse().ok()).filter(|_| version.starts_with("HTTP/1.")).ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut length = None;
    let mut chunked = false;
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("bad header {line:?}"))?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = Some(value.trim().parse::<usize>().map_err(|_| "bad Content-Length")?),
            "transfer-encoding" => chunked = value.trim().eq_ignore_ascii_case("chunked"),
            _ => {}
        }
    }
    let mut body = raw[split + 4..].to_vec();
    if chunked {
        body = dechunk(&body)?;
    } else if let Some(length) = length {
        if body.len() < length {
            return Err(format!("body cut short ({} of {length} bytes)", body.len()));
        }
        body.truncate(length);
    }
    let body = String::from_utf8(body).map_err(|_| "body is not UTF-8 text")?;
    Ok(Response { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let end = data.windows(2).position(|w| w == b"\r\n").ok_or("bad chunk")?;
        let size_text = std::str::from_utf8(&data[..end]).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).map_err(|_| "bad chunk size")?;
        data = &data[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err("chunk cut short".into());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_chunked_and_until_close() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello-extra").unwrap();
        assert_eq!((r.status, r.body.as_str()), (200, "hello"));
        let r = parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap();
        assert_eq!(r.body, "abcde");
        let r = parse_response(b"HTTP/1.0 404 Not Found\r\n\r\nnope").unwrap();
        assert_eq!((r.status, r.body.as_str()), (404, "nope"));
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 abc OK\r\n\r\n").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort").is_err());
    }

    #[test]
    fn urls_must_be_ip_literals() {
        assert!(Client::new("http://100.100.100.200", Duration::from_secs(1), Duration::from_secs(1)).is_ok());
        assert!(Client::new("http://127.0.0.1:8080/", Duration::from_secs(1), Duration::from_secs(1)).is_ok());
        assert!(Client::new("http://metadata.example", Duration::from_secs(1), Duration::from_secs(1)).is_err());
        assert!(Client::new("https://100.100.100.200", Duration::from_secs(1), Duration::from_secs(1)).is_err());
    }
}
