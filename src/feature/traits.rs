//! The stage traits: an estimator fits by summarising partitions, merging the summaries and
//! finishing them into a model; a transformer maps one partition.

use serde::{Deserialize, Serialize};

use super::frame::Frame;
use super::FeatureError;

/// Maps one partition to another (a pure stage or a fitted model).
pub trait Transformer {
    /// Applies the stage to one partition.
    fn transform(&self, frame: Frame) -> Result<Frame, FeatureError>;
}

/// What an estimator learns from one partition; `Default` is the summary of no rows.
/// Serde, so worker processes can send their partitions' summaries to a coordinator.
pub trait Summary:
    Default + Clone + Send + Serialize + serde::de::DeserializeOwned + 'static
{
    /// Folds `other` in; must be associative and commutative so any partitioning and any
    /// merge order (rayon, worker processes, tree aggregation) gives the same result.
    fn merge(&mut self, other: Self);
}

/// A stage fitted on data: map (summarise) → combine (merge) → finish.
pub trait Estimator {
    /// Per-partition summary.
    type Summary: Summary;
    /// The fitted transformer.
    type Model: Transformer;

    /// Summarises one partition.
    fn summarize(&self, frame: &Frame) -> Result<Self::Summary, FeatureError>;

    /// Turns the merged summary into a model.
    fn finish(&self, summary: Self::Summary) -> Result<Self::Model, FeatureError>;

    /// Fits from column metadata alone when that suffices (e.g. one-hot widths known from an
    /// indexer), so the pipeline saves a pass; `schema` is an empty frame.
    fn fit_without_data(&self, _schema: &Frame) -> Option<Result<Self::Model, FeatureError>> {
        None
    }

    /// Fits on in-memory partitions (tests, small data).
    fn fit_frames(&self, frames: &[Frame]) -> Result<Self::Model, FeatureError> {
        let mut total = Self::Summary::default();
        for frame in frames {
            total.merge(self.summarize(frame)?);
        }
        self.finish(total)
    }
}

/// MLlib's `handleInvalid`: what to do with an unseen category, a null or an out-of-range value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HandleInvalid {
    /// Fail, naming the column, row and value.
    #[default]
    Error,
    /// Drop the row (counted).
    Skip,
    /// Keep the row with a dedicated value (extra index, NaN or an all-zero one-hot).
    Keep,
}

impl HandleInvalid {
    /// The MLlib spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            HandleInvalid::Error => "error",
            HandleInvalid::Skip => "skip",
            HandleInvalid::Keep => "keep",
        }
    }
}
