//! The retry and error rules exercised over HTTP against a scripted test double.

use super::client::{MlflowClient, NewRun};
use super::config::TrackingConfig;
use super::error::TrackingError;
use super::retry::RetryPolicy;
use super::secret::{Auth, Secret};
use super::test_double::{hang_up, serve, Reply};

fn client(uri: &str, auth: Auth) -> MlflowClient {
    client_with(uri, auth, true)
}

/// A client with 3 retries and no backoff of its own; `retry_after`: honour `Retry-After`.
fn client_with(uri: &str, auth: Auth, retry_after: bool) -> MlflowClient {
    let config = TrackingConfig {
        auth,
        retry: RetryPolicy {
            max_retries: 3,
            backoff_factor: 0.0,
            respect_retry_after: retry_after,
            ..RetryPolicy::default()
        },
        ..TrackingConfig::default()
    };
    MlflowClient::new(uri, &config).expect("client")
}

fn new_run() -> NewRun {
    NewRun {
        experiment_id: "1".into(),
        start_time: 1,
        ..NewRun::default()
    }
}

const RUN: &str = r#"{"run":{"info":{"run_id":"abc","experiment_id":"1","artifact_uri":"mlflow-artifacts:/1/abc/artifacts"}}}"#;

#[test]
fn idempotent_calls_retry_5xx_and_honour_retry_after() {
    let (uri, seen) = serve(vec![
        Reply(503, "text/plain", vec![("Retry-After", "1")], "busy".into()),
        Reply::json(500, r#"{"error_code":"INTERNAL_ERROR","message":"db"}"#),
        Reply::json(200, "{}"),
    ]);
    client(&uri, Auth::None)
        .log_batch("abc", &[], &[], &[])
        .expect("third attempt succeeds");
    let seen = seen.lock().expect("log");
    assert_eq!(seen.len(), 3);
    // The client's own backoff is 0: only the server's Retry-After makes it wait a second.
    let waited = seen[1].at - seen[0].at;
    assert!(waited >= std::time::Duration::from_secs(1), "{waited:?}");
    assert!(seen
        .iter()
        .all(|s| s.path == "/api/2.0/mlflow/runs/log-batch"));
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
}

#[test]
fn creates_are_not_repeated_on_5xx_but_are_on_429() {
    let (uri, seen) = serve(vec![Reply::json(
        503,
        r#"{"error_code":"TEMPORARILY_UNAVAILABLE","message":"x"}"#,
    )]);
    let err = client(&uri, Auth::None)
        .create_run(&new_run())
        .expect_err("503");
    assert_eq!(err.error_code(), Some("TEMPORARILY_UNAVAILABLE"));
    assert_eq!(seen.lock().expect("log").len(), 1);

    let (uri, seen) = serve(vec![
        Reply::json(
            429,
            r#"{"error_code":"REQUEST_LIMIT_EXCEEDED","message":"slow down"}"#,
        ),
        Reply::json(200, RUN),
    ]);
    let info = client(&uri, Auth::None)
        .create_run(&new_run())
        .expect("retried");
    assert_eq!(info.run_id, "abc");
    assert_eq!(seen.lock().expect("log").len(), 2);
}

#[test]
fn ambiguous_create_looks_the_run_up_by_key_before_creating_again() {
    let found = format!(r#"{{"runs":[{}]}}"#, &RUN[7..RUN.len() - 1]);
    let (uri, seen) = serve(vec![
        Reply::json(200, "{}"),
        Reply::json(502, r#"{"error_code":"INTERNAL_ERROR","message":"proxy"}"#),
        Reply::json(200, &found),
    ]);
    let info = client(&uri, Auth::None)
        .create_run_once(&new_run(), "distml.run_key", "k1")
        .expect("found by key");
    assert_eq!(info.run_id, "abc");
    let paths: Vec<String> = seen
        .lock()
        .expect("log")
        .iter()
        .map(|s| s.path.clone())
        .collect();
    assert_eq!(
        paths,
        [
            "/api/2.0/mlflow/runs/search",
            "/api/2.0/mlflow/runs/create",
            "/api/2.0/mlflow/runs/search"
        ]
    );
    assert!(seen.lock().expect("log")[0]
        .body
        .contains("tags.`distml.run_key` = 'k1'"));
}

#[test]
fn typed_errors_from_json_html_and_text_bodies() {
    let (uri, _) = serve(vec![
        Reply::json(
            400,
            r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Changing param values is not allowed."}"#,
        ),
        Reply(
            404,
            "text/html",
            vec![],
            "<!doctype html><title>404 Not Found</title>".into(),
        ),
        Reply(
            401,
            "text/html",
            vec![("WWW-Authenticate", "Basic realm=\"mlflow\"")],
            "You are not authenticated.".into(),
        ),
    ]);
    let c = client(&uri, Auth::None);
    let err = c.log_batch("abc", &[], &[], &[]).expect_err("400");
    assert!(
        matches!(&err, TrackingError::Api { status: 400, code, .. } if code == "INVALID_PARAMETER_VALUE")
    );
    assert!(err.to_string().contains("Changing param values"));
    let err = c.get_run("abc").expect_err("404");
    assert!(
        matches!(&err, TrackingError::Http { status: 404, body, .. } if body.contains("404 Not Found"))
    );
    let err = c.get_run("abc").expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert!(
        err.to_string().contains("MLFLOW_TRACKING_USERNAME"),
        "{err}"
    );
}

#[test]
fn auth_headers() {
    let (uri, seen) = serve(vec![Reply::json(200, RUN), Reply::json(200, RUN)]);
    let basic = Auth::Basic {
        username: "alice".into(),
        password: Secret::new("s3cret"),
    };
    client(&uri, basic).get_run("abc").expect("ok");
    client(&uri, Auth::Bearer(Secret::new("tok")))
        .get_run("abc")
        .expect("ok");
    let seen = seen.lock().expect("log");
    // base64("alice:s3cret")
    assert_eq!(
        seen[0].header("authorization"),
        Some("Basic YWxpY2U6czNjcmV0")
    );
    assert_eq!(seen[1].header("authorization"), Some("Bearer tok"));
    assert_eq!(seen[1].path, "/api/2.0/mlflow/runs/get?run_id=abc");
}

#[test]
fn retry_after_is_ignored_when_told_to() {
    let (uri, seen) = serve(vec![
        Reply(
            503,
            "text/plain",
            vec![("Retry-After", "30")],
            "busy".into(),
        ),
        Reply::json(200, "{}"),
    ]);
    client_with(&uri, Auth::None, false)
        .log_batch("abc", &[], &[], &[])
        .expect("second attempt succeeds");
    let seen = seen.lock().expect("log");
    assert_eq!(seen.len(), 2);
    // Honouring it would have waited 30 s.
    assert!(seen[1].at - seen[0].at < std::time::Duration::from_secs(30));
}

#[test]
fn a_dropped_connection_is_retried_max_retries_times_then_reported() {
    let (uri, accepted) = hang_up();
    let err = client(&uri, Auth::None)
        .get_run("abc")
        .expect_err("every attempt is hung up on");
    assert!(matches!(err, TrackingError::Transport { .. }), "{err:?}");
    // The first attempt and 3 retries.
    assert_eq!(*accepted.lock().expect("count"), 4);
}

#[test]
fn connection_refused_is_retried_then_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let err = client(&format!("http://127.0.0.1:{port}"), Auth::None)
        .get_run("abc")
        .expect_err("nobody listens");
    assert!(
        matches!(err, TrackingError::Transport { connect: true, .. }),
        "{err:?}"
    );
}
