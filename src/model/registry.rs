//! The learner registry: every family's checked parameters and fitted model, as the serde
//! enums the rest of distml handles. A new family is its own folder (params implementing
//! [`Learn`], a model implementing [`Predictor`]) plus one line in the `learners!` list below.

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use crate::feature::{FeatureBlock, FeatureLayout};

use super::glm::{GlmModel, GlmValidParams};
use super::kind::KindSpec;
use super::trees::{TreeModel, TreeValidParams};
use super::{ModelError, ParamSpec, Predictor, SetError, Sums, Task, TrainSummary};

/// What a learner family's checked parameters provide.
pub trait Learn: Clone {
    /// The fitted model.
    type Model: Predictor + Into<Model>;
    /// The `--model` names this family fits.
    const KINDS: &'static [KindSpec];
    /// Its settable parameters.
    fn specs() -> &'static [ParamSpec];
    /// Validates the current values (the linfa `check` of the builder).
    fn check(&self) -> Result<(), ModelError>;
    /// Sets one parameter from text (a flag, a job-file value, a grid value).
    fn set_text(&mut self, key: &str, text: &str) -> Result<(), SetError>;
    /// Every parameter with its value as text.
    fn values(&self) -> Vec<(&'static ParamSpec, String)>;
    /// Regression or classification.
    fn task(&self) -> Task;
    /// Why `y` is not a label this learner accepts, or `None`.
    fn check_label(&self, y: f64) -> Option<&'static str>;
    /// The iteration budget successive halving divides (GLM: `maxIter`).
    fn budget(&self) -> usize;
    /// These parameters with another iteration budget.
    fn with_budget(&self, budget: usize) -> Self;
    /// Whether this parameter applies to these parameters' kind (a forest has no learning rate).
    fn accepts(&self, _spec: &ParamSpec) -> bool {
        true
    }
    /// Whether the learner splits category-index features itself (so pipelines need not one-hot
    /// encode them).
    fn native_categories(&self) -> bool {
        false
    }
    /// Whether NaN features are missing values the learner handles (else they are an error).
    fn allows_missing(&self) -> bool {
        false
    }
    /// Whether the fit reads validation rows (a loss per iteration, early stopping).
    fn uses_validation(&self) -> bool {
        false
    }
    /// Whether the fit reads the rows once, for `features` features (so a job streams them
    /// instead of caching them).
    fn reads_once(&self, _features: usize) -> bool {
        false
    }
    /// Bytes the fit itself holds per training row — binned columns, scores, gradients — for
    /// the tree features of `layout` (`weighted`: rows carry weights), at most; 0 for fits
    /// that keep nothing per row beside the cached blocks.
    fn held_bytes_per_row(&self, _layout: &FeatureLayout, _weighted: bool) -> u64 {
        0
    }
    /// Of those, the bytes of a training row's state besides its binned features.
    fn row_state_bytes(&self, _weighted: bool) -> u64 {
        0
    }
    /// Fits on the rows behind `sums`, whose features are laid out as `layout`.
    fn fit<S: Sums>(
        &self,
        layout: &FeatureLayout,
        sums: &mut S,
    ) -> Result<(Self::Model, TrainSummary), S::Error>;
}

macro_rules! learners {
    ($( $(#[$doc:meta])* $family:ident = $tag:literal ($params:ty => $model:ty) ),* $(,)?) => {
        /// The checked parameters of one learner family.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        #[non_exhaustive]
        pub enum LearnerParams {
            $( $(#[$doc])* #[serde(rename = $tag)] $family($params), )*
        }

        /// A fitted model of any learner family; `model.json` tags it with `kind`.
        // A job holds one or two models: their size differences cost nothing worth a box.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", rename_all = "kebab-case")]
        #[non_exhaustive]
        pub enum Model {
            $( $(#[$doc])* #[serde(rename = $tag)] $family($model), )*
        }

        $( impl From<$model> for Model {
            fn from(m: $model) -> Self {
                Model::$family(m)
            }
        } )*

        impl Predictor for Model {
            fn task(&self) -> Task {
                match self { $( Model::$family(m) => m.task(), )* }
            }
            fn feature_names(&self) -> &[String] {
                match self { $( Model::$family(m) => m.feature_names(), )* }
            }
            fn predict(&self, block: &FeatureBlock) -> Array1<f64> {
                match self { $( Model::$family(m) => m.predict(block), )* }
            }
            fn probability(&self, block: &FeatureBlock) -> Option<Array1<f64>> {
                match self { $( Model::$family(m) => m.probability(block), )* }
            }
        }

        impl Model {
            /// The family's name as `model.json` tags it (`glm`).
            pub fn kind(&self) -> &'static str {
                match self { $( Model::$family(_) => $tag, )* }
            }
        }

        impl LearnerParams {
            /// Validates the current values.
            pub fn check(&self) -> Result<(), ModelError> {
                match self { $( Self::$family(p) => p.check(), )* }
            }
            /// Sets one parameter from text (unknown to this kind: [`SetError::Unknown`]).
            pub fn set_text(&mut self, key: &str, text: &str) -> Result<(), SetError> {
                let wanted = key.trim_start_matches("--");
                let known = self.specs().iter().any(|s| s.key() == wanted || s.field == wanted);
                if !known {
                    return Err(SetError::Unknown(wanted.to_string()));
                }
                match self { $( Self::$family(p) => p.set_text(key, text), )* }
            }
            /// Every parameter of this kind with its value as text.
            pub fn values(&self) -> Vec<(&'static ParamSpec, String)> {
                match self { $( Self::$family(p) => p.values().into_iter().filter(|(s, _)| p.accepts(s)).collect(), )* }
            }
            /// This kind's settable parameters.
            pub fn specs(&self) -> Vec<&'static ParamSpec> {
                match self { $( Self::$family(p) => <$params as Learn>::specs().iter().filter(|s| p.accepts(s)).collect(), )* }
            }
            /// Whether the learner splits category-index features itself.
            pub fn native_categories(&self) -> bool {
                match self { $( Self::$family(p) => p.native_categories(), )* }
            }
            /// Whether NaN features are missing values the learner handles.
            pub fn allows_missing(&self) -> bool {
                match self { $( Self::$family(p) => p.allows_missing(), )* }
            }
            /// Whether the fit reads validation rows.
            pub fn uses_validation(&self) -> bool {
                match self { $( Self::$family(p) => p.uses_validation(), )* }
            }
            /// Whether the fit reads the rows once, for `features` features.
            pub fn reads_once(&self, features: usize) -> bool {
                match self { $( Self::$family(p) => p.reads_once(features), )* }
            }
            /// Bytes the fit holds per training row besides the cached blocks, at most.
            pub fn held_bytes_per_row(&self, layout: &FeatureLayout, weighted: bool) -> u64 {
                match self { $( Self::$family(p) => p.held_bytes_per_row(layout, weighted), )* }
            }
            /// Bytes of a training row's state besides its binned features.
            pub fn row_state_bytes(&self, weighted: bool) -> u64 {
                match self { $( Self::$family(p) => p.row_state_bytes(weighted), )* }
            }
            /// Regression or classification.
            pub fn task(&self) -> Task {
                match self { $( Self::$family(p) => p.task(), )* }
            }
            /// Why `y` is not a label this learner accepts, or `None`.
            pub fn check_label(&self, y: f64) -> Option<&'static str> {
                match self { $( Self::$family(p) => p.check_label(y), )* }
            }
            /// The iteration budget successive halving divides.
            pub fn budget(&self) -> usize {
                match self { $( Self::$family(p) => p.budget(), )* }
            }
            /// These parameters with another iteration budget.
            pub fn with_budget(&self, budget: usize) -> Self {
                match self { $( Self::$family(p) => Self::$family(p.with_budget(budget)), )* }
            }
            /// Fits the model on the rows behind `sums`.
            pub fn fit<S: Sums>(
                &self,
                layout: &FeatureLayout,
                sums: &mut S,
            ) -> Result<(Model, TrainSummary), S::Error> {
                match self { $( Self::$family(p) => p.fit(layout, sums).map(|(m, s)| (m.into(), s)), )* }
            }
        }

        /// Every `--model` kind of every family, in registry order.
        pub(crate) fn all_kinds() -> impl Iterator<Item = &'static KindSpec> {
            [$( <$params as Learn>::KINDS ),*].into_iter().flatten()
        }

        /// Every family's parameters (the union of the flags).
        pub fn all_param_specs() -> impl Iterator<Item = &'static ParamSpec> {
            [$( <$params as Learn>::specs() ),*].into_iter().flatten()
        }
    };
}

learners! {
    /// Generalised linear models: least squares, ridge, lasso, elastic net, logistic, Poisson.
    Glm = "glm" (GlmValidParams => GlmModel),
    /// Histogram trees: gradient-boosted trees, random forests, decision trees.
    Trees = "trees" (TreeValidParams => TreeModel),
}
