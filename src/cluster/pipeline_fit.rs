//! The feature pipeline fitted across workers: each pass of the fit is a round in which every
//! partition sends its summaries; the coordinator merges them in partition order (the order
//! the local fit uses) and broadcasts the fitted pipeline.

use std::cell::RefCell;

use arrow_schema::SchemaRef;

use super::job::{PartOutput, Task};
use super::rounds::Rounds;
use super::ClusterError;
use crate::feature::{FeatureError, FitPass, FittedPipeline, PassSummaries, PipelineSpec};

/// Fits `spec` (reading `schema`) from the workers' summaries and hands it to every worker.
pub(crate) fn fit(
    rounds: &Rounds<'_>,
    spec: &PipelineSpec,
    schema: SchemaRef,
) -> Result<FittedPipeline, ClusterError> {
    rounds.say("fitting the feature pipeline on the workers");
    // The pipeline's fit wants a feature error; the cluster's own error is kept aside.
    let failure: RefCell<Option<ClusterError>> = RefCell::new(None);
    let run_pass = |pass: &FitPass| -> Result<Vec<PassSummaries>, FeatureError> {
        let outputs = rounds
            .round(&|parts| Task::Summarize {
                partitions: parts.to_vec(),
                pass: pass.clone(),
            })
            .map_err(|e| {
                let message = e.to_string();
                *failure.borrow_mut() = Some(e);
                FeatureError::internal("Pipeline", message)
            })?;
        outputs
            .into_iter()
            .map(|o| match o {
                PartOutput::Summaries(s) => Ok(s),
                _ => Err(FeatureError::internal(
                    "Pipeline",
                    "a worker answered a summary task with something else",
                )),
            })
            .collect()
    };
    let fitted = spec.fit_from_passes(schema, &run_pass);
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    let fitted = fitted?;
    let json =
        String::from_utf8(fitted.to_json()?).map_err(|e| ClusterError::Protocol(e.to_string()))?;
    rounds.broadcast(&Task::Pipeline(json))?;
    Ok(fitted)
}
