//! The tree learners' hot paths on a taxi-shaped table (1M rows: trip distance and two
//! 265-zone categorical features): a histogram of all rows and of a quarter of them, the split
//! search over a merged histogram, and batch scoring with 100 trees of 63 leaves.
//! `cargo bench --bench trees`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use distml::feature::{FeatureBlock, FeatureLayout};
use distml::model::trees::{
    best_split, sources, Binning, DataSketch, Ensemble, Loss, RowSample, SplitSearch, Target,
    TreeParams, TreePartition, TreeStart,
};
use distml::model::{Learner, Predictor};
use distml::train::fit_local;
use ndarray::{Array1, Array2};

/// The allocator of the `distml` binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ZONES: usize = 265;

/// `rows` taxi-like rows: distance, pickup and dropoff zone indices, duration.
fn taxi(rows: usize, seed: u64) -> (FeatureBlock, FeatureLayout) {
    let mut state = seed;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let zone_effect: Vec<f64> = (0..ZONES).map(|z| (z as f64 * 0.37).sin() * 3.0).collect();
    let mut x = Array2::zeros((rows, 3));
    let mut y = Array1::zeros(rows);
    for i in 0..rows {
        let d = -3.0 * (1.0 - next()).ln();
        let (pu, du) = (
            (next() * ZONES as f64) as usize,
            (next() * ZONES as f64) as usize,
        );
        x[[i, 0]] = (d * 100.0).round() / 100.0;
        x[[i, 1]] = pu as f64;
        x[[i, 2]] = du as f64;
        y[i] = 4.0 + 3.2 * d + zone_effect[pu] - zone_effect[du] + 3.0 * (next() - 0.5);
    }
    let layout = FeatureLayout {
        names: vec!["trip_distance".into(), "pu".into(), "do".into()],
        dense: 3,
        categories: vec![(1, ZONES), (2, ZONES)],
        ..Default::default()
    };
    let block = FeatureBlock {
        dense: x,
        sparse: Vec::new(),
        label: y,
        weight: None,
    };
    (block, layout)
}

fn start() -> TreeStart {
    TreeStart {
        tree: 0,
        target: Target::Gradient {
            loss: Loss::Squared,
            alpha: 0.9,
        },
        sample: RowSample {
            fraction: 1.0,
            round: 0,
            with_replacement: false,
            seed: 1,
        },
        ensemble: Ensemble::Boosting,
        loss: Loss::Squared,
        alpha: 0.9,
    }
}

fn histograms(c: &mut Criterion) {
    let (block, layout) = taxi(1_000_000, 7);
    let sources = sources(&layout, &[]);
    let binning = Binning::new(&sources, &DataSketch::of(&block, &sources).features, 255);
    let (offsets, bins) = binning.offsets();
    let mut part = TreePartition::new(0, &block, &sources, &binning, 20.0);
    let root = part.start_tree(&start());
    let mut group = c.benchmark_group("trees");
    group.sample_size(10);
    group.bench_function("histogram of 1M rows, 3 features", |b| {
        b.iter(|| black_box(part.histogram(0, &offsets, bins)))
    });
    let hist = part.histogram(0, &offsets, bins);
    let params = TreeParams::new(Ensemble::Boosting).check().unwrap();
    let search = SplitSearch::of(&params);
    group.bench_function("split search, 3 features (255 + 2 x 266 bins)", |b| {
        b.iter(|| {
            black_box(best_split(
                &hist,
                root,
                &binning.features,
                &offsets,
                &[0, 1, 2],
                &search,
            ))
        })
    });
    let split = best_split(
        &hist,
        root,
        &binning.features,
        &offsets,
        &[0, 1, 2],
        &search,
    )
    .unwrap();
    let smaller = if split.left.c <= split.right.c { 0 } else { 1 };
    part.split(0, &split, 1, &binning);
    group.bench_function("histogram of the smaller child", |b| {
        b.iter(|| black_box(part.histogram(smaller, &offsets, bins)))
    });
    group.finish();
}

fn scoring(c: &mut Criterion) {
    let (train, layout) = taxi(200_000, 11);
    let learner = Learner::with_settings(
        "gbt".parse().unwrap(),
        [("max-iter", "100"), ("num-leaves", "63")],
    )
    .unwrap();
    let (model, _) = fit_local(&learner, std::slice::from_ref(&train), &layout).unwrap();
    let (rows, _) = taxi(1_000_000, 13);
    let mut group = c.benchmark_group("trees");
    group.sample_size(10);
    group.bench_function("score 1M rows, 100 trees x 63 leaves", |b| {
        b.iter(|| black_box(model.predict(&rows)))
    });
    group.finish();
}

criterion_group!(benches, histograms, scoring);
criterion_main!(benches);
