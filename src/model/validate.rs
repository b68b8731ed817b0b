//! Checks a feature block before any learner sees it: shapes, finite features, usable labels
//! and weights — each error names the feature, block and row.

use crate::feature::{FeatureBlock, FeatureLayout, SparseColumn};

use super::ModelError;

/// Checks that `block` fits `layout` and that every feature, label and weight is usable;
/// `check_label` says why a label is not (e.g. `Family::check_label`); `index` is the block's
/// position, quoted in errors.
pub fn validate(
    block: &FeatureBlock,
    index: usize,
    layout: &FeatureLayout,
    check_label: impl Fn(f64) -> Option<&'static str>,
) -> Result<(), ModelError> {
    let n = block.rows();
    let shape = |message: String| ModelError::Shape {
        block: index,
        message,
    };
    if block.dense.nrows() != n || block.dense.ncols() != layout.dense {
        return Err(shape(format!(
            "dense part is {}x{}, expected {n}x{}",
            block.dense.nrows(),
            block.dense.ncols(),
            layout.dense
        )));
    }
    if let Some(w) = &block.weight {
        if w.len() != n {
            return Err(shape(format!("{} weights for {n} rows", w.len())));
        }
        if let Some((row, &value)) = w
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(ModelError::InvalidWeight {
                row,
                block: index,
                value,
            });
        }
    }
    for (row, &y) in block.label.iter().enumerate() {
        if let Some(reason) = check_label(y) {
            return Err(ModelError::InvalidLabel {
                row,
                block: index,
                value: y,
                reason,
            });
        }
    }
    for (j, column) in block.dense.columns().into_iter().enumerate() {
        if let Some((row, &value)) = column.iter().enumerate().find(|(_, v)| !v.is_finite()) {
            return Err(ModelError::NonFiniteFeature {
                feature: layout
                    .names
                    .get(j)
                    .cloned()
                    .unwrap_or_else(|| format!("#{j}")),
                row,
                block: index,
                value,
            });
        }
    }
    for col in &block.sparse {
        if col.offset < layout.dense || col.offset + col.width > layout.width() {
            return Err(shape(format!(
                "sparse column at {}..{} outside the layout's {}..{}",
                col.offset,
                col.offset + col.width,
                layout.dense,
                layout.width()
            )));
        }
        if col.indices.len() != n || col.values.as_ref().is_some_and(|v| v.len() != n) {
            return Err(shape(format!(
                "sparse column at {} has the wrong row count",
                col.offset
            )));
        }
        if let Some(row) = col
            .indices
            .iter()
            .position(|&k| k != SparseColumn::NONE && k as usize >= col.width)
        {
            return Err(shape(format!(
                "index {} in row {row} exceeds the width {} of the column at {}",
                col.indices[row], col.width, col.offset
            )));
        }
        if let Some(values) = &col.values {
            if let Some((row, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                let k = col.indices[row];
                let feature = if k == SparseColumn::NONE {
                    format!("sparse column at {}", col.offset)
                } else {
                    let j = col.offset + k as usize;
                    layout
                        .names
                        .get(j)
                        .cloned()
                        .unwrap_or_else(|| format!("#{j}"))
                };
                return Err(ModelError::NonFiniteFeature {
                    feature,
                    row,
                    block: index,
                    value,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::glm::block_ops::tests::toy_block;
    use crate::model::Family;

    #[test]
    fn validate_names_the_non_finite_feature_and_row() {
        let (mut block, layout) = toy_block();
        assert!(validate(&block, 0, &layout, |y| Family::Gaussian.check_label(y)).is_ok());
        block.dense[[2, 1]] = f64::NAN;
        let err = validate(&block, 3, &layout, |y| Family::Gaussian.check_label(y)).unwrap_err();
        assert!(err.is_user_error());
        assert!(
            err.to_string().contains("'b'") && err.to_string().contains("row 2"),
            "{err}"
        );
        let (mut block, layout) = toy_block();
        block.sparse[1].values.as_mut().unwrap()[3] = f64::INFINITY;
        let err = validate(&block, 0, &layout, |y| Family::Gaussian.check_label(y)).unwrap_err();
        assert!(err.to_string().contains("'d1'"), "{err}");
        let (block, layout) = toy_block();
        let err = validate(&block, 0, &layout, |y| Family::Binomial.check_label(y)).unwrap_err();
        assert!(
            matches!(err, ModelError::InvalidLabel { row: 1, .. }),
            "{err}"
        );
    }
}
