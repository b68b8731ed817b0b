//! Faults: a worker killed with SIGKILL mid-training, too few workers left, resume.

mod cluster_support;

use std::sync::{Arc, Mutex};

use cluster_support::*;
use distml::cluster::{fit_distributed, ClusterError, ClusterEvent};
use distml::model::Solver;

/// Options whose event sink kills the first worker once iteration `at` is reached.
fn killing_at(
    mut options: distml::cluster::ClusterOptions,
    at: usize,
) -> distml::cluster::ClusterOptions {
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

#[test]
fn a_killed_worker_changes_nothing_under_bsp() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let config = config(&data, Solver::Lbfgs);
    let (local, _) = local_fit(&config);
    let lost = Arc::new(Mutex::new(0usize));
    let mut options = killing_at(options(4, 2), 3);
    let sink = options.events.clone().unwrap();
    let counted = lost.clone();
    options.events = Some(Arc::new(move |e: &ClusterEvent| {
        if matches!(e, ClusterEvent::WorkerLost { .. }) {
            *counted.lock().unwrap() += 1;
        }
        sink(e)
    }));
    let fit = fit_distributed(&config, &options, &|_| {}).unwrap();
    assert_eq!(
        *lost.lock().unwrap(),
        1,
        "the killed worker was declared dead"
    );
    let diff = max_diff(&fit.model, &local);
    assert!(diff < 1e-9, "differs from the no-failure model by {diff}");
}

#[test]
fn too_few_workers_stops_with_the_checkpoint_kept_and_resume_finishes_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let config = config(&data, Solver::Lbfgs);
    let (local, _) = local_fit(&config);
    let checkpoints = dir.path().join("ckpt");
    let mut first = killing_at(options(2, 1), 3);
    first.min_workers = 2;
    first.checkpoint_dir = Some(checkpoints.clone());
    first.checkpoint_every = 2;
    let err = fit_distributed(&config, &first, &|_| {}).unwrap_err();
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
    assert!(checkpoints.join("checkpoint.json").exists());

    let mut again = options(2, 1);
    again.checkpoint_dir = Some(checkpoints);
    again.resume = true;
    let evaluated = Arc::new(Mutex::new(0usize));
    let counter = evaluated.clone();
    again.events = Some(Arc::new(move |e: &ClusterEvent| {
        if matches!(e, ClusterEvent::Iteration { .. }) {
            *counter.lock().unwrap() += 1;
        }
    }));
    let fit = fit_distributed(&config, &again, &|_| {}).unwrap();
    let diff = max_diff(&fit.model, &local);
    assert!(diff < 1e-9, "the resumed model differs by {diff}");
    let (_, summary) = local_fit(&config);
    assert!(
        *evaluated.lock().unwrap() < summary.loss_history.len() + 20,
        "replayed evaluations are not recomputed"
    );
}

#[test]
fn sgd_resumed_from_a_checkpoint_takes_the_uninterrupted_steps() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let mut config = config(&data, Solver::Sgd);
    config.max_iter = 6;
    let straight = fit_distributed(&config, &options(2, 1), &|_| {}).unwrap();

    let checkpoints = dir.path().join("ckpt");
    let mut first = killing_at(options(2, 1), 3);
    first.min_workers = 2;
    first.checkpoint_dir = Some(checkpoints.clone());
    first.checkpoint_every = 1;
    let err = fit_distributed(&config, &first, &|_| {}).unwrap_err();
    assert!(matches!(err, ClusterError::TooFewWorkers { .. }), "{err}");
    let mut again = options(2, 1);
    again.checkpoint_dir = Some(checkpoints);
    again.resume = true;
    let resumed = fit_distributed(&config, &again, &|_| {}).unwrap();
    // Adam's moments come back from the checkpoint: restarting them would change every step.
    let diff = max_diff(&resumed.model, &straight.model);
    assert!(diff < 1e-12, "the resumed SGD model differs by {diff}");
    assert_eq!(resumed.summary.loss_history, straight.summary.loss_history);
}
