//! The learner's per-partition statistics as flat vectors for the parameter server — the
//! shards sum vectors elementwise in partition order, which is exactly what `merge` does, so a
//! distributed sum equals the local one bit for bit. The Σ of weights travels beside the vector.

use ndarray::{Array1, Array2};

use crate::model::glm::{BlockGradient, FeatureStats, GramSummary};

/// Length of a flattened [`FeatureStats`] for `p` features.
pub(crate) fn stats_len(p: usize) -> usize {
    2 * p + 2
}

/// `[Σx, Σx², Σw², Σwy]`.
pub(crate) fn stats_to_vec(s: &FeatureStats) -> Vec<f64> {
    let mut v = Vec::with_capacity(stats_len(s.sum.len()));
    v.extend(s.sum.iter());
    v.extend(s.sum_sq.iter());
    v.extend([s.weight_sq, s.ysum]);
    v
}

/// Inverse of [`stats_to_vec`].
pub(crate) fn stats_from_vec(weight: f64, v: &[f64], p: usize) -> FeatureStats {
    FeatureStats {
        weight,
        weight_sq: v[2 * p],
        sum: Array1::from(v[..p].to_vec()),
        sum_sq: Array1::from(v[p..2 * p].to_vec()),
        ysum: v[2 * p + 1],
    }
}

/// Length of a flattened [`GramSummary`] (upper triangle packed).
pub(crate) fn gram_len(p: usize) -> usize {
    p * (p + 1) / 2 + 2 * p + 3
}

/// `[upper(XᵀWX) row by row, XᵀWy, XᵀW1, Σw², Σwy, Σwy²]`.
pub(crate) fn gram_to_vec(g: &GramSummary) -> Vec<f64> {
    let p = g.xty.len();
    let mut v = Vec::with_capacity(gram_len(p));
    for i in 0..p {
        v.extend(g.xtx.row(i).iter().skip(i));
    }
    v.extend(g.xty.iter());
    v.extend(g.xsum.iter());
    v.extend([g.weight_sq, g.ysum, g.yy]);
    v
}

/// Inverse of [`gram_to_vec`].
pub(crate) fn gram_from_vec(weight: f64, v: &[f64], p: usize) -> GramSummary {
    let mut xtx = Array2::zeros((p, p));
    let mut k = 0;
    for i in 0..p {
        for j in i..p {
            xtx[[i, j]] = v[k];
            k += 1;
        }
    }
    GramSummary {
        xtx,
        xty: Array1::from(v[k..k + p].to_vec()),
        xsum: Array1::from(v[k + p..k + 2 * p].to_vec()),
        weight,
        weight_sq: v[k + 2 * p],
        ysum: v[k + 2 * p + 1],
        yy: v[k + 2 * p + 2],
    }
}

/// Length of a flattened [`BlockGradient`].
pub(crate) fn gradient_len(p: usize) -> usize {
    p + 2
}

/// `[∇β, ∂b, loss]`.
pub(crate) fn gradient_to_vec(g: &BlockGradient) -> Vec<f64> {
    let mut v = Vec::with_capacity(gradient_len(g.grad.len()));
    v.extend(g.grad.iter());
    v.extend([g.grad_intercept, g.loss]);
    v
}

/// Inverse of [`gradient_to_vec`].
pub(crate) fn gradient_from_vec(weight: f64, v: &[f64], p: usize) -> BlockGradient {
    BlockGradient {
        loss: v[p + 1],
        weight,
        grad: Array1::from(v[..p].to_vec()),
        grad_intercept: v[p],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn round_trips() {
        let g = GramSummary {
            xtx: array![[1.0, 2.0], [0.0, 3.0]],
            xty: array![4.0, 5.0],
            xsum: array![6.0, 7.0],
            weight: 8.0,
            weight_sq: 9.0,
            ysum: 10.0,
            yy: 11.0,
        };
        let v = gram_to_vec(&g);
        assert_eq!(v.len(), gram_len(2));
        assert_eq!(gram_from_vec(8.0, &v, 2), g);
        let s = FeatureStats::from_gram(&g);
        assert_eq!(stats_from_vec(s.weight, &stats_to_vec(&s), 2), s);
        let b = BlockGradient {
            loss: 1.0,
            weight: 2.0,
            grad: array![3.0, 4.0, 5.0],
            grad_intercept: 6.0,
        };
        assert_eq!(gradient_from_vec(2.0, &gradient_to_vec(&b), 3), b);
    }
}
