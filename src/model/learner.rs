//! A learner ready to fit: the `--model` kind and its checked parameters. Built from the
//! kind's defaults with settings applied by key (flags, the job file's `[learner]` table,
//! tuning's grid keys — all the same keys), then checked once.

use serde::{Deserialize, Serialize};

use crate::feature::FeatureLayout;

use super::{LearnerParams, Model, ModelError, ModelKind, SetError, Sums, Task, TrainSummary};

/// The `--model` kind and its checked parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Learner {
    /// The `--model` name.
    pub model: ModelKind,
    /// Its parameters, checked.
    pub params: LearnerParams,
}

impl Learner {
    /// The kind with its default parameters.
    pub fn new(model: ModelKind) -> Self {
        Learner {
            model,
            params: model.defaults(),
        }
    }

    /// The kind's defaults with every `(key, text)` setting applied, then checked. A key that is
    /// not a parameter of this kind names the key and the kind.
    pub fn with_settings<'a>(
        model: ModelKind,
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, ModelError> {
        let mut learner = Learner::new(model);
        for (key, text) in settings {
            learner.set_unchecked(key, text)?;
        }
        learner.params.check()?;
        Ok(learner)
    }

    /// This learner with one more setting, checked.
    pub fn set(mut self, key: &str, text: &str) -> Result<Self, ModelError> {
        self.set_unchecked(key, text)?;
        self.params.check()?;
        Ok(self)
    }

    fn set_unchecked(&mut self, key: &str, text: &str) -> Result<(), ModelError> {
        match self.params.set_text(key, text) {
            Err(SetError::Unknown(key)) => Err(ModelError::NotAParam {
                key: key.trim_start_matches("--").to_string(),
                model: self.model.as_str(),
                known: self.keys().join(", "),
            }),
            other => Ok(other?),
        }
    }

    /// The keys this learner's parameters are set by (`reg`, `elastic-net`, ...).
    pub fn keys(&self) -> Vec<String> {
        self.params.specs().iter().map(|s| s.key()).collect()
    }

    /// The iteration budget successive halving divides (GLM: `maxIter`).
    pub fn budget(&self) -> usize {
        self.params.budget()
    }

    /// This learner with another iteration budget.
    pub fn with_budget(&self, budget: usize) -> Self {
        Learner {
            model: self.model,
            params: self.params.with_budget(budget),
        }
    }

    /// Regression or classification.
    pub fn task(&self) -> Task {
        self.params.task()
    }

    /// The parameters as MLflow params, named as MLlib's pyspark autologger names them
    /// (`LinearRegression.regParam`), plus `model`.
    pub fn mlflow_params(&self) -> Vec<(String, String)> {
        let estimator = self.model.estimator_for(self.task());
        let mut out = vec![("model".to_string(), self.model.as_str().to_string())];
        out.extend(
            self.params
                .values()
                .into_iter()
                .map(|(spec, value)| (format!("{estimator}.{}", spec.mllib), value)),
        );
        out
    }

    /// Fits the model on the rows behind `sums`, laid out as `layout`.
    pub fn fit<S: Sums>(
        &self,
        layout: &FeatureLayout,
        sums: &mut S,
    ) -> Result<(Model, TrainSummary), S::Error> {
        self.params.fit(layout, sums)
    }
}
