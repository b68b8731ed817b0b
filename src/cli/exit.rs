//! Exit codes: 0 success, 2 bad input or usage, 1 anything else — with the error chain on stderr.

use std::process::ExitCode;

/// An error caused by the user's input (a file, column, row or flag): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UsageError(pub(crate) String);

/// Prints the error chain and picks the exit code.
pub(crate) fn report(result: anyhow::Result<()>) -> ExitCode {
    let Err(err) = result else {
        return ExitCode::SUCCESS;
    };
    let mut message = format!("error: {err}");
    for cause in err.chain().skip(1) {
        message.push_str(&format!("\n  caused by: {cause}"));
    }
    eprintln!("{message}");
    if is_user_error(&err) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

fn is_user_error(err: &anyhow::Error) -> bool {
    use distml::{data, feature, model, tracking, train};
    err.chain().any(|cause| {
        cause.downcast_ref::<UsageError>().is_some()
            || cause.downcast_ref::<train::ConfigError>().is_some()
            || cause
                .downcast_ref::<data::DataError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<feature::FeatureError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<model::ModelError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<model::ModelDirError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<tracking::TrackingError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<distml::tuning::TuneError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<train::JobError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<model::ScoreError>()
                .is_some_and(|e| e.is_user_error())
            || cause
                .downcast_ref::<distml::cluster::ClusterError>()
                .is_some_and(|e| e.is_user_error())
    })
}
