//! Hyperparameters of the histogram tree learners — gradient-boosted trees, random forests and
//! single decision trees — under MLlib's names where MLlib has them, plus LightGBM's leaf-wise
//! knobs. Defaults give a good model without tuning: LightGBM's for boosting (100 trees of 31
//! leaves, learning rate 0.1, 255 bins, 20 rows per leaf), and a forest of 20 trees (MLlib's
//! count) grown to depth 12 with 1 row per leaf at least, bootstrapped, a third of the features
//! per node (MLlib's `auto` for regression).

use std::fmt;
use std::str::FromStr;

use linfa::ParamGuard;
use serde::{Deserialize, Serialize};

use crate::model::params::flag_of;
use crate::model::{ModelError, ParamKind, ParamType, Task};

/// Largest `maxBins` (bins are stored as `u16` above 255).
pub const MAX_BINS: usize = 65_535;

/// Largest `maxDepth` (MLlib's limit).
pub const MAX_DEPTH: usize = 30;

/// What the trees minimise (MLlib's `lossType`; `logistic` makes them classifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Squared error (regression; a forest's variance reduction).
    #[default]
    Squared,
    /// Absolute error (regression; leaves re-fitted to the median residual).
    Absolute,
    /// Huber loss with threshold `huber-alpha` (regression).
    Huber,
    /// Log-loss on labels 0/1 (binary classification; a forest's Gini-equivalent criterion).
    Logistic,
}

impl Loss {
    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Loss::Squared => "squared",
            Loss::Absolute => "absolute",
            Loss::Huber => "huber",
            Loss::Logistic => "logistic",
        }
    }
}

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Loss {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "squared" | "l2" | "variance" => Ok(Loss::Squared),
            "absolute" | "l1" => Ok(Loss::Absolute),
            "huber" => Ok(Loss::Huber),
            "logistic" | "binary" | "gini" => Ok(Loss::Logistic),
            _ => Err("expected squared, absolute, huber or logistic".into()),
        }
    }
}

impl ParamType for Loss {
    const KIND: ParamKind = ParamKind::Choice;
    fn from_text(text: &str) -> Result<Self, String> {
        text.parse()
    }
}

/// How many features a node may split on (MLlib's `featureSubsetStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureSubset {
    /// A forest of several trees: √n for classification, n/3 for regression; else all.
    #[default]
    Auto,
    /// Every feature.
    All,
    /// ⌈n/3⌉.
    OneThird,
    /// ⌈√n⌉.
    Sqrt,
    /// max(1, ⌈log₂ n⌉).
    Log2,
    /// min(k, n).
    Count(usize),
    /// ⌈f·n⌉ for f in (0, 1].
    Fraction(f64),
}

impl FeatureSubset {
    /// The features each node may use out of `n`, for a forest of `trees` trees doing `task`.
    pub fn count(self, n: usize, trees: usize, task: Task) -> usize {
        let ceil = |x: f64| (x.ceil() as usize).clamp(1, n.max(1));
        match self {
            FeatureSubset::Auto if trees <= 1 => n,
            FeatureSubset::Auto => match task {
                Task::Classification => ceil((n as f64).sqrt()),
                Task::Regression => ceil(n as f64 / 3.0),
            },
            FeatureSubset::All => n,
            FeatureSubset::OneThird => ceil(n as f64 / 3.0),
            FeatureSubset::Sqrt => ceil((n as f64).sqrt()),
            FeatureSubset::Log2 => ceil((n as f64).log2()),
            FeatureSubset::Count(k) => k.clamp(1, n.max(1)),
            FeatureSubset::Fraction(f) => ceil(f * n as f64),
        }
    }
}

impl fmt::Display for FeatureSubset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FeatureSubset::Auto => f.write_str("auto"),
            FeatureSubset::All => f.write_str("all"),
            FeatureSubset::OneThird => f.write_str("onethird"),
            FeatureSubset::Sqrt => f.write_str("sqrt"),
            FeatureSubset::Log2 => f.write_str("log2"),
            FeatureSubset::Count(k) => write!(f, "{k}"),
            FeatureSubset::Fraction(x) => write!(f, "{x:?}"),
        }
    }
}

impl ParamType for FeatureSubset {
    const KIND: ParamKind = ParamKind::Choice;
    fn from_text(text: &str) -> Result<Self, String> {
        let t = text.trim().to_ascii_lowercase();
        let why = || {
            "expected auto, all, onethird, sqrt, log2, a count >= 1 or a fraction in (0, 1]"
                .to_string()
        };
        Ok(match t.as_str() {
            "auto" => FeatureSubset::Auto,
            "all" => FeatureSubset::All,
            "onethird" => FeatureSubset::OneThird,
            "sqrt" => FeatureSubset::Sqrt,
            "log2" => FeatureSubset::Log2,
            // MLlib: "1" is one feature, "1.0" all of them.
            _ if !t.contains('.') => match t.parse::<usize>() {
                Ok(k) if k >= 1 => FeatureSubset::Count(k),
                _ => return Err(why()),
            },
            _ => match t.parse::<f64>() {
                Ok(f) if f > 0.0 && f <= 1.0 => FeatureSubset::Fraction(f),
                _ => return Err(why()),
            },
        })
    }
}

/// Which ensemble the parameters build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ensemble {
    /// Gradient boosting: each tree fits the loss's gradient at the running score.
    Boosting,
    /// A random forest: independent trees on bootstrap samples, averaged.
    Forest,
    /// One tree on every row.
    Single,
}

crate::learner_params! {
    /// Checked hyperparameters of a tree learner.
    valid TreeValidParams;
    /// Unchecked tree hyperparameters with consuming setters; `check()` validates them.
    params TreeParams;
    fixed {
        /// Boosting, a forest or a single tree (set by `--model`).
        ensemble: Ensemble;
    }
    flags {
        /// Loss: squared, absolute or huber (regression), logistic (classification) (MLlib lossType).
        loss: Loss = Loss::Squared, mllib "lossType";
        /// Boosting rounds, the number of trees of gbt (MLlib maxIter).
        max_iter: usize = 100, mllib "maxIter";
        /// Trees of a random forest (MLlib numTrees).
        num_trees: usize = 20, mllib "numTrees";
        /// Deepest level a leaf may sit at; 0 is a single leaf (MLlib maxDepth, at most 30).
        max_depth: usize = 30, mllib "maxDepth";
        /// Leaves per tree, grown best-first; 0 means 2^max-depth (LightGBM num_leaves).
        num_leaves: usize = 31, mllib "numLeaves";
        /// Bins per numeric feature, at most 65535 (MLlib maxBins; LightGBM max_bin).
        max_bins: usize = 255, mllib "maxBins";
        /// Shrinkage of each boosted tree (MLlib stepSize; LightGBM learning_rate).
        learning_rate: f64 = 0.1, mllib "stepSize";
        /// Rows each tree samples: a forest's bootstrap rate, gbt's per-tree fraction (MLlib subsamplingRate).
        subsampling_rate: f64 = 1.0, mllib "subsamplingRate";
        /// Draw each forest tree's rows with replacement (MLlib bootstrap); false: every tree sees its subsampling-rate share once.
        bootstrap: bool = true, mllib "bootstrap";
        /// Features a node may split on: auto, all, onethird, sqrt, log2, k or a fraction (MLlib featureSubsetStrategy).
        feature_subset_strategy: FeatureSubset = FeatureSubset::Auto, mllib "featureSubsetStrategy";
        /// Share of the features each tree may use (LightGBM feature_fraction).
        feature_fraction: f64 = 1.0, mllib "featureFraction";
        /// Share of the rows each bagging round keeps, without replacement (LightGBM bagging_fraction).
        bagging_fraction: f64 = 1.0, mllib "baggingFraction";
        /// Re-draw the bag every this many trees; 0 disables bagging (LightGBM bagging_freq).
        bagging_freq: usize = 0, mllib "baggingFreq";
        /// Rows a leaf needs at least (MLlib minInstancesPerNode).
        min_instances_per_node: usize = 1, mllib "minInstancesPerNode";
        /// Rows a leaf needs at least (LightGBM min_data_in_leaf; the larger of the two applies).
        min_data_in_leaf: usize = 20, mllib "minDataInLeaf";
        /// Hessian sum a leaf needs at least (LightGBM min_sum_hessian_in_leaf).
        min_sum_hessian: f64 = 1e-3, mllib "minSumHessianInLeaf";
        /// Gain a split needs at least (MLlib minInfoGain; LightGBM min_gain_to_split).
        min_info_gain: f64 = 0.0, mllib "minInfoGain";
        /// L2 penalty on leaf values (LightGBM lambda_l2).
        lambda_l2: f64 = 0.0, mllib "lambdaL2";
        /// L1 penalty on leaf values (LightGBM lambda_l1).
        lambda_l1: f64 = 0.0, mllib "lambdaL1";
        /// Stop boosting after this many rounds without a better validation loss; 0 never (LightGBM early_stopping_round).
        early_stopping_rounds: usize = 0, mllib "earlyStoppingRounds";
        /// Relative improvement of the validation loss that counts as better (MLlib validationTol).
        validation_tol: f64 = 0.0, mllib "validationTol";
        /// Seed of the row and feature samples (MLlib seed).
        seed: u64 = 42, mllib "seed";
        /// Categories at most on a split's left side (LightGBM max_cat_threshold).
        max_cat_threshold: usize = 32, mllib "maxCatThreshold";
        /// Smoothing of a category's gradient ratio, and the rows it needs (LightGBM cat_smooth).
        cat_smooth: f64 = 10.0, mllib "catSmooth";
        /// Extra L2 penalty of many-vs-many categorical splits (LightGBM cat_l2).
        cat_l2: f64 = 10.0, mllib "catL2";
        /// Rows a group of categories needs on each side (LightGBM min_data_per_group).
        min_data_per_group: usize = 100, mllib "minDataPerGroup";
        /// Features with at most this many categories split one-vs-rest (LightGBM max_cat_to_onehot).
        max_cat_to_onehot: usize = 4, mllib "maxCatToOnehot";
        /// Huber loss threshold on the residual (LightGBM alpha).
        huber_alpha: f64 = 0.9, mllib "huberAlpha";
    }
}

impl TreeValidParams {
    /// Regression or classification.
    pub fn task(&self) -> Task {
        match self.loss {
            Loss::Logistic => Task::Classification,
            _ => Task::Regression,
        }
    }

    /// Trees the ensemble builds at most.
    pub fn trees(&self) -> usize {
        match self.ensemble {
            Ensemble::Boosting => self.max_iter,
            Ensemble::Forest => self.num_trees,
            Ensemble::Single => 1,
        }
    }

    /// Leaves per tree at most: `num_leaves`, or 2^max_depth when it is 0, capped by the depth.
    pub fn leaves(&self) -> usize {
        let by_depth = 1usize << self.max_depth.min(MAX_DEPTH);
        match self.num_leaves {
            0 => by_depth,
            n => n.min(by_depth),
        }
    }

    /// Rows a leaf needs at least: the larger of MLlib's and LightGBM's settings.
    pub fn min_rows(&self) -> usize {
        self.min_instances_per_node
            .max(self.min_data_in_leaf)
            .max(1)
    }

    /// The per-tree row sample: (fraction, re-draw every, with replacement).
    pub fn row_sample(&self) -> (f64, usize, bool) {
        match self.ensemble {
            Ensemble::Forest => (self.subsampling_rate, 1, self.bootstrap),
            Ensemble::Single => (1.0, 0, false),
            Ensemble::Boosting if self.bagging_freq > 0 => {
                (self.bagging_fraction, self.bagging_freq, false)
            }
            Ensemble::Boosting if self.subsampling_rate < 1.0 => (self.subsampling_rate, 1, false),
            Ensemble::Boosting => (1.0, 0, false),
        }
    }

    /// Whether the parameter `field` means something for this ensemble: a forest has no
    /// learning rate or boosting rounds, a single tree samples neither rows nor features.
    pub fn applies(&self, field: &str) -> bool {
        const BOOSTING_ONLY: &[&str] = &[
            "max_iter",
            "learning_rate",
            "bagging_fraction",
            "bagging_freq",
            "early_stopping_rounds",
            "validation_tol",
            "huber_alpha",
        ];
        const SAMPLING: &[&str] = &[
            "num_trees",
            "subsampling_rate",
            "feature_subset_strategy",
            "feature_fraction",
        ];
        match self.ensemble {
            Ensemble::Boosting => field != "num_trees" && field != "bootstrap",
            Ensemble::Forest => !BOOSTING_ONLY.contains(&field),
            Ensemble::Single => !BOOSTING_ONLY.contains(&field) && !SAMPLING.contains(&field),
        }
    }

    /// Validates the values (what `TreeParams::check` runs).
    pub(crate) fn validate(&self) -> Result<(), ModelError> {
        let invalid = |mllib: &'static str, value: &dyn fmt::Display, reason: &str| {
            ModelError::InvalidParam {
                param: format!("{} ({mllib})", flag_of(Self::SPECS, mllib)),
                value: value.to_string(),
                reason: reason.to_string(),
            }
        };
        let unit = |x: f64| x > 0.0 && x <= 1.0;
        let finite_non_negative = |x: f64| x.is_finite() && x >= 0.0;
        if self.max_iter == 0 {
            return Err(invalid("maxIter", &self.max_iter, "must be >= 1"));
        }
        if self.num_trees == 0 {
            return Err(invalid("numTrees", &self.num_trees, "must be >= 1"));
        }
        if self.max_depth > MAX_DEPTH {
            return Err(invalid("maxDepth", &self.max_depth, "must be at most 30"));
        }
        if self.num_leaves == 1 {
            let why = "must be >= 2 (or 0 for 2^max-depth): a one-leaf tree cannot split";
            return Err(invalid("numLeaves", &self.num_leaves, why));
        }
        if !(2..=MAX_BINS).contains(&self.max_bins) {
            return Err(invalid("maxBins", &self.max_bins, "must be in [2, 65535]"));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            let why = "must be finite and > 0";
            return Err(invalid("stepSize", &self.learning_rate, why));
        }
        for (mllib, value) in [
            ("subsamplingRate", self.subsampling_rate),
            ("featureFraction", self.feature_fraction),
            ("baggingFraction", self.bagging_fraction),
        ] {
            if !unit(value) {
                return Err(invalid(mllib, &value, "must be in (0, 1]"));
            }
        }
        for (mllib, value) in [
            ("minSumHessianInLeaf", self.min_sum_hessian),
            ("minInfoGain", self.min_info_gain),
            ("lambdaL2", self.lambda_l2),
            ("lambdaL1", self.lambda_l1),
            ("validationTol", self.validation_tol),
            ("catSmooth", self.cat_smooth),
            ("catL2", self.cat_l2),
        ] {
            if !finite_non_negative(value) {
                return Err(invalid(mllib, &value, "must be finite and >= 0"));
            }
        }
        if !(self.huber_alpha.is_finite() && self.huber_alpha > 0.0) {
            return Err(invalid(
                "huberAlpha",
                &self.huber_alpha,
                "must be finite and > 0",
            ));
        }
        if self.max_cat_threshold == 0 {
            return Err(invalid(
                "maxCatThreshold",
                &self.max_cat_threshold,
                "must be >= 1",
            ));
        }
        let both = self.subsampling_rate < 1.0 && self.bagging_freq > 0;
        if self.ensemble == Ensemble::Boosting && both {
            let why = "gbt samples rows by --bagging-fraction/--bagging-freq or by \
                       --subsampling-rate, not both";
            return Err(invalid("subsamplingRate", &self.subsampling_rate, why));
        }
        if self.ensemble == Ensemble::Forest
            && self.loss != Loss::Squared
            && self.loss != Loss::Logistic
        {
            let why = "a forest's trees split by variance: squared (regression) or logistic (classification)";
            return Err(invalid("lossType", &self.loss, why));
        }
        Ok(())
    }
}

impl TreeParams {
    /// The defaults of `ensemble` (LightGBM's for boosting; see the module doc for forests).
    pub fn new(ensemble: Ensemble) -> Self {
        let p = TreeParams(TreeValidParams::with_defaults(ensemble));
        match ensemble {
            Ensemble::Boosting => p,
            Ensemble::Forest => p
                .max_depth(12)
                .num_leaves(0)
                .min_data_in_leaf(1)
                .subsampling_rate(1.0),
            Ensemble::Single => p.max_depth(12).num_leaves(0).min_data_in_leaf(1),
        }
    }

    /// Validates the parameters (the same as linfa's `ParamGuard::check`, without the import).
    pub fn check(self) -> Result<TreeValidParams, ModelError> {
        ParamGuard::check(self)
    }
}

impl ParamGuard for TreeParams {
    type Checked = TreeValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&TreeValidParams, ModelError> {
        self.0.validate()?;
        Ok(&self.0)
    }

    fn check(self) -> Result<TreeValidParams, ModelError> {
        self.0.validate()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_flag() {
        for (params, flag) in [
            (
                TreeParams::new(Ensemble::Boosting).num_leaves(1),
                "--num-leaves",
            ),
            (
                TreeParams::new(Ensemble::Boosting).max_bins(1),
                "--max-bins",
            ),
            (
                TreeParams::new(Ensemble::Boosting).max_bins(70_000),
                "--max-bins",
            ),
            (
                TreeParams::new(Ensemble::Forest).subsampling_rate(0.0),
                "--subsampling-rate",
            ),
            (
                TreeParams::new(Ensemble::Boosting).max_depth(31),
                "--max-depth",
            ),
        ] {
            let err = params.check().unwrap_err().to_string();
            assert!(err.contains(flag), "{err}");
        }
    }

    #[test]
    fn feature_subsets_follow_mllib() {
        let reg = Task::Regression;
        assert_eq!(FeatureSubset::Auto.count(9, 20, reg), 3);
        assert_eq!(FeatureSubset::Auto.count(9, 20, Task::Classification), 3);
        assert_eq!(FeatureSubset::Auto.count(9, 1, reg), 9);
        assert_eq!(
            FeatureSubset::from_text("1").unwrap(),
            FeatureSubset::Count(1)
        );
        assert_eq!(
            FeatureSubset::from_text("1.0").unwrap(),
            FeatureSubset::Fraction(1.0)
        );
        assert_eq!(FeatureSubset::Fraction(1.0).count(7, 5, reg), 7);
        assert!(FeatureSubset::from_text("0").is_err());
        assert!(FeatureSubset::from_text("2.5").is_err());
        assert_eq!(FeatureSubset::Log2.count(8, 5, reg), 3);
    }

    #[test]
    fn leaves_follow_depth_and_count() {
        let p = TreeParams::new(Ensemble::Boosting).check().unwrap();
        assert_eq!(p.leaves(), 31);
        let deep = TreeParams::new(Ensemble::Forest).check().unwrap();
        assert_eq!(deep.leaves(), 1 << 12);
        let stump = TreeParams::new(Ensemble::Single)
            .max_depth(1)
            .check()
            .unwrap();
        assert_eq!(stump.leaves(), 2);
    }
}
