//! Errors of the data layer: every variant names the file, and the row and column where known.

use std::path::PathBuf;

/// An error while finding, opening, reading or generating tabular data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// A path or glob matched no file.
    #[error("{path}: no such file (or the pattern matched nothing)")]
    NotFound {
        /// The path or pattern as given.
        path: String,
    },
    /// The file is neither Parquet nor CSV.
    #[error("{}: not a Parquet or CSV file ({reason})", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// What was seen instead.
        reason: String,
    },
    /// The file could not be decoded.
    #[error("{}{}: {message}", path.display(), location(*line, column.as_deref()))]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line (CSV, counting the header) or row (Parquet) where known.
        line: Option<u64>,
        /// The column at fault, where known.
        column: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// A requested column does not exist in the file.
    #[error("{}: no column '{column}' (available: {})", path.display(), available.join(", "))]
    UnknownColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The columns the file has.
        available: Vec<String>,
    },
    /// Two input files disagree on a column's presence or type.
    #[error("{}: {message}", path.display())]
    SchemaMismatch {
        /// The file that does not match the first one.
        path: PathBuf,
        /// The difference.
        message: String,
    },
    /// An invalid option value (for example a zero partition count or a bad month).
    #[error("invalid {option}: {message}")]
    InvalidOption {
        /// The option or flag name.
        option: &'static str,
        /// Why the value is rejected.
        message: String,
    },
    /// An operating-system I/O failure.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file being read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An Arrow or Parquet failure that is not the input's fault.
    #[error("{}: {message}", path.display())]
    Internal {
        /// The file being processed.
        path: PathBuf,
        /// The library's message.
        message: String,
    },
}

impl DataError {
    /// Whether the error is the user's input's fault (bad file, column or option): exit code 2.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, DataError::Internal { .. })
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::NotFound {
            return DataError::NotFound {
                path: path.into().display().to_string(),
            };
        }
        DataError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn malformed(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Malformed {
            path: path.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }
}

fn location(line: Option<u64>, column: Option<&str>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(": line {l}, column '{c}'"),
        (Some(l), None) => format!(": line {l}"),
        (None, Some(c)) => format!(": column '{c}'"),
        (None, None) => String::new(),
    }
}
