//! BSP with 4 workers and 2 shards equals the local trainer.

mod cluster_support;

use cluster_support::*;
use distml::cluster::fit_distributed;
use distml::model::Solver;

#[test]
fn normal_equations_match_the_local_trainer() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let config = config(&data, Solver::Normal);
    let (local, _) = local_fit(&config);
    let fit = fit_distributed(&config, &options(4, 2), &|_| {}).unwrap();
    assert_eq!(fit.workers, 4);
    assert_eq!(fit.summary.rows, 20_000);
    assert_eq!(fit.rows_read, 20_000);
    assert_eq!(fit.model.feature_names, local.feature_names);
    let diff = max_diff(&fit.model, &local);
    assert!(diff < 1e-9, "normal equations differ by {diff}");
}

#[test]
fn lbfgs_matches_the_local_trainer() {
    let dir = tempfile::tempdir().unwrap();
    let data = write_table(dir.path(), 20_000);
    let config = config(&data, Solver::Lbfgs);
    let (local, local_summary) = local_fit(&config);
    let fit = fit_distributed(&config, &options(4, 2), &|_| {}).unwrap();
    let diff = max_diff(&fit.model, &local);
    assert!(diff < 1e-6, "L-BFGS differs by {diff}");
    assert_eq!(fit.summary.iterations, local_summary.iterations);
}
