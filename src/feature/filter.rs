//! Row filters: keep rows whose value lies in a range (`1 <= duration <= 60`), or drop rows
//! with a null in given columns (a null target). Dropped rows are counted per reason.

use serde::{Deserialize, Serialize};

use super::columns::{missing, numeric};
use super::frame::{ColumnData, Frame};
use super::traits::Transformer;
use super::FeatureError;
use crate::merge::exact_float::real_opt;

/// Keeps rows with `min <= column <= max` (either bound optional); nulls and NaN are dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeFilter {
    /// The numeric column.
    pub column: String,
    /// Inclusive lower bound.
    #[serde(with = "real_opt")]
    pub min: Option<f64>,
    /// Inclusive upper bound.
    #[serde(with = "real_opt")]
    pub max: Option<f64>,
}

impl RangeFilter {
    /// Keeps `min <= column <= max`.
    pub fn new(column: &str, min: Option<f64>, max: Option<f64>) -> Self {
        RangeFilter {
            column: column.into(),
            min,
            max,
        }
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        if let (Some(lo), Some(hi)) = (self.min, self.max) {
            if lo.is_nan() || hi.is_nan() || lo > hi {
                return Err(FeatureError::param(
                    "RangeFilter",
                    "min/max",
                    format!("empty range [{lo}, {hi}]"),
                ));
            }
        }
        Ok(())
    }

    /// The reason under which dropped rows are counted.
    pub fn reason(&self) -> String {
        let b = |v: Option<f64>, inf: &str| v.map_or(inf.to_string(), |x| x.to_string());
        format!(
            "RangeFilter: {} outside [{}, {}] or null",
            self.column,
            b(self.min, "-inf"),
            b(self.max, "inf")
        )
    }
}

impl Transformer for RangeFilter {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let values = numeric(&frame, "RangeFilter", &self.column)?;
        let lo = self.min.unwrap_or(f64::NEG_INFINITY);
        let hi = self.max.unwrap_or(f64::INFINITY);
        let keep: Vec<bool> = (0..values.len())
            .map(|i| !missing(&values, i) && (lo..=hi).contains(&values.value(i)))
            .collect();
        frame.retain(keep, &self.reason())?;
        Ok(frame)
    }
}

/// Drops rows with a null (or NaN) in any of the columns, e.g. a missing target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NullFilter {
    /// The columns that must be present.
    pub columns: Vec<String>,
}

impl NullFilter {
    /// Drops rows with a null in any of `columns`.
    pub fn new(columns: &[&str]) -> Self {
        NullFilter {
            columns: columns.iter().map(|c| c.to_string()).collect(),
        }
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        if self.columns.is_empty() {
            return Err(FeatureError::param("NullFilter", "columns", "is empty"));
        }
        Ok(())
    }
}

impl Transformer for NullFilter {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        for name in &self.columns {
            let keep: Vec<bool> = match frame.column("NullFilter", name)? {
                ColumnData::Array(a) if super::columns::is_numeric(a.data_type()) => {
                    let v = numeric(&frame, "NullFilter", name)?;
                    (0..v.len()).map(|i| !missing(&v, i)).collect()
                }
                ColumnData::Array(a) => (0..a.len()).map(|i| a.is_valid(i)).collect(),
                _ => continue,
            };
            frame.retain(keep, &format!("NullFilter: null {name}"))?;
        }
        Ok(frame)
    }
}

use arrow_array::Array;

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float64Array, RecordBatch, StringArray};
    use std::sync::Arc;

    #[test]
    fn range_filter_keeps_the_closed_range_and_counts_the_rest() {
        let batch = RecordBatch::try_from_iter([
            (
                "d",
                Arc::new(Float64Array::from(vec![
                    Some(0.5),
                    Some(1.0),
                    None,
                    Some(60.0),
                    Some(f64::NAN),
                    Some(61.0),
                ])) as _,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec!["a", "b", "c", "d", "e", "f"])) as _,
            ),
        ])
        .unwrap();
        let f = RangeFilter::new("d", Some(1.0), Some(60.0));
        let out = f.transform(Frame::from_batch(&batch)).unwrap();
        assert_eq!(out.rows(), 2);
        assert_eq!(out.dropped().total(), 4);
        assert_eq!(out.dropped().0[&f.reason()], 4);
        let ColumnData::Array(s) = out.column("t", "s").unwrap() else {
            panic!()
        };
        let s = s.as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!((s.value(0), s.value(1)), ("b", "d"));
        assert!(RangeFilter::new("d", Some(2.0), Some(1.0)).check().is_err());
    }

    #[test]
    fn null_filter_drops_null_targets() {
        let batch = RecordBatch::try_from_iter([
            (
                "y",
                Arc::new(Float64Array::from(vec![Some(1.0), None, Some(f64::NAN)])) as _,
            ),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a"), Some("b"), None])) as _,
            ),
        ])
        .unwrap();
        let out = NullFilter::new(&["y"])
            .transform(Frame::from_batch(&batch))
            .unwrap();
        assert_eq!(out.rows(), 1);
        assert_eq!(out.dropped().0["NullFilter: null y"], 2);
        let out = NullFilter::new(&["s"])
            .transform(Frame::from_batch(&batch))
            .unwrap();
        assert_eq!(out.rows(), 2);
    }
}
