//! A BSP fit across worker processes equals the in-process trainer bit for bit — coefficients,
//! intercept and predictions — on data whose float sums depend on their order, with the
//! workers' pushes made to arrive in different orders.

mod cluster_support;

use cluster_support::*;
use distml::cluster::{fit_distributed, ClusterJob};
use distml::model::glm::{GlmModel, GramSummary};
use distml::model::{Predictor, TrainSummary};

/// Push delays (ms) per worker rank: each setting makes a different worker's pushes late.
const DELAYS: [&str; 3] = ["", "0,40,0,0,0,80", "60,0,30,0,0,0"];

/// Fits `job` on 4 workers and 2 shards with each push-delay setting; checks each model and
/// its predictions against the local fit, bit for bit.
fn fits_equal_the_local_one(job: &ClusterJob) -> Vec<TrainSummary> {
    let _cores = exclusive();
    let (local, _) = local_fit(job);
    let (_, blocks) = local_blocks(job);
    let mut summaries = Vec::new();
    for delays in DELAYS {
        let mut options = options(4, 2);
        options.member_env = vec![("DISTML_PUSH_DELAY_MS".into(), delays.into())];
        let fit = fit_distributed(job, &options, &|_| {}).unwrap();
        assert_eq!(fit.workers, 4);
        assert_eq!(fit.summary.rows, 20_000);
        assert_eq!(fit.rows_read, 20_000);
        let model = glm(&fit.model);
        assert_eq!(model.feature_names, local.feature_names);
        assert_same_bits(model, &local, &format!("delays [{delays}]"));
        for block in &blocks {
            let (a, b) = (
                Predictor::predict(model, block),
                Predictor::predict(&local, block),
            );
            assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
        }
        summaries.push(fit.summary);
    }
    summaries
}

/// The data's sums depend on their order: summing the blocks' Gram statistics in reverse
/// gives other bits, so equal bits above are not an accident of exact arithmetic.
fn assert_order_matters(job: &ClusterJob, model: &GlmModel) {
    let (fitted, blocks) = local_blocks(job);
    let p = fitted.layout().width();
    let sum = |order: &mut dyn Iterator<Item = &distml::feature::FeatureBlock>| {
        order.fold(GramSummary::zeros(p), |g, b| {
            g.merge(&GramSummary::from_block(b, p))
        })
    };
    let forward = sum(&mut blocks.iter());
    let backward = sum(&mut blocks.iter().rev());
    let differs = forward
        .xtx
        .iter()
        .zip(backward.xtx.iter())
        .any(|(a, b)| a.to_bits() != b.to_bits());
    assert!(
        differs,
        "the test data must make float sums order-dependent"
    );
    assert!(model.coefficients.iter().all(|c| c.is_finite()));
}

#[test]
fn normal_equations_equal_the_local_trainer_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "normal")]);
    fits_equal_the_local_one(&job);
    assert_order_matters(&job, &local_fit(&job).0);
}

#[test]
fn lbfgs_equals_the_local_trainer_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "lbfgs")]);
    let (_, local) = local_fit(&job);
    for summary in fits_equal_the_local_one(&job) {
        assert_eq!(summary.iterations, local.iterations);
        let bits = |h: &[f64]| h.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&summary.loss_history), bits(&local.loss_history));
    }
}

/// Workers with no memory for blocks (`worker_memory: 0`) make each partition's block again
/// from the file on every pass of L-BFGS: the same model, bit for bit.
#[test]
fn workers_without_memory_for_blocks_remake_them_and_fit_the_same_model() {
    let _cores = exclusive();
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let job = job(&data, &[("solver", "lbfgs")]);
    let (local, summary) = local_fit(&job);
    let mut options = options(2, 1);
    options.worker_memory = Some(0);
    let fit = fit_distributed(&job, &options, &|_| {}).unwrap();
    assert_same_bits(glm(&fit.model), &local, "workers remaking their blocks");
    assert_eq!(fit.summary.iterations, summary.iterations);
}
