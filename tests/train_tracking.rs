//! `distml train` logging to the real MLflow server in `MLFLOW_TRACKING_URI`, read back over REST.

mod common;
mod tracking_support;

use std::collections::BTreeMap;

use common::{distml_in, generate_taxi, json_result};
use distml::tracking::MlflowClient;
use tracking_support::{config, server_uri};

#[test]
fn a_training_run_reads_back_from_mlflow() {
    let Some(uri) = server_uri("a_training_run_reads_back_from_mlflow") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = generate_taxi(d, "yellow_tripdata_2023-01.parquet", 30_000, &[]);
    let args = [
        "train",
        "--data",
        train.to_str().unwrap(),
        "--model",
        "ridge",
        "--reg",
        "0.01",
        "--solver",
        "lbfgs",
        "--tracking-uri",
        &uri,
        "--experiment",
        "distml-train-e2e",
        "--run-name",
        "taxi-ridge",
        "--model-out",
        "model",
    ];
    let summary = json_result(&distml_in(&args, d));
    assert_eq!(
        summary["tracking_uri"]
            .as_str()
            .unwrap()
            .trim_end_matches('/'),
        uri
    );
    let run_id = summary["run_id"].as_str().unwrap();

    let client = MlflowClient::new(&uri, &config(Some(&uri), d, 3)).unwrap();
    let run = client.get_run(run_id).unwrap();
    assert_eq!(run.info.status, "FINISHED");
    assert_eq!(run.info.run_name, "taxi-ridge");
    let params: BTreeMap<_, _> = run
        .data
        .params
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(params["LinearRegression.regParam"], "0.01");
    assert_eq!(params["LinearRegression.solver"], "lbfgs");
    assert_eq!(params["features.preset"], "taxi");
    let tags: BTreeMap<_, _> = run
        .data
        .tags
        .iter()
        .map(|t| (t.key.as_str(), t.value.as_str()))
        .collect();
    for key in [
        "mlflow.user",
        "mlflow.source.name",
        "mlflow.source.type",
        "distml.version",
        "mlflow.runName",
    ] {
        assert!(tags.contains_key(key), "missing tag {key}: {tags:?}");
    }
    let metrics: BTreeMap<_, _> = run
        .data
        .metrics
        .iter()
        .map(|m| (m.key.as_str(), m.value))
        .collect();
    assert!((metrics["rmse"] - summary["rmse"].as_f64().unwrap()).abs() < 1e-12);
    assert!(metrics.contains_key("training_rmse"));
    let history = client.metric_history(run_id, "training_loss").unwrap();
    let iterations = summary["iterations"].as_u64().unwrap() as usize;
    assert_eq!(
        history.len(),
        iterations + 1,
        "one loss per iteration plus the start"
    );
    let mut steps: Vec<i64> = history.iter().map(|m| m.step).collect();
    steps.sort_unstable();
    assert_eq!(steps, (0..=iterations as i64).collect::<Vec<_>>());
    let dataset = &run.inputs.dataset_inputs;
    assert!(
        dataset
            .iter()
            .any(|d| d.dataset.name == "yellow_tripdata_2023-01"),
        "{dataset:?}"
    );
    let model_id = summary["logged_model_id"]
        .as_str()
        .expect("an MLflow 3 logged model");
    let logged = client.get_logged_model(model_id).unwrap();
    assert_eq!(logged.status, "LOGGED_MODEL_READY");
    // The logged model is the run's output, as MLflow 3's `log_model` links it.
    let outputs = &client.get_run(run_id).unwrap().outputs.model_outputs;
    assert!(
        outputs.iter().any(|o| o.model_id == model_id),
        "{model_id} not among the run's outputs {outputs:?}"
    );
    let files: Vec<String> = client
        .list_artifacts(run_id, "model")
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    for expected in ["model/metadata.json", "model/model.json", "model/pipeline"] {
        assert!(
            files.iter().any(|f| f == expected),
            "artifacts {files:?} lack {expected}"
        );
    }
}

#[test]
fn a_failed_training_run_is_marked_failed_with_its_error() {
    let Some(uri) = server_uri("a_failed_training_run_is_marked_failed_with_its_error") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("short.csv"), "tpep_pickup_datetime,tpep_dropoff_datetime,PULocationID,DOLocationID,trip_distance\n2023-01-01 00:00:00,2023-01-01 00:00:30,1,2,1.5\n").unwrap();
    let name = format!("failing-{}", std::process::id());
    let out = distml_in(
        &[
            "train",
            "--data",
            "short.csv",
            "--tracking-uri",
            &uri,
            "--experiment",
            "distml-train-e2e",
            "--run-name",
            &name,
        ],
        d,
    );
    assert_eq!(out.status.code(), Some(2));
    let client = MlflowClient::new(&uri, &config(Some(&uri), d, 3)).unwrap();
    let experiment = client
        .experiment_by_name("distml-train-e2e")
        .unwrap()
        .expect("experiment exists");
    let filter = format!("attributes.run_name = '{name}'");
    let (runs, _) = client
        .search_runs(&[experiment.experiment_id.as_str()], &filter, 10, None)
        .unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].info.status, "FAILED");
    let note = runs[0]
        .data
        .tags
        .iter()
        .find(|t| t.key == "mlflow.note.content")
        .map(|t| t.value.clone())
        .unwrap_or_default();
    assert!(note.contains("no rows left"), "note: {note}");
}

#[test]
fn a_tree_run_logs_its_losses_per_tree_and_its_feature_importance() {
    let Some(uri) = server_uri("a_tree_run_logs_its_losses_per_tree_and_its_feature_importance")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = generate_taxi(d, "jan.parquet", 20_000, &[]);
    let valid = generate_taxi(
        d,
        "feb.parquet",
        5_000,
        &["--month", "2023-02", "--seed", "2"],
    );
    let args = [
        "train",
        "--data",
        train.to_str().unwrap(),
        "--valid",
        valid.to_str().unwrap(),
        "--model",
        "gbt",
        "--max-iter",
        "12",
        "--num-leaves",
        "15",
        "--tracking-uri",
        &uri,
        "--experiment",
        "distml-trees-e2e",
    ];
    let summary = json_result(&distml_in(&args, d));
    let run_id = summary["run_id"].as_str().unwrap();
    let client = MlflowClient::new(&uri, &config(Some(&uri), d, 3)).unwrap();
    let run = client.get_run(run_id).unwrap();
    let params: BTreeMap<_, _> = run
        .data
        .params
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_str()))
        .collect();
    assert_eq!(params["GBTRegressor.maxIter"], "12");
    assert_eq!(params["GBTRegressor.numLeaves"], "15");
    for name in ["training_loss", "validation_loss"] {
        let history = client.metric_history(run_id, name).unwrap();
        let mut steps: Vec<i64> = history.iter().map(|m| m.step).collect();
        steps.sort_unstable();
        assert_eq!(
            steps,
            (0..12).collect::<Vec<_>>(),
            "{name}: one loss per tree"
        );
    }
    let metrics: BTreeMap<_, _> = run
        .data
        .metrics
        .iter()
        .map(|m| (m.key.as_str(), m.value))
        .collect();
    let shares: f64 = ["trip_distance", "PULocationID_index", "DOLocationID_index"]
        .iter()
        .map(|f| metrics[format!("feature_importance.{f}").as_str()])
        .sum();
    assert!(
        (shares - 1.0).abs() < 1e-9,
        "gain shares sum to 1: {metrics:?}"
    );
    let files: Vec<String> = client
        .list_artifacts(run_id, "feature_importance")
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(files, ["feature_importance/feature_importance.json"]);
}
