//! A scripted HTTP server on loopback for unit tests: answers in order, records every request.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

/// One recorded request.
#[derive(Clone, Debug)]
pub(crate) struct Seen {
    /// When its request line arrived.
    pub(crate) at: Instant,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Seen {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A canned answer: status, content type, extra headers, body.
pub(crate) struct Reply(
    pub(crate) u16,
    pub(crate) &'static str,
    pub(crate) Vec<(&'static str, &'static str)>,
    pub(crate) String,
);

impl Reply {
    pub(crate) fn json(status: u16, body: &str) -> Self {
        Reply(status, "application/json", Vec::new(), body.to_string())
    }
}

/// Serves `replies` one per connection, then stops; returns the base URI and the request log.
pub(crate) fn serve(replies: Vec<Reply>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let uri = format!("http://{}", listener.local_addr().expect("addr"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    thread::spawn(move || {
        for reply in replies {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                return;
            }
            let at = Instant::now();
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or_default().to_string();
            let path = parts.next().unwrap_or_default().to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.trim().split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
            }
            let len: usize = headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; len];
            let _ = reader.read_exact(&mut body);
            log.lock().expect("log").push(Seen {
                at,
                method,
                path,
                headers,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
            let Reply(status, content_type, extra, text) = reply;
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                text.len()
            );
            for (k, v) in extra {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&text);
            let mut stream = reader.into_inner();
            let _ = stream.write_all(out.as_bytes());
        }
    });
    (uri, seen)
}

/// Accepts connections and closes each at once, before any answer; returns the base URI and
/// the count of connections accepted.
pub(crate) fn hang_up() -> (String, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let uri = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(Mutex::new(0));
    let counted = Arc::clone(&count);
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            *counted.lock().expect("count") += 1;
            drop(stream);
        }
    });
    (uri, count)
}
