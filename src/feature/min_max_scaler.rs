//! `MinMaxScaler`: rescales each column from its fitted [min, max] to [`min`, `max`]
//! (MLlib defaults 0 and 1); a constant column maps to the middle of the range.

use serde::{Deserialize, Serialize};

use super::columns::check_columns;
use super::columns::{fitted_at, map_numeric, present};
use super::frame::Frame;
use super::traits::{Estimator, Summary, Transformer};
use super::FeatureError;
use crate::merge::exact_float::{real, real_pair_opt, reals};

const STAGE: &str = "MinMaxScaler";

/// Parameters of a `MinMaxScaler`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MinMaxScaler {
    /// Numeric input columns.
    pub input_cols: Vec<String>,
    /// Output columns, one per input.
    pub output_cols: Vec<String>,
    /// Lower bound of the output range.
    #[serde(with = "real")]
    pub min: f64,
    /// Upper bound of the output range.
    #[serde(with = "real")]
    pub max: f64,
}

impl MinMaxScaler {
    /// Rescales `inputs` into `<input>_scaled` over [0, 1].
    pub fn new(inputs: &[&str]) -> Self {
        MinMaxScaler {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_cols: inputs.iter().map(|c| format!("{c}_scaled")).collect(),
            min: 0.0,
            max: 1.0,
        }
    }

    /// Sets the output range.
    pub fn range(mut self, min: f64, max: f64) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_columns(STAGE, &self.input_cols, &self.output_cols)?;
        if self.min >= self.max || !self.min.is_finite() || !self.max.is_finite() {
            return Err(FeatureError::param(
                STAGE,
                "min/max",
                format!("need finite min < max, got [{}, {}]", self.min, self.max),
            ));
        }
        Ok(())
    }
}

/// Minimum and maximum of one column (`None` before any value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Extremes(#[serde(with = "real_pair_opt")] pub Option<(f64, f64)>);

impl Extremes {
    /// Extremes of a slice.
    pub fn of(values: &[f64]) -> Self {
        let mut e = Extremes(None);
        for &x in values {
            e.merge(Extremes(Some((x, x))));
        }
        e
    }

    /// Widens to cover `o`.
    pub fn merge(&mut self, o: Extremes) {
        self.0 = match (self.0, o.0) {
            (Some((a, b)), Some((c, d))) => Some((a.min(c), b.max(d))),
            (x, None) | (None, x) => x,
        };
    }
}

/// Per-column extremes of one partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExtremesSummary(pub Vec<Extremes>);

impl Summary for ExtremesSummary {
    fn merge(&mut self, other: Self) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), Extremes(None));
        }
        for (a, b) in self.0.iter_mut().zip(other.0) {
            a.merge(b);
        }
    }
}

/// Summarises `columns` into their extremes.
pub(crate) fn extremes(
    frame: &Frame,
    stage: &str,
    columns: &[String],
) -> Result<ExtremesSummary, FeatureError> {
    columns
        .iter()
        .map(|c| Ok(Extremes::of(&present(frame, stage, c)?)))
        .collect::<Result<_, _>>()
        .map(ExtremesSummary)
}

/// The fitted (min, max) per column, or an error naming the empty column.
pub(crate) fn finished(
    stage: &str,
    columns: &[String],
    s: ExtremesSummary,
) -> Result<(Vec<f64>, Vec<f64>), FeatureError> {
    let mut lo = Vec::new();
    let mut hi = Vec::new();
    for (i, col) in columns.iter().enumerate() {
        let (a, b) =
            s.0.get(i)
                .and_then(|e| e.0)
                .ok_or_else(|| FeatureError::EmptyFit {
                    stage: stage.into(),
                    column: col.clone(),
                })?;
        lo.push(a);
        hi.push(b);
    }
    Ok((lo, hi))
}

impl Estimator for MinMaxScaler {
    type Summary = ExtremesSummary;
    type Model = MinMaxScalerModel;

    fn summarize(&self, frame: &Frame) -> Result<ExtremesSummary, FeatureError> {
        extremes(frame, STAGE, &self.input_cols)
    }

    fn finish(&self, s: ExtremesSummary) -> Result<MinMaxScalerModel, FeatureError> {
        let (original_min, original_max) = finished(STAGE, &self.input_cols, s)?;
        Ok(MinMaxScalerModel {
            params: self.clone(),
            original_min,
            original_max,
        })
    }
}

/// A fitted `MinMaxScaler`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinMaxScalerModel {
    params: MinMaxScaler,
    #[serde(with = "reals")]
    original_min: Vec<f64>,
    #[serde(with = "reals")]
    original_max: Vec<f64>,
}

impl Transformer for MinMaxScalerModel {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let p = &self.params;
        for (i, (input, output)) in p.input_cols.iter().zip(&p.output_cols).enumerate() {
            let lo = fitted_at(&self.original_min, i, STAGE)?;
            let hi = fitted_at(&self.original_max, i, STAGE)?;
            let range = hi - lo;
            let (min, max) = (p.min, p.max);
            map_numeric(&mut frame, STAGE, input, output, |x| {
                if range == 0.0 {
                    0.5 * (max + min)
                } else {
                    (x - lo) / range * (max - min) + min
                }
            })?;
        }
        Ok(frame)
    }
}

impl MinMaxScalerModel {
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
    /// from sklearn.preprocessing import MinMaxScaler
    /// X = np.array([[1.5], [2.0], [7.25], [-3.0], [10.0]])
    /// MinMaxScaler((-1, 1)).fit(X).transform([[0.0], [10.0], [20.0]]).ravel()
    /// # [-0.53846154, 1.0, 2.53846154]
    /// ```
    #[test]
    fn rescaling_matches_sklearn() {
        let parts = vec![
            col("x", vec![Some(1.5), None, Some(2.0)]),
            col("x", vec![Some(7.25), Some(-3.0), Some(10.0)]),
        ];
        let m = MinMaxScaler::new(&["x"])
            .range(-1.0, 1.0)
            .fit_frames(&parts)
            .unwrap();
        let out = m
            .transform(col("x", vec![Some(0.0), Some(10.0), Some(20.0), None]))
            .unwrap();
        let v = values(&out, "x_scaled");
        for (got, want) in v.iter().zip([-0.53846154, 1.0, 2.53846154]) {
            assert!((got.unwrap() - want).abs() < 1e-8);
        }
        assert_eq!(v[3], None);
        assert!(MinMaxScaler::new(&["x"]).range(1.0, 1.0).check().is_err());
    }
}
