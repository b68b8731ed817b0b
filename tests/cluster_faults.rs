//! Faults: a worker killed with SIGKILL mid-training, too few workers left, resume.

mod cluster_support;

use std::path::Path;
use std::sync::{Arc, Mutex};

use cluster_support::*;
use distml::cluster::{fit_distributed, ClusterError, ClusterEvent, ClusterOptions};

/// Options whose event sink kills the first worker once iteration `at` is reached.
fn killing_at(mut options: ClusterOptions, at: usize) -> ClusterOptions {
    let pids: Arc<Mutex<Vec<u32>>> = Arc::default();
    options.events = Some(Arc::new(move |e: &ClusterEvent| match e {
        ClusterEvent::Spawned {
            role: "worker",
            pid,
            ..
        } => pids.lock().unwrap().push(*pid),
        ClusterEvent::Iteration { iteration } if *iteration == at => {
            if let Some(pid) = pids.lock().unwrap().first() {
                kill(*pid);
            }
        }
        _ => {}
    }));
    options
}

/// `options` counting its events: (iterations, workers lost).
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

/// Gradient rounds a checkpoint holds.
fn checkpointed_rounds(dir: &Path) -> usize {
    let text = std::fs::read_to_string(dir.join("checkpoint.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["evaluations"].as_array().unwrap().len()
}

#[test]
fn a_killed_worker_changes_nothing_under_bsp() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "lbfgs")]);
    let (local, _) = local_fit(&job);
    let (options, counts) = counting(killing_at(options(4, 2), 3));
    let fit = fit_distributed(&job, &options, &|_| {}).unwrap();
    assert_eq!(
        counts.lock().unwrap().1,
        1,
        "the killed worker was declared dead"
    );
    assert_same_bits(glm(&fit.model), &local, "after a lost worker");
}

#[test]
fn too_few_workers_stops_with_the_checkpoint_kept_and_resume_replays_without_the_data() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "lbfgs")]);
    let (local, _) = local_fit(&job);
    // The uninterrupted fit's gradient rounds.
    let (straight, counts) = counting(options(2, 1));
    fit_distributed(&job, &straight, &|_| {}).unwrap();
    let all_rounds = counts.lock().unwrap().0;

    let checkpoints = dir.path().join("ckpt");
    let mut first = killing_at(options(2, 1), 3);
    first.min_workers = 2;
    first.checkpoint_dir = Some(checkpoints.clone());
    first.checkpoint_every = 2;
    let err = fit_distributed(&job, &first, &|_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            ClusterError::TooFewWorkers {
                alive: 1,
                needed: 2,
                checkpoint: Some(_)
            }
        ),
        "{err}"
    );
    assert!(!err.is_user_error());
    assert!(err.to_string().contains("--resume"), "{err}");
    let saved = checkpointed_rounds(&checkpoints);
    assert!(saved >= 2, "the checkpoint holds {saved} rounds");

    let mut again = options(2, 1);
    again.checkpoint_dir = Some(checkpoints.clone());
    again.resume = true;
    let (again, counts) = counting(again);
    let fit = fit_distributed(&job, &again, &|_| {}).unwrap();
    assert_same_bits(glm(&fit.model), &local, "resumed");
    // Every checkpointed round was replayed from the file; only the rest touched the data.
    let computed = counts.lock().unwrap().0;
    assert_eq!(
        computed,
        all_rounds - saved,
        "{all_rounds} rounds, {saved} saved"
    );
    assert_eq!(checkpointed_rounds(&checkpoints), all_rounds);
}

#[test]
fn sgd_resumed_from_a_checkpoint_takes_the_uninterrupted_steps() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "sgd"), ("max-iter", "6")]);
    let straight = fit_distributed(&job, &options(2, 1), &|_| {}).unwrap();

    let checkpoints = dir.path().join("ckpt");
    let mut first = killing_at(options(2, 1), 3);
    first.min_workers = 2;
    first.checkpoint_dir = Some(checkpoints.clone());
    first.checkpoint_every = 1;
    let err = fit_distributed(&job, &first, &|_| {}).unwrap_err();
    assert!(matches!(err, ClusterError::TooFewWorkers { .. }), "{err}");
    let mut again = options(2, 1);
    again.checkpoint_dir = Some(checkpoints);
    again.resume = true;
    let resumed = fit_distributed(&job, &again, &|_| {}).unwrap();
    // Adam's moments come back from the checkpoint: restarting them would change every step.
    assert_same_bits(glm(&resumed.model), glm(&straight.model), "resumed SGD");
    assert_eq!(resumed.summary.loss_history, straight.summary.loss_history);
}
