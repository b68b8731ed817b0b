//! `distml train`, `predict` and `evaluate` end to end through the real binary.

mod common;

use std::path::Path;

use common::{distml_in, generate_taxi, json_result};

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    distml_in(args, dir)
}

fn assert_bad_input(dir: &Path, args: &[&str], must_mention: &[&str]) {
    common::assert_bad_input_in(dir, args, must_mention);
}

#[test]
fn the_taxi_job_trains_saves_predicts_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = generate_taxi(
        d,
        "jan.parquet",
        60_000,
        &["--month", "2023-01", "--seed", "1"],
    );
    let valid = generate_taxi(
        d,
        "feb.parquet",
        30_000,
        &["--month", "2023-02", "--seed", "2"],
    );
    let summary_file = d.join("summary.json");
    let out = run_in(
        d,
        &[
            "train",
            "--data",
            train.to_str().unwrap(),
            "--valid",
            valid.to_str().unwrap(),
            "--model-out",
            "model",
            "--summary",
            summary_file.to_str().unwrap(),
        ],
    );
    let summary = json_result(&out);
    assert_eq!(
        summary,
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&summary_file).unwrap())
            .unwrap()
    );
    for key in [
        "job",
        "model",
        "rows_train",
        "rows_valid",
        "features",
        "rmse",
        "mae",
        "r2",
        "iterations",
        "workers",
        "seconds",
        "run_id",
        "tracking_uri",
        "model_dir",
    ] {
        assert!(summary.get(key).is_some(), "summary lacks {key}: {summary}");
    }
    for key in ["load", "features", "train", "evaluate", "total"] {
        assert!(summary["seconds"][key].as_f64().unwrap() >= 0.0);
    }
    assert_eq!(summary["solver"], "normal");
    let rmse = summary["rmse"].as_f64().unwrap();
    assert!((4.0..10.0).contains(&rmse), "validation RMSE {rmse}");
    assert!(
        summary["rows_train"].as_u64().unwrap() > 55_000
            && summary["rows_train"].as_u64().unwrap() < 60_000
    );
    // Without dropoff-independent dirt the generator keeps ~98% of rows; the rest is counted.
    assert!(
        summary["rows_dropped"]["RangeFilter: duration outside [1, 60] or null"]
            .as_u64()
            .unwrap()
            > 0
    );

    let evaluated = json_result(&run_in(
        d,
        &[
            "evaluate",
            "--model",
            "model",
            "--data",
            valid.to_str().unwrap(),
        ],
    ));
    assert!(
        (evaluated["rmse"].as_f64().unwrap() - rmse).abs() < 1e-9,
        "evaluate {evaluated} vs train {rmse}"
    );
    assert_eq!(evaluated["rows"], summary["rows_valid"]);

    let predicted = json_result(&run_in(
        d,
        &[
            "predict",
            "--model",
            "model",
            "--data",
            valid.to_str().unwrap(),
            "--out",
            "pred.parquet",
        ],
    ));
    assert_eq!(predicted["rows"], summary["rows_valid"]);
    let described = json_result(&run_in(
        d,
        &[
            "describe",
            "--data",
            "pred.parquet",
            "--columns",
            "prediction,duration,PULocationID",
        ],
    ));
    let cols = described["columns"].as_array().unwrap();
    assert_eq!(cols[0]["name"], "prediction");
    assert_eq!(cols[0]["nulls"], 0);
    assert!(cols[1]["min"].as_f64().unwrap() >= 1.0 && cols[1]["max"].as_f64().unwrap() <= 60.0);
}

#[test]
fn a_generic_csv_job_recovers_an_exact_linear_relation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("x1,x2,city,y\n");
    let cities = ["nyc", "sf", "la"];
    let offsets = [0.0, 5.0, -3.0];
    for i in 0..3000 {
        let (x1, x2, c) = ((i % 17) as f64 * 0.5, ((i * 7) % 13) as f64, i % 3);
        let y = 2.0 * x1 - 1.5 * x2 + offsets[c] + 10.0;
        let x2_text = if i % 50 == 0 {
            String::new()
        } else {
            x2.to_string()
        }; // nulls get imputed
        let y = if i % 50 == 0 {
            2.0 * x1 - 1.5 * 6.0 + offsets[c] + 10.0
        } else {
            y
        };
        csv.push_str(&format!("{x1},{x2_text},{},{y}\n", cities[c]));
    }
    std::fs::write(d.join("t.csv"), csv).unwrap();
    let summary = json_result(&run_in(
        d,
        &[
            "train",
            "--data",
            "t.csv",
            "--target",
            "y",
            "--numeric",
            "x1,x2",
            "--categorical",
            "city",
            "--partitions",
            "3",
        ],
    ));
    assert_eq!(summary["features"], 5, "2 numeric + 3 cities: {summary}");
    assert!(summary["validation"]
        .as_str()
        .unwrap()
        .starts_with("random 20%"));
    // x2's nulls are imputed by its mean (≈6), which the label above was built with.
    assert!(
        summary["train_metrics"]["rmse"].as_f64().unwrap() < 0.05,
        "{summary}"
    );
}

#[test]
fn a_logistic_job_reports_classification_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("score,segment,label\n");
    for i in 0..4000 {
        let score = (i % 100) as f64 / 10.0;
        let label = u8::from(score + if i % 7 == 0 { 3.0 } else { 0.0 } > 5.0);
        csv.push_str(&format!("{score},{},{label}\n", ["a", "b"][i % 2]));
    }
    std::fs::write(d.join("c.csv"), csv).unwrap();
    let summary = json_result(&run_in(
        d,
        &[
            "train",
            "--data",
            "c.csv",
            "--target",
            "label",
            "--numeric",
            "score",
            "--categorical",
            "segment",
            "--model",
            "logistic",
            "--reg",
            "0.001",
        ],
    ));
    assert!(summary["auc"].as_f64().unwrap() > 0.9, "{summary}");
    assert!(summary["accuracy"].as_f64().unwrap() > 0.85);
    assert!(summary["rmse"].is_null());
    assert_eq!(summary["solver"], "lbfgs");
}

#[test]
fn bad_train_input_exits_2_with_the_culprit_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_bad_input(d, &["train", "--model", "forest"], &["--model", "forest"]);
    assert_bad_input(d, &["train", "--model", "ridge", "--reg", "-1"], &["reg"]);
    assert_bad_input(
        d,
        &["train", "--elastic-net", "1.5", "--model", "elastic-net"],
        &["elastic"],
    );
    assert_bad_input(d, &["train", "--solver", "magic"], &["--solver", "magic"]);
    assert_bad_input(
        d,
        &["train", "--data", "missing.parquet"],
        &["missing.parquet"],
    );

    std::fs::write(d.join("s.csv"), "x,y\n1,a\n2,b\n3,c\n").unwrap();
    assert_bad_input(
        d,
        &[
            "train",
            "--data",
            "s.csv",
            "--target",
            "y",
            "--numeric",
            "x",
        ],
        &["y"],
    );
    assert_bad_input(
        d,
        &[
            "train",
            "--data",
            "s.csv",
            "--target",
            "y",
            "--numeric",
            "nope",
        ],
        &["s.csv", "'nope'"],
    );
    assert_bad_input(d, &["train", "--data", "s.csv"], &["s.csv", "--target"]);

    std::fs::write(d.join("inf.csv"), "x,y\n1,2\ninf,3\n4,5\n").unwrap();
    assert_bad_input(
        d,
        &[
            "train",
            "--data",
            "inf.csv",
            "--target",
            "y",
            "--numeric",
            "x",
        ],
        &["x"],
    );

    // Every trip shorter than a minute: all rows filtered out.
    let text = "tpep_pickup_datetime,tpep_dropoff_datetime,PULocationID,DOLocationID,trip_distance\n\
                2023-01-01 00:00:00,2023-01-01 00:00:30,1,2,1.5\n2023-01-01 00:10:00,2023-01-01 00:10:10,3,4,0.5\n";
    std::fs::write(d.join("short.csv"), text).unwrap();
    assert_bad_input(
        d,
        &["train", "--data", "short.csv"],
        &["short.csv", "no rows left"],
    );

    let train = generate_taxi(d, "t.parquet", 5_000, &[]);
    std::fs::write(d.join("other.csv"), "a,b\n1,2\n").unwrap();
    assert_bad_input(
        d,
        &[
            "train",
            "--data",
            train.to_str().unwrap(),
            "--valid",
            "other.csv",
        ],
        &["other.csv"],
    );
    std::fs::write(d.join("job.toml"), "regularization = 1\n").unwrap();
    assert_bad_input(
        d,
        &["train", "--config", "job.toml"],
        &["job.toml", "regularization"],
    );
    assert_bad_input(
        d,
        &[
            "predict",
            "--model",
            "nowhere",
            "--data",
            "t.parquet",
            "--out",
            "p.parquet",
        ],
        &["nowhere"],
    );
}

#[test]
fn a_job_file_sets_the_flags_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let train = generate_taxi(d, "t.parquet", 20_000, &[]);
    let job = format!(
        "data = [\"{}\"]\nmodel = \"ridge\"\nreg = 0.5\nsolver = \"lbfgs\"\nmax-iter = 7\n",
        train.display()
    );
    std::fs::write(d.join("job.toml"), job).unwrap();
    let summary = json_result(&run_in(
        d,
        &["train", "--config", "job.toml", "--reg", "0.1"],
    ));
    assert_eq!(summary["model"], "ridge");
    assert_eq!(summary["solver"], "lbfgs");
    assert!(summary["iterations"].as_u64().unwrap() <= 7);
    let run_id = summary["run_id"].as_str().unwrap();
    let shown = json_result(&run_in(d, &["runs", "show", run_id]));
    let text = shown.to_string();
    assert!(
        text.contains("LinearRegression.regParam") && text.contains("0.1"),
        "{text}"
    );
}
