//! A distributed job across hosts with their own addresses: examples/deploy/compose-cluster.yaml
//! (a coordinator, 2 shards and 3 workers, each a container on a Compose network, started as a
//! cluster manager would, finding each other through `DISTML_COORDINATOR`). One worker's host
//! is cut off the network mid-job and let back after the coordinator gave it up: the job
//! finishes with the in-process fit's model, bit for bit — the lost worker's partitions were
//! redone by the others and its return counted nothing twice. Then, separately, a shard's host
//! is cut off and its container restarted, as a cluster manager would: the lost shard's round
//! is recomputed on its replacement and the model is again the in-process one. Needs Docker
//! with Compose:
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

/// One drill: the data, the in-process oracle's model, and the job's Compose project running
/// until the fit is under way.
struct Drill {
    _dir: tempfile::TempDir,
    out: std::path::PathBuf,
    reference: std::path::PathBuf,
    project: Project,
    coordinator: String,
    network: String,
}

/// Drills run one at a time: six containers each on two cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Drill {
    /// Prepares the data, fits the oracle, starts the job (project `name`) and returns once
    /// the coordinator is fitting the learner.
    fn start(image: &str, name: &str) -> Drill {
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
        fit_in_process(image, &data, &reference);
        let env = [
            ("DISTML_IMAGE", image),
            ("DATA_DIR", data.to_str().unwrap()),
            ("OUT_DIR", out.to_str().unwrap()),
            ("DISTML_CLUSTER_TOKEN", "test-token-0123456789abcdef"),
            ("HEARTBEAT_TIMEOUT", "4"),
            ("DISTML_PUSH_DELAY_MS", "300"),
        ];
        let project = Project::new("compose-cluster.yaml", name, &env);
        project.compose(&["up", "-d"]);
        let coordinator = project.container("coordinator");
        let network = project.network("cluster");
        // Cut a host off once the fit is under way (each round waits 300 ms per push).
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
            running(&coordinator) && !out.join("summary.json").exists(),
            "the job ended before the cut: {}",
            logs(&coordinator)
        );
        Drill {
            _dir: dir,
            out,
            reference,
            project,
            coordinator,
            network,
        }
    }

    /// Waits for the job's end and checks it succeeded with the oracle's model, bit for bit;
    /// returns the coordinator's log.
    fn finishes_with_the_in_process_model(&self) -> String {
        let code = exit_code(&self.coordinator, Duration::from_secs(240));
        let log = logs(&self.coordinator);
        assert_eq!(code, 0, "the job failed: {log}");
        let model = |dir: &Path| -> serde_json::Value {
            let text = std::fs::read_to_string(dir.join("model/model.json")).unwrap();
            serde_json::from_str(&text).unwrap()
        };
        let (cluster, local) = (model(&self.out), model(&self.reference));
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
        let summary = std::fs::read_to_string(self.out.join("summary.json")).unwrap();
        let summary: serde_json::Value = serde_json::from_str(&summary).unwrap();
        assert_eq!(summary["workers"], 3, "{summary}");
        log
    }
}

/// The oracle: the same job in one process, by the same binary, its model in `reference`.
fn fit_in_process(image: &str, data: &Path, reference: &Path) {
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
    local.extend([
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
    ]);
    local.extend(["--workers", "0", "--model-out", "/out/model"]);
    must("docker", &local, &[]);
}

#[test]
fn a_worker_host_cut_off_mid_job_leaves_the_in_process_model() {
    let test = "a_worker_host_cut_off_mid_job_leaves_the_in_process_model";
    if !docker_ready(test) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let drill = Drill::start(build_image(), "distmlhosts");
    let worker = drill.project.container("worker-2");
    must(
        "docker",
        &["network", "disconnect", &drill.network, &worker],
        &[],
    );
    // Back after the coordinator has given it up (the 4 s heartbeat timeout).
    std::thread::sleep(Duration::from_secs(6));
    let _ = run(
        "docker",
        &["network", "connect", &drill.network, &worker],
        &[],
    );
    let log = drill.finishes_with_the_in_process_model();
    assert!(
        log.contains("lost; reassigning"),
        "no worker was lost: {log}"
    );
}

/// A shard's host cut off mid-job: the coordinator declares it lost after the heartbeat
/// timeout and waits; the cut-off shard exits on its own (no coordinator heard for the
/// timeout); the host comes back and the cluster manager (this test) restarts the container,
/// whose new shard registers with the same rank — the interrupted round is recomputed and
/// the job ends with the in-process model.
#[test]
fn a_shard_host_cut_off_and_restarted_leaves_the_in_process_model() {
    let test = "a_shard_host_cut_off_and_restarted_leaves_the_in_process_model";
    if !docker_ready(test) {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let drill = Drill::start(build_image(), "distmlshardcut");
    let shard = drill.project.container("ps-2");
    must(
        "docker",
        &["network", "disconnect", &drill.network, &shard],
        &[],
    );
    // The shard gives up on its coordinator after the heartbeat timeout and exits.
    exit_code(&shard, Duration::from_secs(30));
    // Compose's service name is a network alias, which a plain reconnect would drop.
    let reconnect = [
        "network",
        "connect",
        "--alias",
        "ps-2",
        &drill.network,
        &shard,
    ];
    must("docker", &reconnect, &[]);
    must("docker", &["start", &shard], &[]);
    let log = drill.finishes_with_the_in_process_model();
    assert!(
        log.contains("ps shard 2 at ps-2:") && log.contains("replaced by ps-2:"),
        "no shard was replaced: {log}"
    );
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
