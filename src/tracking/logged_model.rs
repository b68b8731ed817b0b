//! MLflow 3 logged models: a model as a first-class object of its experiment, linked to the
//! run that produced it (`/api/2.0/mlflow/logged-models`).

use std::path::Path;

use serde::Deserialize;
use serde_json::json;

use super::artifacts::upload_dir;
use super::client::MlflowClient;
use super::error::TrackingError;
use super::retry::CallKind;
use super::wire::KeyValue;

const API: &str = "/api/2.0/mlflow";

/// A logged model as the server describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LoggedModelInfo {
    /// `m-…` id.
    pub model_id: String,
    /// Where its files go (`mlflow-artifacts:/<exp>/models/<id>/artifacts`).
    pub artifact_uri: String,
    /// `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
    #[serde(default)]
    pub status: String,
    /// Model name.
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize)]
struct ModelReply {
    model: ModelBody,
}

#[derive(Deserialize)]
struct ModelBody {
    info: LoggedModelInfo,
}

/// What to register.
#[derive(Debug, Clone)]
pub struct NewLoggedModel<'a> {
    /// Experiment id.
    pub experiment_id: &'a str,
    /// Model name (e.g. `model`).
    pub name: &'a str,
    /// Model type (e.g. `distml.LinearRegression`).
    pub model_type: &'a str,
    /// The run that trained it.
    pub source_run_id: &'a str,
    /// Parameters of the fit.
    pub params: &'a [KeyValue],
    /// Tags.
    pub tags: &'a [KeyValue],
}

impl MlflowClient {
    /// Registers a logged model, uploads `dir` as its files, marks it READY and records it as
    /// an output of the source run. `Ok(None)` when the server predates logged models (404).
    pub fn log_model(
        &self,
        model: &NewLoggedModel<'_>,
        dir: &Path,
    ) -> Result<Option<LoggedModelInfo>, TrackingError> {
        let body = json!({
            "experiment_id": model.experiment_id,
            "name": model.name,
            "model_type": model.model_type,
            "source_run_id": model.source_run_id,
            "params": model.params,
            "tags": model.tags,
        });
        let created: ModelReply =
            match self
                .http()
                .post(&format!("{API}/logged-models"), &body, CallKind::Create)
            {
                Ok(reply) => reply,
                Err(e) if e.status() == Some(404) => return Ok(None),
                Err(e) => return Err(e),
            };
        let info = created.info_owned();
        upload_dir(self, &info.artifact_uri, dir, "")?;
        let ready = json!({ "model_id": info.model_id, "status": "LOGGED_MODEL_READY" });
        let finished: ModelReply = self
            .http()
            .patch(&format!("{API}/logged-models/{}", info.model_id), &ready)?;
        let outputs = json!({ "run_id": model.source_run_id, "models": [{ "model_id": info.model_id, "step": 0 }] });
        self.http().post::<_, serde_json::Value>(
            &format!("{API}/runs/outputs"),
            &outputs,
            CallKind::Idempotent,
        )?;
        Ok(Some(finished.info_owned()))
    }

    /// `GET logged-models/<id>`.
    pub fn get_logged_model(&self, model_id: &str) -> Result<LoggedModelInfo, TrackingError> {
        let reply: ModelReply = self
            .http()
            .get(&format!("{API}/logged-models/{model_id}"), &[])?;
        Ok(reply.info_owned())
    }
}

impl ModelReply {
    fn info_owned(self) -> LoggedModelInfo {
        self.model.info
    }
}
