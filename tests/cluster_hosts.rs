//! A distributed job across hosts with their own addresses: examples/deploy/compose-cluster.yaml
//! (a coordinator, 2 shards and 3 workers, each a container on a Compose network, started as a
//! cluster manager would, finding each other through `DISTML_COORDINATOR`). One worker's host
//! is cut off the network mid-job and let back after the coordinator gave it up: the job
//! finishes with the in-process fit's model, bit for bit — the lost worker's partitions were
//! redone by the others and its return counted nothing twice. Needs Docker with Compose:
//! without them the test says why and skips, except under `CI=true`, where it fails.

mod common;
mod docker_support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::generate_taxi;
use docker_support::{build_image, docker_ready, must, run, Project};

/// Whether `container` is running.
fn running(container: &str) -> bool {
    run(
        "docker",
        &["inspect", "-f", "{{.State.Running}}", container],
        &[],
    )
    .stdout
    .starts_with(b"true")
}

/// Waits for `container` to stop (at most `limit`); its exit code.
fn exit_code(container: &str, limit: Duration) -> i64 {
    let deadline = Instant::now() + limit;
    while running(container) {
        assert!(
            Instant::now() < deadline,
            "{container} still running after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let code = must(
        "docker",
        &["inspect", "-f", "{{.State.ExitCode}}", container],
        &[],
    );
    code.trim().parse().unwrap()
}

/// A file and a directory the containers' non-root user can read and write.
fn shared(dir: &Path) {
    must("chmod", &["-R", "a+rwX", dir.to_str().unwrap()], &[]);
}

#[test]
fn a_worker_host_cut_off_mid_job_leaves_the_in_process_model() {
    let test = "a_worker_host_cut_off_mid_job_leaves_the_in_process_model";
    if !docker_ready(test) {
        return;
    }
    let image = build_image();
    let dir = tempfile::tempdir().unwrap();
    let (data, out, reference) = (
        dir.path().join("data"),
        dir.path().join("out"),
        dir.path().join("reference"),
    );
    for d in [&data, &out, &reference] {
        std::fs::create_dir(d).unwrap();
    }
    generate_taxi(&data, "trips.parquet", 300_000, &[]);
    generate_taxi(
        &data,
        "valid.parquet",
        20_000,
        &["--month", "2023-02", "--seed", "4"],
    );
    shared(dir.path());

    // The oracle: the same job in one process, by the same binary.
    let flags = [
        "--data",
        "/data/trips.parquet",
        "--valid",
        "/data/valid.parquet",
        "--partitions",
        "6",
        "--model",
        "ridge",
        "--solver",
        "lbfgs",
        "--max-iter",
        "100",
    ];
    let mounts = [
        format!("{}:/data:ro", data.display()),
        format!("{}:/out", reference.display()),
    ];
    let mut local = vec![
        "run",
        "--rm",
        "-v",
        &mounts[0],
        "-v",
        &mounts[1],
        "-e",
        "DISTML_RUNS_DIR=/out/runs",
    ];
    local.extend(["--entrypoint", "distml", image, "train"]);
    local.extend(flags);
    local.extend(["--workers", "0", "--model-out", "/out/model"]);
    must("docker", &local, &[]);

    let env = [
        ("DISTML_IMAGE", image),
        ("DATA_DIR", data.to_str().unwrap()),
        ("OUT_DIR", out.to_str().unwrap()),
        ("DISTML_CLUSTER_TOKEN", "test-token-0123456789abcdef"),
        ("HEARTBEAT_TIMEOUT", "4"),
        ("DISTML_PUSH_DELAY_MS", "300"),
    ];
    let project = Project::new("compose-cluster.yaml", "distmlhosts", &env);
    project.compose(&["up", "-d"]);
    let coordinator = project.container("coordinator");
    let worker = project.container("worker-2");
    let network = project.network("cluster");
    // Cut the worker's host off once the fit is under way (each round waits 300 ms per push).
    let deadline = Instant::now() + Duration::from_secs(120);
    while !logs(&coordinator).contains("fitting ridge") {
        assert!(
            Instant::now() < deadline,
            "the fit never started: {}",
            logs(&coordinator)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        running(&coordinator),
        "the job ended before the cut: {}",
        logs(&coordinator)
    );
    assert!(
        !out.join("summary.json").exists(),
        "the job finished before the cut"
    );
    must("docker", &["network", "disconnect", &network, &worker], &[]);
    // Back after the coordinator has given it up (the 4 s heartbeat timeout).
    std::thread::sleep(Duration::from_secs(6));
    let _ = run("docker", &["network", "connect", &network, &worker], &[]);

    let code = exit_code(&coordinator, Duration::from_secs(240));
    assert_eq!(code, 0, "the job failed: {}", logs(&coordinator));
    let log = logs(&coordinator);
    assert!(
        log.contains("lost; reassigning"),
        "no worker was lost: {log}"
    );
    let model = |dir: &Path| -> serde_json::Value {
        let text = std::fs::read_to_string(dir.join("model/model.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    };
    let (cluster, local) = (model(&out), model(&reference));
    let bits = |m: &serde_json::Value| -> Vec<u64> {
        let data = m["coefficients"]["data"].as_array().unwrap().iter();
        data.chain([&m["intercept"]])
            .map(|v| v.as_f64().unwrap().to_bits())
            .collect()
    };
    assert_eq!(cluster["params"], local["params"]);
    let (got, want) = (bits(&cluster), bits(&local));
    let first = got.iter().zip(&want).position(|(a, b)| a != b);
    assert!(
        first.is_none() && got.len() == want.len(),
        "the cluster's model is not the in-process one: coefficient {first:?} differs"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["workers"], 3, "{summary}");
}

/// The container's output, for failure messages.
fn logs(container: &str) -> String {
    let output = run("docker", &["logs", "--tail", "40", container], &[]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
