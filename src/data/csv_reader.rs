//! Reading CSV files: header + type inference once per file, then any byte-range partition.
//!
//! A partition holds every line that starts inside its byte range, so neighbouring partitions
//! meet exactly at a line start (as Hadoop/Spark split text files). Quoted fields that contain
//! line breaks are not supported in split files.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::RecordBatch;
use arrow_csv::reader::Format;
use arrow_schema::{ArrowError, Schema, SchemaRef};
use regex::Regex;

use super::DataError;

/// Values read as null, as pandas' `read_csv` does by default.
const NULL_PATTERN: &str = r"^(?:|NA|N/A|n/a|NaN|nan|null|NULL|None|#N/A|<NA>)$";

/// How CSV files are parsed.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field separator.
    pub delimiter: u8,
    /// Rows read to infer column types when no schema is declared.
    pub infer_rows: usize,
    /// Declared column types (by name); other columns are inferred.
    pub schema: Option<SchemaRef>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            infer_rows: 10_000,
            schema: None,
        }
    }
}

fn null_regex() -> Regex {
    static NULLS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(NULL_PATTERN).expect("the null pattern is a valid regex"));
    NULLS.clone()
}

fn format(options: &CsvOptions, header: bool) -> Format {
    Format::default()
        .with_header(header)
        .with_delimiter(options.delimiter)
        .with_null_regex(null_regex())
}

/// Infers a file's schema from its header and first rows; declared types win.
pub(crate) fn infer_schema(path: &Path, options: &CsvOptions) -> Result<SchemaRef, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let (inferred, records) = format(options, true)
        .infer_schema(BufReader::new(file), Some(options.infer_rows))
        .map_err(|e| csv_error(path, 0, None, e))?;
    if inferred.fields().is_empty() {
        return Err(DataError::malformed(path, "empty CSV file: no header row"));
    }
    if records == 0 {
        return Err(DataError::malformed(path, "no data rows (only a header)"));
    }
    let Some(declared) = &options.schema else {
        return Ok(Arc::new(inferred));
    };
    let fields = inferred.fields().iter().map(|f| {
        match declared.fields().iter().find(|d| d.name() == f.name()) {
            Some(d) => d.clone(),
            None => f.clone(),
        }
    });
    Ok(Arc::new(Schema::new(fields.collect::<Vec<_>>())))
}

/// The first value of column `column` (its position) that is neither a number nor null, with
/// its 1-based line (the header is line 1): why a column meant to be numeric was read as text.
pub(crate) fn first_non_number(
    path: &Path,
    column: usize,
    options: &CsvOptions,
) -> Result<Option<(u64, String)>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .from_reader(BufReader::new(file));
    let nulls = null_regex();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| DataError::malformed(path, e.to_string()))?;
        let Some(value) = record.get(column) else {
            continue;
        };
        if value.trim().parse::<f64>().is_err() && !nulls.is_match(value) {
            return Ok(Some((i as u64 + 2, value.to_string())));
        }
    }
    Ok(None)
}

/// Reads the lines starting in `[start, end)`, projected onto the physical columns `columns`.
pub(crate) fn read_range(
    path: &Path,
    schema: &SchemaRef,
    options: &CsvOptions,
    (start, end): (u64, u64),
    columns: &[usize],
) -> Result<Vec<RecordBatch>, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
    let mut first = align_to_line(&mut file, path, start, len)?;
    if first == 0 {
        first = align_to_line(&mut file, path, 1, len)?; // skip the header line
    }
    let last = align_to_line(&mut file, path, end, len)?.max(first);
    file.seek(SeekFrom::Start(first))
        .map_err(|e| DataError::io(path, e))?;
    let reader = arrow_csv::ReaderBuilder::new(schema.clone())
        .with_format(format(options, false))
        .with_projection(columns.to_vec())
        .with_batch_size(64 * 1024)
        .build(BufReader::with_capacity(1 << 20, file.take(last - first)))
        .map_err(|e| csv_error(path, first, None, e))?;
    let mut batches = Vec::new();
    for batch in reader {
        batches.push(batch.map_err(|e| csv_error(path, first, Some(schema), e))?);
    }
    Ok(batches)
}

/// The first line start at or after `offset` (a line starts after each '\n').
fn align_to_line(file: &mut File, path: &Path, offset: u64, len: u64) -> Result<u64, DataError> {
    if offset == 0 || offset >= len {
        return Ok(offset.min(len));
    }
    file.seek(SeekFrom::Start(offset - 1))
        .map_err(|e| DataError::io(path, e))?;
    let mut skipped = Vec::new();
    let n = BufReader::new(file)
        .read_until(b'\n', &mut skipped)
        .map_err(|e| DataError::io(path, e))?;
    Ok(offset - 1 + n as u64)
}

/// Turns an arrow-csv error into one naming the file, the 1-based line and the column.
fn csv_error(path: &Path, first_byte: u64, schema: Option<&SchemaRef>, e: ArrowError) -> DataError {
    let message = match &e {
        ArrowError::ParseError(m) | ArrowError::CsvError(m) => m.clone(),
        other => other.to_string(),
    };
    let static_re = |pattern: &str| Regex::new(pattern).expect("static pattern");
    let relative_line = static_re(r"line (\d+)")
        .captures(&message)
        .and_then(|c| c[1].parse::<u64>().ok());
    let column = static_re(r"for column (\d+)")
        .captures(&message)
        .and_then(|c| c[1].parse::<usize>().ok())
        .and_then(|i| schema.map(|s| s.field(i).name().clone()));
    // arrow-csv counts parse errors from 0 and field-count errors from 1.
    let zero_based = matches!(e, ArrowError::ParseError(_));
    let line =
        relative_line.map(|rel| lines_before(path, first_byte) + rel + u64::from(zero_based));
    let cleaned = static_re(r" (at|for) line \d+")
        .replace(&message, "")
        .split(". Row data")
        .next()
        .unwrap_or(&message)
        .to_string();
    DataError::Malformed {
        path: path.to_path_buf(),
        line,
        column,
        message: cleaned,
    }
}

/// The 1-based line (the header is line 1) of the first row of the range starting at byte
/// `start` (only computed on the error path).
pub(crate) fn first_line_of_range(path: &Path, start: u64) -> Result<u64, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let len = file.metadata().map_err(|e| DataError::io(path, e))?.len();
    let first = align_to_line(&mut file, path, start.max(1), len)?;
    Ok(lines_before(path, first) + 1)
}

/// Number of line breaks before `offset` (only computed on the error path).
fn lines_before(path: &Path, offset: u64) -> u64 {
    let Ok(file) = File::open(path) else { return 0 };
    let mut reader = BufReader::new(file.take(offset));
    let mut count = 0u64;
    loop {
        let Ok(buf) = reader.fill_buf() else {
            return count;
        };
        if buf.is_empty() {
            return count;
        }
        count += buf.iter().filter(|&&b| b == b'\n').count() as u64;
        let n = buf.len();
        reader.consume(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::DataType;

    fn write(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn types_and_nulls_are_inferred() {
        let (_d, path) = write("a,b,c\n1,2.5,x\nNA,,y\n3,4,\n");
        let schema = infer_schema(&path, &CsvOptions::default()).unwrap();
        let types: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(types, [DataType::Int64, DataType::Float64, DataType::Utf8]);
        let len = std::fs::metadata(&path).unwrap().len();
        let batches =
            read_range(&path, &schema, &CsvOptions::default(), (0, len), &[0, 1, 2]).unwrap();
        assert_eq!(batches[0].num_rows(), 3);
        assert_eq!(batches[0].column(0).null_count(), 1);
        assert_eq!(batches[0].column(1).null_count(), 1);
    }

    #[test]
    fn any_byte_split_reads_each_line_once() {
        let text: String = std::iter::once("k,v\n".to_string())
            .chain((0..50).map(|i| format!("{i},{}\n", i * i)))
            .collect();
        let (_d, path) = write(&text);
        let schema = infer_schema(&path, &CsvOptions::default()).unwrap();
        let len = text.len() as u64;
        for cut in 0..=len {
            let mut rows = 0;
            for range in [(0, cut), (cut, len)] {
                for b in read_range(&path, &schema, &CsvOptions::default(), range, &[0]).unwrap() {
                    rows += b.num_rows();
                }
            }
            assert_eq!(rows, 50, "cut at byte {cut}");
        }
    }

    #[test]
    fn a_bad_number_names_line_and_column() {
        let (_d, path) = write("a,b\n1,2\n3,4\n5,x7\n");
        let options = CsvOptions {
            infer_rows: 2,
            ..Default::default()
        };
        let schema = infer_schema(&path, &options).unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        let err = read_range(&path, &schema, &options, (6, len), &[0, 1]).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("line 4") && text.contains("column 'b'"),
            "{text}"
        );
    }

    #[test]
    fn a_header_only_file_has_no_data_rows() {
        let (_dir, path) = write("x,y\n");
        let message = infer_schema(&path, &CsvOptions::default())
            .unwrap_err()
            .to_string();
        assert!(message.contains("no data rows"), "{message}");
    }

    #[test]
    fn the_first_non_number_is_found_with_its_line() {
        let (_dir, path) = write("x,y\n1,2\nNA,3\n4.5,x7\n");
        let options = CsvOptions::default();
        assert_eq!(first_non_number(&path, 0, &options).unwrap(), None);
        assert_eq!(
            first_non_number(&path, 1, &options).unwrap(),
            Some((4, "x7".to_string()))
        );
    }

    #[test]
    fn a_short_row_names_its_line() {
        let (_d, path) = write("a,b\n1,2\n3\n");
        let schema = infer_schema(
            &path,
            &CsvOptions {
                infer_rows: 1,
                ..Default::default()
            },
        )
        .unwrap();
        let err = read_range(&path, &schema, &CsvOptions::default(), (0, 12), &[0, 1]).unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
    }
}
