//! The settings of one job, described once: a nested serde struct whose sections are the job
//! TOML's tables (`[data]`, `[features]`, `[learner]`, `[cluster]`, `[tracking]`, `[outputs]`),
//! whose fields are the CLI flags (clap derives them from the same structs; the learner's flags
//! come from the learners' parameter declarations), and which is logged as the run's MLflow
//! params and saved in the model's metadata.
//!
//! ```toml
//! [data]
//! data = ["yellow_tripdata_2023-01.parquet"]
//! valid = ["yellow_tripdata_2023-02.parquet"]
//!
//! [learner]
//! model = "elastic-net"
//! reg = 0.01
//! elastic-net = 0.5
//! ```
//!
//! A file without tables (`model = "ridge"`, `reg = 0.1` at the top) is read the same way:
//! every key goes to the table that owns it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::cluster::ClusterSettings;
use crate::data::{DataSource, ReadOptions};
use crate::model::{all_param_specs, Learner, ModelError, ModelKind};
use crate::tracking::TrackingOverrides;

use super::store::ByteSize;

/// Which feature pipeline turns the input into model features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// PU and DO zones one-hot plus trip distance; label = duration in minutes (1..=60).
    #[default]
    Taxi,
    /// The taxi preset plus hour of day, weekday and the PU×DO pair.
    TaxiRich,
}

/// Where the rows come from.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct DataSettings {
    /// Training files, directories or globs (Parquet/CSV). Default: a generated taxi month.
    #[arg(long, num_args = 1..)]
    pub data: Vec<PathBuf>,
    /// Validation files (e.g. the next month). Default: a random 20% of --data rows.
    #[arg(long, num_args = 1..)]
    pub valid: Vec<PathBuf>,
    /// Number of partitions (default: one per row group / 64 MiB of CSV, at least one per core).
    #[arg(long)]
    pub partitions: Option<usize>,
    /// Memory for feature blocks cached between the passes of a multi-pass fit (L-BFGS, SGD,
    /// trees), e.g. 512MiB or 4GiB; blocks beyond it spill to --spill-dir. Default: half of RAM.
    #[arg(long, value_name = "SIZE")]
    pub memory_budget: Option<ByteSize>,
    /// Directory for spill files (a private subdirectory, removed when the job ends).
    /// Default: the system temp directory.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
}

impl DataSettings {
    /// How the files are read.
    pub fn read_options(&self) -> ReadOptions {
        ReadOptions {
            partitions: self.partitions,
            ..Default::default()
        }
    }

    /// Opens the training files and, when given, the validation files (footers and headers
    /// read, partitions planned; no rows yet).
    pub fn open(&self) -> Result<(DataSource, Option<DataSource>), super::JobError> {
        if self.data.is_empty() {
            return Err(super::JobError::Invalid {
                flag: "--data",
                message: "no training files given".into(),
            });
        }
        let options = self.read_options();
        let train = DataSource::open(&self.data, &options)?;
        let valid = match self.valid.is_empty() {
            true => None,
            false => Some(DataSource::open(&self.valid, &options)?),
        };
        Ok((train, valid))
    }
}

/// Which columns are the label and the features.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct FeatureSettings {
    /// Label column of a generic table (default: the taxi duration job).
    #[arg(long)]
    pub target: Option<String>,
    /// Categorical feature columns (comma-separated), one-hot encoded.
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Numeric feature columns (comma-separated), nulls imputed by the mean.
    #[arg(long, value_delimiter = ',')]
    pub numeric: Vec<String>,
    /// Taxi feature preset (used when --target is not set).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
}

/// What the job writes besides its run.
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct OutputSettings {
    /// Save the model directory here.
    #[arg(long)]
    pub model_out: Option<PathBuf>,
    /// Also write the summary JSON to this file.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Register the trained (tune: the best) model as a new version of this MLflow registered
    /// model; needs a tracking server.
    #[arg(long, value_name = "NAME")]
    pub register_model: Option<String>,
}

/// The learner flags: `--model` and every learner family's parameters (`--reg`, ...), as given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LearnerArgs {
    /// `--model`.
    pub model: Option<ModelKind>,
    /// The parameters given, by key, as text.
    pub settings: BTreeMap<String, String>,
}

/// A job's settings, checked: what runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct JobConfig {
    /// Where the rows come from.
    pub data: DataSettings,
    /// Label and features.
    pub features: FeatureSettings,
    /// The learner and its checked parameters.
    pub learner: Learner,
    /// How it runs across processes.
    pub cluster: ClusterSettings,
    /// Where the run is logged.
    pub tracking: TrackingOverrides,
    /// What is written.
    pub outputs: OutputSettings,
}

impl Default for JobConfig {
    fn default() -> Self {
        JobConfig {
            data: DataSettings::default(),
            features: FeatureSettings::default(),
            learner: Learner::new(ModelKind::named("linear").expect("linear is registered")),
            cluster: ClusterSettings::default(),
            tracking: TrackingOverrides::default(),
            outputs: OutputSettings::default(),
        }
    }
}

/// A job file that cannot be read, or settings that do not check.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The job file cannot be read or parsed (TOML errors name the line and key).
    #[error("{}: {message}", path.display())]
    File {
        /// The job file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A learner setting is not valid for the chosen model.
    #[error(transparent)]
    Learner(#[from] ModelError),
}

impl ConfigError {
    /// Every config error is the user's (exit code 2).
    pub fn is_user_error(&self) -> bool {
        true
    }
}

/// The job file as written: sections merged with the flags before the learner is checked.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
struct JobFile {
    data: DataSettings,
    features: FeatureSettings,
    learner: toml::Table,
    cluster: ClusterSettings,
    tracking: TrackingOverrides,
    outputs: OutputSettings,
    tune: toml::Table,
}

/// The flags of one job, as clap parsed them (every section's flags, plus `--config`).
#[derive(Debug, Clone, Default)]
pub struct JobFlags {
    /// The job file (`--config`).
    pub config: Option<PathBuf>,
    /// `[data]` flags.
    pub data: DataSettings,
    /// `[features]` flags.
    pub features: FeatureSettings,
    /// `[learner]` flags.
    pub learner: LearnerArgs,
    /// `[cluster]` flags.
    pub cluster: ClusterSettings,
    /// `[tracking]` flags.
    pub tracking: TrackingOverrides,
    /// `[outputs]` flags.
    pub outputs: OutputSettings,
}

impl JobFlags {
    /// The job file (if any) with every given flag applied over it, the learner checked; the
    /// job file's `[tune]` table is returned beside it (for `distml tune`).
    pub fn resolve(&self) -> Result<(JobConfig, toml::Table), ConfigError> {
        let file = match &self.config {
            Some(path) => read_job_file(path)?,
            None => JobFile::default(),
        };
        let (file_model, mut settings) = learner_table(&file.learner, self.config.as_deref())?;
        settings.extend(self.learner.settings.clone());
        let model = self
            .learner
            .model
            .or(file_model)
            .unwrap_or_else(|| JobConfig::default().learner.model);
        let learner = Learner::with_settings(
            model,
            settings.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        let config = JobConfig {
            data: overlay(file.data, &self.data),
            features: overlay(file.features, &self.features),
            learner,
            cluster: overlay(file.cluster, &self.cluster),
            tracking: overlay(file.tracking, &self.tracking),
            outputs: overlay(file.outputs, &self.outputs),
        };
        Ok((config, file.tune))
    }
}

impl JobConfig {
    /// Reads a job TOML file, with no flags over it.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let flags = JobFlags {
            config: Some(path.to_path_buf()),
            ..Default::default()
        };
        Ok(flags.resolve()?.0)
    }

    /// The job's settings as MLflow params: the learner's (named as MLlib's pyspark autologger
    /// names them: `LinearRegression.regParam`), the features, the partitions and the cluster
    /// (`workers` processes; 0 in-process).
    pub fn mlflow_params(&self, workers: usize) -> Vec<(String, String)> {
        let mut out = self.learner.mlflow_params();
        let f = &self.features;
        match &f.target {
            Some(target) => {
                out.push(("features.target".into(), target.clone()));
                out.push(("features.categorical".into(), f.categorical.join(",")));
                out.push(("features.numeric".into(), f.numeric.join(",")));
            }
            None => {
                let preset = serde_json::to_value(f.preset.unwrap_or_default())
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                out.push(("features.preset".into(), preset));
            }
        }
        if let Some(p) = self.data.partitions {
            out.push(("partitions".into(), p.to_string()));
        }
        if let Some(budget) = self.data.memory_budget {
            out.push(("memory_budget".into(), budget.to_string()));
        }
        out.extend(self.cluster.mlflow_params(workers));
        out
    }
}

fn read_job_file(path: &Path) -> Result<JobFile, ConfigError> {
    let error = |message: String| ConfigError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| error(e.to_string()))?;
    let nested = nest_flat_keys(table).map_err(error)?;
    nested
        .try_into()
        .map_err(|e: toml::de::Error| error(e.to_string()))
}

/// The tables a job file may have, and the keys each section owns (for flat files).
const SECTIONS: [&str; 7] = [
    "data", "features", "learner", "cluster", "tracking", "outputs", "tune",
];

/// Moves top-level keys of a flat job file into the table that owns them.
fn nest_flat_keys(table: toml::Table) -> Result<toml::Table, String> {
    let mut out = toml::Table::new();
    for (key, value) in table {
        if SECTIONS.contains(&key.as_str()) && value.is_table() {
            let section = out
                .entry(key)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let (Some(into), toml::Value::Table(from)) = (section.as_table_mut(), value) {
                into.extend(from);
            }
            continue;
        }
        let owner = section_of(&key).ok_or_else(|| {
            format!(
                "unknown key '{key}' (sections: {}; learner keys: model, {})",
                SECTIONS.join(", "),
                learner_keys().join(", ")
            )
        })?;
        out.entry(owner)
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .map(|t| t.insert(key, value));
    }
    Ok(out)
}

/// Every key a `[learner]` table may hold (besides `model`).
fn learner_keys() -> Vec<String> {
    let mut keys: Vec<String> = all_param_specs().map(|s| s.key()).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The section owning `key`: derived from the section structs' own fields.
fn section_of(key: &str) -> Option<&'static str> {
    fn has<T: Serialize + Default>(key: &str) -> bool {
        serde_json::to_value(T::default())
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key(key)))
            .unwrap_or(false)
    }
    if key == "model" || learner_keys().iter().any(|k| k == key) {
        return Some("learner");
    }
    [
        ("data", has::<DataSettings>(key)),
        ("features", has::<FeatureSettings>(key)),
        ("cluster", has::<ClusterSettings>(key)),
        ("tracking", has::<TrackingOverrides>(key)),
        ("outputs", has::<OutputSettings>(key)),
        // Old flat job files carried tune's search space as `grid = [...]`.
        ("tune", key == "grid"),
    ]
    .into_iter()
    .find_map(|(section, owns)| owns.then_some(section))
}

/// The `[learner]` table's model and settings, as text.
fn learner_table(
    table: &toml::Table,
    path: Option<&Path>,
) -> Result<(Option<ModelKind>, BTreeMap<String, String>), ConfigError> {
    let error = |message: String| ConfigError::File {
        path: path.map(Path::to_path_buf).unwrap_or_default(),
        message,
    };
    let mut model = None;
    let mut settings = BTreeMap::new();
    for (key, value) in table {
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                let why = format!("[learner] {key}: {other:?} is not a single value");
                return Err(error(why));
            }
        };
        if key == "model" {
            model = Some(text.parse::<ModelKind>()?);
        } else {
            settings.insert(key.clone(), text);
        }
    }
    Ok((model, settings))
}

/// `base` with every field `top` gives (not null, not an empty list, not a `false` switch)
/// written over it.
pub(crate) fn overlay<T: Serialize + serde::de::DeserializeOwned + Clone>(base: T, top: &T) -> T {
    let (Ok(serde_json::Value::Object(mut merged)), Ok(serde_json::Value::Object(given))) =
        (serde_json::to_value(&base), serde_json::to_value(top))
    else {
        return base;
    };
    for (key, value) in given {
        let absent = match &value {
            serde_json::Value::Null => true,
            serde_json::Value::Array(a) => a.is_empty(),
            serde_json::Value::Bool(b) => !b,
            _ => false,
        };
        if !absent {
            merged.insert(key, value);
        }
    }
    serde_json::from_value(serde_json::Value::Object(merged)).unwrap_or(base)
}

impl clap::FromArgMatches for LearnerArgs {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let model = matches
            .get_one::<String>("model")
            .map(|m| m.parse::<ModelKind>())
            .transpose()
            .map_err(|e| {
                clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{e}\n"))
            })?;
        let settings = learner_keys()
            .into_iter()
            .filter_map(|k| matches.get_one::<String>(&k).map(|v| (k, v.clone())))
            .collect();
        Ok(LearnerArgs { model, settings })
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for LearnerArgs {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let kinds = ModelKind::names();
        let mut cmd = cmd.arg(
            clap::Arg::new("model")
                .long("model")
                .value_name("MODEL")
                .help(format!("Learner: {kinds}")),
        );
        let mut seen = std::collections::BTreeSet::new();
        for spec in all_param_specs() {
            let key = spec.key();
            // A command may own a flag of the same name (`tune --seed` seeds the search); the
            // learner's is then set by the job file or a grid key.
            let taken = cmd.get_arguments().any(|a| a.get_id().as_str() == key);
            if taken || !seen.insert(key.clone()) {
                continue;
            }
            // clap wants 'static names; there are a few dozen, made once per process.
            let name: &'static str = Box::leak(key.into_boxed_str());
            cmd = cmd.arg(
                clap::Arg::new(name)
                    .long(name)
                    .value_name(spec.mllib)
                    .allow_negative_numbers(true)
                    .help(spec.help.trim()),
            );
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("job.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn nested_and_flat_job_files_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let nested = write(
            dir.path(),
            "[data]\ndata = [\"a.parquet\"]\n[learner]\nmodel = \"elastic-net\"\nreg = 0.1\nelastic-net = 0.5\n",
        );
        let a = JobConfig::from_toml_file(&nested).unwrap();
        let flat = write(
            dir.path(),
            "model = \"elastic-net\"\nreg = 0.1\nelastic-net = 0.5\ndata = [\"a.parquet\"]\n",
        );
        let b = JobConfig::from_toml_file(&flat).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.learner.model.as_str(), "elastic-net");
        assert_eq!(a.data.data, vec![PathBuf::from("a.parquet")]);
        let logged = a.mlflow_params(0);
        assert!(logged.contains(&("LinearRegression.regParam".into(), "0.1".into())));
        assert!(logged.contains(&("LinearRegression.elasticNetParam".into(), "0.5".into())));
        assert!(logged.contains(&("cluster.workers".into(), "0".into())));
    }

    #[test]
    fn flags_win_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "[learner]\nmodel = \"ridge\"\nreg = 0.5\nmax-iter = 7\n[data]\npartitions = 3\n",
        );
        let flags = JobFlags {
            config: Some(path),
            learner: LearnerArgs {
                model: None,
                settings: [("reg".to_string(), "0.1".to_string())].into(),
            },
            data: DataSettings {
                partitions: Some(5),
                ..Default::default()
            },
            ..Default::default()
        };
        let (config, _) = flags.resolve().unwrap();
        let logged = config.learner.mlflow_params();
        assert!(logged.contains(&("LinearRegression.regParam".into(), "0.1".into())));
        assert!(logged.contains(&("LinearRegression.maxIter".into(), "7".into())));
        assert_eq!(config.data.partitions, Some(5));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = JobConfig::from_toml_file(&write(dir.path(), "regularisation = 0.1\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("job.toml") && err.contains("regularisation"),
            "{err}"
        );
        let err = JobConfig::from_toml_file(&write(dir.path(), "[data]\nrows = 3\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("rows"), "{err}");
        let err = JobConfig::from_toml_file(&write(dir.path(), "reg = -1\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("--reg"), "{err}");
    }
}
