//! Tracking against the MLflow server in `MLFLOW_TRACKING_URI` (see `.ci/mlflow-server.sh`).

mod common;
mod tracking_support;

use std::collections::BTreeMap;

use distml::tracking::wire::KeyValue;
use distml::tracking::{
    context, sync_run, DatasetSpec, MlflowClient, RunSpec, Status, Tracker, TrackingError,
};
use tracking_support::{config, server_uri};

fn tracker(uri: &str, dir: &std::path::Path) -> (Tracker, MlflowClient) {
    let config = config(Some(uri), dir, 3);
    let client = MlflowClient::new(uri, &config).expect("client");
    (Tracker::new(config).expect("tracker"), client)
}

fn steps(client: &MlflowClient, run_id: &str, key: &str) -> Vec<(i64, f64)> {
    let mut points: Vec<(i64, f64)> = client
        .metric_history(run_id, key)
        .expect("history")
        .into_iter()
        .map(|m| (m.step, m.value))
        .collect();
    points.sort_by_key(|p| p.0);
    points
}

#[test]
fn full_run_reads_back_over_rest() {
    let Some(uri) = server_uri("full_run_reads_back_over_rest") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (tracker, client) = tracker(&uri, dir.path());
    assert_eq!(tracker.uri(), uri);
    let run = tracker
        .start_run(RunSpec {
            run_name: Some("taxi-linear".into()),
            tags: vec![("team".into(), "ml".into())],
            ..RunSpec::default()
        })
        .expect("start");
    assert!(run.is_remote());
    run.log_params(&[
        ("LinearRegression.regParam", "0.01"),
        ("LinearRegression.maxIter", "10"),
    ])
    .expect("params");
    for step in 0..10 {
        run.log_metric("train_loss", 1.0 / (step + 1) as f64, step)
            .expect("metric");
    }
    run.log_metrics(&[("rmse", 7.5), ("mae", 5.25)], 0)
        .expect("final metrics");
    run.log_metric("nan_metric", f64::NAN, 0).expect("nan");
    run.set_tag("estimator_name", "LinearRegression")
        .expect("tag");
    run.log_input(&DatasetSpec {
        name: "green_tripdata_2023-01".into(),
        digest: "0123456789abcdef".into(),
        source_uri: "file:///data/green_tripdata_2023-01.parquet".into(),
        schema: vec![
            ("trip_distance".into(), "double".into()),
            ("PULocationID".into(), "long".into()),
        ],
        num_rows: Some(68_211),
        context: "training".into(),
    })
    .expect("input");
    let model = tempfile::tempdir().expect("model dir");
    std::fs::write(model.path().join("model.json"), br#"{"coef":[1,2]}"#).expect("write");
    std::fs::create_dir_all(model.path().join("data")).expect("mkdir");
    std::fs::write(model.path().join("data/weights bin"), [0u8, 1, 2, 3]).expect("write");
    assert_eq!(
        run.log_artifacts(model.path(), "model").expect("artifacts"),
        2
    );

    let child = tracker
        .start_run(RunSpec {
            run_name: Some("trial-0".into()),
            parent_run_id: Some(run.run_id().to_string()),
            ..RunSpec::default()
        })
        .expect("child");
    child.log_metric("avg_rmse", 7.4, 0).expect("child metric");
    let child_id = child.run_id().to_string();
    assert!(child.finish(Status::Finished).expect("child finish").synced);

    let run_id = run.run_id().to_string();
    let report = run.finish(Status::Finished).expect("finish");
    assert!(report.synced, "{report:?}");

    let got = client.get_run(&run_id).expect("get");
    assert_eq!(got.info.status, "FINISHED");
    assert!(got.info.end_time.unwrap_or(0) >= got.info.start_time.unwrap_or(i64::MAX));
    assert_eq!(got.info.run_name, "taxi-linear");
    assert_eq!(got.data.param("LinearRegression.regParam"), Some("0.01"));
    assert_eq!(got.data.param("LinearRegression.maxIter"), Some("10"));
    for (key, value) in [
        ("mlflow.runName", "taxi-linear"),
        ("mlflow.source.type", "LOCAL"),
        ("distml.version", env!("CARGO_PKG_VERSION")),
        ("team", "ml"),
        ("estimator_name", "LinearRegression"),
    ] {
        assert_eq!(got.data.tag(key), Some(value), "tag {key}");
    }
    assert!(got.data.tag("mlflow.user").is_some_and(|u| !u.is_empty()));
    assert!(got.data.tag("mlflow.source.name").is_some());
    assert!(got.data.tag("distml.run_key").is_some());
    let head = std::env::current_dir()
        .ok()
        .and_then(|d| context::git_head(&d));
    assert_eq!(
        got.data.tag("mlflow.source.git.commit"),
        head.map(|h| h.0).as_deref()
    );

    let loss = steps(&client, &run_id, "train_loss");
    let expected: Vec<(i64, f64)> = (0..10).map(|s| (s, 1.0 / (s + 1) as f64)).collect();
    assert_eq!(loss, expected);
    assert_eq!(steps(&client, &run_id, "rmse"), vec![(0, 7.5)]);
    assert!(steps(&client, &run_id, "nan_metric")[0].1.is_nan());

    let inputs = &got.inputs.dataset_inputs;
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].dataset.name, "green_tripdata_2023-01");
    assert_eq!(inputs[0].dataset.digest, "0123456789abcdef");
    assert!(inputs[0]
        .dataset
        .schema
        .as_deref()
        .is_some_and(|s| s.contains("trip_distance")));
    assert_eq!(
        inputs[0].dataset.profile.as_deref(),
        Some(r#"{"num_rows":68211}"#)
    );
    assert_eq!(
        inputs[0].tags,
        vec![KeyValue::new("mlflow.data.context", "training")]
    );

    let root: Vec<String> = client
        .list_artifacts(&run_id, "")
        .expect("list")
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(root, ["model"]);
    let files: BTreeMap<String, Option<i64>> = client
        .list_artifacts(&run_id, "model")
        .expect("list")
        .into_iter()
        .map(|f| (f.path, f.file_size))
        .collect();
    assert_eq!(files.get("model/model.json"), Some(&Some(14)));
    assert!(files.contains_key("model/data"));
    let data = client.list_artifacts(&run_id, "model/data").expect("list");
    assert_eq!(data[0].path, "model/data/weights bin");

    let child = client.get_run(&child_id).expect("child");
    assert_eq!(child.data.tag("mlflow.parentRunId"), Some(run_id.as_str()));
}

#[test]
fn more_than_1000_metrics_are_chunked() {
    let Some(uri) = server_uri("more_than_1000_metrics_are_chunked") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (tracker, client) = tracker(&uri, dir.path());
    let run = tracker.start_run(RunSpec::default()).expect("start");
    let params: Vec<(String, String)> =
        (0..150).map(|i| (format!("p{i}"), i.to_string())).collect();
    run.log_params(&params).expect("params");
    for step in 0..2500 {
        run.log_metric("loss", step as f64 * 0.5, step)
            .expect("metric");
    }
    let run_id = run.run_id().to_string();
    assert!(run.finish(Status::Finished).expect("finish").synced);
    let loss = steps(&client, &run_id, "loss");
    assert_eq!(loss.len(), 2500);
    assert!(loss
        .iter()
        .enumerate()
        .all(|(i, (s, v))| *s == i as i64 && *v == i as f64 * 0.5));
    assert_eq!(client.get_run(&run_id).expect("get").data.params.len(), 150);
}

#[test]
fn relogging_a_param_with_a_new_value_is_a_clear_error() {
    let Some(uri) = server_uri("relogging_a_param_with_a_new_value_is_a_clear_error") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (tracker, client) = tracker(&uri, dir.path());
    let run = tracker.start_run(RunSpec::default()).expect("start");
    run.log_params(&[("regParam", "0.1")]).expect("first");
    run.log_params(&[("regParam", "0.1")])
        .expect("same value again is fine");
    let err = run.log_params(&[("regParam", "0.2")]).expect_err("changed");
    assert!(matches!(err, TrackingError::ParamChanged { .. }));
    assert!(
        err.to_string().contains("already logged with value '0.1'"),
        "{err}"
    );
    let long = "x".repeat(6001);
    let err = run
        .log_params(&[("notes", long.as_str())])
        .expect_err("too long");
    assert!(err.to_string().contains("at most 6000"), "{err}");
    let run_id = run.run_id().to_string();
    assert!(
        run.finish(Status::Failed {
            error: "diverged at step 3".into()
        })
        .expect("finish")
        .synced
    );

    // The server says the same when another writer changes it.
    let err = client
        .log_batch(&run_id, &[], &[KeyValue::new("regParam", "0.3")], &[])
        .expect_err("server rejects");
    assert_eq!(err.error_code(), Some("INVALID_PARAMETER_VALUE"));
    assert!(
        err.to_string()
            .contains("Changing param values is not allowed"),
        "{err}"
    );
    let got = client.get_run(&run_id).expect("get");
    assert_eq!(got.info.status, "FAILED");
    assert_eq!(
        got.data.tag("mlflow.note.content"),
        Some("diverged at step 3")
    );
    assert_eq!(got.data.param("regParam"), Some("0.1"));
}

#[test]
fn a_deleted_experiment_is_reported_not_reused() {
    let Some(uri) = server_uri("a_deleted_experiment_is_reported_not_reused") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, client) = tracker(&uri, dir.path());
    let name = format!("deleted-{}", distml::tracking::ids::new_run_id());
    let exp = client.get_or_create_experiment(&name).expect("create");
    client
        .delete_experiment(&exp.experiment_id)
        .expect("delete");
    let err = client.get_or_create_experiment(&name).expect_err("deleted");
    assert!(
        matches!(err, TrackingError::ExperimentDeleted { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("restore"), "{err}");
}

#[test]
fn local_runs_sync_exactly_once() {
    let Some(uri) = server_uri("local_runs_sync_exactly_once") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Tracker::new(config(None, dir.path(), 3)).expect("local tracker");
    assert!(local.uri().starts_with("file://"));
    let parent = local
        .start_run(RunSpec {
            run_name: Some("sweep".into()),
            ..RunSpec::default()
        })
        .expect("parent");
    let child = local
        .start_run(RunSpec {
            parent_run_id: Some(parent.run_id().to_string()),
            ..RunSpec::default()
        })
        .expect("child");
    parent.log_params(&[("grid", "reg=0,0.1")]).expect("params");
    for step in 0..1200 {
        child
            .log_metric("loss", 1.0 / (step + 1) as f64, step)
            .expect("metric");
    }
    let model = tempfile::tempdir().expect("model");
    std::fs::write(model.path().join("model.json"), b"{}").expect("write");
    child
        .log_artifacts(model.path(), "model")
        .expect("artifacts");
    let child_local = child.local_id().to_string();
    let parent_local = parent.local_id().to_string();
    assert!(!child.finish(Status::Finished).expect("finish").synced);
    parent.finish(Status::Finished).expect("finish");

    // `distml runs list` / `show` read the store.
    let bin = env!("CARGO_BIN_EXE_distml");
    let out = std::process::Command::new(bin)
        .args(["runs", "list", "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs list");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let out = std::process::Command::new(bin)
        .args(["runs", "show", &child_local, "--dir"])
        .arg(dir.path())
        .output()
        .expect("runs show");
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(shown["metrics"]["loss"]["points"], 1200);
    assert_eq!(shown["status"], "FINISHED");

    // `distml runs sync --to URI` replays both; parent first.
    let sync = |dir: &std::path::Path| {
        let out = std::process::Command::new(bin)
            .args(["runs", "sync", "--to", &uri, "--dir"])
            .arg(dir)
            .env_remove("MLFLOW_TRACKING_USERNAME")
            .output()
            .expect("runs sync");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).expect("json")
    };
    let first = sync(dir.path());
    // A child syncs its parent first when needed, so count events over both runs.
    let count = |outcomes: &[serde_json::Value], field: &str| -> u64 {
        outcomes
            .iter()
            .map(|o| o[field].as_u64().unwrap_or(0))
            .sum()
    };
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!(
        count(&first, "events_sent"),
        count(&first, "events_total") - 2,
        "{first:?}"
    );
    let second = sync(dir.path());
    assert!(second.iter().all(|o| o["events_sent"] == 0), "{second:?}");

    let client = MlflowClient::new(&uri, &config(Some(&uri), dir.path(), 3)).expect("client");
    let spool = local.spool();
    let child_remote = spool.sync_state(&child_local).expect("state").targets[&uri]
        .run_id
        .clone();
    let parent_remote = spool.sync_state(&parent_local).expect("state").targets[&uri]
        .run_id
        .clone();
    let got = client.get_run(&child_remote).expect("child");
    assert_eq!(got.info.status, "FINISHED");
    assert_eq!(
        got.data.tag("mlflow.parentRunId"),
        Some(parent_remote.as_str())
    );
    assert_eq!(steps(&client, &child_remote, "loss").len(), 1200);
    assert_eq!(
        client
            .list_artifacts(&child_remote, "model")
            .expect("list")
            .len(),
        1
    );

    // Even with the sync record lost, the run is found by its key and points deduplicate.
    std::fs::remove_file(spool.run_dir(&child_local).join("sync.json")).expect("rm");
    let again = sync_run(&client, spool, &child_local).expect("resync");
    assert_eq!(again.run_id, child_remote);
    assert_eq!(steps(&client, &child_remote, "loss").len(), 1200);
}
