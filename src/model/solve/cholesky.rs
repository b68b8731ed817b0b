//! Cholesky factorisation with diagonal pivoting for small dense symmetric positive
//! semi-definite matrices (≤ a few thousand rows), hand-written to keep LAPACK out of the tree.
//!
//! Pivoting on the largest remaining diagonal makes the factorisation rank-revealing: it stops
//! when every remaining pivot is below `rel_tol · max diagonal`, which is how rank-deficient
//! designs (one-hot columns plus an intercept, duplicated columns) are detected.

use ndarray::linalg::general_mat_mul;
use ndarray::{s, Array1, Array2, ArrayView1};

/// `P·A·Pᵀ = L·Lᵀ` with `L` lower-trapezoidal of rank `rank`.
#[derive(Debug, Clone)]
pub(crate) struct PivotedCholesky {
    /// Rows in pivoted order; only the first `rank` columns are meaningful.
    l: Array2<f64>,
    /// `perm[k]` = original index of pivoted row `k`.
    perm: Vec<usize>,
    rank: usize,
}

impl PivotedCholesky {
    /// Factors the symmetric matrix `a` (only its values are read, both triangles must agree).
    ///
    /// Blocked as LAPACK's `dpstrf`: pivots are chosen one column at a time within a panel of
    /// [`PANEL`] columns (each column updated by the panel's earlier ones), then the trailing
    /// matrix takes the whole panel's update in matrix products, where nearly all the work is.
    pub(crate) fn factor(a: &Array2<f64>, rel_tol: f64) -> Self {
        Self::factor_owned(a.to_owned(), rel_tol)
    }

    /// [`factor`](Self::factor), working in `a`'s own storage.
    pub(crate) fn factor_owned(a: Array2<f64>, rel_tol: f64) -> Self {
        let n = a.nrows();
        // `w` holds L in its lower triangle and the not yet factored rest below-right of it.
        let mut w = if a.is_standard_layout() {
            a
        } else {
            a.as_standard_layout().into_owned()
        };
        let mut perm: Vec<usize> = (0..n).collect();
        let mut diag: Vec<f64> = (0..n).map(|i| w[[i, i]]).collect();
        let max_diag = diag.iter().cloned().fold(0.0, f64::max);
        let tol = rel_tol * max_diag.max(f64::MIN_POSITIVE);
        let mut rank = 0;
        'panels: for start in (0..n).step_by(PANEL) {
            let end = (start + PANEL).min(n);
            for k in start..end {
                let (j, &best) = diag[k..]
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map(|(i, v)| (i + k, v))
                    .expect("k < n");
                if best <= tol {
                    break 'panels;
                }
                let ws = w.as_slice_mut().expect("an owned standard-layout matrix");
                if j != k {
                    perm.swap(k, j);
                    diag.swap(k, j);
                    swap_symmetric(ws, n, k, j);
                }
                let lkk = best.sqrt();
                ws[k * n + k] = lkk;
                // One division per column, not per entry (as LAPACK scales by 1/L[k, k]).
                let inv = 1.0 / lkk;
                for i in k + 1..n {
                    let earlier = dot(&ws[i * n + start..i * n + k], &ws[k * n + start..k * n + k]);
                    let v = (ws[i * n + k] - earlier) * inv;
                    ws[i * n + k] = v;
                    diag[i] -= v * v;
                }
                rank = k + 1;
            }
            update_trailing(&mut w, start, end);
        }
        // Keep L only: the upper triangle and the unfactored rest are scratch.
        for i in 0..n {
            for c in (i + 1).min(rank)..n {
                w[[i, c]] = 0.0;
            }
        }
        PivotedCholesky { l: w, perm, rank }
    }

    /// Numerical rank.
    pub(crate) fn rank(&self) -> usize {
        self.rank
    }

    /// Dimension of the factored matrix.
    pub(crate) fn dim(&self) -> usize {
        self.perm.len()
    }

    /// Solves `A·x = b` for a full-rank factorisation.
    pub(crate) fn solve(&self, b: ArrayView1<f64>) -> Array1<f64> {
        debug_assert_eq!(self.rank, self.dim());
        let mut y: Vec<f64> = self.perm.iter().map(|&p| b[p]).collect();
        self.forward(&mut y);
        self.backward(&mut y);
        self.unpermute(&y)
    }

    /// For a rank-`r` factorisation of a consistent system `A·x = b`: one solution `x₀` and a
    /// basis `N` (n × (n − r)) of the null space, so the solutions are exactly `x₀ + N·c`.
    ///
    /// With `P·A·Pᵀ = [L₁₁; L₂₁]·[L₁₁; L₂₁]ᵀ`, `x₀ = Pᵀ·[(L₁₁L₁₁ᵀ)⁻¹·b₁; 0]` and
    /// `N = Pᵀ·[−L₁₁⁻ᵀL₂₁ᵀ; I]`: `r` × `r` triangular solves only, which is why the minimum-norm
    /// solution of a rank-deficient design costs little more than the full-rank one.
    pub(crate) fn solution_and_null_space(&self, b: ArrayView1<f64>) -> (Array1<f64>, Array2<f64>) {
        let (n, r) = (self.dim(), self.rank);
        let mut y: Vec<f64> = self.perm.iter().take(r).map(|&p| b[p]).collect();
        self.forward(&mut y);
        self.backward(&mut y);
        y.resize(n, 0.0);
        let mut null = Array2::zeros((n, n - r));
        for t in 0..n - r {
            let mut w: Vec<f64> = self.l.row(r + t).iter().take(r).copied().collect();
            self.backward(&mut w);
            let mut column = vec![0.0; n];
            for (c, v) in column.iter_mut().zip(&w) {
                *c = -v;
            }
            column[r + t] = 1.0;
            null.column_mut(t).assign(&self.unpermute(&column));
        }
        (self.unpermute(&y), null)
    }

    /// `y ← L⁻¹·y` over the leading `y.len()` pivoted rows.
    fn forward(&self, y: &mut [f64]) {
        for i in 0..y.len() {
            let row = self.l.row(i);
            let s: f64 = row.iter().take(i).zip(&y[..i]).map(|(l, v)| l * v).sum();
            y[i] = (y[i] - s) / self.l[[i, i]];
        }
    }

    /// `y ← L⁻ᵀ·y` over the leading `y.len()` pivoted rows, by rows of L (contiguous): once
    /// `yᵢ` is known, its part `L[i, j]·yᵢ` leaves every earlier `yⱼ`.
    fn backward(&self, y: &mut [f64]) {
        let n = self.dim();
        let ls = self.l.as_slice().expect("an owned standard-layout matrix");
        for i in (0..y.len()).rev() {
            y[i] /= ls[i * n + i];
            let (earlier, rest) = y.split_at_mut(i);
            let yi = rest[0];
            for (yj, &lij) in earlier.iter_mut().zip(&ls[i * n..i * n + i]) {
                *yj -= lij * yi;
            }
        }
    }

    /// From pivoted to original order.
    fn unpermute(&self, y: &[f64]) -> Array1<f64> {
        let mut x = Array1::zeros(self.dim());
        for (&p, &v) in self.perm.iter().zip(y) {
            x[p] = v;
        }
        x
    }
}

/// Columns factored before the trailing matrix is updated.
const PANEL: usize = 32;

/// Exchanges rows and columns `k < j` of a symmetric matrix of which only the lower triangle
/// is kept (row-major, `n` × `n`): the lower-triangle entries trade places as in LAPACK's
/// `dpstrf`.
fn swap_symmetric(w: &mut [f64], n: usize, k: usize, j: usize) {
    for c in 0..k {
        w.swap(k * n + c, j * n + c);
    }
    w.swap(k * n + k, j * n + j);
    for c in k + 1..j {
        w.swap(c * n + k, j * n + c);
    }
    for c in j + 1..n {
        w.swap(c * n + k, c * n + j);
    }
}

/// Subtracts the panel's contribution `L[:, start..end]·L[:, start..end]ᵀ` from the lower
/// triangle of the trailing matrix `w[end.., end..]`, one block column at a time.
fn update_trailing(w: &mut Array2<f64>, start: usize, end: usize) {
    const BLOCK: usize = 64;
    let (panel, mut rest) = w.multi_slice_mut((s![end.., start..end], s![end.., end..]));
    let panel = panel.view();
    let m = rest.nrows();
    for top in (0..m).step_by(BLOCK) {
        let bottom = (top + BLOCK).min(m);
        let below = panel.slice(s![top.., ..]);
        let beside = panel.slice(s![top..bottom, ..]);
        let mut block = rest.slice_mut(s![top.., top..bottom]);
        general_mat_mul(-1.0, &below, &beside.t(), 1.0, &mut block);
    }
}

/// Dot product with four independent accumulators: the compiler vectorises it, and the fixed
/// summation order keeps results deterministic.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (head_a, tail_a) = a.split_at(a.len() - a.len() % 4);
    let (head_b, tail_b) = b.split_at(head_a.len());
    for (x, y) in head_a.chunks_exact(4).zip(head_b.chunks_exact(4)) {
        for j in 0..4 {
            acc[j] += x[j] * y[j];
        }
    }
    let tail: f64 = tail_a.iter().zip(tail_b).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// Solves `A·x = b` for a symmetric positive definite `a` (panics on a singular `a`; callers
/// only pass Gram matrices of full-column-rank factors).
pub(crate) fn spd_solve(a: &Array2<f64>, b: ArrayView1<f64>) -> Array1<f64> {
    let f = PivotedCholesky::factor(a, 0.0);
    assert_eq!(f.rank(), f.dim(), "spd_solve on a singular matrix");
    f.solve(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn solves_a_positive_definite_system() {
        let a = array![[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]];
        let b = array![1.0, -2.0, 0.5];
        let f = PivotedCholesky::factor(&a, 1e-12);
        assert_eq!(f.rank(), 3);
        let x = f.solve(b.view());
        assert!((a.dot(&x) - &b).iter().all(|d| d.abs() < 1e-12));
    }

    /// A random symmetric PSD matrix of rank `rank` (n × n), from `rank` random columns.
    fn psd(n: usize, rank: usize, seed: u64) -> Array2<f64> {
        let mut state = seed;
        let x = Array2::from_shape_simple_fn((n, rank), || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        });
        x.dot(&x.t())
    }

    #[test]
    fn blocked_factors_reconstruct_the_pivoted_matrix() {
        // Sizes across several panels, full rank and ranks that stop inside a panel.
        for (n, rank) in [(5, 5), (70, 70), (150, 150), (150, 101), (97, 40)] {
            let a = psd(n, rank, n as u64 + rank as u64);
            let f = PivotedCholesky::factor(&a, 1e-10);
            assert_eq!(f.rank(), rank, "{n} × {n} of rank {rank}");
            let l = f.l.slice(s![.., ..rank]);
            let rebuilt = l.dot(&l.t());
            let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            for i in 0..n {
                for j in 0..n {
                    let want = a[[f.perm[i], f.perm[j]]];
                    assert!(
                        (rebuilt[[i, j]] - want).abs() <= 1e-10 * scale,
                        "{n}/{rank} [{i},{j}]"
                    );
                }
            }
            // Diagonal pivoting: each pivot is the largest remaining, so L's diagonal falls.
            assert!((1..rank).all(|k| f.l[[k, k]] <= f.l[[k - 1, k - 1]] * (1.0 + 1e-12)));
        }
    }

    #[test]
    fn reveals_the_rank_of_a_singular_matrix() {
        // Columns: x, 2x, y → rank 2.
        let x = array![
            [1.0, 2.0, 0.5],
            [2.0, 4.0, -1.0],
            [0.0, 0.0, 3.0],
            [1.0, 2.0, 1.0]
        ];
        let a = x.t().dot(&x);
        let f = PivotedCholesky::factor(&a, 1e-10);
        assert_eq!(f.rank(), 2);
        let b = a.dot(&array![1.0, -1.0, 2.0]);
        let (x0, null) = f.solution_and_null_space(b.view());
        assert!((a.dot(&x0) - &b).iter().all(|d| d.abs() < 1e-9));
        assert_eq!(null.dim(), (3, 1));
        assert!(a.dot(&null).iter().all(|d| d.abs() < 1e-9));
        // The null space of [x, 2x, y] is spanned by (2, −1, 0).
        let n = null.column(0);
        assert!((n[0] + 2.0 * n[1]).abs() < 1e-12 && n[2].abs() < 1e-12 && n[1] != 0.0);
    }
}
