//! Trees through the real binary: the taxi job with zones as native categories, its model
//! saved, scored and evaluated again; missing values without imputation; bad tree flags.

mod common;

use std::path::Path;

use common::{distml_in, generate_taxi, json_result};

fn run_in(dir: &Path, args: &[&str]) -> std::process::Output {
    distml_in(args, dir)
}

#[test]
fn a_taxi_gbt_beats_ridge_and_its_saved_model_scores_alike() {
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
        20_000,
        &["--month", "2023-02", "--seed", "2"],
    );
    let (train, valid) = (train.to_str().unwrap(), valid.to_str().unwrap());
    let gbt = json_result(&run_in(
        d,
        &[
            "train",
            "--data",
            train,
            "--valid",
            valid,
            "--model",
            "gbt",
            "--max-iter",
            "60",
            "--early-stopping-rounds",
            "5",
            "--model-out",
            "gbt",
        ],
    ));
    assert_eq!(gbt["model"], "gbt");
    assert_eq!(gbt["solver"], "histogram");
    assert_eq!(
        gbt["features"], 3,
        "distance and the two zones, not one-hot: {gbt}"
    );
    let (trees, best) = (
        gbt["trees"].as_u64().unwrap(),
        gbt["best_iteration"].as_u64().unwrap(),
    );
    assert_eq!(trees, best, "the model keeps its best iteration: {gbt}");
    assert!(gbt["iterations"].as_u64().unwrap() >= trees);
    let ridge = json_result(&run_in(
        d,
        &[
            "train", "--data", train, "--valid", valid, "--model", "ridge",
        ],
    ));
    let (g, r) = (
        gbt["rmse"].as_f64().unwrap(),
        ridge["rmse"].as_f64().unwrap(),
    );
    assert!(
        g < r,
        "trees on native zones beat one-hot ridge: {g} vs {r}"
    );

    let evaluated = json_result(&run_in(d, &["evaluate", "--model", "gbt", "--data", valid]));
    assert_eq!(evaluated["rmse"].as_f64().unwrap().to_bits(), g.to_bits());
    let predicted = json_result(&run_in(
        d,
        &[
            "predict",
            "--model",
            "gbt",
            "--data",
            valid,
            "--out",
            "preds.csv",
        ],
    ));
    assert_eq!(predicted["rows"], gbt["rows_valid"]);
}

#[test]
fn forests_and_single_trees_train_and_classify() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows: String = (0..400)
        .map(|i| {
            let x = (i % 20) as f64;
            let tier = ["gold", "silver", "bronze"][i % 3];
            let churned = u8::from(x > 12.0 || (tier == "bronze" && x > 5.0));
            format!("{x},{tier},{churned}\n")
        })
        .collect();
    std::fs::write(d.join("churn.csv"), format!("tenure,tier,churned\n{rows}")).unwrap();
    for model in ["random-forest", "decision-tree", "gbt"] {
        let out = json_result(&run_in(
            d,
            &[
                "train",
                "--data",
                "churn.csv",
                "--target",
                "churned",
                "--numeric",
                "tenure",
                "--categorical",
                "tier",
                "--model",
                model,
                "--loss",
                "logistic",
                "--min-data-in-leaf",
                "1",
            ],
        ));
        assert!(out["accuracy"].as_f64().unwrap() > 0.97, "{model}: {out}");
        assert!(out["auc"].as_f64().unwrap() > 0.97, "{model}: {out}");
    }
}

#[test]
fn missing_values_need_no_imputation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // y is 10 where x is missing, 0 below 5 and 5 above: only a tree that routes the missing
    // rows by themselves fits it.
    let rows: String = (0..300)
        .map(|i| match i % 3 {
            0 => "NaN,10\n".to_string(),
            1 => format!("{},0\n", i % 5),
            _ => format!("{},5\n", 5 + i % 5),
        })
        .collect();
    std::fs::write(d.join("gaps.csv"), format!("x,y\n{rows}")).unwrap();
    let out = json_result(&run_in(
        d,
        &[
            "train",
            "--data",
            "gaps.csv",
            "--valid",
            "gaps.csv",
            "--target",
            "y",
            "--numeric",
            "x",
            "--model",
            "decision-tree",
            "--min-data-in-leaf",
            "1",
        ],
    ));
    assert!(out["rmse"].as_f64().unwrap() < 1e-9, "{out}");
}

#[test]
fn bad_tree_flags_exit_2_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let taxi = generate_taxi(d, "t.parquet", 2_000, &[]);
    let data = taxi.to_str().unwrap();
    let bad: [(&[&str], &[&str]); 7] = [
        (&["--model", "gbt", "--num-leaves", "1"], &["--num-leaves"]),
        (&["--model", "gbt", "--max-bins", "1"], &["--max-bins"]),
        (
            &["--model", "gbt", "--max-bins", "70000"],
            &["--max-bins", "65535"],
        ),
        (
            &["--model", "random-forest", "--subsampling-rate", "0"],
            &["--subsampling-rate"],
        ),
        (&["--model", "gbt", "--loss", "logistic"], &["0 or 1"]),
        (
            &["--model", "ridge", "--num-leaves", "8"],
            &["--num-leaves", "ridge"],
        ),
        (
            &["--model", "random-forest", "--learning-rate", "0.1"],
            &["--learning-rate", "random-forest"],
        ),
    ];
    for (flags, mention) in bad {
        let mut args = vec!["train", "--data", data];
        args.extend_from_slice(flags);
        common::assert_bad_input_in(d, &args, mention);
    }
}

/// A tree job reads its summary's metrics off the scores the fit kept; they must be the bits
/// `distml evaluate` gets by scoring the saved model on the same files — regression and
/// classification, boosted and forest (a mean of trees), with the model holding every tree.
#[test]
fn metrics_from_the_fit_are_the_saved_models() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate_taxi(d, "jan.parquet", 20_000, &["--seed", "1"]);
    generate_taxi(d, "feb.parquet", 8_000, &["--seed", "2"]);
    let churn = |from: usize, to: usize| -> String {
        let rows: String = (from..to)
            .map(|i| {
                let x = ((i * 7919) % 23) as f64 + 0.5;
                let tier = ["gold", "silver", "bronze"][i % 3];
                let churned = u8::from((x > 12.0) ^ (i % 11 == 0) || (tier == "bronze" && x > 5.0));
                format!("{x},{tier},{churned}\n")
            })
            .collect();
        format!("tenure,tier,churned\n{rows}")
    };
    std::fs::write(d.join("churn.csv"), churn(0, 3_000)).unwrap();
    std::fs::write(d.join("churn-valid.csv"), churn(3_000, 4_000)).unwrap();
    // (training file, validation file, flags of the data), then the model's flags.
    type Data<'a> = (&'a str, &'a str, &'a [&'a str]);
    let taxi: Data = ("jan.parquet", "feb.parquet", &[]);
    let churn: Data = (
        "churn.csv",
        "churn-valid.csv",
        &[
            "--target",
            "churned",
            "--numeric",
            "tenure",
            "--categorical",
            "tier",
            "--loss",
            "logistic",
        ],
    );
    let jobs = [
        (taxi, ["--model", "gbt", "--max-iter", "15"]),
        (taxi, ["--model", "random-forest", "--num-trees", "5"]),
        (churn, ["--model", "gbt", "--max-iter", "10"]),
        (churn, ["--model", "random-forest", "--num-trees", "4"]),
    ];
    for ((train, valid, flags), model) in jobs {
        let mut args = vec![
            "train",
            "--model-out",
            "m",
            "--data",
            train,
            "--valid",
            valid,
        ];
        args.extend_from_slice(flags);
        args.extend_from_slice(&model);
        let summary = json_result(&run_in(d, &args));
        let trees = summary["trees"].as_u64().unwrap();
        assert!(trees > 1, "{summary}");
        let score =
            |file: &str| json_result(&run_in(d, &["evaluate", "--model", "m", "--data", file]));
        let (on_valid, on_train) = (score(valid), score(train));
        let names = summary["train_metrics"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>();
        assert!(names.len() >= 4, "{summary}");
        let bits = |v: &serde_json::Value| v.as_f64().map(f64::to_bits);
        // The summary's top level holds the headline validation metrics.
        let headline: Vec<&String> = names.iter().filter(|n| !summary[n].is_null()).collect();
        assert!(headline.len() >= 3, "{summary}");
        for name in headline {
            assert_eq!(
                bits(&summary[name]),
                bits(&on_valid[name]),
                "{model:?} valid {name}"
            );
        }
        for name in &names {
            assert_eq!(
                bits(&summary["train_metrics"][name]),
                bits(&on_train[name]),
                "{model:?} train {name}"
            );
        }
    }
}
