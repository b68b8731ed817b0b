//! MLflow's server-side limits checked locally, so nothing is silently truncated.

use super::error::TrackingError;

/// Longest metric, param or tag key.
pub const MAX_KEY: usize = 250;
/// Longest param value (the server would truncate silently).
pub const MAX_PARAM_VALUE: usize = 6000;
/// Longest run tag value (the server would truncate silently).
pub const MAX_TAG_VALUE: usize = 8000;
/// Longest experiment name.
pub const MAX_EXPERIMENT_NAME: usize = 500;
/// Longest dataset name.
pub const MAX_DATASET_NAME: usize = 500;
/// Longest dataset digest.
pub const MAX_DATASET_DIGEST: usize = 36;
/// Longest dataset schema JSON.
pub const MAX_DATASET_SCHEMA: usize = 1_048_575;
/// Longest dataset input tag value.
pub const MAX_INPUT_TAG_VALUE: usize = 500;

fn shown(value: &str) -> String {
    let mut out: String = value.chars().take(60).collect();
    if value.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn invalid(what: &'static str, value: &str, reason: String) -> TrackingError {
    TrackingError::Invalid {
        what,
        shown: shown(value),
        reason,
    }
}

/// Checks a metric/param/tag key: ≤250 chars of `[/\w.\- :]`, a normalized relative path.
pub fn key(what: &'static str, key: &str) -> Result<(), TrackingError> {
    if key.is_empty() {
        return Err(invalid(what, key, "must not be empty".into()));
    }
    let len = key.chars().count();
    if len > MAX_KEY {
        return Err(invalid(
            what,
            key,
            format!("{len} characters; MLflow allows at most {MAX_KEY}"),
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':')))
    {
        return Err(invalid(
            what,
            key,
            format!(
                "character {c:?} not allowed; use letters, digits, '_', '-', '.', ' ', ':' and '/'"
            ),
        ));
    }
    let bad_path = key.starts_with('/')
        || key.ends_with('/')
        || key
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad_path {
        return Err(invalid(
            what,
            key,
            "must be a normalized relative path (no leading/trailing '/', '//', '.' or '..')"
                .into(),
        ));
    }
    Ok(())
}

/// Checks a value's length against `max` characters.
pub fn value(what: &'static str, value: &str, max: usize) -> Result<(), TrackingError> {
    let len = value.chars().count();
    if len > max {
        return Err(invalid(
            what,
            value,
            format!("{len} characters; MLflow allows at most {max} (it would silently truncate)"),
        ));
    }
    Ok(())
}

/// Checks a param (key and value).
pub fn param(k: &str, v: &str) -> Result<(), TrackingError> {
    key("param key", k)?;
    value("param value", v, MAX_PARAM_VALUE)
}

/// Checks a run tag (key and value).
pub fn tag(k: &str, v: &str) -> Result<(), TrackingError> {
    key("tag key", k)?;
    value("tag value", v, MAX_TAG_VALUE)
}

/// Checks an experiment name.
pub fn experiment_name(name: &str) -> Result<(), TrackingError> {
    if name.trim().is_empty() {
        return Err(invalid("experiment name", name, "must not be empty".into()));
    }
    value("experiment name", name, MAX_EXPERIMENT_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in [
            "loss",
            "val/auc",
            "LogisticRegression.regParam",
            "a b:c-d_e",
            "ü",
        ] {
            assert!(key("metric key", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "loss@val",
            "/abs",
            "a/../b",
            ".",
            "a//b",
            "a/",
            &"k".repeat(251),
        ] {
            assert!(key("metric key", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn long_values_are_rejected_not_truncated() {
        assert!(param("p", &"x".repeat(6000)).is_ok());
        let err = param("p", &"x".repeat(6001)).expect_err("too long");
        assert!(err.to_string().contains("6001 characters"), "{err}");
        assert!(tag("t", &"x".repeat(8001)).is_err());
        assert!(experiment_name("").is_err());
    }
}
