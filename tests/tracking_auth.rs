//! Basic auth against a real `mlflow server --app-name basic-auth` (`pip install mlflow[auth]`).
//!
//! Starts its own server (`DISTML_MLFLOW_BIN`) on a free loopback port; stops it by PID.
//! The auth app keeps its user DB (`basic_auth.db`) in the server's working directory, a tempdir.

mod common;
mod tracking_support;

use distml::tracking::{
    Auth, MlflowClient, RunSpec, Secret, Status, Tracker, TrackingConfig, TrackingError,
};
use tracking_support::{config, free_port, mlflow_bin, OwnServer};

const ADMIN_PASSWORD: &str = "distml-test-Adm1n!";

fn with_auth(base: &TrackingConfig, auth: Auth) -> TrackingConfig {
    TrackingConfig {
        auth,
        ..base.clone()
    }
}

#[test]
fn basic_auth_against_the_mlflow_auth_app() {
    let Some(bin) = mlflow_bin("basic_auth_against_the_mlflow_auth_app") else {
        return;
    };
    let data = tempfile::tempdir().expect("data");
    let runs = tempfile::tempdir().expect("runs");
    let server = OwnServer::start(
        &bin,
        data.path(),
        free_port(),
        &["--app-name", "basic-auth"],
        &[
            ("MLFLOW_FLASK_SERVER_SECRET_KEY", "distml-tests-secret"),
            ("MLFLOW_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ],
    );
    let uri = server.uri();
    let base = config(Some(&uri), runs.path(), 0);

    let admin = Auth::Basic {
        username: "admin".into(),
        password: Secret::new(ADMIN_PASSWORD),
    };
    let tracker = Tracker::new(with_auth(&base, admin)).expect("tracker");
    assert!(!format!("{:?}", tracker.config()).contains(ADMIN_PASSWORD));
    let run = tracker
        .start_run(RunSpec::default())
        .expect("admin may create runs");
    run.log_metric("loss", 0.5, 0).expect("metric");
    let run_id = run.run_id().to_string();
    assert!(run.finish(Status::Finished).expect("finish").synced);

    let anonymous = MlflowClient::new(&uri, &base).expect("client");
    let err = anonymous.get_run(&run_id).expect_err("no credentials");
    assert!(
        matches!(err, TrackingError::Http { status: 401, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("MLFLOW_TRACKING_USERNAME"),
        "{err}"
    );

    let wrong = Auth::Basic {
        username: "admin".into(),
        password: Secret::new("wrong"),
    };
    let err = MlflowClient::new(&uri, &with_auth(&base, wrong))
        .expect("client")
        .get_run(&run_id)
        .expect_err("bad password");
    assert_eq!(err.status(), Some(401));
    assert!(!err.to_string().contains("wrong"));

    // The OSS auth app rejects Bearer tokens (they are for reverse proxies / Databricks).
    let bearer = Auth::Bearer(Secret::new("some-token"));
    let err = Tracker::new(with_auth(&base, bearer))
        .expect("tracker")
        .start_run(RunSpec::default())
        .expect_err("bearer rejected");
    assert_eq!(err.status(), Some(401), "{err:?}");
    drop(server);
}
