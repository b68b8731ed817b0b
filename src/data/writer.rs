//! Writing record batches to a file whose extension names the format: Parquet (`.parquet`) or
//! CSV (`.csv`). Any other extension is refused, so a file never holds what its name denies.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;

use super::DataError;

/// An open output table.
pub struct TableWriter {
    path: PathBuf,
    sink: Sink,
}

enum Sink {
    Parquet(ArrowWriter<File>),
    Csv(arrow_csv::Writer<File>),
}

impl TableWriter {
    /// The format `path`'s extension names, or the error naming it (`flag` is the option that
    /// gave the path, e.g. `--out`).
    pub fn check_path(path: &Path, flag: &'static str) -> Result<(), DataError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("parquet") | Some("csv") => Ok(()),
            _ => Err(DataError::InvalidOption {
                option: flag,
                message: format!(
                    "{}: the file name must end in .parquet or .csv (the format written)",
                    path.display()
                ),
            }),
        }
    }

    /// Creates `path` for batches of `schema`.
    pub fn create(path: &Path, schema: &SchemaRef) -> Result<Self, DataError> {
        Self::check_path(path, "--out")?;
        let file = File::create(path).map_err(|e| DataError::io(path, e))?;
        let csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let sink = match csv {
            true => Sink::Csv(arrow_csv::Writer::new(file)),
            false => Sink::Parquet(
                ArrowWriter::try_new(file, schema.clone(), None).map_err(|e| internal(path, e))?,
            ),
        };
        Ok(TableWriter {
            path: path.to_path_buf(),
            sink,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), DataError> {
        let path = &self.path;
        match &mut self.sink {
            Sink::Parquet(w) => w.write(batch).map_err(|e| internal(path, e)),
            Sink::Csv(w) => w.write(batch).map_err(|e| internal(path, e)),
        }
    }

    /// Finishes the file (Parquet writes its footer).
    pub fn close(self) -> Result<(), DataError> {
        match self.sink {
            Sink::Parquet(w) => w.close().map(|_| ()).map_err(|e| internal(&self.path, e)),
            Sink::Csv(_) => Ok(()),
        }
    }
}

fn internal(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Internal {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
