//! Mapping a file's physical columns onto the job's logical schema: names matched exactly,
//! then case-insensitively, then through aliases; types cast to the logical type.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{new_null_array, ArrayRef, RecordBatch};
use arrow_schema::{Schema, SchemaRef};

use super::taxi::schema::aliases;
use super::DataError;

/// For each logical column, the index of the physical column that feeds it (None: all null).
#[derive(Debug, Clone)]
pub(crate) struct ColumnPlan {
    sources: Vec<Option<usize>>,
}

impl ColumnPlan {
    /// Matches `logical` against `physical`; a missing column is null when `allow_missing`.
    pub(crate) fn new(
        path: &Path,
        physical: &Schema,
        logical: &Schema,
        allow_missing: bool,
    ) -> Result<Self, DataError> {
        let mut sources = Vec::with_capacity(logical.fields().len());
        for field in logical.fields() {
            let found = find_column(physical, field.name());
            if found.is_none() && !allow_missing {
                return Err(DataError::SchemaMismatch {
                    path: path.to_path_buf(),
                    message: format!(
                        "column '{}' of the first file is missing here (has: {})",
                        field.name(),
                        names(physical).join(", ")
                    ),
                });
            }
            sources.push(found);
        }
        Ok(ColumnPlan { sources })
    }

    /// Physical column indices needed to produce the logical columns `wanted`, sorted.
    pub(crate) fn physical_indices(&self, wanted: &[usize]) -> Vec<usize> {
        let mut idx: Vec<usize> = wanted.iter().filter_map(|&i| self.sources[i]).collect();
        idx.sort_unstable();
        idx.dedup();
        idx
    }

    /// Builds the logical batch (columns `wanted` of `logical`) from a batch of physical columns.
    pub(crate) fn conform(
        &self,
        path: &Path,
        physical_batch: &RecordBatch,
        physical_schema: &Schema,
        logical: &SchemaRef,
        wanted: &[usize],
    ) -> Result<RecordBatch, DataError> {
        let rows = physical_batch.num_rows();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(wanted.len());
        for &i in wanted {
            let target = logical.field(i);
            let column = match self.sources[i] {
                None => new_null_array(target.data_type(), rows),
                Some(p) => {
                    let name = physical_schema.field(p).name();
                    let array =
                        physical_batch
                            .column_by_name(name)
                            .ok_or_else(|| DataError::Internal {
                                path: path.to_path_buf(),
                                message: format!("projected column '{name}' was not read"),
                            })?;
                    cast_column(path, target.name(), array, target.data_type())?
                }
            };
            columns.push(column);
        }
        let schema = Arc::new(logical.project(wanted).map_err(|e| internal(path, e))?);
        RecordBatch::try_new(schema, columns).map_err(|e| internal(path, e))
    }
}

fn cast_column(
    path: &Path,
    name: &str,
    array: &ArrayRef,
    to: &arrow_schema::DataType,
) -> Result<ArrayRef, DataError> {
    if array.data_type() == to {
        return Ok(array.clone());
    }
    let options = arrow_cast::CastOptions {
        safe: false,
        ..Default::default()
    };
    arrow_cast::cast_with_options(array, to, &options).map_err(|e| DataError::Malformed {
        path: path.to_path_buf(),
        line: None,
        column: Some(name.to_string()),
        message: format!("cannot read {} as {to}: {e}", array.data_type()),
    })
}

/// Finds a column by exact name, then case-insensitively, then by a known alias.
pub(crate) fn find_column(schema: &Schema, name: &str) -> Option<usize> {
    let fields = schema.fields();
    if let Some(i) = fields.iter().position(|f| f.name() == name) {
        return Some(i);
    }
    if let Some(i) = fields
        .iter()
        .position(|f| f.name().eq_ignore_ascii_case(name))
    {
        return Some(i);
    }
    aliases(name).iter().find_map(|alias| {
        fields
            .iter()
            .position(|f| f.name().eq_ignore_ascii_case(alias))
    })
}

/// Finds the logical column a user-supplied name refers to (exact, case-insensitive or an alias).
pub(crate) fn resolve_logical(logical: &Schema, name: &str) -> Option<usize> {
    find_column(logical, name).or_else(|| {
        logical.fields().iter().position(|f| {
            aliases(f.name())
                .iter()
                .any(|a| a.eq_ignore_ascii_case(name))
        })
    })
}

/// The column names of a schema.
pub(crate) fn names(schema: &Schema) -> Vec<String> {
    schema.fields().iter().map(|f| f.name().clone()).collect()
}

fn internal(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Internal {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, Int32Array};
    use arrow_schema::{DataType, Field};

    #[test]
    fn columns_match_case_insensitively_and_widen() {
        let physical = Schema::new(vec![
            Field::new("Airport_fee", DataType::Float64, true),
            Field::new("PULocationID", DataType::Int32, true),
        ]);
        let logical = Arc::new(Schema::new(vec![
            Field::new("PULocationID", DataType::Int64, true),
            Field::new("airport_fee", DataType::Float64, true),
            Field::new("ehail_fee", DataType::Float64, true),
        ]));
        let plan = ColumnPlan::new(Path::new("f"), &physical, &logical, true).unwrap();
        let batch = RecordBatch::try_new(
            Arc::new(physical.clone()),
            vec![
                Arc::new(Float64Array::from(vec![1.25, 0.0])),
                Arc::new(Int32Array::from(vec![7, 265])),
            ],
        )
        .unwrap();
        let out = plan
            .conform(Path::new("f"), &batch, &physical, &logical, &[0, 1, 2])
            .unwrap();
        assert_eq!(out.column(0).data_type(), &DataType::Int64);
        assert_eq!(out.column(2).null_count(), 2);
        assert_eq!(plan.physical_indices(&[0, 2]), vec![1]);
    }

    #[test]
    fn a_missing_column_is_an_error_when_not_allowed() {
        let physical = Schema::new(vec![Field::new("a", DataType::Int64, true)]);
        let logical = Schema::new(vec![Field::new("b", DataType::Int64, true)]);
        let err = ColumnPlan::new(Path::new("x.csv"), &physical, &logical, false).unwrap_err();
        assert!(err.to_string().contains("x.csv") && err.to_string().contains("'b'"));
    }
}
