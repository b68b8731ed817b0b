//! `MaxAbsScaler`: divides each column by its largest absolute value, keeping sparsity and sign.

use serde::{Deserialize, Serialize};

use super::columns::check_columns;
use super::columns::{fitted_at, map_numeric};
use super::frame::Frame;
use super::min_max_scaler::{extremes, finished, ExtremesSummary};
use super::traits::{Estimator, Transformer};
use super::FeatureError;
use crate::merge::exact_float::reals;

const STAGE: &str = "MaxAbsScaler";

/// Parameters of a `MaxAbsScaler`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaxAbsScaler {
    /// Numeric input columns.
    pub input_cols: Vec<String>,
    /// Output columns, one per input.
    pub output_cols: Vec<String>,
}

impl MaxAbsScaler {
    /// Scales `inputs` into `<input>_scaled`.
    pub fn new(inputs: &[&str]) -> Self {
        MaxAbsScaler {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_cols: inputs.iter().map(|c| format!("{c}_scaled")).collect(),
        }
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_columns(STAGE, &self.input_cols, &self.output_cols)
    }
}

impl Estimator for MaxAbsScaler {
    type Summary = ExtremesSummary;
    type Model = MaxAbsScalerModel;

    fn summarize(&self, frame: &Frame) -> Result<ExtremesSummary, FeatureError> {
        extremes(frame, STAGE, &self.input_cols)
    }

    fn finish(&self, s: ExtremesSummary) -> Result<MaxAbsScalerModel, FeatureError> {
        let (lo, hi) = finished(STAGE, &self.input_cols, s)?;
        let max_abs = lo
            .iter()
            .zip(&hi)
            .map(|(a, b)| a.abs().max(b.abs()))
            .collect();
        Ok(MaxAbsScalerModel {
            params: self.clone(),
            max_abs,
        })
    }
}

/// A fitted `MaxAbsScaler`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MaxAbsScalerModel {
    params: MaxAbsScaler,
    #[serde(with = "reals")]
    max_abs: Vec<f64>,
}

impl Transformer for MaxAbsScalerModel {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let p = &self.params;
        for (i, (input, output)) in p.input_cols.iter().zip(&p.output_cols).enumerate() {
            // An all-zero column stays zero (MLlib divides by 1).
            let m = fitted_at(&self.max_abs, i, STAGE)?;
            let d = if m == 0.0 { 1.0 } else { m };
            map_numeric(&mut frame, STAGE, input, output, |x| x / d)?;
        }
        Ok(frame)
    }
}

impl MaxAbsScalerModel {
    /// Columns the model reads and writes.
    pub(crate) fn columns_read_written(&self) -> (Vec<String>, Vec<String>) {
        (
            self.params.input_cols.clone(),
            self.params.output_cols.clone(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::standard_scaler::tests::{col, values};

    /// Oracle (scikit-learn 1.9):
    /// ```python
    /// from sklearn.preprocessing import MaxAbsScaler
    /// MaxAbsScaler().fit([[1.5], [2.0], [-12.5], [10.0]]).transform([[5.0], [-12.5]]).ravel()
    /// # [0.4, -1.0]
    /// ```
    #[test]
    fn scaling_matches_sklearn() {
        let parts = vec![
            col("x", vec![Some(1.5), Some(2.0)]),
            col("x", vec![Some(-12.5), Some(10.0), None]),
        ];
        let m = MaxAbsScaler::new(&["x"]).fit_frames(&parts).unwrap();
        let out = m
            .transform(col("x", vec![Some(5.0), Some(-12.5), None]))
            .unwrap();
        assert_eq!(values(&out, "x_scaled"), vec![Some(0.4), Some(-1.0), None]);
    }
}
