//! Reading Parquet files: metadata once per file, then any partition's row-group slices.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::ProjectionMask;

use super::partition::RowGroupSlice;
use super::DataError;

/// Most rows decoded per Arrow batch; a partition up to this size decodes into one batch,
/// which spares concatenating (copying) its batches afterwards.
const MAX_BATCH_ROWS: usize = 1 << 20;

/// Reads a Parquet footer (schema, row groups).
pub(crate) fn load_metadata(path: &Path) -> Result<ArrowReaderMetadata, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
        .map_err(|e| DataError::malformed(path, format!("not a readable Parquet file: {e}")))
}

/// Row counts of every row group.
pub(crate) fn row_group_sizes(meta: &ArrowReaderMetadata) -> Vec<usize> {
    meta.metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows() as usize)
        .collect()
}

/// Reads the given row-group slices, projected onto the physical root columns `columns`.
pub(crate) fn read_slices(
    path: &Path,
    meta: &ArrowReaderMetadata,
    slices: &[RowGroupSlice],
    columns: &[usize],
) -> Result<Vec<RecordBatch>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mask = ProjectionMask::roots(meta.parquet_schema(), columns.iter().copied());
    let sizes = row_group_sizes(meta);
    let mut selectors = Vec::new();
    for s in slices {
        let total = sizes[s.row_group];
        selectors.push(RowSelector::skip(s.offset));
        selectors.push(RowSelector::select(s.rows));
        selectors.push(RowSelector::skip(total - s.offset - s.rows));
    }
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, meta.clone())
        .with_projection(mask)
        .with_row_groups(slices.iter().map(|s| s.row_group).collect())
        .with_row_selection(RowSelection::from(selectors))
        .with_batch_size(
            slices
                .iter()
                .map(|s| s.rows)
                .sum::<usize>()
                .clamp(1, MAX_BATCH_ROWS),
        )
        .build()
        .map_err(|e| DataError::malformed(path, e.to_string()))?;
    reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| DataError::malformed(path, format!("corrupt data: {e}")))
}
