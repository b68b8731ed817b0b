//! Parameter-server shards: each owns a contiguous key range of every vector of a job, sums
//! the workers' pushes (idempotently per clock and partition), and either applies an
//! optimizer step (SGD/Adam) or hands the sum to the coordinator (L-BFGS, normal equations,
//! feature statistics).
//!
//! [`shard::ShardState`] is the logic, [`service`] serves it over gRPC (`distml ps`) and
//! [`client::PsClient`] is what workers and the coordinator call.

pub mod client;
mod clock_sum;
pub mod codec;
pub mod keys;
pub mod service;
pub mod shard;

pub use client::{Contribution, PsClient};
pub use codec::Precision;
pub use keys::key_range;
pub use service::{serve_shard, ShardHandle};
pub use shard::{PhaseConfig, ShardError, ShardState};
