//! Scoring a fitted model on feature blocks, per partition in parallel, merged.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::eval::{ClassificationAccumulator, RegressionAccumulator, ScoreCollector};
use crate::feature::FeatureBlock;
use crate::model::{Family, LinearModel};

/// Metrics of a model on a set of blocks, by name (`rmse`, `mae`, `r2`, `explained_variance`;
/// `logloss`, `auc`, `accuracy`, `f1`, `precision`, `recall` for classification).
pub fn evaluate_blocks(model: &LinearModel, blocks: &[FeatureBlock]) -> BTreeMap<String, f64> {
    if model.family == Family::Binomial {
        classification(model, blocks)
    } else {
        regression(model, blocks)
    }
}

fn regression(model: &LinearModel, blocks: &[FeatureBlock]) -> BTreeMap<String, f64> {
    let total = blocks
        .par_iter()
        .map(|b| {
            let mut acc = RegressionAccumulator::default();
            let pred = model.predict(b);
            let weight = b.weight.as_ref().map(|w| w.as_slice().unwrap_or(&[]));
            acc.add(
                b.label.as_slice().unwrap_or(&[]),
                pred.as_slice().unwrap_or(&[]),
                weight,
            );
            acc
        })
        .reduce(RegressionAccumulator::default, RegressionAccumulator::merge);
    let m = total.finish();
    BTreeMap::from([
        ("rmse".to_string(), m.rmse),
        ("mae".to_string(), m.mae),
        ("r2".to_string(), m.r2),
        ("explained_variance".to_string(), m.explained_variance),
    ])
}

fn classification(model: &LinearModel, blocks: &[FeatureBlock]) -> BTreeMap<String, f64> {
    let (acc, scores) = blocks
        .par_iter()
        .map(|b| {
            let prob = model.predict_mean(b);
            let (labels, probs) = (
                b.label.as_slice().unwrap_or(&[]),
                prob.as_slice().unwrap_or(&[]),
            );
            let weight = b.weight.as_ref().map(|w| w.as_slice().unwrap_or(&[]));
            let mut acc = ClassificationAccumulator::default();
            acc.add(labels, probs, weight);
            let mut scores = ScoreCollector::default();
            scores.add(labels, probs, weight);
            (acc, scores)
        })
        .reduce(
            || {
                (
                    ClassificationAccumulator::default(),
                    ScoreCollector::default(),
                )
            },
            |(a, s), (b, t)| (a.merge(b), s.merge(t)),
        );
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
