//! Oracle tests: coefficients and metrics equal scikit-learn 1.9.1's on its bundled real data
//! (tests/fixtures), to 1e-6 relative (absolute below 1).
//!
//! The figures were produced once by this script, run in tests/fixtures:
//!
//! ```python
//! import numpy as np, pandas as pd, warnings
//! from sklearn.linear_model import *
//! from sklearn.metrics import *
//! from sklearn.preprocessing import StandardScaler
//! d = pd.read_csv("diabetes.csv"); X = d.drop(columns="target").to_numpy(); y = d["target"].to_numpy(); n = len(y)
//! def show(name, m, Xe=None):
//!     print(name, "coef [" + ", ".join(repr(float(c)) for c in np.ravel(m.coef_)) + "] intercept", repr(float(np.ravel(m.intercept_)[0])))
//! ols = LinearRegression().fit(X, y); show("ols", ols)
//! p = ols.predict(X)
//! print("ols metrics", *map(lambda v: repr(float(v)), [root_mean_squared_error(y, p), mean_absolute_error(y, p), r2_score(y, p), explained_variance_score(y, p)]))
//! show("ridge", Ridge(alpha=10.0).fit(X, y))
//! show("lasso", Lasso(alpha=0.5, tol=1e-14, max_iter=1_000_000).fit(X, y))
//! show("enet", ElasticNet(alpha=0.3, l1_ratio=0.4, tol=1e-14, max_iter=1_000_000).fit(X, y))
//! sd = X.std(axis=0, ddof=1)
//! m = ElasticNet(alpha=0.3, l1_ratio=0.4, tol=1e-14, max_iter=1_000_000).fit(X / sd, y)
//! print("enet_std coef [" + ", ".join(repr(float(c)) for c in m.coef_ / sd) + "] intercept", repr(float(m.intercept_)))
//! Xs = StandardScaler().fit_transform(X)  # population std, as the Rust test standardises
//! po = PoissonRegressor(alpha=0.1, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(Xs, y); show("poisson", po)
//! # rank-deficient: dense [bmi, bp, s5, bmi] + one-hot sex (both levels) + one-hot age bins (all 4)
//! age, sex = d["age"].to_numpy(), d["sex"].to_numpy()
//! bins = np.digitize(age, [38, 50, 59])
//! R = np.column_stack([d["bmi"], d["bp"], d["s5"], d["bmi"], sex == 1, sex == 2] + [bins == k for k in range(4)]).astype(float)
//! rd = LinearRegression().fit(R, y); show("rankdef", rd)
//! print("rankdef pred", *map(lambda v: repr(float(v)), rd.predict(R)[[0, 1, 2, 100, 441]]))
//! b = pd.read_csv("breast_cancer.csv"); Xb = StandardScaler().fit_transform(b.drop(columns="target").to_numpy()); yb = b["target"].to_numpy()
//! lr = LogisticRegression(C=0.5, solver="newton-cholesky", tol=1e-14, max_iter=1000).fit(Xb, yb); show("logistic", lr)
//! pr = lr.predict_proba(Xb)[:, 1]
//! print("logistic metrics", *map(lambda v: repr(float(v)), [log_loss(yb, pr), roc_auc_score(yb, pr), accuracy_score(yb, lr.predict(Xb)), f1_score(yb, lr.predict(Xb))]))
//! with warnings.catch_warnings():
//!     warnings.simplefilter("ignore")
//!     en = LogisticRegression(C=0.5, l1_ratio=0.5, penalty="elasticnet", solver="saga", tol=1e-12, max_iter=200000).fit(Xb, yb); show("logistic_enet", en)
//! print("iters", po.n_iter_, lr.n_iter_, en.n_iter_)
//! ```

use distml::eval::{roc_auc, ClassificationAccumulator, RegressionAccumulator};
use distml::feature::{FeatureBlock, FeatureLayout, SparseColumn};
use distml::model::glm::{
    GlmModel, GlmParams, GramSummary, LinearRegression, LogisticRegression, NormalEquations,
    PoissonRegression, Solver,
};
use distml::model::Learner;
use distml::model::{validate, Family, ModelError, TrainSummary};
use distml::train::{fit_local, gram_of, LocalSums};
use linfa::prelude::*;
use ndarray::{s, Array1, Array2, Axis};

/// Reads a numeric CSV with a header; the last column is the label.
fn load(name: &str) -> (Vec<String>, Array2<f64>, Array1<f64>) {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect())
        .collect();
    let p = header.len() - 1;
    let x = Array2::from_shape_fn((rows.len(), p), |(i, j)| rows[i][j]);
    let y = rows.iter().map(|r| r[p]).collect();
    (header[..p].to_vec(), x, y)
}

/// Standardises columns with the population std, as scikit-learn's StandardScaler.
fn standardise(x: &Array2<f64>) -> Array2<f64> {
    let mean = x.mean_axis(Axis(0)).unwrap();
    let std = x.std_axis(Axis(0), 0.0);
    (x - &mean) / &std
}

/// Dense data cut into `parts` blocks (exercises the merge of per-block pieces).
fn blocks(
    names: &[String],
    x: &Array2<f64>,
    y: &Array1<f64>,
    parts: usize,
) -> (Vec<FeatureBlock>, FeatureLayout) {
    let n = y.len();
    let blocks = (0..parts)
        .map(|k| {
            let (a, b) = (k * n / parts, (k + 1) * n / parts);
            FeatureBlock {
                dense: x.slice(s![a..b, ..]).to_owned(),
                sparse: vec![],
                label: y.slice(s![a..b]).to_owned(),
                weight: None,
            }
        })
        .collect();
    (
        blocks,
        FeatureLayout {
            names: names.to_vec(),
            dense: x.ncols(),
            ..Default::default()
        },
    )
}

fn assert_close(what: &str, actual: &[f64], expected: &[f64], tol: f64) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (j, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= tol * e.abs().max(1.0),
            "{what}[{j}]: {a} vs expected {e} (tol {tol})"
        );
    }
}

/// The GLM fit on the local trainer's sums (blocks validated first, as the trainer does).
fn fit(
    params: GlmParams,
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
) -> (GlmModel, TrainSummary) {
    let params = params.check().unwrap();
    for (i, b) in blocks.iter().enumerate() {
        validate(b, i, layout, &params.family()).unwrap();
    }
    distml::model::glm::fit(&params, layout, &mut LocalSums::new(blocks)).unwrap()
}

fn check_model(what: &str, model: &GlmModel, coef: &[f64], intercept: f64, tol: f64) {
    assert_close(what, model.coefficients.as_slice().unwrap(), coef, tol);
    assert_close(
        &format!("{what} intercept"),
        &[model.intercept],
        &[intercept],
        tol,
    );
}

const OLS: [f64; 10] = [
    -0.036361224223618455,
    -22.859648090498386,
    5.602962091923714,
    1.1168079933181858,
    -1.0899963340632302,
    0.7464504555142089,
    0.3720047150891356,
    6.5338319359903405,
    68.48312496478826,
    0.28011698932149576,
];
const OLS_INTERCEPT: f64 = -334.56713851878544;

#[test]
fn ols_normal_equations_and_metrics() {
    let (names, x, y) = load("diabetes.csv");
    let (bl, layout) = blocks(&names, &x, &y, 3);
    let (model, summary) = fit(
        LinearRegression::params().standardization(false),
        &bl,
        &layout,
    );
    assert_eq!(summary.solver, "normal");
    assert_eq!(summary.rows, 442);
    check_model("ols", &model, &OLS, OLS_INTERCEPT, 1e-6);
    // Metrics merged from per-block accumulators.
    let acc = bl.iter().fold(RegressionAccumulator::default(), |acc, b| {
        let mut part = RegressionAccumulator::default();
        part.add(
            b.label.as_slice().unwrap(),
            model.predict(b).as_slice().unwrap(),
            None,
        );
        acc.merge(part)
    });
    let m = acc.finish();
    assert_close(
        "ols metrics",
        &[m.rmse, m.mae, m.r2, m.explained_variance],
        &[
            53.47612876402657,
            43.27745202531505,
            0.5177484222203499,
            0.5177484222203499,
        ],
        1e-9,
    );
    // standardization only changes the penalty: without one, the fit is the same.
    let (std_model, _) = fit(LinearRegression::params(), &bl, &layout);
    check_model("ols standardized", &std_model, &OLS, OLS_INTERCEPT, 1e-6);
}

#[test]
fn lbfgs_reaches_the_normal_equation_solution() {
    let (names, x, y) = load("diabetes.csv");
    let (bl, layout) = blocks(&names, &x, &y, 4);
    let params = LinearRegression::params()
        .standardization(false)
        .solver(Solver::Lbfgs)
        .tol(0.0)
        .max_iter(500);
    let (model, summary) = fit(params, &bl, &layout);
    assert_eq!(summary.solver, "lbfgs");
    check_model("ols lbfgs", &model, &OLS, OLS_INTERCEPT, 1e-6);
    assert!(summary
        .loss_history
        .windows(2)
        .all(|w| w[1] <= w[0] + 1e-9 * w[0].abs()));
    assert_eq!(summary.loss_history.len(), summary.iterations + 1);
}

#[test]
fn ridge_matches_sklearn() {
    // Ridge(alpha=10) minimises RSS + 10‖w‖²: regParam = 10 / n.
    let (names, x, y) = load("diabetes.csv");
    let (bl, layout) = blocks(&names, &x, &y, 2);
    let coef = [
        -0.018830389044549877,
        -20.52921775635908,
        5.83373349453222,
        1.1235145909941429,
        -0.05053690274314268,
        -0.20862182196583864,
        -0.7751985454926917,
        4.684300289907452,
        37.258731731886,
        0.32299468120514246,
    ];
    let params = LinearRegression::params()
        .reg(10.0 / 442.0)
        .elastic_net(0.0)
        .standardization(false);
    let (model, _) = fit(params.clone(), &bl, &layout);
    check_model("ridge", &model, &coef, -226.254235225962, 1e-6);
    let (model, _) = fit(
        params.solver(Solver::Lbfgs).tol(0.0).max_iter(500),
        &bl,
        &layout,
    );
    check_model("ridge lbfgs", &model, &coef, -226.254235225962, 1e-6);
}

#[test]
fn lasso_and_elastic_net_match_sklearn() {
    let (names, x, y) = load("diabetes.csv");
    let (bl, layout) = blocks(&names, &x, &y, 3);
    let lasso = [
        -0.02662269488158013,
        -20.12401030906702,
        5.732347959713202,
        1.1030295873409721,
        -0.37306743124678177,
        0.12885279860013077,
        -0.5143775602511805,
        3.103723487377348,
        49.033920021120075,
        0.30555782057891023,
    ];
    let base = LinearRegression::params()
        .standardization(false)
        .solver(Solver::Normal)
        .tol(1e-13)
        .max_iter(100_000);
    let (model, summary) = fit(base.clone().reg(0.5).elastic_net(1.0), &bl, &layout);
    assert!(summary.converged);
    check_model("lasso", &model, &lasso, -259.42717444863115, 1e-6);
    let enet = [
        -0.026415147367903413,
        -11.613338666087609,
        6.096701541641148,
        1.0823341633066248,
        0.9613313448112221,
        -1.116599308981443,
        -1.8625638757772291,
        1.5685441528300879,
        8.53235073402734,
        0.34719453364105324,
    ];
    let (model, _) = fit(base.clone().reg(0.3).elastic_net(0.4), &bl, &layout);
    check_model("elastic net", &model, &enet, -130.6423293112479, 1e-6);
    // standardization = sklearn on X / sd (ddof 1), coefficients scaled back.
    let enet_std = [
        0.016062127570580204,
        -17.48075374737589,
        4.984997804965908,
        0.9848968418691901,
        -0.06709956792310559,
        -0.11963647756915792,
        -0.7033531672638407,
        4.200009029669333,
        37.07863752188965,
        0.3908303576006116,
    ];
    let (model, _) = fit(
        base.reg(0.3).elastic_net(0.4).standardization(true),
        &bl,
        &layout,
    );
    check_model(
        "elastic net standardized",
        &model,
        &enet_std,
        -211.01787472468422,
        1e-6,
    );
    // OWL-QN on the block gradients reaches the same optimum.
    let owlqn = LinearRegression::params()
        .standardization(false)
        .solver(Solver::Lbfgs)
        .tol(0.0)
        .max_iter(2000);
    let (model, summary) = fit(owlqn.reg(0.5).elastic_net(1.0), &bl, &layout);
    assert_eq!(summary.solver, "lbfgs");
    check_model("lasso owlqn", &model, &lasso, -259.42717444863115, 1e-6);
}

#[test]
fn poisson_matches_sklearn() {
    let (names, x, y) = load("diabetes.csv");
    let (bl, layout) = blocks(&names, &standardise(&x), &y, 3);
    let coef = [
        0.0010633125176767188,
        -0.07530760554331056,
        0.1420948978123747,
        0.09891528280620904,
        -0.39572582810627804,
        0.31675656451280015,
        0.046783468718494696,
        0.00511203488131099,
        0.3157532516419682,
        0.0171837229769344,
    ];
    let params = PoissonRegression::params()
        .reg(0.1)
        .standardization(false)
        .tol(0.0)
        .max_iter(1000);
    let (model, summary) = fit(params, &bl, &layout);
    assert_eq!(
        (summary.solver.as_str(), model.family),
        ("lbfgs", Family::Poisson)
    );
    check_model("poisson", &model, &coef, 4.957372317820509, 1e-6);
}

#[test]
fn logistic_regression_and_classification_metrics_match_sklearn() {
    let (names, x, y) = load("breast_cancer.csv");
    let xs = standardise(&x);
    let (bl, layout) = blocks(&names, &xs, &y, 4);
    // LogisticRegression(C=0.5): regParam = 1 / (C·n).
    let reg = 1.0 / (0.5 * 569.0);
    let coef = [
        -0.41898331568034697,
        -0.4593663464079855,
        -0.40608343395389684,
        -0.4519161992462269,
        -0.15873582067852293,
        0.32198486401784726,
        -0.6838257055374672,
        -0.7605715096857358,
        0.016280963780894907,
        0.3306941298878121,
        -0.9909787282425666,
        0.16986709809306696,
        -0.5997644892847831,
        -0.7573036713093919,
        -0.1899015954585173,
        0.6170564859579275,
        0.05676345662548089,
        -0.2541419542947216,
        0.25595326833669935,
        0.5144105307059942,
        -0.8393217647528435,
        -1.0263421732959939,
        -0.7117378461741015,
        -0.7969803097048263,
        -0.6316924552730601,
        -0.03193666705406682,
        -0.7180705865213821,
        -0.7903941354933173,
        -0.743449571565343,
        -0.32373463894990634,
    ];
    let params = LogisticRegression::params()
        .reg(reg)
        .standardization(false)
        .tol(0.0)
        .max_iter(1000);
    let (model, _) = fit(params, &bl, &layout);
    check_model("logistic", &model, &coef, 0.35899461955007905, 1e-6);

    let mut acc = ClassificationAccumulator::default();
    let mut probs = Vec::new();
    for b in &bl {
        let p = model.predict_mean(b);
        acc.add(b.label.as_slice().unwrap(), p.as_slice().unwrap(), None);
        probs.extend(p.iter().copied());
        // predict() is the class.
        assert!(model
            .predict(b)
            .iter()
            .zip(p.iter())
            .all(|(c, p)| *c == f64::from(u8::from(*p > 0.5))));
    }
    let m = acc.finish();
    let auc = roc_auc(y.as_slice().unwrap(), &probs);
    assert_close(
        "logistic metrics",
        &[m.logloss, auc, m.accuracy, m.f1],
        &[
            0.059410685853724596,
            0.9971063897257016,
            0.9876977152899824,
            0.9902370990237099,
        ],
        1e-6,
    );

    // Elastic net (saga in sklearn, OWL-QN here).
    let coef = [
        -0.27642496677731426,
        -0.3647936870600185,
        -0.2271992978938514,
        -0.3092030504021183,
        0.0,
        0.0,
        -0.48090984070661746,
        -0.751344440368613,
        0.0,
        0.22650337418356384,
        -1.167795209396202,
        0.09470042095469486,
        -0.3984997242812366,
        -0.6862940521100918,
        -0.12230438002294698,
        0.5674847254979329,
        0.0,
        -0.0050914251902227856,
        0.15465719061165695,
        0.263214973107863,
        -1.0074259885213777,
        -1.0293537190826751,
        -0.7712454156231705,
        -0.8815708355243282,
        -0.6701760604219871,
        0.0,
        -0.6767377090819283,
        -0.9520498854709634,
        -0.6220540457320899,
        0.0,
    ];
    let params = LogisticRegression::params()
        .reg(reg)
        .elastic_net(0.5)
        .standardization(false)
        .tol(0.0)
        .max_iter(3000);
    let (model, _) = fit(params, &bl, &layout);
    check_model(
        "logistic elastic net",
        &model,
        &coef,
        0.30169862988768775,
        1e-6,
    );
}

/// Diabetes with a rank-deficient design: dense [bmi, bp, s5, bmi (duplicate)] plus one-hot
/// sex (both levels) and age bins (all four levels), with an intercept.
fn rank_deficient(parts: usize) -> (Vec<FeatureBlock>, FeatureLayout) {
    let (names, x, y) = load("diabetes.csv");
    let col = |n: &str| names.iter().position(|c| c == n).unwrap();
    let dense = ndarray::stack![
        Axis(1),
        x.column(col("bmi")),
        x.column(col("bp")),
        x.column(col("s5")),
        x.column(col("bmi"))
    ];
    let sex: Vec<u32> = x
        .column(col("sex"))
        .iter()
        .map(|&s| if s == 1.0 { 0 } else { 1 })
        .collect();
    let age: Vec<u32> = x
        .column(col("age"))
        .iter()
        .map(|&a| [38.0, 50.0, 59.0].iter().filter(|&&e| a >= e).count() as u32)
        .collect();
    let n = y.len();
    let blocks = (0..parts)
        .map(|k| {
            let (a, b) = (k * n / parts, (k + 1) * n / parts);
            FeatureBlock {
                dense: dense.slice(s![a..b, ..]).to_owned(),
                sparse: vec![
                    SparseColumn {
                        offset: 4,
                        width: 2,
                        indices: sex[a..b].to_vec(),
                        values: None,
                    },
                    SparseColumn {
                        offset: 6,
                        width: 4,
                        indices: age[a..b].to_vec(),
                        values: None,
                    },
                ],
                label: y.slice(s![a..b]).to_owned(),
                weight: None,
            }
        })
        .collect();
    let names = [
        "bmi", "bp", "s5", "bmi2", "sex=1", "sex=2", "age<38", "age<50", "age<59", "age>=59",
    ];
    (
        blocks,
        FeatureLayout {
            names: names.map(String::from).to_vec(),
            dense: 4,
            ..Default::default()
        },
    )
}

#[test]
fn rank_deficient_design_gives_sklearns_minimum_norm_solution() {
    let (bl, layout) = rank_deficient(3);
    let coef = [
        3.243784127676782,
        1.0082137304766468,
        50.88051287242424,
        3.2437841276768093,
        6.796794254813013,
        -6.796794254813012,
        6.755039310623951,
        -11.44703312826447,
        3.414540848571047,
        1.2774529690694805,
    ];
    let rows = [0, 1, 2, 100, 441];
    let preds = [
        200.83990706270117,
        70.22221410660086,
        172.87943210317894,
        186.5371606057305,
        95.10199505033177,
    ];
    let all =
        |m: &GlmModel| -> Vec<f64> { bl.iter().flat_map(|b| m.predict(b).to_vec()).collect() };

    let (model, _) = fit(
        LinearRegression::params().standardization(false),
        &bl,
        &layout,
    );
    check_model("rank deficient", &model, &coef, -350.9903958839542, 1e-6);
    let p = all(&model);
    assert_close(
        "rank deficient predictions",
        &rows.map(|i| p[i]),
        &preds,
        1e-9,
    );

    // L-BFGS finds another least-squares solution; its predictions are the same.
    let params = LinearRegression::params()
        .standardization(false)
        .solver(Solver::Lbfgs)
        .tol(0.0)
        .max_iter(1000);
    let (lbfgs, _) = fit(params, &bl, &layout);
    assert_close("rank deficient lbfgs predictions", &all(&lbfgs), &p, 1e-6);
}

#[test]
fn one_gram_serves_every_regularisation_value() {
    let (names, x, y) = load("diabetes.csv");
    let (bl, layout) = blocks(&names, &x, &y, 3);
    let gram: GramSummary = gram_of(&bl, 10).unwrap();
    let prepared = NormalEquations::new(gram);
    for (reg, en) in [(0.0, 0.0), (0.01, 0.0), (0.1, 0.5), (1.0, 1.0)] {
        let params = LinearRegression::params()
            .reg(reg)
            .elastic_net(en)
            .solver(Solver::Normal)
            .tol(1e-12)
            .max_iter(10_000)
            .check()
            .unwrap();
        // One prepared system solved for every penalty gives a fresh fit's very bits.
        let shared = prepared.solve(&params).unwrap();
        let (own, _) = fit(params.clone().into_params(), &bl, &layout);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(shared.coefficients.as_slice().unwrap()),
            bits(own.coefficients.as_slice().unwrap()),
            "reg {reg} en {en}"
        );
        assert_eq!(shared.intercept.to_bits(), own.intercept.to_bits());
    }
}

/// Full-batch Adam's objective history, replayed in NumPy by `tests/python/sgd_oracle.py`:
/// (epoch, objective).
const ADAM_HISTORY: [(usize, f64); 5] = [
    (0, 14537.240950226244),
    (1, 14410.598292706989),
    (10, 13676.082728059173),
    (100, 13017.69367641274),
    (300, 13009.908512109027),
];

#[test]
fn sgd_follows_full_batch_adam_exactly() {
    let (names, x, y) = load("diabetes.csv");
    // One block, one batch per epoch: SGD is full-batch Adam, whatever the shuffle.
    let (bl, layout) = blocks(&names, &standardise(&x), &y, 1);
    let params = LinearRegression::params()
        .fit_intercept(false)
        .solver(Solver::Sgd)
        .learning_rate(0.5)
        .batch_size(442)
        .max_iter(300)
        .tol(0.0);
    let (_, summary) = fit(params, &bl, &layout);
    assert_eq!(summary.solver, "sgd");
    assert_eq!(summary.loss_history.len(), 301);
    for (epoch, expected) in ADAM_HISTORY {
        let got = summary.loss_history[epoch];
        assert!(
            (got - expected).abs() <= 1e-9 * expected,
            "epoch {epoch}: {got} vs NumPy {expected}"
        );
    }
}

#[test]
fn linfa_fit_and_predict() {
    let (names, x, y) = load("diabetes.csv");
    let dataset = Dataset::new(x.clone(), y).with_feature_names(names);
    let model = LinearRegression::params()
        .standardization(false)
        .fit(&dataset)
        .unwrap();
    check_model("linfa ols", &model, &OLS, OLS_INTERCEPT, 1e-6);
    // linfa's Predict against X·w + b with scikit-learn's own coefficients.
    let predicted: Array1<f64> = Predict::predict(&model, &x);
    let sklearn: Vec<f64> = x
        .rows()
        .into_iter()
        .map(|r| r.iter().zip(OLS).map(|(a, w)| a * w).sum::<f64>() + OLS_INTERCEPT)
        .collect();
    assert_close(
        "linfa predict",
        predicted.as_slice().unwrap(),
        &sklearn,
        1e-6,
    );
    assert_eq!(predicted.len(), 442);
    assert_eq!(model.feature_names[2], "bmi");
    // Unchecked params go through check(): a bad value is a typed error, not a panic.
    let err = LinearRegression::params()
        .reg(-1.0)
        .fit(&dataset)
        .unwrap_err();
    assert!(
        matches!(&err, ModelError::InvalidParam { param, .. } if param.contains("regParam")),
        "{err}"
    );
}

#[test]
fn model_serde_round_trip_is_bit_identical() {
    let (bl, layout) = rank_deficient(2);
    let (model, _) = fit(LinearRegression::params().reg(0.01), &bl, &layout);
    let json = serde_json::to_string(&model).unwrap();
    let back: GlmModel = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model);
    for b in &bl {
        let (p, q) = (model.predict(b), back.predict(b));
        assert!(p
            .iter()
            .zip(q.iter())
            .all(|(a, b)| a.to_bits() == b.to_bits()));
    }
}

fn linear() -> Learner {
    Learner::new("linear".parse().unwrap())
}

#[test]
fn non_finite_input_is_a_user_error_naming_the_culprit() {
    let (mut bl, layout) = rank_deficient(3);
    bl[1].dense[[5, 2]] = f64::NAN;
    let err = fit_local(&linear(), &bl, &layout).unwrap_err();
    assert!(err.is_user_error());
    let text = err.to_string();
    assert!(
        text.contains("'s5'") && text.contains("row 5") && text.contains("block 1"),
        "{text}"
    );
    let (mut bl, layout) = rank_deficient(1);
    bl[0].label[7] = f64::INFINITY;
    let err = fit_local(&linear(), &bl, &layout).unwrap_err();
    assert!(matches!(err, ModelError::InvalidLabel { row: 7, .. }) && err.is_user_error());
}
