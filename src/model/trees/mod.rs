//! Histogram tree learners: gradient-boosted trees (`--model gbt`), random forests
//! (`--model random-forest`) and single decision trees (`--model decision-tree`), MLlib's
//! estimators grown the LightGBM way.
//!
//! - Features become **bins** ([`binning`]) from sketches merged over partitions, so every
//!   trainer bins alike; a binned column costs a byte per row.
//! - A leaf's rows are summarised as a gradient/hessian **histogram** ([`histogram`]) per
//!   feature: mergeable by adding (partitions, workers, shards), and the larger child of a
//!   split is its parent minus the smaller one.
//! - The **split search** ([`split`]) scans a histogram: numeric thresholds with a learned
//!   direction for missing values, categorical features split by the order of their
//!   gradient/hessian ratios.
//! - The **fit** ([`fit`]) grows trees best-first against [`TreeSums`](crate::model::TreeSums),
//!   which the local trainer and the cluster both provide — so a distributed fit grows the very
//!   same trees.
//!
//! ```
//! use distml::model::trees::{Ensemble, TreeParams};
//!
//! let params = TreeParams::new(Ensemble::Boosting).max_iter(50).num_leaves(63).check()?;
//! assert_eq!(params.leaves(), 63);
//! assert!(TreeParams::new(Ensemble::Boosting).num_leaves(1).check().is_err());
//! # Ok::<(), distml::model::ModelError>(())
//! ```

pub mod binning;
mod fit;
mod flat;
pub mod histogram;
mod kinds;
mod leaves;
mod loss;
mod model;
mod params;
mod partition;
pub mod split;
mod tree;

pub use binning::{
    sources, BinColumn, BinnedBlock, Binning, DataSketch, FeatureBins, Source, ValueSketch,
};
pub use fit::{fit, Losses, RowSample, SplitRequest, Target, TreeStart};
pub use flat::FlatTrees;
pub use histogram::{Histogram, NodeSums};
pub use kinds::{DecisionTree, GradientBoostedTrees, RandomForest};
pub use leaves::{built_child, LeafHistograms};
pub use loss::sigmoid;
pub use model::{FeatureImportance, TreeModel};
pub use params::{Ensemble, FeatureSubset, Loss, TreeParams, TreeValidParams, MAX_BINS, MAX_DEPTH};
pub use partition::{routed_row_bytes, row_state_bytes, LossSums, TreePartition};
pub use split::{best_split, Missing, Rule, Split, SplitSearch};
pub use tree::{BinTree, Tree};
