//! The cluster section of a job: `train`'s flags `--workers`, `--ps-shards`, `--consistency`,
//! `--checkpoint-dir`, ... and the job file's `[cluster]` table, turned into [`ClusterOptions`].

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ClusterError, ClusterOptions, Consistency, Launch};

/// How a job runs across processes (`--workers 0` or absent: the in-process trainer).
#[derive(Debug, Clone, Default, PartialEq, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterSettings {
    /// Worker processes (spawned on 127.0.0.1, or awaited when DISTML_COORDINATOR is set).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Parameter-server shard processes (default 1).
    #[arg(long)]
    pub ps_shards: Option<usize>,
    /// Consistency of SGD updates: bsp (default), ssp:K or async.
    #[arg(long)]
    pub consistency: Option<Consistency>,
    /// Write checkpoints to this directory.
    #[arg(long)]
    pub checkpoint_dir: Option<PathBuf>,
    /// Checkpoint every N iterations (default 10).
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
    /// Continue from the checkpoint in --checkpoint-dir.
    #[arg(long)]
    pub resume: bool,
    /// Seconds without a heartbeat before a member is declared dead (default 10).
    #[arg(long)]
    pub heartbeat_timeout: Option<f64>,
    /// Stop (exit 1, checkpoint kept) when fewer workers than this are alive (default 1).
    #[arg(long)]
    pub min_workers: Option<usize>,
    /// Seconds to wait for every member to register, and for a lost ps shard's replacement
    /// (default 60).
    #[arg(long)]
    pub rendezvous_timeout: Option<f64>,
}

impl ClusterSettings {
    /// The worker count this job runs with (`default_workers` when `--workers` is absent; 0
    /// for the in-process trainer).
    pub fn worker_count(&self, default_workers: Option<usize>) -> usize {
        self.workers.or(default_workers).unwrap_or(0)
    }

    /// The options of a distributed fit, or `None` for an in-process one; checked before any
    /// process starts (a bad value names its flag).
    pub fn options(
        &self,
        default_workers: Option<usize>,
    ) -> Result<Option<ClusterOptions>, ClusterError> {
        let invalid = |option, message: &str| ClusterError::InvalidOption {
            option,
            message: message.into(),
        };
        let workers = self.worker_count(default_workers);
        if workers == 0 {
            if self.resume || self.checkpoint_dir.is_some() {
                let why = "--checkpoint-dir/--resume apply to distributed fits: add --workers N";
                return Err(invalid("--checkpoint-dir", why));
            }
            return Ok(None);
        }
        let timeout = self.heartbeat_timeout.unwrap_or(10.0);
        if !(timeout.is_finite() && timeout > 0.0) {
            return Err(invalid(
                "--heartbeat-timeout",
                "must be a positive number of seconds",
            ));
        }
        let defaults = ClusterOptions::default();
        let rendezvous = self
            .rendezvous_timeout
            .unwrap_or(defaults.rendezvous_timeout.as_secs_f64());
        if !(rendezvous.is_finite() && rendezvous > 0.0) {
            return Err(invalid(
                "--rendezvous-timeout",
                "must be a positive number of seconds",
            ));
        }
        let options = ClusterOptions {
            workers,
            ps_shards: self.ps_shards.unwrap_or(defaults.ps_shards),
            consistency: self.consistency.unwrap_or_default(),
            checkpoint_dir: self.checkpoint_dir.clone(),
            checkpoint_every: self.checkpoint_every.unwrap_or(defaults.checkpoint_every),
            resume: self.resume,
            heartbeat_timeout: Duration::from_secs_f64(timeout),
            min_workers: self.min_workers.unwrap_or(1),
            launch: Launch::from_env()?,
            rendezvous_timeout: Duration::from_secs_f64(rendezvous),
            ..defaults
        };
        options.check()?;
        Ok(Some(options))
    }

    /// The settings as MLflow params (`cluster.workers`, `cluster.ps-shards`,
    /// `cluster.consistency`), for a job run with `workers` workers.
    pub fn mlflow_params(&self, workers: usize) -> Vec<(String, String)> {
        let mut out = vec![("cluster.workers".to_string(), workers.to_string())];
        if workers > 0 {
            out.push((
                "cluster.ps-shards".into(),
                self.ps_shards.unwrap_or(1).to_string(),
            ));
            out.push((
                "cluster.consistency".into(),
                self.consistency.unwrap_or_default().to_string(),
            ));
        }
        out
    }
}
