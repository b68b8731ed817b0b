//! The coordinator's gRPC service: membership, heartbeats, per-member task queues (long-polled
//! by `Assign`) and task reports. The training logic driving it lives in `driver`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

use super::job::Task;
use super::{ClusterError, ClusterOptions};
use crate::ps::service::MAX_MESSAGE;
use crate::rpc::auth::Token;
use crate::rpc::proto::coordinator_server::{Coordinator, CoordinatorServer};
use crate::rpc::proto::{
    AssignRequest, Assignment, HeartbeatReply, HeartbeatRequest, RegisterReply, RegisterRequest,
    ReportReply, Role, TaskReport,
};

/// How long an `Assign` call waits for a task before returning "nothing yet".
const LONG_POLL: Duration = Duration::from_secs(2);

/// A process that joined the job.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) role: Role,
    pub(crate) rank: u32,
    pub(crate) address: String,
    pub(crate) last_seen: Instant,
    pub(crate) dead: bool,
}

/// A task's report as the driver reads it.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) member: u64,
    pub(crate) task: u64,
    pub(crate) output: Vec<u8>,
    pub(crate) error: Option<(String, bool)>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub(crate) members: BTreeMap<u64, Member>,
    next_member: u64,
    queues: HashMap<u64, VecDeque<(u64, Vec<u8>)>>,
    pub(crate) reports: Vec<Report>,
    next_task: u64,
    shutdown: bool,
}

/// State shared between the service and the driver.
#[derive(Debug)]
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Woken on every registration, report and queued task.
    pub(crate) changed: Notify,
    heartbeat: Duration,
}

impl Shared {
    pub(crate) fn new(heartbeat: Duration) -> Arc<Self> {
        Arc::new(Shared {
            inner: Mutex::new(Inner {
                next_member: 1,
                next_task: 1,
                ..Default::default()
            }),
            changed: Notify::new(),
            heartbeat,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than stopping: recover the guard.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a task for a member; returns its id.
    pub(crate) fn assign(&self, member: u64, task: &Task) -> u64 {
        self.assign_bytes(member, serde_json::to_vec(task).expect("tasks serialise"))
    }

    /// Queues an encoded task for a member; returns its id.
    pub(crate) fn assign_bytes(&self, member: u64, body: Vec<u8>) -> u64 {
        let id = {
            let mut inner = self.lock();
            let id = inner.next_task;
            inner.next_task += 1;
            inner
                .queues
                .entry(member)
                .or_default()
                .push_back((id, body));
            id
        };
        self.changed.notify_waiters();
        id
    }

    /// From now on every `Assign` answers `Shutdown` and heartbeats say so.
    pub(crate) fn shut_down(&self) {
        self.lock().shutdown = true;
        self.changed.notify_waiters();
    }

    /// Declares members silent for longer than `timeout` dead; returns the newly dead.
    pub(crate) fn reap(&self, timeout: Duration) -> Vec<u64> {
        let mut inner = self.lock();
        let now = Instant::now();
        let mut dead = Vec::new();
        for (&id, m) in inner.members.iter_mut() {
            if !m.dead && now.duration_since(m.last_seen) > timeout {
                m.dead = true;
                dead.push(id);
            }
        }
        for id in &dead {
            inner.queues.remove(id);
        }
        dead
    }

    /// The first of `members` silent for longer than `timeout` (without declaring it dead).
    pub(crate) fn silent(&self, members: &[u64], timeout: Duration) -> Option<u64> {
        let inner = self.lock();
        let now = Instant::now();
        members.iter().copied().find(|id| {
            inner
                .members
                .get(id)
                .is_some_and(|m| m.dead || now.duration_since(m.last_seen) > timeout)
        })
    }

    /// Declares a member dead (its heartbeats are answered "shut down").
    pub(crate) fn declare_dead(&self, member: u64) {
        if let Some(m) = self.lock().members.get_mut(&member) {
            m.dead = true;
        }
    }

    /// A live shard of `rank` that joined after member `after`: (member id, address).
    pub(crate) fn shard_after(&self, rank: u32, after: u64) -> Option<(u64, String)> {
        let inner = self.lock();
        inner
            .members
            .range(after + 1..)
            .find(|(_, m)| m.role == Role::Ps && m.rank == rank && !m.dead)
            .map(|(&id, m)| (id, m.address.clone()))
    }

    fn touch(&self, member: u64) -> Result<bool, Status> {
        let mut inner = self.lock();
        let shutdown = inner.shutdown;
        let m = inner
            .members
            .get_mut(&member)
            .ok_or_else(|| Status::not_found(format!("member {member} never registered")))?;
        m.last_seen = Instant::now();
        Ok(shutdown || m.dead)
    }
}

/// A coordinator up and listening: the runtime it runs on, its shared state, its address and
/// the job's token.
pub(crate) struct Running {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) shared: Arc<Shared>,
    pub(crate) addr: SocketAddr,
    pub(crate) token: Token,
    stop: Arc<Notify>,
}

/// A runtime of two threads for a coordinator or a member.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ClusterError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Rpc(format!("runtime: {e}")))
}

/// Starts the coordinator service where `options.launch` says (loopback with a fresh token
/// when it spawns the members itself).
pub(crate) fn start(options: &ClusterOptions) -> Result<Running, ClusterError> {
    let runtime = runtime()?;
    let (listen, token) = super::launcher::listen_and_token(&options.launch)?;
    let shared = Shared::new(options.heartbeat_timeout / super::member::HEARTBEATS_PER_TIMEOUT);
    let listener = runtime
        .block_on(TcpListener::bind(listen))
        .map_err(|e| ClusterError::Rpc(format!("bind {listen}: {e}")))?;
    let (addr, stop) = {
        let _entered = runtime.enter();
        serve(listener, shared.clone(), &token)
            .map_err(|e| ClusterError::Rpc(format!("serve: {e}")))?
    };
    Ok(Running {
        runtime,
        shared,
        addr,
        token,
        stop,
    })
}

impl Running {
    /// Stops the service and its runtime.
    pub(crate) fn stop(self) {
        self.stop.notify_one();
        self.runtime.shutdown_timeout(Duration::from_secs(1));
    }
}

/// Serves the coordinator on `listener`; returns its address and a stop signal.
pub(crate) fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    token: &Token,
) -> std::io::Result<(SocketAddr, Arc<Notify>)> {
    let addr = listener.local_addr()?;
    let stop = Arc::new(Notify::new());
    let signal = stop.clone();
    let server = CoordinatorServer::new(Service { shared })
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(InterceptedService::new(server, token.check()))
            .serve_with_incoming_shutdown(incoming, async move { signal.notified().await }),
    );
    Ok((addr, stop))
}

#[derive(Debug)]
struct Service {
    shared: Arc<Shared>,
}

#[tonic::async_trait]
impl Coordinator for Service {
    async fn register(
        &self,
        request: Request<RegisterRequest>,
    ) -> Result<Response<RegisterReply>, Status> {
        let r = request.into_inner();
        let role = Role::try_from(r.role).unwrap_or(Role::Unspecified);
        if role == Role::Unspecified {
            return Err(Status::invalid_argument(
                "register as a worker or a ps shard",
            ));
        }
        if role == Role::Ps && r.address.is_empty() {
            return Err(Status::invalid_argument("a ps shard must give its address"));
        }
        let id = {
            let mut inner = self.shared.lock();
            if inner.shutdown {
                return Err(Status::failed_precondition("the job is over"));
            }
            let id = inner.next_member;
            inner.next_member += 1;
            inner.members.insert(
                id,
                Member {
                    role,
                    rank: r.rank,
                    address: r.address,
                    last_seen: Instant::now(),
                    dead: false,
                },
            );
            id
        };
        self.shared.changed.notify_waiters();
        Ok(Response::new(RegisterReply {
            member_id: id,
            job: Vec::new(),
            heartbeat_ms: self.shared.heartbeat.as_millis() as u64,
        }))
    }

    async fn heartbeat(
        &self,
        request: Request<HeartbeatRequest>,
    ) -> Result<Response<HeartbeatReply>, Status> {
        let shutdown = self.shared.touch(request.get_ref().member_id)?;
        Ok(Response::new(HeartbeatReply { shutdown }))
    }

    async fn assign(
        &self,
        request: Request<AssignRequest>,
    ) -> Result<Response<Assignment>, Status> {
        let member = request.get_ref().member_id;
        let deadline = tokio::time::Instant::now() + LONG_POLL;
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.shared.touch(member)? {
                let body = serde_json::to_vec(&Task::Shutdown).expect("tasks serialise");
                return Ok(Response::new(Assignment {
                    task_id: u64::MAX,
                    task: body,
                }));
            }
            let next = self
                .shared
                .lock()
                .queues
                .get_mut(&member)
                .and_then(VecDeque::pop_front);
            if let Some((task_id, task)) = next {
                return Ok(Response::new(Assignment { task_id, task }));
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Ok(Response::new(Assignment::default()));
            }
        }
    }

    async fn report(&self, request: Request<TaskReport>) -> Result<Response<ReportReply>, Status> {
        let r = request.into_inner();
        self.shared.touch(r.member_id)?;
        self.shared.lock().reports.push(Report {
            member: r.member_id,
            task: r.task_id,
            output: r.output,
            error: (!r.error.is_empty()).then_some((r.error, r.user_error)),
        });
        self.shared.changed.notify_waiters();
        Ok(Response::new(ReportReply {}))
    }
}
