//! The model directory `distml train --model-out DIR` writes and `predict`/`evaluate` read:
//!
//! ```text
//! DIR/metadata.json   format version, distml version, model kind, task, label, feature names,
//!                     the job's settings, the training summary and the final metrics
//! DIR/model.json      the fitted model, tagged with its kind (`"kind": "glm"`: coefficients,
//!                     intercept, family, params)
//! DIR/pipeline/       the fitted feature pipeline (FittedPipeline::save)
//! DIR/MLmodel         what MLflow reads: the `distml` flavor and the request signature
//! ```
//!
//! Format 1 (distml 0.1.0) stored a linear model untagged; it still loads, as a `glm`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::feature::{FeatureError, FittedPipeline};

use super::glm::GlmModel;
use super::{Model, Predictor};

/// Version of the directory layout; a newer one is refused with a clear error.
/// 1: `model.json` is an untagged linear model. 2: `model.json` is tagged with its `kind`.
pub const MODEL_FORMAT_VERSION: u32 = 2;

const METADATA_FILE: &str = "metadata.json";
const MODEL_FILE: &str = "model.json";
const PIPELINE_DIR: &str = "pipeline";

/// What a model directory says about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    /// Layout version ([`MODEL_FORMAT_VERSION`]).
    pub format_version: u32,
    /// The distml version that wrote it.
    pub distml_version: String,
    /// When it was written (RFC 3339, UTC).
    pub created: String,
    /// The model's family as `model.json` tags it (`glm`); absent in format 1 (always `glm`).
    #[serde(default = "glm_kind")]
    pub kind: String,
    /// `regression` or `classification`.
    pub task: String,
    /// The label column.
    pub label: String,
    /// Feature names in coefficient order.
    pub features: Vec<String>,
    /// The job's settings (the job config).
    pub config: serde_json::Value,
    /// The training summary (solver, iterations, loss history).
    pub training: serde_json::Value,
    /// Final metrics (validation metrics unprefixed, training ones prefixed `training_`).
    pub metrics: BTreeMap<String, f64>,
}

/// A saved model: metadata, the fitted pipeline and the fitted learner.
#[derive(Debug, Clone)]
pub struct ModelDirectory {
    /// Self-description.
    pub metadata: ModelMetadata,
    /// Raw rows → features.
    pub pipeline: FittedPipeline,
    /// Features → predictions.
    pub model: Model,
}

/// A model directory that cannot be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelDirError {
    /// The directory or one of its files cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not what distml wrote.
    #[error("{}: not a distml model file ({message})", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Written by a newer distml.
    #[error("{}: model format version {found} is newer than this distml supports ({MODEL_FORMAT_VERSION}); upgrade distml", path.display())]
    UnsupportedVersion {
        /// The metadata file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
    /// The fitted pipeline cannot be saved or loaded.
    #[error(transparent)]
    Pipeline(#[from] FeatureError),
}

impl ModelDirError {
    /// Whether the user pointed at a bad directory (exit code 2) rather than an internal fault.
    pub fn is_user_error(&self) -> bool {
        match self {
            ModelDirError::Pipeline(e) => e.is_user_error(),
            _ => true,
        }
    }
}

impl ModelDirectory {
    /// A directory for a freshly trained model; `config` and `training` are the job's settings
    /// and the learner's training summary, `metrics` the final ones.
    pub fn new(
        pipeline: FittedPipeline,
        model: Model,
        config: serde_json::Value,
        training: serde_json::Value,
        metrics: BTreeMap<String, f64>,
    ) -> Self {
        let metadata = ModelMetadata {
            format_version: MODEL_FORMAT_VERSION,
            distml_version: env!("CARGO_PKG_VERSION").into(),
            created: chrono::Utc::now().to_rfc3339(),
            kind: model.kind().to_string(),
            task: model.task().as_str().into(),
            label: pipeline.label_column().to_string(),
            features: pipeline.layout().names.clone(),
            config,
            training,
            metrics,
        };
        ModelDirectory {
            metadata,
            pipeline,
            model,
        }
    }

    /// Writes the directory (creating it; existing files are replaced).
    pub fn save(&self, dir: &Path) -> Result<(), ModelDirError> {
        let io = |path: &Path, source| ModelDirError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        write_json(&dir.join(METADATA_FILE), &self.metadata)?;
        write_json(&dir.join(MODEL_FILE), &self.model)?;
        self.pipeline.save(dir.join(PIPELINE_DIR))?;
        self.save_mlmodel(dir)
    }

    /// Writes `MLmodel`; its signature lists the columns a request carries (the raw inputs
    /// without the label's, or all raw inputs when a feature reads the label's).
    fn save_mlmodel(&self, dir: &Path) -> Result<(), ModelDirError> {
        let serving = self.pipeline.unlabelled();
        let inputs = match &serving {
            Ok(pipeline) => pipeline.schema(),
            Err(_) => self.pipeline.schema(),
        };
        let uuid = crate::tracking::ids::new_run_id();
        let yaml = super::mlmodel::mlmodel_yaml(&self.metadata, inputs, &uuid);
        let path = dir.join(super::mlmodel::MLMODEL_FILE);
        std::fs::write(&path, yaml).map_err(|source| ModelDirError::Io { path, source })
    }

    /// Reads a directory written by [`save`](Self::save).
    pub fn load(dir: &Path) -> Result<Self, ModelDirError> {
        let meta_path = dir.join(METADATA_FILE);
        if !meta_path.exists() {
            return Err(ModelDirError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a distml model directory (no metadata.json); train with --model-out DIR",
                ),
            });
        }
        let version: serde_json::Value = read_json(&meta_path)?;
        let found = version["format_version"].as_u64().unwrap_or(0) as u32;
        if found > MODEL_FORMAT_VERSION {
            return Err(ModelDirError::UnsupportedVersion {
                path: meta_path,
                found,
            });
        }
        let metadata: ModelMetadata = read_json(&meta_path)?;
        let model = match found {
            1 => Model::from(read_json::<GlmModel>(&dir.join(MODEL_FILE))?),
            _ => read_json::<Model>(&dir.join(MODEL_FILE))?,
        };
        let pipeline = FittedPipeline::load(dir.join(PIPELINE_DIR))?;
        let features = model.feature_names().len();
        if pipeline.layout().width() != features {
            return Err(ModelDirError::Corrupt {
                path: dir.join(MODEL_FILE),
                message: format!(
                    "a model of {features} features for {} pipeline features",
                    pipeline.layout().width()
                ),
            });
        }
        Ok(ModelDirectory {
            metadata,
            pipeline,
            model,
        })
    }
}

fn glm_kind() -> String {
    "glm".into()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ModelDirError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| ModelDirError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::write(path, text).map_err(|source| ModelDirError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelDirError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelDirError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| ModelDirError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}
