//! Errors of a sweep: bad search-space flags (user errors) and failures of the shared work.

use crate::train::JobError;

/// Why a sweep could not run (a single trial's failure is recorded, not raised).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TuneError {
    /// A `--grid` key that is not a tunable train flag.
    #[error("invalid --grid: unknown parameter `{key}` (tunable: {known})")]
    UnknownParam {
        /// The key as given.
        key: String,
        /// The tunable keys.
        known: String,
    },
    /// A `--grid`, `--search`, `--folds`, `--metric` ... value that does not parse.
    #[error("invalid {flag}: {message}")]
    Invalid {
        /// The flag at fault.
        flag: &'static str,
        /// Why.
        message: String,
    },
    /// The shared work (reading, features, refit, saving) failed.
    #[error(transparent)]
    Job(#[from] JobError),
    /// The state or result files could not be written or read.
    #[error("{}: {message}", path.display())]
    State {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        message: String,
    },
}

impl TuneError {
    /// Whether the user's input is at fault (exit code 2).
    pub fn is_user_error(&self) -> bool {
        match self {
            TuneError::UnknownParam { .. } | TuneError::Invalid { .. } => true,
            TuneError::Job(e) => e.is_user_error(),
            TuneError::State { .. } => false,
        }
    }

    /// Shorthand for [`TuneError::Invalid`].
    pub fn invalid(flag: &'static str, message: impl Into<String>) -> Self {
        TuneError::Invalid {
            flag,
            message: message.into(),
        }
    }
}
