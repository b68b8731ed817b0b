//! The local trainer: the learners' sums over the blocks of one process, each block mapped on
//! rayon and merged in a deterministic tree (bit-identical whatever the thread count).

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::glm::{
    BlockGradient, FeatureStats, GlmValidParams, GramSummary, NormalEquations, Objective,
};
use crate::model::solve::{Adam, SolverRun};
use crate::model::trees::Source;

use super::blocks::Blocks;
use super::local_trees::LocalTrees;
use super::store::MemoryBudget;
use crate::model::{validate, Family, GlmSums, Learner, Model, ModelError, TrainSummary, Trainer};

/// The Gram statistics of `blocks` for `p` features (`None` for no blocks): one summary per
/// block, merged in [`tree_reduce`]'s fixed tree over block order — the very sums, in the very
/// order, a parameter-server shard forms from the workers' per-partition pushes, so a
/// distributed fit equals the local one bit for bit.
pub fn gram_of(blocks: &[FeatureBlock], p: usize) -> Option<GramSummary> {
    gram_over(Blocks::Held(blocks), p).unwrap_or(None)
}

/// [`gram_of`] wherever the blocks are (a store's may fail to load).
fn gram_over(blocks: Blocks<'_>, p: usize) -> Result<Option<GramSummary>, ModelError> {
    blocks.reduce(&|b| GramSummary::from_block(b, p), &|a, b| a.merge(&b))
}

/// The sums of the blocks of this process.
#[derive(Debug)]
pub struct LocalSums<'a> {
    pub(super) blocks: Blocks<'a>,
    normal: Normal<'a>,
    /// Validation blocks trees report their loss on (and stop early by).
    pub(super) valid: Blocks<'a>,
    pub(super) tree_sources: Vec<(Source, String)>,
    pub(super) trees: Option<Box<LocalTrees>>,
    /// The budget a tree fit's binned rows are charged to, with each training row's state
    /// besides its bins in bytes (none: unbounded).
    pub(super) held: Option<(&'a MemoryBudget, u64)>,
}

/// The normal equations: computed on first use, or shared (a tuning fold's, computed once and
/// solved for every trial — their factorisations are cached inside).
#[derive(Debug)]
enum Normal<'a> {
    Computed(Option<Box<NormalEquations>>),
    Shared(&'a NormalEquations),
}

impl<'a> LocalSums<'a> {
    /// The sums of `blocks`, which the caller has validated.
    pub fn new(blocks: &'a [FeatureBlock]) -> Self {
        LocalSums::over(Blocks::Held(blocks))
    }

    /// The sums of blocks wherever they are (a job's [`BlockStore`](super::store::BlockStore)
    /// validates its blocks as it makes them).
    pub fn over(blocks: Blocks<'a>) -> Self {
        LocalSums {
            blocks,
            normal: Normal::Computed(None),
            valid: Blocks::Held(&[]),
            tree_sources: Vec::new(),
            trees: None,
            held: None,
        }
    }

    /// These sums, with `valid` as the validation rows trees report (and stop early) on.
    pub fn with_validation(mut self, valid: Blocks<'a>) -> Self {
        self.valid = valid;
        self
    }

    /// These sums, charging what a tree fit holds per row (`row_state` bytes a training row
    /// besides its bins) to `budget`: a fit it cannot hold is refused before its first tree.
    pub fn within(mut self, budget: &'a MemoryBudget, row_state: u64) -> Self {
        self.held = Some((budget, row_state));
        self
    }

    /// The sums of `blocks` whose normal equations are already known (tuning's cached folds,
    /// whose blocks may be empty when only the statistics are kept).
    pub fn sharing(blocks: &'a [FeatureBlock], normal: &'a NormalEquations) -> Self {
        LocalSums {
            normal: Normal::Shared(normal),
            ..LocalSums::new(blocks)
        }
    }

    /// The loss gradient over every block.
    fn gradient(&self, family: Family, beta: &[f64], b: f64) -> Result<BlockGradient, ModelError> {
        let total = self.blocks.reduce(
            &|blk| BlockGradient::compute(family, blk, 0..blk.rows(), beta, b),
            &|x, y| x.merge(&y),
        )?;
        Ok(total.unwrap_or_else(|| BlockGradient::zeros(beta.len())))
    }

    /// One epoch of mini-batch Adam: blocks in a shuffled order, each block's batches in a
    /// shuffled order, so a block is loaded once per epoch wherever it lives.
    fn sgd_epoch(
        &self,
        params: &GlmValidParams,
        obj: &Objective,
        rng: &mut rand_pcg::Pcg64,
        (adam, u): (&mut Adam, &mut Vec<f64>),
        block_rows: &[usize],
    ) -> Result<(), ModelError> {
        let family = params.family();
        let l1 = obj.l1_weights();
        let mut order: Vec<usize> = (0..block_rows.len()).collect();
        order.shuffle(rng);
        for i in order {
            let mut starts: Vec<usize> = (0..block_rows[i]).step_by(params.batch_size()).collect();
            starts.shuffle(rng);
            self.blocks.with_block(i, |blk| {
                for s in starts {
                    let rows = s..(s + params.batch_size()).min(blk.rows());
                    let (beta, b) = obj.to_model(u);
                    let g = BlockGradient::compute(family, blk, rows, &beta, b);
                    if g.weight > 0.0 {
                        let (_, grad) = obj.smooth(u, &g);
                        adam.step(u, &grad, &l1);
                    }
                }
            })?;
        }
        Ok(())
    }
}

impl Trainer for LocalSums<'_> {
    type Error = ModelError;

    fn rows(&self) -> usize {
        match self.normal {
            Normal::Shared(n) if self.blocks.is_empty() => n.gram().weight as usize,
            _ => self.blocks.rows() as usize,
        }
    }
}

impl GlmSums for LocalSums<'_> {
    fn normal_equations(&mut self, layout: &FeatureLayout) -> Result<&NormalEquations, ModelError> {
        let blocks = self.blocks;
        match &mut self.normal {
            Normal::Shared(normal) => Ok(normal),
            Normal::Computed(cached) => {
                if cached.is_none() {
                    let gram = gram_over(blocks, layout.width())?.ok_or(ModelError::EmptyData)?;
                    if gram.weight <= 0.0 {
                        return Err(ModelError::EmptyData);
                    }
                    *cached = Some(Box::new(NormalEquations::new(gram)));
                }
                cached.as_deref().ok_or(ModelError::EmptyData)
            }
        }
    }

    fn feature_stats(&mut self, layout: &FeatureLayout) -> Result<FeatureStats, ModelError> {
        let p = layout.width();
        self.blocks
            .reduce(&|b| FeatureStats::from_block(b, p), &|a, b| a.merge(&b))?
            .ok_or(ModelError::EmptyData)
    }

    fn loss_gradient(
        &mut self,
        family: Family,
        beta: &[f64],
        intercept: f64,
    ) -> Result<BlockGradient, ModelError> {
        self.gradient(family, beta, intercept)
    }

    /// Mini-batch Adam over shuffled row ranges of the blocks (see [`LocalSums::sgd_epoch`]);
    /// one epoch per iteration, the full objective recorded after each epoch.
    fn sgd(
        &mut self,
        params: &GlmValidParams,
        obj: &Objective,
        start: Vec<f64>,
    ) -> Result<SolverRun, ModelError> {
        let family = params.family();
        let value = |u: &[f64]| -> Result<f64, ModelError> {
            let (beta, b) = obj.to_model(u);
            Ok(obj.smooth(u, &self.gradient(family, &beta, b)?).0 + obj.l1_value(u))
        };
        let block_rows = (0..self.blocks.len())
            .map(|i| self.blocks.block_rows(i))
            .collect::<Result<Vec<_>, _>>()?;
        let mut rng = rand_pcg::Pcg64::seed_from_u64(params.seed());
        let mut adam = Adam::new(start.len(), params.learning_rate());
        let mut u = start;
        let mut history = vec![value(&u)?];
        for epoch in 1..=params.max_iter() {
            self.sgd_epoch(params, obj, &mut rng, (&mut adam, &mut u), &block_rows)?;
            let v = value(&u)?;
            let previous = history[history.len() - 1];
            history.push(v);
            let converged = params.tol() > 0.0 && (previous - v).abs() <= params.tol() * v.abs();
            if !v.is_finite() || converged {
                return Ok(SolverRun {
                    x: u,
                    iterations: epoch,
                    history,
                    converged,
                });
            }
        }
        Ok(SolverRun {
            x: u,
            iterations: params.max_iter(),
            history,
            converged: false,
        })
    }
}

/// Fits `learner` on `blocks` laid out as `layout`, using every rayon thread.
///
/// Validates every block first (NaN/inf features, labels the learner does not accept and bad
/// weights are user errors naming the feature, block and row).
pub fn fit_local(
    learner: &Learner,
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
) -> Result<(Model, TrainSummary), ModelError> {
    fit_local_with(learner, blocks, &[], layout)
}

/// [`fit_local`] with validation rows (already validated), on which trees report their loss
/// per iteration and stop early.
pub fn fit_local_with(
    learner: &Learner,
    blocks: &[FeatureBlock],
    valid: &[FeatureBlock],
    layout: &FeatureLayout,
) -> Result<(Model, TrainSummary), ModelError> {
    check_blocks(learner, blocks, layout)?;
    learner.fit(
        layout,
        &mut LocalSums::new(blocks).with_validation(Blocks::Held(valid)),
    )
}

/// Validates all blocks in parallel and reports the error of the first bad block.
pub fn check_blocks(
    learner: &Learner,
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
        .map(|(i, b)| validate(b, i, layout, &learner.params))
        .collect();
    results.into_iter().collect::<Result<(), _>>()?;
    if blocks.iter().all(|b| b.rows() == 0) {
        return Err(ModelError::EmptyData);
    }
    Ok(())
}
