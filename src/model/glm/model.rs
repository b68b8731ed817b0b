//! The fitted model: coefficients, intercept, family and the parameters that produced it.

use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::feature::FeatureBlock;
use crate::model::{Predictor, Task};

use super::block_ops::margins;
use super::{Family, GlmValidParams};

/// A fitted generalised linear model (least squares, logistic or Poisson).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlmModel {
    /// Distribution and link.
    pub family: Family,
    /// One coefficient per feature, in the layout's order.
    pub coefficients: Array1<f64>,
    /// Intercept (0 without `fitIntercept`).
    pub intercept: f64,
    /// Feature names, from the layout the model was trained on.
    pub feature_names: Vec<String>,
    /// The parameters of the fit.
    pub params: GlmValidParams,
}

/// Another name for [`GlmModel`], as linfa users know it.
pub type LinearModel = GlmModel;

impl GlmModel {
    /// The linear predictor `X·β + b` per row.
    pub fn predict_link(&self, block: &FeatureBlock) -> Array1<f64> {
        let beta = self
            .coefficients
            .as_slice()
            .expect("contiguous coefficients");
        margins(block, 0..block.rows(), beta, self.intercept)
    }

    /// The mean response per row: the prediction (least squares), the probability of class 1
    /// (logistic) or the expected count (Poisson).
    pub fn predict_mean(&self, block: &FeatureBlock) -> Array1<f64> {
        let mut eta = self.predict_link(block);
        if self.family != Family::Gaussian {
            eta.mapv_inplace(|e| self.family.mean(e));
        }
        eta
    }

    /// The prediction per row: the mean response, except the class (0 or 1, threshold 0.5)
    /// for logistic regression — MLlib's `prediction` column.
    pub fn predict(&self, block: &FeatureBlock) -> Array1<f64> {
        match self.family {
            Family::Binomial => self
                .predict_link(block)
                .mapv(|e| if e > 0.0 { 1.0 } else { 0.0 }),
            _ => self.predict_mean(block),
        }
    }

    /// The mean response for the rows of a dense matrix (no categorical columns).
    pub fn predict_dense(&self, x: &Array2<f64>) -> Array1<f64> {
        (x.dot(&self.coefficients) + self.intercept).mapv(|e| self.family.mean(e))
    }
}

impl Predictor for GlmModel {
    fn task(&self) -> Task {
        self.family.task()
    }

    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict(&self, block: &FeatureBlock) -> Array1<f64> {
        GlmModel::predict(self, block)
    }

    fn probability(&self, block: &FeatureBlock) -> Option<Array1<f64>> {
        (self.family == Family::Binomial).then(|| self.predict_mean(block))
    }
}
