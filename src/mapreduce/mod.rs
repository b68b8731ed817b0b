//! Map/reduce jobs on the partition engine: a typed [`MapReduce`] job `map`s each record of
//! a split into `(key, value)` pairs, an optional `combine` folds a key's values on the map
//! side (a combiner, Spark's `reduceByKey`), a hash shuffle sends each key to one of R reduce
//! partitions as sorted runs, and `reduce` turns each key's values into an output.
//!
//! - **Inputs** ([`Inputs`]): text files cut into line-aligned byte ranges, or Parquet/CSV
//!   tables cut into the data layer's partitions (TLC files normalised as for training).
//! - **In-process**: splits mapped on rayon's threads, partitions reduced likewise.
//! - **Across worker processes** ([`MapReduceOptions::cluster`]): the rendezvous, token and
//!   heartbeats of `distml train --workers N`; runs travel over gRPC; a lost worker's task is
//!   run again elsewhere ([`serve_if_worker`] is how a program serves as a worker).
//! - **Bounded memory**: shuffle runs beyond [`MapReduceOptions::memory_budget`] spill to
//!   disk and are merged from there, record by record.
//!
//! The output is the same in every mode: splits are the same, each key's values are merged
//! in split order, and results come back in key order. [`run`] has a complete example;
//! `examples/friend_recommendation.rs` and `examples/zone_hours.rs` are two jobs.

mod cluster;
mod error;
mod input;
mod job;
mod options;
mod reduce;
mod run;
mod shuffle;

pub use cluster::{is_worker, serve_if_worker, KILL_AT_ENV};
pub use error::MapReduceError;
pub use input::{Inputs, Line, Record, Split, LINE_SPLIT_BYTES};
pub use job::{MapReduce, Outputs, ShuffleKey, ShuffleValue};
pub use options::{JobOutput, JobStats, MapReduceOptions, DEFAULT_MEMORY_BUDGET};
pub use run::run;
pub use shuffle::bucket_of;
