//! Where `distml serve` gets its model: a local directory, or files on the MLflow tracking
//! server — a run's (`runs:/<run_id>/<path>`), a registered version's
//! (`models:/<name>/<version>`, `models:/<name>@<alias>`) or a logged model's
//! (`models:/m-<id>`) — downloaded once into a local cache. Registered versions never change,
//! so a cached copy is reused; a download lands under a temporary name and is renamed into
//! place, so replicas fetching at once, or a download cut off, never leave half a model.

use std::path::{Path, PathBuf};

use crate::tracking::artifacts::download_dir;
use crate::tracking::{MlflowClient, TrackingConfig, TrackingError, TrackingOverrides};

use super::ServeError;

/// Overrides the model cache directory (default `$XDG_CACHE_HOME/distml/models` or
/// `~/.cache/distml/models`).
pub const CACHE_ENV: &str = "DISTML_MODEL_CACHE";

/// A `--model` value, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// A model directory on this machine.
    Dir(PathBuf),
    /// `runs:/<run_id>/<path>`: files a run logged.
    Run {
        /// The run.
        run_id: String,
        /// The artifact path below the run's root (`model`).
        path: String,
    },
    /// `models:/<name>/<version>`.
    Version {
        /// The registered model.
        name: String,
        /// Its version number.
        version: String,
    },
    /// `models:/<name>@<alias>`: whichever version the alias points at.
    Alias {
        /// The registered model.
        name: String,
        /// The alias (`champion`).
        alias: String,
    },
    /// `models:/m-<id>`: an MLflow 3 logged model.
    Logged {
        /// The `m-…` id.
        model_id: String,
    },
}

impl ModelSource {
    /// Parses a `--model` value; a malformed URI names what is missing.
    pub fn parse(text: &str) -> Result<Self, ServeError> {
        let bad = |expected: &str| ServeError::Load {
            model: text.to_string(),
            message: format!("expected {expected}"),
        };
        if let Some(rest) = text.strip_prefix("runs:/") {
            let (run_id, path) = rest
                .trim_start_matches('/')
                .split_once('/')
                .filter(|(run, path)| !run.is_empty() && !path.trim_matches('/').is_empty())
                .ok_or_else(|| bad("runs:/<run_id>/<artifact path>"))?;
            return Ok(ModelSource::Run {
                run_id: run_id.to_string(),
                path: path.trim_matches('/').to_string(),
            });
        }
        let Some(rest) = text.strip_prefix("models:/") else {
            return Ok(ModelSource::Dir(PathBuf::from(text)));
        };
        let rest = rest.trim_matches('/');
        if let Some((name, version)) = rest.rsplit_once('/') {
            if name.is_empty() || version.is_empty() {
                return Err(bad("models:/<name>/<version>"));
            }
            return Ok(ModelSource::Version {
                name: name.to_string(),
                version: version.to_string(),
            });
        }
        if let Some((name, alias)) = rest.rsplit_once('@') {
            if name.is_empty() || alias.is_empty() {
                return Err(bad("models:/<name>@<alias>"));
            }
            return Ok(ModelSource::Alias {
                name: name.to_string(),
                alias: alias.to_string(),
            });
        }
        match rest.starts_with("m-") {
            true => Ok(ModelSource::Logged {
                model_id: rest.to_string(),
            }),
            false => Err(bad(
                "models:/<name>/<version>, models:/<name>@<alias> or models:/m-<id>",
            )),
        }
    }

    /// Whether the files are on the tracking server.
    pub fn is_remote(&self) -> bool {
        !matches!(self, ModelSource::Dir(_))
    }

    /// The name a KServe V2 route uses for it: the registered model's, else the last path
    /// segment.
    pub fn model_name(&self) -> String {
        match self {
            ModelSource::Version { name, .. } | ModelSource::Alias { name, .. } => name.clone(),
            ModelSource::Logged { model_id } => model_id.clone(),
            ModelSource::Run { path, .. } => last_segment(path),
            ModelSource::Dir(dir) => {
                let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
                last_segment(&absolute.to_string_lossy())
            }
        }
    }
}

fn last_segment(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("model")
        .to_string()
}

/// A source pinned down: the files' artifact URI and, for registered models, the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// `mlflow-artifacts:/…` where the files are.
    pub artifact_uri: String,
    /// The registered version it is (aliases resolve to one).
    pub version: Option<String>,
}

/// Downloads models from one tracking server into the local cache.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: MlflowClient,
    cache: PathBuf,
}

impl Fetcher {
    /// A fetcher for the server of `MLFLOW_TRACKING_URI` (or `tracking_uri`), with its auth.
    pub fn from_env(tracking_uri: Option<&str>, model: &str) -> Result<Self, ServeError> {
        let load = |message: String| ServeError::Load {
            model: model.to_string(),
            message,
        };
        let flags = TrackingOverrides {
            tracking_uri: tracking_uri.map(str::to_string),
            ..Default::default()
        };
        let config = TrackingConfig::from_env()
            .and_then(|c| c.with_overrides(flags))
            .map_err(|e| load(e.to_string()))?;
        let uri = config.tracking_uri.clone().ok_or_else(|| {
            load(
                "a model on the tracking server needs MLFLOW_TRACKING_URI or --tracking-uri".into(),
            )
        })?;
        let client = MlflowClient::new(&uri, &config).map_err(|e| load(e.to_string()))?;
        Ok(Fetcher {
            client,
            cache: cache_root(),
        })
    }

    /// The tracking server's URI.
    pub fn tracking_uri(&self) -> &str {
        self.client.uri()
    }

    /// The same fetcher with another cache directory.
    pub fn with_cache(mut self, cache: PathBuf) -> Self {
        self.cache = cache;
        self
    }

    /// Asks the server where `source`'s files are (and which version an alias means now).
    pub fn locate(&self, source: &ModelSource) -> Result<Located, TrackingError> {
        let (uri, version) = match source {
            ModelSource::Dir(dir) => (dir.display().to_string(), None),
            ModelSource::Run { run_id, path } => (format!("runs:/{run_id}/{path}"), None),
            ModelSource::Logged { model_id } => (format!("models:/{model_id}"), None),
            ModelSource::Version { name, version } => {
                let uri = self.client.model_version_download_uri(name, version)?;
                (uri, Some(version.clone()))
            }
            ModelSource::Alias { name, alias } => {
                let version = self.client.model_version_by_alias(name, alias)?.version;
                let uri = self.client.model_version_download_uri(name, &version)?;
                (uri, Some(version))
            }
        };
        Ok(Located {
            artifact_uri: self.artifact_uri(&uri)?,
            version,
        })
    }

    /// The `mlflow-artifacts:` URI behind a `runs:/` or `models:/m-…` URI.
    fn artifact_uri(&self, uri: &str) -> Result<String, TrackingError> {
        if let Some(rest) = uri.strip_prefix("runs:/") {
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, ""));
            let root = self.client.get_run(run_id)?.info.artifact_uri;
            return Ok(format!("{}/{}", root.trim_end_matches('/'), path));
        }
        if let Some(id) = uri.strip_prefix("models:/").filter(|i| i.starts_with("m-")) {
            return Ok(self.client.get_logged_model(id)?.artifact_uri);
        }
        Ok(uri.to_string())
    }

    /// The local directory holding `located`'s files, downloaded unless already cached.
    pub fn fetch(&self, located: &Located) -> Result<PathBuf, TrackingError> {
        let dir = self
            .cache
            .join(safe_name(self.client.uri()))
            .join(safe_name(&located.artifact_uri));
        if dir.join("metadata.json").is_file() {
            return Ok(dir);
        }
        let parent = dir.parent().unwrap_or(&self.cache).to_path_buf();
        std::fs::create_dir_all(&parent).map_err(|e| TrackingError::io(&parent, e))?;
        let partial = tempfile::Builder::new()
            .prefix(".download-")
            .tempdir_in(&parent)
            .map_err(|e| TrackingError::io(&parent, e))?;
        let files = download_dir(&self.client, &located.artifact_uri, partial.path())?;
        tracing::info!(files, uri = %located.artifact_uri, dir = %dir.display(), "model downloaded");
        let staged = partial.keep();
        if std::fs::rename(&staged, &dir).is_err() {
            // Another replica finished the same download first; its copy is the same files.
            let _ = std::fs::remove_dir_all(&staged);
        }
        Ok(dir)
    }
}

/// The model cache: `DISTML_MODEL_CACHE`, else the user's cache directory, else the temp dir.
pub fn cache_root() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(dir) = var(CACHE_ENV) {
        return PathBuf::from(dir);
    }
    let base = var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("distml").join("models")
}

/// `text` as one file name: every character but ASCII letters, digits, `.`, `-`, `_` as `_`.
fn safe_name(text: &str) -> String {
    let name: String = text
        .chars()
        .map(|c| match c.is_ascii_alphanumeric() || "-_.".contains(c) {
            true => c,
            false => '_',
        })
        .collect();
    name.trim_start_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ModelSource {
        ModelSource::parse(text).unwrap()
    }

    #[test]
    fn parses_every_source_form() {
        assert_eq!(parsed("out/model"), ModelSource::Dir("out/model".into()));
        assert_eq!(
            parsed("runs:/abc123/model"),
            ModelSource::Run {
                run_id: "abc123".into(),
                path: "model".into()
            }
        );
        assert_eq!(
            parsed("models:/taxi duration/3"),
            ModelSource::Version {
                name: "taxi duration".into(),
                version: "3".into()
            }
        );
        assert_eq!(
            parsed("models:/taxi@champion"),
            ModelSource::Alias {
                name: "taxi".into(),
                alias: "champion".into()
            }
        );
        assert_eq!(
            parsed("models:/m-0123"),
            ModelSource::Logged {
                model_id: "m-0123".into()
            }
        );
    }

    #[test]
    fn malformed_uris_say_what_is_expected() {
        for (text, expected) in [
            ("runs:/abc", "runs:/<run_id>/<artifact path>"),
            ("runs://model", "runs:/<run_id>"),
            ("models:/taxi", "models:/<name>/<version>"),
            ("models:/@champion", "models:/<name>@<alias>"),
            ("models://3", "models:/<name>/<version>"),
        ] {
            let message = ModelSource::parse(text).unwrap_err().to_string();
            assert!(message.contains(expected), "{text}: {message}");
            assert!(message.contains(text), "{text}: {message}");
        }
    }

    #[test]
    fn names_for_v2_routes_and_the_cache() {
        assert_eq!(parsed("models:/taxi/2").model_name(), "taxi");
        assert_eq!(parsed("runs:/r/best_model").model_name(), "best_model");
        assert_eq!(parsed("/tmp/x/taxi-gbt/").model_name(), "taxi-gbt");
        assert_eq!(
            safe_name("mlflow-artifacts:/1/models/m-1/artifacts"),
            "mlflow-artifacts__1_models_m-1_artifacts"
        );
        assert_eq!(safe_name("../x"), "_x");
    }
}
