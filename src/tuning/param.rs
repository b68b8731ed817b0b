//! Tunable parameters — any parameter of the sweep's learner, by its flag name — their values,
//! and one trial's set.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::{Learner, ModelError, ParamKind};

use super::TuneError;

/// Short forms used in grid keys and run names (`en` for `elastic-net`).
const SHORT: [(&str, &str); 1] = [("elastic-net", "en")];

/// A parameter of the sweep's learner that a trial may set.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Param {
    key: String,
    kind: ParamKind,
}

impl Param {
    /// The parameter `key` (a flag name, or a short form such as `en`) of `learner`; any other
    /// key names itself and the keys the learner has.
    pub fn of(learner: &Learner, key: &str) -> Result<Self, TuneError> {
        let key = key.trim().trim_start_matches("--");
        let key = SHORT
            .iter()
            .find(|(_, short)| *short == key)
            .map_or(key, |(long, _)| long);
        learner
            .params
            .specs()
            .iter()
            .find(|s| s.key() == key)
            .map(|s| Param {
                key: s.key(),
                kind: s.kind,
            })
            .ok_or_else(|| TuneError::UnknownParam {
                key: key.into(),
                known: learner.keys().join(", "),
            })
    }

    /// The flag name (`elastic-net`).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The short form used in run names (`en`).
    pub fn short(&self) -> &str {
        SHORT
            .iter()
            .find(|(long, _)| *long == self.key)
            .map_or(&self.key, |(_, short)| short)
    }

    /// Whether the parameter takes numbers (and so distributions).
    pub fn is_numeric(&self) -> bool {
        matches!(self.kind, ParamKind::Float | ParamKind::Integer)
    }

    /// A sampled number as this parameter's value (integers rounded, floats to 4 digits).
    pub fn number(&self, x: f64) -> ParamValue {
        match self.kind {
            ParamKind::Integer => ParamValue::Number(x.round()),
            _ if x == 0.0 => ParamValue::Number(0.0),
            _ => {
                let digits = 3 - x.abs().log10().floor() as i32;
                let f = 10f64.powi(digits);
                ParamValue::Number((x * f).round() / f)
            }
        }
    }

    /// Parses one listed value, checked against the learner (the message names the value and
    /// the parameter).
    pub fn parse_value(&self, learner: &Learner, text: &str) -> Result<ParamValue, TuneError> {
        let value = match self.kind {
            ParamKind::Float | ParamKind::Integer => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => ParamValue::Number(x),
                _ => return Err(self.bad(text, "a number")),
            },
            ParamKind::Bool | ParamKind::Choice => ParamValue::Text(text.to_string()),
        };
        // The learner reads it as a flag would: its type and its range.
        match learner.clone().set(&self.key, &value.to_string()) {
            Err(ModelError::BadValue { why, .. }) => Err(self.bad(text, &why)),
            _ => Ok(value),
        }
    }

    fn bad(&self, text: &str, why: &str) -> TuneError {
        TuneError::invalid(
            "--grid",
            format!("`{text}` is not a valid {} value ({why})", self.key),
        )
    }
}

/// A parameter's value: a number or a name (the solver).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A number (integers are whole numbers).
    Number(f64),
    /// A name.
    Text(String),
}

impl ParamValue {
    /// The number, if it is one.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            ParamValue::Number(x) => Some(*x),
            ParamValue::Text(_) => None,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Number(x) => write!(f, "{x}"),
            ParamValue::Text(s) => f.write_str(s),
        }
    }
}

/// One trial's parameters, in `--grid` order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParamSet(pub Vec<(Param, ParamValue)>);

impl ParamSet {
    /// The run name: `reg=0.01 en=0.5`.
    pub fn name(&self) -> String {
        self.0
            .iter()
            .map(|(p, v)| format!("{}={v}", p.short()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The value of the parameter `key`, if swept.
    pub fn get(&self, key: &str) -> Option<&ParamValue> {
        self.0.iter().find(|(p, _)| p.key() == key).map(|(_, v)| v)
    }

    /// As a JSON object keyed by flag names.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.0
            .iter()
            .map(|(p, v)| {
                let value = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
                (p.key().to_string(), value)
            })
            .collect()
    }

    /// `base` with these parameters set, checked (an out-of-range value fails the trial).
    pub fn apply(&self, base: &Learner) -> Result<Learner, ModelError> {
        self.0.iter().try_fold(base.clone(), |learner, (p, v)| {
            learner.set(p.key(), &v.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_applies_to_the_learner() {
        let base = Learner::new("elastic-net".parse().unwrap());
        let p = |k: &str| Param::of(&base, k).unwrap();
        let set = ParamSet(vec![
            (p("reg"), ParamValue::Number(0.1)),
            (p("en"), ParamValue::Number(0.5)),
            (p("solver"), ParamValue::Text("lbfgs".into())),
            (p("max-iter"), ParamValue::Number(7.0)),
        ]);
        let learner = set.apply(&base).unwrap();
        let logged = learner.mlflow_params();
        for (k, v) in [
            ("regParam", "0.1"),
            ("elasticNetParam", "0.5"),
            ("solver", "lbfgs"),
        ] {
            assert!(
                logged.contains(&(format!("LinearRegression.{k}"), v.into())),
                "{k}"
            );
        }
        assert!(logged.contains(&("LinearRegression.maxIter".into(), "7".into())));
        assert_eq!(set.name(), "reg=0.1 en=0.5 solver=lbfgs max-iter=7");
        assert_eq!(p("reg").number(0.000123456), ParamValue::Number(0.0001235));
        assert!(Param::of(&base, "num-leaves").is_err());
    }
}
