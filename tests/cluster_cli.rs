//! `distml train --workers N`: the same summary as the in-process trainer, no process left;
//! and the same job with its processes started by a launcher, as `examples/deploy` does.

mod cluster_support;
mod common;

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
    let _cores = cluster_support::exclusive();
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
    // The same model and a deterministic evaluation: the same metrics, bit for bit.
    for key in ["rmse", "mae", "r2"] {
        let (a, b) = (cluster[key].as_f64().unwrap(), local[key].as_f64().unwrap());
        assert_eq!(a.to_bits(), b.to_bits(), "{key} {a} vs {b}");
    }
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
        .args(["train", "--workers", "2", "--rendezvous-timeout", "0"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rendezvous-timeout"));
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

#[test]
fn a_local_job_refuses_more_workers_than_partitions_or_the_per_core_cap() {
    let dir = tempfile::tempdir().unwrap();
    let data = common::generate_taxi(dir.path(), "jan.parquet", 2_000, &[]);
    let data = data.to_str().unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec!["train", "--data", data, "--model", "linear"];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_distml"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let out = train(&["--workers", "10000"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--workers") && err.contains("per core"),
        "{err}"
    );
    let out = train(&["--workers", "3", "--partitions", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("3 workers for 2 partitions"), "{err}");
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

/// What `examples/deploy/slurm.sbatch` and `kubernetes.yaml` do, on loopback: every process
/// started by a "launcher" with only the environment to find each other — and each member
/// with another launcher's variables: Kubernetes' `JOB_COMPLETION_INDEX` for the shard,
/// Slurm's, torchrun's (`RANK`, `WORLD_SIZE`, `MASTER_ADDR`/`MASTER_PORT`) and Open MPI's for
/// the three workers. The coordinator listens on 127.0.0.1 (no `DISTML_BIND`), the shard on
/// every interface (`DISTML_BIND=0.0.0.0`). The job ends with the model of `--workers 3`
/// spawned locally, bit for bit, and every member exits on its own.
#[test]
fn a_cluster_started_by_launchers_trains_like_spawned_workers() {
    let _cores = cluster_support::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    two_months(d);
    let job = [&TWO_MONTH_JOB[..], &["--workers", "3", "--ps-shards", "1"]].concat();
    let spawned = distml(d, &job);

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let coordinator_at = format!("127.0.0.1:{port}");
    let port_text = port.to_string();
    let member = |args: &[&str], vars: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_distml"))
            .args(args)
            .current_dir(d)
            .env("DISTML_CLUSTER_TOKEN", "a-secret-shared-by-the-launcher")
            .envs(vars.iter().copied())
            .env_remove("MLFLOW_TRACKING_URI")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let distml_coordinator = ("DISTML_COORDINATOR", coordinator_at.as_str());
    // Members first: they wait for a coordinator that is not up yet, as under a real launcher.
    let others = vec![
        member(
            &["ps"],
            &[
                distml_coordinator,
                ("JOB_COMPLETION_INDEX", "1"),
                ("DISTML_BIND", "0.0.0.0"),
                ("DISTML_ADVERTISE", "127.0.0.1"),
            ],
        ),
        member(
            &["worker"],
            &[
                distml_coordinator,
                ("SLURM_PROCID", "2"),
                ("SLURM_NTASKS", "5"),
            ],
        ),
        member(
            &["worker"],
            &[
                ("MASTER_ADDR", "127.0.0.1"),
                ("MASTER_PORT", port_text.as_str()),
                ("RANK", "3"),
                ("WORLD_SIZE", "5"),
            ],
        ),
        member(
            &["worker"],
            &[
                distml_coordinator,
                ("OMPI_COMM_WORLD_RANK", "4"),
                ("OMPI_COMM_WORLD_SIZE", "5"),
            ],
        ),
    ];
    let coordinator = member(
        &job,
        &[("MASTER_ADDR", "127.0.0.1"), ("MASTER_PORT", &port_text)],
    );
    let shard_pid = others[0].id();
    let shard_listens = std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let addresses = cluster_listening(shard_pid);
            if !addresses.is_empty() {
                return addresses;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Vec::new()
    });
    let coordinator_pid = coordinator.id();
    let coordinator_listens = (0..600)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            cluster_listening(coordinator_pid)
        })
        .find(|a| !a.is_empty())
        .unwrap_or_default();
    let coordinator = coordinator.wait_with_output().unwrap();
    assert!(
        coordinator.status.success(),
        "{}",
        String::from_utf8_lossy(&coordinator.stderr)
    );
    for (rank, child) in (1..).zip(others) {
        let status = exits_within(child, Duration::from_secs(20), &format!("rank {rank}"));
        assert!(status.success(), "rank {rank}: {status}");
    }
    assert_eq!(
        coordinator_listens,
        [std::net::SocketAddrV4::new([127, 0, 0, 1].into(), port)],
        "the coordinator binds loopback by default"
    );
    let shard = shard_listens.join().unwrap();
    assert!(
        !shard.is_empty() && shard.iter().all(|a| a.ip().is_unspecified()),
        "the shard binds DISTML_BIND=0.0.0.0: {shard:?}"
    );
    let stdout = String::from_utf8(coordinator.stdout).unwrap();
    let external: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(external["workers"], 3);
    assert_eq!(external["rows_train"], spawned["rows_train"]);
    for key in ["rmse", "mae", "r2"] {
        let (a, b) = (
            external[key].as_f64().unwrap(),
            spawned[key].as_f64().unwrap(),
        );
        assert_eq!(a.to_bits(), b.to_bits(), "{key} {a} vs {b}");
    }
}

/// The IPv4 addresses `pid` listens on (its socket inodes matched in `/proc/net/tcp`).
fn cluster_listening(pid: u32) -> Vec<std::net::SocketAddrV4> {
    cluster_support::listening_addresses(pid)
}
