//! Bounded memory through the real binary: a multi-pass fit under a budget too small for any
//! block spills every block, reads them back per pass and saves the model of the unbounded
//! fit byte for byte; the spill directory is gone afterwards; bad budget flags and bad rows
//! are exit 2 naming the culprit.

mod common;

use std::path::Path;

use common::{assert_bad_input_in, distml_in, generate_taxi, json_result};

/// Trains `args` in `dir` with the model saved to `model_out`; returns the summary.
fn train(dir: &Path, model_out: &str, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["train", "--workers", "0", "--model-out", model_out];
    all.extend_from_slice(args);
    json_result(&distml_in(&all, dir))
}

fn model_json(dir: &Path, model: &str) -> String {
    std::fs::read_to_string(dir.join(model).join("model.json")).unwrap()
}

/// Each fit runs twice: with the default budget (every block cached in memory) and with a
/// budget too small for any block (every block spilled; the trees' budget holds only their
/// binned rows and gradients — 30,000 rows × 34 bytes at most, 1,020,000 bytes — and not one
/// more 200 KB block); the saved models must be identical.
#[test]
fn spilled_fits_save_the_model_of_in_memory_fits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = generate_taxi(d, "t.parquet", 30_000, &[]);
    let data = data.to_str().unwrap();
    let spill = d.join("spill");
    std::fs::create_dir(&spill).unwrap();
    let fits: [(&[&str], &str); 3] = [
        (
            &[
                "--model",
                "elastic-net",
                "--reg",
                "0.01",
                "--elastic-net",
                "0.5",
            ],
            "0",
        ),
        (
            &["--model", "linear", "--solver", "sgd", "--max-iter", "3"],
            "0",
        ),
        (
            &["--model", "gbt", "--max-iter", "5", "--max-depth", "3"],
            "1100KB",
        ),
    ];
    for (fit, budget) in fits {
        let mut args = vec!["--data", data, "--partitions", "4"];
        args.extend_from_slice(fit);
        let cached = train(d, "cached", &args);
        assert_eq!(cached["blocks"]["in_memory"], 4, "{cached}");
        assert_eq!(cached["blocks"]["spilled"], 0, "{cached}");

        args.extend_from_slice(&["--memory-budget", budget, "--spill-dir", "spill"]);
        let spilled = train(d, "spilled", &args);
        assert_eq!(spilled["blocks"]["spilled"], 4, "{spilled}");
        assert!(spilled["blocks"]["spill_bytes"].as_u64().unwrap() > 0);
        assert_eq!(model_json(d, "cached"), model_json(d, "spilled"), "{fit:?}");
        assert_eq!(cached["rmse"], spilled["rmse"], "{fit:?}");
        assert_eq!(cached["train_metrics"], spilled["train_metrics"]);
        let left: Vec<_> = std::fs::read_dir(&spill).unwrap().collect();
        assert!(left.is_empty(), "spill files left behind: {left:?}");
    }
}

/// The normal equations read each block once, so they stream whatever the budget.
#[test]
fn the_normal_equations_stream_every_block() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = generate_taxi(d, "t.parquet", 10_000, &[]);
    let summary = train(
        d,
        "m",
        &["--data", data.to_str().unwrap(), "--partitions", "3"],
    );
    assert_eq!(summary["solver"], "normal");
    assert_eq!(summary["blocks"]["streamed"], 3, "{summary}");
    assert_eq!(summary["blocks"]["in_memory"], 0, "{summary}");
}

/// A tree fit whose binned rows and gradients the budget cannot hold is refused, naming the
/// flag: before the rows are cached when the file says its row count (Parquet), once they are
/// binned when it does not (CSV) — before any tree either way, and no model is saved.
#[test]
fn tree_fits_beyond_the_budget_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate_taxi(d, "t.parquet", 20_000, &[]);
    generate_taxi(d, "t.csv", 20_000, &[]);
    for data in ["t.parquet", "t.csv"] {
        let args = [
            "train",
            "--data",
            data,
            "--model",
            "gbt",
            "--memory-budget",
            "200KiB",
            "--model-out",
            "m",
        ];
        assert_bad_input_in(d, &args, &["--memory-budget", "200KiB", "tree fit holds"]);
        assert!(!d.join("m").exists(), "{data}: a model was saved");
    }
    // Streamed, the CSV's blocks take no room: a budget for the bins alone trains.
    let summary = train(
        d,
        "m",
        &[
            "--data",
            "t.csv",
            "--model",
            "gbt",
            "--max-iter",
            "3",
            "--memory-budget",
            "1MiB",
        ],
    );
    assert!(
        summary["blocks"]["streamed"].as_u64().unwrap() > 0,
        "{summary}"
    );
    assert_eq!(summary["trees"], 3);
}

#[test]
fn bad_budget_flags_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate_taxi(d, "t.parquet", 2_000, &[]);
    assert_bad_input_in(
        d,
        &["train", "--data", "t.parquet", "--memory-budget", "lots"],
        &["--memory-budget", "lots"],
    );
    std::fs::write(d.join("a-file"), "not a directory").unwrap();
    let args = [
        "train",
        "--data",
        "t.parquet",
        "--model",
        "elastic-net",
        "--reg",
        "0.1",
        "--spill-dir",
        "a-file",
        "--memory-budget",
        "0",
    ];
    assert_bad_input_in(d, &args, &["--spill-dir", "a-file"]);
}

/// The model needs a column the file lacks; an unknown output format; an infinite label.
#[test]
fn bad_rows_and_columns_are_named_with_their_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = generate_taxi(d, "t.csv", 3_000, &[]);
    train(d, "m", &["--data", csv.to_str().unwrap()]);

    let text = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    let gone = header.iter().position(|c| *c == "trip_distance").unwrap();
    let without: String = text
        .lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells.remove(gone);
            cells.join(",") + "\n"
        })
        .collect();
    std::fs::write(d.join("nodist.csv"), without).unwrap();
    let predict = ["predict", "--model", "m", "--data", "nodist.csv"];
    assert_bad_input_in(
        d,
        &[&predict[..], &["--out", "p.parquet"]].concat(),
        &["nodist.csv", "'trip_distance'"],
    );
    assert_bad_input_in(
        d,
        &["evaluate", "--model", "m", "--data", "nodist.csv"],
        &["nodist.csv", "'trip_distance'"],
    );
    assert_bad_input_in(
        d,
        &[
            "predict", "--model", "m", "--data", "t.csv", "--out", "x.txt",
        ],
        &["--out", "x.txt"],
    );
    assert!(!d.join("x.txt").exists());

    let mut rows = String::from("x,y\n");
    for i in 0..20 {
        let y = if i == 11 {
            "inf".to_string()
        } else {
            i.to_string()
        };
        rows.push_str(&format!("{i},{y}\n"));
    }
    std::fs::write(d.join("inf.csv"), rows).unwrap();
    let args = [
        "train",
        "--data",
        "inf.csv",
        "--valid",
        "inf.csv",
        "--target",
        "y",
        "--numeric",
        "x",
    ];
    // Line 13 of the file: the header is line 1 and row i is line i + 2.
    assert_bad_input_in(d, &args, &["inf.csv", "line 13", "inf"]);
}

/// A generic CSV job's progress never counts past its total (it once showed `6/4 (150%)`).
#[test]
fn progress_never_passes_its_total() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut rows = String::from("x,c,y\n");
    for i in 0..400 {
        rows.push_str(&format!("{i},{},{}\n", ["a", "b"][i % 2], 2 * i + i % 2));
    }
    std::fs::write(d.join("g.csv"), rows).unwrap();
    let out = distml_in(
        &[
            "train",
            "--data",
            "g.csv",
            "--target",
            "y",
            "--numeric",
            "x",
            "--categorical",
            "c",
            "--partitions",
            "4",
            "--workers",
            "0",
        ],
        d,
    );
    json_result(&out);
    let err = common::stderr(&out);
    for line in err.lines().filter(|l| l.contains('/')) {
        let Some(counts) = line.split_whitespace().find(|w| w.contains('/')) else {
            continue;
        };
        let mut parts = counts.split('/');
        let done: u64 = parts.next().unwrap().parse().unwrap_or(0);
        let total: u64 = parts.next().unwrap().parse().unwrap_or(u64::MAX);
        assert!(done <= total, "progress past its total: {line}\n{err}");
    }
}
