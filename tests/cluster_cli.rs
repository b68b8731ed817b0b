//! `distml train --workers N`: the same summary as the in-process trainer, no process left;
//! and the same job with its processes started by a launcher, as `examples/deploy` does.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn distml(dir: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_distml"))
        .args(args)
        .current_dir(dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

/// The job both tests run: train on January, validate on February, four partitions.
const TWO_MONTH_JOB: [&str; 7] = [
    "train",
    "--data",
    "jan.parquet",
    "--valid",
    "feb.parquet",
    "--partitions",
    "4",
];

/// Generates `jan.parquet` (20,000 trips) and `feb.parquet` (5,000) in `d`.
fn two_months(d: &Path) {
    distml(
        d,
        &[
            "generate",
            "taxi",
            "--rows",
            "20000",
            "--out",
            "jan.parquet",
        ],
    );
    distml(
        d,
        &[
            "generate",
            "taxi",
            "--rows",
            "5000",
            "--month",
            "2023-02",
            "--out",
            "feb.parquet",
        ],
    );
}

#[test]
fn train_with_workers_reports_the_local_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_months(d);
    let local = distml(d, &TWO_MONTH_JOB);
    let mut args = TWO_MONTH_JOB.to_vec();
    args.extend(["--workers", "3", "--ps-shards", "2"]);
    let cluster = distml(d, &args);
    assert_eq!(cluster["workers"], 3);
    assert_eq!(local["workers"], 0);
    assert_eq!(cluster["rows_train"], local["rows_train"]);
    let (a, b) = (
        cluster["rmse"].as_f64().unwrap(),
        local["rmse"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-9, "rmse {a} vs {b}");
}

#[test]
fn bad_cluster_flags_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_distml"))
        .args(["train", "--workers", "2", "--consistency", "sometimes"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(env!("CARGO_BIN_EXE_distml"))
        .args(["worker"])
        .env_remove("DISTML_COORDINATOR")
        .env_remove("MASTER_ADDR")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DISTML_COORDINATOR"));
}

/// Waits for `child` to exit by itself, killing it (and failing) after `limit`.
fn exits_within(mut child: Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What `examples/deploy/slurm.sbatch` does, on loopback: every process started by the
/// "launcher" with only the environment to find each other (rank 0 = `train`, rank 1 = a
/// shard, ranks 2–3 = workers). The job ends with the model of `--workers 2` spawned locally,
/// and every member exits on its own.
#[test]
fn a_cluster_started_by_a_launcher_trains_like_spawned_workers() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_months(d);
    let job = [&TWO_MONTH_JOB[..], &["--workers", "2", "--ps-shards", "1"]].concat();
    let spawned = distml(d, &job);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let member = |rank: usize, args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_distml"))
            .args(args)
            .current_dir(d)
            .env("DISTML_COORDINATOR", format!("127.0.0.1:{port}"))
            .env("DISTML_CLUSTER_TOKEN", "a-secret-shared-by-the-launcher")
            .env("SLURM_PROCID", rank.to_string())
            .env("SLURM_NTASKS", "4")
            .env_remove("MLFLOW_TRACKING_URI")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Members first: they wait for a coordinator that is not up yet, as under a real launcher.
    let others = vec![
        member(1, &["ps"]),
        member(2, &["worker"]),
        member(3, &["worker"]),
    ];
    let coordinator = member(0, &job).wait_with_output().unwrap();
    assert!(
        coordinator.status.success(),
        "{}",
        String::from_utf8_lossy(&coordinator.stderr)
    );
    for (rank, child) in (1..).zip(others) {
        let status = exits_within(child, Duration::from_secs(20), &format!("rank {rank}"));
        assert!(status.success(), "rank {rank}: {status}");
    }
    let stdout = String::from_utf8(coordinator.stdout).unwrap();
    let external: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(external["workers"], 2);
    assert_eq!(external["rows_train"], spawned["rows_train"]);
    let (a, b) = (
        external["rmse"].as_f64().unwrap(),
        spawned["rmse"].as_f64().unwrap(),
    );
    assert!((a - b).abs() < 1e-12, "rmse {a} vs {b}");
}
