//! The HTTP routes of MLflow's scoring server: `GET /ping` and `/health` (200 while ready,
//! 503 once draining), `GET /version`, `POST /invocations` (JSON or CSV in, `{"predictions":
//! [...]}` out). Scoring runs on the blocking pool so slow batches never stall the routes.

use std::sync::atomic::{AtomicBool, Ordering};
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

use super::{request, ServeError};
use crate::model::{Scorer, Task};

/// The column that carries each request row's position through the pipeline.
const ROW: &str = "__distml_row";

/// Fault injection for tests and drills: each `/invocations` waits this many ms.
pub const DELAY_ENV: &str = "DISTML_SERVE_DELAY_MS";

/// What every route shares.
pub struct App {
    scorer: Scorer,
    schema: SchemaRef,
    ready: AtomicBool,
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
            ready: AtomicBool::new(true),
            max_body,
            delay: Duration::from_millis(delay),
        }))
    }

    /// From now on the health routes answer 503 (in-flight requests still finish).
    pub fn drain(&self) {
        self.ready.store(false, Ordering::SeqCst);
    }

    /// Scores a parsed request: one prediction per row (null for a row a feature filter
    /// drops); classifiers give `{"prediction", "probability"}` objects.
    fn score(&self, batch: RecordBatch) -> Result<Value, ServeError> {
        let rows = batch.num_rows();
        let with_rows = numbered(batch)?;
        let scored = self
            .scorer
            .score_batch(&with_rows, &[ROW.to_string()])
            .map_err(|e| match e.is_user_error() {
                true => ServeError::BadRequest(e.to_string()),
                false => ServeError::Internal(e.to_string()),
            })?;
        let positions = scored.column(0).as_primitive::<UInt32Type>();
        let prediction = scored.column(1).as_primitive::<Float64Type>();
        let probability = (self.scorer.task() == Task::Classification)
            .then(|| scored.column(2).as_primitive::<Float64Type>());
        let mut out = vec![Value::Null; rows];
        for i in 0..scored.num_rows() {
            out[positions.value(i) as usize] = match probability {
                None => number(prediction.value(i)),
                Some(p) => serde_json::json!({
                    "prediction": number(prediction.value(i)),
                    "probability": number(p.value(i)),
                }),
            };
        }
        Ok(serde_json::json!({ "predictions": out }))
    }
}

/// The routes over `app`.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/ping", get(health))
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/invocations", post(invocations))
        .with_state(app)
}

async fn health(State(app): State<Arc<App>>) -> Response {
    match app.ready.load(Ordering::SeqCst) {
        true => (StatusCode::OK, "\n").into_response(),
        false => ServeError::Draining.into_response(),
    }
}

async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

async fn invocations(State(app): State<Arc<App>>, request: Request) -> Response {
    match invoke(app, request).await {
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
    if !app.delay.is_zero() {
        tokio::time::sleep(app.delay).await;
    }
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

async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ServeError> {
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
fn number(x: f64) -> Value {
    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
}
