//! A started run: non-blocking logging calls and `finish`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;

use super::dataset::DatasetSpec;
use super::error::TrackingError;
use super::event::Event;
use super::ids::now_ms;
use super::logger::{Command, Logger};
use super::spool::{copy_dir, Spool, ARTIFACTS_DIR};
use super::validate;
use super::wire::{KeyValue, Metric, RunStatus};

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// The job succeeded.
    Finished,
    /// The job failed; the error becomes the run's description (`mlflow.note.content`).
    Failed {
        /// The error message (e.g. the anyhow chain).
        error: String,
    },
    /// The job was interrupted.
    Killed,
}

/// What `finish` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FinishReport {
    /// The run id (the server's, or the local id for local-only runs).
    pub run_id: String,
    /// The run's directory in the local store.
    pub local_dir: PathBuf,
    /// True when the server has every event of the run.
    pub synced: bool,
    /// Why it is not synced, if so.
    pub error: Option<String>,
}

/// A run in progress. Logging calls validate, timestamp and queue; they never wait on the network.
pub struct RunHandle {
    logger: Mutex<Option<Logger>>,
    spool: Spool,
    local_id: String,
    run_id: String,
    experiment_id: Option<String>,
    uri: Option<String>,
    params: Mutex<HashMap<String, String>>,
}

impl std::fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunHandle")
            .field("run_id", &self.run_id)
            .field("local_id", &self.local_id)
            .field("uri", &self.uri)
            .finish()
    }
}

impl RunHandle {
    pub(crate) fn new(
        logger: Logger,
        spool: Spool,
        local_id: String,
        run_id: String,
        experiment_id: Option<String>,
        uri: Option<String>,
    ) -> Self {
        RunHandle {
            logger: Mutex::new(Some(logger)),
            spool,
            local_id,
            run_id,
            experiment_id,
            uri,
            params: Mutex::default(),
        }
    }

    /// The server's run id; the local id when the run is local-only.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The run's id in the local store (its directory name and `distml.run_key` tag).
    pub fn local_id(&self) -> &str {
        &self.local_id
    }

    /// The server's experiment id, when remote.
    pub fn experiment_id(&self) -> Option<&str> {
        self.experiment_id.as_deref()
    }

    /// True when the run exists on a server.
    pub fn is_remote(&self) -> bool {
        self.uri.is_some()
    }

    /// The run's page in the MLflow UI, when remote.
    pub fn ui_url(&self) -> Option<String> {
        let (uri, exp) = (self.uri.as_ref()?, self.experiment_id.as_ref()?);
        Some(format!("{uri}/#/experiments/{exp}/runs/{}", self.run_id))
    }

    /// The run's directory in the local store.
    pub fn local_dir(&self) -> PathBuf {
        self.spool.run_dir(&self.local_id)
    }

    /// Logs params; a key logged before with a different value is an error (params are immutable).
    pub fn log_params<K: AsRef<str>, V: AsRef<str>>(
        &self,
        params: &[(K, V)],
    ) -> Result<(), TrackingError> {
        let mut fresh: Vec<KeyValue> = Vec::new();
        {
            let mut logged = self
                .params
                .lock()
                .map_err(|_| TrackingError::LoggerStopped("param table poisoned".into()))?;
            let mut batch: HashMap<&str, &str> = HashMap::new();
            for (key, value) in params {
                let (key, value) = (key.as_ref(), value.as_ref());
                validate::param(key, value)?;
                let old = logged
                    .get(key)
                    .map(String::as_str)
                    .or_else(|| batch.get(key).copied());
                match old {
                    Some(old) if old != value => {
                        return Err(TrackingError::ParamChanged {
                            key: key.to_string(),
                            old: old.to_string(),
                            new: value.to_string(),
                        })
                    }
                    Some(_) => {}
                    None => {
                        batch.insert(key, value);
                        fresh.push(KeyValue::new(key, value));
                    }
                }
            }
            for kv in &fresh {
                logged.insert(kv.key.clone(), kv.value.clone());
            }
        }
        for kv in fresh {
            self.send(Event::Param(kv))?;
        }
        Ok(())
    }

    /// Logs one metric point at `step`, timestamped now.
    pub fn log_metric(&self, key: &str, value: f64, step: i64) -> Result<(), TrackingError> {
        validate::key("metric key", key)?;
        self.send(Event::Metric(Metric {
            key: key.to_string(),
            value,
            timestamp: now_ms(),
            step,
        }))
    }

    /// Logs several metrics at the same step and timestamp.
    pub fn log_metrics(&self, metrics: &[(&str, f64)], step: i64) -> Result<(), TrackingError> {
        for (key, _) in metrics {
            validate::key("metric key", key)?;
        }
        let timestamp = now_ms();
        for (key, value) in metrics {
            self.send(Event::Metric(Metric {
                key: key.to_string(),
                value: *value,
                timestamp,
                step,
            }))?;
        }
        Ok(())
    }

    /// Sets a tag (tags may be overwritten).
    pub fn set_tag(&self, key: &str, value: &str) -> Result<(), TrackingError> {
        validate::tag(key, value)?;
        self.send(Event::Tag(KeyValue::new(key, value)))
    }

    /// Records the dataset the run read.
    pub fn log_input(&self, dataset: &DatasetSpec) -> Result<(), TrackingError> {
        let input = dataset.to_input()?;
        self.send(Event::Input(input))
    }

    /// Copies `dir` into the run store now and uploads it below `artifact_path` in the background.
    pub fn log_artifacts(&self, dir: &Path, artifact_path: &str) -> Result<usize, TrackingError> {
        let artifact_path = artifact_path.trim_matches('/');
        if !artifact_path.is_empty() {
            validate::key("artifact path", artifact_path)?;
        }
        if !dir.is_dir() {
            return Err(TrackingError::io(
                dir,
                std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            ));
        }
        let dest = self.local_dir().join(ARTIFACTS_DIR).join(artifact_path);
        let files = copy_dir(dir, &dest)?;
        self.send(Event::Artifacts {
            artifact_path: artifact_path.to_string(),
        })?;
        Ok(files)
    }

    /// Waits until everything logged so far is on disk and, if possible, on the server.
    pub fn flush(&self) -> Result<(), TrackingError> {
        let mut guard = self
            .logger
            .lock()
            .map_err(|_| TrackingError::LoggerStopped("logger poisoned".into()))?;
        match guard.as_mut() {
            Some(logger) => logger.flush(false, false),
            None => Err(TrackingError::LoggerStopped("the run is finished".into())),
        }
    }

    /// Ends the run (FAILED runs get the error as `mlflow.note.content`) and ships what is left.
    ///
    /// An `Err` means the journal could not be written; a server that is down or rejects the
    /// data is reported in [`FinishReport::error`], with the run kept in the local store.
    pub fn finish(self, status: Status) -> Result<FinishReport, TrackingError> {
        self.end(status, false)
    }

    fn end(&self, status: Status, probe_only: bool) -> Result<FinishReport, TrackingError> {
        let run_status = match &status {
            Status::Finished => RunStatus::Finished,
            Status::Failed { error } => {
                let note: String = error.chars().take(validate::MAX_TAG_VALUE).collect();
                self.send(Event::Tag(KeyValue::new("mlflow.note.content", note)))?;
                RunStatus::Failed
            }
            Status::Killed => RunStatus::Killed,
        };
        self.send(Event::End {
            status: run_status,
            end_time: now_ms(),
        })?;
        let mut logger = self
            .logger
            .lock()
            .map_err(|_| TrackingError::LoggerStopped("logger poisoned".into()))?
            .take()
            .ok_or_else(|| TrackingError::LoggerStopped("the run is finished".into()))?;
        let shipped = logger.flush(probe_only, true);
        let error = match shipped {
            Ok(()) => None,
            Err(TrackingError::LoggerStopped(message)) if !self.is_remote() => {
                return Err(TrackingError::LoggerStopped(message))
            }
            Err(e) => Some(e.to_string()),
        };
        Ok(FinishReport {
            run_id: self.run_id.clone(),
            local_dir: self.local_dir(),
            synced: self.is_remote() && error.is_none(),
            error,
        })
    }

    fn send(&self, event: Event) -> Result<(), TrackingError> {
        let guard = self
            .logger
            .lock()
            .map_err(|_| TrackingError::LoggerStopped("logger poisoned".into()))?;
        match guard.as_ref() {
            Some(logger) => logger.send(Command::Event(event)),
            None => Err(TrackingError::LoggerStopped("the run is finished".into())),
        }
    }
}

impl Drop for RunHandle {
    /// A run dropped without `finish` (early return, panic) is ended as KILLED, without retries.
    fn drop(&mut self) {
        let running = self.logger.lock().map(|g| g.is_some()).unwrap_or(false);
        if running {
            if let Err(e) = self.end(Status::Killed, true) {
                tracing::warn!("could not end run {}: {e}", self.run_id);
            }
        }
    }
}
