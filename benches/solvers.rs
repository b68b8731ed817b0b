//! Normal equations versus L-BFGS on a taxi-shaped block set: 1M rows in 8 blocks, one dense
//! feature (trip distance) and two 265-zone one-hot columns (531 features).
//! Also the Gram statistics alone (one block after another on one thread) and one ridge solve
//! from them.
//! `cargo bench --bench solvers`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use distml::feature::{FeatureBlock, FeatureLayout, SparseColumn};
use distml::model::glm::{LinearRegression, NormalEquations};
use distml::model::{evaluate, Learner};
use distml::train::{fit_local, gram_of};
use ndarray::{Array1, Array2};

/// The allocator of the `distml` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ROWS: usize = 1_000_000;
const BLOCKS: usize = 8;
const ZONES: usize = 265;

fn taxi_blocks() -> (Vec<FeatureBlock>, FeatureLayout) {
    let mut state = 42u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let zone_effect: Vec<f64> = (0..ZONES).map(|z| (z as f64 * 0.37).sin() * 3.0).collect();
    let per = ROWS / BLOCKS;
    let blocks = (0..BLOCKS)
        .map(|_| {
            let mut dist = Array2::zeros((per, 1));
            let (mut pu, mut du) = (Vec::with_capacity(per), Vec::with_capacity(per));
            let mut label = Array1::zeros(per);
            for i in 0..per {
                let d = -3.0 * (1.0 - next()).ln();
                let (a, b) = (
                    (next() * ZONES as f64) as u32,
                    (next() * ZONES as f64) as u32,
                );
                dist[[i, 0]] = d;
                pu.push(a);
                du.push(b);
                label[i] = 4.0 + 3.2 * d + zone_effect[a as usize] - zone_effect[b as usize]
                    + 6.0 * (next() - 0.5);
            }
            FeatureBlock {
                dense: dist,
                sparse: vec![
                    SparseColumn {
                        offset: 1,
                        width: ZONES,
                        indices: pu,
                        values: None,
                    },
                    SparseColumn {
                        offset: 1 + ZONES,
                        width: ZONES,
                        indices: du,
                        values: None,
                    },
                ],
                label,
                weight: None,
            }
        })
        .collect();
    let mut names = vec!["trip_distance".to_string()];
    names.extend((0..ZONES).map(|z| format!("PU={z}")));
    names.extend((0..ZONES).map(|z| format!("DO={z}")));
    (
        blocks,
        FeatureLayout {
            names,
            dense: 1,
            ..Default::default()
        },
    )
}

fn solvers(c: &mut Criterion) {
    let (blocks, layout) = taxi_blocks();
    let mut group = c.benchmark_group("taxi_1m_531_features");
    group.sample_size(10);
    let linear = "linear".parse().unwrap();
    for solver in ["normal", "lbfgs"] {
        let learner = Learner::with_settings(linear, [("solver", solver)]).unwrap();
        group.bench_function(solver, |b| {
            b.iter(|| black_box(fit_local(&learner, &blocks, &layout).unwrap()))
        });
    }
    // The statistics the normal solver and every tuning fold start from (per block, merged
    // in the fixed tree the shards use).
    group.bench_function("gram", |b| {
        b.iter(|| black_box(gram_of(&blocks, layout.width())))
    });
    // One ridge solve from those statistics: standardise, factor 531 × 531, solve.
    let gram = gram_of(&blocks, layout.width()).unwrap();
    let ridge = LinearRegression::params().reg(0.01).check().unwrap();
    group.bench_function("ridge_from_gram", |b| {
        b.iter(|| black_box(NormalEquations::new(gram.clone()).solve(&ridge).unwrap()))
    });
    // Scoring a fitted model: predictions and every regression metric.
    let learner = Learner::with_settings("ridge".parse().unwrap(), [("reg", "0.01")]).unwrap();
    let (model, _) = fit_local(&learner, &blocks, &layout).unwrap();
    group.bench_function("evaluate", |b| {
        b.iter(|| black_box(evaluate(&model, &blocks)))
    });
    group.finish();
}

criterion_group!(benches, solvers);
criterion_main!(benches);
