//! Columns derived from timestamps: the difference of two timestamps, hour, day of week and
//! day of month (Spark SQL's `unix_timestamp` arithmetic, `hour`, `dayofweek`, `dayofmonth`).

use std::sync::Arc;

use arrow_array::{Array, Float64Array, Int64Array};
use chrono::{DateTime, Datelike};
use serde::{Deserialize, Serialize};

use super::columns::timestamps_us;
use super::frame::{ColumnData, Frame};
use super::traits::Transformer;
use super::FeatureError;

const MICROS_PER_HOUR: i64 = 3_600_000_000;
const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Unit of a timestamp difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffUnit {
    /// Minutes (fractional).
    #[default]
    Minutes,
    /// Seconds (fractional).
    Seconds,
}

/// `output = end − start` in minutes or seconds, as `Float64` (null where either is null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampDiff {
    /// The earlier timestamp column.
    pub start: String,
    /// The later timestamp column.
    pub end: String,
    /// The output column.
    pub output: String,
    /// Minutes or seconds.
    pub unit: DiffUnit,
}

impl TimestampDiff {
    /// `end − start` in minutes into `output`.
    pub fn new(start: &str, end: &str, output: &str) -> Self {
        TimestampDiff {
            start: start.into(),
            end: end.into(),
            output: output.into(),
            unit: DiffUnit::Minutes,
        }
    }

    /// Sets the unit.
    pub fn unit(mut self, unit: DiffUnit) -> Self {
        self.unit = unit;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_output("TimestampDiff", &self.output)
    }
}

impl Transformer for TimestampDiff {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let start = timestamps_us(&frame, "TimestampDiff", &self.start)?;
        let end = timestamps_us(&frame, "TimestampDiff", &self.end)?;
        let scale = match self.unit {
            DiffUnit::Minutes => 60e6,
            DiffUnit::Seconds => 1e6,
        };
        let values: Vec<f64> = start
            .values()
            .iter()
            .zip(end.values().iter())
            .map(|(&s, &e)| (e - s) as f64 / scale)
            .collect();
        let nulls = arrow_buffer_union(start.nulls(), end.nulls());
        let out = Float64Array::new(values.into(), nulls);
        frame.set(&self.output, ColumnData::Array(Arc::new(out)));
        Ok(frame)
    }
}

pub(crate) fn arrow_buffer_union(
    a: Option<&arrow_buffer::NullBuffer>,
    b: Option<&arrow_buffer::NullBuffer>,
) -> Option<arrow_buffer::NullBuffer> {
    arrow_buffer::NullBuffer::union(a, b)
}

pub(crate) fn check_output(stage: &str, output: &str) -> Result<(), FeatureError> {
    if output.trim().is_empty() {
        return Err(FeatureError::param(stage, "outputCol", "must not be empty"));
    }
    Ok(())
}

/// A calendar field of a timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Hour of day, 0–23.
    Hour,
    /// Day of week as Spark's `dayofweek`: 1 = Sunday … 7 = Saturday.
    DayOfWeek,
    /// Day of month, 1–31.
    DayOfMonth,
}

/// Extracts a calendar field (wall-clock time as stored, no time zone) as `Int64`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatePart {
    /// The timestamp column.
    pub input: String,
    /// The output column.
    pub output: String,
    /// Which field.
    pub part: Part,
}

impl DatePart {
    /// `part` of `input` into `output`.
    pub fn new(input: &str, part: Part, output: &str) -> Self {
        DatePart {
            input: input.into(),
            output: output.into(),
            part,
        }
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_output("DatePart", &self.output)
    }
}

fn part_of(part: Part, us: i64) -> i64 {
    match part {
        Part::Hour => us.rem_euclid(MICROS_PER_DAY) / MICROS_PER_HOUR,
        // 1970-01-01 was a Thursday (Spark: 5).
        Part::DayOfWeek => (us.div_euclid(MICROS_PER_DAY) + 4).rem_euclid(7) + 1,
        Part::DayOfMonth => DateTime::from_timestamp_micros(us).map_or(0, |d| i64::from(d.day())),
    }
}

impl Transformer for DatePart {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let ts = timestamps_us(&frame, "DatePart", &self.input)?;
        let values: Vec<i64> = ts
            .values()
            .iter()
            .map(|&us| part_of(self.part, us))
            .collect();
        let out = Int64Array::new(values.into(), ts.nulls().cloned());
        frame.set(&self.output, ColumnData::Array(Arc::new(out)));
        Ok(frame)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow_array::{RecordBatch, TimestampMicrosecondArray};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    /// Oracle (pandas 3):
    /// ```python
    /// p = pd.Series(pd.to_datetime(['2023-01-01 00:10:00','2023-03-15 23:59:30',
    ///                               '2024-02-29 12:00:00','1969-12-31 23:30:00']))
    /// d = pd.Series(pd.to_datetime(['2023-01-01 00:25:30','2023-03-16 00:30:00',
    ///                               '2024-02-29 11:00:00','1970-01-01 00:15:00']))
    /// ((d-p).dt.total_seconds()/60).tolist()   # [15.5, 30.5, -60.0, 45.0]
    /// p.dt.hour.tolist()                       # [0, 23, 12, 23]
    /// ((p.dt.dayofweek+1)%7+1).tolist()        # Spark dayofweek: [1, 4, 5, 4]
    /// p.dt.day.tolist()                        # [1, 15, 29, 31]
    /// (p.astype('int64')//1000).tolist()       # ms, below ×1000
    /// ```
    pub(crate) fn times() -> Frame {
        let ms_p = [1672531800000i64, 1678924770000, 1709208000000, -1800000];
        let ms_d = [1672532730000i64, 1678926600000, 1709204400000, 900000];
        let ts = |v: &[i64], null_last: bool| {
            let vals: Vec<Option<i64>> = v.iter().map(|m| Some(m * 1000)).collect();
            let mut vals = vals;
            if null_last {
                vals.push(None);
            } else {
                vals.push(Some(0));
            }
            Arc::new(TimestampMicrosecondArray::from(vals))
        };
        let t = DataType::Timestamp(TimeUnit::Microsecond, None);
        let schema = Schema::new(vec![
            Field::new("p", t.clone(), true),
            Field::new("d", t, true),
        ]);
        let batch = RecordBatch::try_new(Arc::new(schema), vec![ts(&ms_p, true), ts(&ms_d, false)])
            .unwrap();
        Frame::from_batch(&batch)
    }

    #[test]
    fn difference_and_parts_match_pandas() {
        let f = TimestampDiff::new("p", "d", "dur")
            .transform(times())
            .unwrap();
        let f = DatePart::new("p", Part::Hour, "h").transform(f).unwrap();
        let f = DatePart::new("p", Part::DayOfWeek, "w")
            .transform(f)
            .unwrap();
        let f = DatePart::new("p", Part::DayOfMonth, "m")
            .transform(f)
            .unwrap();
        let dur = crate::feature::columns::numeric(&f, "t", "dur").unwrap();
        assert_eq!(&dur.values()[..4], &[15.5, 30.5, -60.0, 45.0]);
        assert!(dur.is_null(4), "null pickup gives a null duration");
        let ints = |n: &str| {
            crate::feature::columns::numeric(&f, "t", n)
                .unwrap()
                .values()[..4]
                .to_vec()
        };
        assert_eq!(ints("h"), vec![0.0, 23.0, 12.0, 23.0]);
        assert_eq!(ints("w"), vec![1.0, 4.0, 5.0, 4.0]);
        assert_eq!(ints("m"), vec![1.0, 15.0, 29.0, 31.0]);
        let secs = TimestampDiff::new("p", "d", "s")
            .unit(DiffUnit::Seconds)
            .transform(times())
            .unwrap();
        assert_eq!(
            crate::feature::columns::numeric(&secs, "t", "s")
                .unwrap()
                .value(0),
            930.0
        );
    }

    #[test]
    fn a_string_column_is_not_a_timestamp() {
        let err = DatePart::new("p", Part::Hour, "h")
            .transform(Frame::from_batch(
                &RecordBatch::try_from_iter([(
                    "p",
                    Arc::new(arrow_array::StringArray::from(vec!["x"])) as _,
                )])
                .unwrap(),
            ))
            .unwrap_err();
        assert!(matches!(err, FeatureError::ColumnType { .. }), "{err}");
    }
}
