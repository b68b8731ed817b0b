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
            "--model",
            "ridge",
            "--reg",
            "0.001",
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
    for key in ["open", "features", "train", "evaluate", "total"] {
        assert!(summary["seconds"][key].as_f64().unwrap() >= 0.0);
    }
    // A regression summary has no classification keys (not even as nulls).
    for key in ["logloss", "auc", "accuracy", "logged_model_id"] {
        assert!(summary.get(key).is_none(), "{key} in {summary}");
    }
    assert_eq!(summary["solver"], "normal");
    // The same rows and validation metrics as scikit-learn's Ridge on the course's recipe
    // (tests/python/train_oracle.py on these two generated months).
    assert_eq!(summary["rows_train"], 57_312);
    assert_eq!(summary["rows_valid"], 28_635);
    let rmse = summary["rmse"].as_f64().unwrap();
    for (key, sklearn) in [
        ("rmse", 7.050136686410227),
        ("mae", 5.245357668788118),
        ("r2", 0.6101466890822234),
    ] {
        let got = summary[key].as_f64().unwrap();
        assert!(
            (got - sklearn).abs() <= 1e-9 * sklearn.abs(),
            "{key}: distml {got} vs scikit-learn {sklearn}"
        );
    }
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
    let rows = |range: std::ops::Range<usize>| {
        let mut csv = String::from("score,segment,label\n");
        for i in range {
            let score = (i % 100) as f64 / 10.0;
            let label = u8::from(score + if i % 7 == 0 { 3.0 } else { 0.0 } > 5.0);
            csv.push_str(&format!("{score},{},{label}\n", ["a", "b"][i % 2]));
        }
        csv
    };
    std::fs::write(d.join("c.csv"), rows(0..4000)).unwrap();
    std::fs::write(d.join("v.csv"), rows(4000..6000)).unwrap();
    let summary = json_result(&run_in(
        d,
        &[
            "train",
            "--data",
            "c.csv",
            "--valid",
            "v.csv",
            "--tol",
            "1e-12",
            "--max-iter",
            "1000",
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
    // scikit-learn's LogisticRegression on the same rows (tests/python/train_oracle.py).
    for (key, sklearn, tol) in [
        ("logloss", 0.19202711353349097, 1e-7),
        ("auc", 0.9776406024643346, 1e-12),
        ("accuracy", 0.928, 1e-12),
    ] {
        let got = summary[key].as_f64().unwrap();
        assert!(
            (got - sklearn).abs() <= tol * sklearn,
            "{key}: distml {got} vs scikit-learn {sklearn}"
        );
    }
    assert!(summary.get("rmse").is_none(), "{summary}");
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

    std::fs::write(d.join("s.csv"), "distance,fare_class\n1,a\n2,b\n3,c\n").unwrap();
    assert_bad_input(
        d,
        &[
            "train",
            "--data",
            "s.csv",
            "--target",
            "fare_class",
            "--numeric",
            "distance",
        ],
        &["'fare_class'", "numeric"],
    );
    assert_bad_input(
        d,
        &[
            "train",
            "--data",
            "s.csv",
            "--target",
            "fare_class",
            "--numeric",
            "nope",
        ],
        &["s.csv", "'nope'"],
    );
    assert_bad_input(d, &["train", "--data", "s.csv"], &["s.csv", "--target"]);

    std::fs::write(d.join("inf.csv"), "distance,fare\n1,2\ninf,3\n4,5\n").unwrap();
    assert_bad_input(
        d,
        &[
            "train",
            "--data",
            "inf.csv",
            "--valid",
            "inf.csv",
            "--target",
            "fare",
            "--numeric",
            "distance",
        ],
        &["'distance", "inf"],
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

/// A Parquet table `distance,fare` with the given distances.
fn distances_parquet(path: &Path, distance: Vec<f64>) {
    use std::sync::Arc;
    let fare: Vec<f64> = (0..distance.len()).map(|i| 2.0 + (i * i) as f64).collect();
    let batch = arrow_array::RecordBatch::try_from_iter([
        (
            "distance",
            Arc::new(arrow_array::Float64Array::from(distance)) as _,
        ),
        ("fare", Arc::new(arrow_array::Float64Array::from(fare)) as _),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// A NaN feature is a missing value, as in MLlib (not an error, unlike ±inf): the generic
/// job's imputer fills it with the mean of the column, so the model equals the one trained on
/// the file with the mean written in its place.
#[test]
fn a_nan_feature_is_imputed_by_the_mean() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    distances_parquet(&d.join("nan.parquet"), vec![1.0, f64::NAN, 4.0, 7.0]);
    distances_parquet(&d.join("mean.parquet"), vec![1.0, 4.0, 4.0, 7.0]);
    let train = |file: &str| {
        let out = d.join(format!("{file}.model"));
        let args = [
            "train",
            "--data",
            file,
            "--valid",
            file,
            "--target",
            "fare",
            "--numeric",
            "distance",
            "--model-out",
            out.to_str().unwrap(),
        ];
        let summary = json_result(&run_in(d, &args));
        assert_eq!(summary["rows_train"], 4, "{summary}");
        std::fs::read_to_string(out.join("model.json")).unwrap()
    };
    assert_eq!(train("nan.parquet"), train("mean.parquet"));
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
    let params = &shown["params"];
    assert_eq!(
        params["LinearRegression.regParam"], "0.1",
        "the flag wins: {shown}"
    );
    assert_eq!(
        params["LinearRegression.maxIter"], "7",
        "the file's value stays"
    );
    assert_eq!(params["LinearRegression.solver"], "lbfgs");
    assert_eq!(params["model"], "ridge");
}

/// The hold-out is cut from the raw rows before the feature pipeline is fitted: with one
/// category per row, the encoder knows exactly the training rows' categories (a pipeline
/// fitted on every row would know all 1,000).
#[test]
fn the_hold_out_never_reaches_the_feature_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("x,cat,y\n");
    for i in 0..1000 {
        let x = (i % 37) as f64 * 0.5;
        csv.push_str(&format!("{x},c{i},{}\n", 3.0 * x + (i % 5) as f64));
    }
    std::fs::write(d.join("uniq.csv"), csv).unwrap();
    let args = [
        "train",
        "--data",
        "uniq.csv",
        "--target",
        "y",
        "--numeric",
        "x",
        "--categorical",
        "cat",
    ];
    let summary = json_result(&run_in(d, &args));
    let (train, valid) = (
        summary["rows_train"].as_u64().unwrap(),
        summary["rows_valid"].as_u64().unwrap(),
    );
    assert_eq!(train + valid, 1000);
    assert!(valid > 100, "a 20% hold-out: {valid}");
    assert_eq!(
        summary["features"].as_u64().unwrap(),
        1 + train,
        "{summary}"
    );
}

/// 2,000 numeric columns: their list is longer than an MLflow param may be, which must not
/// stop the job; the run keeps the list whole as an artifact.
#[test]
fn a_param_longer_than_mlflow_allows_is_shortened_and_kept_whole() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let names: Vec<String> = (0..2000).map(|i| format!("feature_{i}")).collect();
    let mut csv = format!("y,{}\n", names.join(","));
    for r in 0..60 {
        let row: Vec<String> = (0..2000)
            .map(|c| ((r * 7 + c * 13) % 29).to_string())
            .collect();
        csv.push_str(&format!("{},{}\n", r % 11, row.join(",")));
    }
    std::fs::write(d.join("wide.csv"), csv).unwrap();
    let numeric = names.join(",");
    let args = [
        "train",
        "--data",
        "wide.csv",
        "--target",
        "y",
        "--numeric",
        &numeric,
        "--model",
        "ridge",
        "--workers",
        "0",
    ];
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_distml"))
        .args(args)
        .current_dir(d)
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    let summary = json_result(&output);
    assert_eq!(summary["features"], 2000);
    let run = summary["run_id"].as_str().unwrap();
    let whole = d
        .join("distml-runs")
        .join(run)
        .join("artifacts/params/features.numeric.txt");
    assert_eq!(std::fs::read_to_string(&whole).unwrap(), numeric);
}
