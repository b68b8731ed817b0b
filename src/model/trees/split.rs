//! The best split of a leaf from its histogram — LightGBM's search, formulas and tie-breaks:
//! a numeric feature is cut at a bin, scanned both ways so that missing values (the NaN bin)
//! learn their side; a categorical feature sends a set of categories left, one-vs-rest when it
//! has few, else the prefix of the categories sorted by gradient/hessian ratio (many-vs-many).
//! The same function searches a leaf in-process and a feature range on a parameter-server shard.

use serde::{Deserialize, Serialize};

use super::binning::FeatureBins;
use super::histogram::{Histogram, NodeSums};
use super::params::TreeValidParams;

/// The settings a split search applies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SplitSearch {
    /// Rows (weight) each child needs.
    pub min_rows: f64,
    /// Hessian each child needs.
    pub min_hess: f64,
    /// L1 penalty on leaf values.
    pub l1: f64,
    /// L2 penalty on leaf values.
    pub l2: f64,
    /// Gain a split needs beyond its parent's.
    pub min_gain: f64,
    /// Categories on the left at most.
    pub max_cat_threshold: usize,
    /// Gradient-ratio smoothing of categories, and the rows a category needs.
    pub cat_smooth: f64,
    /// Extra L2 of many-vs-many categorical splits.
    pub cat_l2: f64,
    /// Rows a group of categories needs.
    pub min_data_per_group: f64,
    /// Up to this many bins, categorical splits are one-vs-rest.
    pub max_cat_to_onehot: usize,
}

impl SplitSearch {
    /// The search `params` ask for.
    pub fn of(params: &TreeValidParams) -> Self {
        SplitSearch {
            min_rows: params.min_rows() as f64,
            min_hess: params.min_sum_hessian(),
            l1: params.lambda_l1(),
            l2: params.lambda_l2(),
            min_gain: params.min_info_gain(),
            max_cat_threshold: params.max_cat_threshold(),
            cat_smooth: params.cat_smooth(),
            cat_l2: params.cat_l2(),
            min_data_per_group: params.min_data_per_group() as f64,
            max_cat_to_onehot: params.max_cat_to_onehot(),
        }
    }

    /// LightGBM's `ThresholdL1`.
    fn shrink(&self, g: f64) -> f64 {
        g.signum() * (g.abs() - self.l1).max(0.0)
    }

    /// A leaf's value: −ThresholdL1(G)/(H + l2).
    pub fn output(&self, s: NodeSums, l2: f64) -> f64 {
        -self.shrink(s.g) / (s.h + l2)
    }

    /// A leaf's gain: ThresholdL1(G)²/(H + l2) (LightGBM has no ½).
    pub fn gain(&self, s: NodeSums, l2: f64) -> f64 {
        let t = self.shrink(s.g);
        t * t / (s.h + l2)
    }

    fn fits(&self, s: NodeSums) -> bool {
        s.c >= self.min_rows && s.h >= self.min_hess
    }
}

/// Where missing values (NaN) go at a numeric split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Missing {
    /// Left.
    Left,
    /// Right.
    Right,
    /// Where 0 goes: the feature had no NaN when it was binned.
    AsZero,
}

/// Which rows go left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rule {
    /// Bins up to `bin` go left; NaN as `missing` says.
    Threshold {
        /// The last bin on the left.
        bin: usize,
        /// Where NaN goes.
        missing: Missing,
    },
    /// The bins listed (sorted) go left; every other category, bin 0 included, right.
    Categories {
        /// Bins on the left.
        bins: Vec<u32>,
    },
}

/// A leaf's best split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Split {
    /// The feature.
    pub feature: usize,
    /// Which rows go left.
    pub rule: Rule,
    /// Gain over the unsplit leaf (minus `min_gain`).
    pub gain: f64,
    /// Sums of the left rows.
    pub left: NodeSums,
    /// Sums of the right rows.
    pub right: NodeSums,
    /// The left child's value.
    pub left_output: f64,
    /// The right child's value.
    pub right_output: f64,
}

impl Split {
    /// Whether `self` beats `other`: a larger gain, then the smaller feature index.
    pub fn beats(&self, other: &Split) -> bool {
        self.gain > other.gain || (self.gain == other.gain && self.feature < other.feature)
    }

    /// Whether bin `b` of the split's feature goes left (`nan_bin`: the feature's NaN bin).
    #[inline]
    pub fn goes_left(&self, b: usize, nan_bin: Option<usize>) -> bool {
        match &self.rule {
            Rule::Threshold { bin, missing } => match missing {
                Missing::Left if Some(b) == nan_bin => true,
                Missing::Right if Some(b) == nan_bin => false,
                // Without a NaN bin, NaN was binned where 0 goes.
                _ => b <= *bin,
            },
            Rule::Categories { bins } => bins.binary_search(&(b as u32)).is_ok(),
        }
    }
}

/// The best split of a leaf over the features `allowed` (indices into `features`), from its
/// histogram and sums; `None` when no split beats the leaf.
pub fn best_split(
    hist: &Histogram,
    total: NodeSums,
    features: &[FeatureBins],
    offsets: &[usize],
    allowed: &[usize],
    search: &SplitSearch,
) -> Option<Split> {
    let mut best: Option<Split> = None;
    for &f in allowed {
        let found = match &features[f] {
            FeatureBins::Numeric { nan_bin, .. } => numeric(
                hist,
                total,
                offsets[f],
                features[f].len(),
                nan_bin.is_some(),
                search,
            ),
            FeatureBins::Categorical { bins, seen } => {
                categorical(hist, total, offsets[f], (*bins, *seen), search)
            }
        };
        if let Some(mut split) = found {
            split.feature = f;
            if best.as_ref().is_none_or(|b| split.beats(b)) {
                best = Some(split);
            }
        }
    }
    best
}

/// A numeric feature: a reverse scan (missing left), then, when the feature has a NaN bin, a
/// forward scan (missing right) that must do strictly better.
fn numeric(
    hist: &Histogram,
    total: NodeSums,
    offset: usize,
    bins: usize,
    has_nan: bool,
    search: &SplitSearch,
) -> Option<Split> {
    let l2 = search.l2;
    let shift = search.gain(total, l2) + search.min_gain;
    let last = bins - 1 - usize::from(has_nan);
    let mut best: Option<(f64, usize, bool, NodeSums)> = None;
    // Reverse: right grows from the last non-NaN bin; NaN stays left.
    let mut right = NodeSums::default();
    for b in (1..=last).rev() {
        right = right.plus(hist.bin(offset + b));
        if !search.fits(right) {
            continue;
        }
        let left = total.minus(right);
        if !search.fits(left) {
            break;
        }
        let gain = search.gain(left, l2) + search.gain(right, l2);
        if gain > shift && best.is_none_or(|(g, ..)| gain > g) {
            best = Some((gain, b - 1, true, left));
        }
    }
    if has_nan && bins > 2 {
        let mut forward: Option<(f64, usize, bool, NodeSums)> = None;
        let mut left = NodeSums::default();
        for t in 0..last {
            left = left.plus(hist.bin(offset + t));
            if !search.fits(left) {
                continue;
            }
            let right = total.minus(left);
            if !search.fits(right) {
                break;
            }
            let gain = search.gain(left, l2) + search.gain(right, l2);
            if gain > shift && forward.is_none_or(|(g, ..)| gain > g) {
                forward = Some((gain, t, false, left));
            }
        }
        if let Some(f) = forward {
            if best.is_none_or(|(g, ..)| f.0 > g) {
                best = Some(f);
            }
        }
    }
    let (gain, bin, nan_left, left) = best?;
    let right = total.minus(left);
    let missing = match (has_nan, nan_left) {
        (false, _) => Missing::AsZero,
        (true, true) => Missing::Left,
        (true, false) => Missing::Right,
    };
    Some(Split {
        feature: 0,
        rule: Rule::Threshold { bin, missing },
        gain: gain - shift,
        left,
        right,
        left_output: search.output(left, l2),
        right_output: search.output(right, l2),
    })
}

/// A categorical feature of `(bins, seen)` (bin 0, the "other" bin, always right): one-vs-rest
/// when the training rows have few categories, else many-vs-many.
fn categorical(
    hist: &Histogram,
    total: NodeSums,
    offset: usize,
    (bins, seen): (usize, usize),
    search: &SplitSearch,
) -> Option<Split> {
    let shift = search.gain(total, search.l2) + search.min_gain;
    if seen <= search.max_cat_to_onehot {
        return one_vs_rest(hist, total, offset, bins, shift, search);
    }
    let l2 = search.l2 + search.cat_l2;
    let mut used: Vec<usize> = (1..bins)
        .filter(|&t| hist.bin(offset + t).c >= search.cat_smooth)
        .collect();
    let ratio = |t: usize| {
        let s = hist.bin(offset + t);
        s.g / (s.h + search.cat_smooth)
    };
    used.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)));
    let max_cats = search.max_cat_threshold.min(used.len().div_ceil(2).max(1));
    let mut best: Option<(f64, Vec<usize>, NodeSums)> = None;
    for forward in [true, false] {
        let order: Vec<usize> = match forward {
            true => used.clone(),
            false => used.iter().rev().copied().collect(),
        };
        let mut left = NodeSums::default();
        let mut group = 0.0;
        for (i, &t) in order.iter().enumerate().take(used.len().min(max_cats)) {
            let s = hist.bin(offset + t);
            left = left.plus(s);
            group += s.c;
            if !search.fits(left) {
                continue;
            }
            let right = total.minus(left);
            if right.c < search.min_rows
                || right.c < search.min_data_per_group
                || right.h < search.min_hess
            {
                break;
            }
            if group < search.min_data_per_group {
                continue;
            }
            group = 0.0;
            let gain = search.gain(left, l2) + search.gain(right, l2);
            if gain > shift && best.as_ref().is_none_or(|(g, ..)| gain > *g) {
                best = Some((gain, order[..=i].to_vec(), left));
            }
        }
    }
    let (gain, chosen, left) = best?;
    let right = total.minus(left);
    let mut set: Vec<u32> = chosen.into_iter().map(|t| t as u32).collect();
    set.sort_unstable();
    Some(Split {
        feature: 0,
        rule: Rule::Categories { bins: set },
        gain: gain - shift,
        left,
        right,
        left_output: search.output(left, l2),
        right_output: search.output(right, l2),
    })
}

/// One category left, the rest right.
fn one_vs_rest(
    hist: &Histogram,
    total: NodeSums,
    offset: usize,
    bins: usize,
    shift: f64,
    search: &SplitSearch,
) -> Option<Split> {
    let l2 = search.l2;
    let mut best: Option<(f64, usize)> = None;
    for t in 1..bins {
        let one = hist.bin(offset + t);
        let rest = total.minus(one);
        if !search.fits(one) || !search.fits(rest) {
            continue;
        }
        let gain = search.gain(rest, l2) + search.gain(one, l2);
        if gain > shift && best.is_none_or(|(g, _)| gain > g) {
            best = Some((gain, t));
        }
    }
    let (gain, t) = best?;
    let left = hist.bin(offset + t);
    let right = total.minus(left);
    Some(Split {
        feature: 0,
        rule: Rule::Categories {
            bins: vec![t as u32],
        },
        gain: gain - shift,
        left,
        right,
        left_output: search.output(left, l2),
        right_output: search.output(right, l2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::trees::histogram::STRIDE;

    fn search() -> SplitSearch {
        SplitSearch {
            min_rows: 1.0,
            min_hess: 0.0,
            l1: 0.0,
            l2: 0.0,
            min_gain: 0.0,
            max_cat_threshold: 32,
            cat_smooth: 0.0,
            cat_l2: 0.0,
            min_data_per_group: 1.0,
            max_cat_to_onehot: 4,
        }
    }

    /// A one-feature histogram from (g, h, c) per bin.
    fn hist(bins: &[(f64, f64, f64)]) -> (Histogram, NodeSums) {
        let mut h = Histogram::zeros(bins.len());
        let mut total = NodeSums::default();
        for (i, &(g, hh, c)) in bins.iter().enumerate() {
            h.sums[i * STRIDE..i * STRIDE + 3].copy_from_slice(&[g, hh, c]);
            total = total.plus(NodeSums { g, h: hh, c });
        }
        (h, total)
    }

    /// Brute force: every cut of a numeric feature without NaN.
    fn brute_force(bins: &[(f64, f64, f64)]) -> (usize, f64) {
        let s = search();
        let (h, total) = hist(bins);
        let parent = s.gain(total, 0.0);
        (0..bins.len() - 1)
            .map(|cut| {
                let left = (0..=cut).fold(NodeSums::default(), |a, b| a.plus(h.bin(b)));
                let right = total.minus(left);
                (cut, s.gain(left, 0.0) + s.gain(right, 0.0) - parent)
            })
            .fold((0, f64::MIN), |best, c| if c.1 > best.1 { c } else { best })
    }

    #[test]
    fn the_numeric_cut_is_the_brute_force_best() {
        let bins = [
            (4.0, 2.0, 2.0),
            (3.0, 1.0, 1.0),
            (-5.0, 3.0, 3.0),
            (-1.0, 1.0, 1.0),
            (2.0, 2.0, 2.0),
        ];
        let (h, total) = hist(&bins);
        let features = [FeatureBins::Numeric {
            upper: vec![1.0, 2.0, 3.0, 4.0, f64::INFINITY],
            nan_bin: None,
        }];
        let split = best_split(&h, total, &features, &[0], &[0], &search()).unwrap();
        let (cut, gain) = brute_force(&bins);
        assert_eq!(
            split.rule,
            Rule::Threshold {
                bin: cut,
                missing: Missing::AsZero
            }
        );
        assert!((split.gain - gain).abs() < 1e-12);
    }

    #[test]
    fn missing_values_go_where_they_help() {
        // The NaN bin (last) has gradients like the low bins: it must go left.
        let bins = [
            (-3.0, 1.0, 1.0),
            (-3.0, 1.0, 1.0),
            (3.0, 1.0, 1.0),
            (3.0, 1.0, 1.0),
            (-4.0, 1.0, 1.0),
        ];
        let (h, total) = hist(&bins);
        let features = [FeatureBins::Numeric {
            upper: vec![1.0, 2.0, 3.0, f64::INFINITY],
            nan_bin: Some(4),
        }];
        let split = best_split(&h, total, &features, &[0], &[0], &search()).unwrap();
        assert_eq!(
            split.rule,
            Rule::Threshold {
                bin: 1,
                missing: Missing::Left
            }
        );
        // ... and right when they look like the high bins.
        let bins = [
            (-3.0, 1.0, 1.0),
            (-3.0, 1.0, 1.0),
            (3.0, 1.0, 1.0),
            (3.0, 1.0, 1.0),
            (4.0, 1.0, 1.0),
        ];
        let (h, total) = hist(&bins);
        let split = best_split(&h, total, &features, &[0], &[0], &search()).unwrap();
        assert_eq!(
            split.rule,
            Rule::Threshold {
                bin: 1,
                missing: Missing::Right
            }
        );
    }

    #[test]
    fn many_vs_many_beats_one_vs_rest_on_interleaved_categories() {
        // Categories 1, 3, 5 pull down, 2, 4, 6 pull up: no single category or cut separates them.
        let bins = [
            (0.0, 0.0, 0.0),
            (-4.0, 2.0, 2.0),
            (4.0, 2.0, 2.0),
            (-4.0, 2.0, 2.0),
            (4.0, 2.0, 2.0),
            (-4.0, 2.0, 2.0),
            (4.0, 2.0, 2.0),
        ];
        let (h, total) = hist(&bins);
        let features = [FeatureBins::Categorical { bins: 7, seen: 6 }];
        let many = best_split(&h, total, &features, &[0], &[0], &search()).unwrap();
        assert_eq!(
            many.rule,
            Rule::Categories {
                bins: vec![1, 3, 5]
            }
        );
        let onehot = SplitSearch {
            max_cat_to_onehot: 7,
            ..search()
        };
        let one = best_split(&h, total, &features, &[0], &[0], &onehot).unwrap();
        assert!(matches!(one.rule, Rule::Categories { ref bins } if bins.len() == 1));
        assert!(many.gain > one.gain, "{} vs {}", many.gain, one.gain);
        // Σg = 0: the split's gain is the sum of its children's.
        assert!((many.gain - (144.0 / 6.0 + 144.0 / 6.0)).abs() < 1e-12);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Partitions' histograms (a numeric and a categorical feature, gradients in 1/64ths so
        /// every sum is exact) merged in any order give the same histogram and the same split.
        #[test]
        fn partition_histograms_merged_in_any_order_split_alike(
            parts in proptest::collection::vec(
                proptest::collection::vec((-256i32..256, 1u8..4), 12),
                2..7,
            ),
            order in proptest::strategy::Strategy::prop_shuffle(
                proptest::sample::subsequence((0..6usize).collect::<Vec<_>>(), 0..=6),
            ),
        ) {
            use proptest::prelude::*;
            let histogram = |p: &Vec<(i32, u8)>| {
                let bins: Vec<(f64, f64, f64)> = p
                    .iter()
                    .map(|&(g, c)| (g as f64 / 64.0, c as f64, c as f64))
                    .collect();
                hist(&bins).0
            };
            let features = [
                FeatureBins::Numeric { upper: (0..5).map(|b| b as f64).chain([f64::INFINITY]).collect(), nan_bin: None },
                FeatureBins::Categorical { bins: 6, seen: 5 },
            ];
            let merged = |ids: &mut dyn Iterator<Item = usize>| {
                ids.map(|i| histogram(&parts[i]))
                    .reduce(|a, b| a.merge(&b))
                    .unwrap()
            };
            let in_order = merged(&mut (0..parts.len()));
            let mut shuffled: Vec<usize> = order.into_iter().filter(|&i| i < parts.len()).collect();
            let rest: Vec<usize> = (0..parts.len()).filter(|i| !shuffled.contains(i)).collect();
            shuffled.extend(rest);
            let any_order = merged(&mut shuffled.into_iter());
            prop_assert_eq!(&in_order, &any_order);
            let total = in_order.total(0, 6);
            let split = |h: &Histogram| best_split(h, total, &features, &[0, 6], &[0, 1], &search());
            prop_assert_eq!(split(&in_order), split(&any_order));
        }
    }

    #[test]
    fn ties_go_to_the_smaller_feature() {
        let bins = [
            (-2.0, 1.0, 1.0),
            (2.0, 1.0, 1.0),
            (-2.0, 1.0, 1.0),
            (2.0, 1.0, 1.0),
        ];
        let (h, _) = hist(&bins);
        let (_, total) = hist(&bins[..2]);
        let features = [
            FeatureBins::Numeric {
                upper: vec![1.0, f64::INFINITY],
                nan_bin: None,
            },
            FeatureBins::Numeric {
                upper: vec![1.0, f64::INFINITY],
                nan_bin: None,
            },
        ];
        let split = best_split(&h, total, &features, &[0, 2], &[1, 0], &search());
        assert_eq!(split.unwrap().feature, 0);
    }
}
