//! The stage registry: every stage's parameters and fitted form as serde enums (so a pipeline
//! is one JSON document), and the type-erased glue the pipeline uses to fit estimators together.

use std::any::Any;

use serde::{Deserialize, Serialize};

use super::arithmetic::Arithmetic;
use super::bucketizer::Bucketizer;
use super::derived::{DatePart, TimestampDiff};
use super::filter::{NullFilter, RangeFilter};
use super::frame::Frame;
use super::hasher::FeatureHasher;
use super::imputer::{Imputer, ImputerModel};
use super::interaction::Interaction;
use super::max_abs_scaler::{MaxAbsScaler, MaxAbsScalerModel};
use super::min_max_scaler::{MinMaxScaler, MinMaxScalerModel};
use super::one_hot::{OneHotEncoder, OneHotEncoderModel};
use super::quantile_discretizer::{QuantileDiscretizer, QuantileDiscretizerModel};
use super::standard_scaler::{StandardScaler, StandardScalerModel};
use super::string_indexer::{StringIndexer, StringIndexerModel};
use super::traits::{Estimator, Summary, Transformer};
use super::FeatureError;

/// Declares the stage enums: pure transformers appear in both, estimators map to their model.
macro_rules! stages {
    (pure { $($p:ident),* } estimators { $($e:ident => $m:ident),* }) => {
        /// The parameters of one pipeline stage.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "stage")]
        #[non_exhaustive]
        pub enum StageParams {
            $(#[doc = concat!("A `", stringify!($p), "`.")] $p($p),)*
            $(#[doc = concat!("A `", stringify!($e), "`.")] $e($e),)*
        }

        /// A fitted pipeline stage.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "stage")]
        #[non_exhaustive]
        pub enum FittedStage {
            $(#[doc = concat!("A `", stringify!($p), "`.")] $p($p),)*
            $(#[doc = concat!("A fitted `", stringify!($e), "`.")] $m($m),)*
        }

        $(impl From<$p> for StageParams { fn from(s: $p) -> Self { StageParams::$p(s) } })*
        $(impl From<$e> for StageParams { fn from(s: $e) -> Self { StageParams::$e(s) } })*
        $(impl From<$m> for FittedStage { fn from(s: $m) -> Self { FittedStage::$m(s) } })*

        impl StageParams {
            /// The stage's MLlib name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(StageParams::$p(_) => stringify!($p),)*
                    $(StageParams::$e(_) => stringify!($e),)*
                }
            }

            /// Validates the parameters.
            pub fn check(&self) -> Result<(), FeatureError> {
                match self {
                    $(StageParams::$p(s) => s.check(),)*
                    $(StageParams::$e(s) => s.check(),)*
                }
            }

            /// The stage itself when it needs no fitting.
            pub(crate) fn as_fitted(&self) -> Option<FittedStage> {
                match self {
                    $(StageParams::$p(s) => Some(FittedStage::$p(s.clone())),)*
                    _ => None,
                }
            }

            /// The stage as an estimator when it needs fitting.
            pub(crate) fn estimator(&self) -> Option<&dyn ErasedEstimator> {
                match self {
                    $(StageParams::$e(s) => Some(s),)*
                    _ => None,
                }
            }
        }

        impl FittedStage {
            /// Columns the stage reads and writes.
            pub(crate) fn columns(&self) -> (Vec<String>, Vec<String>) {
                match self {
                    $(FittedStage::$p(s) => {
                        let params = StageParams::$p(s.clone());
                        (params.inputs(), params.outputs())
                    })*
                    $(FittedStage::$m(s) => s.columns_read_written(),)*
                }
            }
        }

        impl Transformer for FittedStage {
            fn transform(&self, frame: Frame) -> Result<Frame, FeatureError> {
                match self {
                    $(FittedStage::$p(s) => s.transform(frame),)*
                    $(FittedStage::$m(s) => s.transform(frame),)*
                }
            }
        }
    };
}

stages! {
    pure {
        TimestampDiff, DatePart, Arithmetic, RangeFilter, NullFilter, Bucketizer, FeatureHasher,
        Interaction
    }
    estimators {
        StringIndexer => StringIndexerModel, OneHotEncoder => OneHotEncoderModel,
        StandardScaler => StandardScalerModel, MinMaxScaler => MinMaxScalerModel,
        MaxAbsScaler => MaxAbsScalerModel, Imputer => ImputerModel,
        QuantileDiscretizer => QuantileDiscretizerModel
    }
}

impl StageParams {
    /// Columns the stage reads.
    pub fn inputs(&self) -> Vec<String> {
        match self {
            StageParams::TimestampDiff(s) => vec![s.start.clone(), s.end.clone()],
            StageParams::DatePart(s) => vec![s.input.clone()],
            StageParams::Arithmetic(s) => s.inputs(),
            StageParams::RangeFilter(s) => vec![s.column.clone()],
            StageParams::NullFilter(s) => s.columns.clone(),
            StageParams::StringIndexer(s) => s.input_cols.clone(),
            StageParams::OneHotEncoder(s) => s.input_cols.clone(),
            StageParams::Bucketizer(s) => s.input_cols.clone(),
            StageParams::FeatureHasher(s) => s.input_cols.clone(),
            StageParams::Interaction(s) => s.input_cols.clone(),
            StageParams::StandardScaler(s) => s.input_cols.clone(),
            StageParams::MinMaxScaler(s) => s.input_cols.clone(),
            StageParams::MaxAbsScaler(s) => s.input_cols.clone(),
            StageParams::Imputer(s) => s.input_cols.clone(),
            StageParams::QuantileDiscretizer(s) => s.input_cols.clone(),
        }
    }

    /// Columns the stage writes.
    pub fn outputs(&self) -> Vec<String> {
        match self {
            StageParams::TimestampDiff(s) => vec![s.output.clone()],
            StageParams::DatePart(s) => vec![s.output.clone()],
            StageParams::Arithmetic(s) => vec![s.output.clone()],
            StageParams::RangeFilter(_) | StageParams::NullFilter(_) => vec![],
            StageParams::StringIndexer(s) => s.output_cols.clone(),
            StageParams::OneHotEncoder(s) => s.output_cols.clone(),
            StageParams::Bucketizer(s) => s.output_cols.clone(),
            StageParams::FeatureHasher(s) => vec![s.output_col.clone()],
            StageParams::Interaction(s) => vec![s.output_col.clone()],
            StageParams::StandardScaler(s) => s.output_cols.clone(),
            StageParams::MinMaxScaler(s) => s.output_cols.clone(),
            StageParams::MaxAbsScaler(s) => s.output_cols.clone(),
            StageParams::Imputer(s) => s.output_cols.clone(),
            StageParams::QuantileDiscretizer(s) => s.output_cols.clone(),
        }
    }
}

/// A partition summary of some estimator, merged without knowing its type.
pub(crate) trait ErasedSummary: Send {
    /// Folds in a summary of the same estimator.
    fn merge_boxed(&mut self, other: Box<dyn ErasedSummary>) -> Result<(), FeatureError>;
    /// For downcasting in `finish`.
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
    /// The summary as JSON, to cross a process boundary.
    fn to_json(&self) -> Result<serde_json::Value, FeatureError>;
    /// A copy (one part's summary merged into several folds' fits).
    fn clone_boxed(&self) -> Box<dyn ErasedSummary>;
}

impl<S: Summary> ErasedSummary for S {
    fn merge_boxed(&mut self, other: Box<dyn ErasedSummary>) -> Result<(), FeatureError> {
        let other = other.into_any().downcast::<S>().map_err(|_| {
            FeatureError::internal("Pipeline", "merging summaries of different stages")
        })?;
        self.merge(*other);
        Ok(())
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }

    fn to_json(&self) -> Result<serde_json::Value, FeatureError> {
        serde_json::to_value(self).map_err(|e| FeatureError::internal("Pipeline", e))
    }

    fn clone_boxed(&self) -> Box<dyn ErasedSummary> {
        Box::new(self.clone())
    }
}

/// An estimator whose summary and model types are hidden behind the enums.
pub(crate) trait ErasedEstimator: Sync {
    fn summarize_boxed(&self, frame: &Frame) -> Result<Box<dyn ErasedSummary>, FeatureError>;
    fn finish_boxed(&self, summary: Box<dyn ErasedSummary>) -> Result<FittedStage, FeatureError>;
    fn fit_without_data_boxed(&self, schema: &Frame) -> Option<Result<FittedStage, FeatureError>>;
    /// Reads back a summary written by [`ErasedSummary::to_json`].
    fn summary_from_json(
        &self,
        value: serde_json::Value,
    ) -> Result<Box<dyn ErasedSummary>, FeatureError>;
}

impl<E> ErasedEstimator for E
where
    E: Estimator + Sync,
    E::Model: Into<FittedStage>,
{
    fn summarize_boxed(&self, frame: &Frame) -> Result<Box<dyn ErasedSummary>, FeatureError> {
        Ok(Box::new(self.summarize(frame)?))
    }

    fn finish_boxed(&self, summary: Box<dyn ErasedSummary>) -> Result<FittedStage, FeatureError> {
        let summary = summary
            .into_any()
            .downcast::<E::Summary>()
            .map_err(|_| FeatureError::internal("Pipeline", "summary of another stage"))?;
        Ok(self.finish(*summary)?.into())
    }

    fn fit_without_data_boxed(&self, schema: &Frame) -> Option<Result<FittedStage, FeatureError>> {
        self.fit_without_data(schema).map(|r| r.map(Into::into))
    }

    fn summary_from_json(
        &self,
        value: serde_json::Value,
    ) -> Result<Box<dyn ErasedSummary>, FeatureError> {
        let summary: E::Summary = serde_json::from_value(value).map_err(|e| {
            FeatureError::internal("Pipeline", format!("undecodable partition summary: {e}"))
        })?;
        Ok(Box::new(summary))
    }
}
