//! `QuantileDiscretizer`: buckets with about equal counts, split at approximate quantiles from
//! the mergeable [`QuantileSketch`] (each split within `relativeError`·|split| of an exact
//! sample quantile); the outer splits are ±∞ and duplicate splits are merged, as in MLlib.

use serde::{Deserialize, Serialize};

use super::bucketizer::{Bucketizer, Splits};
use super::columns::check_columns;
use super::columns::present;
use super::frame::Frame;
use super::imputer::check_relative_error;
use super::sketch::QuantileSketch;
use super::traits::{Estimator, HandleInvalid, Summary, Transformer};
use super::FeatureError;
use crate::merge::exact_float::real;

const STAGE: &str = "QuantileDiscretizer";

/// Parameters of a `QuantileDiscretizer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantileDiscretizer {
    /// Numeric input columns.
    pub input_cols: Vec<String>,
    /// Output index columns, one per input.
    pub output_cols: Vec<String>,
    /// Number of buckets (≥ 2).
    pub num_buckets: usize,
    /// Relative accuracy of the split points.
    #[serde(with = "real")]
    pub relative_error: f64,
    /// Null/NaN at transform time: error, skip or keep.
    pub handle_invalid: HandleInvalid,
}

impl QuantileDiscretizer {
    /// `num_buckets` quantile buckets of `inputs` into `<input>_bucket`.
    pub fn new(inputs: &[&str], num_buckets: usize) -> Self {
        QuantileDiscretizer {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_cols: inputs.iter().map(|c| format!("{c}_bucket")).collect(),
            num_buckets,
            relative_error: 0.001,
            handle_invalid: HandleInvalid::Error,
        }
    }

    /// Sets `relativeError`.
    pub fn relative_error(mut self, e: f64) -> Self {
        self.relative_error = e;
        self
    }

    /// Sets `handleInvalid`.
    pub fn handle_invalid(mut self, h: HandleInvalid) -> Self {
        self.handle_invalid = h;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_columns(STAGE, &self.input_cols, &self.output_cols)?;
        check_relative_error(STAGE, self.relative_error)?;
        if self.num_buckets < 2 {
            return Err(FeatureError::param(
                STAGE,
                "numBuckets",
                "must be at least 2",
            ));
        }
        Ok(())
    }

    fn splits(&self, sketch: &QuantileSketch) -> Vec<f64> {
        let mut splits = vec![f64::NEG_INFINITY];
        for i in 1..self.num_buckets {
            if let Some(q) = sketch.quantile(i as f64 / self.num_buckets as f64) {
                if q > *splits.last().unwrap_or(&f64::NEG_INFINITY) {
                    splits.push(q);
                }
            }
        }
        splits.push(f64::INFINITY);
        if splits.len() < 3 {
            // A constant column still needs two buckets to be a valid bucketizer.
            let only = sketch.quantile(0.5).unwrap_or(0.0);
            splits.insert(1, only);
        }
        splits
    }
}

/// Per-column sketches of one partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SketchSummary(pub Vec<QuantileSketch>);

impl Summary for SketchSummary {
    fn merge(&mut self, other: Self) {
        if self.0.is_empty() {
            *self = other;
            return;
        }
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            a.merge(b);
        }
    }
}

impl Estimator for QuantileDiscretizer {
    type Summary = SketchSummary;
    type Model = QuantileDiscretizerModel;

    fn summarize(&self, frame: &Frame) -> Result<SketchSummary, FeatureError> {
        let mut out = Vec::with_capacity(self.input_cols.len());
        for c in &self.input_cols {
            let mut s = QuantileSketch::new(self.relative_error);
            present(frame, STAGE, c)?
                .into_iter()
                .for_each(|x| s.insert(x));
            out.push(s);
        }
        Ok(SketchSummary(out))
    }

    fn finish(&self, s: SketchSummary) -> Result<QuantileDiscretizerModel, FeatureError> {
        let mut splits_array = Vec::new();
        for (i, col) in self.input_cols.iter().enumerate() {
            match s.0.get(i).filter(|s| s.count() > 0) {
                Some(sketch) => splits_array.push(Splits(self.splits(sketch))),
                None => {
                    return Err(FeatureError::EmptyFit {
                        stage: STAGE.into(),
                        column: col.clone(),
                    })
                }
            }
        }
        Ok(QuantileDiscretizerModel(Bucketizer {
            input_cols: self.input_cols.clone(),
            output_cols: self.output_cols.clone(),
            splits_array,
            handle_invalid: self.handle_invalid,
        }))
    }
}

/// A fitted `QuantileDiscretizer`: the bucketizer with the learned splits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileDiscretizerModel(pub Bucketizer);

impl Transformer for QuantileDiscretizerModel {
    fn transform(&self, frame: Frame) -> Result<Frame, FeatureError> {
        self.0.transform(frame)
    }
}

impl QuantileDiscretizerModel {
    /// Columns the model reads and writes.
    pub(crate) fn columns_read_written(&self) -> (Vec<String>, Vec<String>) {
        (self.0.input_cols.clone(), self.0.output_cols.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::standard_scaler::tests::col;

    /// Oracle (numpy, exact lower quantiles of the same data):
    /// ```python
    /// x = np.arange(1, 1001) ** 1.5
    /// np.quantile(x, [0.25, 0.5, 0.75], method='lower')   # [3952.84707521, 11180.3398875, 20539.59590644]
    /// ```
    #[test]
    fn splits_are_within_the_bound_of_the_exact_quantiles() {
        let xs: Vec<Option<f64>> = (1..=1000).map(|i| Some((i as f64).powf(1.5))).collect();
        let parts = vec![col("x", xs[..300].to_vec()), col("x", xs[300..].to_vec())];
        let m = QuantileDiscretizer::new(&["x"], 4)
            .relative_error(0.01)
            .fit_frames(&parts)
            .unwrap();
        let splits = &m.0.splits_array[0].0;
        assert_eq!(splits.len(), 5);
        assert!(splits[0].is_infinite() && splits[4].is_infinite());
        let numpy = [3952.84707521, 11180.3398875, 20539.59590644];
        for (got, want) in splits[1..4].iter().zip(numpy) {
            assert!((got - want).abs() <= 0.01 * want, "{got} vs {want}");
        }
        let constant = QuantileDiscretizer::new(&["x"], 3)
            .fit_frames(&[col("x", vec![Some(2.0); 5])])
            .unwrap();
        assert_eq!(constant.0.splits_array[0].0.len(), 3);
        constant.0.check().unwrap();
        assert!(QuantileDiscretizer::new(&["x"], 1).check().is_err());
    }
}
