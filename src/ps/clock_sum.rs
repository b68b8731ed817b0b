//! A clock's contributions summed as they arrive, in the fixed balanced tree over partition
//! order that [`crate::merge::tree_reduce`] and the local trainer use: a node is summed as soon
//! as both its halves are in, so a shard holds only the subtrees still waiting for a sibling
//! (a few, whatever the partition count) instead of every partition's vector until the last
//! one arrives — and the sum has the bits of the tree over all of them.

use super::codec::F64s;

/// One partition's contribution as the shard holds it.
#[derive(Debug, Clone)]
pub(crate) struct Part {
    /// Σ of row weights behind the values.
    pub(crate) weight: f64,
    /// The shard's range of the vector.
    pub(crate) values: F64s,
}

/// A subtree's sum: one part as received (no copy), or the sum of several.
#[derive(Debug, Clone)]
enum Node {
    Received(Part),
    Summed(f64, Vec<f64>),
}

impl Node {
    /// `self + right`, `self` being the left half: the order `tree_reduce` adds in.
    fn merge(self, right: Node) -> Node {
        let (mut weight, mut values) = match self {
            Node::Received(p) => (p.weight, p.values.to_vec()),
            Node::Summed(w, v) => (w, v),
        };
        match right {
            Node::Received(p) => {
                weight += p.weight;
                p.values.add_to(&mut values);
            }
            Node::Summed(w, v) => {
                weight += w;
                values.iter_mut().zip(&v).for_each(|(x, y)| *x += y);
            }
        }
        Node::Summed(weight, values)
    }

    fn into_part(self) -> Part {
        match self {
            Node::Received(p) => p,
            Node::Summed(weight, values) => Part {
                weight,
                values: F64s::from_vec(values),
            },
        }
    }
}

/// The contributions of one clock over `leaves` partitions.
#[derive(Debug, Clone)]
pub(crate) struct ClockSum {
    leaves: usize,
    arrived: Vec<bool>,
    count: usize,
    /// Complete subtrees waiting for their sibling, by leaf range.
    waiting: std::collections::HashMap<(usize, usize), Node>,
}

impl ClockSum {
    /// An empty sum over `leaves` partitions.
    pub(crate) fn new(leaves: usize) -> Self {
        ClockSum {
            leaves,
            arrived: vec![false; leaves],
            count: 0,
            waiting: Default::default(),
        }
    }

    /// Whether leaf `i` has arrived.
    pub(crate) fn contains(&self, i: usize) -> bool {
        self.arrived.get(i).copied().unwrap_or(false)
    }

    /// Leaves arrived.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Adds leaf `i` (once; a leaf already in, or out of range, is ignored) and sums every
    /// node it completes.
    pub(crate) fn insert(&mut self, i: usize, part: Part) {
        if i >= self.leaves || self.arrived[i] {
            return;
        }
        self.arrived[i] = true;
        self.count += 1;
        let (mut range, mut node) = ((i, i + 1), Node::Received(part));
        while range != (0, self.leaves) {
            let (parent, sibling, left) = self.place(range);
            match self.waiting.remove(&sibling) {
                Some(other) if left => node = node.merge(other),
                Some(other) => node = other.merge(node),
                None => break,
            }
            range = parent;
        }
        self.waiting.insert(range, node);
    }

    /// The sum of every leaf, once all have arrived.
    pub(crate) fn total(&self) -> Option<Part> {
        self.waiting
            .get(&(0, self.leaves))
            .map(|root| root.clone().into_part())
    }

    /// The parent of node `range`, its sibling, and whether `range` is the left half.
    fn place(&self, range: (usize, usize)) -> ((usize, usize), (usize, usize), bool) {
        let (mut lo, mut hi) = (0, self.leaves);
        loop {
            let mid = lo + (hi - lo) / 2;
            if range == (lo, mid) {
                return ((lo, hi), (mid, hi), true);
            }
            if range == (mid, hi) {
                return ((lo, hi), (lo, mid), false);
            }
            (lo, hi) = if range.1 <= mid { (lo, mid) } else { (mid, hi) };
        }
    }
}

/// Sums parts in the fixed tree over their order.
pub(crate) fn sum_in_order(parts: impl ExactSizeIterator<Item = Part>) -> Option<Part> {
    let mut sum = ClockSum::new(parts.len());
    for (i, part) in parts.enumerate() {
        sum.insert(i, part);
    }
    sum.total()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merge::tree_reduce;
    use proptest::prelude::*;

    fn part(weight: f64, values: &[f64]) -> Part {
        Part {
            weight,
            values: F64s::from_vec(values.to_vec()),
        }
    }

    fn bits(p: &Part) -> (u64, Vec<u64>) {
        let values = p.values.to_vec().iter().map(|v| v.to_bits()).collect();
        (p.weight.to_bits(), values)
    }

    proptest! {
        /// Whatever order the partitions arrive in, the sum has the bits of `tree_reduce`
        /// over partition order — the local trainer's sum.
        #[test]
        fn any_arrival_order_gives_the_tree_reduce_bits(
            vectors in prop::collection::vec(prop::collection::vec(-1e6f64..1e6, 3), 1..40),
            seed in any::<u64>(),
        ) {
            let parts: Vec<Part> = vectors.iter().enumerate()
                .map(|(i, v)| part(1.0 + i as f64 * 0.1, v)).collect();
            let mut order: Vec<usize> = (0..parts.len()).collect();
            let mut state = seed | 1;
            for i in (1..order.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                order.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let mut sum = ClockSum::new(parts.len());
            for &i in &order {
                prop_assert!(sum.total().is_none() || sum.len() == parts.len());
                sum.insert(i, parts[i].clone());
            }
            let oracle = tree_reduce(
                &vectors,
                &|v: &Vec<f64>| v.clone(),
                &|mut a: Vec<f64>, b: Vec<f64>| { a.iter_mut().zip(&b).for_each(|(x, y)| *x += y); a },
            ).unwrap();
            let weights: Vec<f64> = (0..parts.len()).map(|i| 1.0 + i as f64 * 0.1).collect();
            let weight = tree_reduce(&weights, &|w: &f64| *w, &|a, b| a + b).unwrap();
            let got = sum.total().unwrap();
            prop_assert_eq!(bits(&got), bits(&part(weight, &oracle)));
        }
    }

    #[test]
    fn a_duplicate_leaf_changes_nothing_and_few_subtrees_wait() {
        let mut sum = ClockSum::new(8);
        for i in [1, 0, 0, 3, 2] {
            sum.insert(i, part(1.0, &[i as f64]));
        }
        assert_eq!(sum.len(), 4);
        // Leaves 0..4 arrived: one node waits for its sibling 4..8.
        assert_eq!(sum.waiting.len(), 1);
        assert!(sum.total().is_none());
        for i in 4..8 {
            sum.insert(i, part(1.0, &[i as f64]));
        }
        assert_eq!(sum.total().unwrap().values.to_vec(), vec![28.0]);
    }
}
