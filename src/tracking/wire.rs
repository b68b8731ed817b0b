//! JSON shapes of MLflow's REST API (requests and answers); empty repeated fields default to empty.

use serde::{Deserialize, Serialize};

/// One metric point; `timestamp` is fixed when the point is created so retries deduplicate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric key.
    pub key: String,
    /// Value (NaN and ±inf allowed).
    #[serde(with = "super::metric_value")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// Training step.
    #[serde(default)]
    pub step: i64,
}

/// A key/value pair: a run param or a tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// Key.
    pub key: String,
    /// Value.
    pub value: String,
}

impl KeyValue {
    /// Builds a pair.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// An experiment as `experiments/get-by-name` returns it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Experiment id (a string of digits on the SQL store).
    pub experiment_id: String,
    /// Name.
    pub name: String,
    /// Default artifact root of its runs.
    #[serde(default)]
    pub artifact_location: String,
    /// `active` or `deleted`.
    #[serde(default)]
    pub lifecycle_stage: String,
    /// Experiment tags.
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

/// Run metadata.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Run id.
    pub run_id: String,
    /// Experiment id.
    pub experiment_id: String,
    /// Run name.
    #[serde(default)]
    pub run_name: String,
    /// `RUNNING`, `FINISHED`, `FAILED`, ...
    #[serde(default)]
    pub status: String,
    /// Start time, ms.
    #[serde(default)]
    pub start_time: Option<i64>,
    /// End time, ms.
    #[serde(default)]
    pub end_time: Option<i64>,
    /// Artifact root, e.g. `mlflow-artifacts:/1/<run>/artifacts`.
    #[serde(default)]
    pub artifact_uri: String,
    /// `active` or `deleted`.
    #[serde(default)]
    pub lifecycle_stage: String,
}

/// Params, tags and the latest value of each metric.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Latest metric per key.
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// Params.
    #[serde(default)]
    pub params: Vec<KeyValue>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<KeyValue>,
}

impl RunData {
    /// The value of a tag.
    pub fn tag(&self, key: &str) -> Option<&str> {
        find(&self.tags, key)
    }

    /// The value of a param.
    pub fn param(&self, key: &str) -> Option<&str> {
        find(&self.params, key)
    }
}

fn find<'a>(pairs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|kv| kv.key == key)
        .map(|kv| kv.value.as_str())
}

/// Datasets a run consumed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunInputs {
    /// Dataset inputs.
    #[serde(default)]
    pub dataset_inputs: Vec<DatasetInput>,
}

/// A logged model a run produced (`runs/outputs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// The logged model's id (`m-…`).
    pub model_id: String,
    /// The step it was logged at.
    #[serde(default)]
    pub step: i64,
}

/// What a run produced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOutputs {
    /// Logged models.
    #[serde(default)]
    pub model_outputs: Vec<ModelOutput>,
}

/// A run as `runs/get` and `runs/search` return it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Params, tags, latest metrics.
    #[serde(default)]
    pub data: RunData,
    /// Dataset inputs.
    #[serde(default)]
    pub inputs: RunInputs,
    /// Logged models (MLflow 3).
    #[serde(default)]
    pub outputs: RunOutputs,
}

/// An MLflow dataset (name, digest, source, schema, profile).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dataset {
    /// Dataset name (≤500 chars).
    pub name: String,
    /// Content digest (≤36 chars).
    pub digest: String,
    /// Source type, e.g. `local`.
    pub source_type: String,
    /// Source as JSON, e.g. `{"uri": "file:///data/trips.parquet"}`.
    pub source: String,
    /// Schema as JSON (`{"mlflow_colspec": [...]}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Profile as JSON (`{"num_rows": N}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

/// A dataset with its input tags (`mlflow.data.context`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    /// Input tags.
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    /// The dataset.
    pub dataset: Dataset,
}

/// One entry of an artifact listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// Path relative to the run's artifact root.
    pub path: String,
    /// Directory or file.
    #[serde(default)]
    pub is_dir: bool,
    /// Size in bytes (files only).
    #[serde(default)]
    pub file_size: Option<i64>,
}

/// The final states of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    /// Still running.
    Running,
    /// Completed successfully.
    Finished,
    /// Failed.
    Failed,
    /// Killed (interrupted).
    Killed,
}

impl RunStatus {
    /// The status string MLflow uses.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }
}
