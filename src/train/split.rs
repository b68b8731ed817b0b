//! A seeded random hold-out of rows, for jobs without a validation file.

use ndarray::Axis;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::feature::{FeatureBlock, SparseColumn};

/// Splits every block's rows into (train, holdout), each row held out with probability
/// `fraction`; block `i` uses its own stream of `seed`, so the split does not depend on threads.
pub fn holdout(
    blocks: Vec<FeatureBlock>,
    fraction: f64,
    seed: u64,
) -> (Vec<FeatureBlock>, Vec<FeatureBlock>) {
    blocks
        .into_iter()
        .enumerate()
        .map(|(i, block)| {
            let mut rng =
                Pcg64Mcg::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let (mut kept, mut held) = (Vec::new(), Vec::new());
            for row in 0..block.rows() {
                if rng.random::<f64>() < fraction {
                    held.push(row)
                } else {
                    kept.push(row)
                }
            }
            (select_rows(&block, &kept), select_rows(&block, &held))
        })
        .unzip()
}

/// The given rows of a block, in order.
pub fn select_rows(block: &FeatureBlock, rows: &[usize]) -> FeatureBlock {
    let sparse = block
        .sparse
        .iter()
        .map(|s| SparseColumn {
            offset: s.offset,
            width: s.width,
            indices: rows.iter().map(|&r| s.indices[r]).collect(),
            values: s
                .values
                .as_ref()
                .map(|v| rows.iter().map(|&r| v[r]).collect()),
        })
        .collect();
    FeatureBlock {
        dense: block.dense.select(Axis(0), rows),
        sparse,
        label: block.label.select(Axis(0), rows),
        weight: block.weight.as_ref().map(|w| w.select(Axis(0), rows)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array2};

    #[test]
    fn every_row_lands_on_exactly_one_side() {
        let block = FeatureBlock {
            dense: Array2::from_shape_fn((1000, 2), |(i, j)| (i * 2 + j) as f64),
            sparse: vec![SparseColumn {
                offset: 2,
                width: 5,
                indices: (0..1000).map(|i| i % 5).collect(),
                values: None,
            }],
            label: (0..1000).map(|i| i as f64).collect(),
            weight: None,
        };
        let (train, held) = holdout(vec![block.clone()], 0.2, 7);
        assert_eq!(train[0].rows() + held[0].rows(), 1000);
        assert!((150..250).contains(&held[0].rows()));
        let mut labels: Vec<f64> = train[0]
            .label
            .iter()
            .chain(held[0].label.iter())
            .copied()
            .collect();
        labels.sort_by(f64::total_cmp);
        assert_eq!(labels, block.label.to_vec());
        let first = held[0].label[0] as usize;
        assert_eq!(
            held[0].dense.row(0),
            array![(first * 2) as f64, (first * 2 + 1) as f64]
        );
        assert_eq!(held[0].sparse[0].indices[0] as usize, first % 5);
        assert_eq!(holdout(vec![block], 0.2, 7).1[0].label, held[0].label);
    }
}
