//! The serving topology for real: the repository's Dockerfile built on a local Debian base
//! (tests/docker/images.sh: debootstrap + `docker import`, no registry), then
//! examples/deploy/serve-compose.yaml run by Docker Compose — two "machines" each running
//! `distml serve --replicas 2`, behind an nginx front. Requests through the front get
//! `distml predict`'s predictions from both machines; one machine stopped mid-load loses no
//! request (the front retries it on the other). Needs Docker with Compose: without them the
//! test says why and skips, except under `CI=true`, where it fails.

mod common;
mod docker_support;
mod serve_support;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{distml_in, generate_taxi, json_result};
use docker_support::{build_image, docker_ready, must, Project};
use serve_support::client;

const NGINX: &str = "distml-local/nginx:bookworm";

/// A free loopback port for the front.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A taxi model readable by the containers' non-root user, the CSV request for 100 rows of
/// another month (raw columns) and `distml predict`'s predictions for them.
fn model_and_request(d: &Path) -> (PathBuf, String, Vec<u64>) {
    let train = generate_taxi(d, "jan.parquet", 20_000, &[]);
    let rows = generate_taxi(
        d,
        "feb.parquet",
        100,
        &["--month", "2023-02", "--seed", "3"],
    );
    let model = d.join("model");
    let (train, rows, model_s) = (
        train.to_str().unwrap(),
        rows.to_str().unwrap(),
        model.to_str().unwrap(),
    );
    let args = [
        "train",
        "--data",
        train,
        "--preset",
        "taxi-rich",
        "--model",
        "gbt",
    ];
    json_result(&distml_in(
        &[&args[..], &["--workers", "0", "--model-out", model_s]].concat(),
        d,
    ));
    json_result(&distml_in(
        &[
            "predict", "--model", model_s, "--data", rows, "--out", "p.csv",
        ],
        d,
    ));
    must("chmod", &["-R", "a+rX", d.to_str().unwrap()], &[]);
    let text = std::fs::read_to_string(d.join("p.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let keep = [
        at("pickup_datetime"),
        at("PULocationID"),
        at("DOLocationID"),
        at("trip_distance"),
    ];
    let mut csv = String::from("tpep_pickup_datetime,PULocationID,DOLocationID,trip_distance\n");
    let mut want = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.split(',').collect();
        csv.push_str(
            &keep
                .iter()
                .map(|&i| fields[i])
                .collect::<Vec<_>>()
                .join(","),
        );
        csv.push('\n');
        want.push(fields[at("prediction")].parse::<f64>().unwrap().to_bits());
    }
    (model, csv, want)
}

/// One scoring request through the front: its status, the answering machine and whether the
/// predictions were `want`'s.
fn score(url: &str, csv: &str, want: &[u64]) -> (u16, String, bool) {
    let reply = match client()
        .post(url)
        .header("content-type", "text/csv")
        .body(csv.to_string())
        .timeout(Duration::from_secs(30))
        .send()
    {
        Ok(reply) => reply,
        Err(e) => return (0, e.to_string(), false),
    };
    let status = reply.status().as_u16();
    // A retried request lists every machine tried; the last one answered.
    let upstream = reply
        .headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(", ").next())
        .unwrap_or("")
        .to_string();
    let body: serde_json::Value = reply.json().unwrap_or_default();
    let got: Vec<u64> = body["predictions"]
        .as_array()
        .map(|p| {
            p.iter()
                .filter_map(|v| v.as_f64())
                .map(f64::to_bits)
                .collect()
        })
        .unwrap_or_default();
    (status, upstream, got == want)
}

#[test]
fn two_machines_behind_a_front_lose_no_request_when_one_stops() {
    let test = "two_machines_behind_a_front_lose_no_request_when_one_stops";
    if !docker_ready(test) {
        return;
    }
    let image = build_image();
    let user = must(
        "docker",
        &["run", "--rm", "--entrypoint", "id", image, "-u"],
        &[],
    );
    assert_eq!(user.trim(), "10001", "the image runs as a non-root user");

    let dir = tempfile::tempdir().unwrap();
    let (model, csv, want) = model_and_request(dir.path());
    let port = free_port().to_string();
    let env = [
        ("DISTML_IMAGE", image),
        ("NGINX_IMAGE", NGINX),
        ("MODEL_DIR", model.to_str().unwrap()),
        ("FRONT_PORT", port.as_str()),
    ];
    let project = Project::new("serve-compose.yaml", "distmlserve", &env);
    project.compose(&["up", "-d"]);
    let url = format!("http://127.0.0.1:{port}/invocations");
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut seen = std::collections::HashSet::new();
    while seen.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "both machines never answered: {seen:?}"
        );
        let (status, upstream, right) = score(&url, &csv, &want);
        if status == 200 {
            assert!(right, "predictions differ from distml predict's");
            seen.insert(upstream);
        } else {
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    // Load from two clients (bounded: 45 s or 3,000 requests each) while machine-a stops.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (stop, failures, url, csv, want) = (
                stop.clone(),
                failures.clone(),
                url.clone(),
                csv.clone(),
                want.clone(),
            );
            std::thread::spawn(move || {
                let deadline = Instant::now() + Duration::from_secs(45);
                let mut sent = 0;
                while !stop.load(Ordering::SeqCst) && Instant::now() < deadline && sent < 3_000 {
                    let (status, upstream, right) = score(&url, &csv, &want);
                    if status != 200 || !right {
                        failures
                            .lock()
                            .unwrap()
                            .push(format!("{status} from {upstream}"));
                    }
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    project.compose(&["stop", "-t", "25", "machine-a"]);
    let mut after = std::collections::HashSet::new();
    for _ in 0..20 {
        let (status, upstream, right) = score(&url, &csv, &want);
        assert!(
            status == 200 && right,
            "{status} from {upstream} after the stop"
        );
        after.insert(upstream);
    }
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let sent: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    let failures = failures.lock().unwrap();
    assert!(
        failures.is_empty(),
        "{} of {sent} requests failed: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(sent > 50, "only {sent} requests were sent");
    assert_eq!(
        after.len(),
        1,
        "after the stop one machine answers: {after:?}"
    );
    eprintln!("{test}: {sent} requests, none lost; answered by {seen:?}, then by {after:?}");
}
