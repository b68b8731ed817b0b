//! `train`'s distributed flags: worker and shard processes, consistency, checkpoints.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use distml::cluster::{ClusterOptions, Consistency, Launch};

use super::exit::UsageError;

/// Flags of a distributed fit (`--workers 0` or absent: the in-process trainer).
#[derive(Debug, Clone, Args)]
pub(crate) struct ClusterArgs {
    /// Worker processes (spawned on 127.0.0.1, or awaited when DISTML_COORDINATOR is set).
    #[arg(long)]
    workers: Option<usize>,
    /// Parameter-server shard processes.
    #[arg(long, default_value_t = 1)]
    ps_shards: usize,
    /// Consistency of SGD updates: bsp, ssp:K or async.
    #[arg(long, default_value = "bsp", value_parser = parse_consistency)]
    consistency: Consistency,
    /// Write checkpoints to this directory.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Checkpoint every N iterations.
    #[arg(long, default_value_t = 10)]
    checkpoint_every: usize,
    /// Continue from the checkpoint in --checkpoint-dir.
    #[arg(long)]
    resume: bool,
    /// Seconds without a heartbeat before a worker is declared dead.
    #[arg(long, default_value_t = 10.0)]
    heartbeat_timeout: f64,
    /// Stop (exit 1, checkpoint kept) when fewer workers than this are alive (default 1).
    #[arg(long)]
    min_workers: Option<usize>,
}

fn parse_consistency(text: &str) -> Result<Consistency, String> {
    text.parse()
        .map_err(|e: distml::cluster::ClusterError| e.to_string())
}

impl ClusterArgs {
    /// The cluster options (with `default_workers` when `--workers` is absent), or `None` for
    /// an in-process fit.
    pub(crate) fn options_or(
        &self,
        default_workers: Option<usize>,
    ) -> anyhow::Result<Option<ClusterOptions>> {
        let workers = match self.workers.or(default_workers) {
            None | Some(0) => {
                if self.resume || self.checkpoint_dir.is_some() {
                    return Err(UsageError(
                        "--checkpoint-dir/--resume apply to distributed fits: add --workers N"
                            .into(),
                    )
                    .into());
                }
                return Ok(None);
            }
            Some(n) => n,
        };
        if !(self.heartbeat_timeout.is_finite() && self.heartbeat_timeout > 0.0) {
            return Err(UsageError(
                "--heartbeat-timeout must be a positive number of seconds".into(),
            )
            .into());
        }
        let options = ClusterOptions {
            workers,
            ps_shards: self.ps_shards,
            consistency: self.consistency,
            checkpoint_dir: self.checkpoint_dir.clone(),
            checkpoint_every: self.checkpoint_every,
            resume: self.resume,
            heartbeat_timeout: Duration::from_secs_f64(self.heartbeat_timeout),
            min_workers: self.min_workers.unwrap_or(1),
            launch: Launch::from_env().map_err(|e| UsageError(e.to_string()))?,
            ..Default::default()
        };
        options.check().map_err(|e| UsageError(e.to_string()))?;
        Ok(Some(options))
    }
}
