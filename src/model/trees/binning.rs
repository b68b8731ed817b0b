//! Features as bins. Numeric features get bin upper bounds from a mergeable sketch of their
//! values (LightGBM's greedy equal-count binning over the distinct values, zero in a bin of its
//! own, NaN in the last bin when there is any); categorical features (category indices) get a
//! bin per category, bin 0 holding NaN, unseen and out-of-range categories. A binned column
//! costs one byte per row (two when a feature has more than 256 bins), never an `f64`.

use serde::{Deserialize, Serialize};

use crate::feature::{FeatureBlock, FeatureLayout, SparseColumn};
use crate::merge::exact_float::real;

/// Values within this many mantissa bits of each other share a sketch key (relative
/// resolution 2^-12 ≈ 2.4e-4): at most 4,096 keys per power of two.
const KEY_BITS: u32 = 12;

/// |v| at most this counts as zero (LightGBM's `kZeroThreshold`).
pub const ZERO: f64 = 1e-35;

/// LightGBM's `min_data_in_bin`: a bin holds at least this many sketched values.
const MIN_DATA_IN_BIN: u64 = 3;

/// How many values of one key, and the smallest and largest of them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct KeyStats {
    count: u64,
    #[serde(with = "real")]
    min: f64,
    #[serde(with = "real")]
    max: f64,
}

/// A mergeable sketch of one feature's values: counts per value key (values equal in their top
/// 12 mantissa bits share a key), zeros and NaNs counted apart. Merging adds counts and takes
/// minima and maxima, so the merged sketch — and the bins made from it — are the same whatever
/// the partitioning or merge order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValueSketch {
    keys: Vec<(u64, KeyStats)>,
    zeros: u64,
    nans: u64,
}

/// The order-preserving key of a non-zero finite value.
fn key(x: f64) -> u64 {
    let bits = x.to_bits();
    let ordered = if x.is_sign_negative() {
        !bits
    } else {
        bits | (1 << 63)
    };
    ordered >> (52 - KEY_BITS)
}

impl ValueSketch {
    /// The sketch of `values`.
    pub fn of(values: impl Iterator<Item = f64>) -> Self {
        let (mut zeros, mut nans) = (0, 0);
        let mut keyed: Vec<(u64, f64)> = Vec::with_capacity(values.size_hint().0);
        for x in values {
            if x.is_nan() {
                nans += 1;
            } else if x.abs() <= ZERO {
                zeros += 1;
            } else {
                keyed.push((key(x), x));
            }
        }
        keyed.sort_unstable_by_key(|&(k, _)| k);
        let mut keys: Vec<(u64, KeyStats)> = Vec::new();
        for (k, x) in keyed {
            match keys.last_mut() {
                Some((last, s)) if *last == k => {
                    s.count += 1;
                    s.min = s.min.min(x);
                    s.max = s.max.max(x);
                }
                _ => keys.push((
                    k,
                    KeyStats {
                        count: 1,
                        min: x,
                        max: x,
                    },
                )),
            }
        }
        ValueSketch { keys, zeros, nans }
    }

    /// Adds `other` into `self`.
    pub fn merge(mut self, other: &ValueSketch) -> Self {
        let mut merged = Vec::with_capacity(self.keys.len() + other.keys.len());
        let (mut a, mut b) = (self.keys.iter().peekable(), other.keys.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    let (k, s, t) = (x.0, x.1, y.1);
                    a.next();
                    b.next();
                    let stats = KeyStats {
                        count: s.count + t.count,
                        min: s.min.min(t.min),
                        max: s.max.max(t.max),
                    };
                    (k, stats)
                }
                (Some(x), Some(y)) if x.0 < y.0 => *a.next().expect("peeked"),
                (Some(_), Some(_)) => *b.next().expect("peeked"),
                (Some(_), None) => *a.next().expect("peeked"),
                (None, Some(_)) => *b.next().expect("peeked"),
                (None, None) => break,
            };
            merged.push(next);
        }
        self.keys = merged;
        self.zeros += other.zeros;
        self.nans += other.nans;
        self
    }

    /// Distinct values sketched, NaN aside (exact for integers below 4,096, a lower bound above).
    pub fn distinct(&self) -> usize {
        self.keys.len() + usize::from(self.zeros > 0)
    }

    /// Values sketched (NaN included).
    pub fn count(&self) -> u64 {
        self.keys.iter().map(|(_, s)| s.count).sum::<u64>() + self.zeros + self.nans
    }

    /// The value whose rank is `q` of the non-NaN values (a key's midpoint: within 2^-12 of
    /// it relatively); `None` without values.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count() - self.nans;
        if total == 0 {
            return None;
        }
        let target = ((total - 1) as f64 * q.clamp(0.0, 1.0)).round() as u64;
        let mut seen = 0u64;
        let negatives = self.keys.iter().filter(|(_, s)| s.max < 0.0);
        let positives = self.keys.iter().filter(|(_, s)| s.min > 0.0);
        for (_, s) in negatives {
            seen += s.count;
            if seen > target {
                return Some(0.5 * (s.min + s.max));
            }
        }
        seen += self.zeros;
        if seen > target {
            return Some(0.0);
        }
        for (_, s) in positives {
            seen += s.count;
            if seen > target {
                return Some(0.5 * (s.min + s.max));
            }
        }
        self.keys.last().map(|(_, s)| s.max)
    }

    /// Bin upper bounds for at most `max_bins` bins (the NaN bin, when there are NaNs, is one of
    /// them): LightGBM's `FindBinWithZeroAsOneBin` over the sketch's keys.
    fn upper_bounds(&self, max_bins: usize) -> Vec<f64> {
        let max_bins = max_bins - usize::from(self.nans > 0);
        let negative: Vec<(f64, f64, u64)> = self
            .keys
            .iter()
            .filter(|(_, s)| s.max < 0.0)
            .map(|(_, s)| (s.min, s.max, s.count))
            .collect();
        let positive: Vec<(f64, f64, u64)> = self
            .keys
            .iter()
            .filter(|(_, s)| s.min > 0.0)
            .map(|(_, s)| (s.min, s.max, s.count))
            .collect();
        let count = |v: &[(f64, f64, u64)]| v.iter().map(|x| x.2).sum::<u64>();
        let (left, right) = (count(&negative), count(&positive));
        let total = (left + right + self.zeros).max(1);
        let mut bounds = Vec::new();
        if left > 0 && max_bins > 1 {
            let share = (left as f64 / total as f64 * (max_bins - 1) as f64) as usize;
            bounds = greedy_bins(&negative, share.max(1), left);
            *bounds.last_mut().expect("at least +inf") = -ZERO;
        }
        let rest = max_bins.saturating_sub(1 + bounds.len());
        if right > 0 && rest > 0 {
            bounds.push(ZERO);
            bounds.extend(greedy_bins(&positive, rest, right));
        } else {
            bounds.push(f64::INFINITY);
        }
        bounds
    }
}

/// LightGBM's `GreedyFindBin` over sorted distinct values given as (min, max, count) groups:
/// upper bounds of at most `max_bins` bins of about equal counts (a group never split), the
/// last +∞.
fn greedy_bins(values: &[(f64, f64, u64)], max_bins: usize, total: u64) -> Vec<f64> {
    let n = values.len();
    let between = |i: usize| next_up(0.5 * (values[i].1 + values[i + 1].0));
    let mut bounds: Vec<f64> = Vec::new();
    let push = |b: f64, bounds: &mut Vec<f64>| {
        if bounds.last() != Some(&b) {
            bounds.push(b);
        }
    };
    if n <= max_bins {
        let mut cur = 0;
        for (i, value) in values.iter().enumerate().take(n.saturating_sub(1)) {
            cur += value.2;
            if cur >= MIN_DATA_IN_BIN {
                push(between(i), &mut bounds);
                cur = 0;
            }
        }
        bounds.push(f64::INFINITY);
        return bounds;
    }
    let max_bins = max_bins
        .min((total / MIN_DATA_IN_BIN).max(1) as usize)
        .max(1);
    let mut mean = total as f64 / max_bins as f64;
    let big: Vec<bool> = values.iter().map(|v| v.2 as f64 >= mean).collect();
    let mut rest_bins = max_bins;
    let mut rest_count = total;
    for (i, v) in values.iter().enumerate() {
        if big[i] {
            rest_bins -= 1;
            rest_count -= v.2;
        }
    }
    mean = rest_count as f64 / rest_bins.max(1) as f64;
    let mut cuts: Vec<usize> = Vec::new();
    let mut cur = 0u64;
    for i in 0..n - 1 {
        if !big[i] {
            rest_count -= values[i].2;
        }
        cur += values[i].2;
        let next_big = big[i + 1] && cur as f64 >= (mean * 0.5).max(1.0);
        if big[i] || cur as f64 >= mean || next_big {
            cuts.push(i);
            if cuts.len() + 1 >= max_bins {
                break;
            }
            cur = 0;
            if !big[i] {
                rest_bins = rest_bins.saturating_sub(1);
                mean = rest_count as f64 / rest_bins.max(1) as f64;
            }
        }
    }
    for i in cuts {
        push(between(i), &mut bounds);
    }
    bounds.push(f64::INFINITY);
    bounds
}

/// The next float above `x` (LightGBM's `GetDoubleUpperBound`).
fn next_up(x: f64) -> f64 {
    if x.is_nan() || x == f64::INFINITY {
        return x;
    }
    let bits = x.to_bits();
    let next = if x == 0.0 {
        1
    } else if x > 0.0 {
        bits + 1
    } else {
        bits - 1
    };
    f64::from_bits(next)
}

/// How one feature's values become bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum FeatureBins {
    /// A numeric feature: bin b holds values in (upper[b−1], upper[b]]; NaN goes to `nan_bin`
    /// when the training data had NaN, else where 0 goes.
    Numeric {
        /// Upper bound of each bin (the last +∞).
        #[serde(with = "crate::merge::exact_float::reals")]
        upper: Vec<f64>,
        /// The NaN bin (the last one), if any.
        nan_bin: Option<usize>,
    },
    /// A categorical feature: category index c (0-based) is bin c + 1 when c + 1 < `bins`; bin 0
    /// holds NaN, negative, unseen and out-of-range categories.
    Categorical {
        /// Bins, bin 0 included.
        bins: usize,
        /// Categories the training rows have (LightGBM's count for `max_cat_to_onehot`).
        #[serde(default)]
        seen: usize,
    },
}

impl FeatureBins {
    /// Number of bins.
    pub fn len(&self) -> usize {
        match self {
            FeatureBins::Numeric { upper, nan_bin } => upper.len() + usize::from(nan_bin.is_some()),
            FeatureBins::Categorical { bins, .. } => *bins,
        }
    }

    /// Whether the feature has no bins (never: a feature has at least one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The NaN bin of a numeric feature that had NaN.
    pub fn nan_bin(&self) -> Option<usize> {
        match self {
            FeatureBins::Numeric { nan_bin, .. } => *nan_bin,
            FeatureBins::Categorical { .. } => None,
        }
    }

    /// Whether the feature is categorical.
    pub fn is_categorical(&self) -> bool {
        matches!(self, FeatureBins::Categorical { .. })
    }

    /// The bin of value `x`.
    pub fn bin(&self, x: f64) -> usize {
        match self {
            FeatureBins::Numeric { upper, nan_bin } => {
                let x = match (x.is_nan(), nan_bin) {
                    (true, Some(b)) => return *b,
                    (true, None) => 0.0,
                    _ => x,
                };
                upper.partition_point(|&u| u < x).min(upper.len() - 1)
            }
            FeatureBins::Categorical { bins, .. } => category_bin(x, *bins),
        }
    }
}

/// The bin of category `x` (truncated, as LightGBM does): x + 1 below `bins`, else bin 0
/// (NaN, negative and unseen categories).
fn category_bin(x: f64, bins: usize) -> usize {
    if x.is_nan() || x < 0.0 {
        return 0;
    }
    let b = (x as usize).saturating_add(1);
    if b < bins {
        b
    } else {
        0
    }
}

/// Every feature's bins, in the trees' feature order: the layout's dense columns, then its
/// sparse (categorical index) columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    /// Per feature.
    pub features: Vec<FeatureBins>,
    /// Feature names.
    pub names: Vec<String>,
}

/// A tree feature of the layout: a dense column (numeric, or category indices), or a sparse
/// column whose active index is the category.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Source {
    /// Dense column `j`; `Some(k)` when it holds category indices of `k` categories.
    Dense(usize, Option<usize>),
    /// Sparse column `j`, an index space of `width` categories.
    Sparse(usize, usize),
}

impl Source {
    /// How many categories the feature has, when it is categorical.
    fn categories(self) -> Option<usize> {
        match self {
            Source::Dense(_, k) => k,
            Source::Sparse(_, width) => Some(width),
        }
    }
}

/// The tree features of `layout`, in order, with their names: its dense columns, then the
/// sparse columns of its blocks (`block_sparse`, any block's).
pub fn sources(layout: &FeatureLayout, block_sparse: &[SparseColumn]) -> Vec<(Source, String)> {
    let mut out: Vec<(Source, String)> = (0..layout.dense)
        .map(|j| {
            let categories = layout
                .categories
                .iter()
                .find(|(col, _)| *col == j)
                .map(|(_, k)| *k);
            (Source::Dense(j, categories), layout.names[j].clone())
        })
        .collect();
    for (j, col) in block_sparse.iter().enumerate() {
        let name = layout
            .sparse_columns
            .get(j)
            .cloned()
            .unwrap_or_else(|| format!("sparse{j}"));
        out.push((Source::Sparse(j, col.width), name));
    }
    out
}

impl Binning {
    /// Bins from merged sketches (one per source; categorical ones unused): a numeric feature
    /// gets at most `max_bins` bins (the NaN bin, when it had NaN, among them); a categorical
    /// feature of k categories min(k + 1, `max_bins`) bins, bin 0 for the rest — as LightGBM
    /// keeps the most frequent `max_bin` categories, and a `StringIndexer` numbers categories
    /// by frequency, the rarest share bin 0.
    pub fn new(sources: &[(Source, String)], sketches: &[ValueSketch], max_bins: usize) -> Self {
        let features = sources
            .iter()
            .zip(sketches)
            .map(|((source, _), sketch)| match source.categories() {
                Some(k) => FeatureBins::Categorical {
                    bins: (k + 1).min(max_bins),
                    seen: sketch.distinct(),
                },
                None => {
                    let upper = sketch.upper_bounds(max_bins);
                    let nan_bin = (sketch.nans > 0).then_some(upper.len());
                    FeatureBins::Numeric { upper, nan_bin }
                }
            })
            .collect();
        Binning {
            features,
            names: sources.iter().map(|(_, n)| n.clone()).collect(),
        }
    }

    /// Bytes a binned row holds: one per feature of at most 256 bins, two per wider one.
    pub fn bytes_per_row(&self) -> u64 {
        self.features
            .iter()
            .map(|f| if f.len() <= 256 { 1 } else { 2 })
            .sum()
    }

    /// Each feature's first bin in a histogram of all features, and the total.
    pub fn offsets(&self) -> (Vec<usize>, usize) {
        let mut offsets = Vec::with_capacity(self.features.len());
        let mut total = 0;
        for f in &self.features {
            offsets.push(total);
            total += f.len();
        }
        (offsets, total)
    }
}

/// What binning and the starting score are computed from, mergeable over partitions: a sketch
/// of each tree feature's values (for categorical ones, their categories), of the labels, and the
/// label sums Σweight·label (`g`) and Σweight (`c`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataSketch {
    /// Per tree feature.
    pub features: Vec<ValueSketch>,
    /// The labels.
    pub labels: ValueSketch,
    /// Σweight·label and Σweight.
    pub label_sums: super::histogram::NodeSums,
}

impl DataSketch {
    /// The sketch of `block`'s rows, features taken from `sources`.
    pub fn of(block: &FeatureBlock, sources: &[(Source, String)]) -> Self {
        let features = sources
            .iter()
            .map(|(source, _)| match source {
                Source::Dense(j, _) => ValueSketch::of(block.dense.column(*j).iter().copied()),
                Source::Sparse(j, _) => {
                    let indices = block.sparse[*j].indices.iter();
                    ValueSketch::of(
                        indices
                            .filter(|&&k| k != SparseColumn::NONE)
                            .map(|&k| f64::from(k)),
                    )
                }
            })
            .collect();
        let mut label_sums = super::histogram::NodeSums::default();
        for (i, &y) in block.label.iter().enumerate() {
            let w = block.weight.as_ref().map_or(1.0, |w| w[i]);
            label_sums.g += w * y;
            label_sums.c += w;
        }
        DataSketch {
            features,
            labels: ValueSketch::of(block.label.iter().copied()),
            label_sums,
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(self, other: &DataSketch) -> Self {
        let features = match self.features.is_empty() {
            true => other.features.clone(),
            false => self
                .features
                .into_iter()
                .zip(&other.features)
                .map(|(a, b)| a.merge(b))
                .collect(),
        };
        DataSketch {
            features,
            labels: self.labels.merge(&other.labels),
            label_sums: self.label_sums.plus(other.label_sums),
        }
    }
}

/// One feature's bins for every row of a block.
#[derive(Debug, Clone, PartialEq)]
pub enum BinColumn {
    /// Up to 256 bins.
    U8(Vec<u8>),
    /// Up to 65,536 bins.
    U16(Vec<u16>),
}

impl BinColumn {
    /// The bin of row `i`.
    #[inline]
    pub fn get(&self, i: usize) -> usize {
        match self {
            BinColumn::U8(v) => v[i] as usize,
            BinColumn::U16(v) => v[i] as usize,
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        match self {
            BinColumn::U8(v) => v.len(),
            BinColumn::U16(v) => 2 * v.len(),
        }
    }
}

/// A block's rows as bins, with their labels and weights.
#[derive(Debug, Clone, PartialEq)]
pub struct BinnedBlock {
    /// One column per tree feature.
    pub columns: Vec<BinColumn>,
    /// Labels.
    pub label: Vec<f64>,
    /// Row weights, when given.
    pub weight: Option<Vec<f64>>,
}

impl BinnedBlock {
    /// Bins `block` with `binning` (features taken from `sources`).
    pub fn new(block: &FeatureBlock, sources: &[(Source, String)], binning: &Binning) -> Self {
        let columns = sources
            .iter()
            .zip(&binning.features)
            .map(|((source, _), bins)| {
                let value = |i: usize| -> f64 {
                    match source {
                        Source::Dense(j, _) => block.dense[[i, *j]],
                        Source::Sparse(j, _) => {
                            let k = block.sparse[*j].indices[i];
                            if k == SparseColumn::NONE {
                                f64::NAN
                            } else {
                                k as f64
                            }
                        }
                    }
                };
                let n = block.rows();
                if bins.len() <= 256 {
                    BinColumn::U8((0..n).map(|i| bins.bin(value(i)) as u8).collect())
                } else {
                    BinColumn::U16((0..n).map(|i| bins.bin(value(i)) as u16).collect())
                }
            })
            .collect();
        BinnedBlock {
            columns,
            label: block.label.to_vec(),
            weight: block.weight.as_ref().map(|w| w.to_vec()),
        }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.label.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sketches_merge_alike_in_any_order() {
        let values: Vec<f64> = (0..3000)
            .map(|i| ((i * 37) % 1001) as f64 * 0.013 - 2.0)
            .collect();
        let whole = ValueSketch::of(values.iter().copied());
        let parts: Vec<ValueSketch> = values
            .chunks(700)
            .map(|c| ValueSketch::of(c.iter().copied()))
            .collect();
        let forward = parts.iter().fold(ValueSketch::default(), |a, b| a.merge(b));
        let backward = parts
            .iter()
            .rev()
            .fold(ValueSketch::default(), |a, b| a.merge(b));
        assert_eq!(forward, whole);
        assert_eq!(backward, whole);
        assert_eq!(whole.count(), 3000);
    }

    #[test]
    fn few_distinct_values_get_a_bin_each_and_zero_its_own() {
        let values = [
            -2.0, -2.0, -2.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 3.0, 3.0, 3.0,
        ];
        let sketch = ValueSketch::of(values.iter().copied());
        let bounds = sketch.upper_bounds(255);
        let bins = FeatureBins::Numeric {
            upper: bounds.clone(),
            nan_bin: None,
        };
        // Bounds are midpoints between neighbours: 2.0 goes with 1.0, 2.5 with 3.0.
        let got: Vec<usize> = [-2.0, 0.0, 1.0, 3.0, 2.0, 2.5, 100.0]
            .iter()
            .map(|&x| bins.bin(x))
            .collect();
        assert_eq!(got, [0, 1, 2, 3, 2, 3, 3], "bounds {bounds:?}");
        assert_eq!(
            bins.bin(f64::NAN),
            bins.bin(0.0),
            "NaN goes where 0 goes without a NaN bin"
        );
    }

    #[test]
    fn many_values_get_about_equal_count_bins() {
        let values: Vec<f64> = (1..=10_000).map(|i| i as f64).collect();
        let sketch = ValueSketch::of(values.iter().copied());
        let bounds = sketch.upper_bounds(10);
        assert!(bounds.len() <= 10, "{bounds:?}");
        let bins = FeatureBins::Numeric {
            upper: bounds,
            nan_bin: None,
        };
        let mut counts = vec![0usize; bins.len()];
        for &v in &values {
            counts[bins.bin(v)] += 1;
        }
        let nonzero: Vec<usize> = counts.into_iter().filter(|&c| c > 0).collect();
        assert!(
            nonzero.iter().all(|&c| (800..=1300).contains(&c)),
            "{nonzero:?}"
        );
    }

    #[test]
    fn categories_map_to_their_bins_and_the_rest_to_bin_0() {
        let bins = FeatureBins::Categorical { bins: 4, seen: 3 };
        let got: Vec<usize> = [0.0, 1.0, 2.0, 3.0, -1.0, f64::NAN, 2.5]
            .iter()
            .map(|&x| bins.bin(x))
            .collect();
        assert_eq!(got, [1, 2, 3, 0, 0, 0, 3]);
    }

    #[test]
    fn the_median_of_a_sketch_is_within_its_resolution() {
        let values: Vec<f64> = (0..1001).map(|i| 10.0 + i as f64 * 0.01).collect();
        let median = ValueSketch::of(values.iter().copied())
            .quantile(0.5)
            .unwrap();
        assert!((median - 15.0).abs() <= 15.0 * 3e-4, "{median}");
    }
}
