//! `Interaction`: the product of one-hot, index and numeric columns — e.g. the pickup×dropoff
//! zone pair as one index in a 265×265 space (still one integer per row). A row with an
//! all-zero factor is all-zero.

use std::sync::Arc;

use arrow_array::{Array, Float64Array};
use serde::{Deserialize, Serialize};

use super::columns::numeric;
use super::frame::{ColumnData, FeatureNames, Frame, SparseFeature, SparsePart};
use super::traits::Transformer;
use super::{FeatureError, SparseColumn};

const STAGE: &str = "Interaction";

/// Parameters of an `Interaction`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    /// Factors: one-hot (single-part sparse), index or numeric columns; at least two.
    pub input_cols: Vec<String>,
    /// Output sparse column.
    pub output_col: String,
}

/// One factor's index (`None` when all-zero) and value per row.
enum Factor<'a> {
    Sparse(&'a SparsePart, usize),
    Index(&'a [u32], usize),
    Numeric(Float64Array),
}

impl Factor<'_> {
    fn width(&self) -> usize {
        match self {
            Factor::Sparse(_, w) | Factor::Index(_, w) => *w,
            Factor::Numeric(_) => 1,
        }
    }

    fn at(&self, row: usize) -> Option<(usize, f64)> {
        match self {
            Factor::Sparse(p, _) => {
                let i = p.indices[row];
                let v = p.values.as_ref().map_or(1.0, |v| v[row]);
                (i != SparseColumn::NONE).then_some((i as usize, v))
            }
            Factor::Index(ix, w) => ((ix[row] as usize) < *w).then_some((ix[row] as usize, 1.0)),
            Factor::Numeric(a) => (!a.is_null(row)).then(|| (0, a.value(row))),
        }
    }
}

impl Interaction {
    /// `output` = product of `inputs`.
    pub fn new(inputs: &[&str], output: &str) -> Self {
        Interaction {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_col: output.into(),
        }
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        if self.input_cols.len() < 2 {
            return Err(FeatureError::param(
                STAGE,
                "inputCols",
                "needs at least two columns",
            ));
        }
        Ok(())
    }

    fn factor<'a>(
        &self,
        frame: &'a Frame,
        name: &str,
    ) -> Result<(Factor<'a>, FeatureNames), FeatureError> {
        Ok(match frame.column(STAGE, name)? {
            ColumnData::Sparse(s) if s.parts.len() == 1 => (
                Factor::Sparse(&s.parts[0], s.names.width()),
                s.names.clone(),
            ),
            ColumnData::Sparse(_) => {
                return Err(FeatureError::ColumnType {
                    stage: STAGE.into(),
                    column: name.into(),
                    expected: "a one-hot, index or numeric column",
                    found: "a hashed vector".into(),
                })
            }
            ColumnData::Index(ix) => {
                let names = ix
                    .labels
                    .iter()
                    .map(|l| format!("{}={l}", ix.source))
                    .collect();
                (
                    Factor::Index(&ix.indices, ix.labels.len()),
                    FeatureNames::List(Arc::new(names)),
                )
            }
            ColumnData::Array(_) => (
                Factor::Numeric(numeric(frame, STAGE, name)?),
                FeatureNames::List(Arc::new(vec![name.to_string()])),
            ),
        })
    }
}

impl Transformer for Interaction {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let mut factors = Vec::with_capacity(self.input_cols.len());
        let mut names = Vec::with_capacity(self.input_cols.len());
        for name in &self.input_cols {
            let (f, n) = self.factor(&frame, name)?;
            factors.push(f);
            names.push(n);
        }
        let width: u128 = factors.iter().map(|f| f.width() as u128).product();
        if width >= u128::from(SparseColumn::NONE) {
            return Err(FeatureError::param(
                STAGE,
                "inputCols",
                format!("the product space has {width} features, more than 2^32-1"),
            ));
        }
        let numeric = factors.iter().any(|f| {
            matches!(f, Factor::Numeric(_))
                || matches!(f, Factor::Sparse(p, _) if p.values.is_some())
        });
        let rows = frame.rows();
        let mut indices = Vec::with_capacity(rows);
        let mut values = Vec::with_capacity(if numeric { rows } else { 0 });
        for row in 0..rows {
            let mut index = 0usize;
            let mut value = 1.0;
            let mut active = true;
            for f in &factors {
                match f.at(row) {
                    Some((i, v)) => {
                        index = index * f.width() + i;
                        value *= v;
                    }
                    None => active = false,
                }
            }
            indices.push(if active {
                index as u32
            } else {
                SparseColumn::NONE
            });
            if numeric {
                values.push(if active { value } else { 0.0 });
            }
        }
        drop(factors);
        let feature = SparseFeature {
            names: FeatureNames::Product(names),
            parts: vec![SparsePart {
                indices,
                values: numeric.then_some(values),
            }],
        };
        frame.set(&self.output_col, ColumnData::Sparse(feature));
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feature::frame::IndexColumn;
    use arrow_array::RecordBatch;

    /// Oracle: the pair index is `i * width_b + j`, as in
    /// `pd.MultiIndex.from_product([range(3), range(2)]).get_loc((2, 1))  # 5`.
    #[test]
    fn pair_index_is_row_major_and_none_propagates() {
        let batch = RecordBatch::try_from_iter([(
            "d",
            Arc::new(Float64Array::from(vec![2.0, 3.0, 4.0])) as _,
        )])
        .unwrap();
        let mut f = Frame::from_batch(&batch);
        let index = |v: Vec<u32>, labels: &[&str], src: &str| {
            ColumnData::Index(IndexColumn {
                indices: v,
                labels: Arc::new(labels.iter().map(|s| s.to_string()).collect()),
                source: src.into(),
            })
        };
        f.set("a", index(vec![2, 0, 3], &["x", "y", "z"], "A"));
        f.set("b", index(vec![1, 1, 0], &["p", "q"], "B"));
        let out = Interaction::new(&["a", "b"], "ab")
            .transform(f.clone())
            .unwrap();
        let ColumnData::Sparse(s) = out.column("t", "ab").unwrap() else {
            panic!()
        };
        assert_eq!(s.parts[0].indices, vec![5, 1, SparseColumn::NONE]);
        assert_eq!(s.names.width(), 6);
        assert_eq!(s.names.expand()[5], "A=z:B=q");
        let scaled = Interaction::new(&["a", "d"], "ad").transform(f).unwrap();
        let ColumnData::Sparse(s) = scaled.column("t", "ad").unwrap() else {
            panic!()
        };
        assert_eq!(s.parts[0].values, Some(vec![2.0, 3.0, 0.0]));
        assert!(Interaction::new(&["a"], "x").check().is_err());
    }
}
