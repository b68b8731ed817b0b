//! A deterministic parallel map-reduce over blocks.

use rayon::join;

/// Maps every item and merges the results in a fixed balanced tree, in parallel: the
/// grouping depends only on the number of items, so sums are bit-identical run to run
/// whatever the thread count or scheduling. Returns `None` for an empty slice.
pub fn tree_reduce<'a, I, T, M, R>(items: &'a [I], map: &M, merge: &R) -> Option<T>
where
    I: Sync,
    T: Send,
    M: Fn(&'a I) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    match items.len() {
        0 => None,
        1 => Some(map(&items[0])),
        n => {
            let (left, right) = items.split_at(n / 2);
            let (a, b) = join(
                || tree_reduce(left, map, merge),
                || tree_reduce(right, map, merge),
            );
            match (a, b) {
                (Some(a), Some(b)) => Some(merge(a, b)),
                (a, b) => a.or(b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_in_a_fixed_order() {
        let items: Vec<f64> = (0..1000).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let a = tree_reduce(&items, &|x| *x, &|a, b| a + b).unwrap();
        let b = tree_reduce(&items, &|x| *x, &|a, b| a + b).unwrap();
        assert_eq!(a.to_bits(), b.to_bits());
        assert!((a - items.iter().sum::<f64>()).abs() < 1e-12);
        assert_eq!(tree_reduce(&[] as &[f64], &|x| *x, &|a, b| a + b), None);
    }
}
