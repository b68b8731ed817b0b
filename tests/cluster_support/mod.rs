//! Shared helpers of the cluster tests: a generated table, the local reference fit, options
//! that spawn this crate's binary.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use distml::cluster::{ClusterEvent, ClusterJob, ClusterOptions};
use distml::data::{DataSource, ReadOptions};
use distml::feature::{FeatureBlock, FittedPipeline};
use distml::model::glm::GlmModel;
use distml::model::{Learner, Model, TrainSummary};
use distml::train::{fit_local, pipeline_spec, FeatureSettings};

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

/// A generic regression job on the table: reg 0.01, tol 1e-9, then `settings` (e.g. the
/// solver).
pub fn job(data: &Path, settings: &[(&str, &str)]) -> ClusterJob {
    let source = DataSource::open(&[data], &read_options()).unwrap();
    let features = FeatureSettings {
        target: Some("y".into()),
        categorical: vec!["zone".into()],
        numeric: ["x1", "x2", "x3", "x4"].map(String::from).to_vec(),
        preset: None,
    };
    let mut all = vec![("reg", "0.01"), ("max-iter", "100"), ("tol", "1e-9")];
    all.extend_from_slice(settings);
    ClusterJob {
        data: vec![data.to_path_buf()],
        partitions: Some(PARTITIONS),
        pipeline: pipeline_spec(&features, &source, false).unwrap(),
        learner: Learner::with_settings("linear".parse().unwrap(), all).unwrap(),
        valid: Vec::new(),
    }
}

fn read_options() -> ReadOptions {
    ReadOptions {
        partitions: Some(PARTITIONS),
        ..Default::default()
    }
}

/// The job's blocks, transformed by the in-process pipeline fit (the reference).
pub fn local_blocks(job: &ClusterJob) -> (FittedPipeline, Vec<FeatureBlock>) {
    let source = DataSource::open(&job.data, &read_options()).unwrap();
    let fitted = job.pipeline.fit(&source, &|| {}).unwrap();
    let blocks = fitted.transform_source(&source, &|| {}).unwrap().blocks;
    (fitted, blocks)
}

/// The local trainer on the same data and partitions (the reference).
pub fn local_fit(job: &ClusterJob) -> (GlmModel, TrainSummary) {
    let (fitted, blocks) = local_blocks(job);
    let (model, summary) = fit_local(&job.learner, &blocks, fitted.layout()).unwrap();
    (glm(&model).clone(), summary)
}

/// The linear model inside a fitted model.
pub fn glm(model: &Model) -> &GlmModel {
    match model {
        Model::Glm(m) => m,
        other => panic!("not a GLM: {}", other.kind()),
    }
}

/// Options spawning this crate's `distml` binary, with a heartbeat timeout long enough for
/// process-heavy tests sharing two cores.
pub fn options(workers: usize, shards: usize) -> ClusterOptions {
    ClusterOptions {
        workers,
        ps_shards: shards,
        heartbeat_timeout: heartbeat_timeout(),
        program: Some(PathBuf::from(env!("CARGO_BIN_EXE_distml"))),
        ..Default::default()
    }
}

/// The heartbeat timeout of the cluster tests: 1.5 s per core-less-than-four (a starved member
/// on a 2-core machine must not be declared dead while it is only waiting for a core), unless
/// `DISTML_TEST_HEARTBEAT_MS` says otherwise.
pub fn heartbeat_timeout() -> Duration {
    if let Some(ms) = std::env::var("DISTML_TEST_HEARTBEAT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return Duration::from_millis(ms);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    Duration::from_millis(1500 * (4 - cores.min(3)) as u64)
}

/// Asserts two models have the same coefficients and intercept, bit for bit.
pub fn assert_same_bits(a: &GlmModel, b: &GlmModel, what: &str) {
    assert_eq!(a.coefficients.len(), b.coefficients.len(), "{what}");
    let bits = |m: &GlmModel| -> Vec<u64> {
        m.coefficients
            .iter()
            .chain([&m.intercept])
            .map(|v| v.to_bits())
            .collect()
    };
    let (x, y) = (bits(a), bits(b));
    if let Some(i) = (0..x.len()).find(|&i| x[i] != y[i]) {
        panic!(
            "{what}: coefficient {i} differs: {} vs {}",
            f64::from_bits(x[i]),
            f64::from_bits(y[i])
        );
    }
}

/// Largest absolute difference of two models' coefficients and intercepts.
pub fn max_diff(a: &GlmModel, b: &GlmModel) -> f64 {
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

/// Options whose event sink kills (SIGKILL) the first ps shard of `rank` the first time `when`
/// holds; the count is of the shards the coordinator then declared lost.
pub fn killing_shard(
    mut options: ClusterOptions,
    rank: u32,
    when: impl Fn(&ClusterEvent) -> bool + Send + Sync + 'static,
) -> (ClusterOptions, Arc<Mutex<usize>>) {
    let shard: Arc<Mutex<Option<u32>>> = Arc::default();
    let lost: Arc<Mutex<usize>> = Arc::default();
    let (killed, count) = (Arc::new(Mutex::new(false)), lost.clone());
    options.events = Some(Arc::new(move |e: &ClusterEvent| match e {
        ClusterEvent::Spawned {
            role: "ps",
            rank: r,
            pid,
        } if *r == rank => {
            shard.lock().unwrap().get_or_insert(*pid);
        }
        ClusterEvent::ShardLost { .. } => *count.lock().unwrap() += 1,
        e if when(e) && !*killed.lock().unwrap() => {
            *killed.lock().unwrap() = true;
            kill(shard.lock().unwrap().expect("the shard was spawned"));
        }
        _ => {}
    }));
    (options, lost)
}

/// Holds the machine for one process-spawning test: cluster tests of one target run one at a
/// time (targets already run one after another), so members never starve each other of the
/// two cores into a false "dead worker".
pub fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static CORES: std::sync::Mutex<()> = std::sync::Mutex::new(());
    CORES
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Whether process `pid` still exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => state(&stat) != Some('Z'),
        Err(_) => false,
    }
}

/// The state letter of a `/proc/PID/stat` line (after the parenthesised command name).
fn state(stat: &str) -> Option<char> {
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The live child processes of `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) else {
                return false;
            };
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            let fields: Vec<&str> = after.split_whitespace().collect();
            fields.get(1).and_then(|pp| pp.parse::<u32>().ok()) == Some(pid)
                && state(&stat) != Some('Z')
        })
        .collect()
}

/// Waits until `check` holds, polling every 50 ms, for at most `limit`; whether it held.
pub fn eventually(limit: Duration, check: impl Fn() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// Sends `signal` (`-STOP`, `-9`, ...) to `pid`.
pub fn signal(pid: u32, signal: &str) {
    let _ = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status();
}

/// The IPv4 addresses `pid` listens on (from its socket inodes and `/proc/net/tcp`).
pub fn listening_addresses(pid: u32) -> Vec<std::net::SocketAddrV4> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|l| {
                    let l = l.to_string_lossy().into_owned();
                    l.strip_prefix("socket:[")?
                        .strip_suffix(']')
                        .map(String::from)
                })
                .collect()
        })
        .unwrap_or_default();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            // local_address, ..., st (0A = LISTEN), ..., inode
            if f.get(3) != Some(&"0A") || !inodes.iter().any(|i| Some(&i.as_str()) == f.get(9)) {
                return None;
            }
            let (ip, port) = f[1].split_once(':')?;
            let ip = u32::from_str_radix(ip, 16).ok()?;
            let port = u16::from_str_radix(port, 16).ok()?;
            Some(std::net::SocketAddrV4::new(
                std::net::Ipv4Addr::from(u32::from_be(ip)),
                port,
            ))
        })
        .collect()
}
