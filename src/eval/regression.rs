//! Regression metrics: RMSE, MAE, R² and explained variance, as scikit-learn defines them.

use serde::{Deserialize, Serialize};

use crate::merge::lanes::sums;
use crate::merge::Moments;

/// Mergeable per-partition sums for the regression metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct RegressionAccumulator {
    /// Moments of the label.
    pub label: Moments,
    /// Moments of the error `label − prediction`.
    pub error: Moments,
    /// Σw(label − prediction)².
    pub sum_sq: f64,
    /// Σw|label − prediction|.
    pub sum_abs: f64,
    /// Rows seen.
    pub rows: u64,
}

/// Regression metrics of a set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RegressionMetrics {
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Coefficient of determination 1 − SSE/SST.
    pub r2: f64,
    /// 1 − Var(error)/Var(label).
    pub explained_variance: f64,
    /// Rows evaluated.
    pub rows: u64,
}

impl RegressionAccumulator {
    /// Adds labels, predictions and optional weights of one partition.
    pub fn add(&mut self, labels: &[f64], predictions: &[f64], weights: Option<&[f64]>) {
        let n = labels.len().min(predictions.len());
        let (labels, predictions) = (&labels[..n], &predictions[..n]);
        let weights = weights.map(|w| &w[..n.min(w.len())]);
        let n = weights.map_or(n, <[f64]>::len);
        let weight = |i: usize| weights.map_or(1.0, |w| w[i]);
        // Two passes without storing the errors: the sums, then squares about the mean error.
        let [w_sum, we, we2, wabs] = sums(n, |i| {
            let (w, e) = (weight(i), labels[i] - predictions[i]);
            [w, w * e, w * e * e, w * e.abs()]
        });
        let error = if w_sum == 0.0 {
            Moments::default()
        } else {
            let mean = we / w_sum;
            let [m2] = sums(n, |i| {
                let d = labels[i] - predictions[i] - mean;
                [weight(i) * d * d]
            });
            Moments {
                weight: w_sum,
                mean,
                m2,
            }
        };
        self.label = self.label.merge(Moments::of(labels, weights));
        self.error = self.error.merge(error);
        self.sum_sq += we2;
        self.sum_abs += wabs;
        self.rows += n as u64;
    }

    /// Combines two partitions' accumulators.
    pub fn merge(self, other: RegressionAccumulator) -> Self {
        RegressionAccumulator {
            label: self.label.merge(other.label),
            error: self.error.merge(other.error),
            sum_sq: self.sum_sq + other.sum_sq,
            sum_abs: self.sum_abs + other.sum_abs,
            rows: self.rows + other.rows,
        }
    }

    /// The metrics (NaN when nothing was added; R² is NaN for a constant label).
    pub fn finish(&self) -> RegressionMetrics {
        let w = self.label.weight;
        RegressionMetrics {
            rmse: (self.sum_sq / w).sqrt(),
            mae: self.sum_abs / w,
            r2: 1.0 - self.sum_sq / self.label.m2,
            explained_variance: 1.0 - self.error.m2 / self.label.m2,
            rows: self.rows,
        }
    }
}

/// Regression metrics of one slice of predictions.
pub fn regression_metrics(labels: &[f64], predictions: &[f64]) -> RegressionMetrics {
    let mut acc = RegressionAccumulator::default();
    acc.add(labels, predictions, None);
    acc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_merge_to_the_whole() {
        let y = [3.0, -0.5, 2.0, 7.0, 4.2];
        let p = [2.5, 0.0, 2.0, 8.0, 4.0];
        let whole = regression_metrics(&y, &p);
        let mut a = RegressionAccumulator::default();
        a.add(&y[..2], &p[..2], None);
        let mut b = RegressionAccumulator::default();
        b.add(&y[2..], &p[2..], None);
        let merged = b.merge(a).finish();
        for (x, z) in [
            (whole.rmse, merged.rmse),
            (whole.mae, merged.mae),
            (whole.r2, merged.r2),
            (whole.explained_variance, merged.explained_variance),
        ] {
            assert!((x - z).abs() < 1e-12);
        }
        // from sklearn.metrics import *; y, p = [3, -.5, 2, 7, 4.2], [2.5, 0, 2, 8, 4]
        // mean_absolute_error, r2_score, explained_variance_score, root_mean_squared_error
        let expected = [
            0.44000000000000006,
            0.9496600418410042,
            0.9538441422594142,
            0.5549774770204643,
        ];
        let got = [whole.mae, whole.r2, whole.explained_variance, whole.rmse];
        assert!(
            got.iter()
                .zip(&expected)
                .all(|(a, b)| (a - b).abs() < 1e-12),
            "{got:?}"
        );
    }
}
