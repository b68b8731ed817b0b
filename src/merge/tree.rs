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

/// Merges values already computed in [`tree_reduce`]'s tree, on this thread: the same
/// grouping, so the same bits, without handing a few additions to the thread pool.
pub fn tree_merge<T>(items: Vec<T>, merge: &impl Fn(T, T) -> T) -> Option<T> {
    fn merge_slots<T>(slots: &mut [Option<T>], merge: &impl Fn(T, T) -> T) -> Option<T> {
        match slots.len() {
            0 => None,
            1 => slots[0].take(),
            n => {
                let (left, right) = slots.split_at_mut(n / 2);
                match (merge_slots(left, merge), merge_slots(right, merge)) {
                    (Some(a), Some(b)) => Some(merge(a, b)),
                    (a, b) => a.or(b),
                }
            }
        }
    }
    let mut slots: Vec<Option<T>> = items.into_iter().map(Some).collect();
    merge_slots(&mut slots, merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same fixed tree, summed on one thread without rayon: the oracle.
    fn sequential_tree(items: &[f64]) -> f64 {
        match items.len() {
            1 => items[0],
            n => {
                let (left, right) = items.split_at(n / 2);
                sequential_tree(left) + sequential_tree(right)
            }
        }
    }

    #[test]
    fn sums_in_a_fixed_order_whatever_the_thread_count() {
        // Values of very different magnitudes: their float sum depends on the order.
        let items: Vec<f64> = (0..1000)
            .map(|i| (1.0 / (i as f64 + 1.0)) * if i % 3 == 0 { 1e12 } else { 1.0 })
            .collect();
        let left_to_right: f64 = items.iter().sum();
        let oracle = sequential_tree(&items);
        assert_ne!(
            left_to_right.to_bits(),
            oracle.to_bits(),
            "the order must matter"
        );
        for threads in [1, 2, 3, 8] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let sum = pool
                .install(|| tree_reduce(&items, &|x| *x, &|a, b| a + b))
                .unwrap();
            assert_eq!(sum.to_bits(), oracle.to_bits(), "{threads} threads");
        }
        assert_eq!(tree_reduce(&[] as &[f64], &|x| *x, &|a, b| a + b), None);
    }

    #[test]
    fn merging_computed_values_groups_them_alike() {
        for n in [0, 1, 2, 3, 7, 64, 1000] {
            let items: Vec<f64> = (0..n)
                .map(|i| (1.0 / (i as f64 + 1.0)) * if i % 3 == 0 { 1e12 } else { 1.0 })
                .collect();
            let reduced = tree_reduce(&items, &|x| *x, &|a, b| a + b);
            let merged = tree_merge(items, &|a, b| a + b);
            assert_eq!(
                reduced.map(f64::to_bits),
                merged.map(f64::to_bits),
                "{n} items"
            );
        }
    }
}
