//! Errors of the feature pipeline: every variant names the stage, and the column and value where known.

use std::path::PathBuf;

use crate::data::DataError;

/// An error while validating, fitting, applying, saving or loading a feature pipeline.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// Reading the input failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A stage parameter is invalid (checked before any data is read).
    #[error("{stage}: invalid {param}: {message}")]
    InvalidParam {
        /// The stage.
        stage: String,
        /// The parameter name (MLlib spelling).
        param: &'static str,
        /// Why the value is rejected.
        message: String,
    },
    /// A stage reads a column that neither the input nor an earlier stage provides.
    #[error("{stage}: no column '{column}' (available: {})", available.join(", "))]
    MissingColumn {
        /// The stage.
        stage: String,
        /// The column asked for.
        column: String,
        /// The columns present at that point.
        available: Vec<String>,
    },
    /// A column has a type the stage cannot use.
    #[error("{stage}: column '{column}' is {found}, expected {expected}")]
    ColumnType {
        /// The stage.
        stage: String,
        /// The column.
        column: String,
        /// What the stage accepts.
        expected: &'static str,
        /// What the column is.
        found: String,
    },
    /// A value is invalid under `handleInvalid = error` (unseen category, null, NaN, out of range).
    #[error("{stage}: column '{column}', row {row}: {reason} ({value}); set handleInvalid to 'skip' or 'keep' to accept it")]
    InvalidValue {
        /// The stage.
        stage: String,
        /// The column.
        column: String,
        /// 0-based row within the partition.
        row: usize,
        /// The value, as text.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A stage saw no usable value during fit, so it cannot learn anything.
    #[error("{stage}: column '{column}' has no non-null value to fit on")]
    EmptyFit {
        /// The stage.
        stage: String,
        /// The column.
        column: String,
    },
    /// A saved pipeline is unreadable or inconsistent.
    #[error("{}: corrupt saved pipeline: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A saved pipeline was written by a newer distml.
    #[error("{}: saved pipeline has format version {found}, this distml reads up to {supported}; upgrade distml", path.display())]
    UnsupportedVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// An operating-system I/O failure while saving or loading.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An Arrow failure or broken invariant that is not the input's fault.
    #[error("{stage}: internal error: {message}")]
    Internal {
        /// The stage.
        stage: String,
        /// What went wrong.
        message: String,
    },
}

impl FeatureError {
    /// Whether the error is the user's fault (bad input, column, parameter or file): exit code 2.
    pub fn is_user_error(&self) -> bool {
        match self {
            FeatureError::Data(e) => e.is_user_error(),
            FeatureError::Internal { .. } => false,
            _ => true,
        }
    }

    pub(crate) fn param(stage: &str, param: &'static str, message: impl Into<String>) -> Self {
        FeatureError::InvalidParam {
            stage: stage.to_string(),
            param,
            message: message.into(),
        }
    }

    pub(crate) fn internal(stage: &str, message: impl ToString) -> Self {
        FeatureError::Internal {
            stage: stage.to_string(),
            message: message.to_string(),
        }
    }
}
