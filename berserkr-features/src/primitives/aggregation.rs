//! The aggregation primitives, each with Featuretools' name and semantics:
//! nulls are skipped as pandas skips NaN, `std` has one degree of freedom
//! (pandas' groupby), `skew` is pandas' bias-corrected sample skewness,
//! times are in seconds unless a unit is given.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, PrimitiveArray, UInt32Array,
};
use arrow::compute::take;
use arrow::datatypes::{DataType, Float64Type, TimestampNanosecondType};

use super::{AggregationPrimitive, Context, Groups, Primitive, seconds_per_unit};
use crate::error::{Error, Result};
use crate::schema::{ColumnSchema, LogicalType, SemanticTag};

pub(super) fn standard() -> Vec<Arc<dyn AggregationPrimitive>> {
    vec![
        Arc::new(Count),
        Arc::new(Sum),
        Arc::new(Mean),
        Arc::new(Std),
        Arc::new(Min),
        Arc::new(Max),
        Arc::new(Median),
        Arc::new(Mode),
        Arc::new(NumUnique),
        Arc::new(Skew),
        Arc::new(Trend),
        Arc::new(First),
        Arc::new(Last),
        Arc::new(NumTrue),
        Arc::new(PercentTrue),
        Arc::new(All),
        Arc::new(Any),
        Arc::new(TimeSinceFirst::default()),
        Arc::new(TimeSinceLast::default()),
        Arc::new(AvgTimeBetween::default()),
        Arc::new(NMostCommon::default()),
        Arc::new(Entropy),
    ]
}

fn numeric() -> Vec<Vec<ColumnSchema>> {
    vec![vec![ColumnSchema::tagged(&[SemanticTag::Numeric])]]
}

fn numeric_out() -> Option<ColumnSchema> {
    Some(ColumnSchema::tagged(&[SemanticTag::Numeric]))
}

fn integer_out() -> Option<ColumnSchema> {
    Some(ColumnSchema::of(LogicalType::IntegerNullable))
}

fn double_out() -> Option<ColumnSchema> {
    Some(ColumnSchema::of(LogicalType::Double))
}

fn booleans() -> Vec<Vec<ColumnSchema>> {
    vec![
        vec![ColumnSchema::typed(LogicalType::Boolean)],
        vec![ColumnSchema::typed(LogicalType::BooleanNullable)],
    ]
}

fn time_index() -> Vec<Vec<ColumnSchema>> {
    vec![vec![
        ColumnSchema::typed(LogicalType::Datetime).with_tag(SemanticTag::TimeIndex),
    ]]
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

fn bools<'a>(name: &str, array: &'a ArrayRef) -> Result<&'a BooleanArray> {
    array.as_boolean_opt().ok_or_else(|| Error::InvalidInput {
        primitive: name.to_string(),
        reason: format!("expected booleans, got {}", array.data_type()),
    })
}

/// The value at `row` unless it is null or NaN (pandas' notion of missing).
fn present(values: &Float64Array, row: usize) -> Option<f64> {
    if values.is_null(row) {
        return None;
    }
    let v = values.value(row);
    (!v.is_nan()).then_some(v)
}

/// Output numbers, with NaN stored as null.
fn output(values: Vec<f64>) -> ArrayRef {
    Arc::new(
        values
            .into_iter()
            .map(|v| (!v.is_nan()).then_some(v))
            .collect::<Float64Array>(),
    )
}

/// numpy's pairwise summation, so that sums match numpy's to the last bit.
pub(crate) fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in a {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[n - n % 8..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise_sum(&a[..n2]) + pairwise_sum(&a[n2..])
    }
}

/// Generates the boilerplate of a primitive with fixed metadata.
macro_rules! primitive {
    ($ty:ident, $name:literal, inputs = $inputs:expr, output = $output:expr $(, $method:ident = $value:expr)* $(,)?) => {
        impl Primitive for $ty {
            fn name(&self) -> &str {
                $name
            }
            fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
                $inputs
            }
            fn return_type(&self) -> Option<ColumnSchema> {
                $output
            }
            $(primitive!(@method $method, $value);)*
        }
    };
    (@method stack_on_self, $v:expr) => { fn stack_on_self(&self) -> bool { $v } };
    (@method default_value, $v:expr) => { fn default_value(&self) -> Option<f64> { $v } };
    (@method stack_on_exclude, $v:expr) => { fn stack_on_exclude(&self) -> Vec<String> { $v.iter().map(|s: &&str| s.to_string()).collect() } };
    (@method stack_on, $v:expr) => { fn stack_on(&self) -> Option<Vec<String>> { Some($v.iter().map(|s: &&str| s.to_string()).collect()) } };
    (@method uses_calc_time, $v:expr) => { fn uses_calc_time(&self) -> bool { $v } };
}

/// `COUNT`: the number of child rows. Takes the child's index; 0 for a
/// parent without children.
#[derive(Debug, Clone, Copy, Default)]
pub struct Count;
primitive!(
    Count,
    "count",
    inputs = vec![vec![ColumnSchema::tagged(&[SemanticTag::Index])]],
    output = integer_out(),
    stack_on_self = false,
    default_value = Some(0.0)
);

impl AggregationPrimitive for Count {
    fn generate_name(
        &self,
        _: &[String],
        path: &str,
        where_str: &str,
        use_previous: &str,
    ) -> String {
        format!("COUNT({path}{where_str}{use_previous})")
    }

    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let mut counts = vec![0.0; groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            if inputs[0].is_valid(row) {
                counts[g as usize] += 1.0;
            }
        }
        Ok(vec![output(counts)])
    }
}

/// Kahan-compensated sums and counts per group, as pandas' groupby sums.
fn kahan(values: &Float64Array, groups: &Groups<'_>) -> (Vec<f64>, Vec<f64>) {
    let mut sums = vec![0.0; groups.len()];
    let mut compensation = vec![0.0; groups.len()];
    let mut counts = vec![0.0; groups.len()];
    for (row, &g) in groups.ids().iter().enumerate() {
        if let Some(v) = present(values, row) {
            let g = g as usize;
            counts[g] += 1.0;
            let y = v - compensation[g];
            let t = sums[g] + y;
            compensation[g] = t - sums[g] - y;
            sums[g] = t;
        }
    }
    (sums, counts)
}

/// `SUM`: 0 for a parent without children or with only nulls.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sum;
primitive!(
    Sum,
    "sum",
    inputs = numeric(),
    output = numeric_out(),
    stack_on_self = false,
    stack_on_exclude = ["count"],
    default_value = Some(0.0)
);

impl AggregationPrimitive for Sum {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let (sums, _) = kahan(numbers(self.name(), &inputs[0])?, groups);
        Ok(vec![output(sums)])
    }
}

/// `MEAN` of the non-null values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mean;
primitive!(Mean, "mean", inputs = numeric(), output = numeric_out());

impl AggregationPrimitive for Mean {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let (sums, counts) = kahan(numbers(self.name(), &inputs[0])?, groups);
        Ok(vec![output(
            sums.iter()
                .zip(&counts)
                .map(|(s, &c)| if c > 0.0 { s / c } else { f64::NAN })
                .collect(),
        )])
    }
}

/// `STD`: the sample standard deviation (one degree of freedom), null below
/// two values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Std;
primitive!(
    Std,
    "std",
    inputs = numeric(),
    output = numeric_out(),
    stack_on_self = false
);

impl AggregationPrimitive for Std {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let values = numbers(self.name(), &inputs[0])?;
        // Welford's update, as pandas' group_var.
        let mut n = vec![0.0f64; groups.len()];
        let mut mean = vec![0.0f64; groups.len()];
        let mut ssqdm = vec![0.0f64; groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            if let Some(v) = present(values, row) {
                let g = g as usize;
                n[g] += 1.0;
                let old = mean[g];
                mean[g] += (v - old) / n[g];
                ssqdm[g] += (v - mean[g]) * (v - old);
            }
        }
        Ok(vec![output(
            n.iter()
                .zip(&ssqdm)
                .map(|(&n, &s)| {
                    if n > 1.0 {
                        (s / (n - 1.0)).sqrt()
                    } else {
                        f64::NAN
                    }
                })
                .collect(),
        )])
    }
}

fn extreme(values: &Float64Array, groups: &Groups<'_>, better: fn(f64, f64) -> bool) -> ArrayRef {
    let mut out = vec![f64::NAN; groups.len()];
    for (row, &g) in groups.ids().iter().enumerate() {
        if let Some(v) = present(values, row) {
            let o = &mut out[g as usize];
            if o.is_nan() || better(v, *o) {
                *o = v;
            }
        }
    }
    output(out)
}

/// `MIN` of the non-null values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Min;
primitive!(
    Min,
    "min",
    inputs = numeric(),
    output = numeric_out(),
    stack_on_self = false
);

impl AggregationPrimitive for Min {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![extreme(
            numbers(self.name(), &inputs[0])?,
            groups,
            |a, b| a < b,
        )])
    }
}

/// `MAX` of the non-null values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Max;
primitive!(
    Max,
    "max",
    inputs = numeric(),
    output = numeric_out(),
    stack_on_self = false
);

impl AggregationPrimitive for Max {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![extreme(
            numbers(self.name(), &inputs[0])?,
            groups,
            |a, b| a > b,
        )])
    }
}

/// The non-null values of each group, in row order.
fn grouped_values(values: &Float64Array, groups: &Groups<'_>) -> Bucketed<f64> {
    Bucketed::new(
        groups,
        groups
            .ids()
            .iter()
            .enumerate()
            .filter_map(|(row, &g)| present(values, row).map(|v| (g, v))),
    )
}

/// Items bucketed by group, in one flat array (no allocation per group).
struct Bucketed<T> {
    offsets: Vec<u32>,
    items: Vec<T>,
}

impl<T: Copy + Default> Bucketed<T> {
    /// `(group, item)` pairs, kept in order within each group.
    fn new(groups: &Groups<'_>, pairs: impl Iterator<Item = (u32, T)> + Clone) -> Self {
        let mut offsets = vec![0u32; groups.len() + 1];
        for (g, _) in pairs.clone() {
            offsets[g as usize + 1] += 1;
        }
        for i in 1..offsets.len() {
            offsets[i] += offsets[i - 1];
        }
        let mut next = offsets.clone();
        let mut items = vec![T::default(); offsets[groups.len()] as usize];
        for (g, item) in pairs {
            items[next[g as usize] as usize] = item;
            next[g as usize] += 1;
        }
        Self { offsets, items }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn group(&self, g: usize) -> &[T] {
        &self.items[self.offsets[g] as usize..self.offsets[g + 1] as usize]
    }

    fn group_mut(&mut self, g: usize) -> &mut [T] {
        &mut self.items[self.offsets[g] as usize..self.offsets[g + 1] as usize]
    }

    fn iter(&self) -> impl Iterator<Item = &[T]> + '_ {
        (0..self.len()).map(|g| self.group(g))
    }
}

/// `MEDIAN` of the non-null values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Median;
primitive!(Median, "median", inputs = numeric(), output = numeric_out());

impl AggregationPrimitive for Median {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let mut grouped = grouped_values(numbers(self.name(), &inputs[0])?, groups);
        let medians = (0..grouped.len())
            .map(|g| {
                let v = grouped.group_mut(g);
                if v.is_empty() {
                    return f64::NAN;
                }
                v.sort_by(f64::total_cmp);
                let n = v.len();
                if n % 2 == 1 {
                    v[n / 2]
                } else {
                    (v[n / 2 - 1] + v[n / 2]) / 2.0
                }
            })
            .collect();
        Ok(vec![output(medians)])
    }
}

/// `SKEW`: pandas' adjusted Fisher-Pearson skewness, null below three values
/// and 0 when all values are equal.
#[derive(Debug, Clone, Copy, Default)]
pub struct Skew;
primitive!(
    Skew,
    "skew",
    inputs = numeric(),
    output = numeric_out(),
    stack_on_self = false,
    stack_on = [] as [&str; 0]
);

/// pandas' `nanops.nanskew` over the non-null values of one group.
pub(crate) fn skewness(values: &[f64]) -> f64 {
    let count = values.len() as f64;
    if values.len() < 3 {
        return f64::NAN;
    }
    let mean = pairwise_sum(values) / count;
    let adjusted: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let adjusted2: Vec<f64> = adjusted.iter().map(|a| a * a).collect();
    let adjusted3: Vec<f64> = adjusted2
        .iter()
        .zip(&adjusted)
        .map(|(a2, a)| a2 * a)
        .collect();
    let zero_out = |x: f64| if x.abs() < 1e-14 { 0.0 } else { x };
    let m2 = zero_out(pairwise_sum(&adjusted2));
    let m3 = zero_out(pairwise_sum(&adjusted3));
    if m2 == 0.0 {
        return 0.0;
    }
    (count * (count - 1.0).sqrt() / (count - 2.0)) * (m3 / m2.powf(1.5))
}

impl AggregationPrimitive for Skew {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let skews = grouped_values(numbers(self.name(), &inputs[0])?, groups)
            .iter()
            .map(skewness)
            .collect();
        Ok(vec![output(skews)])
    }
}

/// An order-preserving integer key for each non-null row of a label,
/// number or boolean column, and the way back to a value (the row).
fn sort_keys(name: &str, array: &ArrayRef) -> Result<Vec<Option<u64>>> {
    Ok(match array.data_type() {
        DataType::Dictionary(..) => {
            let dict = array
                .as_dictionary_opt::<arrow::datatypes::UInt32Type>()
                .ok_or_else(|| Error::InvalidInput {
                    primitive: name.to_string(),
                    reason: format!("expected a UInt32 dictionary, got {}", array.data_type()),
                })?;
            dict.keys().iter().map(|k| k.map(u64::from)).collect()
        }
        DataType::Float64 => {
            let values = array.as_primitive::<Float64Type>();
            (0..values.len())
                .map(|i| {
                    present(values, i).map(|v| {
                        // Map floats onto unsigned integers in the same order.
                        let v = if v == 0.0 { 0.0 } else { v };
                        let bits = v.to_bits();
                        if bits >> 63 == 1 {
                            !bits
                        } else {
                            bits | (1 << 63)
                        }
                    })
                })
                .collect()
        }
        DataType::Boolean => array
            .as_boolean()
            .iter()
            .map(|b| b.map(u64::from))
            .collect(),
        other => {
            return Err(Error::InvalidInput {
                primitive: name.to_string(),
                reason: format!("cannot count values of type {other}"),
            });
        }
    })
}

/// Values as codes in a small range `0..domain`, in the values' order: the
/// keys of a dictionary, or whole numbers in `0..2^16` (a day, a month, a
/// year). Counting them beats sorting them.
struct DenseCodes {
    /// The code of each row (`u32::MAX`: null).
    codes: Vec<u32>,
    domain: usize,
}

impl DenseCodes {
    /// The codes of `array`, when its values allow them.
    fn of(array: &ArrayRef) -> Option<Self> {
        const NULL: u32 = u32::MAX;
        if let Some(dict) = array.as_dictionary_opt::<arrow::datatypes::UInt32Type>() {
            let codes = dict.keys().iter().map(|k| k.unwrap_or(NULL)).collect();
            return Some(Self {
                codes,
                domain: dict.values().len(),
            });
        }
        let numbers = array.as_primitive_opt::<Float64Type>()?;
        let mut domain = 0;
        let mut codes = Vec::with_capacity(numbers.len());
        for i in 0..numbers.len() {
            match present(numbers, i) {
                Some(v) if v.fract() == 0.0 && (0.0..65_536.0).contains(&v) => {
                    codes.push(v as u32);
                    domain = domain.max(v as usize + 1);
                }
                Some(_) => return None,
                None => codes.push(NULL),
            }
        }
        Some(Self { codes, domain })
    }

    /// `f` of each group's `(code, count, first row)` of its non-null
    /// values, in the order first seen.
    fn per_group<T>(&self, groups: &Groups<'_>, f: impl Fn(&[(u32, u32, u32)]) -> T) -> Vec<T> {
        let rows = Bucketed::new(
            groups,
            groups
                .ids()
                .iter()
                .zip(&self.codes)
                .enumerate()
                .filter(|(_, (_, c))| **c != u32::MAX)
                .map(|(row, (&g, _))| (g, row as u32)),
        );
        // Where each code is in `counted` (u32::MAX: not yet).
        let mut slot = vec![u32::MAX; self.domain];
        let mut counted: Vec<(u32, u32, u32)> = Vec::new();
        rows.iter()
            .map(|group| {
                for &row in group {
                    let code = self.codes[row as usize];
                    match slot[code as usize] {
                        u32::MAX => {
                            slot[code as usize] = counted.len() as u32;
                            counted.push((code, 1, row));
                        }
                        at => counted[at as usize].1 += 1,
                    }
                }
                let value = f(&counted);
                for &(code, _, _) in &counted {
                    slot[code as usize] = u32::MAX;
                }
                counted.clear();
                value
            })
            .collect()
    }
}

/// For each group, its (key, count, first row) in key order.
fn value_counts(keys: &[Option<u64>], groups: &Groups<'_>) -> Vec<Vec<(u64, u32, u32)>> {
    sorted_keys_by_group(keys, groups)
        .iter()
        .map(|pairs| {
            let mut counts: Vec<(u64, u32, u32)> = Vec::new();
            for &(k, row) in pairs {
                match counts.last_mut() {
                    Some(last) if last.0 == k => last.1 += 1,
                    _ => counts.push((k, 1, row)),
                }
            }
            counts
        })
        .collect()
}

/// Each group's (key, row) pairs, sorted by key then row. Rows are bucketed
/// by group in one pass, then each group's few keys sorted on their own:
/// no sort of all the rows.
fn sorted_keys_by_group(keys: &[Option<u64>], groups: &Groups<'_>) -> Bucketed<(u64, u32)> {
    let mut bucketed = Bucketed::new(
        groups,
        groups
            .ids()
            .iter()
            .zip(keys)
            .enumerate()
            .filter_map(|(row, (&g, k))| k.map(|k| (g, (k, row as u32)))),
    );
    for g in 0..bucketed.len() {
        bucketed.group_mut(g).sort_unstable();
    }
    bucketed
}

/// Runs of equal keys in a sorted group: (key, count, first row).
fn runs(pairs: &[(u64, u32)]) -> impl Iterator<Item = (u64, u32, u32)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let &(k, row) = pairs.get(i)?;
        let start = i;
        while i < pairs.len() && pairs[i].0 == k {
            i += 1;
        }
        Some((k, (i - start) as u32, row))
    })
}

/// The values at `rows` (`None`: null) of `array`, keeping its type.
fn values_at(array: &ArrayRef, rows: &[Option<u32>]) -> Result<ArrayRef> {
    let indices: UInt32Array = rows.iter().copied().collect();
    Ok(take(array.as_ref(), &indices, None)?)
}

/// `MODE`: the most frequent value; the smallest of tied values (as pandas'
/// `Series.mode` sorts them); null without values.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mode;
primitive!(
    Mode,
    "mode",
    inputs = vec![vec![ColumnSchema::tagged(&[SemanticTag::Category])]],
    output = None
);

impl AggregationPrimitive for Mode {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        if let Some(codes) = DenseCodes::of(&inputs[0]) {
            let rows = codes.per_group(groups, |counted| {
                // The most frequent; of tied ones the smallest, as sorted.
                counted
                    .iter()
                    .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
                    .map(|&(_, _, row)| row)
            });
            return Ok(vec![values_at(&inputs[0], &rows)?]);
        }
        let keys = sort_keys(self.name(), &inputs[0])?;
        let rows: Vec<Option<u32>> = sorted_keys_by_group(&keys, groups)
            .iter()
            .map(|pairs| {
                let mut best: Option<(u32, u32)> = None;
                for (_, count, row) in runs(pairs) {
                    if best.is_none_or(|(c, _)| count > c) {
                        best = Some((count, row));
                    }
                }
                best.map(|(_, row)| row)
            })
            .collect();
        Ok(vec![values_at(&inputs[0], &rows)?])
    }
}

/// `NUM_UNIQUE`: the number of distinct non-null values.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumUnique;
primitive!(
    NumUnique,
    "num_unique",
    inputs = vec![vec![ColumnSchema::tagged(&[SemanticTag::Category])]],
    output = integer_out(),
    stack_on_self = false
);

impl AggregationPrimitive for NumUnique {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        if let Some(codes) = DenseCodes::of(&inputs[0]) {
            let counts = codes.per_group(groups, |counted| counted.len() as f64);
            return Ok(vec![output(counts)]);
        }
        let keys = sort_keys(self.name(), &inputs[0])?;
        Ok(vec![output(
            sorted_keys_by_group(&keys, groups)
                .iter()
                .map(|pairs| runs(pairs).count() as f64)
                .collect(),
        )])
    }
}

/// `N_MOST_COMMON`: the `n` most frequent values, most frequent first (ties:
/// labels in value order, numbers in the order first seen), padded with
/// nulls.
#[derive(Debug, Clone, Copy)]
pub struct NMostCommon {
    n: usize,
}

impl NMostCommon {
    /// The `n` most common values (Featuretools' default is 3).
    pub fn new(n: usize) -> Self {
        Self { n }
    }
}

impl Default for NMostCommon {
    fn default() -> Self {
        Self::new(3)
    }
}

impl Primitive for NMostCommon {
    fn name(&self) -> &str {
        "n_most_common"
    }
    fn args(&self) -> String {
        if self.n == 3 {
            String::new()
        } else {
            format!("n={}", self.n)
        }
    }
    fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
        vec![vec![ColumnSchema::tagged(&[SemanticTag::Category])]]
    }
    fn return_type(&self) -> Option<ColumnSchema> {
        None
    }
    fn number_output_features(&self) -> usize {
        self.n
    }
}

impl AggregationPrimitive for NMostCommon {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let keys = sort_keys(self.name(), &inputs[0])?;
        let mut columns = vec![vec![None; groups.len()]; self.n];
        // Among equal counts: labels in value order (the order of a pandas
        // categorical's categories), other values in the order first seen
        // (pandas' `value_counts` of a plain column), as a stable sort gives
        // them. Featuretools itself sorts with numpy's unstable quicksort,
        // whose order of ties depends on the CPU's SIMD sort; no fixed rule
        // reproduces that.
        let by_value = matches!(inputs[0].data_type(), DataType::Dictionary(..));
        for (g, mut counts) in value_counts(&keys, groups).into_iter().enumerate() {
            if by_value {
                counts.sort_by_key(|c| (std::cmp::Reverse(c.1), c.0));
            } else {
                counts.sort_by_key(|c| (std::cmp::Reverse(c.1), c.2));
            }
            for (i, &(_, _, row)) in counts.iter().take(self.n).enumerate() {
                columns[i][g] = Some(row);
            }
        }
        columns
            .iter()
            .map(|rows| values_at(&inputs[0], rows))
            .collect()
    }
}

/// `ENTROPY` (natural logarithm) of the distribution of values, nulls
/// counted as a value of their own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Entropy;
primitive!(
    Entropy,
    "entropy",
    inputs = vec![vec![ColumnSchema::tagged(&[SemanticTag::Category])]],
    output = numeric_out(),
    stack_on_self = false
);

impl AggregationPrimitive for Entropy {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let keys = sort_keys(self.name(), &inputs[0])?;
        let mut nulls = vec![0u32; groups.len()];
        let mut totals = vec![0u32; groups.len()];
        for (k, &g) in keys.iter().zip(groups.ids()) {
            totals[g as usize] += 1;
            if k.is_none() {
                nulls[g as usize] += 1;
            }
        }
        let entropies = value_counts(&keys, groups)
            .iter()
            .enumerate()
            .map(|(g, counts)| {
                let total = f64::from(totals[g]);
                if total == 0.0 {
                    return f64::NAN;
                }
                // scipy normalises the probabilities again, then sums -p ln p.
                let mut p: Vec<f64> = counts.iter().map(|c| f64::from(c.1) / total).collect();
                if nulls[g] > 0 {
                    p.push(f64::from(nulls[g]) / total);
                }
                let sum = pairwise_sum(&p);
                let terms: Vec<f64> = p
                    .iter()
                    .map(|&x| {
                        let x = x / sum;
                        if x > 0.0 { -x * x.ln() } else { 0.0 }
                    })
                    .collect();
                pairwise_sum(&terms)
            })
            .collect();
        Ok(vec![output(entropies)])
    }
}

/// `TREND`: the slope of a least-squares line of the values against time
/// (time in days, hours, minutes or seconds as Featuretools picks the unit
/// from the first time), null below three points.
#[derive(Debug, Clone, Copy, Default)]
pub struct Trend;
primitive!(
    Trend,
    "trend",
    inputs = vec![vec![
        ColumnSchema::tagged(&[SemanticTag::Numeric]),
        ColumnSchema::typed(LogicalType::Datetime).with_tag(SemanticTag::TimeIndex),
    ]],
    output = numeric_out()
);

/// The slope of y on x, as `numpy.polyfit(x, y, 1)[0]` after centring.
fn slope(points: &[(i64, f64)]) -> f64 {
    if points.len() <= 2 {
        return f64::NAN;
    }
    let first_seconds = (points[0].0 as f64 * 1e-9) as i64;
    let dividend = [86_400i64, 3_600, 60]
        .into_iter()
        .find(|d| first_seconds % d == 0)
        .unwrap_or(1) as f64;
    let x: Vec<f64> = points
        .iter()
        .map(|p| p.0 as f64 * (1e-9 / dividend))
        .collect();
    let y: Vec<f64> = points.iter().map(|p| p.1).collect();
    let n = x.len() as f64;
    let mx = pairwise_sum(&x) / n;
    let my = pairwise_sum(&y) / n;
    let x: Vec<f64> = x.iter().map(|v| v - mx).collect();
    let y: Vec<f64> = y.iter().map(|v| v - my).collect();
    if x.iter().all(|&v| v == x[0]) {
        return 0.0;
    }
    let xy: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let xx: Vec<f64> = x.iter().map(|a| a * a).collect();
    pairwise_sum(&xy) / pairwise_sum(&xx)
}

impl AggregationPrimitive for Trend {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let values = numbers(self.name(), &inputs[0])?;
        let when = times(self.name(), &inputs[1])?;
        let mut points = vec![Vec::new(); groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            if let (Some(y), true) = (present(values, row), when.is_valid(row)) {
                points[g as usize].push((when.value(row), y));
            }
        }
        Ok(vec![output(points.iter().map(|p| slope(p)).collect())])
    }
}

/// `FIRST`: the value of the earliest child row (null if that value is).
#[derive(Debug, Clone, Copy, Default)]
pub struct First;
primitive!(
    First,
    "first",
    inputs = vec![vec![ColumnSchema::any()]],
    output = None,
    stack_on_self = false
);

impl AggregationPrimitive for First {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let mut rows = vec![None; groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            rows[g as usize].get_or_insert(row as u32);
        }
        Ok(vec![values_at(&inputs[0], &rows)?])
    }
}

/// `LAST`: the value of the latest child row (null if that value is).
#[derive(Debug, Clone, Copy, Default)]
pub struct Last;
primitive!(
    Last,
    "last",
    inputs = vec![vec![ColumnSchema::any()]],
    output = None,
    stack_on_self = false
);

impl AggregationPrimitive for Last {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let mut rows = vec![None; groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            rows[g as usize] = Some(row as u32);
        }
        Ok(vec![values_at(&inputs[0], &rows)?])
    }
}

/// `NUM_TRUE`: the number of true values; 0 without children.
#[derive(Debug, Clone, Copy, Default)]
pub struct NumTrue;
primitive!(
    NumTrue,
    "num_true",
    inputs = booleans(),
    output = integer_out(),
    default_value = Some(0.0),
    stack_on = [] as [&str; 0]
);

impl AggregationPrimitive for NumTrue {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let values = bools(self.name(), &inputs[0])?;
        let mut counts = vec![0.0; groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            if values.is_valid(row) && values.value(row) {
                counts[g as usize] += 1.0;
            }
        }
        Ok(vec![output(counts)])
    }
}

/// `PERCENT_TRUE`: the share of true values, nulls counted as false.
#[derive(Debug, Clone, Copy, Default)]
pub struct PercentTrue;
primitive!(
    PercentTrue,
    "percent_true",
    inputs = booleans(),
    output = double_out(),
    stack_on = [] as [&str; 0]
);

impl AggregationPrimitive for PercentTrue {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let values = bools(self.name(), &inputs[0])?;
        let mut trues = vec![0.0; groups.len()];
        let mut counts = vec![0.0; groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            counts[g as usize] += 1.0;
            if values.is_valid(row) && values.value(row) {
                trues[g as usize] += 1.0;
            }
        }
        Ok(vec![output(
            trues
                .iter()
                .zip(&counts)
                .map(|(t, &c)| if c > 0.0 { t / c } else { f64::NAN })
                .collect(),
        )])
    }
}

fn all_or_any(values: &BooleanArray, groups: &Groups<'_>, all: bool) -> ArrayRef {
    let mut seen = vec![false; groups.len()];
    let mut out = vec![all; groups.len()];
    for (row, &g) in groups.ids().iter().enumerate() {
        seen[g as usize] = true;
        if values.is_valid(row) {
            let v = values.value(row);
            if all && !v {
                out[g as usize] = false;
            } else if !all && v {
                out[g as usize] = true;
            }
        }
    }
    Arc::new(
        out.iter()
            .zip(&seen)
            .map(|(&v, &s)| s.then_some(v))
            .collect::<BooleanArray>(),
    )
}

/// `ALL`: whether every non-null value is true.
#[derive(Debug, Clone, Copy, Default)]
pub struct All;
primitive!(
    All,
    "all",
    inputs = booleans(),
    output = Some(ColumnSchema::of(LogicalType::Boolean)),
    stack_on_self = false
);

impl AggregationPrimitive for All {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![all_or_any(
            bools(self.name(), &inputs[0])?,
            groups,
            true,
        )])
    }
}

/// `ANY`: whether some value is true.
#[derive(Debug, Clone, Copy, Default)]
pub struct Any;
primitive!(
    Any,
    "any",
    inputs = booleans(),
    output = Some(ColumnSchema::of(LogicalType::Boolean)),
    stack_on_self = false
);

impl AggregationPrimitive for Any {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![all_or_any(
            bools(self.name(), &inputs[0])?,
            groups,
            false,
        )])
    }
}

/// A time unit of the `time_since*` primitives: `seconds` (the default),
/// `minutes`, `hours`, `days`, `months`, `years`...
#[derive(Debug, Clone, PartialEq)]
pub struct TimeUnitArg {
    name: String,
    seconds: f64,
}

impl TimeUnitArg {
    /// The unit called `name` (plural, lower case).
    pub fn new(name: &str) -> Result<Self> {
        let name = name.to_lowercase();
        let seconds = seconds_per_unit(&name).ok_or_else(|| Error::InvalidOption {
            option: "unit",
            reason: format!(
                "unknown time unit {name:?}; use seconds, minutes, hours, days, months or years"
            ),
        })?;
        Ok(Self { name, seconds })
    }

    pub(crate) fn convert(&self, seconds: f64) -> f64 {
        seconds / self.seconds
    }

    pub(crate) fn args(&self) -> String {
        if self.name == "seconds" {
            String::new()
        } else {
            format!("unit={}", self.name)
        }
    }
}

impl Default for TimeUnitArg {
    fn default() -> Self {
        Self {
            name: "seconds".to_string(),
            seconds: 1.0,
        }
    }
}

macro_rules! time_primitive {
    ($ty:ident, $name:literal, calc_time = $calc:expr) => {
        impl $ty {
            /// The primitive in `unit`s.
            pub fn new(unit: &str) -> Result<Self> {
                Ok(Self {
                    unit: TimeUnitArg::new(unit)?,
                })
            }
        }
        impl Primitive for $ty {
            fn name(&self) -> &str {
                $name
            }
            fn args(&self) -> String {
                self.unit.args()
            }
            fn input_types(&self) -> Vec<Vec<ColumnSchema>> {
                time_index()
            }
            fn return_type(&self) -> Option<ColumnSchema> {
                double_out()
            }
            fn uses_calc_time(&self) -> bool {
                $calc
            }
        }
    };
}

/// `TIME_SINCE_FIRST`: from the earliest child row to the cutoff time.
#[derive(Debug, Clone, Default)]
pub struct TimeSinceFirst {
    unit: TimeUnitArg,
}
time_primitive!(TimeSinceFirst, "time_since_first", calc_time = true);

/// `TIME_SINCE_LAST`: from the latest child row to the cutoff time.
#[derive(Debug, Clone, Default)]
pub struct TimeSinceLast {
    unit: TimeUnitArg,
}
time_primitive!(TimeSinceLast, "time_since_last", calc_time = true);

fn time_since_end(
    values: &PrimitiveArray<TimestampNanosecondType>,
    groups: &Groups<'_>,
    context: &Context,
    unit: &TimeUnitArg,
    first: bool,
) -> ArrayRef {
    let mut rows: Vec<Option<usize>> = vec![None; groups.len()];
    for (row, &g) in groups.ids().iter().enumerate() {
        let slot = &mut rows[g as usize];
        if !first || slot.is_none() {
            *slot = Some(row);
        }
    }
    output(
        rows.iter()
            .map(|row| match row {
                Some(row) if values.is_valid(*row) => {
                    let nanos = context.time - values.value(*row);
                    // pandas' Timedelta.total_seconds keeps microseconds.
                    unit.convert((nanos / 1_000) as f64 / 1e6)
                }
                _ => f64::NAN,
            })
            .collect(),
    )
}

impl AggregationPrimitive for TimeSinceFirst {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        context: &Context,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![time_since_end(
            times(self.name(), &inputs[0])?,
            groups,
            context,
            &self.unit,
            true,
        )])
    }
}

impl AggregationPrimitive for TimeSinceLast {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        context: &Context,
    ) -> Result<Vec<ArrayRef>> {
        Ok(vec![time_since_end(
            times(self.name(), &inputs[0])?,
            groups,
            context,
            &self.unit,
            false,
        )])
    }
}

/// `AVG_TIME_BETWEEN`: the mean gap between consecutive child rows, null
/// below two.
#[derive(Debug, Clone, Default)]
pub struct AvgTimeBetween {
    unit: TimeUnitArg,
}
time_primitive!(AvgTimeBetween, "avg_time_between", calc_time = false);

impl AggregationPrimitive for AvgTimeBetween {
    fn aggregate(
        &self,
        inputs: &[ArrayRef],
        groups: &Groups<'_>,
        _: &Context,
    ) -> Result<Vec<ArrayRef>> {
        let values = times(self.name(), &inputs[0])?;
        let mut low = vec![i64::MAX; groups.len()];
        let mut high = vec![i64::MIN; groups.len()];
        let mut n = vec![0u64; groups.len()];
        for (row, &g) in groups.ids().iter().enumerate() {
            if values.is_valid(row) {
                let g = g as usize;
                let t = values.value(row);
                low[g] = low[g].min(t);
                high[g] = high[g].max(t);
                n[g] += 1;
            }
        }
        Ok(vec![output(
            (0..groups.len())
                .map(|g| {
                    if n[g] < 2 {
                        f64::NAN
                    } else {
                        let avg = (high[g] - low[g]) as f64 / (n[g] - 1) as f64;
                        self.unit.convert(avg * 1e-9)
                    }
                })
                .collect(),
        )])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    fn run(p: &dyn AggregationPrimitive, input: ArrayRef, ids: &[u32], n: usize) -> ArrayRef {
        p.aggregate(&[input], &Groups::new(ids, n), &Context { time: 0 })
            .unwrap()
            .remove(0)
    }

    fn floats(a: &ArrayRef) -> Vec<Option<f64>> {
        a.as_primitive::<Float64Type>().iter().collect()
    }

    #[test]
    fn counting_small_codes_agrees_with_sorting() {
        // Whole numbers are counted; the same shifted by a half are sorted.
        let values = [
            Some(2.0),
            Some(2.0),
            Some(1.0),
            None,
            Some(1.0),
            Some(3.0),
            Some(7.0),
            Some(7.0),
        ];
        let ids = [0, 0, 0, 0, 0, 0, 1, 2];
        let whole: ArrayRef = Arc::new(Float64Array::from(values.to_vec()));
        let shifted: ArrayRef = Arc::new(Float64Array::from(
            values
                .iter()
                .map(|v| v.map(|v| v + 0.5))
                .collect::<Vec<_>>(),
        ));
        assert!(DenseCodes::of(&whole).is_some());
        assert!(DenseCodes::of(&shifted).is_none());
        let modes = floats(&run(&Mode, whole.clone(), &ids, 4));
        let shifted_modes = floats(&run(&Mode, shifted.clone(), &ids, 4));
        // The tie of 1 and 2 goes to the smaller; an empty group has none.
        assert_eq!(modes, [Some(1.0), Some(7.0), Some(7.0), None]);
        assert_eq!(
            shifted_modes,
            modes.iter().map(|m| m.map(|m| m + 0.5)).collect::<Vec<_>>()
        );
        assert_eq!(
            floats(&run(&NumUnique, whole, &ids, 4)),
            floats(&run(&NumUnique, shifted, &ids, 4))
        );
    }

    #[test]
    fn numeric_aggregations_follow_pandas() {
        let x: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(1.0),
            None,
            Some(2.0),
            Some(4.0),
            Some(3.0),
        ]));
        let ids = [0, 0, 0, 1, 0];
        assert_eq!(
            floats(&run(&Sum, x.clone(), &ids, 3)),
            vec![Some(6.0), Some(4.0), Some(0.0)]
        );
        assert_eq!(
            floats(&run(&Mean, x.clone(), &ids, 3)),
            vec![Some(2.0), Some(4.0), None]
        );
        assert_eq!(
            floats(&run(&Std, x.clone(), &ids, 3)),
            vec![Some(1.0), None, None]
        );
        assert_eq!(
            floats(&run(&Min, x.clone(), &ids, 3)),
            vec![Some(1.0), Some(4.0), None]
        );
        assert_eq!(
            floats(&run(&Median, x.clone(), &ids, 3)),
            vec![Some(2.0), Some(4.0), None]
        );
        assert_eq!(
            floats(&run(&Skew, x.clone(), &ids, 3)),
            vec![Some(0.0), None, None]
        );
        assert_eq!(
            floats(&run(&Count, x, &ids, 3)),
            vec![Some(3.0), Some(1.0), Some(0.0)]
        );
        // pandas: pd.Series([1, 2, 10]).skew() == 1.6523167403329906
        let y: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0, 10.0]));
        let s = floats(&run(&Skew, y, &[0, 0, 0], 1))[0].unwrap();
        assert!((s - 1.6523167403329906).abs() < 1e-15, "{s}");
    }

    #[test]
    fn mode_breaks_ties_by_smallest_value() {
        let dict = crate::entityset::sorted_dictionary(
            &(Arc::new(StringArray::from(vec![
                Some("b"),
                Some("a"),
                Some("b"),
                Some("a"),
                None,
                Some("c"),
            ])) as ArrayRef),
        )
        .unwrap();
        let x: ArrayRef = Arc::new(dict);
        let mode = run(&Mode, x.clone(), &[0, 0, 0, 0, 1, 1], 3);
        let mode = arrow::compute::cast(&mode, &DataType::Utf8).unwrap();
        let mode: Vec<_> = mode.as_string::<i32>().iter().collect();
        assert_eq!(mode, vec![Some("a"), Some("c"), None]);
        let unique = run(&NumUnique, x, &[0, 0, 0, 0, 1, 1], 3);
        assert_eq!(floats(&unique), vec![Some(2.0), Some(1.0), Some(0.0)]);
    }

    #[test]
    fn pairwise_sum_matches_numpy_blocks() {
        let v: Vec<f64> = (0..1000).map(|i| 0.1 * i as f64).collect();
        let naive: f64 = v.iter().sum();
        assert!((pairwise_sum(&v) - naive).abs() < 1e-9);
    }
}
