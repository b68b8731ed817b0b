//! A fitted model's metrics on feature blocks, per block in parallel, merged.

use std::collections::BTreeMap;

use crate::eval::{ClassificationAccumulator, RegressionAccumulator, ScoreCollector};
use crate::feature::FeatureBlock;
use crate::merge::tree_reduce;

use super::{Predictor, Task};

/// Metrics by name.
pub type Metrics = BTreeMap<String, f64>;

/// Metrics of `model` on `blocks` (their labels and weights): `rmse`, `mae`, `r2`,
/// `explained_variance` for regression; `logloss`, `auc`, `accuracy`, `f1`, `precision`,
/// `recall` for classification. Blocks are scored in parallel and merged in a fixed tree, so
/// the same model on the same blocks gives the same bits whatever the thread count.
pub fn evaluate<P: Predictor + Sync>(model: &P, blocks: &[FeatureBlock]) -> Metrics {
    tree_reduce(blocks, &|b| MetricSums::of(model, b), &MetricSums::merge)
        .unwrap_or_else(|| MetricSums::empty(model.task()))
        .finish()
}

/// The mergeable sums behind [`evaluate`]'s metrics, for blocks reduced elsewhere (streamed
/// from a store): one per block, merged in any fixed order.
#[derive(Debug, Clone)]
pub enum MetricSums {
    /// Regression: error sums.
    Regression(RegressionAccumulator),
    /// Classification: counts and log loss, and every score for the AUC.
    Classification(ClassificationAccumulator, ScoreCollector),
}

impl MetricSums {
    /// No rows yet.
    pub fn empty(task: Task) -> Self {
        match task {
            Task::Regression => MetricSums::Regression(RegressionAccumulator::default()),
            Task::Classification => MetricSums::Classification(
                ClassificationAccumulator::default(),
                ScoreCollector::default(),
            ),
        }
    }

    /// The sums of `model` on one block.
    pub fn of<P: Predictor>(model: &P, block: &FeatureBlock) -> Self {
        let labels = block.label.as_slice().unwrap_or(&[]);
        let weights = block.weight.as_ref().map(|w| w.as_slice().unwrap_or(&[]));
        let outputs = match model.task() {
            Task::Regression => model.predict(block),
            Task::Classification => model
                .probability(block)
                .unwrap_or_else(|| model.predict(block)),
        };
        let outputs = outputs.as_slice().unwrap_or(&[]);
        MetricSums::of_outputs(model.task(), labels, weights, outputs)
    }

    /// The sums of a model's `outputs` on rows of `labels` (and `weights`): predictions for
    /// regression, probabilities of class 1 (or 0/1 predictions) for classification.
    pub fn of_outputs(
        task: Task,
        labels: &[f64],
        weights: Option<&[f64]>,
        outputs: &[f64],
    ) -> Self {
        let mut sums = MetricSums::empty(task);
        match &mut sums {
            MetricSums::Regression(acc) => acc.add(labels, outputs, weights),
            MetricSums::Classification(acc, scores) => {
                acc.add(labels, outputs, weights);
                scores.add(labels, outputs, weights);
            }
        }
        sums
    }

    /// Both blocks' sums (of the same task).
    pub fn merge(self, other: MetricSums) -> Self {
        match (self, other) {
            (MetricSums::Regression(a), MetricSums::Regression(b)) => {
                MetricSums::Regression(a.merge(b))
            }
            (MetricSums::Classification(a, s), MetricSums::Classification(b, t)) => {
                MetricSums::Classification(a.merge(b), s.merge(t))
            }
            (a, _) => a,
        }
    }

    /// The metrics by name.
    pub fn finish(self) -> Metrics {
        match self {
            MetricSums::Regression(acc) => {
                let m = acc.finish();
                BTreeMap::from([
                    ("rmse".to_string(), m.rmse),
                    ("mae".to_string(), m.mae),
                    ("r2".to_string(), m.r2),
                    ("explained_variance".to_string(), m.explained_variance),
                ])
            }
            MetricSums::Classification(acc, scores) => {
                let m = acc.finish();
                BTreeMap::from([
                    ("logloss".to_string(), m.logloss),
                    ("auc".to_string(), scores.auc()),
                    ("accuracy".to_string(), m.accuracy),
                    ("f1".to_string(), m.f1),
                    ("precision".to_string(), m.precision),
                    ("recall".to_string(), m.recall),
                ])
            }
        }
    }
}
