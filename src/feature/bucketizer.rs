//! `Bucketizer`: maps a numeric column to bucket indices by split points (MLlib semantics:
//! buckets are [s_i, s_{i+1}), the last one closed; values outside the splits are errors;
//! null/NaN follow `handleInvalid`, `keep` putting them in an extra bucket).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::columns::numeric;
use super::frame::{ColumnData, Frame, IndexColumn};
use super::traits::{HandleInvalid, Transformer};
use super::FeatureError;
use crate::merge::exact_float::reals;

const STAGE: &str = "Bucketizer";

/// One column's split points.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Splits(#[serde(with = "reals")] pub Vec<f64>);

/// Parameters of a `Bucketizer` over one or more columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucketizer {
    /// Numeric input columns.
    pub input_cols: Vec<String>,
    /// Output index columns, one per input.
    pub output_cols: Vec<String>,
    /// Strictly increasing split points per column (at least 3; ±∞ allowed).
    pub splits_array: Vec<Splits>,
    /// Null/NaN: error, skip or keep (extra bucket).
    pub handle_invalid: HandleInvalid,
}

impl Bucketizer {
    /// Buckets `input` into `<input>_bucket` with `splits`.
    pub fn new(input: &str, splits: &[f64]) -> Self {
        Bucketizer {
            input_cols: vec![input.into()],
            output_cols: vec![format!("{input}_bucket")],
            splits_array: vec![Splits(splits.to_vec())],
            handle_invalid: HandleInvalid::Error,
        }
    }

    /// Sets the output column of a single-column bucketizer (or all of them, in order).
    pub fn output_cols(mut self, outputs: &[&str]) -> Self {
        self.output_cols = outputs.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Sets `handleInvalid`.
    pub fn handle_invalid(mut self, h: HandleInvalid) -> Self {
        self.handle_invalid = h;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        super::columns::check_columns(STAGE, &self.input_cols, &self.output_cols)?;
        if self.splits_array.len() != self.input_cols.len() {
            return Err(FeatureError::param(
                STAGE,
                "splitsArray",
                "needs one split list per input",
            ));
        }
        for Splits(s) in &self.splits_array {
            if s.len() < 3 {
                return Err(FeatureError::param(
                    STAGE,
                    "splits",
                    "needs at least 3 split points",
                ));
            }
            if s.iter().any(|x| x.is_nan()) || s.windows(2).any(|w| w[0] >= w[1]) {
                return Err(FeatureError::param(
                    STAGE,
                    "splits",
                    format!("{s:?} is not strictly increasing"),
                ));
            }
        }
        Ok(())
    }

    fn labels(splits: &[f64]) -> Vec<String> {
        let last = splits.len() - 2;
        splits
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let close = if i == last { "]" } else { ")" };
                format!("[{}, {}{close}", w[0], w[1])
            })
            .collect()
    }
}

/// The bucket of `x`: `Ok(None)` for null/NaN, an error outside the splits.
fn bucket(splits: &[f64], x: f64) -> Option<u32> {
    let last = *splits.last()?;
    if x == last {
        return Some(splits.len() as u32 - 2);
    }
    // Index of the first split greater than x, minus one.
    let upper = splits.partition_point(|&s| s <= x);
    (upper > 0 && upper < splits.len()).then(|| upper as u32 - 1)
}

impl Transformer for Bucketizer {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        // Cheap, and a loaded file's splits have not been through `check`.
        self.check()?;
        let mut keep = vec![true; frame.rows()];
        for ((input, output), Splits(splits)) in self
            .input_cols
            .iter()
            .zip(&self.output_cols)
            .zip(&self.splits_array)
        {
            let v = numeric(&frame, STAGE, input)?;
            let extra = splits.len() as u32 - 1;
            let mut out = Vec::with_capacity(v.len());
            for (row, k) in keep.iter_mut().enumerate() {
                if super::columns::missing(&v, row) {
                    match self.handle_invalid {
                        HandleInvalid::Error => {
                            return Err(invalid(
                                input,
                                row,
                                "null or NaN".into(),
                                "null or NaN value",
                            ))
                        }
                        HandleInvalid::Skip => *k = false,
                        HandleInvalid::Keep => {}
                    }
                    out.push(extra);
                    continue;
                }
                let x = v.value(row);
                out.push(bucket(splits, x).ok_or_else(|| {
                    invalid(input, row, x.to_string(), "value outside the splits")
                })?);
            }
            let data = ColumnData::Index(IndexColumn {
                indices: out,
                labels: Arc::new(Self::labels(splits)),
                source: input.clone(),
            });
            frame.set(output, data);
        }
        frame.retain(keep, "Bucketizer: null or NaN value (skip)")?;
        Ok(frame)
    }
}

fn invalid(column: &str, row: usize, value: String, reason: &'static str) -> FeatureError {
    FeatureError::InvalidValue {
        stage: STAGE.into(),
        column: column.into(),
        row,
        value,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::standard_scaler::tests::col;

    fn indices(f: &Frame) -> Vec<u32> {
        match f.column("t", "x_bucket").unwrap() {
            ColumnData::Index(ix) => ix.indices.clone(),
            _ => panic!(),
        }
    }

    /// Oracle (numpy; `right=False` gives [a, b) buckets, MLlib closes the last one):
    /// ```python
    /// s = [-np.inf, 0.0, 10.0, 20.0]
    /// np.digitize([-5.0, 0.0, 9.99, 10.0, 19.0], s) - 1   # [0, 1, 1, 2, 2]; 20.0 → last bucket 2
    /// ```
    #[test]
    fn buckets_match_numpy_and_handle_invalid() {
        let b = Bucketizer::new("x", &[f64::NEG_INFINITY, 0.0, 10.0, 20.0]);
        b.check().unwrap();
        let data = || {
            col(
                "x",
                vec![
                    Some(-5.0),
                    Some(0.0),
                    Some(9.99),
                    Some(10.0),
                    Some(19.0),
                    Some(20.0),
                ],
            )
        };
        assert_eq!(
            indices(&b.transform(data()).unwrap()),
            vec![0, 1, 1, 2, 2, 2]
        );
        assert!(matches!(
            b.transform(col("x", vec![Some(21.0)])),
            Err(FeatureError::InvalidValue { .. })
        ));
        assert!(b.transform(col("x", vec![None])).is_err());
        let keep = b.clone().handle_invalid(HandleInvalid::Keep);
        assert_eq!(
            indices(&keep.transform(col("x", vec![None, Some(1.0)])).unwrap()),
            vec![3, 1]
        );
        let skip = b.clone().handle_invalid(HandleInvalid::Skip);
        let out = skip
            .transform(col("x", vec![Some(f64::NAN), Some(1.0)]))
            .unwrap();
        assert_eq!((indices(&out), out.dropped().total()), (vec![1], 1));
        assert!(Bucketizer::new("x", &[0.0, 0.0, 1.0]).check().is_err());
        assert!(Bucketizer::new("x", &[0.0, 1.0]).check().is_err());
    }
}
