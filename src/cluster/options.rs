//! The settings of a distributed fit (the `train` flags `--workers`, `--ps-shards`,
//! `--consistency`, `--checkpoint-dir`, `--resume`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ClusterError;
use crate::ps::Precision;

/// How workers' updates are synchronised (SGD; the other solvers are always synchronous).
/// Written as the flag spells it (`bsp`, `ssp:3`, `async`), in job files too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Consistency {
    /// Bulk-synchronous: every clock sums all partitions, in partition order — deterministic,
    /// equal to the local trainer.
    #[default]
    Bsp,
    /// Stale-synchronous: a worker runs at most K clocks ahead of the slowest partition.
    Ssp(u32),
    /// Fully asynchronous: every push is applied at once; nobody waits.
    Async,
}

impl FromStr for Consistency {
    type Err = ClusterError;

    /// `bsp`, `ssp:K` or `async`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let bad = || ClusterError::InvalidOption {
            option: "--consistency",
            message: format!("'{s}': expected bsp, ssp:K (K a non-negative integer) or async"),
        };
        match lower.as_str() {
            "bsp" => Ok(Consistency::Bsp),
            "async" => Ok(Consistency::Async),
            other => match other.strip_prefix("ssp:") {
                Some(k) => k.parse().map(Consistency::Ssp).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

impl From<Consistency> for String {
    fn from(c: Consistency) -> Self {
        c.to_string()
    }
}

impl TryFrom<String> for Consistency {
    type Error = ClusterError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl std::fmt::Display for Consistency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Consistency::Bsp => f.write_str("bsp"),
            Consistency::Ssp(k) => write!(f, "ssp:{k}"),
            Consistency::Async => f.write_str("async"),
        }
    }
}

/// Who starts the worker and shard processes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Launch {
    /// Spawn them here, on 127.0.0.1 with ephemeral ports and a fresh token.
    #[default]
    Local,
    /// A cluster manager starts them; listen on this address for them to register
    /// (the token comes from `DISTML_CLUSTER_TOKEN`).
    External(SocketAddr),
}

impl Launch {
    /// `External` when `DISTML_COORDINATOR` (or `MASTER_ADDR`/`MASTER_PORT`) is set: listen on
    /// its port, on `DISTML_BIND` (default 127.0.0.1).
    pub fn from_env() -> Result<Self, ClusterError> {
        let Some(address) = super::rendezvous::coordinator_from_env() else {
            return Ok(Launch::Local);
        };
        let port = address
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse::<u16>().ok())
            .ok_or(ClusterError::InvalidOption {
                option: super::rendezvous::COORDINATOR_ENV,
                message: format!("'{address}' is not host:port"),
            })?;
        Ok(Launch::External(SocketAddr::new(
            super::rendezvous::bind_from_env()?,
            port,
        )))
    }
}

/// Something that happened during a fit (for tests, progress bars and logs).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClusterEvent {
    /// A local process was started.
    Spawned {
        /// `worker` or `ps`.
        role: &'static str,
        /// Its rank.
        rank: u32,
        /// Its PID.
        pid: u32,
    },
    /// A solver iteration (gradient evaluation or SGD epoch) finished.
    Iteration {
        /// Its number, from 1.
        iteration: usize,
    },
    /// A tree's split was made on every partition.
    TreeSplit {
        /// The tree, from 1.
        tree: usize,
        /// The split's number in it, from 1.
        split: usize,
    },
    /// A parameter-server shard was declared dead; a replacement is awaited (started here
    /// when the coordinator launched the members) and the interrupted round recomputed.
    ShardLost {
        /// Its rank.
        rank: u32,
        /// The address it served on.
        address: String,
    },
    /// A worker was declared dead; its partitions went to the living.
    WorkerLost {
        /// Its member id.
        worker: u64,
        /// Partitions reassigned.
        partitions: usize,
    },
}

/// Observer of [`ClusterEvent`]s.
pub type EventSink = Arc<dyn Fn(&ClusterEvent) + Send + Sync>;

/// Settings of a distributed fit.
#[derive(Clone)]
pub struct ClusterOptions {
    /// Worker processes.
    pub workers: usize,
    /// Parameter-server shard processes.
    pub ps_shards: usize,
    /// Consistency of SGD updates.
    pub consistency: Consistency,
    /// Where checkpoints go (none: no checkpoints).
    pub checkpoint_dir: Option<PathBuf>,
    /// Checkpoint every this many iterations (gradient evaluations for L-BFGS, epochs for SGD).
    pub checkpoint_every: usize,
    /// Continue from the checkpoint in `checkpoint_dir`.
    pub resume: bool,
    /// A member silent this long is declared dead.
    pub heartbeat_timeout: Duration,
    /// Fewer live workers than this stops the job (exit 1, checkpoint kept).
    pub min_workers: usize,
    /// Bytes of feature blocks each worker may keep between the passes of a multi-pass fit
    /// (none: no limit); blocks beyond it are made again from their files when next needed.
    pub worker_memory: Option<u64>,
    /// Wire precision of SGD pulls and pushes.
    pub precision: Precision,
    /// Who starts the processes.
    pub launch: Launch,
    /// The executable to spawn (default: this one).
    pub program: Option<PathBuf>,
    /// Extra environment for the spawned members (e.g. `DISTML_PUSH_DELAY_MS`).
    pub member_env: Vec<(String, String)>,
    /// How long to wait for every member to register.
    pub rendezvous_timeout: Duration,
    /// Observer of events.
    pub events: Option<EventSink>,
}

impl std::fmt::Debug for ClusterOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterOptions")
            .field("workers", &self.workers)
            .field("ps_shards", &self.ps_shards)
            .field("consistency", &self.consistency)
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("checkpoint_every", &self.checkpoint_every)
            .field("resume", &self.resume)
            .field("heartbeat_timeout", &self.heartbeat_timeout)
            .field("min_workers", &self.min_workers)
            .field("precision", &self.precision)
            .field("launch", &self.launch)
            .field("program", &self.program)
            .field("member_env", &self.member_env)
            .finish_non_exhaustive()
    }
}

impl Default for ClusterOptions {
    fn default() -> Self {
        ClusterOptions {
            workers: 2,
            ps_shards: 1,
            consistency: Consistency::Bsp,
            checkpoint_dir: None,
            checkpoint_every: 10,
            resume: false,
            heartbeat_timeout: Duration::from_secs(10),
            min_workers: 1,
            worker_memory: None,
            precision: Precision::F64,
            launch: Launch::Local,
            program: None,
            member_env: Vec::new(),
            rendezvous_timeout: Duration::from_secs(60),
            events: None,
        }
    }
}

/// Worker and shard processes a local job may start per core ([`local_process_cap`]).
pub const LOCAL_PROCESSES_PER_CORE: usize = 8;

/// The most worker and shard processes a local job starts: [`LOCAL_PROCESSES_PER_CORE`] per
/// core. More would only share the cores, and thousands exhaust memory.
pub fn local_process_cap() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from) * LOCAL_PROCESSES_PER_CORE
}

impl ClusterOptions {
    /// Validates the settings before any process starts.
    pub fn check(&self) -> Result<(), ClusterError> {
        let bad = |option, message: &str| {
            Err(ClusterError::InvalidOption {
                option,
                message: message.into(),
            })
        };
        if self.workers == 0 {
            return bad("--workers", "must be at least 1");
        }
        let cap = local_process_cap();
        if self.launch == Launch::Local && self.workers + self.ps_shards > cap {
            return bad(
                "--workers",
                &format!(
                    "{} workers and {} shards are more processes than a local job starts on this                      machine ({cap}: {LOCAL_PROCESSES_PER_CORE} per core); start them with a                      cluster manager (DISTML_COORDINATOR) instead",
                    self.workers, self.ps_shards
                ),
            );
        }
        if self.ps_shards == 0 {
            return bad("--ps-shards", "must be at least 1");
        }
        if self.min_workers == 0 || self.min_workers > self.workers {
            return bad("--min-workers", "must be between 1 and --workers");
        }
        if self.checkpoint_every == 0 {
            return bad("--checkpoint-every", "must be at least 1");
        }
        if self.resume && self.checkpoint_dir.is_none() {
            return bad("--resume", "needs --checkpoint-dir");
        }
        if self.heartbeat_timeout < Duration::from_millis(200) {
            return bad("--heartbeat-timeout", "must be at least 200 ms");
        }
        Ok(())
    }

    /// The executable members run: `program`, or this one.
    pub(crate) fn program(&self) -> Result<PathBuf, ClusterError> {
        match &self.program {
            Some(p) => Ok(p.clone()),
            None => std::env::current_exe().map_err(|source| ClusterError::Spawn {
                program: PathBuf::from("(this program)"),
                source,
            }),
        }
    }

    pub(crate) fn emit(&self, event: ClusterEvent) {
        if let Some(sink) = &self.events {
            sink(&event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_parses_and_prints() {
        for s in ["bsp", "ssp:3", "async"] {
            assert_eq!(s.parse::<Consistency>().unwrap().to_string(), s);
        }
        assert_eq!("SSP:0".parse::<Consistency>().unwrap(), Consistency::Ssp(0));
        let err = "ssp".parse::<Consistency>().unwrap_err();
        assert!(err.is_user_error() && err.to_string().contains("--consistency"));
        assert!("ssp:-1".parse::<Consistency>().is_err());
    }

    #[test]
    fn options_are_checked() {
        assert!(ClusterOptions::default().check().is_ok());
        let resume = ClusterOptions {
            resume: true,
            ..Default::default()
        };
        assert!(resume
            .check()
            .unwrap_err()
            .to_string()
            .contains("--checkpoint-dir"));
        let none = ClusterOptions {
            workers: 0,
            ..Default::default()
        };
        assert!(none.check().is_err());
    }
}
