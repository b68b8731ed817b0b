//! Feature engineering: MLlib-style stages fitted on merged partition summaries, producing
//! [`FeatureBlock`]s for the learners.
//!
//! ```no_run
//! use distml::data::{DataSource, ReadOptions};
//! use distml::feature::presets;
//!
//! let source = DataSource::open(&["trips.parquet"], &ReadOptions::default())?;
//! let fitted = presets::taxi().fit(&source, &|| {})?;
//! let blocks = fitted.transform_source(&source, &|| {})?;
//! println!("{} rows, {} features", blocks.rows(), fitted.layout().width());
//! # Ok::<(), distml::feature::FeatureError>(())
//! ```

mod arithmetic;
mod assembler;
mod block;
mod columns;
mod derived;
mod error;
mod filter;
mod frame;
mod one_hot;
mod persist;
mod persist_float;
mod pipeline;
pub mod presets;
mod stage;
mod string_indexer;
mod traits;

pub use arithmetic::{Arithmetic, Op, Operand};
pub use assembler::VectorAssembler;
pub use block::{FeatureBlock, FeatureLayout, SparseColumn};
pub use derived::{DatePart, DiffUnit, Part, TimestampDiff};
pub use error::FeatureError;
pub use filter::{NullFilter, RangeFilter};
pub use frame::{
    ColumnData, DropCounts, FeatureNames, Frame, FrameColumn, IndexColumn, SparseFeature,
    SparsePart,
};
pub use one_hot::{EncodedColumn, OneHotEncoder, OneHotEncoderModel, OneHotSummary};
pub use persist::{FORMAT_VERSION, PIPELINE_FILE};
pub use pipeline::{FitStats, FittedPipeline, PipelineSpec, Transformed};
pub use stage::{FittedStage, StageParams};
pub use string_indexer::{
    IndexedColumn, IndexerSummary, StringIndexer, StringIndexerModel, StringOrderType, ValueCounts,
};
pub use traits::{Estimator, HandleInvalid, Summary, Transformer};
#[cfg(test)]
mod pipeline_tests;
