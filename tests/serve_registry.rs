//! The course flow against the real MLflow server of `MLFLOW_TRACKING_URI`: `train`/`tune
//! --register-model` make registered versions that MLflow's own Python client reads
//! (`get_model_info`, `download_artifacts`); `distml serve` serves `models:/NAME/1`,
//! `runs:/RUN/model` and `models:/NAME@ALIAS` with `distml predict`'s predictions bit for bit,
//! and `--reload-every` follows a moved alias without a failed request.

mod common;
mod serve_support;
mod tracking_support;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{distml_in, generate_taxi, json_result, python, stderr};
use serde_json::{json, Value};
use serve_support::{bits, client, Server};
use tracking_support::server_uri;

/// A registered model name no other run of the suite uses.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// `distml train` on `data` with `extra` flags, logged to `uri`; the summary.
fn train(d: &Path, uri: &str, data: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--workers",
        "0",
        "--tracking-uri",
        uri,
    ];
    args.extend_from_slice(extra);
    json_result(&distml_in(&args, d))
}

/// The predictions `distml predict` writes for `rows` with the model in `model`, as bits.
fn predicted_bits(d: &Path, model: &Path, rows: &Path) -> Vec<u64> {
    let out = d.join(format!(
        "{}.csv",
        model.file_name().unwrap().to_string_lossy()
    ));
    let args = [
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        rows.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    json_result(&distml_in(&args, d));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "prediction").unwrap();
    lines
        .map(|l| {
            l.split(',')
                .nth(at)
                .unwrap()
                .parse::<f64>()
                .unwrap()
                .to_bits()
        })
        .collect()
}

/// The request for the rows [`predicted_bits`] scored with `v1` (raw TLC columns, no label),
/// as CSV, cut from the file `predict` wrote.
fn request_csv(d: &Path) -> String {
    let out = d.join("v1.csv");
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let keep = [
        "pickup_datetime",
        "PULocationID",
        "DOLocationID",
        "trip_distance",
    ];
    let idx: Vec<usize> = keep
        .iter()
        .map(|k| header.iter().position(|h| h == k).unwrap())
        .collect();
    let body: Vec<String> = lines
        .map(|l| {
            let fields: Vec<&str> = l.split(',').collect();
            idx.iter().map(|&i| fields[i]).collect::<Vec<_>>().join(",")
        })
        .collect();
    format!(
        "tpep_pickup_datetime,PULocationID,DOLocationID,trip_distance\n{}",
        body.join("\n")
    )
}

/// MLflow's Python client reading a registered version: its flavors, signature input names
/// and downloaded files, as JSON.
fn python_reads(py: &Path, uri: &str, model_uri: &str, dst: &Path) -> Value {
    let script = r#"
import json, os, sys
import mlflow
info = mlflow.models.get_model_info(sys.argv[1])
local = mlflow.artifacts.download_artifacts(sys.argv[1], dst_path=sys.argv[2])
print(json.dumps({
    "flavors": sorted(info.flavors),
    "inputs": info.signature.inputs.input_names(),
    "files": sorted(os.listdir(local)),
}))
"#;
    let output = Command::new(py)
        .args(["-c", script, model_uri, dst.to_str().unwrap()])
        .env("MLFLOW_TRACKING_URI", uri)
        .current_dir(dst.parent().unwrap())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(text.lines().last().unwrap()).unwrap_or_else(|_| panic!("{text}"))
}

/// POSTs to the tracking server's REST API.
fn mlflow_post(uri: &str, path: &str, body: Value) -> Value {
    let reply = client()
        .post(format!("{uri}/api/2.0/mlflow/{path}"))
        .json(&body)
        .send()
        .unwrap();
    assert!(reply.status().is_success(), "{path}: {}", reply.status());
    reply.json().unwrap()
}

struct Registered {
    name: String,
    dir: tempfile::TempDir,
    v1: Vec<u64>,
    v2: Vec<u64>,
    summary: Value,
}

/// Two versions of one registered model (a ridge and a GBT of the same month), each also
/// saved locally, and `distml predict`'s predictions of each for 200 rows of another month.
fn register_two_versions(uri: &str) -> Registered {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let name = unique("distml-taxi");
    let data = generate_taxi(d, "jan.parquet", 20_000, &[]);
    let rows = generate_taxi(
        d,
        "feb.parquet",
        200,
        &["--month", "2023-02", "--seed", "9"],
    );
    let summary = train(
        d,
        uri,
        &data,
        &[
            "--preset",
            "taxi-rich",
            "--model",
            "ridge",
            "--model-out",
            "v1",
            "--register-model",
            &name,
        ],
    );
    assert_eq!(
        summary["registered_model"],
        format!("models:/{name}/1"),
        "{summary}"
    );
    let second = train(
        d,
        uri,
        &data,
        &[
            "--preset",
            "taxi-rich",
            "--model",
            "gbt",
            "--model-out",
            "v2",
            "--register-model",
            &name,
        ],
    );
    assert_eq!(
        second["registered_model"],
        format!("models:/{name}/2"),
        "{second}"
    );
    let v1 = predicted_bits(d, &d.join("v1"), &rows);
    let v2 = predicted_bits(d, &d.join("v2"), &rows);
    assert_ne!(v1, v2);
    Registered {
        name,
        dir,
        v1,
        v2,
        summary,
    }
}

#[test]
fn registered_versions_are_read_by_mlflow_and_served_as_predict_scores() {
    let Some(uri) = server_uri("registered_versions_are_read_by_mlflow_and_served") else {
        return;
    };
    let r = register_two_versions(&uri);
    let d = r.dir.path();
    if let Some(py) = python() {
        let read = python_reads(&py, &uri, &format!("models:/{}/1", r.name), &d.join("py"));
        assert_eq!(read["flavors"], json!(["distml"]), "{read}");
        let inputs = read["inputs"].as_array().unwrap();
        assert!(inputs.contains(&json!("trip_distance")), "{read}");
        for file in ["MLmodel", "metadata.json", "model.json", "pipeline"] {
            assert!(
                read["files"].as_array().unwrap().contains(&json!(file)),
                "{read}"
            );
        }
    }
    let csv = request_csv(d);
    let cache = d.join("cache");
    let env = [
        ("DISTML_MODEL_CACHE", cache.to_str().unwrap()),
        ("MLFLOW_TRACKING_URI", &uri),
    ];
    let run_id = r.summary["run_id"].as_str().unwrap();
    let sources = [
        (format!("models:/{}/1", r.name), &r.v1),
        (format!("models:/{}/2", r.name), &r.v2),
        (format!("runs:/{run_id}/model"), &r.v1),
    ];
    for (source, want) in sources {
        let server = Server::start(&source, &[], &env);
        let (status, reply) = server.post("text/csv", csv.clone());
        assert_eq!(status, 200, "{source}: {reply}");
        assert_eq!(&bits(&reply, None), want, "{source}");
    }
    let missing = format!("models:/{}/9", r.name);
    let output = distml_in(&["serve", "--model", &missing, "--port", "0"], d);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains(&missing), "{}", stderr(&output));
}

#[test]
fn reload_every_follows_a_moved_alias_without_a_failed_request() {
    let Some(uri) = server_uri("reload_every_follows_a_moved_alias") else {
        return;
    };
    let r = register_two_versions(&uri);
    let d = r.dir.path();
    let alias = |version: &str| {
        let body = json!({"name": r.name, "alias": "champion", "version": version});
        mlflow_post(&uri, "registered-models/alias", body);
    };
    alias("1");
    let csv = request_csv(d);
    let cache = d.join("cache");
    let env = [
        ("DISTML_MODEL_CACHE", cache.to_str().unwrap()),
        ("MLFLOW_TRACKING_URI", &uri),
    ];
    let source = format!("models:/{}@champion", r.name);
    let server = Server::start(&source, &["--replicas", "2", "--reload-every", "0.5"], &env);
    assert_eq!(server.listening["version"], "1");
    let (status, reply) = server.post("text/csv", csv.clone());
    assert_eq!((status, bits(&reply, None)), (200, r.v1.clone()));
    // Requests keep flowing while the alias moves; every one must succeed with v1 or v2.
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let (stop, addr, csv) = (stop.clone(), server.addr.clone(), csv.clone());
        let (v1, v2) = (r.v1.clone(), r.v2.clone());
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut sent = 0;
            while !stop.load(Ordering::SeqCst) && Instant::now() < deadline && sent < 5_000 {
                let reply = client()
                    .post(format!("{addr}/invocations"))
                    .header("content-type", "text/csv")
                    .body(csv.clone())
                    .send()
                    .unwrap();
                assert_eq!(reply.status().as_u16(), 200);
                let got = bits(&reply.json().unwrap(), None);
                assert!(got == v1 || got == v2, "a mixed answer");
                sent += 1;
            }
            sent
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    alias("2");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut switched = 0;
    // Both replicas must move: 20 answers in a row from v2.
    while switched < 20 && Instant::now() < deadline {
        let (status, reply) = server.post("text/csv", csv.clone());
        assert_eq!(status, 200);
        switched = if bits(&reply, None) == r.v2 {
            switched + 1
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::SeqCst);
    let sent = load
        .join()
        .expect("no request failed while the alias moved");
    assert!(sent > 0);
    assert_eq!(switched, 20, "the servers did not move to version 2");
    let (status, meta) = server.get_json(&format!("/v2/models/{}", r.name));
    assert_eq!((status, &meta["versions"]), (200, &json!(["2"])), "{meta}");
}

#[test]
fn tune_registers_its_best_model_and_bad_registrations_are_refused_before_training() {
    let Some(uri) = server_uri("tune_registers_its_best_model") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = generate_taxi(d, "jan.parquet", 5_000, &[]);
    let data = data.to_str().unwrap();
    let name = unique("distml-tuned");
    let args = [
        "tune",
        "--data",
        data,
        "--model",
        "ridge",
        "--grid",
        "reg=0.01,1",
        "--tracking-uri",
        &uri,
        "--register-model",
        &name,
    ];
    let summary = json_result(&distml_in(&args, d));
    assert_eq!(
        summary["registered_model"],
        format!("models:/{name}/1"),
        "{summary}"
    );
    let server = Server::start(
        &format!("models:/{name}/1"),
        &[],
        &[("DISTML_MODEL_CACHE", d.join("cache").to_str().unwrap())],
    );
    assert_eq!(server.get("/health"), 200);
    assert_eq!(server.listening["name"], name.as_str());
    for (flags, expected) in [
        (
            vec!["--register-model", "a/b", "--tracking-uri", &uri],
            "free of '/' and ':'",
        ),
        (
            vec!["--register-model", "taxi", "--tracking-uri", ""],
            "needs a tracking server",
        ),
    ] {
        let mut args = vec!["train", "--data", data, "--workers", "0"];
        args.extend(flags);
        let output = Command::new(env!("CARGO_BIN_EXE_distml"))
            .args(&args)
            .current_dir(d)
            .env_remove("MLFLOW_TRACKING_URI")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
        assert!(
            !stderr(&output).contains("train: 1/"),
            "refused before training"
        );
    }
}
