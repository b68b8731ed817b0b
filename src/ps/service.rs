//! The shard's gRPC service (`distml ps`): a [`ShardState`] behind a lock, with pulls that
//! wait for the consistency model instead of polling.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::codec::{self, Precision};
use super::shard::{
    AdamResume, Combine, Mode, OptimizerVector, PhaseConfig, Pulled, ShardError, ShardState,
};
use crate::rpc::auth::Token;
use crate::rpc::proto::parameter_server_server::{ParameterServer, ParameterServerServer};
use crate::rpc::proto::{
    Ack, Combine as PbCombine, Consistency as PbConsistency, PullKind, PullReply, PullRequest,
    PushReply, PushRequest, SetParamsRequest, ShardConfig,
};

/// Largest message accepted or sent (a 10M-float model is 80 MB).
pub const MAX_MESSAGE: usize = 1 << 30;
/// HTTP/2 flow-control window per stream (one push or pull).
pub const STREAM_WINDOW: u32 = 32 << 20;
/// HTTP/2 flow-control window per connection (all of a peer's concurrent calls).
pub const CONNECTION_WINDOW: u32 = 64 << 20;
/// Largest HTTP/2 frame a peer may send us: 1 MiB instead of 16 KiB, so an 80 MB slice is 80
/// frames rather than 5,000 (each a header, a wake-up and a flow-control update).
pub const MAX_FRAME: u32 = 1 << 20;

/// The shard service.
#[derive(Debug, Clone)]
struct ShardService {
    state: Arc<Mutex<ShardState>>,
    changed: Arc<Notify>,
    stop: Arc<Notify>,
}

/// A running shard server.
#[derive(Debug)]
pub struct ShardHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
}

impl ShardHandle {
    /// Waits until the server ends (a `Shutdown` call or [`ShardHandle::stop`]).
    pub async fn wait(self) -> Result<(), tonic::transport::Error> {
        match self.task.await {
            Ok(result) => result,
            Err(_) => Ok(()),
        }
    }

    /// Asks the server to stop.
    pub fn stop(&self) {
        self.stop.notify_one();
    }

    /// The stop signal, to trigger from elsewhere after `wait` took the handle.
    pub fn stopper(&self) -> Arc<Notify> {
        self.stop.clone()
    }
}

/// Serves a shard on `listener`, refusing calls without `token`.
pub fn serve_shard(listener: TcpListener, token: &Token) -> std::io::Result<ShardHandle> {
    let addr = listener.local_addr()?;
    let service = ShardService {
        state: Arc::new(Mutex::new(ShardState::new())),
        changed: Arc::new(Notify::new()),
        stop: Arc::new(Notify::new()),
    };
    let stop = service.stop.clone();
    let server = ParameterServerServer::new(service)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    let signal = stop.clone();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .initial_stream_window_size(Some(STREAM_WINDOW))
            .initial_connection_window_size(Some(CONNECTION_WINDOW))
            .max_frame_size(Some(MAX_FRAME))
            .add_service(InterceptedService::new(server, token.check()))
            .serve_with_incoming_shutdown(incoming, async move { signal.notified().await }),
    );
    Ok(ShardHandle { addr, stop, task })
}

fn status(e: ShardError) -> Status {
    match e {
        ShardError::UnknownPhase(_) => Status::failed_precondition(e.to_string()),
        ShardError::Stale { .. } => Status::out_of_range(e.to_string()),
        _ => Status::invalid_argument(e.to_string()),
    }
}

impl ShardService {
    fn lock(&self) -> Result<std::sync::MutexGuard<'_, ShardState>, Status> {
        self.state
            .lock()
            .map_err(|_| Status::internal("shard state poisoned by an earlier panic"))
    }

    /// Runs `check` until it yields, waking on every change to the shard.
    async fn wait_for<F>(&self, mut check: F) -> Result<Pulled, Status>
    where
        F: FnMut(&mut ShardState) -> Result<Option<Pulled>, ShardError>,
    {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            // Registered before checking, so a change between the check and the await wakes us.
            notified.as_mut().enable();
            if let Some(p) = check(&mut *self.lock()?).map_err(status)? {
                return Ok(p);
            }
            notified.await;
        }
    }
}

fn phase_config(c: &ShardConfig) -> Result<PhaseConfig, Status> {
    let combine = match PbCombine::try_from(c.combine) {
        Ok(PbCombine::Aggregate) => Combine::Aggregate,
        Ok(PbCombine::Adam) => Combine::Adam,
        _ => return Err(Status::invalid_argument("unknown combine")),
    };
    let mode = match PbConsistency::try_from(c.consistency) {
        Ok(PbConsistency::Ssp) => Mode::Ssp(c.staleness),
        Ok(PbConsistency::Async) => Mode::Async,
        _ => Mode::Bsp,
    };
    Ok(PhaseConfig {
        phase: c.phase,
        combine,
        shard: c.shard as usize,
        shards: c.shards as usize,
        push_len: c.push_len as usize,
        param_len: c.param_len as usize,
        partitions: c.partitions as usize,
        mode,
        initial: c.initial.clone(),
        learning_rate: c.learning_rate,
        l2: c.l2.clone(),
        l1: c.l1.clone(),
        resume: (!c.first_moment.is_empty()).then(|| AdamResume {
            first_moment: c.first_moment.clone(),
            second_moment: c.second_moment.clone(),
            steps: c.steps,
        }),
    })
}

#[tonic::async_trait]
impl ParameterServer for ShardService {
    async fn configure(&self, request: Request<ShardConfig>) -> Result<Response<Ack>, Status> {
        let config = phase_config(request.get_ref())?;
        self.lock()?.configure(config).map_err(status)?;
        self.changed.notify_waiters();
        Ok(Response::new(Ack {}))
    }

    async fn push(&self, request: Request<PushRequest>) -> Result<Response<PushReply>, Status> {
        let r = request.into_inner();
        let empty = Default::default();
        let parts: Vec<(u32, f64, &crate::rpc::proto::Slice)> = r
            .contributions
            .iter()
            .map(|c| (c.partition, c.weight, c.values.as_ref().unwrap_or(&empty)))
            .collect();
        let outcome = self
            .lock()?
            .push(r.phase, r.clock, &parts)
            .map_err(status)?;
        self.changed.notify_waiters();
        Ok(Response::new(PushReply {
            accepted: outcome.accepted,
            duplicates: outcome.duplicates,
        }))
    }

    async fn pull(&self, request: Request<PullRequest>) -> Result<Response<PullReply>, Status> {
        let r = request.into_inner();
        let pulled = match PullKind::try_from(r.kind) {
            Ok(PullKind::Aggregate) => self.wait_for(|s| s.aggregate(r.phase, r.clock)).await?,
            Ok(PullKind::Params) => self.wait_for(|s| s.params(r.phase, r.clock)).await?,
            Ok(PullKind::FirstMoment) => {
                self.wait_for(|s| s.optimizer(r.phase, r.clock, OptimizerVector::FirstMoment))
                    .await?
            }
            Ok(PullKind::SecondMoment) => {
                self.wait_for(|s| s.optimizer(r.phase, r.clock, OptimizerVector::SecondMoment))
                    .await?
            }
            _ => return Err(Status::invalid_argument("unknown pull kind")),
        };
        let precision = Precision::from_proto(r.precision);
        Ok(Response::new(PullReply {
            values: Some(codec::dense_f64s(pulled.offset, pulled.values, precision)),
            weight: pulled.weight,
            count: pulled.count,
        }))
    }

    async fn set_params(
        &self,
        request: Request<SetParamsRequest>,
    ) -> Result<Response<Ack>, Status> {
        let r = request.into_inner();
        let values = r.values.unwrap_or_default();
        self.lock()?
            .publish(r.phase, r.clock, &values)
            .map_err(status)?;
        self.changed.notify_waiters();
        Ok(Response::new(Ack {}))
    }

    async fn shutdown(&self, _request: Request<Ack>) -> Result<Response<Ack>, Status> {
        self.stop.notify_one();
        Ok(Response::new(Ack {}))
    }
}
