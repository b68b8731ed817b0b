//! Shared helpers of the serving tests: a `distml serve` process on an ephemeral loopback
//! port, and an HTTP client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// An HTTP client (rustls with ring, as the library's tracking client uses).
pub fn client() -> reqwest::blocking::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::new()
}

/// A running `distml serve`, killed by PID when dropped.
pub struct Server {
    /// The process (the supervisor with `--replicas`).
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub addr: String,
    /// The line it printed once listening.
    pub listening: Value,
}

impl Server {
    /// Starts `distml serve --model MODEL --port 0 EXTRA...` and waits for its listening line.
    pub fn start(model: &str, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_distml"))
            .args(["serve", "--model", model, "--port", "0"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let listening: Value = serde_json::from_str(&line).unwrap_or_else(|_| panic!("{line}"));
        let addr = format!("http://{}", listening["listening"].as_str().unwrap());
        Server {
            child,
            addr,
            listening,
        }
    }

    /// POSTs `body` to `/invocations`; the status and the JSON answer (null if not JSON).
    pub fn post(&self, content_type: &str, body: impl Into<String>) -> (u16, Value) {
        self.post_to("/invocations", content_type, body)
    }

    /// POSTs `body` to `path`; the status and the JSON answer (null if not JSON).
    pub fn post_to(&self, path: &str, content_type: &str, body: impl Into<String>) -> (u16, Value) {
        let reply = client()
            .post(format!("{}{path}", self.addr))
            .header("content-type", content_type)
            .body(body.into())
            .timeout(Duration::from_secs(30))
            .send()
            .unwrap();
        let status = reply.status().as_u16();
        (
            status,
            serde_json::from_str(&reply.text().unwrap()).unwrap_or(Value::Null),
        )
    }

    /// GETs `path`; the status (0 when nothing answers).
    pub fn get(&self, path: &str) -> u16 {
        self.get_json(path).0
    }

    /// GETs `path`; the status (0 when nothing answers) and the JSON answer.
    pub fn get_json(&self, path: &str) -> (u16, Value) {
        match client().get(format!("{}{path}", self.addr)).send() {
            Ok(reply) => {
                let status = reply.status().as_u16();
                let body = reply.text().unwrap_or_default();
                (status, serde_json::from_str(&body).unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bits of each prediction (`field` of objects when given).
pub fn bits(predictions: &Value, field: Option<&str>) -> Vec<u64> {
    predictions["predictions"]
        .as_array()
        .unwrap_or_else(|| panic!("{predictions}"))
        .iter()
        .map(|p| field.map_or(p, |f| &p[f]).as_f64().unwrap().to_bits())
        .collect()
}
