//! What workers and shards share: connecting to the coordinator, registering, heartbeats.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use super::rendezvous::Rendezvous;
use super::ClusterError;
use crate::ps::service::MAX_MESSAGE;
use crate::rpc::auth::{AttachToken, Token};
use crate::rpc::proto::coordinator_client::CoordinatorClient;
use crate::rpc::proto::{HeartbeatRequest, RegisterRequest, Role};

/// A client of the coordinator with the token attached.
pub(crate) type CoordClient = CoordinatorClient<InterceptedService<Channel, AttachToken>>;

/// How long a member keeps retrying to reach a coordinator that is not up yet.
const CONNECT_FOR: Duration = Duration::from_secs(60);

/// Connects (retrying while the coordinator starts) and registers; returns the client, the
/// member id and the heartbeat interval.
pub(crate) async fn join(
    rv: &Rendezvous,
    role: Role,
    address: String,
) -> Result<(CoordClient, u64, Duration), ClusterError> {
    let endpoint = Endpoint::from_shared(format!("http://{}", rv.coordinator))
        .map_err(|e| ClusterError::InvalidOption {
            option: super::rendezvous::COORDINATOR_ENV,
            message: format!("'{}': {e}", rv.coordinator),
        })?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5));
    let deadline = tokio::time::Instant::now() + CONNECT_FOR;
    let channel = loop {
        match endpoint.connect().await {
            Ok(c) => break c,
            Err(e) if tokio::time::Instant::now() >= deadline => {
                return Err(ClusterError::Rendezvous(format!(
                    "coordinator {} unreachable: {e}",
                    rv.coordinator
                )))
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let mut client = client(channel, &rv.token);
    let reply = client
        .register(RegisterRequest {
            role: role as i32,
            rank: rv.rank,
            address,
        })
        .await?
        .into_inner();
    Ok((
        client,
        reply.member_id,
        Duration::from_millis(reply.heartbeat_ms.max(50)),
    ))
}

fn client(channel: Channel, token: &Token) -> CoordClient {
    CoordinatorClient::with_interceptor(channel, token.attach())
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
}

/// Heartbeats a member sends per heartbeat timeout: the coordinator's interval is the timeout
/// over this, and a member that has not reached the coordinator for this many intervals (the
/// timeout: by then the coordinator counts it dead, if it is alive) gives up.
pub(crate) const HEARTBEATS_PER_TIMEOUT: u32 = 4;

/// Sends a heartbeat every `every` until the coordinator says the job is over or stays
/// unreachable for the heartbeat timeout; then notifies `done` (the member exits, so no
/// process outlives its job by more than the timeout).
pub(crate) fn spawn_heartbeats(
    mut client: CoordClient,
    member: u64,
    every: Duration,
    done: Arc<Notify>,
) {
    let give_up = every * HEARTBEATS_PER_TIMEOUT;
    tokio::spawn(async move {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(every).await;
            // A call to a partitioned host would wait for TCP's own timeouts; one interval is
            // enough for a live coordinator to answer.
            let beat = client.heartbeat(HeartbeatRequest { member_id: member });
            match tokio::time::timeout(every, beat).await {
                Ok(Ok(reply)) if reply.get_ref().shutdown => break,
                Ok(Ok(_)) => last_ok = tokio::time::Instant::now(),
                _ if last_ok.elapsed() >= give_up => break,
                _ => {}
            }
        }
        done.notify_one();
    });
}
