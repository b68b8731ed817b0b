//! `distml generate` and `distml describe` end to end, through the real binary.

mod common;

use common::{distml, generate_taxi, json_result, python};
use serde_json::Value;

fn column<'a>(description: &'a Value, name: &str) -> &'a Value {
    description["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {description}"))
}

fn close(a: &Value, b: &Value, rel: f64) -> bool {
    let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn describe_is_the_same_whatever_the_partition_count() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate_taxi(dir.path(), "t.parquet", 300_000, &["--seed", "3"]);
    let path = file.to_str().unwrap();
    let one = json_result(&distml(&["describe", "--data", path, "--partitions", "1"]));
    assert_eq!(one["rows"], 300_000);
    assert_eq!(one["partitions"], 1);
    for parts in ["2", "7", "64"] {
        let many = json_result(&distml(&[
            "describe",
            "--data",
            path,
            "--partitions",
            parts,
        ]));
        assert_eq!(
            many["partitions"].as_u64().unwrap(),
            parts.parse::<u64>().unwrap()
        );
        for (a, b) in one["columns"]
            .as_array()
            .unwrap()
            .iter()
            .zip(many["columns"].as_array().unwrap())
        {
            assert_eq!(
                (&a["count"], &a["nulls"], &a["min"], &a["max"]),
                (&b["count"], &b["nulls"], &b["min"], &b["max"])
            );
            if a["mean"].is_number() {
                assert!(
                    close(&a["mean"], &b["mean"], 1e-9),
                    "{} mean {} vs {}",
                    a["name"],
                    a["mean"],
                    b["mean"]
                );
                assert!(close(&a["std"], &b["std"], 1e-9), "{} std", a["name"]);
            }
        }
    }
}

#[test]
fn generated_months_look_like_tlc_data() {
    let dir = tempfile::tempdir().unwrap();
    let file = generate_taxi(
        dir.path(),
        "g.parquet",
        200_000,
        &["--color", "green", "--month", "2021-02"],
    );
    let raw = json_result(&distml(&[
        "describe",
        "--data",
        file.to_str().unwrap(),
        "--raw",
    ]));
    let pickup = column(&raw, "lpep_pickup_datetime");
    assert!(pickup["min"].as_str().unwrap().starts_with("2021-02-01"));
    assert!(pickup["max"].as_str().unwrap().starts_with("2021-02-28"));
    let zones = column(&raw, "PULocationID");
    assert_eq!(zones["type"], "int32");
    assert!(zones["min"].as_f64().unwrap() >= 1.0 && zones["max"].as_f64().unwrap() <= 265.0);
    let passengers = column(&raw, "passenger_count");
    let null_share = passengers["nulls"].as_f64().unwrap() / 200_000.0;
    assert!(
        (0.01..0.06).contains(&null_share),
        "null passenger share {null_share}"
    );
    let distance = column(&raw, "trip_distance");
    assert!(
        distance["min"].as_f64().unwrap() == 0.0,
        "some zero distances"
    );
    assert!((1.0..8.0).contains(&distance["mean"].as_f64().unwrap()));
    // The canonical view renames lpep_* and widens the int32 ids.
    let canonical = json_result(&distml(&[
        "describe",
        "--data",
        file.to_str().unwrap(),
        "--columns",
        "pickup_datetime,PULocationID",
    ]));
    assert_eq!(column(&canonical, "PULocationID")["type"], "int64");
    assert_eq!(column(&canonical, "pickup_datetime")["min"], pickup["min"]);
}

#[test]
fn the_same_seed_gives_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = generate_taxi(dir.path(), "a.parquet", 50_000, &["--seed", "9"]);
    let b = generate_taxi(dir.path(), "b.parquet", 50_000, &["--seed", "9"]);
    let c = generate_taxi(dir.path(), "c.parquet", 50_000, &["--seed", "10"]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert_ne!(std::fs::read(&a).unwrap(), std::fs::read(&c).unwrap());
}

#[test]
fn csv_output_reads_back_like_the_parquet_file() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = generate_taxi(dir.path(), "t.parquet", 40_000, &["--seed", "5"]);
    let csv = generate_taxi(dir.path(), "t.csv", 40_000, &["--seed", "5"]);
    let cols =
        "pickup_datetime,dropoff_datetime,PULocationID,trip_distance,passenger_count,airport_fee";
    let p = json_result(&distml(&[
        "describe",
        "--data",
        parquet.to_str().unwrap(),
        "--columns",
        cols,
    ]));
    let c = json_result(&distml(&[
        "describe",
        "--data",
        csv.to_str().unwrap(),
        "--columns",
        cols,
        "--partitions",
        "3",
    ]));
    assert_eq!(c["partitions"], 3);
    for name in cols.split(',') {
        let (a, b) = (column(&p, name), column(&c, name));
        assert_eq!(
            (&a["count"], &a["nulls"], &a["min"], &a["max"]),
            (&b["count"], &b["nulls"], &b["min"], &b["max"]),
            "{name}"
        );
        if a["mean"].is_number() {
            assert!(close(&a["mean"], &b["mean"], 1e-9), "{name}");
        }
    }
}

#[test]
fn several_files_and_globs_read_as_one_table() {
    let dir = tempfile::tempdir().unwrap();
    generate_taxi(dir.path(), "m1.parquet", 20_000, &["--month", "2023-01"]);
    generate_taxi(dir.path(), "m2.parquet", 30_000, &["--month", "2024-02"]); // 2024 schema drift
    let glob = dir.path().join("m*.parquet");
    let d = json_result(&distml(&[
        "describe",
        "--data",
        glob.to_str().unwrap(),
        "--columns",
        "PULocationID,airport_fee",
    ]));
    assert_eq!(d["rows"], 50_000);
    // The 2024 file spells it `Airport_fee`: read as one column, its nulls are both files'
    // nulls, counted here with the Parquet reader itself.
    let nulls = |file: &str, spelling: &str| -> u64 {
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let f = std::fs::File::open(dir.path().join(file)).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        reader
            .map(|b| b.unwrap().column_by_name(spelling).unwrap().null_count() as u64)
            .sum()
    };
    let expected = nulls("m1.parquet", "airport_fee") + nulls("m2.parquet", "Airport_fee");
    let fee = column(&d, "airport_fee");
    assert!(expected > 0, "the generator leaves some fees null");
    assert_eq!(fee["nulls"].as_u64().unwrap(), expected);
    assert_eq!(fee["count"].as_u64().unwrap(), 50_000 - expected);
}

/// Files written by pandas/pyarrow (ns timestamps, int64 and int32 ids, both airport_fee
/// spellings, CSV with empty cells) described by distml and by pandas in the same run.
#[test]
fn describe_matches_pandas_on_files_written_by_pyarrow() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/tlc_fixtures.py");
    let status = std::process::Command::new(python)
        .arg(script)
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "fixture script failed");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("expected.json")).unwrap())
            .unwrap();
    for (file, want) in expected.as_object().unwrap() {
        let path = dir.path().join(file);
        let got = json_result(&distml(&[
            "describe",
            "--data",
            path.to_str().unwrap(),
            "--raw",
            "--partitions",
            "3",
        ]));
        assert_eq!(got["rows"], want["rows"], "{file}");
        for (name, stats) in want["columns"].as_object().unwrap() {
            let col = column(&got, name);
            assert_eq!(col["count"], stats["count"], "{file} {name} count");
            assert_eq!(col["nulls"], stats["nulls"], "{file} {name} nulls");
            if stats.get("mean").is_some_and(Value::is_number) {
                for key in ["mean", "std", "min", "max"] {
                    assert!(
                        close(&col[key], &stats[key], 1e-9),
                        "{file} {name} {key}: {} vs pandas {}",
                        col[key],
                        stats[key]
                    );
                }
            } else {
                for key in ["min", "max"] {
                    assert_eq!(col[key], stats[key], "{file} {name} {key}");
                }
            }
        }
    }
    // Both parquet spellings normalise to the same canonical columns.
    let canon = |f: &str| {
        let path = dir.path().join(f);
        json_result(&distml(&[
            "describe",
            "--data",
            path.to_str().unwrap(),
            "--columns",
            "pickup_datetime,PULocationID,airport_fee,passenger_count",
        ]))
    };
    let (a, b) = (canon("yellow_pandas.parquet"), canon("yellow_2024.parquet"));
    for (x, y) in a["columns"]
        .as_array()
        .unwrap()
        .iter()
        .zip(b["columns"].as_array().unwrap())
    {
        for key in ["name", "type", "count", "nulls", "min", "max"] {
            assert_eq!(x[key], y[key], "canonical {} {key}", x["name"]);
        }
        if x["mean"].is_number() {
            assert!(close(&x["mean"], &y["mean"], 1e-9) && close(&x["std"], &y["std"], 1e-9));
        }
    }
}
