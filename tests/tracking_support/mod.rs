//! Shared helpers of the tracking integration tests: the server under test, and private servers.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use distml::tracking::{RetryPolicy, TrackingConfig};

// Every target that uses these helpers also has `mod common;` (one reading of `CI`).
use crate::common::{in_ci as ci, skip};

/// The server from `MLFLOW_TRACKING_URI`; with `CI=true` a missing server fails the test.
pub fn server_uri(test: &str) -> Option<String> {
    match std::env::var("MLFLOW_TRACKING_URI") {
        Ok(uri) if !uri.trim().is_empty() => Some(uri.trim().trim_end_matches('/').to_string()),
        _ if ci() => panic!(
            "{test}: CI=true but MLFLOW_TRACKING_URI is unset; start a server with `eval \"$(.ci/mlflow-server.sh start)\"`"
        ),
        _ => {
            skip(test, "no server (set MLFLOW_TRACKING_URI, see .ci/mlflow-server.sh)");
            None
        }
    }
}

/// The `mlflow` executable for private servers (`DISTML_MLFLOW_BIN`, default `/work/venv/bin/mlflow`).
pub fn mlflow_bin(test: &str) -> Option<PathBuf> {
    let bin = PathBuf::from(
        std::env::var("DISTML_MLFLOW_BIN").unwrap_or_else(|_| "/work/venv/bin/mlflow".into()),
    );
    if bin.is_file() {
        return Some(bin);
    }
    if ci() {
        panic!(
            "{test}: CI=true but {} does not exist; set DISTML_MLFLOW_BIN",
            bin.display()
        );
    }
    let why = format!(
        "no mlflow executable at {} (set DISTML_MLFLOW_BIN)",
        bin.display()
    );
    skip(test, &why);
    None
}

/// A config for `uri` with a run store in `dir` and a short retry budget.
pub fn config(uri: Option<&str>, dir: &Path, retries: u32) -> TrackingConfig {
    TrackingConfig {
        tracking_uri: uri.map(str::to_string),
        experiment: "distml-tests".into(),
        retry: RetryPolicy {
            max_retries: retries,
            backoff_factor: 0.1,
            ..RetryPolicy::default()
        },
        timeout: Duration::from_secs(30),
        runs_dir: dir.to_path_buf(),
        ..TrackingConfig::default()
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// A private `mlflow server` process, stopped (children first, by PID) on drop.
pub struct OwnServer {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl OwnServer {
    /// Starts a server on `port` with its SQLite DB and artifacts in `dir`; waits for /health (90 s).
    pub fn start(bin: &Path, dir: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Self {
        std::fs::create_dir_all(dir.join("artifacts")).expect("data dir");
        let log = std::fs::File::create(dir.join(format!("server-{port}.log"))).expect("log");
        let err = log.try_clone().expect("log");
        let db = format!("sqlite:///{}/mlflow.db", dir.display());
        let artifacts = dir.join("artifacts");
        let mut cmd = Command::new(bin);
        cmd.args(["server", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--backend-store-uri", &db])
            .arg("--artifacts-destination")
            .arg(&artifacts)
            .args(["--workers", "1"])
            .args(extra)
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn mlflow server");
        let mut server = OwnServer {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let started = Instant::now();
        while !health(port) {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("mlflow server exited with {status}; see {}", dir.display());
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "mlflow server not healthy after 90 s"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        eprintln!(
            "own mlflow server pid {} on port {port} ready after {:.1}s",
            server.child.id(),
            started.elapsed().as_secs_f64()
        );
        server
    }

    /// The server's URI.
    pub fn uri(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops every descendant, then the server itself, by PID; waits until they are gone.
    pub fn stop(&mut self) {
        let pid = self.child.id();
        let children = descendants(pid);
        for child in &children {
            signal(*child, "-TERM");
        }
        signal(pid, "-TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let parent_done = matches!(self.child.try_wait(), Ok(Some(_)));
            let children_done = children.iter().all(|c| !alive(*c));
            if parent_done && children_done {
                break;
            }
            if Instant::now() > deadline {
                for child in &children {
                    signal(*child, "-KILL");
                }
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            self.stop();
        }
    }
}

fn descendants(pid: u32) -> Vec<u32> {
    let out = Command::new("pgrep")
        .args(["-P", &pid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut all = Vec::new();
    for child in out.split_whitespace().filter_map(|s| s.parse().ok()) {
        all.extend(descendants(child));
        all.push(child);
    }
    all
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false)
}

/// True when `GET /health` answers 200.
pub fn health(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request =
        format!("GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200")
}
