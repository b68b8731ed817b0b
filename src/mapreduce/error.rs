//! What can stop a map/reduce job.

use std::path::PathBuf;

use crate::cluster::ClusterError;
use crate::data::DataError;

/// Errors of a map/reduce job: bad input names its file and line; the rest say what failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MapReduceError {
    /// A record the job's map cannot read.
    #[error("{}:{line}: {message}", path.display())]
    BadRecord {
        /// The input file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong with it.
        message: String,
    },
    /// Reading a tabular input failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An option is invalid.
    #[error("{option}: {message}")]
    InvalidOption {
        /// The flag at fault.
        option: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The job's code refused something (its message says what).
    #[error("{0}")]
    Job(String),
    /// Shuffle data that does not decode (a bug or a version mismatch between processes).
    #[error("shuffle data: {0}")]
    Codec(String),
    /// Running across worker processes failed.
    #[error(transparent)]
    Cluster(#[from] ClusterError),
}

impl MapReduceError {
    /// Whether the input or the options are at fault (exit code 2), not the machine.
    pub fn is_user_error(&self) -> bool {
        match self {
            MapReduceError::BadRecord { .. } | MapReduceError::InvalidOption { .. } => true,
            MapReduceError::Data(e) => e.is_user_error(),
            MapReduceError::Cluster(e) => e.is_user_error(),
            MapReduceError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| MapReduceError::Io { path, source }
    }
}
