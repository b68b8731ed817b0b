//! `StandardScaler`: centres (withMean) and scales to unit sample standard deviation (withStd),
//! from count/mean/M2 summaries merged with Chan's parallel formula.

use serde::{Deserialize, Serialize};

use super::columns::check_columns;
use super::columns::{fitted_at, map_numeric, present};
use super::frame::Frame;
use super::traits::{Estimator, Summary, Transformer};
use super::FeatureError;
use crate::merge::exact_float::reals;
use crate::merge::Moments;

const STAGE: &str = "StandardScaler";

/// Parameters of a `StandardScaler` over numeric columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandardScaler {
    /// Numeric input columns.
    pub input_cols: Vec<String>,
    /// Output columns, one per input.
    pub output_cols: Vec<String>,
    /// Subtract the mean (MLlib default: false).
    pub with_mean: bool,
    /// Divide by the sample standard deviation (MLlib default: true).
    pub with_std: bool,
}

impl StandardScaler {
    /// Scales `inputs` into `<input>_scaled`.
    pub fn new(inputs: &[&str]) -> Self {
        StandardScaler {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_cols: inputs.iter().map(|c| format!("{c}_scaled")).collect(),
            with_mean: false,
            with_std: true,
        }
    }

    /// Sets the output columns.
    pub fn output_cols(mut self, outputs: &[&str]) -> Self {
        self.output_cols = outputs.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Sets `withMean`.
    pub fn with_mean(mut self, on: bool) -> Self {
        self.with_mean = on;
        self
    }

    /// Sets `withStd`.
    pub fn with_std(mut self, on: bool) -> Self {
        self.with_std = on;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_columns(STAGE, &self.input_cols, &self.output_cols)
    }
}

/// Per-column moments of one partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MomentsSummary(pub Vec<Moments>);

impl Summary for MomentsSummary {
    fn merge(&mut self, other: Self) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), Moments::default());
        }
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = a.merge(b);
        }
    }
}

impl Estimator for StandardScaler {
    type Summary = MomentsSummary;
    type Model = StandardScalerModel;

    fn summarize(&self, frame: &Frame) -> Result<MomentsSummary, FeatureError> {
        self.input_cols
            .iter()
            .map(|c| Ok(Moments::of(&present(frame, STAGE, c)?, None)))
            .collect::<Result<_, _>>()
            .map(MomentsSummary)
    }

    fn finish(&self, s: MomentsSummary) -> Result<StandardScalerModel, FeatureError> {
        let mut mean = Vec::new();
        let mut std = Vec::new();
        for (i, col) in self.input_cols.iter().enumerate() {
            let m = s.0.get(i).copied().unwrap_or_default();
            if m.weight == 0.0 {
                return Err(FeatureError::EmptyFit {
                    stage: STAGE.into(),
                    column: col.clone(),
                });
            }
            mean.push(m.mean);
            std.push(m.sample_std().unwrap_or(0.0));
        }
        Ok(StandardScalerModel {
            params: self.clone(),
            mean,
            std,
        })
    }
}

/// A fitted `StandardScaler`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StandardScalerModel {
    params: StandardScaler,
    #[serde(with = "reals")]
    mean: Vec<f64>,
    #[serde(with = "reals")]
    std: Vec<f64>,
}

impl StandardScalerModel {
    /// Columns the model reads and writes.
    pub(crate) fn columns_read_written(&self) -> (Vec<String>, Vec<String>) {
        (
            self.params.input_cols.clone(),
            self.params.output_cols.clone(),
        )
    }
    /// Fitted means.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Fitted sample standard deviations.
    pub fn std(&self) -> &[f64] {
        &self.std
    }
}

impl Transformer for StandardScalerModel {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let p = &self.params;
        for (i, (input, output)) in p.input_cols.iter().zip(&p.output_cols).enumerate() {
            let shift = if p.with_mean {
                fitted_at(&self.mean, i, STAGE)?
            } else {
                0.0
            };
            // A constant column scales to 0, as in MLlib.
            let scale = match (p.with_std, fitted_at(&self.std, i, STAGE)?) {
                (false, _) => 1.0,
                (true, 0.0) => 0.0,
                (true, s) => 1.0 / s,
            };
            map_numeric(&mut frame, STAGE, input, output, |x| (x - shift) * scale)?;
        }
        Ok(frame)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow_array::{Float64Array, RecordBatch};
    use proptest::prelude::*;
    use std::sync::Arc;

    pub(crate) fn col(name: &str, v: Vec<Option<f64>>) -> Frame {
        Frame::from_batch(
            &RecordBatch::try_from_iter([(name, Arc::new(Float64Array::from(v)) as _)]).unwrap(),
        )
    }

    pub(crate) fn values(f: &Frame, name: &str) -> Vec<Option<f64>> {
        let v = crate::feature::columns::numeric(f, "t", name).unwrap();
        v.iter().collect()
    }

    /// Oracle (numpy; MLlib uses the unbiased std):
    /// ```python
    /// x = np.array([1.5, 2.0, 7.25, -3.0, 10.0])
    /// x.mean(), x.std(ddof=1)            # 3.55, 5.118593556827891
    /// (x - x.mean()) / x.std(ddof=1)     # [-0.40050, -0.30282, 0.72285, -1.27965, 1.26011]
    /// ```
    #[test]
    fn mean_and_sample_std_match_numpy() {
        let parts = vec![
            col("x", vec![Some(1.5), Some(2.0), None]),
            col("x", vec![Some(7.25), Some(-3.0), Some(10.0)]),
        ];
        let m = StandardScaler::new(&["x"])
            .with_mean(true)
            .fit_frames(&parts)
            .unwrap();
        assert!((m.mean()[0] - 3.55).abs() < 1e-12);
        assert!((m.std()[0] - 5.118593556827891).abs() < 1e-12);
        let out = m.transform(parts[1].clone()).unwrap();
        let v = values(&out, "x_scaled");
        for (got, want) in v.iter().zip([0.72285482, -1.27964839, 1.26011177]) {
            assert!((got.unwrap() - want).abs() < 1e-5);
        }
        let nulls = m.transform(parts[0].clone()).unwrap();
        assert_eq!(values(&nulls, "x_scaled")[2], None);
        let constant = StandardScaler::new(&["x"])
            .fit_frames(&[col("x", vec![Some(4.0); 3])])
            .unwrap();
        assert_eq!(
            values(
                &constant.transform(col("x", vec![Some(4.0)])).unwrap(),
                "x_scaled"
            ),
            vec![Some(0.0)]
        );
        assert!(matches!(
            StandardScaler::new(&["x"]).fit_frames(&[col("x", vec![None])]),
            Err(FeatureError::EmptyFit { .. })
        ));
    }

    proptest! {
        #[test]
        fn merge_order_does_not_change_the_moments(
            values in proptest::collection::vec(-1e3f64..1e3, 1..100),
            cut in 0usize..100,
        ) {
            let cut = cut % values.len();
            let whole = Moments::of(&values, None);
            let a = Moments::of(&values[..cut], None).merge(Moments::of(&values[cut..], None));
            let b = Moments::of(&values[cut..], None).merge(Moments::of(&values[..cut], None));
            for m in [a, b] {
                prop_assert_eq!(m.weight, whole.weight);
                prop_assert!((m.mean - whole.mean).abs() <= 1e-9 * (1.0 + whole.mean.abs()));
                prop_assert!((m.m2 - whole.m2).abs() <= 1e-9 * (1.0 + whole.m2));
            }
        }
    }
}
