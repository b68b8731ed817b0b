//! Shared helpers of the cluster tests: a generated table, the local reference fit, options
//! that spawn this crate's binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use distml::cluster::ClusterOptions;
use distml::data::{DataSource, ReadOptions};
use distml::model::{LinearModel, Solver};
use distml::train::{fit_local, pipeline_spec, TrainConfig, TrainSummary};

/// Partitions of every test job.
pub const PARTITIONS: usize = 8;

/// Writes `rows` rows: four numeric features, a 6-level category, y linear plus noise.
pub fn write_table(dir: &Path, rows: usize) -> PathBuf {
    let path = dir.join("table.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(out, "x1,x2,x3,x4,zone,y").unwrap();
    // A small LCG keeps the data identical on every run without a dependency.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..rows {
        let x: Vec<f64> = (0..4).map(|j| next() * (j as f64 + 1.0) * 10.0).collect();
        let zone = (next() * 6.0) as usize;
        let noise = (next() + next() + next() - 1.5) * 4.0;
        let y = 3.0 + 0.5 * x[0] - 0.25 * x[1] + 0.1 * x[2] + 0.05 * x[3] + zone as f64 + noise;
        writeln!(out, "{},{},{},{},z{zone},{y}", x[0], x[1], x[2], x[3]).unwrap();
    }
    out.flush().unwrap();
    path
}

/// A generic regression job on the table.
pub fn config(data: &Path, solver: Solver) -> TrainConfig {
    TrainConfig {
        data: vec![data.to_path_buf()],
        target: Some("y".into()),
        categorical: vec!["zone".into()],
        numeric: vec!["x1".into(), "x2".into(), "x3".into(), "x4".into()],
        solver,
        reg: Some(0.01),
        partitions: Some(PARTITIONS),
        max_iter: 100,
        tol: 1e-9,
        ..Default::default()
    }
}

/// The local trainer on the same data and partitions (the reference).
pub fn local_fit(config: &TrainConfig) -> (LinearModel, TrainSummary) {
    let source = DataSource::open(
        &config.data,
        &ReadOptions {
            partitions: config.partitions,
            ..Default::default()
        },
    )
    .unwrap();
    let spec = pipeline_spec(config, &source).unwrap();
    let fitted = spec.fit(&source, &|| {}).unwrap();
    let blocks = fitted.transform_source(&source, &|| {}).unwrap();
    fit_local(
        &config.learner_params().unwrap(),
        &blocks.blocks,
        fitted.layout(),
    )
    .unwrap()
}

/// Options spawning this crate's `distml` binary, with a short heartbeat timeout.
pub fn options(workers: usize, shards: usize) -> ClusterOptions {
    ClusterOptions {
        workers,
        ps_shards: shards,
        heartbeat_timeout: Duration::from_millis(1500),
        program: Some(PathBuf::from(env!("CARGO_BIN_EXE_distml"))),
        ..Default::default()
    }
}

/// Largest absolute difference of two models' coefficients and intercepts.
pub fn max_diff(a: &LinearModel, b: &LinearModel) -> f64 {
    assert_eq!(a.coefficients.len(), b.coefficients.len());
    a.coefficients
        .iter()
        .zip(b.coefficients.iter())
        .map(|(x, y)| (x - y).abs())
        .fold((a.intercept - b.intercept).abs(), f64::max)
}

/// Kills a process by PID (SIGKILL), as a crash would.
pub fn kill(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status();
}
