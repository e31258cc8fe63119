//! Primitives: the operations deep feature synthesis stacks into features.
//!
//! An *aggregation* primitive ([`AggregationPrimitive`]) turns the child rows
//! of each parent row into one value (`SUM(transactions.Quantity)`); a
//! *transform* primitive ([`TransformPrimitive`]) turns each row's values into
//! a new value of the same row (`MONTH(InvoiceDate)`). Both carry what
//! Featuretools' primitives carry: a name, the column schemas they take and
//! return, stacking rules and a default for rows with nothing to aggregate.
//! They evaluate over Arrow arrays (numbers as `Float64` with nulls where
//! pandas has NaN, labels as sorted dictionaries, times as nanosecond
//! timestamps) and, for aggregations, a group id per row.
//!
//! [`Primitives::standard`] holds every primitive Featuretools' names list
//! here; a user adds their own with [`Primitives::with_aggregation`] or
//! [`Primitives::with_transform`], without touching this crate:
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Array, ArrayRef, AsArray, Float64Array};
//! use arrow::datatypes::Float64Type;
//! use berserkr_features::primitives::{AggregationPrimitive, Context, Groups, Primitive, Primitives};
//! use berserkr_features::schema::{ColumnSchema, SemanticTag};
//!
//! /// The range of a numeric column: max - min.
//! #[derive(Debug)]
//! struct Range;
//!
//! impl Primitive for Range {
//!     fn name(&self) -> &str { "range" }
//!     fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
//!         vec![vec![ColumnSchema::tagged(&[SemanticTag::Numeric])]]
//!     }
//!     fn return_type(&self) -> Option<ColumnSchema> {
//!         Some(ColumnSchema::tagged(&[SemanticTag::Numeric]))
//!     }
//! }
//!
//! impl AggregationPrimitive for Range {
//!     fn aggregate(&self, inputs: &[ArrayRef], groups: &Groups<'_>, _: &Context) -> berserkr_features::Result<Vec<ArrayRef>> {
//!         let values = inputs[0].as_primitive::<Float64Type>();
//!         let mut low = vec![f64::INFINITY; groups.len()];
//!         let mut high = vec![f64::NEG_INFINITY; groups.len()];
//!         for (row, &g) in groups.ids().iter().enumerate() {
//!             if values.is_valid(row) {
//!                 low[g as usize] = low[g as usize].min(values.value(row));
//!                 high[g as usize] = high[g as usize].max(values.value(row));
//!             }
//!         }
//!         let range: Float64Array = low.iter().zip(&high)
//!             .map(|(l, h)| (l <= h).then(|| h - l))
//!             .collect();
//!         Ok(vec![Arc::new(range)])
//!     }
//! }
//!
//! let primitives = Primitives::standard().with_aggregation(Arc::new(Range));
//! assert!(primitives.aggregation("range").is_ok());
//! assert!(primitives.aggregation("ranged").is_err());
//! ```

mod aggregation;
mod transform;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::Arc;

use arrow::array::ArrayRef;

pub use aggregation::*;
pub use transform::*;

use crate::error::{Error, Result};
use crate::schema::ColumnSchema;

/// What every primitive declares (Featuretools' `PrimitiveBase`).
pub trait Primitive: Send + Sync + Debug {
    /// The snake-case name (`num_unique`); features show it upper-cased.
    fn name(&self) -> &str;

    /// The argument string that tells two configurations of the same
    /// primitive apart (`unit=days`); empty for the defaults.
    fn args(&self) -> String {
        String::new()
    }

    /// The schemas of the inputs, one list per accepted signature.
    fn input_types(&self) -> Vec<Vec<ColumnSchema>>;

    /// The schema of the output, or `None` for "that of the first input".
    fn return_type(&self) -> Option<ColumnSchema>;

    /// Whether the primitive may take its own output.
    fn stack_on_self(&self) -> bool {
        true
    }

    /// The only primitives whose output this one may take (`None`: any).
    fn stack_on(&self) -> Option<Vec<String>> {
        None
    }

    /// Primitives whose output this one never takes.
    fn stack_on_exclude(&self) -> Vec<String> {
        Vec::new()
    }

    /// The only primitives that may take this one's output (`None`: any).
    fn base_of(&self) -> Option<Vec<String>> {
        None
    }

    /// Primitives that never take this one's output.
    fn base_of_exclude(&self) -> Vec<String> {
        Vec::new()
    }

    /// Whether the order of the inputs does not matter.
    fn commutative(&self) -> bool {
        false
    }

    /// The value for a row with nothing to compute from (`None`: null).
    fn default_value(&self) -> Option<f64> {
        None
    }

    /// Whether the value depends on the cutoff time.
    fn uses_calc_time(&self) -> bool {
        false
    }

    /// Whether the value of a row depends on the other rows of the whole
    /// dataframe (cumulative transforms), not only of the rows asked for.
    fn uses_full_dataframe(&self) -> bool {
        false
    }

    /// Whether a row's value depends on which other rows are computed with
    /// it (`TIME_SINCE_PREVIOUS`: the previous row among them), as in
    /// Featuretools, which computes the instances of one cutoff time
    /// together. Such features keep those instances in one piece.
    fn depends_on_rows_computed_together(&self) -> bool {
        false
    }

    /// How many columns the primitive makes.
    fn number_output_features(&self) -> usize {
        1
    }
}

/// What a primitive may know besides its inputs.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// The cutoff time, in nanoseconds since the epoch.
    pub time: i64,
}

/// The group of each input row of an aggregation: rows of group `g` are
/// aggregated into output row `g`. Rows come in time order within a group.
#[derive(Debug, Clone, Copy)]
pub struct Groups<'a> {
    ids: &'a [u32],
    len: usize,
}

impl<'a> Groups<'a> {
    /// Groups `0..len`, one id per input row.
    pub fn new(ids: &'a [u32], len: usize) -> Self {
        Self { ids, len }
    }

    /// The group id of each input row.
    pub fn ids(&self) -> &'a [u32] {
        self.ids
    }

    /// The number of groups (output rows).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A primitive that aggregates the rows of each group into one value.
pub trait AggregationPrimitive: Primitive {
    /// The feature's name, from its inputs' names, the relationship path's
    /// name, the where-clause (` WHERE x = y`) and the window (`, Last 30
    /// Days`).
    fn generate_name(
        &self,
        base_names: &[String],
        path: &str,
        where_str: &str,
        use_previous: &str,
    ) -> String {
        format!(
            "{}({}.{}{}{})",
            self.name().to_uppercase(),
            path,
            base_names.join(", "),
            where_str,
            use_previous
        )
    }

    /// Names of the outputs of a multi-output primitive.
    fn generate_names(
        &self,
        base_names: &[String],
        path: &str,
        where_str: &str,
        use_previous: &str,
    ) -> Vec<String> {
        let name = self.generate_name(base_names, path, where_str, use_previous);
        match self.number_output_features() {
            1 => vec![name],
            n => (0..n).map(|i| format!("{name}[{i}]")).collect(),
        }
    }

    /// One array per output, each with `groups.len()` rows.
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        context: &Context,
    ) -> Result<Vec<ArrayRef>>;
}

/// A primitive that maps each row's inputs to a value of the same row.
pub trait TransformPrimitive: Primitive {
    /// The feature's name, from its inputs' names.
    fn generate_name(&self, base_names: &[String]) -> String {
        format!("{}({})", self.name().to_uppercase(), base_names.join(", "))
    }

    /// Names of the outputs of a multi-output primitive.
    fn generate_names(&self, base_names: &[String]) -> Vec<String> {
        let name = self.generate_name(base_names);
        match self.number_output_features() {
            1 => vec![name],
            n => (0..n).map(|i| format!("{name}[{i}]")).collect(),
        }
    }

    /// One array per output, as long as the inputs.
    fn transform(&self, inputs: &[ArrayRef], context: &Context) -> Result<Vec<ArrayRef>>;
}

/// The primitives deep feature synthesis may use, by name.
#[derive(Debug, Clone)]
pub struct Primitives {
    aggregations: BTreeMap<String, Arc<dyn AggregationPrimitive>>,
    transforms: BTreeMap<String, Arc<dyn TransformPrimitive>>,
}

impl Primitives {
    /// No primitives at all.
    pub fn empty() -> Self {
        Self {
            aggregations: BTreeMap::new(),
            transforms: BTreeMap::new(),
        }
    }

    /// Every primitive this crate implements, with its default arguments.
    pub fn standard() -> Self {
        let mut p = Self::empty();
        for a in aggregation::standard() {
            p = p.with_aggregation(a);
        }
        for t in transform::standard() {
            p = p.with_transform(t);
        }
        p
    }

    /// Adds (or replaces) an aggregation primitive under its name.
    pub fn with_aggregation(mut self, primitive: Arc<dyn AggregationPrimitive>) -> Self {
        self.aggregations
            .insert(primitive.name().to_string(), primitive);
        self
    }

    /// Adds (or replaces) a transform primitive under its name.
    pub fn with_transform(mut self, primitive: Arc<dyn TransformPrimitive>) -> Self {
        self.transforms
            .insert(primitive.name().to_string(), primitive);
        self
    }

    /// The aggregation primitive called `name` (snake or camel case).
    pub fn aggregation(&self, name: &str) -> Result<Arc<dyn AggregationPrimitive>> {
        self.aggregations
            .get(&snake_case(name))
            .cloned()
            .ok_or_else(|| Error::UnknownPrimitive {
                kind: "aggregation",
                name: name.to_string(),
            })
    }

    /// The transform primitive called `name` (snake or camel case).
    pub fn transform(&self, name: &str) -> Result<Arc<dyn TransformPrimitive>> {
        self.transforms
            .get(&snake_case(name))
            .cloned()
            .ok_or_else(|| Error::UnknownPrimitive {
                kind: "transform",
                name: name.to_string(),
            })
    }

    /// Names of the aggregation primitives.
    pub fn aggregation_names(&self) -> impl Iterator<Item = &str> {
        self.aggregations.keys().map(String::as_str)
    }

    /// Names of the transform primitives.
    pub fn transform_names(&self) -> impl Iterator<Item = &str> {
        self.transforms.keys().map(String::as_str)
    }
}

impl Default for Primitives {
    fn default() -> Self {
        Self::standard()
    }
}

/// Featuretools' default aggregation primitives.
pub const DEFAULT_AGGREGATIONS: [&str; 10] = [
    "sum",
    "std",
    "max",
    "skew",
    "min",
    "mean",
    "count",
    "percent_true",
    "num_unique",
    "mode",
];

/// Featuretools' default transform primitives (those that apply to
/// transactional data: `age` and `haversine` need birth dates and
/// coordinates).
pub const DEFAULT_TRANSFORMS: [&str; 6] = [
    "day",
    "year",
    "month",
    "weekday",
    "num_words",
    "num_characters",
];

/// `NumUnique` and `num_unique` both name `num_unique`.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Time units of the `time_since*` primitives, in seconds per unit, as
/// Featuretools converts them (a year is 31,540,000 s).
pub(crate) fn seconds_per_unit(unit: &str) -> Option<f64> {
    Some(match unit {
        "years" => 31_540_000.0,
        "months" => 2_628_000.0,
        "days" => 86_400.0,
        "hours" => 3_600.0,
        "minutes" => 60.0,
        "seconds" => 1.0,
        "milliseconds" => 0.001,
        "nanoseconds" => 0.000_000_001,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_either_case() {
        let p = Primitives::standard();
        assert_eq!(p.aggregation("NumUnique").unwrap().name(), "num_unique");
        assert_eq!(
            p.transform("num_characters").unwrap().name(),
            "num_characters"
        );
        let err = p.aggregation("bogus").unwrap_err();
        assert_eq!(err.to_string(), "unknown aggregation primitive \"bogus\"");
        for name in DEFAULT_AGGREGATIONS {
            p.aggregation(name).unwrap();
        }
        for name in DEFAULT_TRANSFORMS {
            p.transform(name).unwrap();
        }
    }
}
