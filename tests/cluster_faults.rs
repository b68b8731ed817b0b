//! Faults: a worker or a parameter-server shard killed with SIGKILL mid-training, too few
//! workers left, resume, a lost shard under a cluster manager.

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

/// A shard killed mid-L-BFGS: it is restarted, the gradient round recomputed, and the model is
/// the in-process one bit for bit.
#[test]
fn a_killed_shard_is_restarted_and_lbfgs_ends_with_the_local_model() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "lbfgs")]);
    let (local, _) = local_fit(&job);
    let at_third = |e: &ClusterEvent| matches!(e, ClusterEvent::Iteration { iteration: 3 });
    let (options, lost) = killing_shard(options(2, 2), 1, at_third);
    let fit = fit_distributed(&job, &options, &|_| {}).unwrap();
    assert_eq!(
        *lost.lock().unwrap(),
        1,
        "the killed shard was declared lost"
    );
    assert_same_bits(glm(&fit.model), &local, "after a lost shard");
}

/// A shard killed mid-SGD: the epoch restarts from the parameters and Adam moments the
/// coordinator pulled after the previous one, so the run takes the uninterrupted steps.
#[test]
fn a_killed_shard_costs_sgd_one_epoch_and_changes_no_step() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "sgd"), ("max-iter", "5")]);
    let straight = fit_distributed(&job, &options(2, 2), &|_| {}).unwrap();
    let at_second = |e: &ClusterEvent| matches!(e, ClusterEvent::Iteration { iteration: 2 });
    let (options, lost) = killing_shard(options(2, 2), 0, at_second);
    let fit = fit_distributed(&job, &options, &|_| {}).unwrap();
    assert_eq!(
        *lost.lock().unwrap(),
        1,
        "the killed shard was declared lost"
    );
    assert_same_bits(
        glm(&fit.model),
        glm(&straight.model),
        "SGD after a lost shard",
    );
    assert_eq!(fit.summary.loss_history, straight.summary.loss_history);
}

/// The job's secret in the cluster-manager tests.
const TOKEN: &str = "shard-fault-drill";

/// A `distml` process started as a cluster manager would: the rendezvous in its environment.
fn managed(args: &[&str], dir: &Path, coordinator: &str, rank: u32) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_distml"))
        .args(args)
        .current_dir(dir)
        .env_remove("MLFLOW_TRACKING_URI")
        .env("DISTML_COORDINATOR", coordinator)
        .env("DISTML_CLUSTER_TOKEN", TOKEN)
        .env("DISTML_RANK", rank.to_string())
        // Slow pushes keep the job running long enough to lose its shard mid-fit.
        .env("DISTML_PUSH_DELAY_MS", "100")
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// `train` flags of the cluster-manager tests (an L-BFGS ridge fit of the test table).
const FLAGS: [&str; 14] = [
    "--target",
    "y",
    "--numeric",
    "x1,x2,x3,x4",
    "--categorical",
    "zone",
    "--model",
    "ridge",
    "--solver",
    "lbfgs",
    "--partitions",
    "4",
    "--model-out",
    "model",
];

/// Runs a job under a "cluster manager" (this test): a coordinator, one shard and two
/// workers; kills the shard once the learner is fitting, and calls `after_kill`. Returns the
/// coordinator's exit status, its stderr and the dead shard's address.
fn managed_job_losing_its_shard(
    dir: &Path,
    after_kill: impl FnOnce(&str),
) -> (std::process::ExitStatus, String) {
    use std::io::BufRead;
    let data = write_table(dir, 20_000);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let data = data.to_str().unwrap();
    // Validating on the training file: no rows held out, as in a distributed fit.
    let mut args = vec!["train", "--data", data, "--valid", data];
    args.extend_from_slice(&FLAGS);
    args.extend_from_slice(&["--workers", "2", "--heartbeat-timeout", "3"]);
    args.extend_from_slice(&["--rendezvous-timeout", "4"]);
    let mut coordinator = managed(&args, dir, &address, 0);
    let mut shard = managed(&["ps"], dir, &address, 1);
    let mut workers: Vec<_> = (2..4)
        .map(|rank| managed(&["worker"], dir, &address, rank))
        .collect();
    let stderr = coordinator.stderr.take().unwrap();
    let mut lines = std::io::BufReader::new(stderr).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("fitting ridge") {
            break;
        }
    }
    shard.kill().unwrap();
    shard.wait().unwrap();
    after_kill(&address);
    for line in lines {
        seen.push_str(&line.unwrap());
        seen.push('\n');
    }
    let status = coordinator.wait().unwrap();
    for w in &mut workers {
        let _ = w.kill();
        let _ = w.wait();
    }
    (status, seen)
}

/// A shard a cluster manager restarts (same rank, new port) replaces the lost one: the job
/// ends with the model of the in-process fit.
#[test]
fn a_shard_restarted_by_the_cluster_manager_replaces_the_lost_one() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut replacement = None;
    let (status, stderr) = managed_job_losing_its_shard(d, |coordinator| {
        replacement = Some(managed(&["ps"], d, coordinator, 1));
    });
    let mut replacement = replacement.unwrap();
    let _ = replacement.kill();
    let _ = replacement.wait();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("ps shard 1 at 127.0.0.1:"), "{stderr}");
    assert!(stderr.contains("waiting for its replacement"), "{stderr}");
    let cluster = std::fs::read_to_string(d.join("model/model.json")).unwrap();

    let data = d.join("table.csv");
    let data = data.to_str().unwrap();
    let mut args = vec!["train", "--data", data, "--valid", data, "--workers", "0"];
    args.extend_from_slice(&FLAGS);
    let local = std::process::Command::new(env!("CARGO_BIN_EXE_distml"))
        .args(&args)
        .current_dir(d)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    assert!(local.status.success());
    let local = std::fs::read_to_string(d.join("model/model.json")).unwrap();
    assert!(
        cluster == local,
        "the cluster's model is not the in-process one"
    );
}

/// A shard that does not come back within the rendezvous timeout ends the job (exit 1) with
/// an error naming the shard and its address.
#[test]
fn a_shard_that_never_comes_back_is_named_with_its_address() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let (status, stderr) = managed_job_losing_its_shard(dir.path(), |_| {});
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ps shard 1 at 127.0.0.1:")
            && stderr.contains("no replacement registered within 4s"),
        "{stderr}"
    );
}
