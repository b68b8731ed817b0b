//! Whether a pipeline fitted on part of the rows (a cross-validation fold) computes the same
//! features as the pipeline fitted on all of them, up to column order. It does when the two
//! differ only in their categories' labels: an indexer fitted on a fold orders its labels by
//! the fold's counts and lacks the categories the fold never saw, which its one-hot encoder
//! turns into all-zero rows. A least-squares model fitted on the whole pipeline's features of
//! the fold's rows is then the fold's own model with its columns reordered: the columns of the
//! categories the fold lacks are zero on every one of its rows, so their coefficients are zero
//! and they change no prediction. A sweep then needs one transform, not one per fold.

use super::stage::FittedStage;
use super::{FittedPipeline, PipelineSpec};

impl PipelineSpec {
    /// Whether `part` (this spec fitted on a subset of the rows `whole` was fitted on) computes
    /// `whole`'s features up to column order, less one-hot columns of categories it never saw.
    pub fn relabels(&self, whole: &FittedPipeline, part: &FittedPipeline) -> bool {
        let comparable = whole.input_schema == part.input_schema
            && whole.assembler == part.assembler
            && whole.stages.len() == self.stages.len()
            && part.stages.len() == self.stages.len();
        if !comparable {
            return false;
        }
        // Index columns whose labels differ, and the one-hot columns encoding them.
        let mut relabeled: Vec<String> = Vec::new();
        let mut reencoded: Vec<String> = Vec::new();
        for ((stage, w), p) in self.stages.iter().zip(&whole.stages).zip(&part.stages) {
            let inputs = stage.inputs();
            let reads = |set: &[String]| inputs.iter().any(|c| set.contains(c));
            let (reads_relabeled, reads_reencoded) = (reads(&relabeled), reads(&reencoded));
            match (w, p) {
                _ if reads_reencoded => return false,
                (FittedStage::OneHotEncoderModel(a), FittedStage::OneHotEncoderModel(b)) => {
                    if !a.relabels(b, &relabeled) {
                        return false;
                    }
                    if reads_relabeled {
                        reencoded.extend(stage.outputs());
                    }
                }
                _ if reads_relabeled => return false,
                _ if w == p => {}
                (FittedStage::StringIndexerModel(a), FittedStage::StringIndexerModel(b)) => {
                    match a.relabels(b) {
                        Some(columns) => relabeled.extend(columns),
                        None => return false,
                    }
                }
                _ => return false,
            }
        }
        // A relabelled index read as a number would change the feature, not just its column.
        !whole
            .assembler
            .inputs()
            .iter()
            .any(|c| relabeled.contains(c))
    }
}
