//! How one partition's feature block is made from the source: read, keep one side of a row
//! split, transform with the fitted pipeline, validate for the learner. The same recipe
//! recomputes a block on every pass of a streamed fit.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::{RecordBatch, UInt64Array};
use arrow_schema::{DataType, Field, Schema};

use crate::data::{DataSource, Projection};
use crate::feature::{DropCounts, FeatureBlock, FeatureLayout, FittedPipeline};
use crate::model::{validate, LearnerParams, ModelError};
use crate::train::split::{parts_of, take_parts, RowSplit};

use super::StoreError;

/// Which side of a row split a recipe keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Side {
    /// How rows are divided.
    pub split: RowSplit,
    /// The validation part.
    pub valid_part: u8,
    /// Keep the validation part (else every other part).
    pub valid: bool,
}

/// One partition's block, with what making it read and dropped.
#[derive(Debug)]
pub struct Made {
    /// The block.
    pub block: FeatureBlock,
    /// Raw rows read.
    pub rows_read: u64,
    /// Rows the pipeline dropped, per reason.
    pub dropped: DropCounts,
}

/// Makes the feature block of any partition of a source.
#[derive(Debug)]
pub struct BlockRecipe<'a> {
    source: &'a DataSource,
    pipeline: &'a FittedPipeline,
    projection: Projection,
    side: Option<Side>,
    learner: Option<&'a LearnerParams>,
}

impl<'a> BlockRecipe<'a> {
    /// Every row of `source`, transformed by `pipeline`.
    pub fn new(source: &'a DataSource, pipeline: &'a FittedPipeline) -> Result<Self, StoreError> {
        let columns = pipeline.input_columns();
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let projection = source.projection(&names)?;
        Ok(BlockRecipe {
            source,
            pipeline,
            projection,
            side: None,
            learner: None,
        })
    }

    /// Only the rows on `side` of a split.
    pub fn side(mut self, side: Side) -> Self {
        self.side = Some(side);
        self
    }

    /// Blocks validated for `learner` (non-finite features, labels it refuses).
    pub fn validated_for(mut self, learner: &'a LearnerParams) -> Self {
        self.learner = Some(learner);
        self
    }

    /// Number of partitions (blocks).
    pub fn len(&self) -> usize {
        self.source.partitions().len()
    }

    /// Whether the source has no partition.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The layout of every block.
    pub fn layout(&self) -> &FeatureLayout {
        self.pipeline.layout()
    }

    /// The pipeline the blocks are made with.
    pub fn pipeline(&self) -> &FittedPipeline {
        self.pipeline
    }

    /// The source the blocks come from.
    pub fn source(&self) -> &DataSource {
        self.source
    }

    /// Makes block `index`.
    pub fn make(&self, index: usize) -> Result<Made, StoreError> {
        let partition = &self.source.partitions()[index];
        let mut batch = self.source.read(partition, &self.projection)?;
        let rows_read = batch.num_rows() as u64;
        if let Some(side) = self.side {
            let parts = parts_of(side.split, None, partition.index, &batch);
            let keep_valid = side.valid;
            batch = take_parts(&batch, &parts, |p| (p == side.valid_part) == keep_valid)?;
        }
        let (block, dropped) = self.pipeline.transform_counted(&batch)?;
        if let Some(learner) = self.learner {
            validate(&block, index, self.layout(), learner)?;
        }
        Ok(Made {
            block,
            rows_read,
            dropped,
        })
    }

    /// The file and row of the block row a learner refused, or `None` when the error names
    /// no row. Re-reads the partition with its row numbers carried through the pipeline.
    pub fn locate(&self, index: usize, cause: &ModelError) -> Option<String> {
        let row = match cause {
            ModelError::InvalidLabel { row, .. }
            | ModelError::NonFiniteFeature { row, .. }
            | ModelError::InvalidWeight { row, .. } => *row,
            _ => return None,
        };
        let partition = &self.source.partitions()[index];
        let batch = self.source.read(partition, &self.projection).ok()?;
        let mut numbered = with_row_numbers(&batch)?;
        if let Some(side) = self.side {
            let parts = parts_of(side.split, None, partition.index, &batch);
            numbered =
                take_parts(&numbered, &parts, |p| (p == side.valid_part) == side.valid).ok()?;
        }
        let (_, kept) = self
            .pipeline
            .transform_keeping(&numbered, &[ROW_NUMBER.to_string()])
            .ok()?;
        let numbers = kept.first()?.as_primitive_opt::<UInt64Type>()?;
        let raw = numbers.values().get(row).copied()?;
        self.source.locate_row(partition, raw).ok()
    }
}

/// The column that carries each raw row's position through the pipeline when locating a row.
const ROW_NUMBER: &str = "__distml_row_number";

fn with_row_numbers(batch: &RecordBatch) -> Option<RecordBatch> {
    let mut fields: Vec<_> = batch.schema().fields().iter().cloned().collect();
    fields.push(Arc::new(Field::new(ROW_NUMBER, DataType::UInt64, false)));
    let mut columns = batch.columns().to_vec();
    columns.push(Arc::new(UInt64Array::from_iter_values(
        0..batch.num_rows() as u64,
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).ok()
}
