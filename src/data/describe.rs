//! `describe`: per-column count, nulls, mean, std, min and max, computed per partition and
//! merged — the first mergeable summary of distml (MLlib's `Summarizer`, pandas' `describe()`).

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use serde::Serialize;

use super::{DataError, DataSource};
use crate::merge::Moments;

/// A column's smallest or largest value.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum Extreme {
    /// Numbers.
    Number(f64),
    /// Text, compared bytewise.
    Text(String),
    /// Timestamps, in microseconds since the epoch.
    Micros(i64),
}

/// The mergeable summary of one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSummary {
    /// Non-null values.
    pub count: u64,
    /// Null values.
    pub nulls: u64,
    /// Moments (numeric columns only).
    pub moments: Option<Moments>,
    /// Smallest value.
    pub min: Option<Extreme>,
    /// Largest value.
    pub max: Option<Extreme>,
}

impl ColumnSummary {
    /// Summarises one column of one partition.
    pub fn of(array: &ArrayRef) -> Result<Self, arrow_schema::ArrowError> {
        let nulls = array.null_count() as u64;
        let count = (array.len() - array.null_count()) as u64;
        let (moments, min, max) = match array.data_type() {
            t if is_numeric(t) => numeric_stats(array)?,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => time_stats(array)?,
            _ => text_stats(array)?,
        };
        Ok(ColumnSummary {
            count,
            nulls,
            moments,
            min,
            max,
        })
    }

    /// Combines the summaries of two disjoint sets of rows.
    pub fn merge(self, other: ColumnSummary) -> ColumnSummary {
        let pick = |a: Option<Extreme>, b: Option<Extreme>, want_less: bool| match (a, b) {
            (Some(a), Some(b)) => Some(if (b < a) == want_less { b } else { a }),
            (a, b) => a.or(b),
        };
        ColumnSummary {
            count: self.count + other.count,
            nulls: self.nulls + other.nulls,
            moments: match (self.moments, other.moments) {
                (Some(a), Some(b)) => Some(a.merge(b)),
                (a, b) => a.or(b),
            },
            min: pick(self.min, other.min, true),
            max: pick(self.max, other.max, false),
        }
    }
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Boolean)
}

type Stats = (Option<Moments>, Option<Extreme>, Option<Extreme>);

fn numeric_stats(array: &ArrayRef) -> Result<Stats, arrow_schema::ArrowError> {
    let floats = arrow_cast::cast(array, &DataType::Float64)?;
    let floats = floats.as_primitive::<Float64Type>();
    let values = floats.iter().flatten();
    let moments = match floats.null_count() {
        0 => Moments::of(floats.values(), None),
        _ => Moments::of(&values.clone().collect::<Vec<f64>>(), None),
    };
    let min = values.clone().min_by(f64::total_cmp).map(Extreme::Number);
    let max = values.max_by(f64::total_cmp).map(Extreme::Number);
    Ok((Some(moments), min, max))
}

fn time_stats(array: &ArrayRef) -> Result<Stats, arrow_schema::ArrowError> {
    let micros = arrow_cast::cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    let micros = micros.as_primitive::<TimestampMicrosecondType>();
    let min = micros.iter().flatten().min().map(Extreme::Micros);
    let max = micros.iter().flatten().max().map(Extreme::Micros);
    Ok((None, min, max))
}

fn text_stats(array: &ArrayRef) -> Result<Stats, arrow_schema::ArrowError> {
    let text = arrow_cast::cast(array, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let min = text
        .iter()
        .flatten()
        .min()
        .map(|s| Extreme::Text(s.to_string()));
    let max = text
        .iter()
        .flatten()
        .max()
        .map(|s| Extreme::Text(s.to_string()));
    Ok((None, min, max))
}

/// Summaries of every column of one batch.
pub fn summarize_batch(
    batch: &RecordBatch,
) -> Result<Vec<ColumnSummary>, arrow_schema::ArrowError> {
    batch.columns().iter().map(ColumnSummary::of).collect()
}

/// One column of the `describe` output.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ColumnDescription {
    /// Column name.
    pub name: String,
    /// Arrow type, as pyarrow prints it (`int64`, `double`, `timestamp[us]`, `string`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// Non-null values.
    pub count: u64,
    /// Null values.
    pub nulls: u64,
    /// Mean (numeric columns).
    pub mean: Option<f64>,
    /// Sample standard deviation (numeric columns, two or more values).
    pub std: Option<f64>,
    /// Smallest value (a number, or ISO text for strings and timestamps).
    pub min: Option<serde_json::Value>,
    /// Largest value.
    pub max: Option<serde_json::Value>,
}

/// The `describe` result: row and partition counts and one description per column.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Description {
    /// Rows read.
    pub rows: u64,
    /// Partitions the rows were read in.
    pub partitions: usize,
    /// Per-column descriptions, in schema order.
    pub columns: Vec<ColumnDescription>,
}

/// Describes the named columns (all when empty) of a data source, one partition per task.
pub fn describe(
    source: &DataSource,
    columns: &[&str],
    on_partition_done: &(dyn Fn() + Sync),
) -> Result<Description, DataError> {
    let projection = source.projection(columns)?;
    let per_partition = source.map_partitions(
        &projection,
        |p, batch| {
            summarize_batch(&batch).map_err(|e| DataError::malformed(&p.path, e.to_string()))
        },
        on_partition_done,
    )?;
    let schema = projection.schema();
    let merged = per_partition
        .into_iter()
        .reduce(|a, b| a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect())
        .unwrap_or_default();
    let rows = merged.first().map(|c| c.count + c.nulls).unwrap_or(0);
    let columns = schema
        .fields()
        .iter()
        .zip(merged)
        .map(|(field, s)| ColumnDescription {
            name: field.name().clone(),
            type_name: type_name(field.data_type()),
            count: s.count,
            nulls: s.nulls,
            mean: s.moments.filter(|m| m.weight > 0.0).map(|m| m.mean),
            std: s.moments.and_then(|m| m.sample_std()),
            min: s.min.map(extreme_json),
            max: s.max.map(extreme_json),
        })
        .collect();
    Ok(Description {
        rows,
        partitions: source.partitions().len(),
        columns,
    })
}

fn extreme_json(e: Extreme) -> serde_json::Value {
    match e {
        Extreme::Number(x) => serde_json::json!(x),
        Extreme::Text(s) => serde_json::Value::String(s),
        Extreme::Micros(us) => serde_json::Value::String(
            chrono::DateTime::from_timestamp_micros(us)
                .map(|t| t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string())
                .unwrap_or_else(|| us.to_string()),
        ),
    }
}

/// The pyarrow spelling of an Arrow type.
pub fn type_name(t: &DataType) -> String {
    match t {
        DataType::Float64 => "double".into(),
        DataType::Float32 => "float".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Boolean => "bool".into(),
        DataType::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("timestamp[{unit}, tz={tz}]"),
                None => format!("timestamp[{unit}]"),
            }
        }
        other => other.to_string().to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn two_pass(xs: &[f64]) -> (f64, f64) {
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
        (mean, var.sqrt())
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300)
    }

    proptest! {
        /// Any partitioning and any merge order give the same moments as a two-pass computation.
        #[test]
        fn merged_moments_match_two_pass(
            xs in prop::collection::vec(-1e6f64..1e6, 2..300),
            cuts in prop::collection::vec(0usize..300, 0..12),
            seed in any::<u64>(),
        ) {
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % xs.len()).collect();
            bounds.extend([0, xs.len()]);
            bounds.sort_unstable();
            let mut parts: Vec<Moments> = bounds.windows(2)
                .map(|w| Moments::of(&xs[w[0]..w[1]], None))
                .collect();
            // A seeded shuffle of the merge order.
            let mut state = seed | 1;
            for i in (1..parts.len()).rev() {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                parts.swap(i, (state % (i as u64 + 1)) as usize);
            }
            let merged = parts.into_iter().fold(Moments::default(), Moments::merge);
            let (mean, std) = two_pass(&xs);
            prop_assert_eq!(merged.count(), xs.len() as u64);
            prop_assert!(close(merged.mean, mean) || (merged.mean - mean).abs() < 1e-6);
            prop_assert!(close(merged.sample_std().unwrap(), std));
        }
    }

    #[test]
    fn min_max_and_nulls_merge() {
        use arrow_array::{Int64Array, StringArray};
        use std::sync::Arc;
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), None, Some(-2)]));
        let b: ArrayRef = Arc::new(Int64Array::from(vec![Some(10), None]));
        let s = ColumnSummary::of(&a)
            .unwrap()
            .merge(ColumnSummary::of(&b).unwrap());
        assert_eq!((s.count, s.nulls), (3, 2));
        assert_eq!(
            (s.min, s.max),
            (Some(Extreme::Number(-2.0)), Some(Extreme::Number(10.0)))
        );
        let t: ArrayRef = Arc::new(StringArray::from(vec![Some("N"), Some("Y"), None]));
        let s = ColumnSummary::of(&t).unwrap();
        assert_eq!(s.max, Some(Extreme::Text("Y".into())));
        assert!(s.moments.is_none());
    }
}
