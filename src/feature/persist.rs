//! Saving and loading a fitted pipeline: a directory with `pipeline.json` (format version,
//! input schema, assembler, fit statistics — small and readable) and `stages.json.zst` (the
//! fitted stages and the feature layout as zstd-compressed JSON: vocabularies and the names of
//! a zone × zone interaction run to tens of thousands of entries). Floats are stored exactly,
//! so a loaded pipeline transforms bit-identically.

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
/// The file holding the fitted stages and the layout (zstd-compressed JSON).
pub const STAGES_FILE: &str = "stages.json.zst";
/// The format this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_NAME: &str = "distml-feature-pipeline";

#[derive(Serialize, Deserialize)]
struct Saved {
    format: String,
    format_version: u32,
    distml_version: String,
    input_schema: Schema,
    assembler: VectorAssembler,
    fit_stats: FitStats,
    /// Number of features, checked against the stages once they are loaded.
    features: usize,
    /// The compressed file with the stages and the layout.
    stages_file: String,
}

/// The large part of a saved pipeline.
#[derive(Serialize, Deserialize)]
pub(crate) struct SavedStages {
    pub(crate) stages: Vec<FittedStage>,
    pub(crate) layout: FeatureLayout,
}

/// A whole fitted pipeline in one JSON document, for sending it to worker processes.
#[derive(Serialize, Deserialize)]
struct Wire {
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
    /// The pipeline as one JSON document (floats exact), to send it to worker processes.
    pub fn to_json(&self) -> Result<Vec<u8>, FeatureError> {
        let wire = Wire {
            input_schema: self.schema().as_ref().clone(),
            stages: self.stages.clone(),
            assembler: self.assembler.clone(),
            fit_stats: self.stats.clone(),
            layout: self.layout().clone(),
        };
        serde_json::to_vec(&wire).map_err(|e| FeatureError::internal("Pipeline", e))
    }

    /// Reads a pipeline from [`FittedPipeline::to_json`]'s document.
    pub fn from_json(bytes: &[u8]) -> Result<Self, FeatureError> {
        let corrupt = |message: String| FeatureError::Internal {
            stage: "Pipeline".into(),
            message: format!("pipeline sent by the coordinator: {message}"),
        };
        let wire: Wire = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let fitted = FittedPipeline::new(
            Arc::new(wire.input_schema),
            wire.stages,
            wire.assembler,
            wire.fit_stats,
        )?;
        if fitted.layout() != &wire.layout {
            return Err(corrupt("the stages do not produce the sent layout".into()));
        }
        Ok(fitted)
    }

    /// Saves to `dir` (created if needed) as `pipeline.json`.
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<(), FeatureError> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let body = SavedStages {
            stages: self.stages.clone(),
            layout: self.layout().clone(),
        };
        let json = serde_json::to_vec(&body).map_err(|e| FeatureError::internal("Pipeline", e))?;
        let packed = zstd::encode_all(&json[..], 3).map_err(|e| io(dir, e))?;
        write_atomically(&dir.join(STAGES_FILE), &packed)?;
        let saved = Saved {
            format: FORMAT_NAME.into(),
            format_version: FORMAT_VERSION,
            distml_version: env!("CARGO_PKG_VERSION").into(),
            input_schema: self.schema().as_ref().clone(),
            assembler: self.assembler.clone(),
            fit_stats: self.stats.clone(),
            features: self.layout().width(),
            stages_file: STAGES_FILE.into(),
        };
        let text =
            serde_json::to_vec_pretty(&saved).map_err(|e| FeatureError::internal("Pipeline", e))?;
        write_atomically(&dir.join(PIPELINE_FILE), &text)
    }

    /// Loads a pipeline saved by [`FittedPipeline::save`]; a newer or corrupt file fails clearly.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, FeatureError> {
        let path = dir.as_ref().join(PIPELINE_FILE);
        let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
        let corrupt = |message: String| FeatureError::Corrupt {
            path: path.clone(),
            message,
        };
        let header: Header =
            serde_json::from_slice(&bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
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
                path: path.clone(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let saved: Saved = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let body = load_stages(dir.as_ref(), &saved.stages_file)?;
        let fitted = FittedPipeline::new(
            Arc::new(saved.input_schema),
            body.stages,
            saved.assembler,
            saved.fit_stats,
        )
        .map_err(|e| corrupt(format!("stages do not fit together: {e}")))?;
        // Files before the layout named its categorical columns have only names and the dense
        // count; those are what such a file can be checked against.
        let same = fitted.layout().names == body.layout.names
            && fitted.layout().dense == body.layout.dense;
        let legacy = body.layout.categories.is_empty() && body.layout.sparse_columns.is_empty();
        let matches = same && (legacy || fitted.layout() == &body.layout);
        if !matches || body.layout.width() != saved.features {
            return Err(corrupt(
                "the stages do not produce the saved feature layout".into(),
            ));
        }
        Ok(fitted)
    }
}

/// Reads the compressed stages; the file name must be a plain name inside the directory.
pub(crate) fn load_stages(dir: &Path, name: &str) -> Result<SavedStages, FeatureError> {
    let path = dir.join(name);
    let corrupt = |message: String| FeatureError::Corrupt {
        path: path.clone(),
        message,
    };
    if name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(corrupt(format!(
            "stages file '{name}' is not a plain file name"
        )));
    }
    let packed = std::fs::read(&path).map_err(|e| io(&path, e))?;
    let json = zstd::decode_all(&packed[..]).map_err(|e| corrupt(format!("not zstd data: {e}")))?;
    serde_json::from_slice(&json).map_err(|e| corrupt(e.to_string()))
}

/// Writes then renames, so a crash never leaves a half-written file behind.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FeatureError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn io(path: &Path, source: std::io::Error) -> FeatureError {
    FeatureError::Io {
        path: PathBuf::from(path),
        source,
    }
}
