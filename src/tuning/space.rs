//! Search spaces: `--grid 'key=v1,v2'` axes (or distributions for random search), expanded
//! into the parameter sets of the trials.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};

use super::param::{Param, ParamSet, ParamValue};
use super::TuneError;
use crate::model::Learner;

/// How one parameter's values are chosen.
#[derive(Debug, Clone, PartialEq)]
pub enum Distribution {
    /// An explicit list (a grid axis; a uniform choice under random search).
    Values(Vec<ParamValue>),
    /// `uniform(a,b)`.
    Uniform(f64, f64),
    /// `loguniform(a,b)`: uniform in log space, `0 < a < b`.
    LogUniform(f64, f64),
    /// `randint(a,b)` / `int(a,b)`: an integer in `a..=b`.
    IntUniform(i64, i64),
}

/// One axis of the space: a parameter and its distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// The learner parameter it sets.
    pub param: Param,
    /// Its values.
    pub dist: Distribution,
    /// The values as written (`0,0.01,0.1`, `loguniform(1e-4,1)`).
    text: String,
}

/// Grid (cartesian product) or `random:N` (N seeded draws).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Search {
    /// Every combination of the listed values.
    Grid,
    /// `n` random draws.
    Random {
        /// Number of trials.
        n: usize,
    },
}

impl Search {
    /// As the flag spells it: `grid` or `random:N`.
    pub fn label(self) -> String {
        match self {
            Search::Grid => "grid".into(),
            Search::Random { n } => format!("random:{n}"),
        }
    }
}

impl std::str::FromStr for Search {
    type Err = TuneError;
    fn from_str(text: &str) -> Result<Self, TuneError> {
        let t = text.trim();
        if t == "grid" {
            return Ok(Search::Grid);
        }
        if let Some(n) = t.strip_prefix("random:") {
            return match n.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(Search::Random { n }),
                _ => Err(TuneError::invalid(
                    "--search",
                    format!("`{text}`: N in random:N must be a positive integer"),
                )),
            };
        }
        Err(TuneError::invalid(
            "--search",
            format!("`{text}`: expected grid or random:N"),
        ))
    }
}

impl Axis {
    /// Parses `key=v1,v2,...` or `key=loguniform(a,b)` / `uniform(a,b)` / `randint(a,b)` /
    /// `choice(a,b,...)` for a parameter of `learner`; every listed value is checked against
    /// the key's type.
    pub fn parse(text: &str, learner: &Learner) -> Result<Self, TuneError> {
        let (key, values) = text.split_once('=').ok_or_else(|| {
            TuneError::invalid("--grid", format!("`{text}`: expected key=v1,v2,..."))
        })?;
        let param = Param::of(learner, key)?;
        let values = values.trim();
        let bad = |m: String| TuneError::invalid("--grid", format!("`{text}`: {m}"));
        let call = |name: &str| -> Option<&str> {
            values
                .strip_prefix(name)
                .and_then(|r| r.trim().strip_prefix('('))
                .and_then(|r| r.strip_suffix(')'))
        };
        let two = |inner: &str| -> Result<(f64, f64), TuneError> {
            let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
            match parts.as_slice() {
                [a, b] => match (a.parse::<f64>(), b.parse::<f64>()) {
                    (Ok(a), Ok(b)) if a.is_finite() && b.is_finite() && a < b => Ok((a, b)),
                    _ => Err(bad(format!("bounds `{inner}` must be two numbers a < b"))),
                },
                _ => Err(bad(format!("expected two bounds, got `{inner}`"))),
            }
        };
        let numeric = |d: Distribution| -> Result<Distribution, TuneError> {
            if param.is_numeric() {
                Ok(d)
            } else {
                Err(bad(format!("{} takes a list of values", param.key())))
            }
        };
        let dist = if let Some(inner) = call("loguniform") {
            let (a, b) = two(inner)?;
            if a <= 0.0 {
                return Err(bad("loguniform bounds must be positive".into()));
            }
            numeric(Distribution::LogUniform(a, b))?
        } else if let Some(inner) = call("uniform") {
            let (a, b) = two(inner)?;
            numeric(Distribution::Uniform(a, b))?
        } else if let Some(inner) = call("randint").or_else(|| call("int")) {
            let (a, b) = two(inner)?;
            if a.fract() != 0.0 || b.fract() != 0.0 {
                return Err(bad("randint bounds must be integers".into()));
            }
            numeric(Distribution::IntUniform(a as i64, b as i64))?
        } else {
            let list = call("choice").unwrap_or(values);
            let parsed = list
                .split(',')
                .map(|v| param.parse_value(learner, v.trim()))
                .collect::<Result<Vec<_>, _>>()?;
            if parsed.is_empty() {
                return Err(bad("no values".into()));
            }
            Distribution::Values(parsed)
        };
        Ok(Axis {
            param,
            dist,
            text: values.to_string(),
        })
    }

    /// The values as written.
    pub fn values(&self) -> String {
        self.text.clone()
    }

    fn sample(&self, rng: &mut Pcg64Mcg) -> ParamValue {
        match &self.dist {
            Distribution::Values(v) => v[rng.random_range(0..v.len())].clone(),
            Distribution::Uniform(a, b) => self.param.number(rng.random_range(*a..*b)),
            Distribution::LogUniform(a, b) => {
                self.param.number(rng.random_range(a.ln()..b.ln()).exp())
            }
            Distribution::IntUniform(a, b) => self.param.number(rng.random_range(*a..=*b) as f64),
        }
    }
}

/// The parameter sets to try: the grid's cartesian product (first axis varying slowest), or
/// `n` draws seeded by `seed`. Duplicate keys are an error.
pub fn expand(axes: &[Axis], search: Search, seed: u64) -> Result<Vec<ParamSet>, TuneError> {
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.param == a.param) {
            return Err(TuneError::invalid(
                "--grid",
                format!("`{}` is given twice", a.param.key()),
            ));
        }
    }
    match search {
        Search::Grid => {
            let mut sets = vec![ParamSet::default()];
            for axis in axes {
                let Distribution::Values(values) = &axis.dist else {
                    return Err(TuneError::invalid(
                        "--grid",
                        format!(
                            "`{}` has a distribution: use --search random:N, or list values",
                            axis.param.key()
                        ),
                    ));
                };
                sets = sets
                    .into_iter()
                    .flat_map(|s| {
                        values.iter().map(move |v| {
                            let mut s = s.clone();
                            s.0.push((axis.param.clone(), v.clone()));
                            s
                        })
                    })
                    .collect();
            }
            Ok(sets)
        }
        Search::Random { n } => {
            let mut rng = Pcg64Mcg::seed_from_u64(seed);
            Ok((0..n)
                .map(|_| {
                    let set = axes.iter().map(|a| (a.param.clone(), a.sample(&mut rng)));
                    ParamSet(set.collect())
                })
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner() -> Learner {
        Learner::new("elastic-net".parse().unwrap())
    }

    fn axes(specs: &[&str]) -> Vec<Axis> {
        specs
            .iter()
            .map(|s| Axis::parse(s, &learner()).unwrap())
            .collect()
    }

    #[test]
    fn a_grid_is_the_cartesian_product_in_flag_order() {
        let sets = expand(
            &axes(&["reg=0,0.01,0.1", "elastic-net=0,0.5"]),
            Search::Grid,
            0,
        )
        .unwrap();
        let names: Vec<String> = sets.iter().map(ParamSet::name).collect();
        assert_eq!(
            names,
            [
                "reg=0 en=0",
                "reg=0 en=0.5",
                "reg=0.01 en=0",
                "reg=0.01 en=0.5",
                "reg=0.1 en=0",
                "reg=0.1 en=0.5"
            ]
        );
    }

    #[test]
    fn random_search_is_seeded_and_respects_the_distributions() {
        let a = axes(&[
            "reg=loguniform(1e-4,1)",
            "max-iter=randint(5,10)",
            "solver=lbfgs,sgd",
        ]);
        let s1 = expand(&a, Search::Random { n: 20 }, 7).unwrap();
        assert_eq!(s1, expand(&a, Search::Random { n: 20 }, 7).unwrap());
        for s in &s1 {
            let reg = s.get("reg").and_then(ParamValue::as_f64).unwrap();
            assert!((1e-4..1.0).contains(&reg));
            let it = s.get("max-iter").and_then(ParamValue::as_f64).unwrap();
            assert!((5.0..=10.0).contains(&it) && it.fract() == 0.0);
        }
    }

    #[test]
    fn bad_keys_and_values_are_named() {
        let e = Axis::parse("regularisation=0.1", &learner()).unwrap_err();
        assert!(
            e.is_user_error() && e.to_string().contains("regularisation"),
            "{e}"
        );
        let e = Axis::parse("reg=0,abc", &learner()).unwrap_err();
        assert!(e.to_string().contains("abc"), "{e}");
        let e = Axis::parse("max-iter=1.5", &learner()).unwrap_err();
        assert!(e.to_string().contains("1.5"), "{e}");
        assert!(Axis::parse("reg=loguniform(0,1)", &learner()).is_err());
        let dist = axes(&["reg=uniform(0,1)"]);
        assert!(expand(&dist, Search::Grid, 0).is_err());
        assert!("random:0".parse::<Search>().is_err());
        assert_eq!(
            "random:5".parse::<Search>().unwrap(),
            Search::Random { n: 5 }
        );
    }
}
