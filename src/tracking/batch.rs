//! One `runs/log-batch` request's worth of points, within MLflow's limits.

use std::collections::HashSet;

use super::wire::{KeyValue, Metric};

/// Most metrics per request.
pub const MAX_METRICS: usize = 1000;
/// Most params per request.
pub const MAX_PARAMS: usize = 100;
/// Most tags per request.
pub const MAX_TAGS: usize = 100;
/// Most entries of all kinds per request.
pub const MAX_ENTRIES: usize = 1000;
/// Payload budget per request (documented limit; enforced by Databricks/Azure, not OSS).
pub const MAX_BYTES: usize = 1_000_000;

/// Something that goes into a log-batch request.
#[derive(Clone, Debug, PartialEq)]
pub enum Entry {
    /// A metric point.
    Metric(Metric),
    /// A param.
    Param(KeyValue),
    /// A tag.
    Tag(KeyValue),
}

/// A log-batch request under construction.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    /// Metric points (exact duplicates dropped).
    pub metrics: Vec<Metric>,
    /// Params (unique keys).
    pub params: Vec<KeyValue>,
    /// Tags (unique keys; a later value replaces an earlier one).
    pub tags: Vec<KeyValue>,
    bytes: usize,
    seen_metrics: HashSet<(String, u64, i64, i64)>,
}

impl Batch {
    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.metrics.is_empty() && self.params.is_empty() && self.tags.is_empty()
    }

    /// Adds an entry; `false` (and nothing added) when it needs a new request.
    pub fn try_add(&mut self, entry: &Entry) -> bool {
        let entries = self.metrics.len() + self.params.len() + self.tags.len();
        let size = entry_bytes(entry);
        if entries >= MAX_ENTRIES || (!self.is_empty() && self.bytes + size > MAX_BYTES) {
            return false;
        }
        match entry {
            Entry::Metric(m) => {
                let id = (m.key.clone(), m.value.to_bits(), m.timestamp, m.step);
                if self.seen_metrics.contains(&id) {
                    return true;
                }
                if self.metrics.len() >= MAX_METRICS {
                    return false;
                }
                self.seen_metrics.insert(id);
                self.metrics.push(m.clone());
            }
            Entry::Param(p) => {
                // The server rejects duplicate param keys inside one batch, even with equal values.
                if let Some(old) = self.params.iter().find(|old| old.key == p.key) {
                    return old.value == p.value;
                }
                if self.params.len() >= MAX_PARAMS {
                    return false;
                }
                self.params.push(p.clone());
            }
            Entry::Tag(t) => {
                if let Some(old) = self.tags.iter_mut().find(|old| old.key == t.key) {
                    old.value = t.value.clone();
                    return true;
                }
                if self.tags.len() >= MAX_TAGS {
                    return false;
                }
                self.tags.push(t.clone());
            }
        }
        self.bytes += size;
        true
    }
}

fn entry_bytes(entry: &Entry) -> usize {
    const OVERHEAD: usize = 64;
    OVERHEAD
        + match entry {
            Entry::Metric(m) => m.key.len(),
            Entry::Param(kv) | Entry::Tag(kv) => kv.key.len() + kv.value.len(),
        }
}

/// Splits entries into as few valid log-batch requests as possible, keeping their order.
pub fn chunk(entries: impl IntoIterator<Item = Entry>) -> Vec<Batch> {
    let mut batches = Vec::new();
    let mut current = Batch::default();
    for entry in entries {
        if !current.try_add(&entry) {
            batches.push(std::mem::take(&mut current));
            // A fresh batch accepts any single entry.
            current.try_add(&entry);
        }
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(step: i64) -> Entry {
        Entry::Metric(Metric {
            key: "loss".into(),
            value: step as f64,
            timestamp: 1_000 + step,
            step,
        })
    }

    #[test]
    fn splits_at_mlflow_limits() {
        let batches = chunk((0..2500).map(metric));
        let sizes: Vec<usize> = batches.iter().map(|b| b.metrics.len()).collect();
        assert_eq!(sizes, [1000, 1000, 500]);
        let params = (0..250).map(|i| Entry::Param(KeyValue::new(format!("p{i}"), "1")));
        let tags = (0..150).map(|i| Entry::Tag(KeyValue::new(format!("t{i}"), "1")));
        let batches = chunk(params.chain(tags));
        assert!(batches
            .iter()
            .all(|b| b.params.len() <= 100 && b.tags.len() <= 100));
        let total: usize = batches.iter().map(|b| b.params.len() + b.tags.len()).sum();
        assert_eq!(total, 400);
    }

    #[test]
    fn duplicates() {
        let batches = chunk([metric(1), metric(1), metric(2)]);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].metrics.len(), 2);
        let p = |v: &str| Entry::Param(KeyValue::new("reg", v));
        assert_eq!(chunk([p("1"), p("1")]).len(), 1);
        assert_eq!(
            chunk([p("1"), p("2")]).len(),
            2,
            "conflict goes to the server alone"
        );
        let t = |v: &str| Entry::Tag(KeyValue::new("stage", v));
        let batches = chunk([t("a"), t("b")]);
        assert_eq!(batches[0].tags, vec![KeyValue::new("stage", "b")]);
    }

    #[test]
    fn byte_budget() {
        let big = "x".repeat(6000);
        let params = (0..100).map(|i| Entry::Param(KeyValue::new(format!("p{i}"), big.clone())));
        let tags = (0..100).map(|i| Entry::Tag(KeyValue::new(format!("t{i}"), "y".repeat(8000))));
        let batches = chunk(params.chain(tags));
        assert!(batches.len() >= 2);
        assert!(batches.iter().all(|b| b.bytes <= MAX_BYTES));
    }
}
