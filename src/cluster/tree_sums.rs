//! TEMPORARY: distributed tree sums (being written).

use crate::feature::FeatureLayout;
use crate::model::trees::{
    BinTree, Binning, Losses, NodeSums, Split, SplitRequest, SplitSearch, TreeStart, ValueSketch,
};
use crate::model::{TreeSketches, TreeSums};

use super::glm_sums::ClusterSums;
use super::replay::Replay;
use super::ClusterError;

fn todo_err<T>() -> Result<T, ClusterError> {
    Err(ClusterError::Protocol(
        "distributed trees are not built yet".into(),
    ))
}

impl TreeSums for ClusterSums<'_, '_> {
    fn sketches(&mut self, _layout: &FeatureLayout) -> Result<TreeSketches, ClusterError> {
        todo_err()
    }
    fn bin(&mut self, _b: &Binning, _i: f64, _s: &SplitSearch) -> Result<(), ClusterError> {
        todo_err()
    }
    fn start_tree(&mut self, _s: &TreeStart) -> Result<NodeSums, ClusterError> {
        todo_err()
    }
    fn best_splits(&mut self, _r: &[SplitRequest]) -> Result<Vec<Option<Split>>, ClusterError> {
        todo_err()
    }
    fn split(&mut self, _l: usize, _s: &Split, _r: usize) -> Result<(), ClusterError> {
        todo_err()
    }
    fn leaf_residuals(&mut self, _l: usize) -> Result<Vec<ValueSketch>, ClusterError> {
        todo_err()
    }
    fn finish_tree(&mut self, _t: &BinTree, _s: &TreeStart) -> Result<Losses, ClusterError> {
        todo_err()
    }
}

impl TreeSums for Replay<'_, '_, '_> {
    fn sketches(&mut self, _layout: &FeatureLayout) -> Result<TreeSketches, ClusterError> {
        todo_err()
    }
    fn bin(&mut self, _b: &Binning, _i: f64, _s: &SplitSearch) -> Result<(), ClusterError> {
        todo_err()
    }
    fn start_tree(&mut self, _s: &TreeStart) -> Result<NodeSums, ClusterError> {
        todo_err()
    }
    fn best_splits(&mut self, _r: &[SplitRequest]) -> Result<Vec<Option<Split>>, ClusterError> {
        todo_err()
    }
    fn split(&mut self, _l: usize, _s: &Split, _r: usize) -> Result<(), ClusterError> {
        todo_err()
    }
    fn leaf_residuals(&mut self, _l: usize) -> Result<Vec<ValueSketch>, ClusterError> {
        todo_err()
    }
    fn finish_tree(&mut self, _t: &BinTree, _s: &TreeStart) -> Result<Losses, ClusterError> {
        todo_err()
    }
}
