//! The entry point for training code: a tracker (remote server or local store) that starts runs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::client::MlflowClient;
use super::config::{TrackingConfig, TrackingOverrides};
use super::context::RunContext;
use super::error::TrackingError;
use super::event::{Event, ParentRef, RunStart};
use super::ids::{new_run_id, now_ms};
use super::logger::{is_outage, Logger, LoggerOptions, Remote};
use super::run_handle::RunHandle;
use super::spool::Spool;
use super::sync::ensure_remote_run;
use super::validate;
use super::wire::KeyValue;

/// What to start: every field is optional; the config supplies experiment and run name.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    /// Experiment name (default: the config's, i.e. `--experiment` / `MLFLOW_EXPERIMENT_NAME` / `Default`).
    pub experiment: Option<String>,
    /// Run name (default: the config's `--run-name`; else MLflow picks one).
    pub run_name: Option<String>,
    /// Extra tags set at creation.
    pub tags: Vec<(String, String)>,
    /// The parent run (its [`RunHandle::run_id`]) for nested runs.
    pub parent_run_id: Option<String>,
}

/// Starts runs on an MLflow server, or in the local run store when there is no tracking URI.
#[derive(Debug)]
pub struct Tracker {
    config: TrackingConfig,
    client: Option<MlflowClient>,
    spool: Spool,
    context: RunContext,
    options: LoggerOptions,
    /// Run ids handed out by this tracker → local ids (to link children to parents).
    started: Arc<Mutex<HashMap<String, String>>>,
}

impl Tracker {
    /// Builds a tracker from a filled config (see [`TrackingConfig::from_env`]).
    pub fn new(config: TrackingConfig) -> Result<Self, TrackingError> {
        let client = match &config.tracking_uri {
            Some(uri) => Some(MlflowClient::new(uri, &config)?),
            None => None,
        };
        Ok(Tracker {
            spool: Spool::new(config.runs_dir.clone()),
            client,
            config,
            context: RunContext::detect(),
            options: LoggerOptions::default(),
            started: Arc::default(),
        })
    }

    /// Reads MLflow's env vars, applies the CLI flags and builds the tracker.
    pub fn from_env(flags: TrackingOverrides) -> Result<Self, TrackingError> {
        Self::new(TrackingConfig::from_env()?.with_overrides(flags)?)
    }

    /// The same tracker with other logger settings (queue size, flush interval).
    pub fn with_logger_options(mut self, options: LoggerOptions) -> Self {
        self.options = options;
        self
    }

    /// The tracking URI for summaries: the server, or `file://<run store>` when local.
    pub fn uri(&self) -> String {
        match &self.client {
            Some(client) => client.uri().to_string(),
            None => {
                let root = self.spool.root();
                let abs = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
                format!("file://{}", abs.display())
            }
        }
    }

    /// True when runs go to an MLflow server.
    pub fn is_remote(&self) -> bool {
        self.client.is_some()
    }

    /// The configuration in use (secrets redacted in `Debug`).
    pub fn config(&self) -> &TrackingConfig {
        &self.config
    }

    /// The local run store every run is journaled to.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// The REST client, when remote.
    pub fn client(&self) -> Option<&MlflowClient> {
        self.client.as_ref()
    }

    /// Starts a run: journals it locally, creates it on the server (if any) and starts its logger.
    ///
    /// Creating the run is the one synchronous network call (so [`RunHandle::run_id`] is the
    /// server's id). If the server stays unreachable beyond the retry budget, the run is kept
    /// local-only (sync it later with `distml runs sync`); configuration errors such as bad
    /// credentials or a deleted experiment are returned.
    pub fn start_run(&self, spec: RunSpec) -> Result<RunHandle, TrackingError> {
        let experiment = spec
            .experiment
            .unwrap_or_else(|| self.config.experiment.clone());
        validate::experiment_name(&experiment)?;
        let run_name = spec.run_name.or_else(|| self.config.run_name.clone());
        let mut tags = self.context.tags();
        if let Some(name) = &run_name {
            validate::tag("mlflow.runName", name)?;
            tags.push(KeyValue::new("mlflow.runName", name.clone()));
        }
        for (key, value) in spec.tags {
            validate::tag(&key, &value)?;
            tags.retain(|t| t.key != key);
            tags.push(KeyValue::new(key, value));
        }
        let parent = spec.parent_run_id.map(|run_id| self.parent_ref(run_id));
        let local_id = new_run_id();
        let start = RunStart {
            local_id: local_id.clone(),
            experiment,
            run_name,
            start_time: now_ms(),
            user: self.context.user.clone(),
            tags,
            parent,
        };
        let mut writer = self.spool.create_run(&local_id)?;
        writer.append(&Event::Start(start.clone()))?;
        writer.flush()?;
        let remote = match &self.client {
            None => None,
            Some(client) => match ensure_remote_run(client, &self.spool, &start, 0) {
                Ok(target) => Some(Remote {
                    client: client.clone(),
                    target,
                }),
                Err(error) if is_outage(&error) => {
                    tracing::warn!(
                        "MLflow server {} unreachable ({error}); run {local_id} is logged to the local store {} only; replay it later with `distml runs sync --to {}`",
                        client.uri(),
                        self.spool.run_dir(&local_id).display(),
                        client.uri()
                    );
                    None
                }
                Err(error) => return Err(error),
            },
        };
        let run_id = remote
            .as_ref()
            .map_or_else(|| local_id.clone(), |r| r.target.run_id.clone());
        let experiment_id = remote.as_ref().map(|r| r.target.experiment_id.clone());
        let uri = remote.as_ref().map(|r| r.client.uri().to_string());
        if let Ok(mut started) = self.started.lock() {
            started.insert(run_id.clone(), local_id.clone());
        }
        let logger = Logger::start(
            self.spool.clone(),
            local_id.clone(),
            writer,
            remote,
            &self.options,
        )?;
        Ok(RunHandle::new(
            logger,
            self.spool.clone(),
            local_id,
            run_id,
            experiment_id,
            uri,
        ))
    }

    fn parent_ref(&self, run_id: String) -> ParentRef {
        let local_id = self
            .started
            .lock()
            .ok()
            .and_then(|started| started.get(&run_id).cloned())
            .or_else(|| self.spool.resolve(&run_id).ok());
        ParentRef {
            local_id,
            run_id,
            uri: self.client.as_ref().map(|c| c.uri().to_string()),
        }
    }
}
