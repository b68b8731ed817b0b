//! MLflow's Model Registry: registered models, their numbered versions and aliases
//! (`/api/2.0/mlflow/registered-models`, `/api/2.0/mlflow/model-versions`).

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::json;

use super::client::MlflowClient;
use super::error::TrackingError;
use super::retry::CallKind;

const API: &str = "/api/2.0/mlflow";

/// How long a new version may stay `PENDING_REGISTRATION` before registration gives up.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// One version of a registered model, as the registry describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// The version number, as text (`"1"`).
    pub version: String,
    /// Where its files came from (`models:/m-…`, `runs:/…/model`, or an artifact URI).
    #[serde(default)]
    pub source: String,
    /// The run that produced it.
    #[serde(default)]
    pub run_id: String,
    /// `PENDING_REGISTRATION`, `READY` or `FAILED_REGISTRATION`.
    #[serde(default)]
    pub status: String,
    /// The MLflow 3 logged model behind it.
    #[serde(default)]
    pub model_id: Option<String>,
}

#[derive(Deserialize)]
struct VersionReply {
    model_version: ModelVersion,
}

#[derive(Deserialize)]
struct DownloadReply {
    artifact_uri: String,
}

impl MlflowClient {
    /// `registered-models/create`; a model that already exists is kept as it is.
    pub fn create_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        let body = json!({ "name": name });
        let path = format!("{API}/registered-models/create");
        match self
            .http()
            .post::<_, serde_json::Value>(&path, &body, CallKind::Create)
        {
            Ok(_) => Ok(()),
            Err(e) if e.error_code() == Some("RESOURCE_ALREADY_EXISTS") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// `model-versions/create`: a new version of `name` from `source`, linked to its run and
    /// logged model.
    pub fn create_model_version(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        model_id: Option<&str>,
    ) -> Result<ModelVersion, TrackingError> {
        let mut body = json!({ "name": name, "source": source, "run_id": run_id });
        if let Some(id) = model_id {
            body["model_id"] = json!(id);
        }
        let path = format!("{API}/model-versions/create");
        let reply: VersionReply = self.http().post(&path, &body, CallKind::Create)?;
        Ok(reply.model_version)
    }

    /// Registers `source` as a new version of `name` (creating the model when needed) and
    /// waits until the registry says it is `READY`.
    pub fn register_model(
        &self,
        name: &str,
        source: &str,
        run_id: &str,
        model_id: Option<&str>,
    ) -> Result<ModelVersion, TrackingError> {
        self.create_registered_model(name)?;
        let mut version = self.create_model_version(name, source, run_id, model_id)?;
        let deadline = Instant::now() + READY_TIMEOUT;
        while version.status == "PENDING_REGISTRATION" && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
            version = self.model_version(name, &version.version)?;
        }
        match version.status.as_str() {
            "READY" | "" => Ok(version),
            status => Err(TrackingError::Registration {
                name: name.to_string(),
                version: version.version,
                status: status.to_string(),
            }),
        }
    }

    /// `model-versions/get`.
    pub fn model_version(&self, name: &str, version: &str) -> Result<ModelVersion, TrackingError> {
        let query = [("name", name), ("version", version)];
        let reply: VersionReply = self
            .http()
            .get(&format!("{API}/model-versions/get"), &query)?;
        Ok(reply.model_version)
    }

    /// `registered-models/alias` (GET): the version an alias points at.
    pub fn model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        let query = [("name", name), ("alias", alias)];
        let reply: VersionReply = self
            .http()
            .get(&format!("{API}/registered-models/alias"), &query)?;
        Ok(reply.model_version)
    }

    /// `registered-models/alias` (POST): points `alias` of `name` at `version`.
    pub fn set_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<(), TrackingError> {
        let body = json!({ "name": name, "alias": alias, "version": version });
        self.http()
            .post::<_, serde_json::Value>(
                &format!("{API}/registered-models/alias"),
                &body,
                CallKind::Idempotent,
            )
            .map(drop)
    }

    /// `model-versions/get-download-uri`: where a version's files are stored.
    pub fn model_version_download_uri(
        &self,
        name: &str,
        version: &str,
    ) -> Result<String, TrackingError> {
        let query = [("name", name), ("version", version)];
        let reply: DownloadReply = self
            .http()
            .get(&format!("{API}/model-versions/get-download-uri"), &query)?;
        Ok(reply.artifact_uri)
    }
}
