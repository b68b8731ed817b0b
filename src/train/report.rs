//! Everything a job logs to its MLflow run, in one place: params, datasets, the loss curve,
//! metrics, the model as artifacts and as an MLflow 3 logged model, and how the run ends. The
//! job code says what happened; this module says how MLflow hears of it.

use std::path::{Path, PathBuf};

use crate::data::{type_name, DataSource};
use crate::model::{Metrics, Model, TrainSummary};
use crate::tracking::wire::KeyValue;
use crate::tracking::{digest_of, DatasetSpec, NewLoggedModel, RunHandle, Status, Tracker};

use super::job::TrainOutcome;
use super::{JobConfig, JobError, JobSummary};

/// A job's reporter; without a run every call does nothing.
#[derive(Clone, Copy)]
pub struct Report<'a> {
    run: Option<&'a RunHandle>,
}

impl<'a> Report<'a> {
    /// Reports to `run`, if any.
    pub fn new(run: Option<&'a RunHandle>) -> Self {
        Report { run }
    }

    /// The job's settings as params.
    /// A value over MLflow's param limit (a list of 2,000 feature columns) is shortened, and
    /// logged whole as the artifact `params/<key>.txt`: a logging limit never stops a job.
    pub fn params(&self, params: &[(String, String)]) -> Result<(), JobError> {
        let Some(run) = self.run else {
            return Ok(());
        };
        let mut whole = Vec::new();
        let fitted: Vec<(String, String)> = params
            .iter()
            .map(|(key, value)| {
                let (shown, long) = fit_param(key, value);
                whole.extend(long.then(|| (key.clone(), value.clone())));
                (key.clone(), shown)
            })
            .collect();
        run.log_params(&fitted)?;
        if whole.is_empty() {
            return Ok(());
        }
        let io = |source| JobError::Io {
            path: "params artifact".into(),
            source,
        };
        let dir = tempfile::tempdir().map_err(io)?;
        for (key, value) in &whole {
            std::fs::write(dir.path().join(format!("{}.txt", file_name(key))), value)
                .map_err(io)?;
        }
        run.log_artifacts(dir.path(), "params")?;
        Ok(())
    }

    /// A dataset input (`context`: `training`, `validation`) with its schema and rows.
    pub fn inputs(&self, source: &DataSource, context: &str, rows: u64) -> Result<(), JobError> {
        let Some(run) = self.run else {
            return Ok(());
        };
        let paths = source.paths();
        let first = paths[0];
        let sizes: Vec<String> = paths
            .iter()
            .map(|p| {
                let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                format!("{}:{len}", p.display())
            })
            .collect();
        let dataset = DatasetSpec {
            name: first
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            digest: digest_of(sizes.iter().map(|p| p.as_bytes())),
            source_uri: format!(
                "file://{}",
                std::fs::canonicalize(first)
                    .unwrap_or(first.to_path_buf())
                    .display()
            ),
            schema: source
                .schema()
                .fields()
                .iter()
                .map(|f| (f.name().clone(), type_name(f.data_type())))
                .collect(),
            num_rows: Some(rows),
            context: context.into(),
        };
        run.log_input(&dataset)?;
        Ok(())
    }

    /// The objective per iteration, as `training_loss` by step, and the validation loss per
    /// iteration (trees) as `validation_loss`.
    pub fn training(&self, training: &TrainSummary) -> Result<(), JobError> {
        if let Some(run) = self.run {
            for (step, loss) in training.loss_history.iter().enumerate() {
                run.log_metric("training_loss", *loss, step as i64)?;
            }
            for (step, loss) in training.validation_history.iter().enumerate() {
                run.log_metric("validation_loss", *loss, step as i64)?;
            }
            if let Some(best) = training.best_iteration {
                run.log_metric("best_iteration", best as f64, 0)?;
            }
        }
        Ok(())
    }

    /// What a model says of its features: for trees, each feature's share of the split gain
    /// as `feature_importance.<feature>` metrics and `feature_importance/feature_importance.json`
    /// (gain, share, splits) as an artifact.
    pub fn model_insights(&self, model: &Model) -> Result<(), JobError> {
        let (Some(run), Model::Trees(trees)) = (self.run, model) else {
            return Ok(());
        };
        let importance = trees.feature_importance();
        let keys: Vec<(String, f64)> = importance
            .iter()
            .map(|f| {
                (
                    format!("feature_importance.{}", metric_key(&f.feature)),
                    f.share,
                )
            })
            .collect();
        let refs: Vec<(&str, f64)> = keys.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        run.log_metrics(&refs, 0)?;
        let dir = tempfile::tempdir().map_err(|source| JobError::Io {
            path: "temporary directory".into(),
            source,
        })?;
        let path = dir.path().join("feature_importance.json");
        let json = serde_json::to_string_pretty(&importance).unwrap_or_default();
        std::fs::write(&path, json).map_err(|source| JobError::Io {
            path: path.clone(),
            source,
        })?;
        run.log_artifacts(dir.path(), "feature_importance")?;
        Ok(())
    }

    /// Validation metrics (unprefixed), training metrics (`training_`), row counts, and the
    /// validation and solver tags.
    pub fn results(&self, summary: &JobSummary, valid: &Metrics) -> Result<(), JobError> {
        let Some(run) = self.run else {
            return Ok(());
        };
        let mut points: Vec<(String, f64)> = valid.iter().map(|(k, v)| (k.clone(), *v)).collect();
        points.extend(
            summary
                .train_metrics
                .iter()
                .map(|(k, v)| (format!("training_{k}"), *v)),
        );
        points.push(("rows_train".into(), summary.rows_train as f64));
        points.push(("rows_valid".into(), summary.rows_valid as f64));
        let refs: Vec<(&str, f64)> = points.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        run.log_metrics(&refs, 0)?;
        run.set_tag("distml.validation", &summary.validation)?;
        run.set_tag("distml.solver", &summary.solver)?;
        Ok(())
    }
}

/// A param key as a file name: letters, digits, `_ - .` kept, the rest `_`.
fn file_name(key: &str) -> String {
    keep_only(key, "_-.")
}

/// `name` with every character but ASCII letters, digits and those of `kept` as `_`.
fn keep_only(name: &str, kept: &str) -> String {
    name.chars()
        .map(|c| match c.is_ascii_alphanumeric() || kept.contains(c) {
            true => c,
            false => '_',
        })
        .collect()
}

/// `name` as an MLflow metric key: letters, digits, `_ - . /` and spaces kept, the rest `_`.
fn metric_key(name: &str) -> String {
    keep_only(name, "_-./ ")
}

/// The model directory to upload: `dir` when it was saved, else a temporary one written
/// like `--model-out` (the returned guard must outlive the upload), so what the run keeps can
/// be served and predicted with as it is.
pub fn model_files(
    dir: Option<&str>,
    config: &JobConfig,
    outcome: &TrainOutcome,
) -> Result<(PathBuf, Option<tempfile::TempDir>), JobError> {
    if let Some(dir) = dir {
        return Ok((PathBuf::from(dir), None));
    }
    let tmp = tempfile::tempdir().map_err(|source| JobError::Io {
        path: "temporary directory".into(),
        source,
    })?;
    let TrainOutcome {
        summary,
        pipeline,
        model,
        training,
    } = outcome;
    super::job::save_model(tmp.path(), config, pipeline, model, training, summary)?;
    Ok((tmp.path().to_path_buf(), Some(tmp)))
}

/// `value` as it fits MLflow's param limit, and whether it had to be shortened (then it ends
/// by saying where the whole value is).
fn fit_param(key: &str, value: &str) -> (String, bool) {
    use crate::tracking::validate::MAX_PARAM_VALUE;
    if value.len() <= MAX_PARAM_VALUE {
        return (value.to_string(), false);
    }
    let note = format!(
        "… ({} characters; whole in artifact params/{}.txt)",
        value.chars().count(),
        file_name(key)
    );
    let mut cut = MAX_PARAM_VALUE - note.len();
    while !value.is_char_boundary(cut) {
        cut -= 1;
    }
    (format!("{}{note}", &value[..cut]), true)
}

/// Ends a successful run: uploads the model directory as the `artifact` artifacts, finishes the
/// run, and registers the model as an MLflow 3 logged model when the server has them. Sets the
/// summary's `tracking_uri` and `logged_model_id`.
pub fn finish_run(
    run: RunHandle,
    tracker: &Tracker,
    config: &JobConfig,
    model_dir: &Path,
    artifact: &str,
    summary: &mut JobSummary,
) -> Result<(), JobError> {
    run.log_artifacts(model_dir, artifact)?;
    summary.tracking_uri = Some(tracker.uri());
    let experiment_id = run.experiment_id().map(str::to_string);
    let report = run.finish(Status::Finished)?;
    if let Some(error) = report.error {
        eprintln!(
            "warning: run {} is kept in the local store ({error}); `distml runs sync` sends it later",
            report.run_id
        );
        if let Some(name) = &config.outputs.register_model {
            eprintln!(
                "warning: the model is not registered as '{name}': its run is not on the server"
            );
        }
        return Ok(());
    }
    if let (Some(experiment_id), true) = (experiment_id, report.synced) {
        summary.logged_model_id =
            log_model(tracker, &experiment_id, &report.run_id, config, model_dir);
    }
    if let Some(name) = &config.outputs.register_model {
        let source = match &summary.logged_model_id {
            Some(id) => format!("models:/{id}"),
            None => format!("runs:/{}/{artifact}", report.run_id),
        };
        let registered = register(
            tracker,
            name,
            &source,
            &report,
            summary.logged_model_id.as_deref(),
        )?;
        summary.registered_model = Some(registered);
    }
    Ok(())
}

/// Refuses `--register-model` up front when it cannot work: no tracking server, or a name
/// MLflow's registry refuses (empty, or with `/` or `:`).
pub fn check_registration(config: &JobConfig, tracker: &Tracker) -> Result<(), JobError> {
    let Some(name) = &config.outputs.register_model else {
        return Ok(());
    };
    let invalid = |message: &str| JobError::Invalid {
        flag: "--register-model",
        message: format!("'{name}': {message}"),
    };
    if tracker.client().is_none() {
        return Err(invalid(
            "registering a model needs a tracking server: set MLFLOW_TRACKING_URI or --tracking-uri",
        ));
    }
    if name.trim().is_empty() || name.contains(['/', ':']) {
        return Err(invalid(
            "a registered model's name must be non-empty and free of '/' and ':'",
        ));
    }
    Ok(())
}

/// Registers `source` (the finished run's model) as a new version of `name`; returns
/// `models:/NAME/VERSION`. A run kept in the local store cannot be registered yet.
pub fn register(
    tracker: &Tracker,
    name: &str,
    source: &str,
    report: &crate::tracking::FinishReport,
    model_id: Option<&str>,
) -> Result<String, JobError> {
    let client = tracker
        .client()
        .filter(|_| report.synced)
        .ok_or_else(|| JobError::Invalid {
            flag: "--register-model",
            message: format!(
                "run {} is not on the tracking server yet; register it after `distml runs sync`",
                report.run_id
            ),
        })?;
    let version = client.register_model(name, source, &report.run_id, model_id)?;
    let uri = format!("models:/{}/{}", version.name, version.version);
    eprintln!("registered {uri} (from {source})");
    Ok(uri)
}

/// Marks a failed run FAILED with the error as its note; nothing logged before is lost.
pub fn fail_run(run: RunHandle, error: &dyn std::fmt::Display) {
    if let Ok(r) = run.finish(Status::Failed {
        error: error.to_string(),
    }) {
        eprintln!("run {} marked FAILED", r.run_id);
    }
}

/// Registers the model as an MLflow 3 logged model; a failure only warns (the run has it).
fn log_model(
    tracker: &Tracker,
    experiment_id: &str,
    run_id: &str,
    config: &JobConfig,
    dir: &Path,
) -> Option<String> {
    let client = tracker.client()?;
    let params: Vec<KeyValue> = config
        .learner
        .mlflow_params()
        .into_iter()
        .map(|(key, value)| KeyValue { key, value })
        .collect();
    let model_type = format!("distml.{}", config.learner.model.as_str());
    let tags = [KeyValue {
        key: "framework".into(),
        value: "distml".into(),
    }];
    let new = NewLoggedModel {
        experiment_id,
        name: "model",
        model_type: &model_type,
        source_run_id: run_id,
        params: &params,
        tags: &tags,
    };
    match client.log_model(&new, dir) {
        Ok(info) => info.map(|i| i.model_id),
        Err(e) => {
            eprintln!("warning: the model stays a run artifact; registering it as a logged model failed: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_param_over_the_limit_is_shortened_and_says_where_it_is_whole() {
        use crate::tracking::validate::MAX_PARAM_VALUE;
        let columns: Vec<String> = (0..2000).map(|i| format!("x{i}")).collect();
        let value = columns.join(",");
        let (shown, long) = fit_param("features.numeric", &value);
        assert!(long);
        assert!(shown.len() <= MAX_PARAM_VALUE);
        assert!(value.starts_with(shown.split('…').next().unwrap()));
        assert!(
            shown.ends_with("whole in artifact params/features.numeric.txt)"),
            "{shown}"
        );
        assert_eq!(fit_param("reg", "0.1"), ("0.1".to_string(), false));
        let wide = "é".repeat(4000);
        assert!(fit_param("k", &wide).0.len() <= MAX_PARAM_VALUE);
    }
}
