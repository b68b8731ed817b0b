//! Distributed SGD's per-partition piece: the mini-batches of a partition in an epoch, and a
//! batch's gradient in the solver's coordinates, un-normalised so that shards can sum
//! partitions and divide by the summed weight.

use std::ops::Range;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::feature::FeatureBlock;
use crate::model::glm::{BlockGradient, Objective};
use crate::model::Family;

/// The row ranges of `rows` rows in batches of `batch`, shuffled for `epoch` of `partition`
/// (the same on every worker, so a reassigned partition replays identically).
pub(crate) fn batches(
    rows: usize,
    batch: usize,
    seed: u64,
    epoch: u64,
    partition: usize,
) -> Vec<Range<usize>> {
    let batch = batch.max(1);
    let mut out: Vec<Range<usize>> = (0..rows)
        .step_by(batch)
        .map(|s| s..(s + batch).min(rows))
        .collect();
    let stream = seed
        ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (partition as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    out.shuffle(&mut rand_pcg::Pcg64::seed_from_u64(stream));
    out
}

/// Clocks per epoch: the most batches any partition has.
pub(crate) fn clocks_per_epoch(rows: &[usize], batch: usize) -> u64 {
    rows.iter()
        .map(|r| r.div_ceil(batch.max(1)) as u64)
        .max()
        .unwrap_or(0)
}

/// The gradient of the mean loss on `rows` in `u` coordinates, times the batch weight
/// (without the L2 term, which the shard adds): `[(∇βⱼ − μⱼ∂b)/sⱼ…, ∂b]`, and the weight.
pub(crate) fn batch_gradient(
    obj: &Objective,
    family: Family,
    block: &FeatureBlock,
    rows: Range<usize>,
    u: &[f64],
) -> (f64, Vec<f64>) {
    let (beta, b) = obj.to_model(u);
    let g = BlockGradient::compute(family, block, rows, &beta, b);
    let mut out = Vec::with_capacity(obj.dim());
    for j in 0..obj.features() {
        out.push((g.grad[j] - obj.centre()[j] * g.grad_intercept) / obj.scale()[j]);
    }
    if obj.dim() > obj.features() {
        out.push(g.grad_intercept);
    }
    (g.weight, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_row_once_and_replay() {
        let b = batches(10, 3, 7, 2, 1);
        let mut rows: Vec<usize> = b.iter().flat_map(Clone::clone).collect();
        rows.sort_unstable();
        assert_eq!(rows, (0..10).collect::<Vec<_>>());
        assert_eq!(b, batches(10, 3, 7, 2, 1));
        assert_eq!(clocks_per_epoch(&[10, 4, 0], 3), 4);
    }
}
