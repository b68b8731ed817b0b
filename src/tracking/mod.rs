//! MLflow tracking: a REST client, a non-blocking batched run logger and a local run store.
//!
//! Every run is journaled to the local store (`./distml-runs/<id>/events.jsonl`); with a
//! tracking URI a background shipper applies the journal to the MLflow server in log-batch
//! requests, so training never waits on the network and a server outage loses nothing.
//!
//! ```no_run
//! use distml::tracking::{DatasetSpec, RunSpec, Status, Tracker, TrackingOverrides};
//!
//! let tracker = Tracker::from_env(TrackingOverrides::default())?;
//! let run = tracker.start_run(RunSpec::default())?;
//! run.log_params(&[("LinearRegression.regParam", "0.01")])?;
//! for step in 0..10 {
//!     run.log_metric("train_loss", 1.0 / (step + 1) as f64, step)?;
//! }
//! let report = run.finish(Status::Finished)?;
//! println!("run {} at {}", report.run_id, tracker.uri());
//! # Ok::<(), distml::tracking::TrackingError>(())
//! ```

pub mod artifacts;
pub mod batch;
pub mod client;
pub mod config;
pub mod context;
pub mod dataset;
pub mod error;
pub mod event;
mod http;
pub mod ids;
pub mod logged_model;
pub mod logger;
pub mod metric_value;
pub mod registry;
pub mod retry;
pub mod run_handle;
pub mod secret;
pub mod spool;
pub mod sync;
pub mod tracker;
pub mod validate;
pub mod view;
pub mod wire;

pub use client::MlflowClient;
pub use config::{TrackingConfig, TrackingOverrides};
pub use dataset::{digest_of, DatasetSpec};
pub use error::TrackingError;
pub use logged_model::{LoggedModelInfo, NewLoggedModel};
pub use logger::LoggerOptions;
pub use registry::ModelVersion;
pub use retry::RetryPolicy;
pub use run_handle::{FinishReport, RunHandle, Status};
pub use secret::{Auth, Secret};
pub use spool::Spool;
pub use sync::{parents_first, sync_all, sync_run, SyncOutcome};
pub use tracker::{RunSpec, Tracker};
pub use view::RunView;
pub use wire::{Metric, Run, RunStatus};

#[cfg(test)]
mod retry_tests;
#[cfg(test)]
mod test_double;
