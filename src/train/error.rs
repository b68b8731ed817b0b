//! Errors of a training job, wrapping each layer's typed error.

use crate::data::DataError;
use crate::feature::FeatureError;
use crate::model::{ModelDirError, ModelError};
use crate::tracking::TrackingError;

use super::ConfigError;

/// Why a job failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    /// Reading the input.
    #[error(transparent)]
    Data(#[from] DataError),
    /// The feature pipeline.
    #[error(transparent)]
    Feature(#[from] FeatureError),
    /// The learner or solver.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Saving or loading the model directory.
    #[error(transparent)]
    ModelDir(#[from] ModelDirError),
    /// The tracking server or local run store.
    #[error(transparent)]
    Tracking(#[from] TrackingError),
    /// The job file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Making, caching or spilling the feature blocks.
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
    /// The distributed fit (workers, shards, rendezvous).
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterError),
    /// Every row was filtered out.
    #[error("{file}: no rows left to {purpose} after the feature pipeline (read {read}; dropped: {dropped})")]
    NoRows {
        /// The input.
        file: String,
        /// Training or validation.
        purpose: &'static str,
        /// Rows read.
        read: u64,
        /// Why rows were dropped.
        dropped: String,
    },
    /// Any other invalid flag value or combination.
    #[error("invalid {flag}: {message}")]
    Invalid {
        /// The flag at fault.
        flag: &'static str,
        /// Why.
        message: String,
    },
    /// A file could not be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl JobError {
    /// Whether the user's input is at fault (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            JobError::Data(e) => e.is_user_error(),
            JobError::Feature(e) => e.is_user_error(),
            JobError::Model(e) => e.is_user_error(),
            JobError::ModelDir(e) => e.is_user_error(),
            JobError::Tracking(e) => e.is_user_error(),
            JobError::Cluster(e) => e.is_user_error(),
            JobError::Store(e) => e.is_user_error(),
            JobError::Config(_) | JobError::NoRows { .. } | JobError::Invalid { .. } => true,
            JobError::Io { .. } => false,
        }
    }
}
