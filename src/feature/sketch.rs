//! A mergeable quantile sketch with a relative value-error bound (DDSketch, Masson et al.,
//! VLDB 2019): values fall into logarithmic buckets of ratio γ = (1+α)/(1−α).
//!
//! Bound: for any q, the returned value v̂ satisfies |v̂ − v| ≤ α·|v|, where v is the exact
//! sample quantile of rank ⌊q·(n−1)⌋ (the lower nearest-rank quantile). Merging adds bucket
//! counts, so the sketch of a data set is the same whatever the partitioning or merge order.
//! Size: one bucket per occupied power of γ — about ln(max/min)/(2α) buckets at most
//! (≈ 6,900 for α = 0.001 over six decades).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::merge::exact_float::real;

/// Smallest magnitude given its own bucket; smaller values count as zero.
const MIN_MAGNITUDE: f64 = 1e-300;

/// A DDSketch of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileSketch {
    #[serde(with = "real")]
    alpha: f64,
    positive: BTreeMap<i32, u64>,
    negative: BTreeMap<i32, u64>,
    zeros: u64,
    count: u64,
    // An empty sketch's ±∞ must survive JSON on the way from a worker to the coordinator.
    #[serde(with = "real")]
    min: f64,
    #[serde(with = "real")]
    max: f64,
}

impl QuantileSketch {
    /// An empty sketch with relative accuracy `alpha` (0 < α < 1; checked by the stages).
    pub fn new(alpha: f64) -> Self {
        QuantileSketch {
            alpha,
            positive: BTreeMap::new(),
            negative: BTreeMap::new(),
            zeros: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn ln_gamma(&self) -> f64 {
        ((1.0 + self.alpha) / (1.0 - self.alpha)).ln()
    }

    /// Adds one finite value (NaN and ±∞ are ignored).
    pub fn insert(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x.abs() < MIN_MAGNITUDE {
            self.zeros += 1;
            return;
        }
        let key = (x.abs().ln() / self.ln_gamma()).ceil() as i32;
        let store = if x > 0.0 {
            &mut self.positive
        } else {
            &mut self.negative
        };
        *store.entry(key).or_default() += 1;
    }

    /// Number of values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Folds in a sketch with the same accuracy.
    pub fn merge(&mut self, other: &QuantileSketch) {
        for (k, c) in &other.positive {
            *self.positive.entry(*k).or_default() += c;
        }
        for (k, c) in &other.negative {
            *self.negative.entry(*k).or_default() += c;
        }
        self.zeros += other.zeros;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    fn value(&self, key: i32) -> f64 {
        let gamma = self.ln_gamma().exp();
        2.0 * (key as f64 * self.ln_gamma()).exp() / (gamma + 1.0)
    }

    /// The q-quantile (0 ≤ q ≤ 1) within the stated bound; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).floor() as u64;
        let mut seen = 0u64;
        // Negative values from the most negative (largest key) up.
        for (&k, &c) in self.negative.iter().rev() {
            seen += c;
            if seen > rank {
                return Some((-self.value(k)).clamp(self.min, self.max));
            }
        }
        seen += self.zeros;
        if seen > rank {
            return Some(0.0);
        }
        for (&k, &c) in &self.positive {
            seen += c;
            if seen > rank {
                return Some(self.value(k).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Oracle (numpy): `method='lower'` is the exact rank-⌊q(n−1)⌋ value the bound refers to.
    /// ```python
    /// x = np.exp(np.sin(np.arange(10000) * 0.7919) * 3) - 3; x = np.append(x, 0.0)
    /// np.quantile(x, [0.1, 0.5, 0.9], method='lower')  # [-2.94231309, -2.00041738, 14.34257911]
    /// ```
    #[test]
    fn quantiles_are_within_the_relative_bound() {
        let alpha = 0.01;
        let mut s = QuantileSketch::new(alpha);
        let mut xs: Vec<f64> = (0..10_000)
            .map(|i| ((i as f64 * 0.7919).sin() * 3.0).exp() - 3.0)
            .collect();
        xs.push(0.0);
        xs.iter().for_each(|&x| s.insert(x));
        xs.sort_by(f64::total_cmp);
        for q in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0] {
            let exact = xs[(q * (xs.len() - 1) as f64).floor() as usize];
            let got = s.quantile(q).unwrap();
            assert!(
                (got - exact).abs() <= alpha * exact.abs() + 1e-12,
                "q={q}: {got} vs {exact}"
            );
        }
        for (q, numpy) in [(0.1, -2.94231309), (0.5, -2.00041738), (0.9, 14.34257911)] {
            let got = s.quantile(q).unwrap();
            assert!(
                (got - numpy).abs() <= alpha * numpy.abs() + 1e-8,
                "q={q}: {got}"
            );
        }
        assert_eq!(QuantileSketch::new(0.1).quantile(0.5), None);
    }

    proptest! {
        #[test]
        fn any_split_and_merge_order_gives_the_same_sketch(
            xs in proptest::collection::vec(-1e6f64..1e6, 1..300),
            cut in 0usize..300,
        ) {
            let cut = cut % xs.len();
            let mut whole = QuantileSketch::new(0.001);
            xs.iter().for_each(|&x| whole.insert(x));
            let (mut a, mut b) = (QuantileSketch::new(0.001), QuantileSketch::new(0.001));
            xs[..cut].iter().for_each(|&x| a.insert(x));
            xs[cut..].iter().for_each(|&x| b.insert(x));
            let mut ab = a.clone();
            ab.merge(&b);
            b.merge(&a);
            prop_assert_eq!(&ab, &whole);
            prop_assert_eq!(&b, &whole);
        }
    }
}
