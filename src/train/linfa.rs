//! linfa integration: `Fit` on checked GLM parameters for a dense `DatasetBase` (fitted by the
//! local trainer), `PredictInplace` on the fitted model.

use linfa::traits::{Fit, PredictInplace};
use linfa::DatasetBase;
use ndarray::{Array1, Array2};

use crate::feature::{FeatureBlock, FeatureLayout};
use crate::model::glm::{fit, GlmModel, GlmValidParams};
use crate::model::{validate, ModelError};

use super::LocalSums;

impl Fit<Array2<f64>, Array1<f64>, ModelError> for GlmValidParams {
    type Object = GlmModel;

    /// Fits on the dataset's records, targets and (non-empty) sample weights.
    fn fit(&self, dataset: &DatasetBase<Array2<f64>, Array1<f64>>) -> Result<GlmModel, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if x.nrows() != y.len() {
            return Err(linfa::Error::MismatchedShapes(x.nrows(), y.len()).into());
        }
        let weights = dataset
            .weights()
            .filter(|w| w.len() == y.len())
            .map(|w| w.iter().map(|&v| f64::from(v)).collect::<Array1<f64>>());
        let names: Vec<String> = if dataset.feature_names().len() == x.ncols() {
            dataset.feature_names().to_vec()
        } else {
            (0..x.ncols()).map(|j| format!("x{j}")).collect()
        };
        let layout = FeatureLayout {
            names,
            dense: x.ncols(),
            ..Default::default()
        };
        let block = FeatureBlock {
            dense: x.clone(),
            sparse: Vec::new(),
            label: y.clone(),
            weight: weights,
        };
        validate(&block, 0, &layout, &self.family())?;
        let (model, _) = fit(
            self,
            &layout,
            &mut LocalSums::new(std::slice::from_ref(&block)),
        )?;
        Ok(model)
    }
}

impl PredictInplace<Array2<f64>, Array1<f64>> for GlmModel {
    /// Writes the mean response (probability of class 1 for logistic regression).
    fn predict_inplace(&self, x: &Array2<f64>, y: &mut Array1<f64>) {
        assert_eq!(x.nrows(), y.len(), "one prediction per row");
        y.assign(&self.predict_dense(x));
    }

    fn default_target(&self, x: &Array2<f64>) -> Array1<f64> {
        Array1::zeros(x.nrows())
    }
}
