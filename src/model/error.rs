//! Errors of learners, solvers and trainers: bad parameters and bad data name the culprit.

/// An error while checking parameters, validating input or fitting a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A parameter is out of range; `param` names it as the user wrote it (`--reg (regParam)`).
    #[error("invalid {param} = {value}: {reason}")]
    InvalidParam {
        /// The parameter: its flag and MLlib name.
        param: String,
        /// The rejected value, as text.
        value: String,
        /// The accepted range.
        reason: String,
    },
    /// A parameter given as text is not a value of its type.
    #[error("--{key}: '{text}' is not valid ({why})")]
    BadValue {
        /// The flag name.
        key: String,
        /// The text given.
        text: String,
        /// What was expected.
        why: String,
    },
    /// A setting that is not a parameter of the chosen model.
    #[error("--{key} is not a parameter of --model {model} (its parameters: {known})")]
    NotAParam {
        /// The key given.
        key: String,
        /// The chosen model.
        model: &'static str,
        /// The keys it accepts.
        known: String,
    },
    /// A feature value is NaN or infinite.
    #[error(
        "feature '{feature}' is {value} in row {row} of block {block}; clean or impute it first"
    )]
    NonFiniteFeature {
        /// The feature's name from the layout.
        feature: String,
        /// 0-based row within the block.
        row: usize,
        /// 0-based block (partition) index.
        block: usize,
        /// The offending value.
        value: f64,
    },
    /// A label is NaN, infinite or outside the family's domain.
    #[error("label is {value} in row {row} of block {block}: {reason}")]
    InvalidLabel {
        /// 0-based row within the block.
        row: usize,
        /// 0-based block (partition) index.
        block: usize,
        /// The offending value.
        value: f64,
        /// What the family accepts.
        reason: &'static str,
    },
    /// A row weight is negative, NaN or infinite.
    #[error("weight is {value} in row {row} of block {block}: weights must be finite and >= 0")]
    InvalidWeight {
        /// 0-based row within the block.
        row: usize,
        /// 0-based block (partition) index.
        block: usize,
        /// The offending value.
        value: f64,
    },
    /// The rows a learner passes over could not be read (a file, the pipeline, a spill file).
    #[error("{message}")]
    Input {
        /// What went wrong, naming the file.
        message: String,
        /// Whether the user's input is at fault.
        user: bool,
    },
    /// A block does not fit the feature layout (a bug in the producer, not the user's data).
    #[error("block {block} does not match the feature layout: {message}")]
    Shape {
        /// 0-based block index.
        block: usize,
        /// The mismatch.
        message: String,
    },
    /// There is nothing to train on (no rows, or all weights zero).
    #[error("no training rows (every row was filtered out or has weight 0)")]
    EmptyData,
    /// A trainer was used out of order (a bug, not bad input).
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// The solver broke down numerically (for example a diverging fit).
    #[error("solver failed: {0}")]
    Numerical(String),
    /// An error reported through linfa's traits.
    #[error(transparent)]
    Linfa(#[from] linfa::Error),
}

impl ModelError {
    /// True when the user's input or flags are at fault (exit code 2), false for internal failures.
    pub fn is_user_error(&self) -> bool {
        match self {
            ModelError::InvalidParam { .. }
            | ModelError::BadValue { .. }
            | ModelError::NotAParam { .. }
            | ModelError::NonFiniteFeature { .. }
            | ModelError::InvalidLabel { .. }
            | ModelError::InvalidWeight { .. }
            | ModelError::EmptyData => true,
            ModelError::Input { user, .. } => *user,
            ModelError::Linfa(e) => matches!(
                e,
                linfa::Error::Parameters(_)
                    | linfa::Error::NotEnoughSamples
                    | linfa::Error::MismatchedShapes(..)
            ),
            ModelError::Shape { .. } | ModelError::Numerical(_) | ModelError::Internal(_) => false,
        }
    }
}
