//! What the routes serve: the loaded model (swapped whole when `--reload-every` brings a new
//! version, so a request scores on the model it started with), the name the KServe V2 routes
//! use, and readiness (false once draining).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use super::app::App;

/// The model being served and its state.
pub struct Service {
    current: RwLock<Loaded>,
    ready: AtomicBool,
    name: String,
}

#[derive(Clone)]
struct Loaded {
    app: Arc<App>,
    version: Option<String>,
}

impl Service {
    /// Serves `app` (registered `version`, when known) as model `name`.
    pub fn new(app: Arc<App>, name: String, version: Option<String>) -> Arc<Service> {
        Arc::new(Service {
            current: RwLock::new(Loaded { app, version }),
            ready: AtomicBool::new(true),
            name,
        })
    }

    /// The model now.
    pub fn app(&self) -> Arc<App> {
        self.loaded().app
    }

    /// The registered version now, when served from the registry.
    pub fn version(&self) -> Option<String> {
        self.loaded().version
    }

    /// The model's name in the V2 routes.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Serves `app` from now on; requests already scoring finish on the old one.
    pub fn replace(&self, app: Arc<App>, version: Option<String>) {
        let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
        *current = Loaded { app, version };
    }

    /// Whether new work is taken (false once draining).
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// From now on the health routes answer 503 (in-flight requests still finish).
    pub fn drain(&self) {
        self.ready.store(false, Ordering::SeqCst);
    }

    fn loaded(&self) -> Loaded {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
