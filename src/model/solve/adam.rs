//! Adam (Kingma & Ba 2015) with an optional proximal L1 step: the update a mini-batch SGD
//! trainer or a parameter-server shard applies to each pushed gradient.

use serde::{Deserialize, Serialize};

/// Adam's state for one parameter vector (or one shard's slice of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    /// Step size.
    pub learning_rate: f64,
    /// Decay of the first-moment estimate.
    pub beta1: f64,
    /// Decay of the second-moment estimate.
    pub beta2: f64,
    /// Denominator guard.
    pub epsilon: f64,
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
}

impl Adam {
    /// Fresh state for `n` parameters with the usual defaults (β₁ 0.9, β₂ 0.999, ε 1e-8).
    pub fn new(n: usize, learning_rate: f64) -> Self {
        Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    /// State carried over from an earlier run (a checkpoint): moments `m` and `v` after `t`
    /// steps, so the next step is the one the uninterrupted run would have taken.
    pub fn resume(learning_rate: f64, m: Vec<f64>, v: Vec<f64>, t: u64) -> Self {
        debug_assert_eq!(m.len(), v.len());
        Adam {
            m,
            v,
            t,
            ..Adam::new(0, learning_rate)
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> u64 {
        self.t
    }

    /// The first- and second-moment estimates.
    pub fn moments(&self) -> (&[f64], &[f64]) {
        (&self.m, &self.v)
    }

    /// Applies one step for gradient `g` to `x`, then soft-thresholds by `lr·l1ᵢ` (pass an
    /// empty `l1` for none).
    pub fn step(&mut self, x: &mut [f64], g: &[f64], l1: &[f64]) {
        self.t += 1;
        let c1 = 1.0 - self.beta1.powi(self.t as i32);
        let c2 = 1.0 - self.beta2.powi(self.t as i32);
        for i in 0..x.len() {
            self.m[i] = self.beta1 * self.m[i] + (1.0 - self.beta1) * g[i];
            self.v[i] = self.beta2 * self.v[i] + (1.0 - self.beta2) * g[i] * g[i];
            let mhat = self.m[i] / c1;
            let vhat = self.v[i] / c2;
            x[i] -= self.learning_rate * mhat / (vhat.sqrt() + self.epsilon);
            if let Some(&w) = l1.get(i) {
                let t = self.learning_rate * w;
                x[i] = if x[i] > t {
                    x[i] - t
                } else if x[i] < -t {
                    x[i] + t
                } else {
                    0.0
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converges_on_a_quadratic() {
        let mut adam = Adam::new(2, 0.05);
        let mut x = vec![5.0, -3.0];
        for _ in 0..3000 {
            let g = vec![2.0 * (x[0] - 1.0), 4.0 * (x[1] + 2.0)];
            adam.step(&mut x, &g, &[]);
        }
        assert!(
            (x[0] - 1.0).abs() < 1e-3 && (x[1] + 2.0).abs() < 1e-3,
            "{x:?}"
        );
    }

    #[test]
    fn resuming_from_saved_moments_continues_the_same_trajectory() {
        let grad = |x: &[f64]| vec![2.0 * (x[0] - 1.0), 4.0 * (x[1] + 2.0)];
        let (mut straight, mut x) = (Adam::new(2, 0.05), vec![5.0, -3.0]);
        for _ in 0..20 {
            let g = grad(&x);
            straight.step(&mut x, &g, &[]);
        }
        let (mut first, mut y) = (Adam::new(2, 0.05), vec![5.0, -3.0]);
        for _ in 0..7 {
            let g = grad(&y);
            first.step(&mut y, &g, &[]);
        }
        let (m, v) = first.moments();
        let mut resumed = Adam::resume(0.05, m.to_vec(), v.to_vec(), first.steps());
        for _ in 7..20 {
            let g = grad(&y);
            resumed.step(&mut y, &g, &[]);
        }
        assert_eq!(x, y);
        assert_eq!(resumed.steps(), 20);
    }
}
