//! Validation folds over feature blocks (cut from raw rows by `train::split`), each fold's
//! training Gram statistics computed once and shared by every trial.

use std::sync::OnceLock;

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::{validate, Family, ModelError, NormalEquations};
use crate::train::gram_of;

/// One train/validation split, with its least-squares statistics cached on first use.
#[derive(Debug)]
pub struct Fold {
    /// Rows to fit on.
    pub train: Vec<FeatureBlock>,
    /// Rows to score.
    pub valid: Vec<FeatureBlock>,
    normal: OnceLock<Result<NormalEquations, String>>,
}

impl Fold {
    /// A fold from its two sides.
    pub fn new(train: Vec<FeatureBlock>, valid: Vec<FeatureBlock>) -> Self {
        Fold {
            train,
            valid,
            normal: OnceLock::new(),
        }
    }

    /// The fold's normal equations (blocks validated, one Gram pass), computed once.
    pub fn normal_equations(
        &self,
        layout: &FeatureLayout,
        family: Family,
    ) -> Result<&NormalEquations, ModelError> {
        let cached = self.normal.get_or_init(|| {
            normal_equations_of(&self.train, layout, family).map_err(|e| e.to_string())
        });
        cached
            .as_ref()
            .map_err(|m| ModelError::Numerical(m.clone()))
    }

    /// Whether the Gram statistics were computed.
    pub fn has_gram(&self) -> bool {
        self.normal.get().is_some()
    }
}

/// The normal equations of `blocks` (validated first, then one Gram pass in a fixed tree).
pub fn normal_equations_of(
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
    family: Family,
) -> Result<NormalEquations, ModelError> {
    let p = layout.width();
    for (i, b) in blocks.iter().enumerate() {
        validate(b, i, layout, family)?;
    }
    let gram = gram_of(blocks, p).ok_or(ModelError::EmptyData)?;
    Ok(NormalEquations::new(gram))
}
