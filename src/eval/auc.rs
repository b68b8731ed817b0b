//! Area under the ROC curve; it needs every score, so partitions contribute their scores.

use serde::{Deserialize, Serialize};

/// Collected (score, label, weight) triples of some partitions; merge by concatenation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScoreCollector {
    scores: Vec<(f64, bool, f64)>,
}

impl ScoreCollector {
    /// Adds 0/1 labels, scores and optional weights of one partition.
    pub fn add(&mut self, labels: &[f64], scores: &[f64], weights: Option<&[f64]>) {
        for (i, (&y, &s)) in labels.iter().zip(scores).enumerate() {
            self.scores
                .push((s, y > 0.5, weights.map_or(1.0, |w| w[i])));
        }
    }

    /// Appends another partition's scores.
    pub fn merge(mut self, mut other: ScoreCollector) -> Self {
        self.scores.append(&mut other.scores);
        self
    }

    /// ROC AUC of everything collected (NaN when one class is missing).
    pub fn auc(&self) -> f64 {
        let mut sorted = self.scores.clone();
        sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (mut tp, mut fp, mut area) = (0.0, 0.0, 0.0);
        let mut i = 0;
        while i < sorted.len() {
            // Tied scores move the curve diagonally: the trapezoid counts them as half-right.
            let (tp0, fp0) = (tp, fp);
            let score = sorted[i].0;
            while i < sorted.len() && sorted[i].0 == score {
                if sorted[i].1 {
                    tp += sorted[i].2;
                } else {
                    fp += sorted[i].2;
                }
                i += 1;
            }
            area += (fp - fp0) * (tp + tp0) / 2.0;
        }
        area / (tp * fp)
    }
}

/// ROC AUC of one slice of 0/1 labels and scores.
pub fn roc_auc(labels: &[f64], scores: &[f64]) -> f64 {
    let mut c = ScoreCollector::default();
    c.add(labels, scores, None);
    c.auc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        // sklearn.metrics.roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert!((roc_auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.35, 0.8]) - 0.75).abs() < 1e-12);
        // ties count half: roc_auc_score([0, 1], [0.5, 0.5]) == 0.5
        assert!((roc_auc(&[0.0, 1.0], &[0.5, 0.5]) - 0.5).abs() < 1e-12);
    }
}
