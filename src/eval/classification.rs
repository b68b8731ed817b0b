//! Binary classification metrics from probabilities: log-loss, accuracy, precision, recall, F1.

use serde::{Deserialize, Serialize};

/// Mergeable per-partition sums for the classification metrics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassificationAccumulator {
    /// Probability above which a row is predicted positive (0.5 by default).
    pub threshold: f64,
    /// Σw·log-loss.
    pub log_loss: f64,
    /// Σw.
    pub weight: f64,
    /// Weighted true positives.
    pub tp: f64,
    /// Weighted false positives.
    pub fp: f64,
    /// Weighted true negatives.
    pub tn: f64,
    /// Weighted false negatives.
    pub fn_: f64,
}

impl Default for ClassificationAccumulator {
    fn default() -> Self {
        ClassificationAccumulator {
            threshold: 0.5,
            log_loss: 0.0,
            weight: 0.0,
            tp: 0.0,
            fp: 0.0,
            tn: 0.0,
            fn_: 0.0,
        }
    }
}

/// Classification metrics of a set of predicted probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ClassificationMetrics {
    /// Mean negative log-likelihood (probabilities clipped to [ε, 1 − ε] as scikit-learn does).
    pub logloss: f64,
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// tp / (tp + fp).
    pub precision: f64,
    /// tp / (tp + fn).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when there are no positives at all).
    pub f1: f64,
}

impl ClassificationAccumulator {
    /// Adds 0/1 labels, probabilities of class 1 and optional weights of one partition.
    pub fn add(&mut self, labels: &[f64], probabilities: &[f64], weights: Option<&[f64]>) {
        for (i, (&y, &p)) in labels.iter().zip(probabilities).enumerate() {
            let w = weights.map_or(1.0, |w| w[i]);
            let q = p.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
            self.log_loss -= w * (y * q.ln() + (1.0 - y) * (1.0 - q).ln());
            self.weight += w;
            let positive = y > 0.5;
            match (p > self.threshold, positive) {
                (true, true) => self.tp += w,
                (true, false) => self.fp += w,
                (false, false) => self.tn += w,
                (false, true) => self.fn_ += w,
            }
        }
    }

    /// Combines two partitions' accumulators (same threshold).
    pub fn merge(self, other: ClassificationAccumulator) -> Self {
        ClassificationAccumulator {
            threshold: self.threshold,
            log_loss: self.log_loss + other.log_loss,
            weight: self.weight + other.weight,
            tp: self.tp + other.tp,
            fp: self.fp + other.fp,
            tn: self.tn + other.tn,
            fn_: self.fn_ + other.fn_,
        }
    }

    /// The metrics.
    pub fn finish(&self) -> ClassificationMetrics {
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        ClassificationMetrics {
            logloss: self.log_loss / self.weight,
            accuracy: (self.tp + self.tn) / self.weight,
            precision: ratio(self.tp, self.tp + self.fp),
            recall: ratio(self.tp, self.tp + self.fn_),
            f1: ratio(2.0 * self.tp, 2.0 * self.tp + self.fp + self.fn_),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_log_loss() {
        let mut acc = ClassificationAccumulator::default();
        acc.add(&[1.0, 0.0, 1.0, 0.0], &[0.9, 0.2, 0.4, 0.6], None);
        let m = acc.finish();
        assert_eq!((acc.tp, acc.fp, acc.tn, acc.fn_), (1.0, 1.0, 1.0, 1.0));
        assert!((m.accuracy - 0.5).abs() < 1e-12 && (m.f1 - 0.5).abs() < 1e-12);
        let expected = -(0.9f64.ln() + 0.8f64.ln() + 0.4f64.ln() + 0.4f64.ln()) / 4.0;
        assert!((m.logloss - expected).abs() < 1e-12);
    }
}
