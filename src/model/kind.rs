//! The `--model` names: each learner family declares the kinds it fits (name, MLlib estimator,
//! defaults), so the CLI, the job file, tuning's `model` key and MLflow all read one list.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{all_kinds, LearnerParams, ModelError};

/// One `--model` name and what it means.
#[derive(Debug)]
pub struct KindSpec {
    /// The flag spelling (`elastic-net`).
    pub name: &'static str,
    /// Other accepted spellings (`elasticnet`).
    pub aliases: &'static [&'static str],
    /// The MLlib estimator class it corresponds to (prefix of its MLflow params).
    pub estimator: &'static str,
    /// The MLlib class when the parameters make it a classifier (`GBTClassifier`), if another.
    pub classifier: Option<&'static str>,
    /// One line for `--help`.
    pub about: &'static str,
    /// The kind's default parameters.
    pub defaults: fn() -> LearnerParams,
}

/// A learner name of `distml train --model`.
#[derive(Clone, Copy)]
pub struct ModelKind(&'static KindSpec);

impl ModelKind {
    /// The kind spelled `name` (or one of its aliases), case-insensitively.
    pub fn named(name: &str) -> Option<Self> {
        let name = name.trim().to_ascii_lowercase();
        all_kinds()
            .find(|k| k.name == name || k.aliases.contains(&name.as_str()))
            .map(ModelKind)
    }

    /// Every kind, in registry order.
    pub fn all() -> impl Iterator<Item = ModelKind> {
        all_kinds().map(ModelKind)
    }

    /// The flag spelling.
    pub fn as_str(self) -> &'static str {
        self.0.name
    }

    /// The MLlib estimator class (`LinearRegression`, `LogisticRegression`, ...).
    pub fn estimator(self) -> &'static str {
        self.0.estimator
    }

    /// The MLlib estimator class for `task` (`GBTClassifier` for logistic `gbt`).
    pub fn estimator_for(self, task: crate::model::Task) -> &'static str {
        match (task, self.0.classifier) {
            (crate::model::Task::Classification, Some(c)) => c,
            _ => self.0.estimator,
        }
    }

    /// The kind's default parameters.
    pub fn defaults(self) -> LearnerParams {
        (self.0.defaults)()
    }

    /// Every name, comma-separated (for messages).
    pub fn names() -> String {
        all_kinds().map(|k| k.name).collect::<Vec<_>>().join(", ")
    }
}

impl PartialEq for ModelKind {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for ModelKind {}

impl std::hash::Hash for ModelKind {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl fmt::Debug for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModelKind({})", self.0.name)
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl FromStr for ModelKind {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelKind::named(s).ok_or_else(|| ModelError::InvalidParam {
            param: "--model".into(),
            value: s.to_string(),
            reason: format!("expected one of {}", ModelKind::names()),
        })
    }
}

impl Serialize for ModelKind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name)
    }
}

impl<'de> Deserialize<'de> for ModelKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}
