//! Learner parameters declared once. [`learner_params!`](crate::learner_params) turns one line
//! per parameter — name, type, default, MLlib name and help — into the checked parameter
//! struct (serde: the model metadata and the job TOML), its linfa-style builder, the text
//! setter behind CLI flags, job-file keys and tuning grid keys, and the MLflow param list. So
//! adding a parameter is one line (plus its range check, if it has one).

use std::fmt;

use super::ModelError;

/// How a parameter's values are written and drawn (for random search).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParamKind {
    /// A real number.
    Float,
    /// A whole number.
    Integer,
    /// `true` or `false`.
    Bool,
    /// One of some names.
    Choice,
}

/// A value type a learner parameter can have: read from text (a flag, a job-file value, a
/// grid value) and written back as text (MLflow params).
pub trait ParamType: Sized + Clone + fmt::Display {
    /// How the values are written.
    const KIND: ParamKind;
    /// Reads a value; the error says what was expected.
    fn from_text(text: &str) -> Result<Self, String>;
}

impl ParamType for f64 {
    const KIND: ParamKind = ParamKind::Float;
    fn from_text(text: &str) -> Result<Self, String> {
        text.trim()
            .parse::<f64>()
            .map_err(|_| "expected a number".to_string())
    }
}

macro_rules! integer_param {
    ($($t:ty),*) => {$(
        impl ParamType for $t {
            const KIND: ParamKind = ParamKind::Integer;
            fn from_text(text: &str) -> Result<Self, String> {
                let t = text.trim();
                // Random search draws integers as floats: accept "7.0", refuse "7.5".
                t.parse::<$t>().or_else(|_| match t.parse::<f64>() {
                    Ok(x) if x.fract() == 0.0 && x >= 0.0 && x <= <$t>::MAX as f64 => Ok(x as $t),
                    _ => Err("expected a non-negative whole number".to_string()),
                })
            }
        }
    )*};
}
integer_param!(usize, u64, u32);

impl ParamType for bool {
    const KIND: ParamKind = ParamKind::Bool;
    fn from_text(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err("expected true or false".to_string()),
        }
    }
}

/// One declared parameter: what the CLI, the job file, tuning and MLflow know of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamSpec {
    /// The Rust field name (`elastic_net`); the flag is its kebab-case form.
    pub field: &'static str,
    /// The MLlib (pyspark) name, used for MLflow params (`elasticNetParam`).
    pub mllib: &'static str,
    /// One-line help.
    pub help: &'static str,
    /// How values are written.
    pub kind: ParamKind,
}

impl ParamSpec {
    /// The flag, job-file key and grid key: the field in kebab case (`elastic-net`).
    pub fn key(&self) -> String {
        self.field.replace('_', "-")
    }
}

/// Why a parameter could not be set from text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SetError {
    /// No parameter of that name in this learner family.
    #[error("unknown parameter '{0}'")]
    Unknown(String),
    /// The text is not a value of the parameter's type.
    #[error("--{key}: '{text}' is not valid ({why})")]
    Invalid {
        /// The flag name.
        key: String,
        /// The text given.
        text: String,
        /// What was expected.
        why: String,
    },
}

impl From<SetError> for ModelError {
    fn from(e: SetError) -> Self {
        match e {
            SetError::Unknown(key) => ModelError::NotAParam {
                key,
                model: "this model",
                known: String::new(),
            },
            SetError::Invalid { key, text, why } => ModelError::BadValue { key, text, why },
        }
    }
}

/// The flag of the parameter whose MLlib name is `mllib` (`regParam` → `--reg`), for messages.
pub(crate) fn flag_of(specs: &[ParamSpec], mllib: &str) -> String {
    specs
        .iter()
        .find(|s| s.mllib == mllib)
        .map_or_else(|| mllib.to_string(), |s| format!("--{}", s.key()))
}

/// Declares a learner family's parameters (see the module doc). Fields under `fixed` belong to
/// the learner kind (set by its constructor, never a flag); fields under `flags` are settable.
#[macro_export]
#[doc(hidden)]
macro_rules! learner_params {
    (
        $(#[$vmeta:meta])* valid $valid:ident;
        $(#[$pmeta:meta])* params $params:ident;
        fixed { $( $(#[$xmeta:meta])* $xfield:ident : $xty:ty ; )* }
        flags { $( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $default:expr, mllib $mllib:literal ; )* }
    ) => {
        $(#[$vmeta])*
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $valid {
            $( $(#[$xmeta])* pub(crate) $xfield: $xty, )*
            $( $(#[doc = $doc])* pub(crate) $field: $ty, )*
        }

        impl $valid {
            /// Every settable parameter, in declaration order.
            pub const SPECS: &'static [$crate::model::ParamSpec] = &[ $(
                $crate::model::ParamSpec {
                    field: stringify!($field),
                    mllib: $mllib,
                    help: concat!($($doc),*),
                    kind: <$ty as $crate::model::ParamType>::KIND,
                },
            )* ];

            /// The defaults, with the kind's fixed fields given.
            fn with_defaults($( $xfield: $xty ),*) -> Self {
                $valid { $( $xfield, )* $( $field: $default, )* }
            }

            $( $(#[$xmeta])* pub fn $xfield(&self) -> $xty { self.$xfield.clone() } )*
            $( $(#[doc = $doc])* pub fn $field(&self) -> $ty { self.$field.clone() } )*

            /// Back to unchecked parameters, e.g. to change one value for a tuning trial.
            pub fn into_params(self) -> $params {
                $params(self)
            }

            /// Sets the parameter whose key (flag name, `elastic-net`) is `key` from text, unchecked.
            pub(crate) fn set_text(&mut self, key: &str, text: &str) -> Result<(), $crate::model::SetError> {
                let key = key.trim_start_matches("--");
                match key.replace('-', "_").as_str() {
                    $( stringify!($field) => {
                        self.$field = <$ty as $crate::model::ParamType>::from_text(text)
                            .map_err(|why| $crate::model::SetError::Invalid {
                                key: key.to_string(),
                                text: text.to_string(),
                                why,
                            })?;
                    } )*
                    _ => return Err($crate::model::SetError::Unknown(key.to_string())),
                }
                Ok(())
            }

            /// `(spec, value as text)` of every settable parameter, for MLflow.
            pub fn values(&self) -> Vec<(&'static $crate::model::ParamSpec, String)> {
                let values = [$( self.$field.to_string() ),*];
                Self::SPECS.iter().zip(values).collect()
            }
        }

        $(#[$pmeta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $params($valid);

        impl $params {
            $( $(#[doc = $doc])* pub fn $field(mut self, value: $ty) -> Self {
                self.0.$field = value;
                self
            } )*

            /// Sets the parameter whose key (flag name, `elastic-net`) is `key` from text; check
            /// the result with `check()`.
            pub fn set(mut self, key: &str, text: &str) -> Result<Self, $crate::model::SetError> {
                self.0.set_text(key, text)?;
                Ok(self)
            }
        }
    };
}
