//! `distml ps`: a parameter-server shard process joining a job.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;

use super::member::{join, spawn_heartbeats};
use super::rendezvous::Rendezvous;
use super::ClusterError;
use crate::ps::serve_shard;
use crate::rpc::proto::Role;

/// Runs a shard until the job ends (a `Shutdown` call, or the coordinator gone).
pub fn run_shard(rv: Rendezvous) -> Result<(), ClusterError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Rpc(format!("runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = TcpListener::bind((rv.bind, 0))
            .await
            .map_err(|e| ClusterError::Rpc(format!("bind {}: {e}", rv.bind)))?;
        let handle = serve_shard(listener, &rv.token)
            .map_err(|e| ClusterError::Rpc(format!("serve: {e}")))?;
        let host = rv.advertise.clone().unwrap_or_else(|| rv.bind.to_string());
        let (client, member, every) =
            join(&rv, Role::Ps, format!("{host}:{}", handle.addr.port())).await?;
        let done = Arc::new(Notify::new());
        spawn_heartbeats(client, member, every, done.clone());
        let stop = handle.stopper();
        let served = handle.wait();
        tokio::pin!(served);
        // Ends on the Shutdown RPC, or when the heartbeats give up (coordinator gone); pulls
        // still waiting for a clock that will never complete must not keep the process alive.
        tokio::select! {
            _ = &mut served => {}
            _ = done.notified() => {
                stop.notify_one();
                let _ = tokio::time::timeout(Duration::from_secs(1), served).await;
            }
        }
        Ok::<(), ClusterError>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}
