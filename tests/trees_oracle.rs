//! The tree learners against independent oracles: scikit-learn's `DecisionTreeRegressor` and
//! LightGBM on the same table (`tests/python/tree_oracle.py` computed the figures), a brute
//! force search for the best stump, closed forms (one-leaf boosting predicts the mean), and
//! properties: seeds reproduce, partitions never change the model.

use distml::feature::{FeatureBlock, FeatureLayout};
use distml::model::trees::TreeModel;
use distml::model::{Learner, Model, ModelKind, Predictor};
use distml::train::fit_local;
use ndarray::{Array1, Array2};
use proptest::prelude::*;

/// The oracle table of `tree_oracle.py`: rows `range` of a = 7i mod 13, b = 5i mod 9,
/// c = i² mod 11, y = 3a + (b − 4)² − 2c[a > 6] + sin(i).
fn table(range: std::ops::Range<usize>) -> FeatureBlock {
    let n = range.len();
    let mut x = Array2::zeros((n, 3));
    let mut y = Array1::zeros(n);
    for (k, i) in range.enumerate() {
        let (a, b, c) = ((7 * i) % 13, (5 * i) % 9, (i * i) % 11);
        x[[k, 0]] = a as f64;
        x[[k, 1]] = b as f64;
        x[[k, 2]] = c as f64;
        let step = if a > 6 { 2.0 * c as f64 } else { 0.0 };
        y[k] = 3.0 * a as f64 + (b as f64 - 4.0).powi(2) - step + (i as f64).sin();
    }
    FeatureBlock {
        dense: x,
        sparse: Vec::new(),
        label: y,
        weight: None,
    }
}

fn layout() -> FeatureLayout {
    FeatureLayout {
        names: vec!["a".into(), "b".into(), "c".into()],
        dense: 3,
        ..Default::default()
    }
}

/// The layout with `a` as a categorical feature of 13 categories.
fn categorical_layout() -> FeatureLayout {
    FeatureLayout {
        categories: vec![(0, 13)],
        ..layout()
    }
}

/// The table with label y > 20 (0 or 1).
fn binary_table(range: std::ops::Range<usize>) -> FeatureBlock {
    let mut block = table(range);
    block.label.mapv_inplace(|y| f64::from(y > 20.0));
    block
}

/// The probe rows: (a, b, c) for a in {0, 3, 7, 12}, b in {0, 4, 8}, c in {0, 5, 10}.
fn probe() -> FeatureBlock {
    let mut rows = Vec::new();
    for a in [0.0, 3.0, 7.0, 12.0] {
        for b in [0.0, 4.0, 8.0] {
            for c in [0.0, 5.0, 10.0] {
                rows.extend([a, b, c]);
            }
        }
    }
    FeatureBlock {
        dense: Array2::from_shape_vec((36, 3), rows).unwrap(),
        sparse: Vec::new(),
        label: Array1::zeros(36),
        weight: None,
    }
}

fn fit(kind: &str, settings: &[(&str, &str)], blocks: &[FeatureBlock]) -> Model {
    fit_on(kind, settings, blocks, &layout())
}

fn fit_on(
    kind: &str,
    settings: &[(&str, &str)],
    blocks: &[FeatureBlock],
    layout: &FeatureLayout,
) -> Model {
    let kind: ModelKind = kind.parse().unwrap();
    let learner = Learner::with_settings(kind, settings.iter().copied()).unwrap();
    fit_local(&learner, blocks, layout).unwrap().0
}

fn trees(model: &Model) -> &TreeModel {
    match model {
        Model::Trees(m) => m,
        other => panic!("not a tree model: {}", other.kind()),
    }
}

/// The oracle runs' settings: 10 rounds of 7 leaves, rate 0.1, 5 rows per leaf.
const ROUNDS: [(&str, &str); 4] = [
    ("max-iter", "10"),
    ("num-leaves", "7"),
    ("learning-rate", "0.1"),
    ("min-data-in-leaf", "5"),
];

fn assert_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * w.abs().max(1.0),
            "{what}: probe {i}: {g} vs {w}"
        );
    }
}

/// scikit-learn 1.7.2 `DecisionTreeRegressor(max_depth=4, random_state=0)`.
const SKLEARN_TREE: [f64; 36] = [
    16.044262635250963,
    16.044262635250963,
    16.044262635250963,
    6.25500889915903,
    6.25500889915903,
    6.25500889915903,
    15.501675506093342,
    15.501675506093342,
    15.501675506093342,
    23.025054112953917,
    23.025054112953917,
    23.025054112953917,
    13.599414218318602,
    13.599414218318602,
    13.599414218318602,
    25.06355934802952,
    25.06355934802952,
    25.06355934802952,
    28.81103503858873,
    28.81103503858873,
    28.81103503858873,
    19.282254260379947,
    19.282254260379947,
    19.282254260379947,
    33.772618625818865,
    33.772618625818865,
    26.255716063421325,
    32.78884261811741,
    32.78884261811741,
    33.35182970628657,
    32.78884261811741,
    32.78884261811741,
    20.13863409546486,
    43.084760818694896,
    43.084760818694896,
    20.13863409546486,
];

/// LightGBM 4.6.0: 10 rounds, num_leaves 7, learning_rate 0.1, min_data_in_leaf 5.
const LIGHTGBM: [f64; 36] = [
    16.319081050322307,
    16.319081050322307,
    16.319081050322307,
    12.534188820150144,
    12.534188820150144,
    12.534188820150144,
    16.41420467146112,
    16.41420467146112,
    16.41420467146112,
    20.94447996553196,
    20.94447996553196,
    20.94447996553196,
    14.979120103449262,
    14.979120103449262,
    14.979120103449262,
    20.58603774436493,
    20.58603774436493,
    20.58603774436493,
    27.345435842679308,
    26.397402071508896,
    24.81815476896735,
    19.662598015346358,
    19.47790413767612,
    18.80375966540394,
    27.04495629468082,
    26.041550378243482,
    25.367405905971303,
    31.682304437517875,
    29.13363156742137,
    25.46413117497289,
    29.002464498982803,
    25.64879959708119,
    22.7837234286213,
    32.54984563537488,
    29.113074941627147,
    25.053893981268978,
];

#[test]
fn a_single_tree_equals_scikit_learns() {
    let settings = [
        ("max-depth", "4"),
        ("min-data-in-leaf", "1"),
        ("min-sum-hessian", "0"),
    ];
    let model = fit("decision-tree", &settings, &[table(0..600)]);
    let got = model.predict(&probe());
    assert_close(
        got.as_slice().unwrap(),
        &SKLEARN_TREE,
        1e-9,
        "decision tree",
    );
}

#[test]
fn boosting_equals_lightgbm() {
    let model = fit("gbt", &ROUNDS, &[table(0..600)]);
    let got = model.predict(&probe());
    // The same trees, thresholds and leaf values; LightGBM keeps gradients in f32, so its
    // leaf values agree to about 1e-8 relative, not to the last bit.
    assert_close(got.as_slice().unwrap(), &LIGHTGBM, 1e-7, "gbt");
    let worst = got
        .iter()
        .zip(&LIGHTGBM)
        .map(|(g, w)| ((g - w) / w).abs())
        .fold(0.0, f64::max);
    eprintln!("largest relative difference from LightGBM: {worst:.1e}");
}

/// LightGBM 4.6.0 binary (label y > 20), the same rounds: probability of class 1.
const LIGHTGBM_BINARY: [f64; 36] = [
    0.23194354028933836,
    0.23194354028933836,
    0.23194354028933836,
    0.21365371749779358,
    0.21365371749779358,
    0.21365371749779358,
    0.2822486736503779,
    0.2822486736503779,
    0.2822486736503779,
    0.5082880168559027,
    0.5082880168559027,
    0.5082880168559027,
    0.22227189098567057,
    0.22227189098567057,
    0.22227189098567057,
    0.491867473880325,
    0.491867473880325,
    0.491867473880325,
    0.7766725427227271,
    0.7766725427227271,
    0.7312378388051926,
    0.4998413687408072,
    0.40248153546585635,
    0.34511007641179114,
    0.7853823026330082,
    0.7853823026330082,
    0.7411289446911365,
    0.7970585690632582,
    0.7970585690632582,
    0.6459245077822722,
    0.7991114647394473,
    0.7729002808766563,
    0.4186466614714321,
    0.7984019887735052,
    0.7984019887735052,
    0.45592575620992337,
];

/// LightGBM 4.6.0 with `a` categorical (max_cat_to_onehot 4, cat_smooth 10, cat_l2 10,
/// min_data_per_group 100, max_cat_threshold 32), the same rounds.
const LIGHTGBM_CATEGORICAL: [f64; 36] = [
    18.282829489433926,
    18.282829489433926,
    18.282829489433926,
    13.114463911572251,
    13.114463911572251,
    13.114463911572251,
    17.814483104047685,
    17.814483104047685,
    17.814483104047685,
    22.744034697783913,
    22.744034697783913,
    22.744034697783913,
    15.621376739377498,
    15.621376739377498,
    15.621376739377498,
    22.720114265960454,
    22.720114265960454,
    22.720114265960454,
    24.53051732442611,
    23.24649246942336,
    23.24649246942336,
    18.859055021279392,
    17.578846082208223,
    17.578846082208223,
    23.904210090455482,
    22.385214689339044,
    22.385214689339044,
    31.612276857955404,
    28.696791833365694,
    25.31612032481871,
    28.298147133690996,
    24.701969554647924,
    21.374204148691486,
    31.86126517318311,
    28.02630113209477,
    24.301600468064173,
];

/// LightGBM 4.6.0 with c missing in rows i mod 7 == 0 (and in every other probe row).
const LIGHTGBM_MISSING: [f64; 36] = [
    17.040597995975155,
    17.040597995975155,
    17.040597995975155,
    12.29581897555978,
    12.29581897555978,
    12.29581897555978,
    16.794114060006343,
    16.794114060006343,
    16.794114060006343,
    21.572357646244107,
    21.572357646244107,
    21.572357646244107,
    15.173978298547803,
    15.173978298547803,
    15.173978298547803,
    20.271582329187606,
    20.271582329187606,
    20.271582329187606,
    27.625200221401467,
    27.625200221401467,
    27.625200221401467,
    19.590266328733403,
    19.590266328733403,
    18.378933959490734,
    27.43448913771631,
    27.43448913771631,
    27.43448913771631,
    31.19259615434697,
    28.852569198744632,
    24.731541553537394,
    27.153871509961167,
    27.153871509961167,
    27.153871509961167,
    31.61129742693202,
    29.92734045523686,
    25.38761153744457,
];

#[test]
fn missing_values_learn_their_side_as_in_lightgbm() {
    let mut block = table(0..600);
    for i in (0..600).step_by(7) {
        block.dense[[i, 2]] = f64::NAN;
    }
    let model = fit("gbt", &ROUNDS, &[block]);
    let nan_left = trees(&model)
        .trees
        .iter()
        .flat_map(|t| &t.flags)
        .any(|f| f & 2 == 2);
    assert!(nan_left, "some split sends NaN left");
    let mut probes = probe();
    for r in (0..36).step_by(2) {
        probes.dense[[r, 2]] = f64::NAN;
    }
    let got = model.predict(&probes);
    assert_close(
        got.as_slice().unwrap(),
        &LIGHTGBM_MISSING,
        1e-7,
        "missing c",
    );
}

#[test]
fn logistic_boosting_equals_lightgbm_binary() {
    let mut settings = ROUNDS.to_vec();
    settings.push(("loss", "logistic"));
    let model = fit("gbt", &settings, &[binary_table(0..600)]);
    let got = model
        .probability(&probe())
        .expect("a classifier has probabilities");
    assert_close(
        got.as_slice().unwrap(),
        &LIGHTGBM_BINARY,
        1e-7,
        "binary gbt",
    );
    let classes = model.predict(&probe());
    for (class, p) in classes.iter().zip(&got) {
        assert_eq!(*class, f64::from(*p > 0.5));
    }
}

#[test]
fn categorical_splits_equal_lightgbms() {
    let model = fit_on("gbt", &ROUNDS, &[table(0..600)], &categorical_layout());
    let nodes = &trees(&model).trees[0];
    assert!(
        nodes.flags.iter().any(|f| f & 1 == 1),
        "the first tree splits a by category"
    );
    let got = model.predict(&probe());
    assert_close(
        got.as_slice().unwrap(),
        &LIGHTGBM_CATEGORICAL,
        1e-7,
        "categorical gbt",
    );
}

/// The best stump by brute force: every feature, every cut between distinct values, the
/// smallest sum of squared errors; returns the two sides' means and the feature and cut.
fn brute_force_stump(block: &FeatureBlock) -> (usize, f64, f64, f64) {
    let y = &block.label;
    let sse = |rows: &[usize]| {
        let mean = rows.iter().map(|&i| y[i]).sum::<f64>() / rows.len() as f64;
        (
            rows.iter().map(|&i| (y[i] - mean).powi(2)).sum::<f64>(),
            mean,
        )
    };
    let mut best = (f64::INFINITY, 0, 0.0, 0.0, 0.0);
    for f in 0..block.dense.ncols() {
        let column = block.dense.column(f);
        let mut values: Vec<f64> = column.to_vec();
        values.sort_by(f64::total_cmp);
        values.dedup();
        for pair in values.windows(2) {
            let cut = 0.5 * (pair[0] + pair[1]);
            let (left, right): (Vec<usize>, Vec<usize>) =
                (0..y.len()).partition(|&i| column[i] <= cut);
            let ((l, lm), (r, rm)) = (sse(&left), sse(&right));
            if l + r < best.0 {
                best = (l + r, f, cut, lm, rm);
            }
        }
    }
    (best.1, best.2, best.3, best.4)
}

#[test]
fn a_depth_one_tree_is_the_brute_force_stump() {
    let block = table(0..600);
    let (feature, cut, left, right) = brute_force_stump(&block);
    let settings = [
        ("max-depth", "1"),
        ("min-data-in-leaf", "1"),
        ("min-sum-hessian", "0"),
    ];
    let model = fit("decision-tree", &settings, std::slice::from_ref(&block));
    let tree = &trees(&model).trees[0];
    assert_eq!(tree.feature, vec![feature as u32]);
    assert!(
        (tree.threshold[0] - cut).abs() < 1e-9,
        "{} vs {cut}",
        tree.threshold[0]
    );
    assert_close(&tree.values, &[left, right], 1e-12, "stump leaves");
}

#[test]
fn boosting_one_leaf_trees_predicts_the_mean() {
    let block = table(0..600);
    let mean = block.label.sum() / 600.0;
    let model = fit(
        "gbt",
        &[("max-depth", "0"), ("max-iter", "20")],
        std::slice::from_ref(&block),
    );
    for p in model.predict(&probe()) {
        assert!((p - mean).abs() < 1e-12, "{p} vs {mean}");
    }
    let binary = binary_table(0..600);
    let share = binary.label.sum() / 600.0;
    let settings = [("max-depth", "0"), ("max-iter", "20"), ("loss", "logistic")];
    let model = fit("gbt", &settings, std::slice::from_ref(&binary));
    for p in model.probability(&probe()).unwrap() {
        assert!((p - share).abs() < 1e-12, "{p} vs {share}");
    }
}

#[test]
fn a_forest_of_unsampled_trees_is_one_tree() {
    let block = table(0..600);
    let depth = [("max-depth", "5"), ("min-data-in-leaf", "3")];
    let tree = fit("decision-tree", &depth, std::slice::from_ref(&block));
    let mut settings = depth.to_vec();
    settings.extend([
        ("num-trees", "3"),
        ("bootstrap", "false"),
        ("feature-subset-strategy", "all"),
    ]);
    let forest = fit("random-forest", &settings, std::slice::from_ref(&block));
    let (t, f) = (tree.predict(&probe()), forest.predict(&probe()));
    assert_close(
        f.as_slice().unwrap(),
        t.as_slice().unwrap(),
        1e-12,
        "forest of one tree",
    );
}

#[test]
fn a_forest_classifies_by_its_mean_vote() {
    let settings = [
        ("num-trees", "10"),
        ("max-depth", "6"),
        ("loss", "logistic"),
    ];
    let forest = fit("random-forest", &settings, &[binary_table(0..600)]);
    let p = forest.probability(&table(0..600)).unwrap();
    let labels = binary_table(0..600).label;
    let right = p
        .iter()
        .zip(&labels)
        .filter(|(p, y)| f64::from(**p > 0.5) == **y)
        .count();
    assert!(right >= 540, "training accuracy {right}/600");
    assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
}

#[test]
fn seeds_reproduce_forests_and_bags() {
    let blocks = [table(0..300), table(300..600)];
    for (kind, settings) in [
        (
            "random-forest",
            vec![("num-trees", "5"), ("max-depth", "4")],
        ),
        (
            "gbt",
            vec![
                ("max-iter", "5"),
                ("bagging-fraction", "0.5"),
                ("bagging-freq", "1"),
                ("feature-fraction", "0.7"),
            ],
        ),
    ] {
        let with_seed = |seed: &'static str| {
            let mut s = settings.clone();
            s.push(("seed", seed));
            fit(kind, &s, &blocks)
        };
        let (a, b, c) = (with_seed("7"), with_seed("7"), with_seed("8"));
        assert_eq!(a, b, "{kind}: the same seed grows the same model");
        assert_ne!(a, c, "{kind}: another seed samples other rows");
    }
}

#[test]
fn a_model_survives_json_bit_for_bit() {
    let model = fit_on("gbt", &ROUNDS, &[table(0..600)], &categorical_layout());
    let json = serde_json::to_string(&model).unwrap();
    let back: Model = serde_json::from_str(&json).unwrap();
    assert_eq!(back, model);
    let (p, q) = (model.predict(&probe()), back.predict(&probe()));
    assert!(p.iter().zip(&q).all(|(a, b)| a.to_bits() == b.to_bits()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// However the rows are partitioned, the merged sketches give the same bins and the merged
    /// histograms the same splits; only the last bits of sums may differ.
    #[test]
    fn partitions_never_change_the_trees(cuts in prop::collection::btree_set(1usize..600, 0..5)) {
        let whole = fit("gbt", &ROUNDS, &[table(0..600)]);
        let mut bounds: Vec<usize> = std::iter::once(0).chain(cuts).chain(std::iter::once(600)).collect();
        bounds.dedup();
        let blocks: Vec<FeatureBlock> = bounds.windows(2).map(|w| table(w[0]..w[1])).collect();
        let parted = fit("gbt", &ROUNDS, &blocks);
        for (t, u) in trees(&whole).trees.iter().zip(&trees(&parted).trees) {
            prop_assert_eq!(&t.feature, &u.feature);
            prop_assert_eq!(&t.threshold, &u.threshold);
            prop_assert_eq!(&t.left, &u.left);
        }
        let (p, q) = (whole.predict(&probe()), parted.predict(&probe()));
        for (a, b) in p.iter().zip(&q) {
            prop_assert!((a - b).abs() <= 1e-9 * a.abs(), "{} vs {}", a, b);
        }
    }
}
