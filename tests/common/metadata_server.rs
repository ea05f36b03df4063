//! A metadata endpoint stand-in on loopback, for the metadata sources'
//! tests (the integration tests, and `src/sources/tencent_metadata/tests.rs`,
//! which includes this file): it answers each request as a closure says,
//! framed as the test asks (keep-alive, chunked, HTTP/1.0), or fails the
//! ways endpoints fail (silent, not HTTP, slow first replies). Standard
//! library only. It stops by itself: a bounded number of connections, each
//! bounded in time.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Framing {
    /// Content-Length and `Connection: close`, then closes.
    Close,
    /// Content-Length, and the connection stays open for the next request
    /// (until the client closes it), whatever the client asked for.
    KeepAlive,
    /// Transfer-Encoding: chunked, in small chunks, connection kept open.
    Chunked,
    /// An HTTP/1.0 reply without a length: the body ends when the server closes.
    Http10,
}

/// How the connection itself fails, whatever the request.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Transport {
    Works,
    /// Accepts, answers nothing for longer than any timeout.
    Silent,
    /// Answers bytes that are not HTTP.
    Garbage,
}

/// The status and body for a request: its first line, and its whole head.
pub type Answer = dyn Fn(&str, &str) -> (u16, String) + Send + Sync;

#[derive(Clone, Copy, Debug)]
pub struct Server {
    pub framing: Framing,
    pub transport: Transport,
    /// The first this many connections are answered only after 700 ms.
    pub slow_first: usize,
}

impl Default for Server {
    fn default() -> Server {
        Server { framing: Framing::Close, transport: Transport::Works, slow_first: 0 }
    }
}

impl Server {
    /// Serves on 127.0.0.1, one thread per connection, up to 200
    /// connections; returns the URL and the request lines seen.
    pub fn serve(self, answer: Arc<Answer>) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let connections = Arc::new(AtomicUsize::new(0));
        thread::spawn(move || {
            for stream in listener.incoming().take(200) {
                let Ok(stream) = stream else { continue };
                let n = connections.fetch_add(1, Ordering::SeqCst);
                let (log, answer) = (log.clone(), answer.clone());
                thread::spawn(move || self.connection(stream, n, &log, &*answer));
            }
        });
        (url, seen)
    }

    fn connection(&self, mut stream: TcpStream, n: usize, log: &Mutex<Vec<String>>, answer: &Answer) {
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        loop {
            let Some(request) = read_request(&mut stream) else { return };
            let first = request.lines().next().unwrap_or("").to_owned();
            log.lock().unwrap().push(first.clone());
            if n < self.slow_first {
                thread::sleep(Duration::from_millis(700));
            }
            match self.transport {
                Transport::Silent => return thread::sleep(Duration::from_secs(3)),
                Transport::Garbage => return drop(stream.write_all(b"SSH-2.0-not-http\r\n")),
                Transport::Works => {}
            }
            let (status, body) = answer(&first, &request);
            let reason = if status == 200 { "OK" } else { "Error" };
            let reply = match self.framing {
                Framing::Close => format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                ),
                Framing::KeepAlive => format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{body}",
                    body.len()
                ),
                Framing::Chunked => {
                    let mut text = format!(
                        "HTTP/1.1 {status} {reason}\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
                    );
                    for chunk in body.as_bytes().chunks(7) {
                        text += &format!("{:x}\r\n{}\r\n", chunk.len(), String::from_utf8_lossy(chunk));
                    }
                    text + "0\r\n\r\n"
                }
                Framing::Http10 => format!("HTTP/1.0 {status} {reason}\r\n\r\n{body}"),
            };
            if stream.write_all(reply.as_bytes()).is_err() || matches!(self.framing, Framing::Close | Framing::Http10) {
                return;
            }
        }
    }
}

/// One request's head (the clients send no bodies but a PUT's empty one).
pub fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            _ => return None,
        }
    }
    Some(String::from_utf8_lossy(&raw).into_owned())
}
