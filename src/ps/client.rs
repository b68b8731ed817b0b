//! The parameter-server client: splits a vector by the shards' key ranges, talks to every
//! shard concurrently, and stitches pulled slices back together.

use tokio::task::JoinSet;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::Status;

use super::codec::{self, Precision};
use super::keys::key_range;
use super::service::{CONNECTION_WINDOW, MAX_FRAME, MAX_MESSAGE, STREAM_WINDOW};
use crate::rpc::auth::{AttachToken, Token};
use crate::rpc::proto::parameter_server_client::ParameterServerClient;
use crate::rpc::proto::{
    Ack, Contribution as PbContribution, PullKind, PullRequest, PushRequest, SetParamsRequest,
    ShardConfig,
};

type Client = ParameterServerClient<InterceptedService<Channel, AttachToken>>;

/// One partition's contribution to a push: the whole vector (the client splits it).
#[derive(Debug, Clone, Copy)]
pub struct Contribution<'a> {
    /// Partition index.
    pub partition: u32,
    /// Σ of row weights behind the values.
    pub weight: f64,
    /// The vector (length = the phase's push length).
    pub values: &'a [f64],
}

/// What a pull returned, across all shards.
#[derive(Debug, Clone, PartialEq)]
pub struct PullResult {
    /// The whole vector.
    pub values: Vec<f64>,
    /// Σ of contribution weights (aggregates; every shard reports the same).
    pub weight: f64,
    /// Contributions or steps (the minimum over shards).
    pub count: u64,
}

/// Totals of a push across shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushTotals {
    /// Contributions counted (per shard, summed).
    pub accepted: u32,
    /// Contributions ignored as duplicates (per shard, summed).
    pub duplicates: u32,
}

/// Connections to every shard of a job.
#[derive(Debug, Clone)]
pub struct PsClient {
    shards: Vec<Client>,
}

impl PsClient {
    /// Connects to the shards (in shard order) at `host:port` addresses.
    pub async fn connect(addresses: &[String], token: &Token) -> Result<Self, Status> {
        let mut shards = Vec::with_capacity(addresses.len());
        for address in addresses {
            let endpoint = Endpoint::from_shared(format!("http://{address}"))
                .map_err(|e| Status::invalid_argument(format!("shard address {address}: {e}")))?
                .tcp_nodelay(true)
                // Model slices are tens of MB: HTTP/2's 64 KiB default windows would stall
                // every message on round trips for flow-control credit.
                .initial_stream_window_size(Some(STREAM_WINDOW))
                .initial_connection_window_size(Some(CONNECTION_WINDOW))
                .max_frame_size(MAX_FRAME);
            let channel = endpoint
                .connect()
                .await
                .map_err(|e| Status::unavailable(format!("shard {address}: {e}")))?;
            shards.push(
                ParameterServerClient::with_interceptor(channel, token.attach())
                    .max_decoding_message_size(MAX_MESSAGE)
                    .max_encoding_message_size(MAX_MESSAGE),
            );
        }
        Ok(PsClient { shards })
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.shards.len()
    }

    /// Configures a phase on every shard; `make(shard)` builds that shard's config.
    pub async fn configure(&self, make: impl Fn(usize) -> ShardConfig) -> Result<(), Status> {
        let mut calls = JoinSet::new();
        for (s, client) in self.shards.iter().enumerate() {
            let mut client = client.clone();
            let config = make(s);
            calls.spawn(async move { client.configure(config).await.map(|_| ()) });
        }
        join_all(calls).await.map(|_| ())
    }

    /// Pushes contributions at `clock`, each shard receiving its key range.
    pub async fn push(
        &self,
        phase: u64,
        worker: u64,
        clock: u64,
        contributions: &[Contribution<'_>],
        precision: Precision,
    ) -> Result<PushTotals, Status> {
        let shards = self.shards.len();
        let mut calls = JoinSet::new();
        for (s, client) in self.shards.iter().enumerate() {
            let mut client = client.clone();
            let request = PushRequest {
                phase,
                worker,
                clock,
                contributions: contributions
                    .iter()
                    .map(|c| {
                        let range = key_range(c.values.len(), shards, s);
                        PbContribution {
                            partition: c.partition,
                            weight: c.weight,
                            values: Some(codec::encode(range.start, &c.values[range], precision)),
                        }
                    })
                    .collect(),
            };
            calls.spawn(async move { client.push(request).await.map(|r| r.into_inner()) });
        }
        let mut totals = PushTotals::default();
        for reply in join_all(calls).await? {
            totals.accepted += reply.accepted;
            totals.duplicates += reply.duplicates;
        }
        Ok(totals)
    }

    /// Pulls a `len`-long vector (parameters or an aggregate) at `clock`, waiting as the
    /// shards' consistency model requires.
    pub async fn pull(
        &self,
        phase: u64,
        worker: u64,
        clock: u64,
        kind: PullKind,
        len: usize,
        precision: Precision,
    ) -> Result<PullResult, Status> {
        let shards = self.shards.len();
        let mut calls = JoinSet::new();
        for (s, client) in self.shards.iter().enumerate() {
            let mut client = client.clone();
            let request = PullRequest {
                phase,
                worker,
                clock,
                kind: kind as i32,
                precision: precision.to_proto(),
            };
            calls.spawn(async move { (s, client.pull(request).await.map(|r| r.into_inner())) });
        }
        let mut out = PullResult {
            values: vec![0.0; len],
            weight: 0.0,
            count: u64::MAX,
        };
        while let Some(joined) = calls.join_next().await {
            let (s, reply) = joined.map_err(|e| Status::internal(e.to_string()))?;
            let reply = reply?;
            let range = key_range(len, shards, s);
            let slice = reply.values.unwrap_or_default();
            codec::add_into(&slice, range.start, &mut out.values[range])
                .map_err(|e| Status::data_loss(e.to_string()))?;
            out.weight = reply.weight;
            out.count = out.count.min(reply.count);
        }
        Ok(out)
    }

    /// Publishes parameters for `clock` (each shard receives its range).
    pub async fn set_params(&self, phase: u64, clock: u64, values: &[f64]) -> Result<(), Status> {
        let shards = self.shards.len();
        let mut calls = JoinSet::new();
        for (s, client) in self.shards.iter().enumerate() {
            let mut client = client.clone();
            let range = key_range(values.len(), shards, s);
            let request = SetParamsRequest {
                phase,
                clock,
                values: Some(codec::dense(range.start, &values[range], Precision::F64)),
            };
            calls.spawn(async move { client.set_params(request).await.map(|_| ()) });
        }
        join_all(calls).await.map(|_| ())
    }

    /// Asks every shard to exit.
    pub async fn shutdown(&self) -> Result<(), Status> {
        let mut calls = JoinSet::new();
        for client in &self.shards {
            let mut client = client.clone();
            calls.spawn(async move { client.shutdown(Ack {}).await.map(|_| ()) });
        }
        join_all(calls).await.map(|_| ())
    }
}

/// Awaits every call, in shard order; the first error wins.
async fn join_all<T: 'static>(mut calls: JoinSet<Result<T, Status>>) -> Result<Vec<T>, Status> {
    let mut out = Vec::with_capacity(calls.len());
    while let Some(joined) = calls.join_next().await {
        out.push(joined.map_err(|e| Status::internal(e.to_string()))??);
    }
    Ok(out)
}
