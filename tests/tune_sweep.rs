//! `distml tune` end to end: the real binary on a generated taxi month, in a temp cwd so the
//! local run store lands there; read back from the run store and, with MLFLOW_TRACKING_URI,
//! from a real MLflow server.

mod common;
mod tracking_support;

use std::path::Path;
use std::process::{Command, Output};

use distml::train::split::RowSplit;
use serde_json::Value;

const ROWS: usize = 30_000;

fn tune(dir: &Path, args: &[&str], mlflow: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_distml"));
    cmd.arg("tune").args(args).current_dir(dir);
    match mlflow {
        Some(uri) => cmd
            .env("MLFLOW_TRACKING_URI", uri)
            .env("MLFLOW_EXPERIMENT_NAME", "distml-tune-tests"),
        None => cmd.env_remove("MLFLOW_TRACKING_URI"),
    };
    cmd.output().expect("the distml binary runs")
}

fn month(dir: &Path) -> String {
    common::generate_taxi(dir, "taxi.parquet", ROWS, &["--seed", "7"])
        .display()
        .to_string()
}

fn names(summary: &Value) -> Vec<String> {
    summary["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect()
}

fn show(dir: &Path, run_id: &str) -> Value {
    common::json_result(&common::distml_in(&["runs", "show", run_id], dir))
}

const GRID: [&str; 4] = ["--grid", "reg=0,0.01,0.1", "--grid", "elastic-net=0,0.5"];

#[test]
fn a_3x2_grid_with_3_folds_gives_6_trials_and_the_true_best() {
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let mut args = vec!["--data", &data, "--partitions", "4", "--folds", "3"];
    args.extend(GRID);
    args.extend(["--model-out", "best", "--summary", "summary.json"]);
    let out = tune(tmp.path(), &args, None);
    let s = common::json_result(&out);
    assert_eq!(
        names(&s),
        [
            "reg=0 en=0",
            "reg=0 en=0.5",
            "reg=0.01 en=0",
            "reg=0.01 en=0.5",
            "reg=0.1 en=0",
            "reg=0.1 en=0.5"
        ]
    );
    let trials = s["trials"].as_array().unwrap();
    let expected = [
        (0.0, 0.0),
        (0.0, 0.5),
        (0.01, 0.0),
        (0.01, 0.5),
        (0.1, 0.0),
        (0.1, 0.5),
    ];
    for (t, (reg, en)) in trials.iter().zip(expected) {
        assert_eq!(t["params"]["reg"].as_f64(), Some(reg));
        assert_eq!(t["params"]["elastic-net"].as_f64(), Some(en));
        assert_eq!(t["status"], "FINISHED");
        assert_eq!(t["fold_scores"].as_array().unwrap().len(), 3);
    }
    let min = trials
        .iter()
        .map(|t| t["metric"].as_f64().unwrap())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(s["best"]["metric"].as_f64(), Some(min));
    let best = &trials[s["best"]["index"].as_u64().unwrap() as usize];
    assert_eq!(best["metric"].as_f64(), Some(min));
    assert_eq!(s["job"], "tune");
    assert_eq!(s["folds"], 3);
    assert!(s["rmse"].as_f64().is_some());
    assert!(tmp.path().join("best/model.json").exists() || tmp.path().join("best").is_dir());
    assert!(tmp.path().join("summary.json").exists());

    // Everything reads back from the local run store: parent FINISHED, children nested.
    let parent_id = s["run_id"].as_str().unwrap();
    let parent = show(tmp.path(), parent_id);
    assert_eq!(parent["status"], "FINISHED");
    assert_eq!(
        parent["params"]["best_reg"].as_str().map(str::to_string),
        Some(best["params"]["reg"].as_f64().unwrap().to_string())
    );
    assert!(parent["metrics"]["best_rmse"].is_object());
    let artifacts = tmp
        .path()
        .join("distml-runs")
        .join(parent_id)
        .join("artifacts");
    for file in [
        "search_results.csv",
        "best_parameters.json",
        "best_model/model.json",
    ] {
        assert!(
            artifacts.join(file).exists(),
            "{file} not in {}",
            artifacts.display()
        );
    }
    let csv = std::fs::read_to_string(artifacts.join("search_results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7);
    for t in trials {
        let child = show(tmp.path(), t["run_id"].as_str().unwrap());
        assert_eq!(child["parent_run_id"].as_str(), Some(parent_id));
        assert_eq!(child["run_name"], t["name"]);
        assert_eq!(child["status"], "FINISHED");
        assert!(
            child["metrics"]["avg_rmse"].is_object() && child["metrics"]["std_rmse"].is_object()
        );
    }
}

#[test]
fn asha_spends_fewer_iterations_than_the_full_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let mut base = vec![
        "--data",
        &data,
        "--folds",
        "2",
        "--solver",
        "lbfgs",
        "--max-iter",
        "30",
        "--tol",
        "0",
    ];
    base.extend(GRID);
    let full = common::json_result(&tune(tmp.path(), &base, None));
    let mut asha_args = base.clone();
    asha_args.extend(["--scheduler", "asha"]);
    let asha = common::json_result(&tune(tmp.path(), &asha_args, None));
    let (f, a) = (
        full["iterations_total"].as_u64().unwrap(),
        asha["iterations_total"].as_u64().unwrap(),
    );
    eprintln!("iterations: full grid {f}, asha {a}");
    assert!(a < f, "asha {a} vs full {f}");
    let statuses: Vec<&str> = asha["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "FINISHED").count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == "STOPPED").count(), 4);
    assert!(asha["best"]["metric"].as_f64().is_some());
}

#[test]
fn a_failing_trial_is_recorded_and_the_sweep_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let args = [
        "--data",
        &data,
        "--grid",
        "reg=0.01",
        "--grid",
        "elastic-net=0,2",
        "--summary",
        "s.json",
    ];
    let s = common::json_result(&tune(tmp.path(), &args, None));
    let trials = s["trials"].as_array().unwrap();
    assert_eq!(trials[0]["status"], "FINISHED");
    assert_eq!(trials[1]["status"], "FAILED");
    assert!(trials[1]["error"]
        .as_str()
        .unwrap()
        .contains("elasticNetParam"));
    assert_eq!(s["best"]["index"], 0);
    let child = show(tmp.path(), trials[1]["run_id"].as_str().unwrap());
    assert_eq!(child["status"], "FAILED");
    assert_eq!(
        show(tmp.path(), s["run_id"].as_str().unwrap())["status"],
        "FINISHED"
    );

    // --resume skips the finished trial (the failed one is retried): its record comes back
    // from the state file as it was — a refit would have taken another wall-clock time.
    let mut again = args.to_vec();
    again.push("--resume");
    let r = common::json_result(&tune(tmp.path(), &again, None));
    assert_eq!(r["resumed"], 1);
    let (before, after) = (&trials[0], &r["trials"][0]);
    for key in [
        "metric",
        "fold_scores",
        "iterations",
        "seconds",
        "learning_curve",
    ] {
        assert_eq!(after[key], before[key], "{key} of the resumed trial");
    }
    assert_ne!(
        after["run_id"], before["run_id"],
        "a new child run records it"
    );
}

#[test]
fn bad_flags_exit_2_naming_the_culprit() {
    let tmp = tempfile::tempdir().unwrap();
    for (args, culprit) in [
        (vec!["--grid", "regularisation=0.1"], "regularisation"),
        (vec!["--grid", "reg=0,abc"], "abc"),
        (vec!["--metric", "auc", "--grid", "reg=0"], "--metric"),
        (vec!["--search", "random:x", "--grid", "reg=0"], "--search"),
        (vec!["--scheduler", "hyperband"], "--scheduler"),
    ] {
        let out = tune(
            tmp.path(),
            &[&["--data", "nowhere.parquet"], &args[..]].concat(),
            None,
        );
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(culprit), "{args:?}: {err}");
    }
}

#[test]
fn a_sweep_reads_back_from_a_real_mlflow_server() {
    let Some(uri) = tracking_support::server_uri("a_sweep_reads_back_from_a_real_mlflow_server")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let args = [
        "--data",
        &data,
        "--folds",
        "3",
        "--grid",
        "reg=0,0.1",
        "--grid",
        "elastic-net=0,2",
    ];
    let s = common::json_result(&tune(tmp.path(), &args, Some(&uri)));
    let config = tracking_support::config(Some(&uri), tmp.path(), 3);
    let client = distml::tracking::MlflowClient::new(&uri, &config).unwrap();
    let parent = client.get_run(s["run_id"].as_str().unwrap()).unwrap();
    assert_eq!(parent.info.status, "FINISHED");
    // The parent is created before any child and finished after every child.
    let (parent_start, parent_end) = (
        parent.info.start_time.unwrap(),
        parent.info.end_time.unwrap(),
    );
    let param = |run: &distml::tracking::Run, k: &str| {
        run.data
            .params
            .iter()
            .find(|p| p.key == k)
            .map(|p| p.value.clone())
    };
    assert!(param(&parent, "best_reg").is_some());
    assert!(parent.data.metrics.iter().any(|m| m.key == "best_rmse"));
    let files: Vec<String> = client
        .list_artifacts(&parent.info.run_id, "")
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert!(
        files.contains(&"search_results.csv".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"best_parameters.json".to_string()),
        "{files:?}"
    );
    for t in s["trials"].as_array().unwrap() {
        let child = client.get_run(t["run_id"].as_str().unwrap()).unwrap();
        let tag = child
            .data
            .tags
            .iter()
            .find(|k| k.key == "mlflow.parentRunId")
            .map(|k| k.value.clone());
        assert_eq!(tag.as_deref(), Some(parent.info.run_id.as_str()));
        assert_eq!(child.info.run_name, t["name"].as_str().unwrap());
        assert!(
            child.info.start_time.unwrap() >= parent_start,
            "child started first"
        );
        assert!(
            child.info.end_time.unwrap() <= parent_end,
            "child ended last"
        );
        let expected = if t["status"] == "FAILED" {
            "FAILED"
        } else {
            "FINISHED"
        };
        assert_eq!(child.info.status, expected);
        if expected == "FINISHED" {
            assert!(child.data.metrics.iter().any(|m| m.key == "avg_rmse"));
            assert_eq!(
                param(&child, "reg"),
                Some(t["params"]["reg"].as_f64().unwrap().to_string())
            );
        }
    }
}

#[test]
fn a_job_file_grid_is_used_and_flags_override_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let job = format!("data = [\"{data}\"]\nmodel = \"ridge\"\ngrid = [\"reg=0.001,0.1\"]\n");
    std::fs::write(tmp.path().join("job.toml"), job).unwrap();
    let from_file = common::json_result(&tune(tmp.path(), &["--config", "job.toml"], None));
    assert_eq!(names(&from_file), ["reg=0.001", "reg=0.1"]);
    let parent = show(tmp.path(), from_file["run_id"].as_str().unwrap());
    assert_eq!(parent["params"]["tune.grid.reg"], "0.001,0.1");
    let from_flags = common::json_result(&tune(
        tmp.path(),
        &["--config", "job.toml", "--grid", "reg=1"],
        None,
    ));
    assert_eq!(names(&from_flags), ["reg=1"]);
}

/// Where the fixtures are.
fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The 3 folds distml cuts `diabetes.csv` into (one partition, seed 42), one fold per row:
/// the oracle script below reads them from `diabetes.folds.txt`. If the split ever changes,
/// this fails: rerun with `DISTML_BLESS=1` and rerun the script.
#[test]
fn the_oracle_folds_are_the_ones_distml_cuts() {
    let folds = RowSplit::KFold { k: 3, seed: 42 }.assign(0, 442, None);
    let text: String = folds.iter().map(|f| format!("{f}\n")).collect();
    let path = fixture("diabetes.folds.txt");
    if std::env::var_os("DISTML_BLESS").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// Mean 3-fold CV RMSE of each trial of a 3×2 elastic-net grid on `diabetes.csv`, computed by
/// `tests/python/tune_oracle.py` with scikit-learn 1.9.1 (`LinearRegression` at reg 0,
/// `ElasticNet(alpha=reg, l1_ratio=elastic-net, tol=1e-14)` otherwise, on features scaled by
/// each training fold's sample standard deviation, as MLlib's `standardization` does) on the
/// folds of `diabetes.folds.txt`.
const ORACLE_RMSE: [(&str, f64); 6] = [
    ("reg=0 en=0", 55.731631078101515),
    ("reg=0 en=0.5", 55.731631078101515),
    ("reg=0.1 en=0", 55.403545819818326),
    ("reg=0.1 en=0.5", 55.53234808835352),
    ("reg=1 en=0", 57.725360575413426),
    ("reg=1 en=0.5", 56.24111558332002),
];

#[test]
fn every_trial_of_a_kfold_sweep_matches_scikit_learn() {
    let tmp = tempfile::tempdir().unwrap();
    let data = fixture("diabetes.csv");
    let numeric = "age,sex,bmi,bp,s1,s2,s3,s4,s5,s6";
    let args = [
        "--data",
        data.to_str().unwrap(),
        "--target",
        "target",
        "--numeric",
        numeric,
        "--model",
        "elastic-net",
        "--grid",
        "reg=0,0.1,1",
        "--grid",
        "elastic-net=0,0.5",
        "--folds",
        "3",
        "--partitions",
        "1",
        // Coordinate descent to its fixed point, as scikit-learn's at tol 1e-14.
        "--tol",
        "0",
        "--max-iter",
        "100000",
    ];
    let s = common::json_result(&tune(tmp.path(), &args, None));
    let trials = s["trials"].as_array().unwrap();
    assert_eq!(trials.len(), ORACLE_RMSE.len());
    for (t, (name, rmse)) in trials.iter().zip(ORACLE_RMSE) {
        assert_eq!(t["name"], name);
        let got = t["metric"].as_f64().unwrap();
        assert!(
            (got - rmse).abs() <= 1e-8 * rmse,
            "{name}: distml {got} vs scikit-learn {rmse}"
        );
    }
}

/// Trials are independent of how many run at once: `--parallel 1` and `--parallel 3` give
/// every trial the same metric, bit for bit, and the same best.
#[test]
fn parallel_trials_give_the_sequential_results() {
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let run = |parallel: &str| {
        let mut args = vec!["--data", &data, "--folds", "3", "--parallel", parallel];
        args.extend(GRID);
        common::json_result(&tune(tmp.path(), &args, None))
    };
    let (one, three) = (run("1"), run("3"));
    assert_eq!(
        (one["parallel"].as_u64(), three["parallel"].as_u64()),
        (Some(1), Some(3))
    );
    let metrics = |s: &Value| -> Vec<u64> {
        s["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["metric"].as_f64().unwrap().to_bits())
            .collect()
    };
    assert_eq!(metrics(&one), metrics(&three));
    assert_eq!(one["best"]["name"], three["best"]["name"]);
}

/// With `--folds` and `--valid`, the folds select and `--valid` scores the refit: the
/// summary's validation metrics are those of `distml train` with the best parameters.
#[test]
fn folds_select_and_valid_scores_the_refitted_best() {
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let valid = common::generate_taxi(tmp.path(), "feb.parquet", 10_000, &["--seed", "8"]);
    let valid = valid.to_str().unwrap();
    let mut args = vec![
        "--data", &data, "--valid", valid, "--folds", "3", "--model", "ridge",
    ];
    args.extend(["--grid", "reg=0.001,0.1,10"]);
    let s = common::json_result(&tune(tmp.path(), &args, None));
    assert!(s["validation"].as_str().unwrap().contains("3-fold"), "{s}");
    assert_eq!(s["folds"], 3);
    let best = s["best"]["params"]["reg"].as_f64().unwrap().to_string();
    let train = [
        "train", "--data", &data, "--valid", valid, "--model", "ridge", "--reg", &best,
    ];
    let t = common::json_result(&common::distml_in(&train, tmp.path()));
    assert_eq!(s["rows_valid"], t["rows_valid"]);
    for key in ["rmse", "mae", "r2"] {
        let (a, b) = (s[key].as_f64().unwrap(), t[key].as_f64().unwrap());
        // The same model up to the order its Gram statistics were summed in.
        assert!(
            (a - b).abs() <= 1e-9 * b.abs(),
            "{key}: tune {a} vs train {b}"
        );
    }
}

/// `--search random:N` draws N trials from the distributions, reproducibly by `--seed`.
#[test]
fn random_search_draws_seeded_trials_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let data = month(tmp.path());
    let run = |seed: &str| {
        let args = [
            "--data",
            &data,
            "--model",
            "elastic-net",
            "--search",
            "random:4",
            "--seed",
            seed,
            "--grid",
            "reg=loguniform(0.0001,1)",
            "--grid",
            "elastic-net=uniform(0,1)",
        ];
        common::json_result(&tune(tmp.path(), &args, None))
    };
    let (a, b, c) = (run("5"), run("5"), run("6"));
    assert_eq!(a["search"], "random:4");
    assert_eq!(names(&a).len(), 4);
    assert_eq!(names(&a), names(&b), "the same seed draws the same trials");
    assert_ne!(names(&a), names(&c), "another seed draws others");
    for t in a["trials"].as_array().unwrap() {
        let reg = t["params"]["reg"].as_f64().unwrap();
        let en = t["params"]["elastic-net"].as_f64().unwrap();
        assert!(
            (0.0001..=1.0).contains(&reg) && (0.0..=1.0).contains(&en),
            "{t}"
        );
        assert_eq!(t["status"], "FINISHED");
    }
}
