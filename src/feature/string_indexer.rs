//! `StringIndexer`: maps the values of integer or string columns to indices ordered by
//! frequency or alphabet (MLlib semantics: ties in frequency break alphabetically, integers
//! are labelled by their decimal text, nulls are invalid values).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use arrow_array::Array;
use serde::{Deserialize, Serialize};

use super::columns::{categories, check_columns, Categories};
use super::frame::{ColumnData, Frame, IndexColumn};
use super::traits::{Estimator, HandleInvalid, Summary, Transformer};
use super::FeatureError;

const STAGE: &str = "StringIndexer";
/// Integer categories below this are counted in a flat array (zone ids, hours, codes).
const SMALL_INT: usize = 1024;
/// Largest integer label range looked up through a dense table.
const DENSE_RANGE: i64 = 1 << 20;

/// How labels are ordered (index 0 first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum StringOrderType {
    /// Most frequent first (MLlib default).
    #[default]
    FrequencyDesc,
    /// Least frequent first.
    FrequencyAsc,
    /// Reverse alphabetical.
    AlphabetDesc,
    /// Alphabetical.
    AlphabetAsc,
}

/// Parameters of a `StringIndexer` over one or more columns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StringIndexer {
    /// Columns to index.
    pub input_cols: Vec<String>,
    /// Output columns, one per input.
    pub output_cols: Vec<String>,
    /// Label order.
    pub string_order_type: StringOrderType,
    /// Unseen and null values: error, skip (drop the row) or keep (index = number of labels).
    pub handle_invalid: HandleInvalid,
}

impl StringIndexer {
    /// Indexes `inputs` into `<input>_index` columns.
    pub fn new(inputs: &[&str]) -> Self {
        StringIndexer {
            input_cols: inputs.iter().map(|c| c.to_string()).collect(),
            output_cols: inputs.iter().map(|c| format!("{c}_index")).collect(),
            string_order_type: StringOrderType::default(),
            handle_invalid: HandleInvalid::Error,
        }
    }

    /// Sets the output columns.
    pub fn output_cols(mut self, outputs: &[&str]) -> Self {
        self.output_cols = outputs.iter().map(|c| c.to_string()).collect();
        self
    }

    /// Sets the label order.
    pub fn string_order_type(mut self, order: StringOrderType) -> Self {
        self.string_order_type = order;
        self
    }

    /// Sets `handleInvalid`.
    pub fn handle_invalid(mut self, h: HandleInvalid) -> Self {
        self.handle_invalid = h;
        self
    }

    /// Validates the parameters.
    pub fn check(&self) -> Result<(), FeatureError> {
        check_columns(STAGE, &self.input_cols, &self.output_cols)
    }
}

/// Value counts of one column; integer and string values are kept apart until `finish`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueCounts {
    small: Vec<u64>,
    ints: HashMap<i64, u64>,
    strings: HashMap<String, u64>,
}

impl ValueCounts {
    fn add_int(&mut self, v: i64) {
        if (0..SMALL_INT as i64).contains(&v) {
            if self.small.is_empty() {
                self.small = vec![0; SMALL_INT];
            }
            self.small[v as usize] += 1;
        } else {
            *self.ints.entry(v).or_default() += 1;
        }
    }

    fn add_str(&mut self, v: &str) {
        match self.strings.get_mut(v) {
            Some(c) => *c += 1,
            None => {
                self.strings.insert(v.to_string(), 1);
            }
        }
    }

    fn merge(&mut self, other: ValueCounts) {
        if self.small.is_empty() {
            self.small = other.small;
        } else {
            for (a, b) in self.small.iter_mut().zip(other.small) {
                *a += b;
            }
        }
        for (k, v) in other.ints {
            *self.ints.entry(k).or_default() += v;
        }
        for (k, v) in other.strings {
            *self.strings.entry(k).or_default() += v;
        }
    }

    /// Every (label, count), in no particular order.
    fn labelled(self) -> Vec<(String, u64)> {
        let small = self
            .small
            .into_iter()
            .enumerate()
            .filter(|(_, c)| *c > 0)
            .map(|(v, c)| (v.to_string(), c));
        let ints = self.ints.into_iter().map(|(v, c)| (v.to_string(), c));
        let mut all: HashMap<String, u64> = self.strings;
        for (k, c) in small.chain(ints) {
            *all.entry(k).or_default() += c;
        }
        all.into_iter().collect()
    }
}

/// Per-column value counts of one partition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexerSummary(pub Vec<ValueCounts>);

impl Summary for IndexerSummary {
    fn merge(&mut self, other: Self) {
        if self.0.len() < other.0.len() {
            self.0.resize_with(other.0.len(), ValueCounts::default);
        }
        for (a, b) in self.0.iter_mut().zip(other.0) {
            a.merge(b);
        }
    }
}

/// Orders labels; frequency ties break alphabetically, as in Spark 3.
pub(crate) fn order_labels(mut counted: Vec<(String, u64)>, order: StringOrderType) -> Vec<String> {
    match order {
        StringOrderType::FrequencyDesc => {
            counted.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)))
        }
        StringOrderType::FrequencyAsc => {
            counted.sort_by(|a, b| a.1.cmp(&b.1).then_with(|| a.0.cmp(&b.0)))
        }
        StringOrderType::AlphabetDesc => counted.sort_by(|a, b| b.0.cmp(&a.0)),
        StringOrderType::AlphabetAsc => counted.sort_by(|a, b| a.0.cmp(&b.0)),
    }
    counted.into_iter().map(|(l, _)| l).collect()
}

impl Estimator for StringIndexer {
    type Summary = IndexerSummary;
    type Model = StringIndexerModel;

    fn summarize(&self, frame: &Frame) -> Result<IndexerSummary, FeatureError> {
        let mut out = Vec::with_capacity(self.input_cols.len());
        for name in &self.input_cols {
            let mut counts = ValueCounts::default();
            match categories(frame, STAGE, name)? {
                Categories::Int(a) => {
                    for i in 0..a.len() {
                        if a.is_valid(i) {
                            counts.add_int(a.value(i));
                        }
                    }
                }
                Categories::Str(a) => a.iter().flatten().for_each(|s| counts.add_str(s)),
            }
            out.push(counts);
        }
        Ok(IndexerSummary(out))
    }

    fn finish(&self, summary: IndexerSummary) -> Result<StringIndexerModel, FeatureError> {
        let mut columns = Vec::with_capacity(self.input_cols.len());
        let mut counts = summary.0.into_iter();
        for (input, output) in self.input_cols.iter().zip(&self.output_cols) {
            let labelled = counts.next().unwrap_or_default().labelled();
            if labelled.is_empty() {
                return Err(FeatureError::EmptyFit {
                    stage: STAGE.into(),
                    column: input.clone(),
                });
            }
            columns.push(IndexedColumn::new(
                input.clone(),
                output.clone(),
                order_labels(labelled, self.string_order_type),
            ));
        }
        Ok(StringIndexerModel {
            columns,
            handle_invalid: self.handle_invalid,
        })
    }
}

/// How a fitted column finds the index of a value without allocating.
#[derive(Debug, Clone, PartialEq)]
enum Lookup {
    /// Integer labels over a small range: `table[v - min]`, `u32::MAX` when unseen.
    Dense { min: i64, table: Vec<u32> },
    /// Integer labels over a wide range.
    Ints(HashMap<i64, u32>),
    /// Some labels are not integers: integer inputs are looked up by their text.
    Text,
}

/// The labels of one fitted column and its lookup tables (rebuilt on load).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "SavedColumn", into = "SavedColumn")]
pub struct IndexedColumn {
    input: String,
    output: String,
    labels: Arc<Vec<String>>,
    by_text: HashMap<String, u32>,
    lookup: Lookup,
}

#[derive(Serialize, Deserialize)]
struct SavedColumn {
    input: String,
    output: String,
    labels: Vec<String>,
}

impl From<SavedColumn> for IndexedColumn {
    fn from(s: SavedColumn) -> Self {
        IndexedColumn::new(s.input, s.output, s.labels)
    }
}

impl From<IndexedColumn> for SavedColumn {
    fn from(c: IndexedColumn) -> Self {
        SavedColumn {
            input: c.input,
            output: c.output,
            labels: c.labels.as_ref().clone(),
        }
    }
}

impl IndexedColumn {
    fn new(input: String, output: String, labels: Vec<String>) -> Self {
        let by_text: HashMap<String, u32> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.clone(), i as u32))
            .collect();
        let ints: Option<Vec<i64>> = labels.iter().map(|l| int_label(l)).collect();
        let lookup = match ints {
            Some(ints) => int_lookup(&ints),
            None => Lookup::Text,
        };
        IndexedColumn {
            input,
            output,
            labels: Arc::new(labels),
            by_text,
            lookup,
        }
    }

    /// The labels, in index order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    fn index_of_int(&self, v: i64, text: &mut String) -> Option<u32> {
        match &self.lookup {
            Lookup::Dense { min, table } => {
                let i = v.checked_sub(*min)?;
                usize::try_from(i)
                    .ok()
                    .and_then(|i| table.get(i).copied())
                    .filter(|&x| x != u32::MAX)
            }
            Lookup::Ints(map) => map.get(&v).copied(),
            Lookup::Text => {
                text.clear();
                let _ = write!(text, "{v}");
                self.by_text.get(text.as_str()).copied()
            }
        }
    }
}

/// Parses a label that is the canonical text of an integer ("7", not "07" or "+7").
fn int_label(label: &str) -> Option<i64> {
    label.parse::<i64>().ok().filter(|v| v.to_string() == label)
}

fn int_lookup(ints: &[i64]) -> Lookup {
    let (min, max) = ints
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    if ints.is_empty() || max.saturating_sub(min) >= DENSE_RANGE {
        return Lookup::Ints(
            ints.iter()
                .enumerate()
                .map(|(i, &v)| (v, i as u32))
                .collect(),
        );
    }
    let mut table = vec![u32::MAX; (max - min + 1) as usize];
    for (i, &v) in ints.iter().enumerate() {
        table[(v - min) as usize] = i as u32;
    }
    Lookup::Dense { min, table }
}

/// A fitted `StringIndexer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StringIndexerModel {
    columns: Vec<IndexedColumn>,
    handle_invalid: HandleInvalid,
}

impl StringIndexerModel {
    /// Columns the model reads and writes.
    pub(crate) fn columns_read_written(&self) -> (Vec<String>, Vec<String>) {
        let inputs = self.columns.iter().map(|c| c.input.clone()).collect();
        (
            inputs,
            self.columns.iter().map(|c| c.output.clone()).collect(),
        )
    }
    /// The output columns `part` (fitted on a subset of this model's rows) labels differently,
    /// when it only relabels them: both keep unseen values in a bucket, and every label of
    /// `part` is one of this model's. `None` otherwise.
    pub(super) fn relabels(&self, part: &Self) -> Option<Vec<String>> {
        let keep = self.handle_invalid == HandleInvalid::Keep
            && part.handle_invalid == self.handle_invalid;
        if !keep || self.columns.len() != part.columns.len() {
            return None;
        }
        let mut relabeled = Vec::new();
        for (a, b) in self.columns.iter().zip(&part.columns) {
            if a.input != b.input || a.output != b.output {
                return None;
            }
            if a.labels != b.labels {
                if !b.labels.iter().all(|l| a.by_text.contains_key(l)) {
                    return None;
                }
                relabeled.push(a.output.clone());
            }
        }
        Some(relabeled)
    }

    /// The fitted columns.
    pub fn columns(&self) -> &[IndexedColumn] {
        &self.columns
    }

    fn index_column(
        &self,
        frame: &Frame,
        column: &IndexedColumn,
        keep_rows: &mut [bool],
    ) -> Result<Vec<u32>, FeatureError> {
        let unseen = column.labels.len() as u32;
        let values = categories(frame, STAGE, &column.input)?;
        // Not found: the `keep` bucket, a dropped row, or an error naming the row.
        let unfound = |row: usize, keep: &mut bool| match self.handle_invalid {
            HandleInvalid::Keep => Ok(unseen),
            HandleInvalid::Skip => {
                *keep = false;
                Ok(unseen)
            }
            HandleInvalid::Error => Err(invalid(&values, column, row)),
        };
        let n = frame.rows();
        let mut out = Vec::with_capacity(n);
        if let (Categories::Int(a), Lookup::Dense { min, table }) = (&values, &column.lookup) {
            if a.null_count() == 0 {
                // The common case (integer zone ids, no nulls): one table read per row.
                for (row, (&v, keep)) in a.values().iter().zip(keep_rows.iter_mut()).enumerate() {
                    let slot = v.checked_sub(*min).and_then(|i| usize::try_from(i).ok());
                    match slot.and_then(|i| table.get(i)).filter(|&&x| x != u32::MAX) {
                        Some(&i) => out.push(i),
                        None => out.push(unfound(row, keep)?),
                    }
                }
                return Ok(out);
            }
        }
        let mut text = String::new();
        for (row, keep) in keep_rows.iter_mut().enumerate().take(n) {
            let found = match &values {
                Categories::Int(a) if a.is_valid(row) => {
                    column.index_of_int(a.value(row), &mut text)
                }
                Categories::Str(a) if a.is_valid(row) => column.by_text.get(a.value(row)).copied(),
                _ => None,
            };
            out.push(match found {
                Some(i) => i,
                None => unfound(row, keep)?,
            });
        }
        Ok(out)
    }
}

fn invalid(values: &Categories, column: &IndexedColumn, row: usize) -> FeatureError {
    let (value, reason) = match values {
        Categories::Int(a) if a.is_valid(row) => (a.value(row).to_string(), "unseen category"),
        Categories::Str(a) if a.is_valid(row) => (a.value(row).to_string(), "unseen category"),
        _ => ("null".to_string(), "null category"),
    };
    FeatureError::InvalidValue {
        stage: STAGE.into(),
        column: column.input.clone(),
        row,
        value,
        reason,
    }
}

impl Transformer for StringIndexerModel {
    fn transform(&self, mut frame: Frame) -> Result<Frame, FeatureError> {
        let mut keep = vec![true; frame.rows()];
        for column in &self.columns {
            let indices = self.index_column(&frame, column, &mut keep)?;
            let data = ColumnData::Index(IndexColumn {
                indices,
                labels: column.labels.clone(),
                source: column.input.clone(),
            });
            frame.set(&column.output, data);
        }
        frame.retain(keep, "StringIndexer: unseen or null category (skip)")?;
        Ok(frame)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use arrow_array::{Int32Array, RecordBatch, StringArray};
    use proptest::prelude::*;

    pub(crate) fn frame(ints: Vec<Option<i32>>, strs: Vec<Option<&str>>) -> Frame {
        let batch = RecordBatch::try_from_iter([
            ("zone", Arc::new(Int32Array::from(ints)) as _),
            ("color", Arc::new(StringArray::from(strs)) as _),
        ])
        .unwrap();
        Frame::from_batch(&batch)
    }

    fn train() -> Vec<Frame> {
        vec![
            frame(
                vec![Some(10), Some(2), Some(2), None],
                vec![Some("b"), Some("a"), Some("c"), Some("a")],
            ),
            frame(
                vec![Some(7), Some(10), Some(2), Some(7)],
                vec![Some("c"), None, Some("b"), Some("d")],
            ),
        ]
    }

    fn labels(order: StringOrderType) -> (Vec<String>, Vec<String>) {
        let m = StringIndexer::new(&["zone", "color"])
            .string_order_type(order)
            .fit_frames(&train())
            .unwrap();
        (
            m.columns[0].labels().to_vec(),
            m.columns[1].labels().to_vec(),
        )
    }

    /// Oracle (pandas): labels as text, nulls dropped, frequency ties alphabetical.
    /// ```python
    /// z = pd.Series(['10','2','2',None,'7','10','2','7']).dropna()
    /// c = pd.Series(['b','a','c','a','c',None,'b','d']).dropna()
    /// def freq(s, asc):
    ///     v = s.value_counts().reset_index(); v.columns = ['l', 'n']
    ///     return v.sort_values(['n', 'l'], ascending=[asc, True]).l.tolist()
    /// freq(z, False), freq(c, False)  # ['2','10','7'], ['a','b','c','d']
    /// freq(z, True),  freq(c, True)   # ['10','7','2'], ['d','a','b','c']
    /// sorted(z.unique()), sorted(c.unique(), reverse=True)  # ['10','2','7'], ['d','c','b','a']
    /// ```
    #[test]
    fn orderings_match_pandas() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            labels(StringOrderType::FrequencyDesc),
            (s(&["2", "10", "7"]), s(&["a", "b", "c", "d"]))
        );
        assert_eq!(
            labels(StringOrderType::FrequencyAsc),
            (s(&["10", "7", "2"]), s(&["d", "a", "b", "c"]))
        );
        assert_eq!(labels(StringOrderType::AlphabetAsc).0, s(&["10", "2", "7"]));
        assert_eq!(
            labels(StringOrderType::AlphabetDesc).1,
            s(&["d", "c", "b", "a"])
        );
    }

    fn apply(h: HandleInvalid) -> Result<Frame, FeatureError> {
        let m = StringIndexer::new(&["zone", "color"])
            .handle_invalid(h)
            .fit_frames(&train())
            .unwrap();
        m.transform(frame(
            vec![Some(2), Some(99), None, Some(7)],
            vec![Some("a"), Some("a"), Some("a"), Some("zz")],
        ))
    }

    fn indices(f: &Frame, name: &str) -> Vec<u32> {
        match f.column("t", name).unwrap() {
            ColumnData::Index(ix) => ix.indices.clone(),
            _ => panic!("not an index"),
        }
    }

    #[test]
    fn unseen_and_null_follow_handle_invalid() {
        let err = apply(HandleInvalid::Error).unwrap_err();
        assert!(
            matches!(&err, FeatureError::InvalidValue { column, value, row: 1, .. } if column == "zone" && value == "99"),
            "{err}"
        );
        let kept = apply(HandleInvalid::Keep).unwrap();
        assert_eq!(indices(&kept, "zone_index"), vec![0, 3, 3, 2]);
        assert_eq!(indices(&kept, "color_index"), vec![0, 0, 0, 4]);
        let skipped = apply(HandleInvalid::Skip).unwrap();
        assert_eq!(indices(&skipped, "zone_index"), vec![0]);
        assert_eq!(skipped.dropped().total(), 3);
    }

    #[test]
    fn wide_and_text_labels_use_their_lookups() {
        let wide = IndexedColumn::new(
            "a".into(),
            "b".into(),
            vec!["-5".into(), "9000000000".into()],
        );
        assert!(matches!(wide.lookup, Lookup::Ints(_)));
        let mut buf = String::new();
        assert_eq!(wide.index_of_int(9_000_000_000, &mut buf), Some(1));
        let text = IndexedColumn::new(
            "a".into(),
            "b".into(),
            vec!["x".into(), "07".into(), "7".into()],
        );
        assert!(matches!(text.lookup, Lookup::Text));
        assert_eq!(text.index_of_int(7, &mut buf), Some(2));
        let back: IndexedColumn =
            serde_json::from_str(&serde_json::to_string(&text).unwrap()).unwrap();
        assert_eq!(back, text);
    }

    proptest! {
        #[test]
        fn any_partitioning_and_merge_order_gives_the_same_labels(
            values in proptest::collection::vec(0i32..40, 1..200),
            cuts in proptest::collection::vec(0usize..200, 0..6),
            reverse in any::<bool>(),
        ) {
            let est = StringIndexer::new(&["zone"]);
            let whole = est.fit_frames(&[one_col(&values)]).unwrap();
            let mut bounds: Vec<usize> = cuts.into_iter().map(|c| c % (values.len() + 1)).collect();
            bounds.push(0);
            bounds.push(values.len());
            bounds.sort_unstable();
            let mut parts: Vec<Frame> = bounds.windows(2).map(|w| one_col(&values[w[0]..w[1]])).collect();
            if reverse { parts.reverse(); }
            prop_assert_eq!(est.fit_frames(&parts).unwrap(), whole);
        }
    }

    fn one_col(values: &[i32]) -> Frame {
        let batch = RecordBatch::try_from_iter([(
            "zone",
            Arc::new(Int32Array::from(values.to_vec())) as _,
        )])
        .unwrap();
        Frame::from_batch(&batch)
    }
}
