//! Checks a feature block before any learner sees it: shapes, finite features, usable labels
//! and weights — each error names the feature, block and row.

use crate::feature::{FeatureBlock, FeatureLayout, SparseColumn};

use super::{Family, LearnerParams, ModelError};

/// What a learner accepts as input besides shapes: which labels, and whether NaN features are
/// missing values it handles.
pub trait Accepts {
    /// Why `y` is not a label the learner accepts, or `None`.
    fn check_label(&self, y: f64) -> Option<&'static str>;
    /// Whether NaN features are missing values (infinite ones never are).
    fn allows_missing(&self) -> bool {
        false
    }
}

impl Accepts for LearnerParams {
    fn check_label(&self, y: f64) -> Option<&'static str> {
        LearnerParams::check_label(self, y)
    }
    fn allows_missing(&self) -> bool {
        LearnerParams::allows_missing(self)
    }
}

impl Accepts for Family {
    fn check_label(&self, y: f64) -> Option<&'static str> {
        Family::check_label(*self, y)
    }
}

/// Checks that `block` fits `layout` and that every feature, label and weight is one the
/// learner `accepts`; `index` is the block's position, quoted in errors.
pub fn validate(
    block: &FeatureBlock,
    index: usize,
    layout: &FeatureLayout,
    accepts: &impl Accepts,
) -> Result<(), ModelError> {
    check_dense_shape(block, index, layout)?;
    check_weights(block, index)?;
    for (row, &y) in block.label.iter().enumerate() {
        if let Some(reason) = accepts.check_label(y) {
            return Err(ModelError::InvalidLabel {
                row,
                block: index,
                value: y,
                reason,
            });
        }
    }
    let bad = |v: f64| !(v.is_finite() || (v.is_nan() && accepts.allows_missing()));
    for (j, column) in block.dense.columns().into_iter().enumerate() {
        if let Some((row, &value)) = column.iter().enumerate().find(|(_, v)| bad(**v)) {
            return Err(ModelError::NonFiniteFeature {
                feature: feature_name(layout, j),
                row,
                block: index,
                value,
            });
        }
    }
    for col in &block.sparse {
        check_sparse(col, block.rows(), index, layout)?;
    }
    Ok(())
}

fn shape(block: usize, message: String) -> ModelError {
    ModelError::Shape { block, message }
}

fn feature_name(layout: &FeatureLayout, j: usize) -> String {
    layout
        .names
        .get(j)
        .cloned()
        .unwrap_or_else(|| format!("#{j}"))
}

fn check_dense_shape(
    block: &FeatureBlock,
    index: usize,
    layout: &FeatureLayout,
) -> Result<(), ModelError> {
    let n = block.rows();
    if block.dense.nrows() != n || block.dense.ncols() != layout.dense {
        let (rows, cols) = (block.dense.nrows(), block.dense.ncols());
        let message = format!("dense part is {rows}x{cols}, expected {n}x{}", layout.dense);
        return Err(shape(index, message));
    }
    Ok(())
}

/// Weights, when given: one per row, finite and non-negative.
fn check_weights(block: &FeatureBlock, index: usize) -> Result<(), ModelError> {
    let Some(w) = &block.weight else {
        return Ok(());
    };
    if w.len() != block.rows() {
        let message = format!("{} weights for {} rows", w.len(), block.rows());
        return Err(shape(index, message));
    }
    match w
        .iter()
        .enumerate()
        .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
    {
        Some((row, &value)) => Err(ModelError::InvalidWeight {
            row,
            block: index,
            value,
        }),
        None => Ok(()),
    }
}

/// A categorical column: inside the layout, one index per row within its width, finite values.
fn check_sparse(
    col: &SparseColumn,
    rows: usize,
    index: usize,
    layout: &FeatureLayout,
) -> Result<(), ModelError> {
    let end = col.offset + col.width;
    if col.offset < layout.dense || end > layout.width() {
        let message = format!(
            "sparse column at {}..{end} outside the layout's {}..{}",
            col.offset,
            layout.dense,
            layout.width()
        );
        return Err(shape(index, message));
    }
    if col.indices.len() != rows || col.values.as_ref().is_some_and(|v| v.len() != rows) {
        let message = format!("sparse column at {} has the wrong row count", col.offset);
        return Err(shape(index, message));
    }
    let outside = |&k: &u32| k != SparseColumn::NONE && k as usize >= col.width;
    if let Some(row) = col.indices.iter().position(outside) {
        let message = format!(
            "index {} in row {row} exceeds the width {} of the column at {}",
            col.indices[row], col.width, col.offset
        );
        return Err(shape(index, message));
    }
    let Some(values) = &col.values else {
        return Ok(());
    };
    match values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        Some((row, &value)) => {
            let k = col.indices[row];
            let feature = match k == SparseColumn::NONE {
                true => format!("sparse column at {}", col.offset),
                false => feature_name(layout, col.offset + k as usize),
            };
            Err(ModelError::NonFiniteFeature {
                feature,
                row,
                block: index,
                value,
            })
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::glm::block_ops::tests::toy_block;
    use crate::model::Family;

    #[test]
    fn validate_names_the_non_finite_feature_and_row() {
        let (mut block, layout) = toy_block();
        assert!(validate(&block, 0, &layout, &Family::Gaussian).is_ok());
        block.dense[[2, 1]] = f64::NAN;
        let err = validate(&block, 3, &layout, &Family::Gaussian).unwrap_err();
        assert!(err.is_user_error());
        assert!(
            err.to_string().contains("'b'") && err.to_string().contains("row 2"),
            "{err}"
        );
        let (mut block, layout) = toy_block();
        block.sparse[1].values.as_mut().unwrap()[3] = f64::INFINITY;
        let err = validate(&block, 0, &layout, &Family::Gaussian).unwrap_err();
        assert!(err.to_string().contains("'d1'"), "{err}");
        let (block, layout) = toy_block();
        let err = validate(&block, 0, &layout, &Family::Binomial).unwrap_err();
        assert!(
            matches!(err, ModelError::InvalidLabel { row: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn trees_take_nan_as_missing_but_not_infinity() {
        use crate::model::trees::{Ensemble, TreeParams};
        let trees = LearnerParams::Trees(TreeParams::new(Ensemble::Boosting).check().unwrap());
        let (mut block, layout) = toy_block();
        block.dense[[2, 1]] = f64::NAN;
        assert!(validate(&block, 0, &layout, &trees).is_ok());
        assert!(validate(&block, 0, &layout, &Family::Gaussian).is_err());
        block.dense[[2, 1]] = f64::INFINITY;
        let err = validate(&block, 0, &layout, &trees).unwrap_err();
        assert!(err.to_string().contains("'b'"), "{err}");
    }
}
