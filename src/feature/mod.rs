//! Feature engineering: MLlib-style stages fitted on merged partition summaries, producing
//! [`FeatureBlock`]s for the learners.

mod block;

pub use block::{FeatureBlock, FeatureLayout, SparseColumn};
