//! The learners' entry points, linfa style (`GradientBoostedTrees::params().max_iter(50)`),
//! and the `--model` kinds of the tree family.

use super::params::{Ensemble, TreeParams};
use crate::model::{KindSpec, LearnerParams};

/// Gradient-boosted trees (MLlib `GBTRegressor`/`GBTClassifier`; LightGBM's defaults).
#[derive(Debug, Clone, Copy, Default)]
pub struct GradientBoostedTrees;

/// A random forest (MLlib `RandomForestRegressor`/`RandomForestClassifier`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomForest;

/// One decision tree (MLlib `DecisionTreeRegressor`/`DecisionTreeClassifier`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DecisionTree;

impl GradientBoostedTrees {
    /// Default parameters: 100 rounds of 31 leaves, learning rate 0.1, 255 bins.
    pub fn params() -> TreeParams {
        TreeParams::new(Ensemble::Boosting)
    }
}

impl RandomForest {
    /// Default parameters: 20 bootstrapped trees of depth 12, a third of the features per node.
    pub fn params() -> TreeParams {
        TreeParams::new(Ensemble::Forest)
    }
}

impl DecisionTree {
    /// Default parameters: one tree of depth 12 on every row and feature.
    pub fn params() -> TreeParams {
        TreeParams::new(Ensemble::Single)
    }
}

/// Defaults that always pass `check`.
fn checked(params: TreeParams) -> LearnerParams {
    LearnerParams::Trees(params.check().expect("the kinds' defaults are valid"))
}

/// The `--model` names of the tree family.
pub(crate) const KINDS: &[KindSpec] = &[
    KindSpec {
        name: "gbt",
        aliases: &["gbdt", "gradient-boosted-trees", "lightgbm"],
        estimator: "GBTRegressor",
        classifier: Some("GBTClassifier"),
        about: "gradient-boosted trees (100 rounds, 31 leaves, rate 0.1 unless set)",
        defaults: || checked(GradientBoostedTrees::params()),
    },
    KindSpec {
        name: "random-forest",
        aliases: &["rf", "random_forest", "randomforest"],
        estimator: "RandomForestRegressor",
        classifier: Some("RandomForestClassifier"),
        about: "a random forest (20 bootstrapped trees of depth 12 unless set)",
        defaults: || checked(RandomForest::params()),
    },
    KindSpec {
        name: "decision-tree",
        aliases: &["tree", "dt", "decision_tree"],
        estimator: "DecisionTreeRegressor",
        classifier: Some("DecisionTreeClassifier"),
        about: "one decision tree (depth 12 unless set)",
        defaults: || checked(DecisionTree::params()),
    },
];
