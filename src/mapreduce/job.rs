//! The job a user writes: `map` records into `(key, value)` pairs, optionally `combine` a key's
//! values, and `reduce` each key's values into an output.

use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::input::Record;
use super::MapReduceError;

/// What a shuffled key must be: serialisable (it crosses processes and spill files),
/// ordered (reduce sees keys in order) and hashable (it picks its reduce partition).
pub trait ShuffleKey: Serialize + DeserializeOwned + Ord + Hash + Clone + Send + Sync {}
impl<T: Serialize + DeserializeOwned + Ord + Hash + Clone + Send + Sync> ShuffleKey for T {}

/// What a shuffled value or an output must be: serialisable and sendable.
pub trait ShuffleValue: Serialize + DeserializeOwned + Send + Sync {}
impl<T: Serialize + DeserializeOwned + Send + Sync> ShuffleValue for T {}

/// A map/reduce job. The same value runs in-process and on every worker process, so it
/// holds only settings (the data comes from the [`Inputs`](super::Inputs)).
///
/// Values a key receives arrive in a fixed order — by input split, then by emission — so a
/// job whose `reduce` depends on order still gives the same output in-process, across
/// workers, and after a worker was lost.
pub trait MapReduce: Send + Sync {
    /// The shuffle key.
    type Key: ShuffleKey;
    /// The shuffled value (with a combiner: a partial aggregate of values).
    type Value: ShuffleValue;
    /// What `reduce` makes of one key.
    type Output: ShuffleValue;

    /// Maps one input record, calling `emit` for every pair it yields.
    fn map(
        &self,
        record: Record<'_>,
        emit: &mut dyn FnMut(Self::Key, Self::Value),
    ) -> Result<(), MapReduceError>;

    /// Folds `value` into `acc`, the values of one key (Hadoop's combiner, Spark's
    /// `reduceByKey`): run on the map side and again while reducing. Return `Some(value)`
    /// when it cannot be folded (the default: no combiner); the pair is then kept as is.
    /// A combiner must not change the output: folding is associative and `reduce` sees the
    /// folded values.
    fn combine(&self, acc: &mut Self::Value, value: Self::Value) -> Option<Self::Value> {
        let _ = acc;
        Some(value)
    }

    /// Reduces the values of `key` to its output (`None`: no output for this key).
    fn reduce(
        &self,
        key: &Self::Key,
        values: Vec<Self::Value>,
    ) -> Result<Option<Self::Output>, MapReduceError>;
}

/// A key and its values: one record of a sorted run.
pub(crate) type Group<J> = (<J as MapReduce>::Key, Vec<<J as MapReduce>::Value>);

/// A job's `(key, output)` pairs.
pub type Outputs<J> = Vec<(<J as MapReduce>::Key, <J as MapReduce>::Output)>;
