//! The local trainer: rayon across the blocks of one process, per-block pieces mapped and
//! merged in a deterministic tree, then solved.

use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::lbfgs::{minimize, LbfgsConfig};
use crate::model::{
    validate, Adam, BlockGradient, FeatureStats, GlmValidParams, GramSummary, LinearModel,
    ModelError, NormalEquations, Objective, Solver,
};

use super::TrainSummary;
use crate::merge::tree_reduce;

/// L-BFGS memory (MLlib's default).
const LBFGS_MEMORY: usize = 10;

/// Partial Gram statistics summed in parallel: the blocks are cut into this many runs of
/// consecutive blocks (a fixed number, so sums do not depend on the thread count).
const GRAM_GROUPS: usize = 4;

/// The Gram statistics of `blocks` for `p` features (`None` for no blocks): each run of
/// consecutive blocks is summed into one summary — one dense p × p matrix per run, not per
/// block — and the runs are merged in [`tree_reduce`]'s fixed tree.
pub fn gram_of(blocks: &[FeatureBlock], p: usize) -> Option<GramSummary> {
    let runs: Vec<&[FeatureBlock]> = blocks
        .chunks(blocks.len().div_ceil(GRAM_GROUPS).max(1))
        .collect();
    let sum_run = |run: &&[FeatureBlock]| {
        let mut gram = GramSummary::zeros(p);
        for block in *run {
            gram.add_block(block);
        }
        gram
    };
    tree_reduce(&runs, &sum_run, &|a, b| a.merge(&b))
}

/// Fits `params` on `blocks` laid out as `layout`, using every rayon thread.
///
/// Validates every block first (NaN/inf features, labels outside the family's domain and bad
/// weights are user errors naming the feature, block and row).
pub fn fit_local(
    params: &GlmValidParams,
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
) -> Result<(LinearModel, TrainSummary), ModelError> {
    let start = Instant::now();
    check_blocks(params, blocks, layout)?;
    let p = layout.width();
    let family = params.family();
    let rows = blocks.iter().map(FeatureBlock::rows).sum();
    let solver = params.resolved_solver(p);

    let (beta, intercept, iterations, loss_history, converged, weight) = match solver {
        Solver::Normal => {
            let gram = gram_of(blocks, p).ok_or(ModelError::EmptyData)?;
            let weight = gram.weight;
            if weight <= 0.0 {
                return Err(ModelError::EmptyData);
            }
            let s = NormalEquations::new(gram).solve(params)?;
            (
                s.coefficients.to_vec(),
                s.intercept,
                s.iterations,
                vec![s.objective],
                s.converged,
                weight,
            )
        }
        Solver::Lbfgs | Solver::Sgd | Solver::Auto => {
            let stats = tree_reduce(blocks, &|b| FeatureStats::from_block(b, p), &|a, b| {
                a.merge(&b)
            })
            .ok_or(ModelError::EmptyData)?;
            if stats.weight <= 0.0 {
                return Err(ModelError::EmptyData);
            }
            let obj = Objective::new(&stats, params);
            let start_intercept = if params.fit_intercept() {
                family.link(stats.label_mean())
            } else {
                0.0
            };
            let x0 = obj.from_model(&vec![0.0; p], start_intercept);
            let evaluate = |u: &[f64]| {
                let (beta, b) = obj.to_model(u);
                let sum = tree_reduce(
                    blocks,
                    &|blk| BlockGradient::compute(family, blk, 0..blk.rows(), &beta, b),
                    &|a, b| a.merge(&b),
                )
                .expect("blocks are not empty");
                obj.smooth(u, &sum)
            };
            let (u, iterations, history, converged) = if solver == Solver::Sgd {
                sgd(params, blocks, &obj, x0, &evaluate)
            } else {
                let cfg = LbfgsConfig {
                    memory: LBFGS_MEMORY,
                    max_iter: params.max_iter(),
                    tol: params.tol(),
                };
                let m = minimize(evaluate, x0, &obj.l1_weights(), cfg);
                (m.x, m.iterations, m.history, m.converged)
            };
            let (beta, b) = obj.to_model(&u);
            (beta, b, iterations, history, converged, stats.weight)
        }
    };
    if beta.iter().any(|v| !v.is_finite()) || !intercept.is_finite() {
        return Err(ModelError::Numerical(format!(
            "{solver} diverged (non-finite coefficients)"
        )));
    }
    let model = LinearModel {
        family,
        coefficients: beta.into(),
        intercept,
        feature_names: layout.names.clone(),
        params: params.clone(),
    };
    let summary = TrainSummary {
        solver,
        iterations,
        loss_history,
        converged,
        rows,
        weight,
        features: p,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((model, summary))
}

/// Validates all blocks in parallel and reports the error of the first bad block.
fn check_blocks(
    params: &GlmValidParams,
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
) -> Result<(), ModelError> {
    use rayon::prelude::*;
    if layout.dense > layout.width() {
        return Err(ModelError::Shape {
            block: 0,
            message: "layout has more dense features than names".into(),
        });
    }
    let results: Vec<Result<(), ModelError>> = blocks
        .par_iter()
        .enumerate()
        .map(|(i, b)| validate(b, i, layout, params.family()))
        .collect();
    results.into_iter().collect::<Result<(), _>>()?;
    if blocks.iter().all(|b| b.rows() == 0) {
        return Err(ModelError::EmptyData);
    }
    Ok(())
}

/// Mini-batch Adam over shuffled row ranges; one epoch per iteration, the full objective
/// recorded after each epoch.
fn sgd<E>(
    params: &GlmValidParams,
    blocks: &[FeatureBlock],
    obj: &Objective,
    x0: Vec<f64>,
    evaluate: &E,
) -> (Vec<f64>, usize, Vec<f64>, bool)
where
    E: Fn(&[f64]) -> (f64, Vec<f64>),
{
    let l1 = obj.l1_weights();
    let value = |u: &[f64]| evaluate(u).0 + obj.l1_value(u);
    let mut batches: Vec<(usize, std::ops::Range<usize>)> = Vec::new();
    for (i, b) in blocks.iter().enumerate() {
        let mut start = 0;
        while start < b.rows() {
            let end = (start + params.batch_size()).min(b.rows());
            batches.push((i, start..end));
            start = end;
        }
    }
    let mut rng = rand_pcg::Pcg64::seed_from_u64(params.seed());
    let mut adam = Adam::new(x0.len(), params.learning_rate());
    let mut u = x0;
    let mut history = vec![value(&u)];
    for epoch in 1..=params.max_iter() {
        batches.shuffle(&mut rng);
        for (i, rows) in &batches {
            let (beta, b) = obj.to_model(&u);
            let g = BlockGradient::compute(params.family(), &blocks[*i], rows.clone(), &beta, b);
            if g.weight > 0.0 {
                let (_, grad) = obj.smooth(&u, &g);
                adam.step(&mut u, &grad, &l1);
            }
        }
        let v = value(&u);
        let previous = *history
            .last()
            .expect("history starts with the initial value");
        history.push(v);
        if !v.is_finite() {
            return (u, epoch, history, false);
        }
        if params.tol() > 0.0 && (previous - v).abs() <= params.tol() * v.abs() {
            return (u, epoch, history, true);
        }
    }
    (u, params.max_iter(), history, false)
}
