//! What a request or the server can get wrong, answered as MLflow's scoring server answers:
//! `{"error_code": "BAD_REQUEST", "message": ...}` with the HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// A failed request (the server goes on serving) or a server that cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The body is not a scoring request this server reads.
    #[error("{0}")]
    BadRequest(String),
    /// The content type is neither JSON nor CSV.
    #[error("content type '{0}' is not supported: send application/json or text/csv")]
    UnsupportedMediaType(String),
    /// The body is over the limit.
    #[error("the request body is over the {0}-byte limit")]
    TooLarge(usize),
    /// The server is draining (SIGTERM) and takes no new work.
    #[error("the server is shutting down")]
    Draining,
    /// The model could not score the rows for a reason of its own.
    #[error("scoring failed: {0}")]
    Internal(String),
    /// The model directory could not be loaded (the server does not start).
    #[error("cannot serve {model}: {message}")]
    Load {
        /// The model source as given.
        model: String,
        /// Why.
        message: String,
    },
    /// The port could not be bound or the replicas started.
    #[error("{0}")]
    Io(String),
}

impl ServeError {
    /// MLflow's error code and the HTTP status of this error.
    pub fn status(&self) -> (StatusCode, &'static str) {
        match self {
            ServeError::BadRequest(_) => (StatusCode::BAD_REQUEST, "BAD_REQUEST"),
            ServeError::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "BAD_REQUEST")
            }
            ServeError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "BAD_REQUEST"),
            ServeError::Draining => (StatusCode::SERVICE_UNAVAILABLE, "TEMPORARILY_UNAVAILABLE"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR"),
        }
    }

    /// Whether the user is at fault (exit code 2 when the server cannot start).
    pub fn is_user_error(&self) -> bool {
        matches!(self, ServeError::Load { .. })
    }
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let (status, code) = self.status();
        let body = serde_json::json!({"error_code": code, "message": self.to_string()});
        (
            status,
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response()
    }
}
