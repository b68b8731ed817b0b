//! `distml serve` as a real process on an ephemeral loopback port: every body format gives
//! `distml predict`'s predictions bit for bit (regression and a classifier's probability), bad
//! requests get MLflow's 4xx errors while the server goes on, a model that cannot load exits 2,
//! a SIGKILLed replica is restarted, and SIGTERM lets an in-flight request finish.

mod cluster_support;
mod common;
mod serve_support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cluster_support::{children_of, exclusive, kill, signal};
use common::{distml_in, generate_taxi, json_result};
use serde_json::{json, Value};
use serve_support::{bits, client, Server};

/// The rows `distml predict` scored: its CSV parsed into a header and string rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// A taxi-rich ridge model (it reads the pickup time) and the predictions `distml predict`
/// wrote for 300 rows of another month.
fn taxi_model(d: &Path) -> (PathBuf, PathBuf) {
    let train = generate_taxi(d, "jan.parquet", 20_000, &[]);
    let rows = generate_taxi(
        d,
        "feb.parquet",
        300,
        &["--month", "2023-02", "--seed", "5"],
    );
    let model = d.join("model");
    let args = [
        "train",
        "--data",
        train.to_str().unwrap(),
        "--preset",
        "taxi-rich",
        "--model",
        "ridge",
        "--workers",
        "0",
        "--model-out",
        model.to_str().unwrap(),
    ];
    json_result(&distml_in(&args, d));
    let out = d.join("predicted.csv");
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
    (model, out)
}

fn column_bits(header: &[String], rows: &[Vec<String>], name: &str) -> Vec<u64> {
    let i = header.iter().position(|h| h == name).unwrap();
    rows.iter()
        .map(|r| r[i].parse::<f64>().unwrap().to_bits())
        .collect()
}

/// A request value: numbers as numbers, the rest as strings.
fn value(text: &str) -> Value {
    text.parse::<i64>()
        .map(Value::from)
        .or_else(|_| text.parse::<f64>().map(Value::from))
        .unwrap_or_else(|_| Value::from(text))
}

#[test]
fn every_body_format_scores_as_predict_does() {
    let dir = tempfile::tempdir().unwrap();
    let (model, predicted) = taxi_model(dir.path());
    let (header, rows) = read_csv(&predicted);
    let want = column_bits(&header, &rows, "prediction");
    assert!(want.len() > 250);
    // Raw TLC names, no label columns (no dropoff time, no duration).
    let inputs = [
        "pickup_datetime",
        "PULocationID",
        "DOLocationID",
        "trip_distance",
    ];
    let idx: Vec<usize> = inputs
        .iter()
        .map(|n| header.iter().position(|h| h == n).unwrap())
        .collect();
    let names = [
        "tpep_pickup_datetime",
        "PULocationID",
        "DOLocationID",
        "trip_distance",
    ];
    let data: Vec<Vec<Value>> = rows
        .iter()
        .map(|r| idx.iter().map(|&i| value(&r[i])).collect())
        .collect();
    let records: Vec<Value> = data
        .iter()
        .map(|r| {
            Value::Object(
                names
                    .iter()
                    .map(|n| n.to_string())
                    .zip(r.iter().cloned())
                    .collect(),
            )
        })
        .collect();
    let columnar: serde_json::Map<String, Value> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            (
                n.to_string(),
                Value::Array(data.iter().map(|r| r[j].clone()).collect()),
            )
        })
        .collect();
    let server = Server::start(model.to_str().unwrap(), &[], &[]);
    assert_eq!(server.get("/ping"), 200);
    assert_eq!(server.get("/health"), 200);
    assert_eq!(server.get("/version"), 200);
    let bodies = [
        json!({"dataframe_split": {"columns": names, "data": data}}),
        json!({"dataframe_records": records}),
        json!({"instances": columnar.clone(), "params": {}}),
        json!({"inputs": records}),
    ];
    for body in bodies {
        let (status, reply) = server.post("application/json", body.to_string());
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            bits(&reply, None),
            want,
            "{}",
            body.as_object().unwrap().keys().next().unwrap()
        );
    }
    let csv = std::fs::read_to_string(&predicted).unwrap();
    let (status, reply) = server.post("text/csv; charset=utf-8", csv);
    assert_eq!(status, 200);
    assert_eq!(bits(&reply, None), want, "text/csv");
    let v2_inputs: Vec<Value> = columnar
        .iter()
        .map(|(name, values)| {
            let n = values.as_array().unwrap().len();
            json!({"name": name, "shape": [n], "datatype": "BYTES", "data": values})
        })
        .collect();
    let v2 = json!({"id": "batch-1", "inputs": v2_inputs});
    let (status, reply) =
        server.post_to("/v2/models/model/infer", "application/json", v2.to_string());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["id"], "batch-1");
    assert_eq!(reply["model_name"], "model");
    let output = &reply["outputs"][0];
    assert_eq!(output["name"], "prediction");
    assert_eq!(output["shape"], json!([want.len()]));
    assert_eq!(
        bits(&json!({"predictions": output["data"]}), None),
        want,
        "KServe V2"
    );
}

#[test]
fn kserve_v2_routes_describe_the_model_and_refuse_bad_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = taxi_model(dir.path());
    let server = Server::start(model.to_str().unwrap(), &["--model-name", "taxi"], &[]);
    assert_eq!(
        server.get_json("/v2/health/live"),
        (200, json!({"live": true}))
    );
    assert_eq!(
        server.get_json("/v2/health/ready"),
        (200, json!({"ready": true}))
    );
    assert_eq!(server.get("/v2/models/taxi/ready"), 200);
    let (status, meta) = server.get_json("/v2/models/taxi");
    assert_eq!(status, 200);
    let inputs: Vec<&str> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(
        inputs.contains(&"trip_distance") && inputs.contains(&"PULocationID"),
        "{meta}"
    );
    assert!(
        !inputs.iter().any(|i| i.contains("dropoff")),
        "no label inputs: {meta}"
    );
    assert_eq!(meta["outputs"][0]["name"], "prediction");
    let (status, reply) = server.post_to("/v2/models/other/infer", "application/json", "{}");
    assert_eq!(status, 404);
    assert!(
        reply["error"].as_str().unwrap().contains("'other'"),
        "{reply}"
    );
    let short = json!({"inputs": [{"name": "trip_distance", "shape": [3], "datatype": "FP64", "data": [1.0]}]});
    for (body, expected) in [
        (short.to_string(), "'trip_distance' has shape [3] but 1 values"),
        ("{nope".to_string(), "not valid JSON"),
        (
            json!({"inputs": [{"name": "trip_distance", "shape": [1], "datatype": "FP64", "data": [1.0]}]}).to_string(),
            "missing column",
        ),
    ] {
        let (status, reply) = server.post_to("/v2/models/taxi/infer", "application/json", body);
        assert_eq!(status, 400, "{reply}");
        assert!(reply["error"].as_str().unwrap().contains(expected), "{reply}");
    }
    assert_eq!(server.get("/ping"), 200, "still serving");
}

#[test]
fn a_classifier_answers_prediction_and_probability() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let rows: String = (0..400)
        .map(|i| {
            let x = (i % 20) as f64 + (i % 7) as f64 / 10.0;
            let tier = ["gold", "silver", "bronze"][i % 3];
            format!(
                "{x},{tier},{}\n",
                u8::from(x > 12.0 || (tier == "bronze" && x > 5.0))
            )
        })
        .collect();
    std::fs::write(d.join("churn.csv"), format!("tenure,tier,churned\n{rows}")).unwrap();
    let model = d.join("model");
    json_result(&distml_in(
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
            "gbt",
            "--loss",
            "logistic",
            "--min-data-in-leaf",
            "5",
            "--model-out",
            "model",
        ],
        d,
    ));
    json_result(&distml_in(
        &[
            "predict",
            "--model",
            "model",
            "--data",
            "churn.csv",
            "--out",
            "p.csv",
        ],
        d,
    ));
    let (header, rows) = read_csv(&d.join("p.csv"));
    let server = Server::start(model.to_str().unwrap(), &[], &[]);
    // No label column in the request.
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (tenure, tier) = (at("tenure"), at("tier"));
    let csv: String = std::iter::once("tenure,tier".to_string())
        .chain(rows.iter().map(|r| format!("{},{}", r[tenure], r[tier])))
        .collect::<Vec<_>>()
        .join("\n");
    let (status, reply) = server.post("text/csv", csv);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(
        bits(&reply, Some("prediction")),
        column_bits(&header, &rows, "prediction")
    );
    assert_eq!(
        bits(&reply, Some("probability")),
        column_bits(&header, &rows, "probability")
    );
}

#[test]
fn bad_requests_get_4xx_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = taxi_model(dir.path());
    let server = Server::start(model.to_str().unwrap(), &["--max-body-bytes", "2000"], &[]);
    let row = json!({"tpep_pickup_datetime": "2023-02-01 08:00:00", "PULocationID": 132,
        "DOLocationID": 138, "trip_distance": 9.5});
    let big = json!({"inputs": vec![row.clone(); 40]}).to_string();
    let cases: Vec<(&str, String, u16, &str)> = vec![
        (
            "application/json",
            "{\"inputs\": [".into(),
            400,
            "not valid JSON",
        ),
        (
            "application/json",
            json!({"inputs": []}).to_string(),
            400,
            "no rows",
        ),
        (
            "application/json",
            json!({"inputs": [{"PULocationID": 1}]}).to_string(),
            400,
            "missing column",
        ),
        (
            "application/json",
            json!({"inputs": [{"tpep_pickup_datetime": "noon", "PULocationID": 1,
            "DOLocationID": 2, "trip_distance": 1.0}]})
            .to_string(),
            400,
            "'noon'",
        ),
        (
            "application/json",
            json!({"inputs": [{"tpep_pickup_datetime": "2023-02-01 08:00:00",
            "PULocationID": "JFK", "DOLocationID": 2, "trip_distance": 1.0}]})
            .to_string(),
            400,
            "'JFK'",
        ),
        (
            "application/json",
            json!({"rows": [row.clone()]}).to_string(),
            400,
            "exactly one of",
        ),
        ("application/json", big, 413, "limit"),
        ("text/plain", "hello".into(), 415, "not supported"),
    ];
    for (content_type, body, status, needle) in cases {
        let (got, reply) = server.post(content_type, body);
        assert_eq!(got, status, "{needle}: {reply}");
        assert_eq!(reply["error_code"], "BAD_REQUEST", "{reply}");
        assert!(
            reply["message"].as_str().unwrap().contains(needle),
            "{needle}: {reply}"
        );
    }
    let (status, reply) = server.post("application/json", json!({"inputs": [row]}).to_string());
    assert_eq!(status, 200, "still serving: {reply}");
}

#[test]
fn a_model_that_cannot_load_exits_2_before_binding() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-model");
    let out = distml_in(
        &["serve", "--model", missing.to_str().unwrap(), "--port", "0"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    assert!(common::stderr(&out).contains("no-model"));
    assert!(out.stdout.is_empty(), "nothing listened");
}

#[test]
fn a_killed_replica_is_restarted_and_the_others_answer() {
    let _machine = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let (model, predicted) = taxi_model(dir.path());
    let server = Server::start(model.to_str().unwrap(), &["--replicas", "2"], &[]);
    let csv = std::fs::read_to_string(&predicted).unwrap();
    let replicas = || children_of(server.child.id());
    assert!(cluster_support::eventually(
        Duration::from_secs(20),
        || replicas().len() == 2
    ));
    let before = replicas();
    kill(before[0]);
    for _ in 0..20 {
        let (status, _) = server.post("text/csv", csv.clone());
        assert_eq!(status, 200, "another replica answers");
    }
    let restarted = cluster_support::eventually(Duration::from_secs(20), || {
        let now = replicas();
        now.len() == 2 && !now.contains(&before[0])
    });
    assert!(
        restarted,
        "the supervisor restarts the killed replica: {:?}",
        replicas()
    );
    let (status, _) = server.post("text/csv", csv);
    assert_eq!(status, 200);
}

#[test]
fn sigterm_lets_an_in_flight_request_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (model, predicted) = taxi_model(dir.path());
    let server = Server::start(
        model.to_str().unwrap(),
        &[],
        &[(distml::serve::DELAY_ENV, "1500")],
    );
    let csv = std::fs::read_to_string(&predicted).unwrap();
    let url = format!("{}/invocations", server.addr);
    let started = Instant::now();
    let in_flight = std::thread::spawn(move || {
        let reply = client()
            .post(url)
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .unwrap();
        (reply.status().as_u16(), reply.text().unwrap())
    });
    std::thread::sleep(Duration::from_millis(400));
    signal(server.child.id(), "-TERM");
    let (status, body) = in_flight.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("predictions"));
    assert!(started.elapsed() >= Duration::from_millis(1500));
    let pid = server.child.id();
    assert!(cluster_support::eventually(Duration::from_secs(10), || {
        !cluster_support::alive(pid)
    }));
}
