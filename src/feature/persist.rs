//! Saving and loading a fitted pipeline: a directory with `pipeline.json` (format version,
//! input schema, fitted stages, assembler, layout). Floats are stored exactly, so a loaded
//! pipeline transforms bit-identically.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_schema::Schema;
use serde::{Deserialize, Serialize};

use super::assembler::VectorAssembler;
use super::pipeline::{FitStats, FittedPipeline};
use super::stage::FittedStage;
use super::{FeatureError, FeatureLayout};

/// The file inside a saved pipeline directory.
pub const PIPELINE_FILE: &str = "pipeline.json";
/// The format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "distml-feature-pipeline";

#[derive(Serialize, Deserialize)]
struct Saved {
    format: String,
    format_version: u32,
    distml_version: String,
    input_schema: Schema,
    stages: Vec<FittedStage>,
    assembler: VectorAssembler,
    fit_stats: FitStats,
    layout: FeatureLayout,
}

#[derive(Deserialize)]
struct Header {
    format: Option<String>,
    format_version: Option<u32>,
}

impl FittedPipeline {
    /// The pipeline as the JSON document [`FittedPipeline::save`] writes (to send it to
    /// worker processes).
    pub fn to_json(&self) -> Result<Vec<u8>, FeatureError> {
        serde_json::to_vec(&self.saved()).map_err(|e| FeatureError::internal("Pipeline", e))
    }

    /// Reads a pipeline from [`FittedPipeline::to_json`]'s document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, FeatureError> {
        Self::decode(bytes, Path::new("<pipeline sent by the coordinator>"))
    }

    fn saved(&self) -> Saved {
        Saved {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            distml_version: env!("CARGO_PKG_VERSION").into(),
            input_schema: self.schema().as_ref().clone(),
            stages: self.stages.clone(),
            assembler: self.assembler.clone(),
            fit_stats: self.stats.clone(),
            layout: self.layout().clone(),
        }
    }

    /// Saves to `dir` (created if needed) as `pipeline.json`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<(), FeatureError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = dir.join(PIPELINE_FILE);
        let text = serde_json::to_vec_pretty(&self.saved())
            .map_err(|e| FeatureError::internal("Pipeline", e))?;
        // Write then rename, so a crash never leaves a half-written pipeline behind.
        let tmp = dir.join(format!("{PIPELINE_FILE}.tmp"));
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
    }

    /// Loads a pipeline saved by [`FittedPipeline::save`]; a newer or corrupt file fails clearly.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, FeatureError> {
        let path = dir.as_ref().join(PIPELINE_FILE);
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        Self::decode(&bytes, &path)
    }

    fn decode(bytes: &[u8], path: &Path) -> Result<Self, FeatureError> {
        let corrupt = |message: String| FeatureError::Corrupt {
            path: path.to_path_buf(),
            message,
        };
        let header: Header =
            serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
        if header.format.as_deref() != Some(FORMAT_NAME) {
            return Err(corrupt(format!(
                "not a distml feature pipeline (format {:?})",
                header.format
            )));
        }
        let version = header
            .format_version
            .ok_or_else(|| corrupt("no format_version".into()))?;
        if version > FORMAT_VERSION {
            return Err(FeatureError::UnsupportedVersion {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let saved: Saved = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let fitted = FittedPipeline::new(
            Arc::new(saved.input_schema),
            saved.stages,
            saved.assembler,
            saved.fit_stats,
        )
        .map_err(|e| corrupt(format!("stages do not fit together: {e}")))?;
        if fitted.layout() != &saved.layout {
            return Err(corrupt(
                "the stages do not produce the saved feature layout".into(),
            ));
        }
        Ok(fitted)
    }
}

fn io(path: &Path, source: std::io::Error) -> FeatureError {
    FeatureError::Io {
        path: PathBuf::from(path),
        source,
    }
}
