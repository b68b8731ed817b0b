//! Arithmetic on numeric columns: `output = left op right`, right a column or a constant.

use std::sync::Arc;

use arrow_array::{Array, Float64Array};
use serde::{Deserialize, Serialize};

use super::columns::numeric;
use super::derived::{arrow_buffer_union, check_output};
use super::frame::{ColumnData, Frame};
use super::traits::Transformer;
use super::FeatureError;
use crate::merge::exact_float::real;

/// An arithmetic operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `+`
    Add,
    /// `−`
    Sub,
    /// `×`
    Mul,
    /// `÷` (null when dividing by zero, as Spark SQL does).
    Div,
}

/// The right-hand side of an arithmetic stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Operand {
    /// Another column.
    Column(String),
    /// A constant.
    Const(#[serde(with = "real")] f64),
}

/// `output = left op right` as `Float64`; null where an input is null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Arithmetic {
    /// Left column.
    pub left: String,
    /// Operator.
    pub op: Op,
    /// Right column or constant.
    pub right: Operand,
    /// Output column.
    pub output: String,
}

impl Arithmetic {
    /// `output = left op right`.
    pub fn new(left: &str, op: Op, right: Operand, output: &str) -> Self {
        Arithmetic {
            left: left.into(),
            op,
            right,
            output: output.into(),
        }
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_output("Arithmetic", &self.output)?;
        match self.right {
            Operand::Const(c) if !c.is_finite() => Err(FeatureError::param(
                "Arithmetic",
                "right",
                format!("constant {c} is not finite"),
            )),
            Operand::Const(c) if c == 0.0 && self.op == Op::Div => Err(FeatureError::param(
                "Arithmetic",
                "right",
                "division by the constant 0",
            )),
            _ => Ok(()),
        }
    }

    /// The columns read.
    pub fn inputs(&self) -> Vec<String> {
        match &self.right {
            Operand::Column(c) => vec![self.left.clone(), c.clone()],
            Operand::Const(_) => vec![self.left.clone()],
        }
    }
}

fn apply(op: Op, a: f64, b: f64) -> (f64, bool) {
    match op {
        Op::Add => (a + b, true),
        Op::Sub => (a - b, true),
        Op::Mul => (a * b, true),
        Op::Div if b == 0.0 => (0.0, false),
        Op::Div => (a / b, true),
    }
}

impl Transformer for Arithmetic {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let left = numeric(&frame, "Arithmetic", &self.left)?;
        let (values, valid): (Vec<f64>, Vec<bool>) = match &self.right {
            Operand::Const(c) => left.values().iter().map(|&a| apply(self.op, a, *c)).unzip(),
            Operand::Column(name) => {
                let right = numeric(&frame, "Arithmetic", name)?;
                let nulls = arrow_buffer_union(left.nulls(), right.nulls());
                left.values()
                    .iter()
                    .zip(right.values().iter())
                    .enumerate()
                    .map(|(i, (&a, &b))| {
                        let (v, ok) = apply(self.op, a, b);
                        (v, ok && nulls.as_ref().is_none_or(|n| n.is_valid(i)))
                    })
                    .unzip()
            }
        };
        let valid = arrow_buffer::NullBuffer::from(valid);
        let nulls = arrow_buffer_union(Some(&valid), left.nulls());
        let out = Float64Array::new(values.into(), nulls);
        frame.set(&self.output, ColumnData::Array(Arc::new(out)));
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::RecordBatch;

    #[test]
    fn arithmetic_propagates_nulls_and_nulls_division_by_zero() {
        let batch = RecordBatch::try_from_iter([
            (
                "a",
                Arc::new(Float64Array::from(vec![Some(6.0), None, Some(1.0)])) as _,
            ),
            (
                "b",
                Arc::new(arrow_array::Int64Array::from(vec![3, 1, 0])) as _,
            ),
        ])
        .unwrap();
        let f = Arithmetic::new("a", Op::Div, Operand::Column("b".into()), "q")
            .transform(Frame::from_batch(&batch))
            .unwrap();
        let q = numeric(&f, "t", "q").unwrap();
        assert_eq!(q.value(0), 2.0);
        assert!(q.is_null(1) && q.is_null(2));
        let f = Arithmetic::new("a", Op::Mul, Operand::Const(0.5), "h")
            .transform(f)
            .unwrap();
        let h = numeric(&f, "t", "h").unwrap();
        assert_eq!((h.value(0), h.is_null(1), h.value(2)), (3.0, true, 0.5));
        assert!(Arithmetic::new("a", Op::Div, Operand::Const(0.0), "x")
            .check()
            .is_err());
    }
}
