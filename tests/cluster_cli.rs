//! `distml train --workers N`: the same summary as the in-process trainer, no process left.

use std::path::Path;
use std::process::Command;

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

#[test]
fn train_with_workers_reports_the_local_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
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
    let common = [
        "train",
        "--data",
        "jan.parquet",
        "--valid",
        "feb.parquet",
        "--partitions",
        "4",
    ];
    let local = distml(d, &common);
    let mut args = common.to_vec();
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
