//! Typed calls to MLflow's REST API (`/api/2.0/mlflow/...`) on top of the retrying transport.

use serde::Deserialize;
use serde_json::json;

use super::config::TrackingConfig;
use super::error::TrackingError;
use super::http::Http;
use super::retry::CallKind;
use super::wire::{DatasetInput, Experiment, FileInfo, KeyValue, Metric, Run, RunInfo, RunStatus};

const API: &str = "/api/2.0/mlflow";

/// What `runs/create` needs.
#[derive(Clone, Debug, Default)]
pub struct NewRun {
    /// Experiment id.
    pub experiment_id: String,
    /// Run name (also sent as the `mlflow.runName` tag by the caller, if at all).
    pub run_name: Option<String>,
    /// Start time, ms since the epoch.
    pub start_time: i64,
    /// OS user (`user_id`).
    pub user_id: String,
    /// Tags set at creation (`mlflow.parentRunId`, `distml.run_key`, ...).
    pub tags: Vec<KeyValue>,
}

/// A client for one MLflow tracking server.
#[derive(Clone, Debug)]
pub struct MlflowClient {
    http: Http,
}

#[derive(Deserialize)]
struct RunReply {
    run: Run,
}

impl MlflowClient {
    /// Connects (lazily) to `uri` with the config's credentials, TLS, timeout and retries.
    pub fn new(uri: &str, config: &TrackingConfig) -> Result<Self, TrackingError> {
        Ok(MlflowClient {
            http: Http::new(uri, config)?,
        })
    }

    pub(crate) fn http(&self) -> &Http {
        &self.http
    }

    /// The same client with another retry policy.
    pub fn with_retry(&self, retry: super::retry::RetryPolicy) -> Self {
        MlflowClient {
            http: self.http.with_retry(retry),
        }
    }

    /// The server URI.
    pub fn uri(&self) -> &str {
        self.http.base()
    }

    /// `experiments/get-by-name`; `None` when it does not exist.
    pub fn experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
        #[derive(Deserialize)]
        struct Reply {
            experiment: Experiment,
        }
        match self.http.get::<Reply>(
            &format!("{API}/experiments/get-by-name"),
            &[("experiment_name", name)],
        ) {
            Ok(reply) => Ok(Some(reply.experiment)),
            Err(e) if e.error_code() == Some("RESOURCE_DOES_NOT_EXIST") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `experiments/create`; returns the new id.
    pub fn create_experiment(&self, name: &str) -> Result<String, TrackingError> {
        #[derive(Deserialize)]
        struct Reply {
            experiment_id: String,
        }
        super::validate::experiment_name(name)?;
        let reply: Reply = self.http.post(
            &format!("{API}/experiments/create"),
            &json!({ "name": name }),
            CallKind::Create,
        )?;
        Ok(reply.experiment_id)
    }

    /// Finds or creates an active experiment; a deleted one is an error saying how to fix it.
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
        let experiment = match self.experiment_by_name(name)? {
            Some(experiment) => experiment,
            None => match self.create_experiment(name) {
                Ok(_) => self
                    .experiment_by_name(name)?
                    .ok_or_else(|| TrackingError::Decode {
                        url: self.uri().to_string(),
                        message: format!("experiment '{name}' missing right after creating it"),
                    })?,
                // Another process created it first (RESOURCE_ALREADY_EXISTS): read it back.
                Err(e) if e.error_code() == Some("RESOURCE_ALREADY_EXISTS") => {
                    self.experiment_by_name(name)?.ok_or(e)?
                }
                Err(e) => return Err(e),
            },
        };
        if experiment.lifecycle_stage == "deleted" {
            return Err(TrackingError::ExperimentDeleted {
                name: name.to_string(),
                id: experiment.experiment_id,
            });
        }
        Ok(experiment)
    }

    /// `experiments/delete` (the name stays taken until `mlflow gc`).
    pub fn delete_experiment(&self, experiment_id: &str) -> Result<(), TrackingError> {
        self.http
            .post::<_, serde_json::Value>(
                &format!("{API}/experiments/delete"),
                &json!({ "experiment_id": experiment_id }),
                CallKind::Idempotent,
            )
            .map(drop)
    }

    /// `runs/create` (not retried once it may have applied; see [`Self::create_run_once`]).
    pub fn create_run(&self, run: &NewRun) -> Result<RunInfo, TrackingError> {
        let mut body = json!({
            "experiment_id": run.experiment_id,
            "start_time": run.start_time,
            "user_id": run.user_id,
            "tags": run.tags,
        });
        if let Some(name) = &run.run_name {
            body["run_name"] = json!(name);
        }
        let reply: RunReply =
            self.http
                .post(&format!("{API}/runs/create"), &body, CallKind::Create)?;
        Ok(reply.run.info)
    }

    /// Creates a run exactly once: after an ambiguous failure, looks it up by the key tag first.
    pub fn create_run_once(
        &self,
        run: &NewRun,
        key_tag: &str,
        key: &str,
    ) -> Result<RunInfo, TrackingError> {
        if let Some(found) = self.find_run_by_tag(&run.experiment_id, key_tag, key)? {
            return Ok(found.info);
        }
        let budget = self.http.retry().max_retries;
        let mut retry = 0;
        loop {
            match self.create_run(run) {
                Ok(info) => return Ok(info),
                Err(error) if retry < budget && is_ambiguous(&error) => {
                    retry += 1;
                    let delay = self.http.retry().delay(retry, None);
                    tracing::warn!("runs/create may have applied ({error}); looking up run key {key} before retrying");
                    std::thread::sleep(delay);
                    if let Some(found) = self.find_run_by_tag(&run.experiment_id, key_tag, key)? {
                        return Ok(found.info);
                    }
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The run of `experiment_id` whose tag `key` equals `value`, if any (active or deleted).
    pub fn find_run_by_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<Option<Run>, TrackingError> {
        let filter = format!("tags.`{key}` = '{}'", value.replace('\'', "\\'"));
        let (runs, _) = self.search_runs(&[experiment_id], &filter, 1, None)?;
        Ok(runs.into_iter().next())
    }

    /// `runs/search` (one page); returns the runs and the next page token.
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        max_results: u32,
        page_token: Option<&str>,
    ) -> Result<(Vec<Run>, Option<String>), TrackingError> {
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            runs: Vec<Run>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        let mut body = json!({
            "experiment_ids": experiment_ids,
            "filter": filter,
            "max_results": max_results,
            "run_view_type": "ALL",
        });
        if let Some(token) = page_token {
            body["page_token"] = json!(token);
        }
        let reply: Reply =
            self.http
                .post(&format!("{API}/runs/search"), &body, CallKind::Idempotent)?;
        Ok((reply.runs, reply.next_page_token))
    }

    /// `runs/get`.
    pub fn get_run(&self, run_id: &str) -> Result<Run, TrackingError> {
        let reply: RunReply = self
            .http
            .get(&format!("{API}/runs/get"), &[("run_id", run_id)])?;
        Ok(reply.run)
    }

    /// `runs/update` with a status and end time.
    pub fn update_run(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time: Option<i64>,
    ) -> Result<(), TrackingError> {
        let mut body = json!({ "run_id": run_id, "status": status.as_str() });
        if let Some(end) = end_time {
            body["end_time"] = json!(end);
        }
        self.http
            .post::<_, serde_json::Value>(
                &format!("{API}/runs/update"),
                &body,
                CallKind::Idempotent,
            )
            .map(drop)
    }

    /// One `runs/log-batch` request (callers chunk; see [`super::batch`]).
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[KeyValue],
        tags: &[KeyValue],
    ) -> Result<(), TrackingError> {
        let body = json!({ "run_id": run_id, "metrics": metrics, "params": params, "tags": tags });
        self.http
            .post::<_, serde_json::Value>(
                &format!("{API}/runs/log-batch"),
                &body,
                CallKind::Idempotent,
            )
            .map(drop)
    }

    /// `runs/set-tag`.
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        super::validate::tag(key, value)?;
        let body = json!({ "run_id": run_id, "key": key, "value": value });
        self.http
            .post::<_, serde_json::Value>(
                &format!("{API}/runs/set-tag"),
                &body,
                CallKind::Idempotent,
            )
            .map(drop)
    }

    /// Every point of one metric, in the server's order (all pages).
    pub fn metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError> {
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            metrics: Vec<Metric>,
            #[serde(default)]
            next_page_token: Option<String>,
        }
        let mut all = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("run_id", run_id), ("metric_key", key)];
            if let Some(t) = token.as_deref() {
                query.push(("page_token", t));
            }
            let reply: Reply = self
                .http
                .get(&format!("{API}/metrics/get-history"), &query)?;
            all.extend(reply.metrics);
            match reply.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => token = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// `runs/log-inputs` with datasets.
    pub fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<(), TrackingError> {
        let body = json!({ "run_id": run_id, "datasets": datasets });
        self.http
            .post::<_, serde_json::Value>(
                &format!("{API}/runs/log-inputs"),
                &body,
                CallKind::Idempotent,
            )
            .map(drop)
    }

    /// `artifacts/list` below `path` of the run's artifact root (`""` for the root).
    pub fn list_artifacts(&self, run_id: &str, path: &str) -> Result<Vec<FileInfo>, TrackingError> {
        #[derive(Deserialize)]
        struct Reply {
            #[serde(default)]
            files: Vec<FileInfo>,
        }
        let mut query = vec![("run_id", run_id)];
        if !path.is_empty() {
            query.push(("path", path));
        }
        let reply: Reply = self.http.get(&format!("{API}/artifacts/list"), &query)?;
        Ok(reply.files)
    }
}

/// A failure after which the request may or may not have been applied.
fn is_ambiguous(error: &TrackingError) -> bool {
    match error {
        TrackingError::Transport { connect, .. } => !connect,
        TrackingError::Api { status, .. } | TrackingError::Http { status, .. } => {
            matches!(status, 500 | 502 | 503 | 504)
        }
        TrackingError::Decode { .. } => true,
        _ => false,
    }
}
