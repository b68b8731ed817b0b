//! `VectorAssembler`: the last stage, turning a frame into the learner input — numeric and
//! index columns into the dense block, sparse features into index columns, plus label and weight.

use arrow_array::{Array, ArrayRef, Float64Array};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::columns::{missing, numeric};
use super::frame::{ColumnData, DropCounts, Frame, SparseFeature};
use super::traits::HandleInvalid;
use super::{FeatureBlock, FeatureError, FeatureLayout, SparseColumn};

const STAGE: &str = "VectorAssembler";

/// Parameters of the assembler: features, label and optional weight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VectorAssembler {
    /// Feature columns, in vector order (dense ones are placed first in the block).
    pub input_cols: Vec<String>,
    /// The label column.
    pub label_col: String,
    /// The optional weight column.
    pub weight_col: Option<String>,
    /// Null/NaN in a dense feature: error, skip the row, or keep it as NaN. A null label or
    /// weight is an error under `error` and drops the row otherwise.
    pub handle_invalid: HandleInvalid,
    /// Rows to score carry no label nor weight: the block's label is NaN (see
    /// `FittedPipeline::unlabelled`).
    #[serde(skip)]
    pub(crate) unlabelled: bool,
}

impl VectorAssembler {
    /// Assembles `inputs` with `label`.
    pub fn new(inputs: &[&str], label: &str) -> Self {
        VectorAssembler {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            label_col: label.into(),
            weight_col: None,
            handle_invalid: HandleInvalid::Error,
            unlabelled: false,
        }
    }

    /// Sets the weight column.
    pub fn weight_col(mut self, weight: &str) -> Self {
        self.weight_col = Some(weight.into());
        self
    }

    /// Sets `handleInvalid`.
    pub fn handle_invalid(mut self, h: HandleInvalid) -> Self {
        self.handle_invalid = h;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        if self.input_cols.is_empty() {
            return Err(FeatureError::param(STAGE, "inputCols", "is empty"));
        }
        if self.label_col.trim().is_empty() {
            return Err(FeatureError::param(STAGE, "labelCol", "is empty"));
        }
        Ok(())
    }

    /// Every column read (features, label, weight).
    pub fn inputs(&self) -> Vec<String> {
        let mut all = self.input_cols.clone();
        all.push(self.label_col.clone());
        all.extend(self.weight_col.iter().cloned());
        all
    }

    /// Dense and sparse inputs, in block order.
    fn split<'a>(&'a self, frame: &Frame) -> Result<(Vec<&'a str>, Vec<&'a str>), FeatureError> {
        let mut dense = Vec::new();
        let mut sparse = Vec::new();
        for name in &self.input_cols {
            match frame.column(STAGE, name)? {
                ColumnData::Sparse(_) => sparse.push(name.as_str()),
                _ => dense.push(name.as_str()),
            }
        }
        Ok((dense, sparse))
    }

    /// Feature names and positions (computed on an empty frame after the fitted stages).
    pub fn layout(&self, frame: &Frame) -> Result<FeatureLayout, FeatureError> {
        let (dense, sparse) = self.split(frame)?;
        let mut names: Vec<String> = dense.iter().map(|s| s.to_string()).collect();
        let mut categories = Vec::new();
        for (j, name) in dense.iter().enumerate() {
            if let ColumnData::Index(ix) = frame.column(STAGE, name)? {
                // Index `labels.len()` is the `keep` bucket of unseen values.
                categories.push((j, ix.labels.len() + 1));
            }
        }
        let mut sparse_columns = Vec::new();
        for name in sparse {
            if let ColumnData::Sparse(s) = frame.column(STAGE, name)? {
                names.extend(s.names.expand());
                sparse_columns.extend(s.parts.iter().map(|_| name.to_string()));
            }
        }
        Ok(FeatureLayout {
            names,
            dense: dense.len(),
            categories,
            sparse_columns,
        })
    }

    /// Rows to keep, or the first invalid value under `error`.
    fn valid_rows(&self, frame: &Frame, dense: &[&str]) -> Result<Vec<bool>, FeatureError> {
        let mut keep = vec![true; frame.rows()];
        for name in dense {
            let v = numeric(frame, STAGE, name)?;
            let drop = self.handle_invalid != HandleInvalid::Keep;
            self.mark(&v, name, "null or NaN feature", drop, &mut keep)?;
        }
        let targets = std::iter::once(&self.label_col).chain(self.weight_col.iter());
        for name in targets.filter(|_| !self.unlabelled) {
            let v = numeric(frame, STAGE, name)?;
            self.mark(&v, name, "null or NaN target/weight", true, &mut keep)?;
        }
        Ok(keep)
    }

    fn mark(
        &self,
        v: &Float64Array,
        name: &str,
        reason: &'static str,
        drop: bool,
        keep: &mut [bool],
    ) -> Result<(), FeatureError> {
        if v.null_count() == 0 && !v.values().iter().any(|x| x.is_nan()) {
            return Ok(());
        }
        for (row, k) in keep.iter_mut().enumerate() {
            if missing(v, row) {
                if self.handle_invalid == HandleInvalid::Error {
                    return Err(FeatureError::InvalidValue {
                        stage: STAGE.into(),
                        column: name.into(),
                        row,
                        value: "null".into(),
                        reason,
                    });
                }
                *k &= !drop;
            }
        }
        Ok(())
    }

    /// Builds the learner input and returns the rows dropped on the way.
    pub fn assemble(&self, frame: Frame) -> Result<(FeatureBlock, DropCounts), FeatureError> {
        let (block, dropped, _) = self.assemble_keeping(frame, &[])?;
        Ok((block, dropped))
    }

    /// Like [`assemble`](Self::assemble), also returning the `keep` columns of the rows that
    /// made it into the block (row-aligned with it), e.g. the keys `predict` writes out.
    pub fn assemble_keeping(
        &self,
        mut frame: Frame,
        keep: &[String],
    ) -> Result<(FeatureBlock, DropCounts, Vec<ArrayRef>), FeatureError> {
        let (dense, sparse) = self.split(&frame)?;
        let valid = self.valid_rows(&frame, &dense)?;
        frame.retain(valid, "VectorAssembler: null or NaN value (skip)")?;
        let kept = keep
            .iter()
            .map(|name| frame.array(STAGE, name).cloned())
            .collect::<Result<Vec<_>, _>>()?;
        let rows = frame.rows();
        let mut block = Array2::<f64>::zeros((rows, dense.len()));
        for (j, name) in dense.iter().enumerate() {
            let v = numeric(&frame, STAGE, name)?;
            for (i, out) in block.column_mut(j).iter_mut().enumerate() {
                *out = if v.is_null(i) { f64::NAN } else { v.value(i) };
            }
        }
        let (label, weight) = match self.unlabelled {
            true => (Array1::from_elem(rows, f64::NAN), None),
            false => (
                to_array(&numeric(&frame, STAGE, &self.label_col)?),
                match &self.weight_col {
                    Some(w) => Some(to_array(&numeric(&frame, STAGE, w)?)),
                    None => None,
                },
            ),
        };
        let mut columns = Vec::new();
        let mut offset = dense.len();
        for name in sparse {
            if let Some(ColumnData::Sparse(s)) = frame.take(name) {
                offset += push_sparse(s, offset, &mut columns);
            }
        }
        let block = FeatureBlock {
            dense: block,
            sparse: columns,
            label,
            weight,
        };
        Ok((block, frame.dropped().clone(), kept))
    }
}

fn to_array(v: &Float64Array) -> Array1<f64> {
    Array1::from(v.values().to_vec())
}

/// Appends one sparse feature's parts at `offset` (parts of one feature share its space).
fn push_sparse(s: SparseFeature, offset: usize, out: &mut Vec<SparseColumn>) -> usize {
    let width = s.names.width();
    for part in s.parts {
        out.push(SparseColumn {
            offset,
            width,
            indices: part.indices,
            values: part.values,
        });
    }
    width
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::frame::{FeatureNames, SparsePart};
    use arrow_array::{Int64Array, RecordBatch};
    use std::sync::Arc;

    fn frame() -> Frame {
        let batch = RecordBatch::try_from_iter([
            (
                "x",
                Arc::new(Float64Array::from(vec![Some(1.0), None, Some(3.0)])) as _,
            ),
            ("n", Arc::new(Int64Array::from(vec![4, 5, 6])) as _),
            (
                "y",
                Arc::new(Float64Array::from(vec![Some(10.0), Some(20.0), None])) as _,
            ),
        ])
        .unwrap();
        let mut f = Frame::from_batch(&batch);
        f.set(
            "s",
            ColumnData::Sparse(SparseFeature {
                names: FeatureNames::List(Arc::new(vec!["a".into(), "b".into()])),
                parts: vec![SparsePart {
                    indices: vec![1, 0, SparseColumn::NONE],
                    values: None,
                }],
            }),
        );
        f
    }

    #[test]
    fn dense_first_then_sparse_with_offsets() {
        let a = VectorAssembler::new(&["s", "x", "n"], "y").handle_invalid(HandleInvalid::Keep);
        let layout = a.layout(&frame()).unwrap();
        assert_eq!(layout.names, vec!["x", "n", "a", "b"]);
        assert_eq!(layout.dense, 2);
        let (block, dropped) = a.assemble(frame()).unwrap();
        assert_eq!(block.rows(), 2, "the null label row is dropped");
        assert_eq!(dropped.total(), 1);
        assert_eq!(block.dense[[0, 0]], 1.0);
        assert!(
            block.dense[[1, 0]].is_nan(),
            "keep turns a null feature into NaN"
        );
        assert_eq!(block.dense.column(1).to_vec(), vec![4.0, 5.0]);
        assert_eq!(block.sparse[0].offset, 2);
        assert_eq!(block.sparse[0].indices, vec![1, 0]);
        assert_eq!(block.label.to_vec(), vec![10.0, 20.0]);
    }

    #[test]
    fn error_names_the_column_and_skip_drops() {
        let err = VectorAssembler::new(&["x"], "y")
            .assemble(frame())
            .unwrap_err();
        assert!(
            matches!(&err, FeatureError::InvalidValue { column, row: 1, .. } if column == "x"),
            "{err}"
        );
        let (block, dropped) = VectorAssembler::new(&["x", "s"], "y")
            .handle_invalid(HandleInvalid::Skip)
            .assemble(frame())
            .unwrap();
        assert_eq!(block.rows(), 1);
        assert_eq!(dropped.total(), 2);
        assert_eq!(block.sparse[0].indices, vec![1]);
    }
}
