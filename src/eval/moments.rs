//! Weighted mean and sum of squared deviations, merged with Chan et al.'s stable formula.

use serde::{Deserialize, Serialize};

/// Σw, weighted mean and Σw(x − mean)² of a stream of values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    /// Σw.
    pub weight: f64,
    /// Weighted mean.
    pub mean: f64,
    /// Σw(x − mean)².
    pub m2: f64,
}

impl Moments {
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
}
