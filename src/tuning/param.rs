//! Tunable parameters (named by `distml train`'s flags), their values, and one trial's set.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::Solver;
use crate::train::TrainConfig;

use super::TuneError;

/// A train flag a sweep may vary; none of them touches the feature pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Param {
    /// `--reg`.
    Reg,
    /// `--elastic-net`.
    ElasticNet,
    /// `--max-iter`.
    MaxIter,
    /// `--tol`.
    Tol,
    /// `--solver`.
    Solver,
}

/// Every tunable parameter.
pub const PARAMS: [Param; 5] = [
    Param::Reg,
    Param::ElasticNet,
    Param::MaxIter,
    Param::Tol,
    Param::Solver,
];

impl Param {
    /// The train flag name (`elastic-net`).
    pub fn key(self) -> &'static str {
        match self {
            Param::Reg => "reg",
            Param::ElasticNet => "elastic-net",
            Param::MaxIter => "max-iter",
            Param::Tol => "tol",
            Param::Solver => "solver",
        }
    }

    /// The short form used in run names (`en`).
    pub fn short(self) -> &'static str {
        match self {
            Param::ElasticNet => "en",
            other => other.key(),
        }
    }

    /// Whether the parameter takes numbers (and so distributions).
    pub fn is_numeric(self) -> bool {
        self != Param::Solver
    }

    /// A sampled number as this parameter's value (integers rounded, floats to 4 digits).
    pub fn number(self, x: f64) -> ParamValue {
        match self {
            Param::MaxIter => ParamValue::Number(x.round()),
            _ if x == 0.0 => ParamValue::Number(0.0),
            _ => {
                let digits = 3 - x.abs().log10().floor() as i32;
                let f = 10f64.powi(digits);
                ParamValue::Number((x * f).round() / f)
            }
        }
    }

    /// Parses one listed value; the message names the value and the parameter.
    pub fn parse_value(self, text: &str) -> Result<ParamValue, TuneError> {
        let bad = |why: &str| {
            TuneError::invalid(
                "--grid",
                format!("`{text}` is not a valid {} value ({why})", self.key()),
            )
        };
        match self {
            Param::Solver => text
                .parse::<Solver>()
                .map(|s| ParamValue::Text(s.as_str().into()))
                .map_err(|_| bad("auto, normal, lbfgs or sgd")),
            Param::MaxIter => match text.parse::<u64>() {
                Ok(n) => Ok(ParamValue::Number(n as f64)),
                Err(_) => Err(bad("a non-negative integer")),
            },
            _ => match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(ParamValue::Number(x)),
                _ => Err(bad("a number")),
            },
        }
    }
}

impl std::str::FromStr for Param {
    type Err = TuneError;
    fn from_str(key: &str) -> Result<Self, TuneError> {
        PARAMS
            .iter()
            .copied()
            .find(|p| p.key() == key || (key == "en" && *p == Param::ElasticNet))
            .ok_or_else(|| TuneError::UnknownParam {
                key: key.into(),
                known: PARAMS.map(Param::key).join(", "),
            })
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

    /// The value of `param`, if swept.
    pub fn get(&self, param: Param) -> Option<&ParamValue> {
        self.0.iter().find(|(p, _)| *p == param).map(|(_, v)| v)
    }

    /// As a JSON object keyed by train flag names.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.0
            .iter()
            .map(|(p, v)| {
                let value = serde_json::to_value(v).unwrap_or(serde_json::Value::Null);
                (p.key().to_string(), value)
            })
            .collect()
    }

    /// `base` with these parameters applied.
    pub fn apply(&self, base: &TrainConfig) -> TrainConfig {
        let mut c = base.clone();
        for (p, v) in &self.0 {
            match (p, v) {
                (Param::Reg, ParamValue::Number(x)) => c.reg = Some(*x),
                (Param::ElasticNet, ParamValue::Number(x)) => c.elastic_net = Some(*x),
                (Param::MaxIter, ParamValue::Number(x)) => c.max_iter = *x as usize,
                (Param::Tol, ParamValue::Number(x)) => c.tol = *x,
                (Param::Solver, ParamValue::Text(s)) => {
                    c.solver = s.parse().unwrap_or(c.solver);
                }
                _ => {}
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_applies_to_the_train_config() {
        let set = ParamSet(vec![
            (Param::Reg, ParamValue::Number(0.1)),
            (Param::ElasticNet, ParamValue::Number(0.5)),
            (Param::Solver, ParamValue::Text("lbfgs".into())),
            (Param::MaxIter, ParamValue::Number(7.0)),
        ]);
        let c = set.apply(&TrainConfig::default());
        assert_eq!(
            (c.reg, c.elastic_net, c.max_iter),
            (Some(0.1), Some(0.5), 7)
        );
        assert_eq!(c.solver, Solver::Lbfgs);
        assert_eq!(set.name(), "reg=0.1 en=0.5 solver=lbfgs max-iter=7");
        assert_eq!(
            Param::Reg.number(0.000123456),
            ParamValue::Number(0.0001235)
        );
    }
}
