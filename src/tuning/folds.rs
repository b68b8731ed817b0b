//! Validation folds over feature blocks: seeded k-fold (stratified by label for
//! classification), each fold's training Gram statistics computed once and shared by trials.

use std::sync::OnceLock;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::{validate, Family, GramSummary, ModelError, NormalEquations};
use crate::train::split::select_rows;
use crate::train::tree_reduce;

/// One train/validation split, with its least-squares statistics cached on first use.
#[derive(Debug)]
pub struct Fold {
    /// Rows to fit on.
    pub train: Vec<FeatureBlock>,
    /// Rows to score.
    pub valid: Vec<FeatureBlock>,
    normal: OnceLock<Result<NormalEquations, String>>,
}

impl Fold {
    /// A fold from its two sides.
    pub fn new(train: Vec<FeatureBlock>, valid: Vec<FeatureBlock>) -> Self {
        Fold {
            train,
            valid,
            normal: OnceLock::new(),
        }
    }

    /// The fold's normal equations (blocks validated, one Gram pass), computed once.
    pub fn normal_equations(
        &self,
        layout: &FeatureLayout,
        family: Family,
    ) -> Result<&NormalEquations, ModelError> {
        let cached = self.normal.get_or_init(|| {
            let p = layout.width();
            for (i, b) in self.train.iter().enumerate() {
                validate(b, i, layout, family).map_err(|e| e.to_string())?;
            }
            let gram = tree_reduce(&self.train, &|b| GramSummary::from_block(b, p), &|a, b| {
                a.merge(&b)
            })
            .ok_or_else(|| ModelError::EmptyData.to_string())?;
            Ok(NormalEquations::new(gram))
        });
        cached
            .as_ref()
            .map_err(|m| ModelError::Numerical(m.clone()))
    }

    /// Whether the Gram statistics were computed.
    pub fn has_gram(&self) -> bool {
        self.normal.get().is_some()
    }
}

/// Assigns every row to one of `k` folds: rows are shuffled per block (and per label class
/// when `stratify`), then dealt round-robin with a counter that runs across blocks, so fold
/// sizes (and class shares) differ by at most one row per class. Returns `k` parts.
pub fn kfold_parts(
    blocks: &[FeatureBlock],
    k: usize,
    seed: u64,
    stratify: bool,
) -> Vec<Vec<FeatureBlock>> {
    let mut parts: Vec<Vec<FeatureBlock>> = (0..k).map(|_| Vec::new()).collect();
    let mut counters = [0usize; 2];
    for (i, block) in blocks.iter().enumerate() {
        let mut rng =
            Pcg64Mcg::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut per_fold: Vec<Vec<usize>> = vec![Vec::new(); k];
        let classes: Vec<Vec<usize>> = if stratify {
            let (pos, neg): (Vec<usize>, Vec<usize>) =
                (0..block.rows()).partition(|&r| block.label[r] > 0.5);
            vec![neg, pos]
        } else {
            vec![(0..block.rows()).collect()]
        };
        for (c, mut rows) in classes.into_iter().enumerate() {
            rows.shuffle(&mut rng);
            for r in rows {
                per_fold[counters[c] % k].push(r);
                counters[c] += 1;
            }
        }
        for (f, mut rows) in per_fold.into_iter().enumerate() {
            rows.sort_unstable();
            parts[f].push(select_rows(block, &rows));
        }
    }
    parts
}

/// The `k` folds of [`kfold_parts`]: fold `i` validates on part `i` and trains on the rest.
pub fn kfold(blocks: &[FeatureBlock], k: usize, seed: u64, stratify: bool) -> Vec<Fold> {
    let parts = kfold_parts(blocks, k, seed, stratify);
    (0..k)
        .map(|i| {
            let train = parts
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .flat_map(|(_, p)| p.iter().cloned())
                .collect();
            Fold::new(train, parts[i].clone())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    fn block(rows: usize, offset: usize) -> FeatureBlock {
        FeatureBlock {
            dense: Array2::from_shape_fn((rows, 1), |(i, _)| (i + offset) as f64),
            sparse: vec![],
            label: (0..rows)
                .map(|i| (i + offset).is_multiple_of(4) as u8 as f64)
                .collect(),
            weight: None,
        }
    }

    #[test]
    fn every_row_is_validated_exactly_once_and_classes_are_balanced() {
        let blocks = vec![block(101, 0), block(57, 101)];
        let folds = kfold(&blocks, 3, 9, true);
        let mut seen: Vec<f64> = folds
            .iter()
            .flat_map(|f| f.valid.iter().flat_map(|b| b.dense.column(0).to_vec()))
            .collect();
        seen.sort_by(f64::total_cmp);
        assert_eq!(seen, (0..158).map(|i| i as f64).collect::<Vec<_>>());
        for f in &folds {
            let rows = |bs: &[FeatureBlock]| bs.iter().map(FeatureBlock::rows).sum::<usize>();
            assert_eq!(rows(&f.train) + rows(&f.valid), 158);
            let pos: f64 = f.valid.iter().map(|b| b.label.sum()).sum();
            assert!((13.0..=14.0).contains(&pos), "{pos}");
        }
        let again = kfold(&blocks, 3, 9, true);
        assert_eq!(again[1].valid, folds[1].valid);
    }
}
