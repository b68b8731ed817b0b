//! The floor every layer stands on: mergeable summaries and how they are merged. Partition
//! summaries merge associatively, so one code path serves rayon threads, worker processes and
//! parameter-server shards; [`tree_reduce`] merges them in a fixed order, so sums are
//! bit-identical whatever the thread count.
//!
//! ```
//! use distml::merge::{tree_reduce, Moments};
//!
//! let parts = [vec![1.0, 2.0], vec![3.0], vec![4.0, 5.0, 6.0]];
//! let merged = tree_reduce(&parts, &|p| Moments::of(p, None), &|a, b| a.merge(b)).unwrap();
//! assert_eq!((merged.weight, merged.mean), (6.0, 3.5));
//! ```

pub(crate) mod exact_float;
pub(crate) mod lanes;
mod moments;
mod tree;

pub use moments::Moments;
pub use tree::{tree_merge, tree_reduce};
