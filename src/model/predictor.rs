//! What every fitted model offers, whatever its family: the seam predict, evaluate, tuning,
//! tracking and serving go through.

use ndarray::Array1;
use serde::{Deserialize, Serialize};

use crate::feature::FeatureBlock;

/// What a model predicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// A real value (RMSE, MAE, R²).
    Regression,
    /// Class 0 or 1 with a probability (log-loss, AUC, accuracy).
    Classification,
}

impl Task {
    /// `regression` or `classification`.
    pub fn as_str(self) -> &'static str {
        match self {
            Task::Regression => "regression",
            Task::Classification => "classification",
        }
    }
}

/// A fitted model seen from outside its family.
pub trait Predictor {
    /// Regression or classification.
    fn task(&self) -> Task;
    /// Feature names in the order the model reads them (the pipeline's layout).
    fn feature_names(&self) -> &[String];
    /// MLlib's `prediction` column, per row: the value (regression) or the class, 0 or 1
    /// (classification).
    fn predict(&self, block: &FeatureBlock) -> Array1<f64>;
    /// For a classifier, the probability of class 1 per row (MLlib's `probability[1]`);
    /// `None` for a regressor.
    fn probability(&self, block: &FeatureBlock) -> Option<Array1<f64>>;
}
