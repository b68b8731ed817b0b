//! Schedulers: none (every trial to its full budget) or successive halving on iterations
//! (`asha`): all trials start on a small iteration budget and the best 1/η of each rung go on
//! to an η-times larger one, up to the full `max-iter`.

use serde::Serialize;

use super::TuneError;

/// `--scheduler`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Every trial runs to the end.
    None,
    /// Successive halving with reduction factor `eta`.
    Asha {
        /// Reduction factor η (≥ 2).
        eta: usize,
    },
}

/// The default reduction factor.
pub const DEFAULT_ETA: usize = 3;

impl Scheduler {
    /// Parses `none` or `asha` (`asha:η` sets the reduction factor).
    pub fn parse(text: &str) -> Result<Self, TuneError> {
        let bad = || {
            TuneError::invalid(
                "--scheduler",
                format!("`{text}`: expected none, asha or asha:ETA (ETA ≥ 2)"),
            )
        };
        match text.trim() {
            "none" => Ok(Scheduler::None),
            "asha" => Ok(Scheduler::Asha { eta: DEFAULT_ETA }),
            t => match t.strip_prefix("asha:").map(str::parse::<usize>) {
                Some(Ok(eta)) if eta >= 2 => Ok(Scheduler::Asha { eta }),
                _ => Err(bad()),
            },
        }
    }

    /// The name in the summary and MLflow params.
    pub fn label(self) -> String {
        match self {
            Scheduler::None => "none".into(),
            Scheduler::Asha { eta } => format!("asha:{eta}"),
        }
    }

    /// Each rung's share of a trial's full iteration budget, ascending, the last 1: with `n`
    /// trials there are ⌊log_η n⌋ + 1 rungs (one for `none`).
    pub fn rung_fractions(self, n: usize) -> Vec<f64> {
        let Scheduler::Asha { eta } = self else {
            return vec![1.0];
        };
        let mut rungs: i32 = 0;
        let mut left = n;
        while left >= eta {
            left /= eta;
            rungs += 1;
        }
        (0..=rungs).map(|k| (eta as f64).powi(k - rungs)).collect()
    }

    /// How many of `n` rung survivors go on: ⌈n/η⌉.
    pub fn keep(self, n: usize) -> usize {
        match self {
            Scheduler::None => n,
            Scheduler::Asha { eta } => n.div_ceil(eta),
        }
    }
}

/// A trial's iteration budget on a rung: its `max-iter` scaled by the rung's share, at least 1.
pub fn budget(max_iter: usize, fraction: f64) -> usize {
    ((max_iter as f64 * fraction).round() as usize).clamp(1, max_iter.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rungs_shrink_by_eta() {
        let asha = Scheduler::parse("asha").unwrap();
        assert_eq!(asha.rung_fractions(6), vec![1.0 / 3.0, 1.0]);
        assert_eq!(asha.rung_fractions(27).len(), 4);
        assert_eq!(asha.rung_fractions(2), vec![1.0]);
        assert_eq!(asha.keep(6), 2);
        assert_eq!(Scheduler::None.rung_fractions(50), vec![1.0]);
        assert_eq!(budget(30, 1.0 / 3.0), 10);
        assert_eq!(budget(2, 0.1), 1);
        assert!(Scheduler::parse("hyperband").is_err());
        assert_eq!(
            Scheduler::parse("asha:4").unwrap(),
            Scheduler::Asha { eta: 4 }
        );
    }
}
