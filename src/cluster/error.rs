//! What can stop a distributed fit.

use std::path::PathBuf;

use crate::data::DataError;
use crate::feature::FeatureError;
use crate::model::ModelError;

/// Errors of a distributed fit or of a worker/shard process.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// Reading the input failed.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Fitting or applying the feature pipeline failed.
    #[error(transparent)]
    Feature(#[from] FeatureError),
    /// The learner refused the data or its parameters.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A cluster option is invalid.
    #[error("{option}: {message}")]
    InvalidOption {
        /// The flag or variable at fault.
        option: &'static str,
        /// What is wrong and what to do.
        message: String,
    },
    /// A worker failed a task (its message names the file/row when it is the input's fault).
    #[error("worker {worker}: {message}")]
    Worker {
        /// The worker's member id.
        worker: u64,
        /// The worker's error.
        message: String,
        /// Whether the input is at fault.
        user: bool,
    },
    /// Too few workers are alive to go on.
    #[error(
        "only {alive} of the {needed} workers needed are alive; {}",
        match checkpoint {
            Some(p) => format!("the checkpoint in {} is kept: rerun with --resume", p.display()),
            None => "no checkpoint was written (use --checkpoint-dir to keep progress)".into(),
        }
    )]
    TooFewWorkers {
        /// Workers alive.
        alive: usize,
        /// Workers needed.
        needed: usize,
        /// Where progress was saved.
        checkpoint: Option<PathBuf>,
    },
    /// A parameter-server shard died or became unreachable and no replacement joined.
    #[error("ps shard {rank} at {address} was lost and {why}")]
    ShardLost {
        /// The shard's rank.
        rank: u32,
        /// The address it served on.
        address: String,
        /// Why it was not replaced.
        why: String,
    },
    /// The members did not all join in time.
    #[error("rendezvous: {0}")]
    Rendezvous(String),
    /// An RPC failed.
    #[error("rpc: {0}")]
    Rpc(String),
    /// A process could not be started.
    #[error("cannot start {program}: {source}")]
    Spawn {
        /// The executable.
        program: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A checkpoint that cannot be used for this job.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A protocol violation (a bug or a version mismatch between processes).
    #[error("protocol: {0}")]
    Protocol(String),
}

impl ClusterError {
    /// Whether the user's input or flags are at fault (exit code 2) rather than the system.
    pub fn is_user_error(&self) -> bool {
        match self {
            ClusterError::Data(e) => e.is_user_error(),
            ClusterError::Feature(e) => e.is_user_error(),
            ClusterError::Model(e) => e.is_user_error(),
            ClusterError::InvalidOption { .. } | ClusterError::Checkpoint { .. } => true,
            ClusterError::Worker { user, .. } => *user,
            _ => false,
        }
    }
}

impl From<tonic::Status> for ClusterError {
    fn from(status: tonic::Status) -> Self {
        ClusterError::Rpc(format!("{:?}: {}", status.code(), status.message()))
    }
}
