//! Trees across worker processes: the same trees as in process, bit for bit, with one, two or
//! three workers; after a worker killed mid-tree; and resumed from a checkpoint.

mod cluster_support;

use std::path::Path;
use std::sync::{Arc, Mutex};

use cluster_support::*;
use distml::cluster::{fit_distributed, ClusterError, ClusterEvent, ClusterJob, ClusterOptions};
use distml::data::{DataSource, ReadOptions};
use distml::model::{Learner, Model};
use distml::train::{fit_local, pipeline_spec, FeatureSettings};

/// Gradient-boosted trees on the test table, the zone as a native category, then `settings`.
fn tree_job(data: &Path, settings: &[(&str, &str)]) -> ClusterJob {
    let options = ReadOptions {
        partitions: Some(PARTITIONS),
        ..Default::default()
    };
    let source = DataSource::open(&[data], &options).unwrap();
    let features = FeatureSettings {
        target: Some("y".into()),
        categorical: vec!["zone".into()],
        numeric: ["x1", "x2", "x3", "x4"].map(String::from).to_vec(),
        preset: None,
    };
    let mut all = vec![
        ("max-iter", "6"),
        ("num-leaves", "15"),
        ("min-data-in-leaf", "5"),
    ];
    all.extend_from_slice(settings);
    ClusterJob {
        data: vec![data.to_path_buf()],
        partitions: Some(PARTITIONS),
        pipeline: pipeline_spec(&features, &source, true).unwrap(),
        learner: Learner::with_settings("gbt".parse().unwrap(), all).unwrap(),
        valid: Vec::new(),
    }
}

/// The in-process fit on the same partitions.
fn local_trees(job: &ClusterJob) -> Model {
    let (pipeline, blocks) = local_blocks(job);
    fit_local(&job.learner, &blocks, pipeline.layout())
        .unwrap()
        .0
}

/// Models compared through their saved form, every float written exactly.
fn assert_same_trees(a: &Model, b: &Model, what: &str) {
    let (a, b) = (
        serde_json::to_string(a).unwrap(),
        serde_json::to_string(b).unwrap(),
    );
    assert!(a == b, "{what}: the trees differ");
}

/// Options whose event sink kills the first worker after split `split` of tree `tree`.
fn killing_mid_tree(mut options: ClusterOptions, tree: usize, split: usize) -> ClusterOptions {
    let pids: Arc<Mutex<Vec<u32>>> = Arc::default();
    options.events = Some(Arc::new(move |e: &ClusterEvent| match e {
        ClusterEvent::Spawned {
            role: "worker",
            pid,
            ..
        } => pids.lock().unwrap().push(*pid),
        ClusterEvent::TreeSplit { tree: t, split: s } if (*t, *s) == (tree, split) => {
            if let Some(pid) = pids.lock().unwrap().first() {
                kill(*pid);
            }
        }
        _ => {}
    }));
    options
}

/// `options` counting finished trees and lost workers.
fn counting(mut options: ClusterOptions) -> (ClusterOptions, Arc<Mutex<(usize, usize)>>) {
    let counts: Arc<Mutex<(usize, usize)>> = Arc::default();
    let inner = options.events.clone();
    let c = counts.clone();
    options.events = Some(Arc::new(move |e: &ClusterEvent| {
        match e {
            ClusterEvent::Iteration { .. } => c.lock().unwrap().0 += 1,
            ClusterEvent::WorkerLost { .. } => c.lock().unwrap().1 += 1,
            _ => {}
        }
        if let Some(sink) = &inner {
            sink(e)
        }
    }));
    (options, counts)
}

#[test]
fn one_two_or_three_workers_grow_the_local_trees() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = tree_job(&data, &[("bagging-fraction", "0.8"), ("bagging-freq", "1")]);
    let local = local_trees(&job);
    for (workers, shards) in [(1, 1), (2, 1), (3, 2)] {
        let fit = fit_distributed(&job, &options(workers, shards), &|_| {}).unwrap();
        assert_same_trees(
            &fit.model,
            &local,
            &format!("{workers} workers, {shards} shards"),
        );
    }
    // Pushes arriving in other orders (the gradients are floats whose sums depend on order):
    // the shards merge in partition order, so the trees stay the local ones.
    for delays in ["20,0,7", "0,7,20"] {
        let mut delayed = options(3, 2);
        delayed
            .member_env
            .push(("DISTML_PUSH_DELAY_MS".into(), delays.into()));
        let fit = fit_distributed(&job, &delayed, &|_| {}).unwrap();
        assert_same_trees(&fit.model, &local, &format!("push delays {delays} ms"));
    }
}

#[test]
fn a_worker_killed_mid_tree_changes_nothing() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = tree_job(&data, &[]);
    let local = local_trees(&job);
    let (options, counts) = counting(killing_mid_tree(options(3, 1), 2, 5));
    let fit = fit_distributed(&job, &options, &|_| {}).unwrap();
    assert_eq!(
        counts.lock().unwrap().1,
        1,
        "the killed worker was declared dead"
    );
    assert_same_trees(&fit.model, &local, "after a worker lost mid-tree");
}

#[test]
fn trees_resume_from_their_checkpoint() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = tree_job(&data, &[("loss", "absolute")]);
    let local = local_trees(&job);

    let checkpoints = dir.path().join("ckpt");
    let mut first = killing_mid_tree(options(2, 1), 4, 3);
    first.min_workers = 2;
    first.checkpoint_dir = Some(checkpoints.clone());
    first.checkpoint_every = 2;
    let err = fit_distributed(&job, &first, &|_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            ClusterError::TooFewWorkers {
                checkpoint: Some(_),
                ..
            }
        ),
        "{err}"
    );

    let mut again = options(2, 1);
    again.checkpoint_dir = Some(checkpoints);
    again.resume = true;
    let (again, counts) = counting(again);
    let fit = fit_distributed(&job, &again, &|_| {}).unwrap();
    assert_same_trees(&fit.model, &local, "resumed");
    // Trees 1 to 2 and 3 were checkpointed (every 2 trees: after tree 2); the rest were grown.
    assert_eq!(counts.lock().unwrap().0, 4, "trees grown after the resume");
}

/// A shard killed mid-tree: the step is recomputed in a fresh phase (workers that applied it
/// already rebuild their partitions from the trees so far) and the trees are the local ones.
#[test]
fn a_killed_shard_mid_tree_changes_no_tree() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = tree_job(&data, &[]);
    let local = local_trees(&job);
    let mid_tree = |e: &ClusterEvent| matches!(e, ClusterEvent::TreeSplit { tree: 2, split: 3 });
    let (options, lost) = killing_shard(options(2, 2), 1, mid_tree);
    let fit = fit_distributed(&job, &options, &|_| {}).unwrap();
    assert_eq!(
        *lost.lock().unwrap(),
        1,
        "the killed shard was declared lost"
    );
    assert_same_trees(&fit.model, &local, "after a lost shard");
}
