//! Sums over many rows with independent partial sums: one running total is a chain of
//! dependent additions (one every few cycles), while eight interleaved totals keep the FPU
//! busy, vectorise, and grow round-off more slowly.

/// Partial sums kept side by side.
const LANES: usize = 8;

/// `M` sums at once: `Σᵢ term(i)[m]` for `i` in `0..n`, each over [`LANES`] interleaved
/// partial sums added up at the end.
pub(crate) fn sums<const M: usize>(n: usize, term: impl Fn(usize) -> [f64; M]) -> [f64; M] {
    let mut lanes = [[0.0; M]; LANES];
    let whole = n - n % LANES;
    for start in (0..whole).step_by(LANES) {
        for (lane, acc) in lanes.iter_mut().enumerate() {
            for (a, t) in acc.iter_mut().zip(term(start + lane)) {
                *a += t;
            }
        }
    }
    let mut total = [0.0; M];
    for acc in &lanes {
        for (a, t) in total.iter_mut().zip(acc) {
            *a += t;
        }
    }
    for i in whole..n {
        for (a, t) in total.iter_mut().zip(term(i)) {
            *a += t;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_term_is_added_once() {
        for n in [0, 1, 7, 8, 9, 17, 1000] {
            let [count, squares] = sums(n, |i| [1.0, (i * i) as f64]);
            assert_eq!(count, n as f64);
            // Σ i² = (n − 1)n(2n − 1)/6, exact in f64 at these sizes.
            let m = n as f64;
            assert_eq!(
                squares,
                if n == 0 {
                    0.0
                } else {
                    (m - 1.0) * m * (2.0 * m - 1.0) / 6.0
                }
            );
        }
    }
}
