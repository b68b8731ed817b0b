//! One server process: load the model (before binding, so a bad model exits 2 at once), bind
//! the port — with `SO_REUSEPORT`, so several replicas share it — and serve until SIGTERM or
//! SIGINT, then drain: health turns 503, in-flight requests finish, bounded by a timeout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};

use super::app::{router, App};
use super::reload::{watch, Reload};
use super::service::Service;
use super::ServeError;
use crate::model::Scorer;

/// Settings of a server process.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The model directory (downloaded first when the model is on the tracking server).
    pub model: PathBuf,
    /// The model's name in the KServe V2 routes.
    pub name: String,
    /// The registered version served, when known.
    pub version: Option<String>,
    /// Where to listen.
    pub addr: SocketAddr,
    /// Largest request body in bytes.
    pub max_body: usize,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub drain_timeout: Duration,
    /// Follow a registry alias (`--reload-every`).
    pub reload: Option<Reload>,
}

impl ServeOptions {
    /// Settings for `model` on `addr` with the defaults of `distml serve`.
    pub fn new(model: PathBuf, addr: SocketAddr) -> Self {
        ServeOptions {
            name: super::ModelSource::Dir(model.clone()).model_name(),
            model,
            version: None,
            addr,
            max_body: 64 << 20,
            drain_timeout: Duration::from_secs(30),
            reload: None,
        }
    }
}

/// Loads the model directory for serving; the error names the directory and the reason.
pub fn load(model: &std::path::Path, max_body: usize) -> Result<Arc<App>, ServeError> {
    let load_error = |message: String| ServeError::Load {
        model: model.display().to_string(),
        message,
    };
    let scorer = Scorer::load(model).map_err(|e| load_error(e.to_string()))?;
    App::new(scorer, max_body).map_err(|e| load_error(e.to_string()))
}

/// A listener on `addr` that other processes may share (`SO_REUSEPORT`).
pub(crate) fn shared_socket(addr: SocketAddr) -> Result<TcpSocket, ServeError> {
    let io = |e: std::io::Error| ServeError::Io(format!("cannot bind {addr}: {e}"));
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(io)?;
    socket.set_reuseaddr(true).map_err(io)?;
    socket.set_reuseport(true).map_err(io)?;
    socket.bind(addr).map_err(io)?;
    Ok(socket)
}

/// Serves `app` on `addr` until a termination signal, then drains; `on_listening` is told the
/// bound address.
pub fn serve(
    app: Arc<App>,
    options: &ServeOptions,
    on_listening: &dyn Fn(SocketAddr),
) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(format!("runtime: {e}")))?;
    runtime.block_on(async {
        let listener: TcpListener = shared_socket(options.addr)?
            .listen(1024)
            .map_err(|e| ServeError::Io(format!("cannot listen on {}: {e}", options.addr)))?;
        let local = listener
            .local_addr()
            .map_err(|e| ServeError::Io(e.to_string()))?;
        on_listening(local);
        let service = Service::new(app, options.name.clone(), options.version.clone());
        if let Some(reload) = options.reload.clone() {
            tokio::spawn(watch(
                service.clone(),
                reload,
                options.version.clone(),
                options.max_body,
            ));
        }
        let (drained_tx, drained_rx) = tokio::sync::oneshot::channel::<()>();
        let draining = service.clone();
        let signal = async move {
            terminated().await;
            draining.drain();
            let _ = drained_tx.send(());
        };
        let server = axum::serve(listener, router(service)).with_graceful_shutdown(signal);
        let timeout = options.drain_timeout;
        tokio::select! {
            result = server => result.map_err(|e| ServeError::Io(e.to_string())),
            () = async {
                let _ = drained_rx.await;
                tokio::time::sleep(timeout).await;
            } => {
                tracing::warn!("drain timeout: in-flight requests cut off");
                Ok(())
            }
        }
    })
}

/// Resolves on SIGTERM or SIGINT.
pub(crate) async fn terminated() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
