//! The run logger against a real MLflow server (run by hand; it needs `MLFLOW_TRACKING_URI`):
//!
//! ```sh
//! eval "$(.ci/mlflow-server.sh start)"
//! cargo bench --bench tracking_logger
//! .ci/mlflow-server.sh stop "$MLFLOW_SERVER_PID"
//! ```
//!
//! Prints metric points per second through distml's logger (journal + batched log-batch
//! shipping) next to one REST call per point, and the cost a training loop pays per logged
//! point next to one L-BFGS iteration of the taxi job.

use std::time::{Duration, Instant};

use distml::data::taxi::{generate, TaxiSpec};
use distml::data::{DataSource, ReadOptions};
use distml::feature::presets;
use distml::model::Learner;
use distml::tracking::wire::Metric;
use distml::tracking::{RunSpec, Status, Tracker, TrackingConfig, TrackingOverrides};
use distml::train::fit_local;

const BATCHED_POINTS: i64 = 20_000;
const SINGLE_POINTS: i64 = 300;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(uri) = std::env::var("MLFLOW_TRACKING_URI") else {
        eprintln!("tracking_logger: set MLFLOW_TRACKING_URI to a running MLflow server (see .ci/mlflow-server.sh)");
        return Ok(());
    };
    let store = tempfile::tempdir()?;
    std::env::set_var("DISTML_RUNS_DIR", store.path());
    let tracker = Tracker::from_env(TrackingOverrides {
        experiment: Some("distml-bench".into()),
        ..Default::default()
    })?;

    // distml's logger: calls return after the journal append; finish waits for the server.
    let run = tracker.start_run(RunSpec {
        run_name: Some("bench-batched".into()),
        ..Default::default()
    })?;
    let started = Instant::now();
    for step in 0..BATCHED_POINTS {
        run.log_metric("loss", 1.0 / (step + 1) as f64, step)?;
    }
    let per_call = started.elapsed() / BATCHED_POINTS as u32;
    let report = run.finish(Status::Finished)?;
    let batched = BATCHED_POINTS as f64 / started.elapsed().as_secs_f64();
    assert!(
        report.synced,
        "the run did not reach the server: {:?}",
        report.error
    );

    // One log-batch request per point, as a per-iteration log_metric client would do.
    let config = TrackingConfig::from_env()?;
    let client = distml::tracking::MlflowClient::new(&uri, &config)?;
    let single = tracker.start_run(RunSpec {
        run_name: Some("bench-single".into()),
        ..Default::default()
    })?;
    let run_id = single.run_id().to_string();
    let started = Instant::now();
    for step in 0..SINGLE_POINTS {
        let point = Metric {
            key: "loss".into(),
            value: 1.0 / (step + 1) as f64,
            timestamp: 1_795_000_000_000 + step,
            step,
        };
        client.log_batch(&run_id, &[point], &[], &[])?;
    }
    let one_by_one = SINGLE_POINTS as f64 / started.elapsed().as_secs_f64();
    single.finish(Status::Finished)?;

    let iteration = taxi_iteration_time()?;
    println!("{:<44}{:>14}", "logger", "points/s");
    println!(
        "{:<44}{:>14.0}",
        "distml logger (journal + batched log-batch)", batched
    );
    println!(
        "{:<44}{:>14.0}",
        "one log-batch request per point", one_by_one
    );
    println!("ratio batched / per point: {:.0}x", batched / one_by_one);
    println!(
        "log_metric call: {:.2} µs; one L-BFGS iteration of the 1M-row taxi job: {:.1} ms; one point per iteration costs {:.4}%",
        per_call.as_secs_f64() * 1e6,
        iteration.as_secs_f64() * 1e3,
        100.0 * per_call.as_secs_f64() / iteration.as_secs_f64()
    );
    Ok(())
}

/// Mean wall time of one L-BFGS iteration on 1M generated taxi rows.
fn taxi_iteration_time() -> Result<Duration, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("taxi.parquet");
    generate(
        &TaxiSpec {
            rows: 1_000_000,
            ..Default::default()
        },
        &path,
        &|_| {},
    )?;
    let source = DataSource::open(&[&path], &ReadOptions::default())?;
    let pipeline = presets::taxi().fit(&source, &|| {})?;
    let blocks = pipeline.transform_source(&source, &|| {})?.blocks;
    let params = Learner::with_settings("ridge".parse()?, [("reg", "0.01"), ("solver", "lbfgs")])?;
    let started = Instant::now();
    let (_, summary) = fit_local(&params, &blocks, pipeline.layout())?;
    Ok(started.elapsed() / summary.iterations.max(1) as u32)
}
