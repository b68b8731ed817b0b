//! Tracking configuration from MLflow's environment variables, overridden by CLI flags.

use std::path::PathBuf;
use std::time::Duration;

use super::error::TrackingError;
use super::retry::RetryPolicy;
use super::secret::{Auth, Secret};

/// Where the local run store lives unless `DISTML_RUNS_DIR` says otherwise.
pub const DEFAULT_RUNS_DIR: &str = "distml-runs";
/// The experiment used when neither `--experiment` nor `MLFLOW_EXPERIMENT_NAME` is given.
pub const DEFAULT_EXPERIMENT: &str = "Default";
/// MLflow's hard cap on `MLFLOW_HTTP_REQUEST_MAX_RETRIES`.
const MAX_RETRIES_LIMIT: u32 = 10;

/// Everything the tracker needs; `Debug` never shows a password or token.
#[derive(Clone, Debug)]
pub struct TrackingConfig {
    /// `http(s)://host:port` of an MLflow server; `None` logs to the local run store only.
    pub tracking_uri: Option<String>,
    /// Experiment name for new runs.
    pub experiment: String,
    /// Run name for the run `distml train` starts (`None`: MLflow picks one).
    pub run_name: Option<String>,
    /// Credentials for the server.
    pub auth: Auth,
    /// Skip TLS certificate verification (`MLFLOW_TRACKING_INSECURE_TLS`).
    pub insecure_tls: bool,
    /// Retry budget and backoff.
    pub retry: RetryPolicy,
    /// Per-request timeout (`MLFLOW_HTTP_REQUEST_TIMEOUT`, default 120 s).
    pub timeout: Duration,
    /// The local run store (`DISTML_RUNS_DIR`, default `./distml-runs`).
    pub runs_dir: PathBuf,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        TrackingConfig {
            tracking_uri: None,
            experiment: DEFAULT_EXPERIMENT.to_string(),
            run_name: None,
            auth: Auth::None,
            insecure_tls: false,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(120),
            runs_dir: PathBuf::from(DEFAULT_RUNS_DIR),
        }
    }
}

/// The tracking flags of `distml train` / `tune` and the job file's `[tracking]` table; `None`
/// keeps the environment's value.
#[derive(Clone, Debug, Default, PartialEq, clap::Args, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrackingOverrides {
    /// MLflow tracking server (default: MLFLOW_TRACKING_URI, else the local store ./distml-runs).
    #[arg(long)]
    pub tracking_uri: Option<String>,
    /// MLflow experiment (default: MLFLOW_EXPERIMENT_NAME, else Default).
    #[arg(long)]
    pub experiment: Option<String>,
    /// MLflow run name.
    #[arg(long)]
    pub run_name: Option<String>,
}

impl TrackingConfig {
    /// Reads the process environment (MLflow's variable names and defaults).
    pub fn from_env() -> Result<Self, TrackingError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// Reads configuration through `var` (a lookup by variable name), for tests and embedding.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, TrackingError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let mut config = TrackingConfig {
            tracking_uri: None,
            ..Default::default()
        };
        if let Some(uri) = var("MLFLOW_TRACKING_URI") {
            config.tracking_uri = Some(normalize_uri(&uri)?);
        }
        if let Some(name) = var("MLFLOW_EXPERIMENT_NAME") {
            config.experiment = name;
        }
        config.auth = match (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
            var("MLFLOW_TRACKING_TOKEN"),
        ) {
            (Some(username), Some(password), _) => Auth::Basic {
                username,
                password: Secret::new(password),
            },
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err(TrackingError::Config {
                    name: "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD",
                    message: "set both or neither".into(),
                })
            }
            (None, None, Some(token)) => Auth::Bearer(Secret::new(token)),
            (None, None, None) => Auth::None,
        };
        if let Some(v) = var("MLFLOW_TRACKING_INSECURE_TLS") {
            config.insecure_tls = parse_bool("MLFLOW_TRACKING_INSECURE_TLS", &v)?;
        }
        if let Some(v) = var("MLFLOW_HTTP_REQUEST_MAX_RETRIES") {
            let n: u32 = parse_num("MLFLOW_HTTP_REQUEST_MAX_RETRIES", &v)?;
            if n > MAX_RETRIES_LIMIT {
                return Err(TrackingError::Config {
                    name: "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                    message: format!("{n} exceeds MLflow's limit of {MAX_RETRIES_LIMIT}"),
                });
            }
            config.retry.max_retries = n;
        }
        if let Some(v) = var("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR") {
            let f: f64 = parse_num("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", &v)?;
            if !(f.is_finite() && f >= 0.0) {
                return Err(TrackingError::Config {
                    name: "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR",
                    message: format!("'{v}' is not a non-negative number"),
                });
            }
            config.retry.backoff_factor = f;
        }
        if let Some(v) = var("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER") {
            config.retry.respect_retry_after =
                parse_bool("MLFLOW_HTTP_RESPECT_RETRY_AFTER_HEADER", &v)?;
        }
        if let Some(v) = var("MLFLOW_HTTP_REQUEST_TIMEOUT") {
            let secs: f64 = parse_num("MLFLOW_HTTP_REQUEST_TIMEOUT", &v)?;
            if !(secs.is_finite() && secs > 0.0) {
                return Err(TrackingError::Config {
                    name: "MLFLOW_HTTP_REQUEST_TIMEOUT",
                    message: format!("'{v}' is not a positive number of seconds"),
                });
            }
            config.timeout = Duration::from_secs_f64(secs);
        }
        if let Some(dir) = var("DISTML_RUNS_DIR") {
            config.runs_dir = PathBuf::from(dir);
        }
        Ok(config)
    }

    /// Applies CLI flags over the environment's values.
    pub fn with_overrides(mut self, flags: TrackingOverrides) -> Result<Self, TrackingError> {
        if let Some(uri) = flags.tracking_uri.filter(|u| !u.trim().is_empty()) {
            self.tracking_uri = Some(normalize_uri(&uri)?);
        }
        if let Some(experiment) = flags.experiment {
            self.experiment = experiment;
        }
        if flags.run_name.is_some() {
            self.run_name = flags.run_name;
        }
        Ok(self)
    }
}

/// Checks that a tracking URI is an HTTP(S) server and drops a trailing slash.
pub fn normalize_uri(uri: &str) -> Result<String, TrackingError> {
    let uri = uri.trim().trim_end_matches('/');
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return Ok(uri.to_string());
    }
    Err(TrackingError::Config {
        name: "MLFLOW_TRACKING_URI",
        message: format!(
            "'{uri}' is not an http(s):// MLflow server; distml logs over REST only \
             (leave it unset to use the local run store, then `distml runs sync --to URI`)"
        ),
    })
}

fn parse_bool(name: &'static str, value: &str) -> Result<bool, TrackingError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(TrackingError::Config {
            name,
            message: format!("'{value}' is not one of true, false, 1, 0"),
        }),
    }
}

fn parse_num<T: std::str::FromStr>(name: &'static str, value: &str) -> Result<T, TrackingError> {
    value.trim().parse().map_err(|_| TrackingError::Config {
        name,
        message: format!("'{value}' is not a number"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<TrackingConfig, TrackingError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TrackingConfig::from_vars(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_mlflow() {
        let c = config(&[]).expect("empty env is valid");
        assert_eq!(c.tracking_uri, None);
        assert_eq!(c.experiment, "Default");
        assert_eq!(c.retry.max_retries, 7);
        assert_eq!(c.retry.backoff_factor, 2.0);
        assert_eq!(c.timeout, Duration::from_secs(120));
        assert_eq!(c.auth, Auth::None);
    }

    #[test]
    fn basic_wins_over_token_and_nothing_leaks() {
        let c = config(&[
            ("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000/"),
            ("MLFLOW_TRACKING_USERNAME", "alice"),
            ("MLFLOW_TRACKING_PASSWORD", "pw-secret-1"),
            ("MLFLOW_TRACKING_TOKEN", "tok-secret-2"),
        ])
        .expect("valid");
        assert!(matches!(c.auth, Auth::Basic { ref username, .. } if username == "alice"));
        assert_eq!(c.tracking_uri.as_deref(), Some("http://127.0.0.1:5000"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("pw-secret-1") && !shown.contains("tok-secret-2"));
        let token = config(&[("MLFLOW_TRACKING_TOKEN", "tok")]).expect("valid");
        assert!(matches!(token.auth, Auth::Bearer(_)));
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(config(&[("MLFLOW_TRACKING_INSECURE_TLS", "yes")]).is_err());
        assert!(config(&[("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "11")]).is_err());
        assert!(config(&[("MLFLOW_HTTP_REQUEST_TIMEOUT", "soon")]).is_err());
        assert!(config(&[("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db")]).is_err());
        assert!(config(&[("MLFLOW_TRACKING_USERNAME", "bob")]).is_err());
        let c = config(&[("MLFLOW_TRACKING_INSECURE_TLS", "TRUE")]).expect("valid");
        assert!(c.insecure_tls);
    }

    #[test]
    fn flags_override_env() {
        let c = config(&[
            ("MLFLOW_TRACKING_URI", "http://a:1"),
            ("MLFLOW_EXPERIMENT_NAME", "env-exp"),
        ])
        .expect("valid")
        .with_overrides(TrackingOverrides {
            tracking_uri: Some("https://b:2".into()),
            experiment: Some("flag-exp".into()),
            run_name: Some("r1".into()),
        })
        .expect("valid");
        assert_eq!(c.tracking_uri.as_deref(), Some("https://b:2"));
        assert_eq!(c.experiment, "flag-exp");
        assert_eq!(c.run_name.as_deref(), Some("r1"));
    }
}
