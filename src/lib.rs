//! distml: distributed machine-learning training in Rust.
//!
//! The crate is organised by the concepts of a training job:
//! [`data`] reads tabular files into partitions, [`feature`] turns partitions into model
//! inputs, [`model`] holds learners and solvers, [`train`] runs them over partitions,
//! [`eval`] scores predictions and [`tracking`] logs runs to MLflow. [`merge`] is the floor
//! they share (mergeable summaries and their deterministic reduction); [`mapreduce`] runs
//! user map/reduce jobs on the same partitions and workers; [`rpc`] is the wire
//! protocol the coordinator, workers and parameter-server shards speak.
//!
//! ```no_run
//! use distml::data::{DataSource, ReadOptions};
//!
//! let source = DataSource::open(&["trips.parquet"], &ReadOptions::default())?;
//! let summary = distml::data::describe(&source, &[], &|| {})?;
//! println!("{} rows in {} partitions", summary.rows, summary.partitions);
//! # Ok::<(), distml::data::DataError>(())
//! ```
#![warn(missing_docs, unreachable_pub)]

pub mod cluster;
pub mod data;
pub mod eval;
pub mod feature;
pub mod mapreduce;
pub mod merge;
pub mod model;
pub mod ps;
pub mod rpc;
pub mod serve;
pub mod tracking;
pub mod train;
pub mod tuning;
