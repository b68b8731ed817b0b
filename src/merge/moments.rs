//! Weighted mean and sum of squared deviations, merged with Chan et al.'s stable formula: the
//! one summary of a column's spread that `describe`, the scalers, the imputer and the metrics
//! share.

use serde::{Deserialize, Serialize};

use super::exact_float::real;
use super::lanes::sums;

/// Σw, weighted mean and Σw(x − mean)² of a stream of values (with unit weights, Σw is the
/// count). Floats cross process boundaries as exact text, so ±∞ and NaN survive JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Σw.
    #[serde(with = "real")]
    pub weight: f64,
    /// Weighted mean.
    #[serde(with = "real")]
    pub mean: f64,
    /// Σw(x − mean)².
    #[serde(with = "real")]
    pub m2: f64,
}

impl Moments {
    /// Moments of `values` with `weights` (1 each when `None`), by two passes: the exact
    /// weighted mean, then the squared deviations from it. No division per value, so the
    /// passes vectorise; and more accurate than pushing the values one by one.
    pub fn of(values: &[f64], weights: Option<&[f64]>) -> Moments {
        let n = values.len();
        let [weight, sum] = match weights {
            None => [n as f64, sums(n, |i| [values[i]])[0]],
            Some(w) => sums(n.min(w.len()), |i| [w[i], w[i] * values[i]]),
        };
        if weight == 0.0 {
            return Moments::default();
        }
        let mean = sum / weight;
        let deviation = |i: usize| (values[i] - mean) * (values[i] - mean);
        let [m2] = match weights {
            None => sums(n, |i| [deviation(i)]),
            Some(w) => sums(n.min(w.len()), |i| [w[i] * deviation(i)]),
        };
        Moments { weight, mean, m2 }
    }

    /// Adds one value with weight `w` (West's weighted update).
    pub fn push(&mut self, x: f64, w: f64) {
        if w == 0.0 {
            return;
        }
        self.weight += w;
        let delta = x - self.mean;
        self.mean += delta * w / self.weight;
        self.m2 += w * delta * (x - self.mean);
    }

    /// Combines two summaries.
    pub fn merge(self, other: Moments) -> Moments {
        if other.weight == 0.0 {
            return self;
        }
        if self.weight == 0.0 {
            return other;
        }
        let weight = self.weight + other.weight;
        let delta = other.mean - self.mean;
        Moments {
            weight,
            mean: self.mean + delta * other.weight / weight,
            m2: self.m2 + other.m2 + delta * delta * self.weight * other.weight / weight,
        }
    }

    /// Population variance Σw(x − mean)²/Σw.
    pub fn variance(&self) -> f64 {
        self.m2 / self.weight
    }

    /// The number of values, when the weights were all 1.
    pub fn count(&self) -> u64 {
        self.weight as u64
    }

    /// Unbiased sample standard deviation (n − 1, as pandas and MLlib), with unit weights;
    /// `None` below two values.
    pub fn sample_std(&self) -> Option<f64> {
        (self.weight >= 2.0).then(|| (self.m2 / (self.weight - 1.0)).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushed(values: &[f64], weights: Option<&[f64]>) -> Moments {
        let mut m = Moments::default();
        for (i, &x) in values.iter().enumerate() {
            m.push(x, weights.map_or(1.0, |w| w[i]));
        }
        m
    }

    fn close(a: Moments, b: Moments) {
        for (x, y) in [(a.weight, b.weight), (a.mean, b.mean), (a.m2, b.m2)] {
            assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn two_passes_agree_with_pushing_and_merge_in_any_split() {
        let values: Vec<f64> = (0..101)
            .map(|i| ((i * 37) % 19) as f64 * 1.5 - 7.0)
            .collect();
        let weights: Vec<f64> = (0..101).map(|i| (i % 4) as f64 * 0.5).collect();
        for w in [None, Some(&weights[..])] {
            let whole = Moments::of(&values, w);
            close(whole, pushed(&values, w));
            for cut in [0, 1, 50, 100, 101] {
                let (a, b) = values.split_at(cut);
                let (wa, wb) = match w {
                    Some(w) => (Some(&w[..cut]), Some(&w[cut..])),
                    None => (None, None),
                };
                close(Moments::of(a, wa).merge(Moments::of(b, wb)), whole);
            }
        }
        assert_eq!(Moments::of(&[], None), Moments::default());
        assert_eq!(Moments::of(&[3.0], Some(&[0.0])), Moments::default());
    }
}
