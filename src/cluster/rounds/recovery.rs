//! Surviving a lost parameter-server shard. What a shard holds is either recomputable (the
//! sums of a statistics round) or restorable by the coordinator (SGD's parameters and Adam
//! moments as of the last epoch), so a lost shard costs one round: the shard is restarted
//! (or, under a cluster manager, awaited until its replacement registers with the same rank),
//! the workers reconnect, and the interrupted round runs again in fresh phases. Shards sum in
//! partition order, so the recomputed round — and the model — equal an uninterrupted run's.

use std::time::{Duration, Instant};

use super::{Rounds, ShardSeat};
use crate::cluster::job::Task;
use crate::cluster::options::ClusterEvent;
use crate::cluster::ClusterError;
use crate::ps::{Precision, PsClient};
use crate::rpc::auth::Token;
use crate::rpc::proto::PullKind;

/// Shard replacements one round may go through before its error is the job's.
const MAX_RECOVERIES: usize = 3;

/// How long a shard may take to answer a probe before it counts as lost.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long after a failure the shards are probed.
const SETTLE: Duration = Duration::from_millis(200);

impl Rounds<'_> {
    /// Runs `attempt` until it succeeds. When it fails and a shard is found dead, the shard is
    /// replaced and `attempt` runs again; phases set up before a replacement died with the
    /// shard, so callers keep a phase with the [`generation`](Self::generation) it was made
    /// in and set up a new one when that changed. Other failures are returned as they are.
    pub(crate) fn with_shards<T>(
        &mut self,
        mut attempt: impl FnMut(&mut Self) -> Result<T, ClusterError>,
    ) -> Result<T, ClusterError> {
        let mut recoveries = 0;
        loop {
            match attempt(self) {
                Ok(done) => return Ok(done),
                Err(e) if e.is_user_error() || recoveries == MAX_RECOVERIES => return Err(e),
                Err(e) => {
                    self.replace_dead_shards(e)?;
                    recoveries += 1;
                }
            }
        }
    }

    /// Replaces every dead shard and reconnects everyone; `cause` is returned when no shard
    /// is dead (the failure was something else).
    fn replace_dead_shards(&mut self, cause: ClusterError) -> Result<(), ClusterError> {
        let dead = self.dead_shards();
        if dead.is_empty() {
            return Err(cause);
        }
        tracing::warn!(%cause, ?dead, "replacing lost ps shards");
        for s in dead {
            let seat = self.replacement(&self.shards[s])?;
            self.shards[s] = seat;
        }
        self.generation += 1;
        let addresses = self.shard_addresses();
        self.ps = self
            .rt
            .block_on(PsClient::connect(&addresses, &self.token))
            .map_err(|e| {
                ClusterError::Rpc(format!(
                    "the shards after a replacement ({}) do not accept connections: {}",
                    addresses.join(", "),
                    e.message()
                ))
            })?;
        self.broadcast(&Task::Shards(addresses))
    }

    /// Indices of the shards that stopped heartbeating or do not answer a call.
    fn dead_shards(&self) -> Vec<usize> {
        let timeout = self.options.heartbeat_timeout;
        // A shard killed mid-call breaks its connections a moment before its listener closes.
        std::thread::sleep(SETTLE);
        (0..self.shards.len())
            .filter(|&s| {
                let seat = &self.shards[s];
                self.shared.silent(&[seat.member], timeout).is_some()
                    || !self.rt.block_on(answers(&seat.address, &self.token))
            })
            .collect()
    }

    /// Declares `lost` dead, restarts it when this coordinator launched it, and waits (up to
    /// the rendezvous timeout) for a shard of its rank to register.
    fn replacement(&self, lost: &ShardSeat) -> Result<ShardSeat, ClusterError> {
        let (rank, address) = (lost.rank, lost.address.clone());
        self.shared.declare_dead(lost.member);
        self.options.emit(ClusterEvent::ShardLost {
            rank,
            address: address.clone(),
        });
        let action = match self.respawn {
            Some(_) => "restarting it",
            None => "waiting for its replacement",
        };
        self.say(&format!("ps shard {rank} at {address} lost; {action}"));
        if let Some(respawn) = self.respawn {
            respawn(rank)?;
        }
        let wait = self.options.rendezvous_timeout;
        let deadline = Instant::now() + wait;
        loop {
            if let Some((member, address)) = self.shared.shard_after(rank, lost.member) {
                self.say(&format!("ps shard {rank} replaced by {address}"));
                return Ok(ShardSeat {
                    member,
                    rank,
                    address,
                });
            }
            if Instant::now() > deadline {
                return Err(ClusterError::ShardLost {
                    rank,
                    address,
                    why: format!("no replacement registered within {wait:?}"),
                });
            }
            self.rt.block_on(async {
                let wake = self.shared.changed.notified();
                let _ = tokio::time::timeout(Duration::from_millis(50), wake).await;
            });
        }
    }
}

/// Whether the shard at `address` answers within [`PROBE_TIMEOUT`]: a pull of a phase no job
/// has must come back refused, from the shard itself.
async fn answers(address: &str, token: &Token) -> bool {
    let probe = async {
        let ps = PsClient::connect(&[address.to_string()], token).await?;
        ps.pull(u64::MAX, 0, 0, PullKind::Aggregate, 0, Precision::F64)
            .await
    };
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Err(status)) => status.code() == tonic::Code::FailedPrecondition,
        _ => false,
    }
}
