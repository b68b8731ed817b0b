//! Gradient histograms: for every feature and bin, the sums of the gradient, the hessian and
//! the row weight (count) of a leaf's rows. One flat vector over all features — so a parameter
//! server sums it like any other statistic — merged by adding, and the larger child of a split
//! is its parent minus the smaller child.

use std::cell::RefCell;

use super::binning::{BinColumn, BinnedBlock};

thread_local! {
    /// A leaf's gradients, hessians and counts gathered in row-list order, reused.
    static GATHERED: RefCell<[Vec<f64>; 3]> = const { RefCell::new([Vec::new(), Vec::new(), Vec::new()]) };
}

/// Rows a histogram pass takes at a time (their indices and gradients stay in the L1 cache
/// while every feature reads them).
const CHUNK_ROWS: usize = 1024;

/// Floats per bin: gradient, hessian, count.
pub const STRIDE: usize = 3;

/// Sums of gradient, hessian and count per bin of every feature (features at their offsets).
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// `[g, h, c]` per bin, features one after another.
    pub sums: Vec<f64>,
}

/// The sums of a set of rows: what a leaf's value and a split's gain are computed from.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NodeSums {
    /// Σ gradient.
    pub g: f64,
    /// Σ hessian.
    pub h: f64,
    /// Σ row weight (the row count without weights or bootstrap).
    pub c: f64,
}

impl NodeSums {
    /// `self − other`.
    pub fn minus(self, other: NodeSums) -> NodeSums {
        NodeSums {
            g: self.g - other.g,
            h: self.h - other.h,
            c: self.c - other.c,
        }
    }

    /// `self + other`.
    pub fn plus(self, other: NodeSums) -> NodeSums {
        NodeSums {
            g: self.g + other.g,
            h: self.h + other.h,
            c: self.c + other.c,
        }
    }
}

impl Histogram {
    /// All zeros for `bins` bins in total.
    pub fn zeros(bins: usize) -> Self {
        Histogram {
            sums: vec![0.0; bins * STRIDE],
        }
    }

    /// The histogram of `rows` of `block`, whose gradients, hessians and counts (bootstrap
    /// multiplicities) are `grad`, `hess` and `count` (indexed by row; `hess` is `None` when it
    /// equals the count, as for squared error without weights — one sum less per row; `count`
    /// is `None` when every row counts once); `offsets` place each feature.
    pub fn of_rows(
        block: &BinnedBlock,
        rows: &[u32],
        grad: &[f64],
        hess: Option<&[f64]>,
        count: Option<&[f64]>,
        offsets: &[usize],
        bins: usize,
    ) -> Self {
        let mut hist = Histogram::zeros(bins);
        // A leaf's rows are spread over the partition: gather their gradients once, so that
        // each feature's pass reads them in sequence (LightGBM's ordered gradients), into
        // buffers each thread keeps (a leaf's worth of fresh pages per histogram costs more
        // than the gather).
        GATHERED.with_borrow_mut(|[g_buf, h_buf, c_buf]| {
            let spread = rows.len() < grad.len();
            let g = gathered(grad, rows, spread, g_buf);
            let h = hess.map(|h| gathered(h, rows, spread, h_buf));
            let c = count.map(|c| gathered(c, rows, spread, c_buf));
            // Every feature's pass over a chunk of rows while it is in the L1 cache, not over
            // all of them: each bin still adds its rows in order.
            for start in (0..rows.len()).step_by(CHUNK_ROWS) {
                let chunk = start..(start + CHUNK_ROWS).min(rows.len());
                let (rows, g) = (&rows[chunk.clone()], &g[chunk.clone()]);
                let h = h.map(|h| &h[chunk.clone()]);
                for (column, &offset) in block.columns.iter().zip(offsets) {
                    let out = &mut hist.sums[offset * STRIDE..];
                    match c {
                        Some(c) => column_pass(column, out, rows, g, h, &c[chunk.clone()]),
                        None => column_pass(column, out, rows, g, h, Ones),
                    }
                }
            }
        });
        if hess.is_none() {
            for bin in hist.sums.chunks_exact_mut(STRIDE) {
                bin[1] = bin[2];
            }
        }
        hist
    }

    /// Adds `other` into `self` (the same bins).
    pub fn merge(mut self, other: &Histogram) -> Self {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        self
    }

    /// `self − other`: the larger child from its parent (`self`) and the smaller child.
    pub fn subtract(&mut self, other: &Histogram) {
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a -= b;
        }
    }

    /// The sums of bin `b` (an absolute bin index: offset + bin).
    #[inline]
    pub fn bin(&self, b: usize) -> NodeSums {
        let s = &self.sums[b * STRIDE..b * STRIDE + STRIDE];
        NodeSums {
            g: s[0],
            h: s[1],
            c: s[2],
        }
    }

    /// The sums of every row, from the bins of one feature (`offset..offset + len`).
    pub fn total(&self, offset: usize, len: usize) -> NodeSums {
        (offset..offset + len).fold(NodeSums::default(), |t, b| t.plus(self.bin(b)))
    }
}

/// `values` of `rows` in their order, in `buf` — or `values` themselves when the rows are all
/// of them in order (not `spread`).
fn gathered<'b>(values: &'b [f64], rows: &[u32], spread: bool, buf: &'b mut Vec<f64>) -> &'b [f64] {
    if !spread {
        return values;
    }
    buf.clear();
    buf.extend(rows.iter().map(|&r| values[r as usize]));
    buf
}

/// A value per row of a leaf, by position in its row list: gathered, or 1 for every row.
trait PerRow: Copy {
    fn at(self, i: usize) -> f64;
}

impl PerRow for &[f64] {
    #[inline]
    fn at(self, i: usize) -> f64 {
        self[i]
    }
}

/// Every row counts once.
#[derive(Clone, Copy)]
struct Ones;

impl PerRow for Ones {
    #[inline]
    fn at(self, _: usize) -> f64 {
        1.0
    }
}

/// One feature's pass: each row's sums added to its bin, the loop made for the column's width
/// and for which sums are kept.
#[inline]
fn column_pass<C: PerRow>(
    column: &BinColumn,
    out: &mut [f64],
    rows: &[u32],
    grad: &[f64],
    hess: Option<&[f64]>,
    count: C,
) {
    match (column, hess) {
        (BinColumn::U8(v), Some(h)) => accumulate(out, rows, v, grad, h, count),
        (BinColumn::U16(v), Some(h)) => accumulate(out, rows, v, grad, h, count),
        (BinColumn::U8(v), None) => accumulate_unit(out, rows, v, grad, count),
        (BinColumn::U16(v), None) => accumulate_unit(out, rows, v, grad, count),
    }
}

/// Adds each row's gradient, hessian and count (in `rows` order) to its bin of one feature.
#[inline]
fn accumulate<B: Copy + Into<usize>, C: PerRow>(
    out: &mut [f64],
    rows: &[u32],
    bins: &[B],
    grad: &[f64],
    hess: &[f64],
    count: C,
) {
    for (i, &r) in rows.iter().enumerate() {
        let b = bins[r as usize].into() * STRIDE;
        out[b] += grad[i];
        out[b + 1] += hess[i];
        out[b + 2] += count.at(i);
    }
}

/// Adds each row's gradient and count (in `rows` order) to its bin of one feature (the hessian
/// is the count).
#[inline]
fn accumulate_unit<B: Copy + Into<usize>, C: PerRow>(
    out: &mut [f64],
    rows: &[u32],
    bins: &[B],
    grad: &[f64],
    count: C,
) {
    for (i, &r) in rows.iter().enumerate() {
        let b = bins[r as usize].into() * STRIDE;
        out[b] += grad[i];
        out[b + 2] += count.at(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> BinnedBlock {
        BinnedBlock {
            columns: vec![
                BinColumn::U8(vec![0, 1, 1, 2, 0, 2]),
                BinColumn::U16(vec![1, 1, 0, 0, 1, 0]),
            ],
            label: vec![0.0; 6],
            weight: None,
        }
    }

    #[test]
    fn children_sum_to_their_parent() {
        let b = block();
        let g = [0.5, -1.0, 2.0, 0.25, -0.75, 1.5];
        let h = [1.0; 6];
        let w = [1.0; 6];
        let offsets = [0, 3];
        let parent =
            Histogram::of_rows(&b, &[0, 1, 2, 3, 4, 5], &g, Some(&h), Some(&w), &offsets, 5);
        let left = Histogram::of_rows(&b, &[0, 2, 4], &g, Some(&h), None, &offsets, 5);
        let right = Histogram::of_rows(&b, &[1, 3, 5], &g, None, Some(&w), &offsets, 5);
        let mut derived = parent.clone();
        derived.subtract(&left);
        assert_eq!(derived, right);
        assert_eq!(left.merge(&right), parent);
        let total = parent.total(0, 3);
        assert_eq!((total.g, total.h, total.c), (2.5, 6.0, 6.0));
        assert_eq!(parent.total(3, 2), total);
    }
}
