//! A run of the local store rebuilt from its journal, for `distml runs list` / `show`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::TrackingError;
use super::event::Event;
use super::spool::{Spool, TargetState};
use super::wire::DatasetInput;

/// The last point of a metric and how many points it has.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricSummary {
    /// Latest value (max step, then max timestamp), as MLflow reports it.
    #[serde(with = "super::metric_value")]
    pub value: f64,
    /// Its step.
    pub step: i64,
    /// Number of points logged.
    pub points: usize,
}

/// One run as the store knows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunView {
    /// Local id.
    pub local_id: String,
    /// Experiment name.
    pub experiment: String,
    /// Run name, if any.
    pub run_name: Option<String>,
    /// `RUNNING` until an end record exists.
    pub status: String,
    /// Start, ms since the epoch.
    pub start_time: i64,
    /// End, ms since the epoch.
    pub end_time: Option<i64>,
    /// Parent run id, for nested runs.
    pub parent_run_id: Option<String>,
    /// Params.
    pub params: BTreeMap<String, String>,
    /// Latest value per metric.
    pub metrics: BTreeMap<String, MetricSummary>,
    /// Tags (latest value).
    pub tags: BTreeMap<String, String>,
    /// Dataset inputs.
    pub inputs: Vec<DatasetInput>,
    /// Artifact directories logged.
    pub artifacts: Vec<String>,
    /// Events in the journal.
    pub events: usize,
    /// Per server: the remote run and how many events it has.
    pub synced: BTreeMap<String, TargetState>,
}

impl RunView {
    /// Rebuilds a run from its journal and sync state.
    pub fn load(spool: &Spool, local_id: &str) -> Result<Self, TrackingError> {
        let events = spool.read_events(local_id)?;
        let mut view = RunView {
            local_id: local_id.to_string(),
            experiment: String::new(),
            run_name: None,
            status: "RUNNING".into(),
            start_time: 0,
            end_time: None,
            parent_run_id: None,
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            tags: BTreeMap::new(),
            inputs: Vec::new(),
            artifacts: Vec::new(),
            events: events.len(),
            synced: spool.sync_state(local_id)?.targets,
        };
        for event in events {
            match event {
                Event::Start(start) => {
                    view.experiment = start.experiment;
                    view.run_name = start.run_name;
                    view.start_time = start.start_time;
                    view.parent_run_id = start.parent.map(|p| p.run_id);
                    view.tags
                        .extend(start.tags.into_iter().map(|t| (t.key, t.value)));
                }
                Event::Metric(m) => {
                    let entry = view.metrics.entry(m.key).or_insert(MetricSummary {
                        value: m.value,
                        step: m.step,
                        points: 0,
                    });
                    entry.points += 1;
                    if m.step >= entry.step {
                        entry.value = m.value;
                        entry.step = m.step;
                    }
                }
                Event::Param(p) => {
                    view.params.insert(p.key, p.value);
                }
                Event::Tag(t) => {
                    view.tags.insert(t.key, t.value);
                }
                Event::Input(input) => view.inputs.push(input),
                Event::Artifacts { artifact_path } => view.artifacts.push(artifact_path),
                Event::End { status, end_time } => {
                    view.status = status.as_str().to_string();
                    view.end_time = Some(end_time);
                }
            }
        }
        Ok(view)
    }

    /// The one-line form for `runs list` (no params, tags or inputs).
    pub fn brief(&self) -> serde_json::Value {
        let metrics: BTreeMap<&str, serde_json::Value> = self
            .metrics
            .iter()
            .map(|(k, m)| {
                (
                    k.as_str(),
                    serde_json::to_value(m).unwrap_or_default()["value"].clone(),
                )
            })
            .collect();
        serde_json::json!({
            "local_id": self.local_id,
            "experiment": self.experiment,
            "run_name": self.run_name,
            "status": self.status,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "parent_run_id": self.parent_run_id,
            "metrics": metrics,
            "events": self.events,
            "synced": self.synced.iter().map(|(uri, t)| (uri.clone(), serde_json::json!({
                "run_id": t.run_id, "complete": t.events >= self.events,
            }))).collect::<BTreeMap<_, _>>(),
        })
    }
}
