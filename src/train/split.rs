//! Dividing raw rows between fitting and validation. The split is decided per partition
//! before any feature work, so the feature pipeline is fitted without the validation rows
//! (as Spark's CrossValidator refits a whole Pipeline per fold), and it depends only on the
//! seed and the partition, never on thread timing.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{BooleanArray, RecordBatch};
use arrow_schema::DataType;
use ndarray::Axis;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

use crate::data::DataSource;
use crate::feature::{
    DropCounts, FeatureBlock, FeatureError, FittedPipeline, PipelineSpec, SparseColumn, Transformed,
};

/// How rows are divided into parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RowSplit {
    /// Part 1 (validation) holds each row with probability `fraction`; part 0 the rest.
    Holdout {
        /// Share of rows held out.
        fraction: f64,
        /// Seed.
        seed: u64,
    },
    /// `k` folds of near-equal size in every partition (per class when stratified).
    KFold {
        /// Number of folds.
        k: usize,
        /// Seed.
        seed: u64,
    },
}

impl RowSplit {
    /// The part (0-based) of every row of partition `index`; `classes` (row > 0.5) stratifies
    /// k-fold splits for classification.
    pub fn assign(&self, index: usize, rows: usize, classes: Option<&[bool]>) -> Vec<u8> {
        match *self {
            RowSplit::Holdout { fraction, seed } => {
                let mut rng = stream(seed, index);
                (0..rows)
                    .map(|_| u8::from(rng.random::<f64>() < fraction))
                    .collect()
            }
            RowSplit::KFold { k, seed } => {
                let mut rng = stream(seed, index);
                let mut parts = vec![0u8; rows];
                let groups: Vec<Vec<usize>> = match classes {
                    Some(c) => {
                        let (pos, neg): (Vec<usize>, Vec<usize>) = (0..rows).partition(|&r| c[r]);
                        vec![neg, pos]
                    }
                    None => vec![(0..rows).collect()],
                };
                // Dealing shuffled rows round-robin keeps folds balanced; the start rotates
                // with the partition so small partitions do not all fill fold 0 first.
                for (g, mut group) in groups.into_iter().enumerate() {
                    group.shuffle(&mut rng);
                    for (i, r) in group.into_iter().enumerate() {
                        parts[r] = ((i + index + g) % k) as u8;
                    }
                }
                parts
            }
        }
    }
}

fn stream(seed: u64, index: usize) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// The rows of `batch` whose part satisfies `keep`.
pub fn take_parts(
    batch: &RecordBatch,
    parts: &[u8],
    keep: impl Fn(u8) -> bool,
) -> Result<RecordBatch, FeatureError> {
    let mask = BooleanArray::from(parts.iter().map(|&p| keep(p)).collect::<Vec<bool>>());
    arrow_select::filter::filter_record_batch(batch, &mask).map_err(|e| FeatureError::Internal {
        stage: "RowSplit".into(),
        message: e.to_string(),
    })
}

/// A pipeline fitted on every part but `valid_part`, and both sides transformed with it.
#[derive(Debug)]
pub struct SplitData {
    /// Fitted on the fitting rows only.
    pub pipeline: FittedPipeline,
    /// The fitting rows, transformed (with rows read and dropped).
    pub train: Transformed,
    /// The validation rows, transformed.
    pub valid: Vec<FeatureBlock>,
}

/// Fits `spec` on the rows outside `valid_part` and transforms both sides, partition by
/// partition. `label` (a raw column) stratifies k-fold splits when given.
pub fn fit_split(
    spec: &PipelineSpec,
    source: &DataSource,
    split: RowSplit,
    valid_part: u8,
    label: Option<&str>,
    progress: &(dyn Fn() + Sync),
) -> Result<SplitData, FeatureError> {
    let parts_of = |index: usize, batch: &RecordBatch| parts_of(split, label, index, batch);
    let pipeline = spec.fit_where(
        source,
        &|p, batch| take_parts(&batch, &parts_of(p.index, &batch), |x| x != valid_part),
        progress,
    )?;
    let columns = pipeline.input_columns();
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let projection = source.projection(&names)?;
    let sides = source.map_partitions(
        &projection,
        |p, batch| {
            let parts = parts_of(p.index, &batch);
            let fit =
                pipeline.transform_counted(&take_parts(&batch, &parts, |x| x != valid_part)?)?;
            let valid = pipeline.transform(&take_parts(&batch, &parts, |x| x == valid_part)?)?;
            Ok::<_, FeatureError>((fit, valid, batch.num_rows() as u64))
        },
        progress,
    )?;
    Ok(gather(pipeline, sides))
}

/// The part of every row of partitions already in memory (batch `i` is partition `i`, so the
/// parts are those [`fit_split`] would draw), stratified by the raw `label` column if given: a
/// sweep reads its files and draws its folds once (see `PipelineSpec::parted`).
pub fn assign_parts(batches: &[RecordBatch], split: RowSplit, label: Option<&str>) -> Vec<Vec<u8>> {
    batches
        .par_iter()
        .enumerate()
        .map(|(i, b)| parts_of(split, label, i, b))
        .collect()
}

/// The part of every row of partition `index`, stratified by the raw `label` column if given.
pub(crate) fn parts_of(
    split: RowSplit,
    label: Option<&str>,
    index: usize,
    batch: &RecordBatch,
) -> Vec<u8> {
    let classes = label.and_then(|l| batch.column_by_name(l)).and_then(|c| {
        let floats = arrow_cast::cast(c, &DataType::Float64).ok()?;
        let floats = floats.as_primitive::<Float64Type>();
        Some(
            floats
                .iter()
                .map(|v| v.unwrap_or(0.0) > 0.5)
                .collect::<Vec<_>>(),
        )
    });
    split.assign(index, batch.num_rows(), classes.as_deref())
}

/// One partition's two sides: the fitting rows (with drop counts), the validation rows, rows read.
type Sides = Vec<((FeatureBlock, DropCounts), FeatureBlock, u64)>;

/// Both sides of every partition, collected into one [`SplitData`].
fn gather(pipeline: FittedPipeline, sides: Sides) -> SplitData {
    let mut train = Transformed {
        blocks: Vec::new(),
        rows_read: 0,
        dropped: DropCounts::default(),
    };
    let mut valid = Vec::with_capacity(sides.len());
    for ((block, dropped), held, rows) in sides {
        train.blocks.push(block);
        train.dropped.merge(&dropped);
        train.rows_read += rows;
        valid.push(held);
    }
    SplitData {
        pipeline,
        train,
        valid,
    }
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

    #[test]
    fn holdout_is_seeded_per_partition() {
        let split = RowSplit::Holdout {
            fraction: 0.2,
            seed: 7,
        };
        let a = split.assign(3, 10_000, None);
        assert_eq!(a, split.assign(3, 10_000, None));
        assert_ne!(a, split.assign(4, 10_000, None));
        let held = a.iter().filter(|&&p| p == 1).count();
        assert!((1800..2200).contains(&held), "{held}");
    }

    #[test]
    fn kfold_parts_are_balanced_and_stratified() {
        let split = RowSplit::KFold { k: 3, seed: 1 };
        let classes: Vec<bool> = (0..300).map(|i| i % 10 == 0).collect(); // 30 positives
        let parts = split.assign(0, 300, Some(&classes));
        for f in 0..3u8 {
            let rows: Vec<usize> = (0..300).filter(|&r| parts[r] == f).collect();
            assert_eq!(rows.len(), 100);
            assert_eq!(rows.iter().filter(|&&r| classes[r]).count(), 10);
        }
    }

    #[test]
    fn select_rows_keeps_every_column_aligned() {
        let block = FeatureBlock {
            dense: ndarray::Array2::from_shape_fn((10, 2), |(i, j)| (i * 2 + j) as f64),
            sparse: vec![SparseColumn {
                offset: 2,
                width: 5,
                indices: (0..10).map(|i| i % 5).collect(),
                values: None,
            }],
            label: (0..10).map(|i| i as f64).collect(),
            weight: None,
        };
        let picked = select_rows(&block, &[7, 2]);
        assert_eq!(picked.label.to_vec(), vec![7.0, 2.0]);
        assert_eq!(picked.dense.row(0).to_vec(), vec![14.0, 15.0]);
        assert_eq!(picked.sparse[0].indices, vec![2, 2]);
    }
}
