//! Validation folds over feature blocks (cut from raw rows by `train::split`), each fold's
//! training Gram statistics computed once and shared by every trial.

use std::sync::OnceLock;

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::{validate, Family, GramSummary, ModelError, NormalEquations};
use crate::train::tree_reduce;

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
            let p = layout.width();
            for (i, b) in self.train.iter().enumerate() {
                validate(b, i, layout, family).map_err(|e| e.to_string())?;
            }
            let gram = tree_reduce(&self.train, &|b| GramSummary::from_block(b, p), &|a, b| {
                a.merge(&b)
            })
            .ok_or_else(|| ModelError::EmptyData.to_string())?;
            Ok(NormalEquations::new(gram))
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
