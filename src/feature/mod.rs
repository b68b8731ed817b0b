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
mod bucketizer;
mod columns;
mod derived;
mod error;
mod filter;
mod frame;
mod hasher;
mod imputer;
mod interaction;
mod max_abs_scaler;
mod min_max_scaler;
mod one_hot;
mod parted;
mod persist;
mod pipeline;
pub mod presets;
mod quantile_discretizer;
mod relabel;
mod sketch;
mod stage;
mod standard_scaler;
mod string_indexer;
mod traits;
mod unlabelled;

pub use arithmetic::{Arithmetic, Op, Operand};
pub use assembler::VectorAssembler;
pub use block::{FeatureBlock, FeatureLayout, SparseColumn};
pub use bucketizer::{Bucketizer, Splits};
pub use derived::{DatePart, DiffUnit, Part, TimestampDiff};
pub use error::FeatureError;
pub use filter::{NullFilter, RangeFilter};
pub use frame::{
    ColumnData, DropCounts, FeatureNames, Frame, FrameColumn, IndexColumn, SparseFeature,
    SparsePart,
};
pub use hasher::{murmur3_32, FeatureHasher};
pub use imputer::{ColumnStats, Imputer, ImputerModel, ImputerSummary, Strategy};
pub use interaction::Interaction;
pub use max_abs_scaler::{MaxAbsScaler, MaxAbsScalerModel};
pub use min_max_scaler::{Extremes, ExtremesSummary, MinMaxScaler, MinMaxScalerModel};
pub use one_hot::{EncodedColumn, OneHotEncoder, OneHotEncoderModel, OneHotSummary};
pub use parted::{PartedFit, PartedRows};
pub use persist::{FORMAT_VERSION, PIPELINE_FILE, STAGES_FILE};
pub use pipeline::{FitPass, FitStats, FittedPipeline, PassSummaries, PipelineSpec, Transformed};
pub use quantile_discretizer::{QuantileDiscretizer, QuantileDiscretizerModel, SketchSummary};
pub use sketch::QuantileSketch;
pub use stage::{FittedStage, StageParams};
pub use standard_scaler::{MomentsSummary, StandardScaler, StandardScalerModel};
pub use string_indexer::{
    IndexedColumn, IndexerSummary, StringIndexer, StringIndexerModel, StringOrderType, ValueCounts,
};
pub use traits::{Estimator, HandleInvalid, Summary, Transformer};
#[cfg(test)]
mod pipeline_tests;
