//! The taxi `groupBy` example (`examples/zone_hours.rs`): trips and mean duration per pickup
//! zone and hour, in-process and with 2 worker processes, against pandas' groupby on the same
//! generated file.

mod cluster_support;
mod common;

use std::path::Path;
use std::process::Command;

use cluster_support::exclusive;

/// pandas: the same filter (1 to 60 minutes) and groupby, printed as the example's CSV.
const PANDAS: &str = r#"
import sys, pandas as pd
df = pd.read_parquet(sys.argv[1], columns=["tpep_pickup_datetime", "tpep_dropoff_datetime", "PULocationID"])
df["duration"] = (df.tpep_dropoff_datetime - df.tpep_pickup_datetime).dt.total_seconds() / 60
df = df[(df.duration >= 1) & (df.duration <= 60)]
df["hour"] = df.tpep_pickup_datetime.dt.hour
g = df.groupby(["PULocationID", "hour"]).duration.agg(["count", "mean"]).reset_index()
for r in g.itertuples():
    print(f"{r.PULocationID},{r.hour},{r.count},{r.mean!r}")
"#;

/// `(zone, hour, trips, mean)` rows of a CSV without its header.
fn rows(text: &str) -> Vec<(i64, i64, u64, f64)> {
    text.lines()
        .filter(|l| !l.starts_with("PULocationID"))
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().unwrap(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

fn zone_hours(input: &Path, out: &Path, extra: &[&str]) -> String {
    let output = Command::new(common::example("zone_hours"))
        .args([
            "--input".as_ref(),
            input.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::stderr(&output));
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn zone_hours_equal_pandas_in_process_and_across_workers() {
    let dir = tempfile::tempdir().unwrap();
    let taxi = common::generate_taxi(dir.path(), "t.parquet", 30_000, &[]);
    let local = zone_hours(&taxi, &dir.path().join("local.csv"), &[]);
    let distributed = {
        let _machine = exclusive();
        zone_hours(&taxi, &dir.path().join("two.csv"), &["--workers", "2"])
    };
    assert_eq!(local, distributed, "the same bytes from 2 worker processes");
    let got = rows(&local);
    assert!(got.len() > 1000, "{} groups", got.len());
    let Some(python) = common::python() else {
        return;
    };
    let out = Command::new(python)
        .args(["-c", PANDAS])
        .arg(&taxi)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let want = rows(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.0, g.1, g.2), (w.0, w.1, w.2));
        assert!(
            (g.3 - w.3).abs() <= 1e-12 * w.3.abs(),
            "{g:?} vs pandas {w:?}"
        );
    }
}

#[test]
fn a_missing_column_or_file_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "a,b\n1,2\n").unwrap();
    for (input, needle) in [
        (csv.as_path(), "pickup"),
        (&dir.path().join("none.parquet"), "none.parquet"),
    ] {
        let out = Command::new(common::example("zone_hours"))
            .args([
                "--input".as_ref(),
                input.as_os_str(),
                "--out".as_ref(),
                dir.path().join("o.csv").as_os_str(),
            ])
            .output()
            .unwrap();
        let err = common::stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "{err}");
    }
}
