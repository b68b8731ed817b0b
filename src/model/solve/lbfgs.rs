//! L-BFGS for smooth objectives and OWL-QN (Andrew & Gao 2007) when an L1 term is added;
//! the objective is a closure, so the same code minimises over rayon blocks or over
//! gradients gathered from parameter-server workers.

use std::collections::VecDeque;

/// Settings of one minimisation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LbfgsConfig {
    /// Number of correction pairs kept (MLlib: 10).
    pub memory: usize,
    /// Maximum iterations.
    pub max_iter: usize,
    /// Stop when the relative objective decrease of an iteration, or the largest
    /// (pseudo-)gradient entry, is at most `tol`; 0 runs until no progress is possible.
    pub tol: f64,
}

/// Result of a minimisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Minimum {
    /// The minimiser.
    pub x: Vec<f64>,
    /// Objective at `x` (smooth part + L1 part).
    pub value: f64,
    /// Iterations done.
    pub iterations: usize,
    /// Objective after each iteration, starting with the initial point.
    pub history: Vec<f64>,
    /// Whether a convergence test passed (rather than `max_iter` or a stalled line search).
    pub converged: bool,
}

const C1: f64 = 1e-4;
const C2: f64 = 0.9;
const MAX_LINE_SEARCH: usize = 60;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn inf_norm(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimises `f(x) + Σ l1ᵢ|xᵢ|` from `x0`; `f` returns the smooth value and gradient.
/// An empty or all-zero `l1` gives plain L-BFGS with a weak-Wolfe line search.
pub fn minimize<F>(mut f: F, x0: Vec<f64>, l1: &[f64], cfg: LbfgsConfig) -> Minimum
where
    F: FnMut(&[f64]) -> (f64, Vec<f64>),
{
    let n = x0.len();
    let l1: Vec<f64> = if l1.is_empty() {
        vec![0.0; n]
    } else {
        l1.to_vec()
    };
    let owlqn = l1.iter().any(|&w| w > 0.0);
    let l1_value = |x: &[f64]| -> f64 { l1.iter().zip(x).map(|(w, v)| w * v.abs()).sum() };
    let pseudo = |x: &[f64], g: &[f64]| -> Vec<f64> {
        (0..n)
            .map(|i| {
                let w = l1[i];
                if w == 0.0 {
                    g[i]
                } else if x[i] > 0.0 {
                    g[i] + w
                } else if x[i] < 0.0 {
                    g[i] - w
                } else if g[i] + w < 0.0 {
                    g[i] + w
                } else if g[i] - w > 0.0 {
                    g[i] - w
                } else {
                    0.0
                }
            })
            .collect()
    };

    let mut x = x0;
    let (mut fx, mut g) = f(&x);
    let mut value = fx + l1_value(&x);
    let mut history = vec![value];
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::with_capacity(cfg.memory);
    let mut converged = false;
    let mut iterations = 0;

    while iterations < cfg.max_iter {
        let pg = pseudo(&x, &g);
        if inf_norm(&pg) <= cfg.tol.max(f64::MIN_POSITIVE) {
            converged = true;
            break;
        }
        let mut d = two_loop(&pg, &pairs);
        if owlqn {
            // Keep only the components that agree with the steepest pseudo-descent direction.
            for (di, pgi) in d.iter_mut().zip(&pg) {
                if *di * *pgi >= 0.0 {
                    *di = 0.0;
                }
            }
        }
        let mut slope = dot(&d, &pg);
        if slope >= 0.0 || !slope.is_finite() {
            pairs.clear();
            d = pg.iter().map(|v| -v).collect();
            slope = dot(&d, &pg);
        }
        let first_step = if pairs.is_empty() {
            (1.0 / inf_norm(&d)).min(1.0)
        } else {
            1.0
        };
        let step = if owlqn {
            backtrack_owlqn(&mut f, &x, &d, &pg, value, first_step, &l1_value)
        } else {
            weak_wolfe(&mut f, &x, &d, fx, slope, first_step)
        };
        let Some((x1, f1, g1)) = step else {
            converged = inf_norm(&pg) <= cfg.tol.max(1e-8);
            break;
        };
        iterations += 1;
        let s: Vec<f64> = x1.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g1.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() && sy > 0.0 {
            if pairs.len() == cfg.memory.max(1) {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        let new_value = f1 + l1_value(&x1);
        let improvement = value - new_value;
        x = x1;
        fx = f1;
        g = g1;
        value = new_value;
        history.push(value);
        if cfg.tol > 0.0 && improvement.abs() <= cfg.tol * value.abs().max(1e-300) {
            converged = true;
            break;
        }
    }
    Minimum {
        x,
        value,
        iterations,
        history,
        converged,
    }
}

/// `−H·g` with the L-BFGS inverse-Hessian approximation of `pairs`.
fn two_loop(g: &[f64], pairs: &VecDeque<(Vec<f64>, Vec<f64>, f64)>) -> Vec<f64> {
    let mut q: Vec<f64> = g.to_vec();
    let mut alphas = Vec::with_capacity(pairs.len());
    for (s, y, rho) in pairs.iter().rev() {
        let a = rho * dot(s, &q);
        for (qi, yi) in q.iter_mut().zip(y) {
            *qi -= a * yi;
        }
        alphas.push(a);
    }
    if let Some((s, y, _)) = pairs.back() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|v| *v *= gamma);
    }
    for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
        let b = rho * dot(y, &q);
        for (qi, si) in q.iter_mut().zip(s) {
            *qi += (a - b) * si;
        }
    }
    q.iter_mut().for_each(|v| *v = -*v);
    q
}

type Step = Option<(Vec<f64>, f64, Vec<f64>)>;

/// Bisection line search for the weak Wolfe conditions (Lewis & Overton), accepting Hager &
/// Zhang's approximate Wolfe step when the decrease is below the objective's rounding noise —
/// which lets the solver keep reducing the gradient near the optimum.
fn weak_wolfe<F>(f: &mut F, x: &[f64], d: &[f64], f0: f64, slope0: f64, mut alpha: f64) -> Step
where
    F: FnMut(&[f64]) -> (f64, Vec<f64>),
{
    let (mut lo, mut hi) = (0.0, f64::INFINITY);
    let noise = 1e-12 * f0.abs();
    for _ in 0..MAX_LINE_SEARCH {
        let x1: Vec<f64> = x.iter().zip(d).map(|(a, b)| a + alpha * b).collect();
        let (f1, g1) = f(&x1);
        let slope1 = dot(&g1, d);
        let finite = f1.is_finite() && slope1.is_finite();
        let armijo = finite && f1 <= f0 + C1 * alpha * slope0;
        let approx = finite && f1 <= f0 + noise && slope1 <= (1.0 - 2.0 * C1) * -slope0;
        if (armijo || approx) && slope1 >= C2 * slope0 {
            return Some((x1, f1, g1));
        }
        if armijo || approx {
            lo = alpha;
        } else {
            hi = alpha;
        }
        alpha = if hi.is_finite() {
            0.5 * (lo + hi)
        } else {
            2.0 * alpha
        };
    }
    None
}

/// OWL-QN's backtracking along `d`, projecting each trial point onto the orthant of the step.
fn backtrack_owlqn<F, L>(
    f: &mut F,
    x: &[f64],
    d: &[f64],
    pg: &[f64],
    value0: f64,
    mut alpha: f64,
    l1_value: &L,
) -> Step
where
    F: FnMut(&[f64]) -> (f64, Vec<f64>),
    L: Fn(&[f64]) -> f64,
{
    let orthant: Vec<f64> = x
        .iter()
        .zip(pg)
        .map(|(&xi, &pgi)| {
            if xi != 0.0 {
                xi.signum()
            } else {
                -pgi.signum()
            }
        })
        .collect();
    let noise = 1e-12 * value0.abs();
    for _ in 0..MAX_LINE_SEARCH {
        let x1: Vec<f64> = (0..x.len())
            .map(|i| {
                let v = x[i] + alpha * d[i];
                if v * orthant[i] > 0.0 {
                    v
                } else {
                    0.0
                }
            })
            .collect();
        let (f1, g1) = f(&x1);
        let value1 = f1 + l1_value(&x1);
        let expected: f64 = (0..x.len()).map(|i| pg[i] * (x1[i] - x[i])).sum();
        if value1.is_finite()
            && (value1 <= value0 + C1 * expected || (-expected < noise && value1 <= value0))
            && x1.as_slice() != x
        {
            return Some((x1, f1, g1));
        }
        alpha *= 0.5;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rosenbrock(x: &[f64]) -> (f64, Vec<f64>) {
        let (a, b) = (x[0], x[1]);
        let f = (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2);
        let g = vec![
            -2.0 * (1.0 - a) - 400.0 * a * (b - a * a),
            200.0 * (b - a * a),
        ];
        (f, g)
    }

    #[test]
    fn minimises_rosenbrock() {
        let cfg = LbfgsConfig {
            memory: 10,
            max_iter: 500,
            tol: 0.0,
        };
        let m = minimize(rosenbrock, vec![-1.2, 1.0], &[], cfg);
        assert!(
            (m.x[0] - 1.0).abs() < 1e-8 && (m.x[1] - 1.0).abs() < 1e-8,
            "{:?}",
            m.x
        );
        assert!(m.history.windows(2).all(|w| w[1] <= w[0] + 1e-12));
    }

    #[test]
    fn owlqn_solves_a_separable_lasso_exactly() {
        // ½Σ(xᵢ − cᵢ)² + Σ λ|xᵢ| → soft-threshold(cᵢ, λ).
        let c = [3.0, -0.5, 0.2, -2.0];
        let f = |x: &[f64]| {
            let v = x.iter().zip(&c).map(|(a, b)| 0.5 * (a - b) * (a - b)).sum();
            (v, x.iter().zip(&c).map(|(a, b)| a - b).collect())
        };
        let cfg = LbfgsConfig {
            memory: 5,
            max_iter: 200,
            tol: 0.0,
        };
        let m = minimize(f, vec![0.0; 4], &[1.0; 4], cfg);
        let expected = [2.0, 0.0, 0.0, -1.0];
        assert!(
            m.x.iter().zip(&expected).all(|(a, b)| (a - b).abs() < 1e-9),
            "{:?}",
            m.x
        );
    }
}
