//! The transform primitives, each with Featuretools' name and semantics.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Float64Array, PrimitiveArray};
use arrow::datatypes::{DataType, Float64Type, TimestampNanosecondType, UInt32Type};
use chrono::{DateTime, Datelike, Timelike};

use super::{Context, Primitive, TimeUnitArg, TransformPrimitive};
use crate::error::{Error, Result};
use crate::schema::{ColumnSchema, LogicalType, SemanticTag};

pub(super) fn standard() -> Vec<Arc<dyn TransformPrimitive>> {
    vec![
        Arc::new(DatePart::Day),
        Arc::new(DatePart::Month),
        Arc::new(DatePart::Year),
        Arc::new(DatePart::Weekday),
        Arc::new(DatePart::Hour),
        Arc::new(IsWeekend),
        Arc::new(TimeSince::default()),
        Arc::new(TimeSincePrevious::default()),
        Arc::new(Cumulative::Sum),
        Arc::new(Cumulative::Count),
        Arc::new(Cumulative::Mean),
        Arc::new(Absolute),
        Arc::new(NumCharacters),
        Arc::new(NumWords),
        Arc::new(IsNull),
        Arc::new(Binary::Add),
        Arc::new(Binary::Subtract),
        Arc::new(Binary::Multiply),
        Arc::new(Binary::Divide),
    ]
}

fn numbers<'a>(name: &str, array: &'a ArrayRef) -> Result<&'a Float64Array> {
    array
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| Error::InvalidInput {
            primitive: name.to_string(),
            reason: format!("expected numbers, got {}", array.data_type()),
        })
}

fn times<'a>(
    name: &str,
    array: &'a ArrayRef,
) -> Result<&'a PrimitiveArray<TimestampNanosecondType>> {
    array
        .as_primitive_opt::<TimestampNanosecondType>()
        .ok_or_else(|| Error::InvalidInput {
            primitive: name.to_string(),
            reason: format!("expected datetimes, got {}", array.data_type()),
        })
}

/// Numbers with NaN stored as null, as pandas sees them.
fn output(values: impl IntoIterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(
        values
            .into_iter()
            .map(|v| v.filter(|v| !v.is_nan()))
            .collect::<Float64Array>(),
    )
}

fn datetime() -> Vec<Vec<ColumnSchema>> {
    vec![vec![ColumnSchema::typed(LogicalType::Datetime)]]
}

fn numeric() -> Vec<Vec<ColumnSchema>> {
    vec![vec![ColumnSchema::tagged(&[SemanticTag::Numeric])]]
}

fn numeric_out() -> Option<ColumnSchema> {
    Some(ColumnSchema::tagged(&[SemanticTag::Numeric]))
}

/// The parts of a datetime that `DAY`, `MONTH`, `YEAR`, `WEEKDAY` (Monday
/// is 0) and `HOUR` extract, as ordinal categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DatePart {
    /// Day of the month, 1 to 31.
    Day,
    /// Month, 1 to 12.
    Month,
    /// Year.
    Year,
    /// Day of the week, Monday 0 to Sunday 6.
    Weekday,
    /// Hour of the day, 0 to 23.
    Hour,
}

impl Primitive for DatePart {
    fn name(&self) -> &str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
            Self::Year => "year",
            Self::Weekday => "weekday",
            Self::Hour => "hour",
        }
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        datetime()
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        Some(ColumnSchema::of(LogicalType::Ordinal))
    }
}

impl TransformPrimitive for DatePart {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        let values = times(self.name(), &inputs[0])?;
        Ok(vec![output(values.iter().map(|t| {
            t.map(|t| {
                let d = DateTime::from_timestamp_nanos(t).naive_utc();
                f64::from(match self {
                    Self::Day => d.day(),
                    Self::Month => d.month(),
                    Self::Year => d.year() as u32,
                    Self::Weekday => d.weekday().num_days_from_monday(),
                    Self::Hour => d.hour(),
                })
            })
        }))])
    }
}

/// `IS_WEEKEND`: Saturday or Sunday.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsWeekend;

impl Primitive for IsWeekend {
    fn name(&self) -> &str {
        "is_weekend"
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        datetime()
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        Some(ColumnSchema::of(LogicalType::BooleanNullable))
    }
}

impl TransformPrimitive for IsWeekend {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        let values = times(self.name(), &inputs[0])?;
        let out: BooleanArray = values
            .iter()
            .map(|t| {
                t.map(|t| {
                    DateTime::from_timestamp_nanos(t)
                        .weekday()
                        .num_days_from_monday()
                        > 4
                })
            })
            .collect();
        Ok(vec![Arc::new(out)])
    }
}

/// Seconds of a nanosecond span as pandas' `Timedelta.total_seconds` gives
/// them (microsecond resolution).
fn total_seconds(nanos: i64) -> f64 {
    (nanos / 1_000) as f64 / 1e6
}

/// `TIME_SINCE`: from the value to the cutoff time.
#[derive(Debug, Clone, Default)]
pub struct TimeSince {
    unit: TimeUnitArg,
}

impl TimeSince {
    /// The primitive in `unit`s (`seconds` by default).
    pub fn new(unit: &str) -> Result<Self> {
        Ok(Self {
            unit: TimeUnitArg::new(unit)?,
        })
    }
}

impl Primitive for TimeSince {
    fn name(&self) -> &str {
        "time_since"
    }
    fn args(&self) -> String {
        self.unit.args()
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        datetime()
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        numeric_out()
    }
    fn uses_calc_time(&self) -> bool {
        true
    }
}

impl TransformPrimitive for TimeSince {
    fn transform(&self, inputs: &[ArrayRef], context: &Context) -> Result<Vec<ArrayRef>> {
        let values = times(self.name(), &inputs[0])?;
        Ok(vec![output(values.iter().map(|t| {
            t.map(|t| self.unit.convert(total_seconds(context.time - t)))
        }))])
    }
}

/// `TIME_SINCE_PREVIOUS`: from the previous row's time (in the order of the
/// rows computed together) to this row's.
#[derive(Debug, Clone, Default)]
pub struct TimeSincePrevious {
    unit: TimeUnitArg,
}

impl TimeSincePrevious {
    /// The primitive in `unit`s (`seconds` by default).
    pub fn new(unit: &str) -> Result<Self> {
        Ok(Self {
            unit: TimeUnitArg::new(unit)?,
        })
    }
}

impl Primitive for TimeSincePrevious {
    fn name(&self) -> &str {
        "time_since_previous"
    }
    fn args(&self) -> String {
        self.unit.args()
    }
    fn depends_on_rows_computed_together(&self) -> bool {
        true
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        vec![vec![
            ColumnSchema::typed(LogicalType::Datetime).with_tag(SemanticTag::TimeIndex),
        ]]
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        numeric_out()
    }
}

impl TransformPrimitive for TimeSincePrevious {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        let values = times(self.name(), &inputs[0])?;
        let mut previous: Option<i64> = None;
        let mut out = Vec::with_capacity(values.len());
        for t in values.iter() {
            out.push(match (t, previous) {
                (Some(t), Some(p)) => Some(self.unit.convert(total_seconds(t - p))),
                _ => None,
            });
            previous = t;
        }
        Ok(vec![output(out)])
    }
}

/// `CUM_SUM`, `CUM_COUNT` and `CUM_MEAN` over all rows of the dataframe up
/// to the cutoff, in time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Cumulative {
    /// Running sum (nulls stay null and add nothing).
    Sum,
    /// Running row number, from 1.
    Count,
    /// Running sum over running row number.
    Mean,
}

impl Primitive for Cumulative {
    fn name(&self) -> &str {
        match self {
            Self::Sum => "cum_sum",
            Self::Count => "cum_count",
            Self::Mean => "cum_mean",
        }
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        match self {
            Self::Count => vec![
                vec![ColumnSchema::tagged(&[SemanticTag::ForeignKey])],
                vec![ColumnSchema::tagged(&[SemanticTag::Category])],
            ],
            _ => numeric(),
        }
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        match self {
            Self::Count => Some(ColumnSchema::of(LogicalType::IntegerNullable)),
            _ => numeric_out(),
        }
    }
    fn uses_full_dataframe(&self) -> bool {
        true
    }
}

impl TransformPrimitive for Cumulative {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        let n = inputs[0].len();
        if *self == Self::Count {
            return Ok(vec![output((1..=n).map(|i| Some(i as f64)))]);
        }
        let values = numbers(self.name(), &inputs[0])?;
        let mut sum = 0.0;
        let mut out = Vec::with_capacity(n);
        for (i, v) in values.iter().enumerate() {
            match v.filter(|v| !v.is_nan()) {
                Some(v) => {
                    sum += v;
                    out.push(Some(match self {
                        Self::Mean => sum / (i + 1) as f64,
                        _ => sum,
                    }));
                }
                None => out.push(None),
            }
        }
        Ok(vec![output(out)])
    }
}

/// `ABSOLUTE` value.
#[derive(Debug, Clone, Copy, Default)]
pub struct Absolute;

impl Primitive for Absolute {
    fn name(&self) -> &str {
        "absolute"
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        numeric()
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        numeric_out()
    }
}

impl TransformPrimitive for Absolute {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        Ok(vec![output(
            numbers(self.name(), &inputs[0])?
                .iter()
                .map(|v| v.map(f64::abs)),
        )])
    }
}

/// Applies `f` to each distinct string of a text column once.
fn per_string(name: &str, array: &ArrayRef, f: impl Fn(&str) -> f64) -> Result<ArrayRef> {
    let dict = array
        .as_dictionary_opt::<UInt32Type>()
        .ok_or_else(|| Error::InvalidInput {
            primitive: name.to_string(),
            reason: format!("expected text, got {}", array.data_type()),
        })?;
    let strings = dict.values().as_string::<i32>();
    let per_value: Vec<f64> = strings.iter().map(|s| s.map_or(f64::NAN, &f)).collect();
    Ok(output(
        dict.keys().iter().map(|k| k.map(|k| per_value[k as usize])),
    ))
}

fn text() -> Vec<Vec<ColumnSchema>> {
    vec![vec![ColumnSchema::typed(LogicalType::NaturalLanguage)]]
}

/// `NUM_CHARACTERS`: the length in Unicode code points.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumCharacters;

impl Primitive for NumCharacters {
    fn name(&self) -> &str {
        "num_characters"
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        text()
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        Some(ColumnSchema::of(LogicalType::IntegerNullable))
    }
}

impl TransformPrimitive for NumCharacters {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        Ok(vec![per_string(self.name(), &inputs[0], |s| {
            s.chars().count() as f64
        })?])
    }
}

/// `NUM_WORDS`: pieces between spaces, tabs and newlines that are not only
/// punctuation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumWords;

impl Primitive for NumWords {
    fn name(&self) -> &str {
        "num_words"
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        text()
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        Some(ColumnSchema::of(LogicalType::IntegerNullable))
    }
}

impl TransformPrimitive for NumWords {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        Ok(vec![per_string(self.name(), &inputs[0], |s| {
            s.split([' ', '\n', '\t'])
                .filter(|w| {
                    !w.trim_matches(|c: char| c.is_ascii_punctuation())
                        .is_empty()
                })
                .count() as f64
        })?])
    }
}

/// `IS_NULL`: whether the value is missing.
#[derive(Debug, Clone, Copy, Default)]
pub struct IsNull;

impl Primitive for IsNull {
    fn name(&self) -> &str {
        "is_null"
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        vec![vec![ColumnSchema::any()]]
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        Some(ColumnSchema::of(LogicalType::Boolean))
    }
}

impl TransformPrimitive for IsNull {
    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        let a = &inputs[0];
        let floats = a.as_primitive_opt::<Float64Type>();
        let out: BooleanArray = (0..a.len())
            .map(|i| Some(a.is_null(i) || floats.is_some_and(|f| f.value(i).is_nan())))
            .collect();
        Ok(vec![Arc::new(out)])
    }
}

/// The numeric binary primitives: `a + b`, `a - b`, `a * b`, `a / b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binary {
    /// `ADD_NUMERIC`.
    Add,
    /// `SUBTRACT_NUMERIC`.
    Subtract,
    /// `MULTIPLY_NUMERIC`.
    Multiply,
    /// `DIVIDE_NUMERIC`.
    Divide,
}

impl Primitive for Binary {
    fn name(&self) -> &str {
        match self {
            Self::Add => "add_numeric",
            Self::Subtract => "subtract_numeric",
            Self::Multiply => "multiply_numeric",
            Self::Divide => "divide_numeric",
        }
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        vec![vec![
            ColumnSchema::tagged(&[SemanticTag::Numeric]),
            ColumnSchema::tagged(&[SemanticTag::Numeric]),
        ]]
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        numeric_out()
    }
    fn commutative(&self) -> bool {
        // Featuretools marks subtraction commutative too: one order only.
        !matches!(self, Self::Divide)
    }
}

impl TransformPrimitive for Binary {
    fn generate_name(&self, base_names: &[String]) -> String {
        let op = match self {
            Self::Add => "+",
            Self::Subtract => "-",
            Self::Multiply => "*",
            Self::Divide => "/",
        };
        format!("{} {op} {}", base_names[0], base_names[1])
    }

    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        let a = numbers(self.name(), &inputs[0])?;
        let b = numbers(self.name(), &inputs[1])?;
        Ok(vec![output(a.iter().zip(b.iter()).map(|(a, b)| {
            let (a, b) = (a?, b?);
            Some(match self {
                Self::Add => a + b,
                Self::Subtract => a - b,
                Self::Multiply => a * b,
                Self::Divide => a / b,
            })
        }))])
    }
}

/// `column = value`: the where-clause of an interesting value.
#[derive(Debug, Clone, PartialEq)]
pub struct EqualScalar {
    value: String,
}

impl EqualScalar {
    /// Compares with `value` (a label, or a number written as text).
    pub fn new(value: impl Into<String>) -> Self {
        Self {
            value: value.into(),
        }
    }

    /// The value compared with.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl Primitive for EqualScalar {
    fn name(&self) -> &str {
        "equal_scalar"
    }
    fn args(&self) -> String {
        format!("value={}", self.value)
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        vec![vec![ColumnSchema::any()]]
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        Some(ColumnSchema::of(LogicalType::Boolean))
    }
}

impl TransformPrimitive for EqualScalar {
    fn generate_name(&self, base_names: &[String]) -> String {
        format!("{} = {}", base_names[0], self.value)
    }

    fn transform(&self, inputs: &[ArrayRef], _: &Context) -> Result<Vec<ArrayRef>> {
        let a = &inputs[0];
        let out: BooleanArray = match a.data_type() {
            DataType::Dictionary(..) => {
                let dict = a.as_dictionary::<UInt32Type>();
                let strings = dict.values().as_string::<i32>();
                let hit: Vec<bool> = strings
                    .iter()
                    .map(|s| s == Some(self.value.as_str()))
                    .collect();
                dict.keys()
                    .iter()
                    .map(|k| Some(k.is_some_and(|k| hit[k as usize])))
                    .collect()
            }
            DataType::Float64 => {
                let target: Option<f64> = self.value.parse().ok();
                a.as_primitive::<Float64Type>()
                    .iter()
                    .map(|v| Some(v.is_some() && v == target))
                    .collect()
            }
            DataType::Boolean => {
                let target: Option<bool> = match self.value.as_str() {
                    "True" | "true" => Some(true),
                    "False" | "false" => Some(false),
                    _ => None,
                };
                a.as_boolean()
                    .iter()
                    .map(|v| Some(v.is_some() && v == target))
                    .collect()
            }
            other => {
                return Err(Error::InvalidInput {
                    primitive: self.name().to_string(),
                    reason: format!("cannot compare values of type {other}"),
                });
            }
        };
        Ok(vec![Arc::new(out)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, TimestampNanosecondArray};

    fn ctx() -> Context {
        Context { time: 0 }
    }

    #[test]
    fn date_parts() {
        // 2011-12-04 (a Sunday) 13:05:00
        let t: ArrayRef = Arc::new(TimestampNanosecondArray::from(vec![
            Some(1_323_003_900_000_000_000),
            None,
        ]));
        let get = |p: DatePart| -> Vec<Option<f64>> {
            p.transform(std::slice::from_ref(&t), &ctx()).unwrap()[0]
                .as_primitive::<Float64Type>()
                .iter()
                .collect()
        };
        assert_eq!(get(DatePart::Day), vec![Some(4.0), None]);
        assert_eq!(get(DatePart::Month), vec![Some(12.0), None]);
        assert_eq!(get(DatePart::Year), vec![Some(2011.0), None]);
        assert_eq!(get(DatePart::Weekday), vec![Some(6.0), None]);
        assert_eq!(get(DatePart::Hour), vec![Some(13.0), None]);
        let weekend = IsWeekend.transform(&[t], &ctx()).unwrap();
        assert_eq!(
            weekend[0].as_boolean().iter().collect::<Vec<_>>(),
            vec![Some(true), None]
        );
    }

    #[test]
    fn words_and_characters() {
        let s: ArrayRef = Arc::new(
            crate::entityset::sorted_dictionary(
                &(Arc::new(StringArray::from(vec![
                    Some("RED  RETROSPOT - MUG"),
                    None,
                    Some("ÉTÉ"),
                ])) as ArrayRef),
            )
            .unwrap(),
        );
        let words = NumWords
            .transform(std::slice::from_ref(&s), &ctx())
            .unwrap();
        let words: Vec<_> = words[0].as_primitive::<Float64Type>().iter().collect();
        assert_eq!(words, vec![Some(3.0), None, Some(1.0)]);
        let chars = NumCharacters.transform(&[s], &ctx()).unwrap();
        let chars: Vec<_> = chars[0].as_primitive::<Float64Type>().iter().collect();
        assert_eq!(chars, vec![Some(20.0), None, Some(3.0)]);
    }

    #[test]
    fn binary_names_and_division_by_zero() {
        let a: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), Some(0.0), None]));
        let b: ArrayRef = Arc::new(Float64Array::from(vec![Some(0.0), Some(0.0), Some(1.0)]));
        let q = Binary::Divide.transform(&[a, b], &ctx()).unwrap();
        let q: Vec<_> = q[0].as_primitive::<Float64Type>().iter().collect();
        assert_eq!(q, vec![Some(f64::INFINITY), None, None]);
        assert_eq!(
            Binary::Subtract.generate_name(&["a".into(), "b".into()]),
            "a - b"
        );
    }
}
