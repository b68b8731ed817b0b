//! HTTP transport: auth header, timeouts, retries per MLflow's rules, typed errors from any body.

use std::path::PathBuf;
use std::sync::Once;
use std::thread;

use reqwest::blocking::{Body, Client, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::TrackingConfig;
use super::error::TrackingError;
use super::retry::{parse_retry_after, CallKind, Failure, RetryPolicy};
use super::secret::Auth;

/// How many bytes of a non-JSON error body are kept.
const BODY_SNIPPET: usize = 300;

/// What a request carries.
#[derive(Clone, Debug)]
pub(crate) enum Payload {
    /// Nothing (GET).
    Empty,
    /// A JSON document.
    Json(Vec<u8>),
    /// A file streamed as the raw body (artifact PUT); reopened on each attempt.
    File(PathBuf),
}

/// A connection to one MLflow server.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    client: Client,
    base: String,
    auth: Auth,
    retry: RetryPolicy,
}

/// Installs rustls' ring crypto provider once per process (no aws-lc, no OpenSSL).
fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl Http {
    /// Builds a client for `uri` with the config's auth, TLS, timeout and retry settings.
    pub(crate) fn new(uri: &str, config: &TrackingConfig) -> Result<Self, TrackingError> {
        install_crypto_provider();
        let client = Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(std::time::Duration::from_secs(30)))
            .danger_accept_invalid_certs(config.insecure_tls)
            .user_agent(concat!("distml/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TrackingError::Config {
                name: "MLFLOW_TRACKING_URI",
                message: format!("cannot build an HTTP client: {}", flatten(&e)),
            })?;
        Ok(Http {
            client,
            base: super::config::normalize_uri(uri)?,
            auth: config.auth.clone(),
            retry: config.retry.clone(),
        })
    }

    /// The server's base URI.
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// The retry policy in use.
    pub(crate) fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The same connection with another retry policy.
    pub(crate) fn with_retry(&self, retry: RetryPolicy) -> Self {
        Http {
            retry,
            ..self.clone()
        }
    }

    /// POSTs JSON to `path` (below the base URI) and parses the JSON answer.
    pub(crate) fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        kind: CallKind,
    ) -> Result<T, TrackingError> {
        let json = serde_json::to_vec(body).map_err(|e| TrackingError::Decode {
            url: self.url(path),
            message: format!("cannot encode request: {e}"),
        })?;
        let response = self.send(Method::POST, path, &[], Payload::Json(json), kind)?;
        self.parse(path, response)
    }

    /// PATCHes JSON to `path` and parses the JSON answer (idempotent updates).
    pub(crate) fn patch<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, TrackingError> {
        let json = serde_json::to_vec(body).map_err(|e| TrackingError::Decode {
            url: self.url(path),
            message: format!("cannot encode request: {e}"),
        })?;
        let response = self.send(
            Method::PATCH,
            path,
            &[],
            Payload::Json(json),
            CallKind::Idempotent,
        )?;
        self.parse(path, response)
    }

    /// GETs `path` with a query string and parses the JSON answer.
    pub(crate) fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> Result<T, TrackingError> {
        let response = self.send(
            Method::GET,
            path,
            query,
            Payload::Empty,
            CallKind::Idempotent,
        )?;
        self.parse(path, response)
    }

    /// PUTs a file's bytes to `path` (artifact upload; idempotent: same path, same bytes).
    pub(crate) fn put_file(&self, path: &str, file: PathBuf) -> Result<(), TrackingError> {
        self.send(
            Method::PUT,
            path,
            &[],
            Payload::File(file),
            CallKind::Idempotent,
        )
        .map(drop)
    }

    /// GETs `path` (artifact download) and writes the body to `dest`; returns its size.
    pub(crate) fn get_to_file(
        &self,
        path: &str,
        dest: &std::path::Path,
    ) -> Result<u64, TrackingError> {
        let mut response =
            self.send(Method::GET, path, &[], Payload::Empty, CallKind::Idempotent)?;
        let mut file = std::fs::File::create(dest).map_err(|e| TrackingError::io(dest, e))?;
        response
            .copy_to(&mut file)
            .map_err(|e| TrackingError::Transport {
                url: self.url(path),
                message: flatten(&e),
                connect: false,
            })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn parse<T: DeserializeOwned>(
        &self,
        path: &str,
        response: Response,
    ) -> Result<T, TrackingError> {
        let url = self.url(path);
        let bytes = response.bytes().map_err(|e| TrackingError::Transport {
            url: url.clone(),
            message: flatten(&e),
            connect: false,
        })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes).map_err(|e| TrackingError::Decode {
            url,
            message: format!("{e}; body starts with {:?}", snippet(bytes)),
        })
    }

    /// Sends with retries; returns the successful response or the last error.
    fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        payload: Payload,
        kind: CallKind,
    ) -> Result<Response, TrackingError> {
        let url = self.url(path);
        let mut retry = 0;
        loop {
            let (error, failure, retry_after) = match self.attempt(&method, &url, query, &payload) {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let after = response
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    (error_from(&url, response), Failure::Status(status), after)
                }
                Err(error) => {
                    let failure = match &error {
                        TrackingError::Transport { connect: true, .. } => Failure::Connect,
                        TrackingError::Io { .. } => return Err(error),
                        _ => Failure::Ambiguous,
                    };
                    (error, failure, None)
                }
            };
            if retry >= self.retry.max_retries || !RetryPolicy::is_retryable(kind, failure) {
                return Err(error);
            }
            retry += 1;
            let delay = self.retry.delay(retry, retry_after);
            tracing::warn!(
                "{method} {url} failed ({error}); retry {retry}/{} in {:.1}s",
                self.retry.max_retries,
                delay.as_secs_f64()
            );
            thread::sleep(delay);
        }
    }

    fn attempt(
        &self,
        method: &Method,
        url: &str,
        query: &[(&str, &str)],
        payload: &Payload,
    ) -> Result<Response, TrackingError> {
        let parsed = if query.is_empty() {
            reqwest::Url::parse(url)
        } else {
            reqwest::Url::parse_with_params(url, query)
        };
        let full = parsed.map_err(|e| TrackingError::Config {
            name: "MLFLOW_TRACKING_URI",
            message: format!("'{url}' is not a valid URL: {e}"),
        })?;
        let mut request = self.client.request(method.clone(), full);
        request = match &self.auth {
            Auth::None => request,
            Auth::Bearer(token) => {
                request.header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            }
            Auth::Basic { username, password } => {
                request.basic_auth(username, Some(password.expose()))
            }
        };
        request = match payload {
            Payload::Empty => request,
            Payload::Json(bytes) => request
                .header(CONTENT_TYPE, "application/json")
                .body(bytes.clone()),
            Payload::File(path) => {
                let file =
                    std::fs::File::open(path).map_err(|e| TrackingError::io(path.clone(), e))?;
                request.body(Body::from(file))
            }
        };
        request.send().map_err(|e| TrackingError::Transport {
            url: url.to_string(),
            message: flatten(&e),
            connect: e.is_connect(),
        })
    }
}

/// Builds the typed error for a non-success response: MLflow JSON if present, else status + body.
fn error_from(url: &str, response: Response) -> TrackingError {
    #[derive(serde::Deserialize)]
    struct MlflowError {
        error_code: String,
        #[serde(default)]
        message: String,
    }
    let status = response.status().as_u16();
    let body = response.bytes().map(|b| b.to_vec()).unwrap_or_default();
    if let Ok(err) = serde_json::from_slice::<MlflowError>(&body) {
        return TrackingError::Api {
            url: url.to_string(),
            status,
            code: err.error_code,
            message: err.message,
        };
    }
    TrackingError::Http {
        url: url.to_string(),
        status,
        body: snippet(&body),
    }
}

fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(BODY_SNIPPET)]);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The error and its causes on one line (reqwest hides the interesting part in `source()`).
fn flatten(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
