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
    match model.task() {
        Task::Classification => classification(model, blocks),
        Task::Regression => regression(model, blocks),
    }
}

fn weights(block: &FeatureBlock) -> Option<&[f64]> {
    block.weight.as_ref().map(|w| w.as_slice().unwrap_or(&[]))
}

fn regression<P: Predictor + Sync>(model: &P, blocks: &[FeatureBlock]) -> Metrics {
    let score = |b: &FeatureBlock| {
        let mut acc = RegressionAccumulator::default();
        let pred = model.predict(b);
        acc.add(
            b.label.as_slice().unwrap_or(&[]),
            pred.as_slice().unwrap_or(&[]),
            weights(b),
        );
        acc
    };
    let total = tree_reduce(blocks, &score, &RegressionAccumulator::merge).unwrap_or_default();
    let m = total.finish();
    BTreeMap::from([
        ("rmse".to_string(), m.rmse),
        ("mae".to_string(), m.mae),
        ("r2".to_string(), m.r2),
        ("explained_variance".to_string(), m.explained_variance),
    ])
}

fn classification<P: Predictor + Sync>(model: &P, blocks: &[FeatureBlock]) -> Metrics {
    let empty = || {
        (
            ClassificationAccumulator::default(),
            ScoreCollector::default(),
        )
    };
    let score = |b: &FeatureBlock| {
        let prob = model.probability(b).unwrap_or_else(|| model.predict(b));
        let labels = b.label.as_slice().unwrap_or(&[]);
        let probs = prob.as_slice().unwrap_or(&[]);
        let (mut acc, mut scores) = empty();
        acc.add(labels, probs, weights(b));
        scores.add(labels, probs, weights(b));
        (acc, scores)
    };
    let merge =
        |(a, s): (ClassificationAccumulator, ScoreCollector), (b, t)| (a.merge(b), s.merge(t));
    let (acc, scores) = tree_reduce(blocks, &score, &merge).unwrap_or_else(empty);
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
