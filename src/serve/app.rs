//! The HTTP routes of MLflow's scoring server: `GET /ping` and `/health` (200 while ready,
//! 503 once draining), `GET /version`, `POST /invocations` (JSON or CSV in, `{"predictions":
//! [...]}` out), and the KServe V2 routes ([`super::v2`]). Scoring runs on the blocking pool
//! so slow batches never stall the routes.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt32Type};
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;

use super::service::Service;
use super::{request, v2, ServeError};
use crate::model::{Scorer, Task};

/// The column that carries each request row's position through the pipeline.
const ROW: &str = "__distml_row";

/// Fault injection for tests and drills: each `/invocations` waits this many ms.
pub const DELAY_ENV: &str = "DISTML_SERVE_DELAY_MS";

/// A loaded model and how requests to it are read.
pub struct App {
    scorer: Scorer,
    schema: SchemaRef,
    max_body: usize,
    delay: Duration,
}

impl App {
    /// A server of `scorer` (its pipeline for rows without labels) taking bodies up to
    /// `max_body` bytes.
    pub fn new(scorer: Scorer, max_body: usize) -> Result<Arc<App>, ServeError> {
        let scorer = scorer
            .unlabelled()
            .map_err(|e| ServeError::Internal(e.to_string()))?;
        let schema = scorer.pipeline().schema().clone();
        let delay = std::env::var(DELAY_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Arc::new(App {
            scorer,
            schema,
            max_body,
            delay: Duration::from_millis(delay),
        }))
    }

    /// The fault-injection wait of [`DELAY_ENV`], if set.
    pub(crate) async fn injected_delay(&self) {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
    }

    /// The largest body taken.
    pub(crate) fn max_body(&self) -> usize {
        self.max_body
    }

    /// The request columns the model reads, with their types.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether predictions come with a probability.
    pub fn is_classifier(&self) -> bool {
        self.scorer.task() == Task::Classification
    }

    /// Scores a parsed request: one prediction per row (null for a row a feature filter
    /// drops); classifiers give `{"prediction", "probability"}` objects.
    fn score(&self, batch: RecordBatch) -> Result<Value, ServeError> {
        let (prediction, probability) = self.score_columns(batch)?;
        let out: Vec<Value> = match probability {
            None => prediction.into_iter().map(number).collect(),
            Some(probability) => prediction
                .into_iter()
                .zip(probability)
                .map(
                    |(y, p)| serde_json::json!({"prediction": number(y), "probability": number(p)}),
                )
                .collect(),
        };
        Ok(serde_json::json!({ "predictions": out }))
    }

    /// Scores a parsed request into a prediction per row and, for classifiers, the positive
    /// class's probability per row (NaN for a row a feature filter drops).
    pub(crate) fn score_columns(
        &self,
        batch: RecordBatch,
    ) -> Result<(Vec<f64>, Option<Vec<f64>>), ServeError> {
        let rows = batch.num_rows();
        let with_rows = numbered(batch)?;
        let scored = self
            .scorer
            .score_batch(&with_rows, &[ROW.to_string()])
            .map_err(|e| match e.is_user_error() {
                true => ServeError::BadRequest(e.to_string()),
                false => ServeError::Internal(e.to_string()),
            })?;
        let in_request_order = |column: usize| {
            let positions = scored.column(0).as_primitive::<UInt32Type>();
            let values = scored.column(column).as_primitive::<Float64Type>();
            let mut out = vec![f64::NAN; rows];
            for (position, value) in positions.values().iter().zip(values.values()) {
                out[*position as usize] = *value;
            }
            out
        };
        let probability = self.is_classifier().then(|| in_request_order(2));
        Ok((in_request_order(1), probability))
    }
}

/// The routes over `service`: MLflow's scoring protocol and the KServe V2 one.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/ping", get(health))
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/invocations", post(invocations))
        .merge(v2::routes())
        .with_state(service)
}

async fn health(State(service): State<Arc<Service>>) -> Response {
    match service.is_ready() {
        true => (StatusCode::OK, "\n").into_response(),
        false => ServeError::Draining.into_response(),
    }
}

async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

async fn invocations(State(service): State<Arc<Service>>, request: Request) -> Response {
    match invoke(service.app(), request).await {
        Ok(body) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body.to_string(),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn invoke(app: Arc<App>, request: Request) -> Result<Value, ServeError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let csv = match content_type.split(';').next().unwrap_or("").trim() {
        "application/json" => false,
        "text/csv" => true,
        other => return Err(ServeError::UnsupportedMediaType(other.to_string())),
    };
    let body = read_body(request.into_body(), app.max_body).await?;
    app.injected_delay().await;
    tokio::task::spawn_blocking(move || {
        let batch = match csv {
            true => request::from_csv(&body, &app.schema)?,
            false => request::from_json(&body, &app.schema)?,
        };
        app.score(batch)
    })
    .await
    .map_err(|e| ServeError::Internal(format!("scoring panicked: {e}")))?
}

pub(crate) async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ServeError> {
    to_bytes(body, limit).await.map_err(|e| {
        let too_large =
            std::error::Error::source(&e).is_some_and(|s| s.to_string().contains("length limit"));
        match too_large || e.to_string().contains("length limit") {
            true => ServeError::TooLarge(limit),
            false => ServeError::BadRequest(format!("reading the body: {e}")),
        }
    })
}

/// `batch` with a last column numbering its rows.
fn numbered(batch: RecordBatch) -> Result<RecordBatch, ServeError> {
    let rows = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new(ROW, DataType::UInt32, false));
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(rows));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| ServeError::Internal(e.to_string()))
}

/// A float as JSON (NaN and infinities, which JSON lacks, as null).
pub(crate) fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}
