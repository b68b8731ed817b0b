//! `Imputer`: replaces missing values (null, NaN, or `missingValue`) by the column's mean,
//! median (from the quantile sketch, within its bound) or mode (exact; ties → smallest).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::columns::check_columns;
use super::columns::{fitted_at, missing, numeric};
use super::frame::{ColumnData, Frame};
use super::sketch::QuantileSketch;
use super::traits::{Estimator, Summary, Transformer};
use super::FeatureError;
use crate::merge::exact_float::{real, reals};
use crate::merge::Moments;

const STAGE: &str = "Imputer";

/// What replaces a missing value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// The mean.
    #[default]
    Mean,
    /// The approximate median (relative error 0.001).
    Median,
    /// The most frequent value.
    Mode,
}

/// Parameters of an `Imputer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Imputer {
    /// Numeric input columns.
    pub input_cols: Vec<String>,
    /// Output columns (`Float64`), one per input.
    pub output_cols: Vec<String>,
    /// Mean, median or mode.
    pub strategy: Strategy,
    /// A value that also counts as missing (nulls and NaN always do).
    #[serde(with = "real")]
    pub missing_value: f64,
    /// Relative accuracy of the median sketch.
    #[serde(with = "real")]
    pub relative_error: f64,
}

impl Imputer {
    /// Imputes `inputs` into `<input>_imputed` with the mean.
    pub fn new(inputs: &[&str]) -> Self {
        Imputer {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_cols: inputs.iter().map(|c| format!("{c}_imputed")).collect(),
            strategy: Strategy::Mean,
            missing_value: f64::NAN,
            relative_error: 0.001,
        }
    }

    /// Sets the output columns.
    pub fn output_cols(mut self, outputs: &[&str]) -> Self {
        self.output_cols = outputs.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Sets the strategy.
    pub fn strategy(mut self, s: Strategy) -> Self {
        self.strategy = s;
        self
    }

    /// Sets `missingValue`.
    pub fn missing_value(mut self, v: f64) -> Self {
        self.missing_value = v;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_columns(STAGE, &self.input_cols, &self.output_cols)?;
        check_relative_error(STAGE, self.relative_error)
    }

    fn is_missing(&self, v: &arrow_array::Float64Array, i: usize) -> bool {
        missing(v, i) || v.value(i) == self.missing_value
    }
}

pub(crate) fn check_relative_error(stage: &str, e: f64) -> Result<(), FeatureError> {
    if !(1e-6..0.5).contains(&e) {
        return Err(FeatureError::param(
            stage,
            "relativeError",
            format!("{e} is outside [1e-6, 0.5)"),
        ));
    }
    Ok(())
}

/// What one column contributes to the fill value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ColumnStats {
    /// Count and mean.
    Mean(Moments),
    /// Quantile sketch.
    Median(QuantileSketch),
    /// Value (as bits) → count.
    Mode(HashMap<u64, u64>),
}

/// Per-column statistics of one partition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImputerSummary(pub Vec<ColumnStats>);

impl Summary for ImputerSummary {
    fn merge(&mut self, other: Self) {
        if self.0.is_empty() {
            *self = other;
            return;
        }
        for (a, b) in self.0.iter_mut().zip(other.0) {
            match (a, b) {
                (ColumnStats::Mean(a), ColumnStats::Mean(b)) => *a = a.merge(b),
                (ColumnStats::Median(a), ColumnStats::Median(b)) => a.merge(&b),
                (ColumnStats::Mode(a), ColumnStats::Mode(b)) => {
                    for (k, c) in b {
                        *a.entry(k).or_default() += c;
                    }
                }
                _ => {}
            }
        }
    }
}

impl Imputer {
    fn stats(&self, frame: &Frame, name: &str) -> Result<ColumnStats, FeatureError> {
        let v = numeric(frame, STAGE, name)?;
        let present = (0..v.len())
            .filter(|&i| !self.is_missing(&v, i))
            .map(|i| v.value(i));
        Ok(match self.strategy {
            Strategy::Mean => ColumnStats::Mean(Moments::of(&present.collect::<Vec<_>>(), None)),
            Strategy::Median => {
                let mut s = QuantileSketch::new(self.relative_error);
                present.for_each(|x| s.insert(x));
                ColumnStats::Median(s)
            }
            Strategy::Mode => {
                let mut counts = HashMap::new();
                // -0.0 and 0.0 are one value.
                present.for_each(|x| *counts.entry((x + 0.0).to_bits()).or_default() += 1);
                ColumnStats::Mode(counts)
            }
        })
    }
}

fn fill_value(stats: &ColumnStats) -> Option<f64> {
    match stats {
        ColumnStats::Mean(m) => (m.weight > 0.0).then_some(m.mean),
        ColumnStats::Median(s) => s.quantile(0.5),
        ColumnStats::Mode(counts) => counts
            .iter()
            .map(|(&bits, &c)| (f64::from_bits(bits), c))
            .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.total_cmp(&a.0)))
            .map(|(v, _)| v),
    }
}

impl Estimator for Imputer {
    type Summary = ImputerSummary;
    type Model = ImputerModel;

    fn summarize(&self, frame: &Frame) -> Result<ImputerSummary, FeatureError> {
        self.input_cols
            .iter()
            .map(|c| self.stats(frame, c))
            .collect::<Result<_, _>>()
            .map(ImputerSummary)
    }

    fn finish(&self, s: ImputerSummary) -> Result<ImputerModel, FeatureError> {
        let mut fill = Vec::new();
        for (i, col) in self.input_cols.iter().enumerate() {
            let v =
                s.0.get(i)
                    .and_then(fill_value)
                    .ok_or_else(|| FeatureError::EmptyFit {
                        stage: STAGE.into(),
                        column: col.clone(),
                    })?;
            fill.push(v);
        }
        Ok(ImputerModel {
            params: self.clone(),
            fill,
        })
    }
}

/// A fitted `Imputer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImputerModel {
    params: Imputer,
    #[serde(with = "reals")]
    fill: Vec<f64>,
}

impl ImputerModel {
    /// Columns the model reads and writes.
    pub(crate) fn columns_read_written(&self) -> (Vec<String>, Vec<String>) {
        (
            self.params.input_cols.clone(),
            self.params.output_cols.clone(),
        )
    }
    /// The fill value per column.
    pub fn fill(&self) -> &[f64] {
        &self.fill
    }
}

impl Transformer for ImputerModel {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let p = &self.params;
        for (i, (input, output)) in p.input_cols.iter().zip(&p.output_cols).enumerate() {
            let v = numeric(&frame, STAGE, input)?;
            let fill = fitted_at(&self.fill, i, STAGE)?;
            let values: Vec<f64> = (0..v.len())
                .map(|r| {
                    if p.is_missing(&v, r) {
                        fill
                    } else {
                        v.value(r)
                    }
                })
                .collect();
            let out = arrow_array::Float64Array::from(values);
            frame.set(output, ColumnData::Array(std::sync::Arc::new(out)));
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::standard_scaler::tests::{col, values};

    /// Oracle (scikit-learn 1.9; the mode tie 2.0/7.0 goes to the smaller, as in both):
    /// ```python
    /// from sklearn.impute import SimpleImputer
    /// X = [[1.0], [2.0], [np.nan], [7.0], [2.0], [-1.0], [7.0], [100.0]]
    /// [SimpleImputer(strategy=s).fit(X).statistics_[0] for s in ['mean', 'median', 'most_frequent']]
    /// # [16.857142857142858, 2.0, 2.0]
    /// ```
    #[test]
    fn fill_values_match_sklearn() {
        let parts = vec![
            col("x", vec![Some(1.0), Some(2.0), None, Some(7.0)]),
            col(
                "x",
                vec![
                    Some(2.0),
                    Some(-1.0),
                    Some(f64::NAN),
                    Some(7.0),
                    Some(100.0),
                ],
            ),
        ];
        let fit = |s| {
            Imputer::new(&["x"])
                .strategy(s)
                .fit_frames(&parts)
                .unwrap()
                .fill()[0]
        };
        assert!((fit(Strategy::Mean) - 16.857142857142858).abs() < 1e-12);
        assert!((fit(Strategy::Median) - 2.0).abs() <= 0.001 * 2.0);
        assert_eq!(fit(Strategy::Mode), 2.0);
        let m = Imputer::new(&["x"]).fit_frames(&parts).unwrap();
        let out = m.transform(parts[0].clone()).unwrap();
        assert_eq!(values(&out, "x_imputed")[2], Some(m.fill()[0]));
        let sentinel = Imputer::new(&["x"])
            .missing_value(100.0)
            .strategy(Strategy::Mode)
            .fit_frames(&parts)
            .unwrap();
        assert_eq!(
            values(
                &sentinel.transform(col("x", vec![Some(100.0)])).unwrap(),
                "x_imputed"
            ),
            vec![Some(2.0)]
        );
        assert!(Imputer::new(&["x"])
            .fit_frames(&[col("x", vec![None, Some(f64::NAN)])])
            .is_err());
    }
}
