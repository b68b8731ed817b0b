//! A data source: the files of a job, their logical schema and their partitions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
use rayon::prelude::*;

use super::columns::{find_column, names, resolve_logical, ColumnPlan};
use super::csv_reader::{self as csv, CsvOptions};
use super::parquet_reader as parquet_file;
use super::partition::{plan, Extent, FileLayout, Partition};
use super::taxi::schema::{canonical_schema, is_taxi_schema};
use super::{files, DataError, FileFormat};

/// Whether TLC trip files are normalised into the canonical taxi schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaxiMode {
    /// Normalise when the first file looks like TLC trip records.
    #[default]
    Auto,
    /// Read every file as it is.
    Off,
}

/// Options for opening a data source.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Total partition count; default one per row group / 64 MiB of CSV, at least one per core.
    pub partitions: Option<usize>,
    /// TLC schema normalisation.
    pub taxi: TaxiMode,
    /// CSV parsing.
    pub csv: CsvOptions,
}

/// The logical columns to read from every partition.
#[derive(Debug, Clone)]
pub struct Projection {
    indices: Vec<usize>,
    schema: SchemaRef,
}

impl Projection {
    /// The schema of the batches read with this projection.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

#[derive(Debug)]
struct SourceFile {
    path: PathBuf,
    physical: SchemaRef,
    plan: ColumnPlan,
    parquet: Option<ArrowReaderMetadata>,
}

/// Tabular files read as one table, cut into partitions that can be processed in parallel.
#[derive(Debug)]
pub struct DataSource {
    files: Vec<SourceFile>,
    schema: SchemaRef,
    taxi: bool,
    partitions: Vec<Partition>,
    csv: CsvOptions,
}

impl DataSource {
    /// Opens files, directories or globs; reads footers/headers only, no data.
    pub fn open<P: AsRef<Path>>(paths: &[P], options: &ReadOptions) -> Result<Self, DataError> {
        if options.partitions == Some(0) {
            return Err(DataError::InvalidOption {
                option: "--partitions",
                message: "must be at least 1".into(),
            });
        }
        let paths = files::expand_paths(paths)?;
        let mut opened = Vec::with_capacity(paths.len());
        let mut layouts = Vec::with_capacity(paths.len());
        for path in paths {
            let (file, layout) = inspect(path, &options.csv)?;
            opened.push(file);
            layouts.push(layout);
        }
        let first = &opened[0].physical;
        let taxi = options.taxi == TaxiMode::Auto && is_taxi_schema(first);
        let schema = if taxi {
            with_extra_columns(canonical_schema(), first)
        } else {
            first.clone()
        };
        for file in &mut opened {
            file.plan = ColumnPlan::new(&file.path, &file.physical, &schema, taxi)?;
        }
        let cores = rayon::current_num_threads();
        let partitions = plan(&layouts, options.partitions, cores);
        Ok(DataSource {
            files: opened,
            schema,
            taxi,
            partitions,
            csv: options.csv.clone(),
        })
    }

    /// The logical schema (the canonical taxi schema for TLC files).
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Whether the files were recognised as TLC trip records and normalised.
    pub fn is_taxi(&self) -> bool {
        self.taxi
    }

    /// The partitions, in file order.
    pub fn partitions(&self) -> &[Partition] {
        &self.partitions
    }

    /// The input files, in order.
    pub fn paths(&self) -> Vec<&Path> {
        self.files.iter().map(|f| f.path.as_path()).collect()
    }

    /// Row count known from file metadata (Parquet only), without reading data.
    pub fn known_rows(&self) -> Option<u64> {
        self.partitions.iter().map(|p| p.rows).sum()
    }

    /// The logical column a user-supplied name refers to (exact, case-insensitive, TLC alias).
    pub fn resolve(&self, name: &str) -> Result<String, DataError> {
        resolve_logical(&self.schema, name)
            .map(|i| self.schema.field(i).name().clone())
            .ok_or_else(|| DataError::UnknownColumn {
                path: self.files[0].path.clone(),
                column: name.to_string(),
                available: names(&self.schema),
            })
    }

    /// Whether every file has column `name` itself (by name, any case or a TLC alias), not
    /// only as a canonical column read as null.
    pub fn has_column(&self, name: &str) -> bool {
        self.files
            .iter()
            .all(|f| super::columns::find_column(&f.physical, name).is_some())
    }

    /// The first of `names` some file lacks, as the error naming it and the file.
    pub fn require_columns(&self, names: &[String]) -> Result<(), DataError> {
        for name in names {
            if let Some(file) = self
                .files
                .iter()
                .find(|f| super::columns::find_column(&f.physical, name).is_none())
            {
                return Err(DataError::UnknownColumn {
                    path: file.path.clone(),
                    column: name.clone(),
                    available: names_of(&file.physical),
                });
            }
        }
        Ok(())
    }

    /// Refuses a column of `names` that some file holds as text: a CSV's error names the file,
    /// the line and the first value that is not a number; a Parquet file's, its type.
    pub fn require_numeric(&self, names: &[String]) -> Result<(), DataError> {
        for name in names {
            for file in &self.files {
                let Some(i) = super::columns::find_column(&file.physical, name) else {
                    continue;
                };
                let field = file.physical.field(i);
                if !matches!(
                    field.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) {
                    continue;
                }
                let found = match file.parquet {
                    None => csv::first_non_number(&file.path, i, &self.csv)?,
                    Some(_) => None,
                };
                let (line, message) = match found {
                    Some((line, value)) => (
                        Some(line),
                        format!("'{value}' is not a number, and the column is a numeric feature"),
                    ),
                    None => (
                        None,
                        format!(
                            "the column holds text ({}), and it is a numeric feature",
                            field.data_type()
                        ),
                    ),
                };
                return Err(DataError::Malformed {
                    path: file.path.clone(),
                    line,
                    column: Some(field.name().clone()),
                    message,
                });
            }
        }
        Ok(())
    }

    /// A projection onto the named columns (in that order); empty means every column.
    pub fn projection(&self, columns: &[&str]) -> Result<Projection, DataError> {
        let indices: Vec<usize> =
            if columns.is_empty() {
                (0..self.schema.fields().len()).collect()
            } else {
                let mut indices = Vec::with_capacity(columns.len());
                for name in columns {
                    let resolved = self.resolve(name)?;
                    indices.push(self.schema.index_of(&resolved).map_err(|e| {
                        DataError::Internal {
                            path: self.files[0].path.clone(),
                            message: e.to_string(),
                        }
                    })?);
                }
                indices
            };
        let schema = Arc::new(Schema::new(
            indices
                .iter()
                .map(|&i| self.schema.field(i).clone())
                .collect::<Vec<_>>(),
        ));
        Ok(Projection { indices, schema })
    }

    /// Reads one partition into a single batch with the projection's schema.
    pub fn read(
        &self,
        partition: &Partition,
        projection: &Projection,
    ) -> Result<RecordBatch, DataError> {
        let file = &self.files[partition.file];
        let columns = file.plan.physical_indices(&projection.indices);
        let batches = match (&partition.extent, &file.parquet) {
            (Extent::RowGroups(slices), Some(meta)) => {
                parquet_file::read_slices(&file.path, meta, slices, &columns)?
            }
            (&Extent::Bytes { start, end }, None) => csv::read_range(
                &file.path,
                &file.physical,
                &self.csv,
                (start, end),
                &columns,
            )?,
            _ => {
                return Err(DataError::Internal {
                    path: file.path.clone(),
                    message: "partition extent does not match the file format".into(),
                })
            }
        };
        let physical =
            Arc::new(
                file.physical
                    .project(&columns)
                    .map_err(|e| DataError::Internal {
                        path: file.path.clone(),
                        message: e.to_string(),
                    })?,
            );
        let batch = match batches.as_slice() {
            [one] => Ok(one.clone()),
            _ => arrow_select::concat::concat_batches(&physical, &batches),
        }
        .map_err(|e| DataError::Internal {
            path: file.path.clone(),
            message: e.to_string(),
        })?;
        file.plan.conform(
            &file.path,
            &batch,
            &file.physical,
            &self.schema,
            &projection.indices,
        )
    }

    /// Where row `row` (0-based) of `partition` is in its file, as a user finds it: `file, line
    /// N` for CSV (the header is line 1), `file, row N` (1-based) for Parquet. Only used to
    /// report bad values, so it may read the file.
    pub fn locate_row(&self, partition: &Partition, row: u64) -> Result<String, DataError> {
        let file = &self.files[partition.file];
        let path = file.path.display();
        match (&partition.extent, &file.parquet) {
            (Extent::RowGroups(slices), Some(meta)) => {
                let groups = meta.metadata().row_groups();
                let mut left = row;
                for slice in slices {
                    if left < slice.rows as u64 {
                        let before: i64 =
                            groups[..slice.row_group].iter().map(|g| g.num_rows()).sum();
                        return Ok(format!(
                            "{path}, row {}",
                            before as u64 + slice.offset as u64 + left + 1
                        ));
                    }
                    left -= slice.rows as u64;
                }
                Ok(format!(
                    "{path}, row {} of partition {}",
                    row + 1,
                    partition.index
                ))
            }
            (&Extent::Bytes { start, .. }, _) => {
                let first = csv::first_line_of_range(&file.path, start)?;
                Ok(format!("{path}, line {}", first + row))
            }
            _ => Ok(format!(
                "{path}, row {} of partition {}",
                row + 1,
                partition.index
            )),
        }
    }

    /// Reads every partition and applies `f`, in parallel (rayon); results in partition order.
    ///
    /// Each thread holds one partition at a time, so memory is bounded by a few partitions.
    pub fn map_partitions<T, E, F>(
        &self,
        projection: &Projection,
        f: F,
        on_done: &(dyn Fn() + Sync),
    ) -> Result<Vec<T>, E>
    where
        T: Send,
        E: From<DataError> + Send,
        F: Fn(&Partition, RecordBatch) -> Result<T, E> + Sync,
    {
        self.partitions
            .par_iter()
            .map(|p| {
                let batch = self.read(p, projection)?;
                let out = f(p, batch);
                on_done();
                out
            })
            .collect()
    }
}

/// The canonical taxi schema plus the first file's columns it does not cover (e.g. a
/// `prediction` column written by `distml predict`), so normalising never hides data.
fn names_of(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

fn with_extra_columns(canonical: SchemaRef, physical: &Schema) -> SchemaRef {
    let covered = |name: &str| {
        canonical.fields().iter().any(|f| {
            find_column(physical, f.name()).is_some_and(|i| physical.field(i).name() == name)
        })
    };
    let extra: Vec<_> = physical
        .fields()
        .iter()
        .filter(|f| !covered(f.name()))
        .cloned()
        .collect();
    if extra.is_empty() {
        return canonical;
    }
    let fields: Vec<_> = canonical.fields().iter().cloned().chain(extra).collect();
    Arc::new(Schema::new(fields))
}

/// A column name the schema holds twice (ignoring case, as columns are found).
fn repeated_column(schema: &Schema) -> Option<String> {
    let mut seen = std::collections::HashSet::new();
    schema
        .fields()
        .iter()
        .map(|f| f.name())
        .find(|name| !seen.insert(name.to_ascii_lowercase()))
        .cloned()
}

fn inspect(path: PathBuf, csv_options: &CsvOptions) -> Result<(SourceFile, FileLayout), DataError> {
    let format = files::detect_format(&path)?;
    let bytes = std::fs::metadata(&path)
        .map_err(|e| DataError::io(&path, e))?
        .len();
    let (physical, meta, row_groups) = match format {
        FileFormat::Parquet => {
            let meta = parquet_file::load_metadata(&path)?;
            let groups = parquet_file::row_group_sizes(&meta);
            (meta.schema().clone(), Some(meta), groups)
        }
        FileFormat::Csv => (csv::infer_schema(&path, csv_options)?, None, Vec::new()),
    };
    if let Some(name) = repeated_column(&physical) {
        return Err(DataError::Malformed {
            path,
            line: None,
            column: Some(name),
            message: "the column name appears more than once; every column needs its own name"
                .into(),
        });
    }
    let plan = ColumnPlan::new(&path, &physical, &physical, false)?;
    let layout = FileLayout {
        path: path.clone(),
        format,
        bytes,
        row_groups,
    };
    Ok((
        SourceFile {
            path,
            physical,
            plan,
            parquet: meta,
        },
        layout,
    ))
}
