//! A training dataset as an MLflow dataset input (name, digest, source, schema, row count).

use serde_json::json;

use super::error::TrackingError;
use super::validate;
use super::wire::{Dataset, DatasetInput, KeyValue};

/// What `RunHandle::log_input` records about the data a run read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetSpec {
    /// Dataset name, e.g. `green_tripdata_2023-01`.
    pub name: String,
    /// Content digest (≤36 chars); see [`digest_of`].
    pub digest: String,
    /// Where the data came from, e.g. `file:///data/trips.parquet`.
    pub source_uri: String,
    /// Columns as (name, MLflow type: `double`, `long`, `string`, `datetime`, ...).
    pub schema: Vec<(String, String)>,
    /// Number of rows, when known.
    pub num_rows: Option<u64>,
    /// `mlflow.data.context`: `training`, `validation`, ...
    pub context: String,
}

impl DatasetSpec {
    /// The MLflow wire form, checked against the server's limits.
    pub fn to_input(&self) -> Result<DatasetInput, TrackingError> {
        validate::value("dataset name", &self.name, validate::MAX_DATASET_NAME)?;
        validate::value("dataset digest", &self.digest, validate::MAX_DATASET_DIGEST)?;
        validate::value(
            "dataset context",
            &self.context,
            validate::MAX_INPUT_TAG_VALUE,
        )?;
        let colspec: Vec<_> = self
            .schema
            .iter()
            .map(|(name, ty)| json!({ "type": ty, "name": name }))
            .collect();
        let schema = json!({ "mlflow_colspec": colspec }).to_string();
        validate::value("dataset schema", &schema, validate::MAX_DATASET_SCHEMA)?;
        let profile = self.num_rows.map(|n| json!({ "num_rows": n }).to_string());
        Ok(DatasetInput {
            tags: vec![KeyValue::new("mlflow.data.context", self.context.clone())],
            dataset: Dataset {
                name: self.name.clone(),
                digest: self.digest.clone(),
                source_type: "local".to_string(),
                source: json!({ "uri": self.source_uri }).to_string(),
                schema: Some(schema),
                profile,
            },
        })
    }
}

/// A stable 16-hex-digit digest (FNV-1a 64) of byte chunks, e.g. file names, sizes and row counts.
pub fn digest_of<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &byte in part {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        hash ^= 0xff;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_and_limits() {
        let spec = DatasetSpec {
            name: "trips".into(),
            digest: digest_of([b"a".as_slice(), b"b"]),
            source_uri: "file:///data/t.parquet".into(),
            schema: vec![("trip_distance".into(), "double".into())],
            num_rows: Some(150),
            context: "training".into(),
        };
        let input = spec.to_input().expect("valid");
        assert_eq!(
            input.dataset.profile.as_deref(),
            Some(r#"{"num_rows":150}"#)
        );
        assert!(input
            .dataset
            .schema
            .as_deref()
            .is_some_and(|s| s.contains("mlflow_colspec")));
        assert_ne!(
            digest_of([b"ab".as_slice()]),
            digest_of([b"a".as_slice(), b"b"])
        );
        let bad = DatasetSpec {
            digest: "x".repeat(37),
            ..spec
        };
        assert!(bad.to_input().is_err());
    }
}
