//! `--reload-every S` with `models:/<name>@<alias>`: every S seconds the server asks the
//! registry which version the alias points at; a new one is downloaded and loaded beside the
//! old, then swapped in, so no request is dropped or fails. A failed check or load keeps the
//! old model serving and is logged.

use std::sync::Arc;
use std::time::Duration;

use super::server::load;
use super::service::Service;
use super::source::{Fetcher, ModelSource};

/// What to follow and how often.
#[derive(Debug, Clone)]
pub struct Reload {
    /// The alias source (`models:/<name>@<alias>`).
    pub source: ModelSource,
    /// The source as given (for messages and replicas).
    pub text: String,
    /// The registry to ask.
    pub fetcher: Fetcher,
    /// How often.
    pub every: Duration,
}

/// Checks the alias every `reload.every` for as long as the server runs.
pub(crate) async fn watch(
    service: Arc<Service>,
    reload: Reload,
    mut version: Option<String>,
    max_body: usize,
) {
    let mut ticks = tokio::time::interval(reload.every);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let check = reload.clone();
        let known = version.clone();
        let outcome =
            tokio::task::spawn_blocking(move || newer_model(&check, known.as_deref(), max_body))
                .await;
        match outcome {
            Ok(Ok(Some((app, new_version)))) => {
                tracing::info!(model = %reload.text, from = ?version, to = %new_version, "serving a new version");
                eprintln!("{}: now serving version {new_version}", reload.text);
                service.replace(app, Some(new_version.clone()));
                version = Some(new_version);
            }
            Ok(Ok(None)) => {}
            Ok(Err(message)) => {
                tracing::warn!(model = %reload.text, %message, "reload check failed; the loaded version keeps serving");
            }
            Err(e) => tracing::warn!(model = %reload.text, "reload check panicked: {e}"),
        }
    }
}

/// The alias's model when it moved off `known`, downloaded and loaded.
fn newer_model(
    reload: &Reload,
    known: Option<&str>,
    max_body: usize,
) -> Result<Option<(Arc<super::App>, String)>, String> {
    let located = reload
        .fetcher
        .locate(&reload.source)
        .map_err(|e| e.to_string())?;
    let Some(version) = located.version.clone() else {
        return Ok(None);
    };
    if Some(version.as_str()) == known {
        return Ok(None);
    }
    let dir = reload.fetcher.fetch(&located).map_err(|e| e.to_string())?;
    let app = load(&dir, max_body).map_err(|e| e.to_string())?;
    Ok(Some((app, version)))
}
