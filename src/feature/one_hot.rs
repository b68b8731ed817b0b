//! `OneHotEncoder`: category indices to one-hot features, kept as one index per row (never a
//! dense vector). MLlib semantics: `keep` adds an invalid category after the real ones and
//! `dropLast` drops the last category, so under `keep` + `dropLast` an unseen value is the
//! all-zero row ([`super::SparseColumn::NONE`]) and the model gives it no weight.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::columns::check_columns;
use super::columns::numeric;
use super::frame::{ColumnData, FeatureNames, Frame, SparseFeature, SparsePart};
use super::traits::{Estimator, HandleInvalid, Summary, Transformer};
use super::{FeatureError, SparseColumn};

const STAGE: &str = "OneHotEncoder";

/// Parameters of a `OneHotEncoder` over one or more index columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OneHotEncoder {
    /// Index columns (StringIndexer/Bucketizer outputs, or non-negative integers).
    pub input_cols: Vec<String>,
    /// Output columns, one per input.
    pub output_cols: Vec<String>,
    /// Drop the last category (MLlib default: true).
    pub drop_last: bool,
    /// error or keep (skip is not an MLlib option here).
    pub handle_invalid: HandleInvalid,
}

impl OneHotEncoder {
    /// Encodes `inputs` into `<input>_vec` columns.
    pub fn new(inputs: &[&str]) -> Self {
        OneHotEncoder {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_cols: inputs.iter().map(|c| format!("{c}_vec")).collect(),
            drop_last: true,
            handle_invalid: HandleInvalid::Error,
        }
    }

    /// Sets the output columns.
    pub fn output_cols(mut self, outputs: &[&str]) -> Self {
        self.output_cols = outputs.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Sets `dropLast`.
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Sets `handleInvalid` (error or keep).
    pub fn handle_invalid(mut self, h: HandleInvalid) -> Self {
        self.handle_invalid = h;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_columns(STAGE, &self.input_cols, &self.output_cols)?;
        if self.handle_invalid == HandleInvalid::Skip {
            return Err(FeatureError::param(
                STAGE,
                "handleInvalid",
                "must be 'error' or 'keep'",
            ));
        }
        Ok(())
    }

    fn model(&self, sizes: Vec<(usize, Vec<String>)>) -> OneHotEncoderModel {
        let columns = self
            .input_cols
            .iter()
            .zip(&self.output_cols)
            .zip(sizes)
            .map(|((input, output), (size, names))| EncodedColumn {
                input: input.clone(),
                output: output.clone(),
                size,
                names: Arc::new(names),
            })
            .collect();
        OneHotEncoderModel {
            columns,
            drop_last: self.drop_last,
            handle_invalid: self.handle_invalid,
        }
    }

    /// Feature names of the kept categories.
    fn names(&self, output: &str, size: usize, labels: Option<(&str, &[String])>) -> Vec<String> {
        let total = size + usize::from(self.handle_invalid == HandleInvalid::Keep);
        let width = total - usize::from(self.drop_last && total > 0);
        (0..width)
            .map(|i| match labels {
                Some((source, labels)) if i < labels.len() => format!("{source}={}", labels[i]),
                Some((source, _)) => format!("{source}=__unknown"),
                None => format!("{output}[{i}]"),
            })
            .collect()
    }
}

/// Number of categories seen per column (max index + 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneHotSummary(pub Vec<usize>);

impl Summary for OneHotSummary {
    fn merge(&mut self, other: Self) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a = (*a).max(b);
        }
    }
}

impl Estimator for OneHotEncoder {
    type Summary = OneHotSummary;
    type Model = OneHotEncoderModel;

    fn summarize(&self, frame: &Frame) -> Result<OneHotSummary, FeatureError> {
        let mut sizes = Vec::with_capacity(self.input_cols.len());
        for name in &self.input_cols {
            let size = match frame.column(STAGE, name)? {
                ColumnData::Index(ix) => ix.labels.len(),
                _ => {
                    let v = numeric(frame, STAGE, name)?;
                    let mut max = 0usize;
                    for i in 0..v.len() {
                        max = max.max(category(&v, i, name)?.map_or(0, |c| c + 1));
                    }
                    max
                }
            };
            sizes.push(size);
        }
        Ok(OneHotSummary(sizes))
    }

    fn finish(&self, summary: OneHotSummary) -> Result<OneHotEncoderModel, FeatureError> {
        let sizes = self
            .output_cols
            .iter()
            .enumerate()
            .map(|(i, out)| {
                let size = summary.0.get(i).copied().unwrap_or(0);
                (size, self.names(out, size, None))
            })
            .collect();
        Ok(self.model(sizes))
    }

    fn fit_without_data(&self, schema: &Frame) -> Option<Result<OneHotEncoderModel, FeatureError>> {
        let mut sizes = Vec::with_capacity(self.input_cols.len());
        for (input, output) in self.input_cols.iter().zip(&self.output_cols) {
            match schema.column(STAGE, input) {
                Ok(ColumnData::Index(ix)) => sizes.push((
                    ix.labels.len(),
                    self.names(output, ix.labels.len(), Some((&ix.source, &ix.labels))),
                )),
                _ => return None,
            }
        }
        Some(Ok(self.model(sizes)))
    }
}

/// A numeric category: `Some(index)` for a non-negative integer, `None` for null/NaN.
fn category(
    v: &arrow_array::Float64Array,
    row: usize,
    column: &str,
) -> Result<Option<usize>, FeatureError> {
    if super::columns::missing(v, row) {
        return Ok(None);
    }
    let x = v.value(row);
    if x < 0.0 || x.fract() != 0.0 || x > u32::MAX as f64 {
        return Err(FeatureError::InvalidValue {
            stage: STAGE.into(),
            column: column.into(),
            row,
            value: x.to_string(),
            reason: "a category index must be a non-negative integer",
        });
    }
    Ok(Some(x as usize))
}

/// One fitted column: its category count and the names of its kept features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncodedColumn {
    input: String,
    output: String,
    size: usize,
    names: Arc<Vec<String>>,
}

/// A fitted `OneHotEncoder`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OneHotEncoderModel {
    columns: Vec<EncodedColumn>,
    drop_last: bool,
    handle_invalid: HandleInvalid,
}

impl OneHotEncoderModel {
    /// Columns the model reads and writes.
    pub(crate) fn columns_read_written(&self) -> (Vec<String>, Vec<String>) {
        let inputs = self.columns.iter().map(|c| c.input.clone()).collect();
        (
            inputs,
            self.columns.iter().map(|c| c.output.clone()).collect(),
        )
    }
    /// Whether `part` (fitted on a subset of this model's rows) encodes the same way once its
    /// inputs in `relabeled` are read through their own labels: same settings and columns, and
    /// a relabelled input's unseen categories are all-zero rows (kept in a bucket, then dropped).
    pub(super) fn relabels(&self, part: &Self, relabeled: &[String]) -> bool {
        let same_settings = self.drop_last == part.drop_last
            && self.handle_invalid == part.handle_invalid
            && self.columns.len() == part.columns.len();
        let unseen_is_zero = self.handle_invalid == HandleInvalid::Keep && self.drop_last;
        same_settings
            && self.columns.iter().zip(&part.columns).all(|(a, b)| {
                let same_column = a.input == b.input && a.output == b.output;
                match relabeled.contains(&a.input) {
                    true => same_column && unseen_is_zero,
                    false => a == b,
                }
            })
    }

    /// Category count per column.
    pub fn sizes(&self) -> Vec<usize> {
        self.columns.iter().map(|c| c.size).collect()
    }

    fn encode(&self, frame: &Frame, c: &EncodedColumn) -> Result<Vec<u32>, FeatureError> {
        let width = c.names.len();
        let to_slot = |cat: Option<usize>, row: usize| -> Result<u32, FeatureError> {
            let cat = match cat {
                Some(k) if k < c.size => k,
                _ if self.handle_invalid == HandleInvalid::Keep => c.size,
                other => {
                    return Err(FeatureError::InvalidValue {
                        stage: STAGE.into(),
                        column: c.input.clone(),
                        row,
                        value: other.map_or("null".into(), |k| k.to_string()),
                        reason: "category index beyond the fitted categories",
                    })
                }
            };
            Ok(if cat < width {
                cat as u32
            } else {
                SparseColumn::NONE
            })
        };
        match frame.column(STAGE, &c.input)? {
            ColumnData::Index(ix) => {
                // Indices of fitted categories below the width map to themselves.
                let direct = c.size.min(width);
                let mut out = Vec::with_capacity(ix.indices.len());
                for (row, &k) in ix.indices.iter().enumerate() {
                    out.push(match k as usize {
                        k if k < direct => k as u32,
                        k => to_slot(Some(k), row)?,
                    });
                }
                Ok(out)
            }
            _ => {
                let v = numeric(frame, STAGE, &c.input)?;
                (0..v.len())
                    .map(|row| to_slot(category(&v, row, &c.input)?, row))
                    .collect()
            }
        }
    }
}

impl Transformer for OneHotEncoderModel {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        for c in &self.columns {
            let indices = self.encode(&frame, c)?;
            let data = ColumnData::Sparse(SparseFeature {
                names: FeatureNames::List(c.names.clone()),
                parts: vec![SparsePart {
                    indices,
                    values: None,
                }],
            });
            frame.set(&c.output, data);
        }
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::string_indexer::tests::frame;
    use crate::feature::string_indexer::StringIndexer;
    use arrow_array::{Float64Array, RecordBatch};

    fn sparse(f: &Frame, name: &str) -> (Vec<u32>, usize) {
        match f.column("t", name).unwrap() {
            ColumnData::Sparse(s) => (s.parts[0].indices.clone(), s.names.width()),
            _ => panic!(),
        }
    }

    fn numbers(v: Vec<Option<f64>>) -> Frame {
        Frame::from_batch(
            &RecordBatch::try_from_iter([("x", Arc::new(Float64Array::from(v)) as _)]).unwrap(),
        )
    }

    /// Oracle (scikit-learn 1.9; MLlib's dropLast drops the *last* category, sklearn
    /// `drop` drops a chosen one, so we drop the last explicitly):
    /// ```python
    /// from sklearn.preprocessing import OneHotEncoder
    /// X = [[0], [1], [2], [1]]
    /// OneHotEncoder(drop=[2]).fit(X).transform([[0],[1],[2]]).toarray()
    /// # [[1,0],[0,1],[0,0]]   -> indices 0, 1, NONE; width 2
    /// OneHotEncoder(handle_unknown='ignore').fit(X).transform([[5]]).toarray()  # [[0,0,0]]
    /// ```
    #[test]
    fn drop_last_and_keep_match_the_oracle() {
        let train = numbers(vec![Some(0.0), Some(1.0), Some(2.0), Some(1.0)]);
        let test = numbers(vec![Some(0.0), Some(1.0), Some(2.0)]);
        let m = OneHotEncoder::new(&["x"])
            .fit_frames(std::slice::from_ref(&train))
            .unwrap();
        assert_eq!(
            sparse(&m.transform(test.clone()).unwrap(), "x_vec"),
            (vec![0, 1, SparseColumn::NONE], 2)
        );
        let full = OneHotEncoder::new(&["x"])
            .drop_last(false)
            .fit_frames(std::slice::from_ref(&train))
            .unwrap();
        assert_eq!(
            sparse(&full.transform(test).unwrap(), "x_vec"),
            (vec![0, 1, 2], 3)
        );
        let unseen = numbers(vec![Some(5.0), None]);
        assert!(matches!(
            m.transform(unseen.clone()),
            Err(FeatureError::InvalidValue { row: 0, .. })
        ));
        let keep = OneHotEncoder::new(&["x"])
            .handle_invalid(HandleInvalid::Keep)
            .fit_frames(std::slice::from_ref(&train))
            .unwrap();
        assert_eq!(
            sparse(&keep.transform(unseen.clone()).unwrap(), "x_vec"),
            (vec![SparseColumn::NONE; 2], 3)
        );
        let keep_all = OneHotEncoder::new(&["x"])
            .drop_last(false)
            .handle_invalid(HandleInvalid::Keep)
            .fit_frames(&[train])
            .unwrap();
        assert_eq!(
            sparse(&keep_all.transform(unseen).unwrap(), "x_vec"),
            (vec![3, 3], 4)
        );
        assert!(OneHotEncoder::new(&["x"])
            .handle_invalid(HandleInvalid::Skip)
            .check()
            .is_err());
        let bad = numbers(vec![Some(-1.0)]);
        assert!(OneHotEncoder::new(&["x"]).fit_frames(&[bad]).is_err());
    }

    #[test]
    fn indexer_metadata_fits_without_data_and_unseen_is_all_zero() {
        let train = frame(
            vec![Some(1), Some(2), Some(2)],
            vec![Some("a"), Some("b"), Some("a")],
        );
        let ix = StringIndexer::new(&["zone"])
            .handle_invalid(HandleInvalid::Keep)
            .fit_frames(&[train])
            .unwrap();
        let schema = ix.transform(frame(vec![], vec![])).unwrap();
        let ohe = OneHotEncoder::new(&["zone_index"]).handle_invalid(HandleInvalid::Keep);
        let m = ohe.fit_without_data(&schema).unwrap().unwrap();
        assert_eq!(m.sizes(), vec![2]);
        assert_eq!(
            m.columns[0].names.as_ref(),
            &vec!["zone=2".to_string(), "zone=1".to_string()]
        );
        let later = ix
            .transform(frame(vec![Some(1), Some(3), None], vec![Some("a"); 3]))
            .unwrap();
        let out = m.transform(later).unwrap();
        assert_eq!(
            sparse(&out, "zone_index_vec"),
            (vec![1, SparseColumn::NONE, SparseColumn::NONE], 2)
        );
    }
}
