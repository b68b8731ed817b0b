//! Errors of the tracking layer: server answers, transport failures, local validation, the spool.

use std::path::PathBuf;

/// An error while talking to an MLflow server, validating a value or using the local run store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackingError {
    /// The server answered with an MLflow JSON error (`error_code` / `message`).
    #[error("MLflow server {url} answered {status} {code}: {message}")]
    Api {
        /// The request URL (no credentials).
        url: String,
        /// HTTP status.
        status: u16,
        /// MLflow `error_code`, e.g. `INVALID_PARAMETER_VALUE`.
        code: String,
        /// MLflow `message`.
        message: String,
    },
    /// The server answered with an error status and a non-JSON body (HTML 404, plain-text 401/403).
    #[error("MLflow server {url} answered {status}: {}", http_hint(*status, body))]
    Http {
        /// The request URL (no credentials).
        url: String,
        /// HTTP status.
        status: u16,
        /// The first bytes of the body.
        body: String,
    },
    /// The request could not be completed (connection refused, timeout, TLS, ...).
    #[error("cannot reach MLflow server at {url}: {message}")]
    Transport {
        /// The request URL.
        url: String,
        /// The underlying error, flattened.
        message: String,
        /// The failure happened before the request was sent (safe to retry any call).
        connect: bool,
    },
    /// A success status with a body that is not the expected JSON.
    #[error("unexpected answer from MLflow server at {url}: {message}")]
    Decode {
        /// The request URL.
        url: String,
        /// What did not parse.
        message: String,
    },
    /// A key, value or name breaks MLflow's limits; rejected locally instead of being truncated.
    #[error("invalid {what} '{shown}': {reason}")]
    Invalid {
        /// What was checked (`metric key`, `param value`, ...).
        what: &'static str,
        /// The offending value (shortened when long).
        shown: String,
        /// The rule it breaks.
        reason: String,
    },
    /// A param was logged again with a different value (MLflow params are immutable).
    #[error("param '{key}' was already logged with value '{old}'; refusing to change it to '{new}' (MLflow params are immutable)")]
    ParamChanged {
        /// Param key.
        key: String,
        /// The value logged first.
        old: String,
        /// The new, different value.
        new: String,
    },
    /// The experiment exists but is deleted; its name stays taken until `mlflow gc`.
    #[error("experiment '{name}' (id {id}) is deleted; restore it in the MLflow UI (or `mlflow experiments restore --experiment-id {id}`), permanently delete it with `mlflow gc`, or pick another --experiment")]
    ExperimentDeleted {
        /// Experiment name.
        name: String,
        /// Experiment id.
        id: String,
    },
    /// A configuration value (env var or flag) is invalid.
    #[error("invalid configuration {name}: {message}")]
    Config {
        /// The env var or flag name.
        name: &'static str,
        /// Why it is rejected.
        message: String,
    },
    /// The artifact store of a run is not proxied by the server (only `mlflow-artifacts:` is supported).
    #[error("run artifact store '{uri}' is not served by the tracking server; start it with --serve-artifacts (the default) or --artifacts-destination")]
    UnsupportedArtifactStore {
        /// The run's `artifact_uri`.
        uri: String,
    },
    /// A run id that is not in the local run store.
    #[error("no run '{id}' in the local run store {}", root.display())]
    UnknownRun {
        /// The id asked for.
        id: String,
        /// The store directory.
        root: PathBuf,
    },
    /// A local file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A line of the local run store is not valid.
    #[error("{}:{line}: corrupt run store record: {message}", path.display())]
    Spool {
        /// The journal file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// What did not parse.
        message: String,
    },
    /// The run's background logger stopped (its thread panicked or the run was already finished).
    #[error("the run logger is not running: {0}")]
    LoggerStopped(String),
    /// A new model version did not become `READY`.
    #[error("registering a version of model '{name}': version {version} ended {status}")]
    Registration {
        /// The registered model.
        name: String,
        /// The version made.
        version: String,
        /// Its final status.
        status: String,
    },
    /// A file the server listed cannot be stored under the download directory.
    #[error("the server listed an artifact path that leaves the download directory: {0}")]
    UnsafeArtifactPath(String),
}

impl TrackingError {
    /// The MLflow `error_code`, when the server sent one.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            TrackingError::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            TrackingError::Api { status, .. } | TrackingError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True for mistakes in the user's input or configuration (exit code 2 in the CLI).
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            TrackingError::Invalid { .. }
                | TrackingError::ParamChanged { .. }
                | TrackingError::ExperimentDeleted { .. }
                | TrackingError::Config { .. }
                | TrackingError::UnknownRun { .. }
        ) || matches!(self.status(), Some(400 | 401 | 403))
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        TrackingError::Io {
            path: path.into(),
            source,
        }
    }
}

fn http_hint(status: u16, body: &str) -> String {
    let hint = match status {
        401 => " (not authenticated: set MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN)",
        403 if body.contains("Host header") => " (the server rejects this host name: start it with --allowed-hosts)",
        403 => " (permission denied for these credentials)",
        404 => " (no such endpoint: is this URI an MLflow tracking server?)",
        _ => "",
    };
    format!("{}{hint}", body.trim())
}
