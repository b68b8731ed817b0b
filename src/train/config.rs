//! The settings of one training job. The same struct is the job TOML (`--config`), the target
//! of the CLI flags, the MLflow params of the run and the metadata of the saved model.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{GlmValidParams, ModelError, ModelKind, Solver};

/// Which feature pipeline turns the input into model features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// PU and DO zones one-hot plus trip distance; label = duration in minutes (1..=60).
    #[default]
    Taxi,
    /// The taxi preset plus hour of day, weekday and the PU×DO pair.
    TaxiRich,
}

/// A training job's settings; every field has a default, so an empty TOML file is valid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct TrainConfig {
    /// Training files, directories or globs.
    pub data: Vec<PathBuf>,
    /// Validation files (the next month); empty means report training metrics only.
    pub valid: Vec<PathBuf>,
    /// Label column of a generic table; `None` means the taxi preset.
    pub target: Option<String>,
    /// Categorical columns of a generic table.
    pub categorical: Vec<String>,
    /// Numeric columns of a generic table.
    pub numeric: Vec<String>,
    /// Taxi feature preset (used when `target` is not set).
    pub preset: Preset,
    /// Learner.
    pub model: ModelKind,
    /// Regularisation strength (MLlib's `regParam`); default 0 for linear/logistic/poisson,
    /// [`ModelKind::DEFAULT_REG`] for ridge/lasso/elastic-net.
    pub reg: Option<f64>,
    /// L1 share of the penalty (MLlib's `elasticNetParam`); default set by the model kind.
    pub elastic_net: Option<f64>,
    /// Solver.
    pub solver: Solver,
    /// Iteration limit of iterative solvers.
    pub max_iter: usize,
    /// Convergence tolerance of iterative solvers.
    pub tol: f64,
    /// Fit an intercept.
    pub fit_intercept: bool,
    /// Standardise features inside the solver (coefficients are reported unscaled).
    pub standardization: bool,
    /// Partition count (default: one per row group / 64 MiB of CSV, at least one per core).
    pub partitions: Option<usize>,
    /// MLflow tracking server; `None` uses `MLFLOW_TRACKING_URI` or the local run store.
    pub tracking_uri: Option<String>,
    /// MLflow experiment name.
    pub experiment: Option<String>,
    /// MLflow run name.
    pub run_name: Option<String>,
    /// Where to save the model directory.
    pub model_out: Option<PathBuf>,
    /// Where to write the summary JSON (it is always printed on stdout too).
    pub summary: Option<PathBuf>,
    /// `distml tune`'s search axes, written as `--grid` is (`"reg=0,0.01,0.1"`); train ignores them.
    pub grid: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            data: Vec::new(),
            valid: Vec::new(),
            target: None,
            categorical: Vec::new(),
            numeric: Vec::new(),
            preset: Preset::Taxi,
            model: ModelKind::Linear,
            reg: None,
            elastic_net: None,
            solver: Solver::Auto,
            max_iter: 100,
            tol: 1e-6,
            fit_intercept: true,
            standardization: true,
            partitions: None,
            tracking_uri: None,
            experiment: None,
            run_name: None,
            model_out: None,
            summary: None,
            grid: Vec::new(),
        }
    }
}

/// A job file that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
#[error("{}: {message}", path.display())]
pub struct ConfigError {
    /// The job file.
    pub path: PathBuf,
    /// What is wrong (TOML errors name the line and key).
    pub message: String,
}

impl TrainConfig {
    /// Reads a job TOML file (keys are the CLI flag names, e.g. `elastic-net = 0.5`).
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let error = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        toml::from_str(&text).map_err(|e| error(e.to_string()))
    }

    /// The learner's parameters, validated (an out-of-range value names its flag).
    pub fn learner_params(&self) -> Result<GlmValidParams, ModelError> {
        let mut params = self.model.params();
        if let Some(reg) = self.reg {
            params = params.reg(reg);
        }
        if let Some(alpha) = self.elastic_net {
            params = params.elastic_net(alpha);
        }
        params
            .solver(self.solver)
            .max_iter(self.max_iter)
            .tol(self.tol)
            .fit_intercept(self.fit_intercept)
            .standardization(self.standardization)
            .check()
    }

    /// The job's settings as MLflow params, named as MLlib's pyspark autologger names them.
    pub fn mlflow_params(&self, params: &GlmValidParams) -> Vec<(String, String)> {
        let estimator = match self.model {
            ModelKind::Logistic => "LogisticRegression",
            ModelKind::Poisson => "GeneralizedLinearRegression",
            _ => "LinearRegression",
        };
        let mut out: Vec<(String, String)> = vec![
            ("model".into(), self.model.as_str().into()),
            (format!("{estimator}.regParam"), params.reg().to_string()),
            (
                format!("{estimator}.elasticNetParam"),
                params.elastic_net().to_string(),
            ),
            (
                format!("{estimator}.solver"),
                params.solver().as_str().into(),
            ),
            (
                format!("{estimator}.maxIter"),
                params.max_iter().to_string(),
            ),
            (format!("{estimator}.tol"), params.tol().to_string()),
            (
                format!("{estimator}.fitIntercept"),
                params.fit_intercept().to_string(),
            ),
            (
                format!("{estimator}.standardization"),
                params.standardization().to_string(),
            ),
        ];
        match &self.target {
            Some(target) => {
                out.push(("features.target".into(), target.clone()));
                out.push(("features.categorical".into(), self.categorical.join(",")));
                out.push(("features.numeric".into(), self.numeric.join(",")));
            }
            None => out.push((
                "features.preset".into(),
                format!("{:?}", self.preset).to_lowercase(),
            )),
        }
        if let Some(p) = self.partitions {
            out.push(("partitions".into(), p.to_string()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_file_uses_the_flag_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        std::fs::write(
            &path,
            "model = \"elastic-net\"\nreg = 0.1\nelastic-net = 0.5\ndata = [\"a.parquet\"]\n",
        )
        .unwrap();
        let config = TrainConfig::from_toml_file(&path).unwrap();
        assert_eq!(config.model, ModelKind::ElasticNet);
        let params = config.learner_params().unwrap();
        assert_eq!((params.reg(), params.elastic_net()), (0.1, 0.5));
        let logged = config.mlflow_params(&params);
        assert!(logged.contains(&("LinearRegression.regParam".into(), "0.1".into())));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("job.toml");
        std::fs::write(&path, "regularisation = 0.1\n").unwrap();
        let err = TrainConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("job.toml") && err.contains("regularisation"),
            "{err}"
        );
        let config = TrainConfig {
            reg: Some(-1.0),
            ..Default::default()
        };
        assert!(config
            .learner_params()
            .unwrap_err()
            .to_string()
            .contains("reg"));
    }
}
