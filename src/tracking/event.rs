//! The records of a run's journal: one JSON object per line, in the order they were logged.

use serde::{Deserialize, Serialize};

use super::wire::{DatasetInput, KeyValue, Metric, RunStatus};

/// The tag that carries the client-generated run key, so a create is never applied twice.
pub const RUN_KEY_TAG: &str = "distml.run_key";

/// Where a child run's parent lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParentRef {
    /// The parent's local id when it is in the same run store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_id: Option<String>,
    /// The parent run id as given (a server run id or a local id).
    pub run_id: String,
    /// The server the given run id belongs to, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// The first record of a run: what `runs/create` needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunStart {
    /// Client-generated id: the run store directory name and the `distml.run_key` tag.
    pub local_id: String,
    /// Experiment name.
    pub experiment: String,
    /// Run name, if chosen.
    #[serde(default)]
    pub run_name: Option<String>,
    /// Start time, ms since the epoch.
    pub start_time: i64,
    /// OS user.
    pub user: String,
    /// Tags set at creation (standard `mlflow.*` tags, user tags).
    #[serde(default)]
    pub tags: Vec<KeyValue>,
    /// The parent run, for nested runs.
    #[serde(default)]
    pub parent: Option<ParentRef>,
}

/// One journal record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The run was started.
    Start(RunStart),
    /// A metric point (timestamp fixed at logging time).
    Metric(Metric),
    /// A param.
    Param(KeyValue),
    /// A tag.
    Tag(KeyValue),
    /// A dataset input.
    Input(DatasetInput),
    /// Files copied into the run store under `artifacts/<artifact_path>`.
    Artifacts {
        /// Destination below the run's artifact root (`""` for the root).
        artifact_path: String,
    },
    /// The run ended.
    End {
        /// Final status.
        status: RunStatus,
        /// End time, ms since the epoch.
        end_time: i64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_record_round_trips_with_nan() {
        let event = Event::Metric(Metric {
            key: "loss".into(),
            value: f64::NAN,
            timestamp: 7,
            step: 3,
        });
        let line = serde_json::to_string(&event).expect("serializes");
        assert_eq!(
            line,
            r#"{"type":"metric","key":"loss","value":"NaN","timestamp":7,"step":3}"#
        );
        let back: Event = serde_json::from_str(&line).expect("parses");
        assert!(matches!(back, Event::Metric(m) if m.value.is_nan() && m.step == 3));
    }
}
