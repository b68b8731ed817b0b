//! The Open Inference Protocol (KServe V2) over HTTP: `GET /v2/health/live`,
//! `/v2/health/ready`, `/v2/models/<name>`, `/v2/models/<name>/ready` and
//! `POST /v2/models/<name>/infer`, where each input tensor is one raw column
//! (`{"name": "trip_distance", "shape": [2], "datatype": "FP64", "data": [1.2, 3.4]}`) and the
//! outputs are `prediction` (and `probability` for classifiers), one value per row.

use std::sync::Arc;

use arrow_schema::DataType;
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::app::{number, read_body};
use super::request::{to_batch, Columns};
use super::service::Service;
use super::ServeError;

/// The V2 routes.
pub(crate) fn routes() -> Router<Arc<Service>> {
    Router::new()
        .route("/v2", get(server_metadata))
        .route("/v2/health/live", get(live))
        .route("/v2/health/ready", get(ready))
        .route("/v2/models/{name}", get(model_metadata))
        .route("/v2/models/{name}/ready", get(model_ready))
        .route("/v2/models/{name}/infer", post(infer))
}

/// A V2 error: `{"error": message}` with its status.
fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn unknown_model(service: &Service, name: &str) -> Option<Response> {
    (name != service.name()).then(|| {
        let message = format!(
            "model '{name}' is not served here (this server serves '{}')",
            service.name()
        );
        error(StatusCode::NOT_FOUND, message)
    })
}

async fn server_metadata() -> Json<Value> {
    Json(json!({"name": "distml", "version": env!("CARGO_PKG_VERSION"), "extensions": []}))
}

async fn live() -> Json<Value> {
    Json(json!({ "live": true }))
}

async fn ready(State(service): State<Arc<Service>>) -> Response {
    match service.is_ready() {
        true => Json(json!({ "ready": true })).into_response(),
        false => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down".into(),
        ),
    }
}

async fn model_ready(State(service): State<Arc<Service>>, Path(name): Path<String>) -> Response {
    if let Some(response) = unknown_model(&service, &name) {
        return response;
    }
    let body = Json(json!({ "name": name, "ready": service.is_ready() }));
    match service.is_ready() {
        true => body.into_response(),
        false => (StatusCode::SERVICE_UNAVAILABLE, body).into_response(),
    }
}

async fn model_metadata(State(service): State<Arc<Service>>, Path(name): Path<String>) -> Response {
    if let Some(response) = unknown_model(&service, &name) {
        return response;
    }
    let app = service.app();
    let inputs: Vec<Value> = app
        .schema()
        .fields()
        .iter()
        .map(|f| json!({"name": f.name(), "datatype": datatype(f.data_type()), "shape": [-1]}))
        .collect();
    let mut outputs = vec![json!({"name": "prediction", "datatype": "FP64", "shape": [-1]})];
    if app.is_classifier() {
        outputs.push(json!({"name": "probability", "datatype": "FP64", "shape": [-1]}));
    }
    let versions: Vec<String> = service.version().into_iter().collect();
    Json(json!({
        "name": name,
        "versions": versions,
        "platform": "distml",
        "inputs": inputs,
        "outputs": outputs,
    }))
    .into_response()
}

async fn infer(
    State(service): State<Arc<Service>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    if let Some(response) = unknown_model(&service, &name) {
        return response;
    }
    let app = service.app();
    let body = match read_body(request.into_body(), app.max_body()).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    app.injected_delay().await;
    let version = service.version();
    let scored = tokio::task::spawn_blocking(move || {
        let (columns, id) = parse(&body)?;
        let batch = to_batch(columns, app.schema())?;
        Ok::<_, ServeError>((app.score_columns(batch)?, id))
    })
    .await;
    match scored {
        Ok(Ok(((prediction, probability), id))) => {
            Json(answer(&name, version, id, prediction, probability)).into_response()
        }
        Ok(Err(e)) => error(e.status().0, e.to_string()),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("scoring panicked: {e}"),
        ),
    }
}

/// The response body: one FP64 output tensor per result.
fn answer(
    name: &str,
    version: Option<String>,
    id: Option<Value>,
    prediction: Vec<f64>,
    probability: Option<Vec<f64>>,
) -> Value {
    let tensor = |output: &str, values: Vec<f64>| {
        json!({
            "name": output,
            "datatype": "FP64",
            "shape": [values.len()],
            "data": values.into_iter().map(number).collect::<Vec<_>>(),
        })
    };
    let mut outputs = vec![tensor("prediction", prediction)];
    outputs.extend(probability.map(|p| tensor("probability", p)));
    let mut body = json!({ "model_name": name, "outputs": outputs });
    if let Some(version) = version {
        body["model_version"] = json!(version);
    }
    if let Some(id) = id {
        body["id"] = id;
    }
    body
}

/// The request's input tensors as columns (each of shape `[rows]` or `[rows, 1]`), and its id.
fn parse(body: &[u8]) -> Result<(Columns, Option<Value>), ServeError> {
    let bad = |m: String| ServeError::BadRequest(m);
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| bad(format!("the body is not valid JSON: {e}")))?;
    let inputs = value
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("a V2 inference request needs an 'inputs' list of tensors".into()))?;
    let mut columns = Columns {
        names: Vec::with_capacity(inputs.len()),
        values: Vec::with_capacity(inputs.len()),
    };
    for (i, tensor) in inputs.iter().enumerate() {
        let (name, values) = column(tensor).map_err(|m| bad(format!("inputs[{i}]: {m}")))?;
        columns.names.push(name);
        columns.values.push(values);
    }
    let rows = columns.values.first().map_or(0, Vec::len);
    if let Some(i) = columns.values.iter().position(|v| v.len() != rows) {
        return Err(bad(format!(
            "inputs[{i}] '{}' has {} values where inputs[0] has {rows}",
            columns.names[i],
            columns.values[i].len()
        )));
    }
    Ok((columns, value.get("id").cloned()))
}

/// One tensor's name and values; its shape must be one value per row.
fn column(tensor: &Value) -> Result<(String, Vec<Value>), String> {
    let name = tensor
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a tensor needs a 'name'")?;
    let shape: Vec<i64> = tensor
        .get("shape")
        .and_then(Value::as_array)
        .and_then(|s| s.iter().map(Value::as_i64).collect())
        .ok_or_else(|| format!("'{name}' needs a 'shape' list of integers"))?;
    let mut values = Vec::new();
    flatten(
        tensor
            .get("data")
            .ok_or_else(|| format!("'{name}' has no 'data'"))?,
        &mut values,
    );
    let rows = match shape[..] {
        [rows] | [rows, 1] => rows,
        _ => {
            return Err(format!(
                "'{name}' has shape {shape:?}; a column is [rows] or [rows, 1]"
            ))
        }
    };
    if rows < 0 || values.len() != rows as usize {
        return Err(format!(
            "'{name}' has shape {shape:?} but {} values",
            values.len()
        ));
    }
    Ok((name.to_string(), values))
}

/// Row-major nested lists as one flat list.
fn flatten(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        other => out.push(other.clone()),
    }
}

/// The V2 datatype of a request column.
fn datatype(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Boolean => "BOOL",
        DataType::Int32 => "INT32",
        DataType::Int64 => "INT64",
        DataType::Float32 => "FP32",
        DataType::Float64 => "FP64",
        _ => "BYTES",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensors_become_columns() {
        let body = br#"{"id": "r1", "inputs": [
            {"name": "trip_distance", "shape": [2, 1], "datatype": "FP64", "data": [[1.5], [2.0]]},
            {"name": "PULocationID", "shape": [2], "datatype": "INT32", "data": [1, 7]}]}"#;
        let (columns, id) = parse(body).unwrap();
        assert_eq!(columns.names, ["trip_distance", "PULocationID"]);
        assert_eq!(columns.values[0], [json!(1.5), json!(2.0)]);
        assert_eq!(id, Some(json!("r1")));
    }

    #[test]
    fn bad_tensors_are_named() {
        for (body, expected) in [
            (r#"{"instances": []}"#, "needs an 'inputs' list"),
            (
                r#"{"inputs": [{"shape": [1], "data": [1]}]}"#,
                "inputs[0]: a tensor needs a 'name'",
            ),
            (
                r#"{"inputs": [{"name": "x", "shape": [2], "data": [1]}]}"#,
                "'x' has shape [2] but 1 values",
            ),
            (
                r#"{"inputs": [{"name": "x", "shape": [1, 2], "data": [1, 2]}]}"#,
                "a column is [rows]",
            ),
            (
                r#"{"inputs": [{"name": "x", "shape": [1], "data": [1]}, {"name": "y", "shape": [2], "data": [1, 2]}]}"#,
                "inputs[1] 'y' has 2 values where inputs[0] has 1",
            ),
        ] {
            let message = parse(body.as_bytes())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(message.contains(expected), "{body}: {message}");
        }
    }

    #[test]
    fn answers_one_tensor_per_output() {
        let body = answer(
            "taxi",
            Some("3".into()),
            None,
            vec![1.0, f64::NAN],
            Some(vec![0.5, 0.25]),
        );
        assert_eq!(body["model_version"], "3");
        assert_eq!(body["outputs"][0]["shape"], json!([2]));
        assert_eq!(body["outputs"][0]["data"], json!([1.0, null]));
        assert_eq!(body["outputs"][1]["name"], "probability");
    }
}
