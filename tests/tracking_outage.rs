//! The server killed mid-run and restarted: every metric lands exactly once, by catch-up or sync.
//!
//! Starts its own `mlflow server` (`DISTML_MLFLOW_BIN`, default `/work/venv/bin/mlflow`) on a
//! free loopback port and stops it (children first, by PID).

mod common;
mod tracking_support;

use std::time::Duration;

use distml::tracking::{sync_all, LoggerOptions, MlflowClient, RunSpec, Status, Tracker};
use tracking_support::{config, free_port, mlflow_bin, OwnServer};

fn loss_steps(client: &MlflowClient, run_id: &str) -> Vec<i64> {
    let mut steps: Vec<i64> = client
        .metric_history(run_id, "loss")
        .expect("history")
        .into_iter()
        .map(|m| m.step)
        .collect();
    steps.sort_unstable();
    steps
}

#[test]
fn server_killed_mid_run_loses_nothing_and_duplicates_nothing() {
    let Some(bin) = mlflow_bin("server_killed_mid_run") else {
        return;
    };
    let data = tempfile::tempdir().expect("data dir");
    let runs = tempfile::tempdir().expect("runs dir");
    let port = free_port();
    let mut server = OwnServer::start(&bin, data.path(), port, &[], &[]);
    let uri = server.uri();
    let config = config(Some(&uri), runs.path(), 1);
    let tracker = Tracker::new(config.clone())
        .expect("tracker")
        .with_logger_options(LoggerOptions {
            flush_interval: Duration::from_millis(100),
            recovery_interval: Duration::from_millis(500),
            ..LoggerOptions::default()
        });
    // run 1 recovers by itself; run 2 finishes while the server is down and is synced later.
    let run1 = tracker
        .start_run(RunSpec {
            run_name: Some("recovers".into()),
            ..RunSpec::default()
        })
        .expect("run1");
    let run2 = tracker
        .start_run(RunSpec {
            run_name: Some("synced-later".into()),
            ..RunSpec::default()
        })
        .expect("run2");
    for step in 0..50 {
        run1.log_metric("loss", step as f64, step).expect("metric");
        run2.log_metric("loss", step as f64, step).expect("metric");
    }
    run1.flush().expect("server up");
    run2.flush().expect("server up");

    server.stop();
    let t = std::time::Instant::now();
    for step in 50..150 {
        run1.log_metric("loss", step as f64, step)
            .expect("logging never fails while the server is down");
        run2.log_metric("loss", step as f64, step)
            .expect("logging never fails while the server is down");
    }
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "logging blocked on the network: {:?}",
        t.elapsed()
    );
    assert!(run1.flush().is_err(), "flush reports the outage");
    let report2 = run2.finish(Status::Finished).expect("finish while down");
    assert!(!report2.synced && report2.error.is_some(), "{report2:?}");

    let server = OwnServer::start(&bin, data.path(), port, &[], &[]);
    for step in 150..200 {
        run1.log_metric("loss", step as f64, step).expect("metric");
    }
    let run1_id = run1.run_id().to_string();
    let report1 = run1.finish(Status::Finished).expect("finish");
    assert!(report1.synced, "{report1:?}");

    let client = MlflowClient::new(&uri, &config).expect("client");
    let all: Vec<i64> = (0..200).collect();
    assert_eq!(
        loss_steps(&client, &run1_id),
        all,
        "run 1 caught up exactly once"
    );
    assert_eq!(
        client.get_run(&run1_id).expect("get").info.status,
        "FINISHED"
    );

    let outcomes = sync_all(&client, tracker.spool()).expect("sync");
    let run2_id = report2.run_id.clone();
    assert!(
        outcomes
            .iter()
            .any(|o| o.run_id == run2_id && o.events_sent > 0),
        "{outcomes:?}"
    );
    assert_eq!(
        loss_steps(&client, &run2_id),
        (0..150).collect::<Vec<_>>(),
        "run 2 synced exactly once"
    );
    assert_eq!(
        client.get_run(&run2_id).expect("get").info.status,
        "FINISHED"
    );
    let again = sync_all(&client, tracker.spool()).expect("sync again");
    assert!(again.iter().all(|o| o.events_sent == 0), "{again:?}");
    assert_eq!(loss_steps(&client, &run1_id).len(), 200);
    drop(server);
}
