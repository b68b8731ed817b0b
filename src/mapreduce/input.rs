//! A job's input and how it is cut into splits: text files into line-aligned byte ranges,
//! tabular files into the partition engine's partitions. Every process cuts and reads the
//! same splits from the same paths.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use serde::{Deserialize, Serialize};

use super::MapReduceError;
use crate::data::{expand_paths, DataSource, Partition, ReadOptions};

/// Text splits aim at this size when the caller does not choose a count.
pub const LINE_SPLIT_BYTES: u64 = 8 << 20;

/// What a job reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Inputs {
    /// Text files (paths, directories or globs), one record per line.
    Lines(Vec<PathBuf>),
    /// Parquet/CSV files (TLC trip files normalised), one record per partition's batch of
    /// `columns`.
    Table {
        /// Files, directories or globs.
        paths: Vec<PathBuf>,
        /// The columns the map reads.
        columns: Vec<String>,
    },
}

/// One unit of map work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Split {
    /// The lines of `path` that start in `[start, end)`.
    Lines {
        /// The file.
        path: PathBuf,
        /// First byte (inclusive).
        start: u64,
        /// Last byte (exclusive).
        end: u64,
    },
    /// A partition of a tabular source.
    Table(Partition),
}

/// One record handed to [`MapReduce::map`](super::MapReduce::map).
#[derive(Debug, Clone, Copy)]
pub enum Record<'a> {
    /// A line of a text input.
    Line(Line<'a>),
    /// A partition's rows of a tabular input (the requested columns, in that order).
    Batch(&'a RecordBatch),
}

/// A line of text, with where it came from (for error messages).
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// The file.
    pub path: &'a Path,
    /// Byte offset of the line's start in the file.
    pub offset: u64,
    /// The line, without its end of line.
    pub text: &'a str,
}

impl Line<'_> {
    /// An error naming this line's file and 1-based line number.
    pub fn error(&self, message: impl Into<String>) -> MapReduceError {
        MapReduceError::BadRecord {
            path: self.path.to_path_buf(),
            line: line_number(self.path, self.offset),
            message: message.into(),
        }
    }
}

impl<'a> Record<'a> {
    /// The line, or an error when the input is tabular.
    pub fn line(self) -> Result<Line<'a>, MapReduceError> {
        match self {
            Record::Line(line) => Ok(line),
            Record::Batch(_) => Err(MapReduceError::Job(
                "this job reads text lines, not a table".into(),
            )),
        }
    }

    /// The batch, or an error when the input is text.
    pub fn batch(self) -> Result<&'a RecordBatch, MapReduceError> {
        match self {
            Record::Batch(batch) => Ok(batch),
            Record::Line(_) => Err(MapReduceError::Job(
                "this job reads a table, not text lines".into(),
            )),
        }
    }
}

impl Inputs {
    /// Cuts the input into `splits` pieces (default: one per 8 MiB of text or per row group
    /// of Parquet, at least two per core).
    pub fn plan(&self, splits: Option<usize>) -> Result<Vec<Split>, MapReduceError> {
        if splits == Some(0) {
            return Err(MapReduceError::InvalidOption {
                option: "--splits",
                message: "must be at least 1".into(),
            });
        }
        match self {
            Inputs::Lines(paths) => plan_lines(&expand_paths(paths)?, splits),
            Inputs::Table { paths, .. } => Ok(open_table(paths, splits)?
                .partitions()
                .iter()
                .cloned()
                .map(Split::Table)
                .collect()),
        }
    }

    /// Calls `f` on every record of `split`, in order.
    pub fn for_each_record(
        &self,
        split: &Split,
        f: &mut dyn FnMut(Record<'_>) -> Result<(), MapReduceError>,
    ) -> Result<(), MapReduceError> {
        match (self, split) {
            (Inputs::Lines(_), Split::Lines { path, start, end }) => {
                read_lines(path, *start, *end, f)
            }
            (Inputs::Table { paths, columns }, Split::Table(partition)) => {
                let source = open_table(paths, None)?;
                let names: Vec<&str> = columns.iter().map(String::as_str).collect();
                let batch = source.read(partition, &source.projection(&names)?)?;
                f(Record::Batch(&batch))
            }
            _ => Err(MapReduceError::Job(
                "a split of another kind of input".into(),
            )),
        }
    }
}

fn open_table(paths: &[PathBuf], splits: Option<usize>) -> Result<DataSource, MapReduceError> {
    let options = ReadOptions {
        partitions: splits,
        ..Default::default()
    };
    Ok(DataSource::open(paths, &options)?)
}

/// Byte ranges of the files, `splits` in all (each file at least one), shared by size.
fn plan_lines(files: &[PathBuf], splits: Option<usize>) -> Result<Vec<Split>, MapReduceError> {
    let mut sizes = Vec::with_capacity(files.len());
    for path in files {
        let meta = std::fs::metadata(path).map_err(MapReduceError::io(path))?;
        sizes.push(meta.len());
    }
    let total: u64 = sizes.iter().sum();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let wanted = splits
        .unwrap_or_else(|| (total.div_ceil(LINE_SPLIT_BYTES) as usize).max(2 * cores))
        .max(files.len());
    let mut out = Vec::new();
    for (path, &bytes) in files.iter().zip(&sizes) {
        let share = if total == 0 {
            1
        } else {
            ((wanted as u128 * bytes as u128 / total as u128) as u64).max(1)
        };
        let pieces = share.min(bytes.max(1));
        for i in 0..pieces {
            out.push(Split::Lines {
                path: path.clone(),
                start: bytes * i / pieces,
                end: bytes * (i + 1) / pieces,
            });
        }
    }
    Ok(out)
}

/// Calls `f` on every line starting in `[start, end)` of `path`.
fn read_lines(
    path: &Path,
    start: u64,
    end: u64,
    f: &mut dyn FnMut(Record<'_>) -> Result<(), MapReduceError>,
) -> Result<(), MapReduceError> {
    let io = MapReduceError::io;
    let mut file = File::open(path).map_err(io(path))?;
    // A line that starts before `start` belongs to the previous split: skip to its end.
    let mut pos = start.saturating_sub(1);
    file.seek(SeekFrom::Start(pos)).map_err(io(path))?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::new();
    if start > 0 {
        pos += reader.read_until(b'\n', &mut buf).map_err(io(path))? as u64;
    }
    while pos < end {
        buf.clear();
        let read = reader.read_until(b'\n', &mut buf).map_err(io(path))?;
        if read == 0 {
            break;
        }
        let offset = pos;
        pos += read as u64;
        let mut bytes = buf.as_slice();
        while let Some((b'\n' | b'\r', rest)) = bytes.split_last() {
            bytes = rest;
        }
        let line = |text| Line { path, offset, text };
        let text = std::str::from_utf8(bytes).map_err(|_| line("").error("not UTF-8 text"))?;
        f(Record::Line(line(text)))?;
    }
    Ok(())
}

/// The 1-based number of the line starting at byte `offset` (counted only for errors).
fn line_number(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else {
        return 0;
    };
    let mut newlines = 0;
    let mut buf = vec![0u8; 1 << 16];
    let mut reader = file.take(offset);
    while let Ok(n) = reader.read(&mut buf) {
        if n == 0 {
            break;
        }
        newlines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
    newlines + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(inputs: &Inputs, splits: &[Split]) -> Vec<(u64, String)> {
        let mut out = Vec::new();
        for split in splits {
            inputs
                .for_each_record(split, &mut |r| {
                    let line = r.line()?;
                    out.push((line.offset, line.text.to_string()));
                    Ok(())
                })
                .unwrap();
        }
        out
    }

    #[test]
    fn any_cut_reads_each_line_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.txt");
        let text = "1\t2,3\r\n2\t1\n\n3\t1\nlast-without-newline";
        std::fs::write(&path, text).unwrap();
        let inputs = Inputs::Lines(vec![path.clone()]);
        let whole = lines_of(&inputs, &inputs.plan(Some(1)).unwrap());
        let texts: Vec<&str> = whole.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(
            texts,
            ["1\t2,3", "2\t1", "", "3\t1", "last-without-newline"]
        );
        for n in 2..=text.len() + 3 {
            assert_eq!(
                lines_of(&inputs, &inputs.plan(Some(n)).unwrap()),
                whole,
                "{n}"
            );
        }
    }

    #[test]
    fn an_error_names_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.txt");
        std::fs::write(&path, "a\nb\nc\n").unwrap();
        let line = Line {
            path: &path,
            offset: 4,
            text: "c",
        };
        let e = line.error("bad");
        assert!(e.is_user_error());
        assert_eq!(e.to_string(), format!("{}:3: bad", path.display()));
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = Inputs::Lines(vec!["/no/such/file.txt".into()])
            .plan(None)
            .unwrap_err();
        assert!(e.is_user_error() && e.to_string().contains("/no/such/file.txt"));
    }
}
