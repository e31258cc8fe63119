//! Entity sets: Arrow tables, their indexes and time indexes, and the
//! one-to-many relationships between them.
//!
//! An [`EntitySet`] holds [`Dataframe`]s, each an Arrow [`RecordBatch`] with
//! an index column (unique per row) and optionally a time index (when the
//! row became known), and [`Relationship`]s from a child's foreign key to a
//! parent's index. [`EntitySet::normalize`] carves a parent table out of a
//! child, as Featuretools' `normalize_dataframe` does: transactions give
//! invoices by `InvoiceNo`, invoices give customers by `CustomerID`.
//!
//! [`EntitySet::with_composite`] adds a dataframe whose instances are
//! combinations of parents, each named by the parents' own keys: the
//! (customer, item) pairs of the transactions, without a key column to
//! make.
//!
//! Column types ([`ColumnSchema`]) are inferred from Arrow types (numbers are
//! numeric, strings are categories, timestamps are datetimes) and can be set
//! with [`DataframeBuilder::with_logical_type`].
//!
//! ```
//! use std::sync::Arc;
//! use arrow::array::{Float64Array, Int64Array, StringArray, TimestampNanosecondArray};
//! use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! use arrow::record_batch::RecordBatch;
//! use berserkr_features::entityset::{DataframeBuilder, EntitySet};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("id", DataType::Int64, false),
//!     Field::new("invoice", DataType::Utf8, false),
//!     Field::new("customer", DataType::Int64, false),
//!     Field::new("time", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
//!     Field::new("amount", DataType::Float64, false),
//! ]));
//! let batch = RecordBatch::try_new(schema, vec![
//!     Arc::new(Int64Array::from(vec![0, 1, 2])),
//!     Arc::new(StringArray::from(vec!["a", "a", "b"])),
//!     Arc::new(Int64Array::from(vec![7, 7, 8])),
//!     Arc::new(TimestampNanosecondArray::from(vec![0, 0, 5])),
//!     Arc::new(Float64Array::from(vec![1.5, 2.5, 4.0])),
//! ])?;
//! let mut es = EntitySet::new("shop");
//! es.add_dataframe(DataframeBuilder::new("transactions", batch, "id").with_time_index("time"))?;
//! es.normalize("transactions", "invoices", "invoice", &["customer"])?;
//! es.normalize("invoices", "customers", "customer", &[])?;
//! assert_eq!(es.dataframe("invoices")?.num_rows(), 2);
//! assert_eq!(es.dataframe("customers")?.num_rows(), 2);
//! assert_eq!(es.relationships().len(), 2);
//! # Ok::<(), berserkr_features::Error>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Float64Array, StringArray, UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit, UInt32Type};
use arrow::record_batch::RecordBatch;
use arrow::row::{OwnedRow, RowConverter, SortField};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::schema::{ColumnSchema, LogicalType, SemanticTag, storage_type};

/// The time of a row that has none: never at or before any cutoff.
pub(crate) const NO_TIME: i64 = i64::MAX;

/// One column of a [`Dataframe`]: its name, its schema and its values held
/// in the engine's storage type (numbers as `Float64`, labels and text as
/// sorted `Dictionary<UInt32, Utf8>`, times as nanosecond timestamps).
#[derive(Debug, Clone)]
pub struct Column {
    name: String,
    schema: ColumnSchema,
    values: ArrayRef,
    interesting_values: Vec<String>,
}

impl Column {
    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column's type and tags.
    pub fn schema(&self) -> &ColumnSchema {
        &self.schema
    }

    /// The values, in the engine's storage type.
    pub fn values(&self) -> &ArrayRef {
        &self.values
    }

    /// The values that where-clauses compare this column with.
    pub fn interesting_values(&self) -> &[String] {
        &self.interesting_values
    }
}

/// Options for a dataframe added to an [`EntitySet`].
#[derive(Debug, Clone)]
pub struct DataframeBuilder {
    name: String,
    batch: RecordBatch,
    index: String,
    time_index: Option<String>,
    logical_types: Vec<(String, LogicalType)>,
    already_sorted: bool,
}

impl DataframeBuilder {
    /// A dataframe called `name` over `batch`, whose column `index` holds a
    /// unique id per row.
    pub fn new(name: impl Into<String>, batch: RecordBatch, index: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            batch,
            index: index.into(),
            time_index: None,
            logical_types: Vec::new(),
            already_sorted: false,
        }
    }

    /// The column that says when each row became known (default: none, so
    /// that every row is always visible).
    pub fn with_time_index(mut self, column: impl Into<String>) -> Self {
        self.time_index = Some(column.into());
        self
    }

    /// Sets the logical type of `column` instead of inferring it from its
    /// Arrow type (for instance [`LogicalType::NaturalLanguage`] for a
    /// free-text description).
    pub fn with_logical_type(
        mut self,
        column: impl Into<String>,
        logical_type: LogicalType,
    ) -> Self {
        self.logical_types.push((column.into(), logical_type));
        self
    }

    /// Promises that the rows are already ordered by time index then index
    /// (default `false`: they are sorted on adding, as Featuretools does).
    pub fn with_already_sorted(mut self, sorted: bool) -> Self {
        self.already_sorted = sorted;
        self
    }
}

/// A table of an [`EntitySet`].
#[derive(Debug, Clone)]
pub struct Dataframe {
    name: String,
    columns: Vec<Column>,
    index: usize,
    time_index: Option<usize>,
    /// Nanoseconds of each row's time index ([`NO_TIME`] when null); empty
    /// without a time index.
    times: Arc<Vec<i64>>,
    /// The last time each row or any of its descendants was seen, once
    /// [`EntitySet::add_last_time_indexes`] ran.
    last_times: Option<Arc<Vec<i64>>>,
    /// Row of each index value.
    lookup: Arc<IndexLookup>,
}

/// From an index value to its row, by the cheapest means the index's
/// values allow.
#[derive(Debug)]
enum IndexLookup {
    /// Labels: the row of each key of the (sorted, distinct) dictionary.
    Labels {
        values: StringArray,
        row_of_key: Vec<u32>,
    },
    /// Whole numbers in a narrow range: the row of `value - min`.
    Dense { min: i64, rows: Vec<u32> },
    /// Anything else, by the value's row-format bytes.
    Hashed {
        converter: RowConverter,
        rows: HashMap<OwnedRow, u32>,
    },
}

impl IndexLookup {
    /// The lookup of `index`, or the row of the first value seen twice.
    fn build(index: &ArrayRef) -> Result<Self, usize> {
        let n = index.len();
        if let Some(dict) = index.as_dictionary_opt::<UInt32Type>()
            && let Some(values) = dict.values().as_string_opt::<i32>()
        {
            let mut row_of_key = vec![u32::MAX; values.len()];
            for (row, key) in dict.keys().values().iter().enumerate() {
                let slot = &mut row_of_key[*key as usize];
                if *slot != u32::MAX {
                    return Err(row);
                }
                *slot = row as u32;
            }
            return Ok(Self::Labels {
                values: values.clone(),
                row_of_key,
            });
        }
        if let Some(numbers) = index.as_primitive_opt::<Float64Type>() {
            let values = numbers.values();
            let whole = values.iter().all(|v| v.fract() == 0.0 && v.abs() < 9.0e15);
            if whole && !values.is_empty() {
                let min = values.iter().fold(f64::INFINITY, |a, &b| a.min(b)) as i64;
                let max = values.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)) as i64;
                let span = (max - min) as usize + 1;
                if span <= 4 * n + 1024 {
                    let mut rows = vec![u32::MAX; span];
                    for (row, &v) in values.iter().enumerate() {
                        let slot = &mut rows[(v as i64 - min) as usize];
                        if *slot != u32::MAX {
                            return Err(row);
                        }
                        *slot = row as u32;
                    }
                    return Ok(Self::Dense { min, rows });
                }
            }
        }
        let converter = RowConverter::new(vec![SortField::new(index.data_type().clone())])
            .map_err(|_| 0usize)?;
        let converted = converter
            .convert_columns(std::slice::from_ref(index))
            .map_err(|_| 0usize)?;
        let mut rows = HashMap::with_capacity(n);
        for i in 0..n {
            if rows.insert(converted.row(i).owned(), i as u32).is_some() {
                return Err(i);
            }
        }
        Ok(Self::Hashed { converter, rows })
    }

    /// The row of each value of `keys` (of the index's storage type).
    fn rows_of(&self, keys: &ArrayRef) -> Result<Vec<Option<u32>>> {
        Ok(match self {
            Self::Labels { values, row_of_key } => {
                let dict = keys.as_dictionary::<UInt32Type>();
                let child_values = dict.values().as_string::<i32>();
                // Once per distinct value of the child, not once per row.
                let parent_row: Vec<Option<u32>> = child_values
                    .iter()
                    .map(|v| {
                        let v = v?;
                        let key = binary_search_strings(values, v)?;
                        Some(row_of_key[key]).filter(|&r| r != u32::MAX)
                    })
                    .collect();
                dict.keys()
                    .iter()
                    .map(|k| k.and_then(|k| parent_row[k as usize]))
                    .collect()
            }
            Self::Dense { min, rows } => keys
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| {
                    let v = v?;
                    if v.fract() != 0.0 {
                        return None;
                    }
                    let at = (v as i64).checked_sub(*min)?;
                    let row = *rows.get(usize::try_from(at).ok()?)?;
                    (row != u32::MAX).then_some(row)
                })
                .collect(),
            Self::Hashed { converter, rows } => {
                let converted = converter.convert_columns(std::slice::from_ref(keys))?;
                (0..keys.len())
                    .map(|i| {
                        if keys.is_null(i) {
                            None
                        } else {
                            rows.get(&converted.row(i).owned()).copied()
                        }
                    })
                    .collect()
            }
        })
    }
}

/// The first row of each distinct non-null value, in row order.
fn first_row_of_each_value(values: &ArrayRef) -> Result<Vec<u32>> {
    let mut first_rows = Vec::new();
    if let Some(dict) = values.as_dictionary_opt::<UInt32Type>() {
        let mut seen = vec![false; dict.values().len()];
        for (i, key) in dict.keys().iter().enumerate() {
            if let Some(key) = key
                && !std::mem::replace(&mut seen[key as usize], true)
            {
                first_rows.push(i as u32);
            }
        }
    } else if let Some(numbers) = values.as_primitive_opt::<Float64Type>() {
        let mut seen = std::collections::HashSet::new();
        for (i, v) in numbers.iter().enumerate() {
            // -0.0 and 0.0 are one value.
            if let Some(v) = v
                && seen.insert((v + 0.0).to_bits())
            {
                first_rows.push(i as u32);
            }
        }
    } else {
        let converter = RowConverter::new(vec![SortField::new(values.data_type().clone())])?;
        let keys = converter.convert_columns(std::slice::from_ref(values))?;
        let mut seen = std::collections::HashSet::new();
        for i in 0..values.len() {
            if !values.is_null(i) && seen.insert(keys.row(i)) {
                first_rows.push(i as u32);
            }
        }
    }
    Ok(first_rows)
}

/// The position of `value` in the sorted, distinct `values`.
fn binary_search_strings(values: &StringArray, value: &str) -> Option<usize> {
    let (mut low, mut high) = (0, values.len());
    while low < high {
        let mid = (low + high) / 2;
        match values.value(mid).cmp(value) {
            std::cmp::Ordering::Less => low = mid + 1,
            std::cmp::Ordering::Greater => high = mid,
            std::cmp::Ordering::Equal => return Some(mid),
        }
    }
    None
}

impl Dataframe {
    /// The dataframe's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The number of rows.
    pub fn num_rows(&self) -> usize {
        self.columns[self.index].values.len()
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Result<&Column> {
        self.position(name).map(|i| &self.columns[i])
    }

    pub(crate) fn position(&self, name: &str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| Error::UnknownColumn {
                dataframe: self.name.clone(),
                column: name.to_string(),
            })
    }

    /// The index column.
    pub fn index(&self) -> &Column {
        &self.columns[self.index]
    }

    /// The time index column, if any.
    pub fn time_index(&self) -> Option<&Column> {
        self.time_index.map(|i| &self.columns[i])
    }

    pub(crate) fn times(&self) -> Option<&[i64]> {
        self.time_index.map(|_| self.times.as_slice())
    }

    pub(crate) fn last_times(&self) -> Option<&[i64]> {
        self.last_times.as_deref().map(Vec::as_slice)
    }

    /// The rows whose index value is in `keys` (an array of the index's
    /// storage type), or `None` for a value not present.
    pub(crate) fn rows_of(&self, keys: &ArrayRef) -> Result<Vec<Option<u32>>> {
        let index_type = self.index().values.data_type();
        let keys = if keys.data_type() == index_type {
            keys.clone()
        } else if matches!(index_type, DataType::Dictionary(..)) {
            Arc::new(sorted_dictionary(keys)?) as ArrayRef
        } else {
            cast(keys, index_type)?
        };
        self.lookup.rows_of(&keys)
    }

    /// The rows as a [`RecordBatch`] in storage types (numbers as `Float64`,
    /// labels as dictionaries).
    pub fn to_record_batch(&self) -> Result<RecordBatch> {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| Field::new(&c.name, c.values.data_type().clone(), true))
            .collect();
        let arrays = self.columns.iter().map(|c| c.values.clone()).collect();
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }

    fn build(builder: DataframeBuilder) -> Result<Self> {
        let DataframeBuilder {
            name,
            batch,
            index,
            time_index,
            logical_types,
            already_sorted,
        } = builder;
        let schema = batch.schema();
        let find = |column: &str| {
            schema.index_of(column).map_err(|_| Error::UnknownColumn {
                dataframe: name.clone(),
                column: column.to_string(),
            })
        };
        let index_pos = find(&index)?;
        let time_pos = time_index.as_deref().map(find).transpose()?;
        for (column, _) in &logical_types {
            find(column)?;
        }
        let column_types: Vec<LogicalType> = schema
            .fields()
            .iter()
            .map(|field| {
                logical_types
                    .iter()
                    .rev()
                    .find(|(c, _)| c == field.name())
                    .map(|(_, t)| *t)
                    .unwrap_or_else(|| LogicalType::infer(field.data_type(), field.is_nullable()))
            })
            .collect();
        // Converting a column of labels (interning every string) is the
        // costly part: the columns are converted in parallel.
        let converted: Vec<Result<ArrayRef>> = column_types
            .par_iter()
            .enumerate()
            .map(|(pos, &logical_type)| {
                to_storage(batch.column(pos), logical_type).map_err(|e| Error::InvalidColumn {
                    dataframe: name.clone(),
                    column: schema.field(pos).name().clone(),
                    reason: e.to_string(),
                })
            })
            .collect();
        let mut columns = Vec::with_capacity(batch.num_columns());
        for ((pos, field), values) in schema.fields().iter().enumerate().zip(converted) {
            let logical_type = column_types[pos];
            let mut column_schema = ColumnSchema::of(logical_type);
            if pos == index_pos {
                column_schema = ColumnSchema::typed(logical_type).with_tag(SemanticTag::Index);
            } else if Some(pos) == time_pos {
                if logical_type != LogicalType::Datetime {
                    return Err(Error::InvalidColumn {
                        dataframe: name.clone(),
                        column: field.name().clone(),
                        reason: format!(
                            "a time index must be a datetime, not {}",
                            logical_type.name()
                        ),
                    });
                }
                column_schema = ColumnSchema::typed(logical_type).with_tag(SemanticTag::TimeIndex);
            }
            let values = values?;
            columns.push(Column {
                name: field.name().clone(),
                schema: column_schema,
                values,
                interesting_values: Vec::new(),
            });
        }
        let mut frame = Self::assemble(name, columns, index_pos, time_pos)?;
        if frame.time_index.is_some() && !already_sorted {
            frame = frame.sorted_by_time()?;
        }
        Ok(frame)
    }

    fn assemble(
        name: String,
        columns: Vec<Column>,
        index: usize,
        time_index: Option<usize>,
    ) -> Result<Self> {
        let times = match time_index {
            Some(pos) => {
                let values = columns[pos]
                    .values
                    .as_primitive::<arrow::datatypes::TimestampNanosecondType>();
                values.iter().map(|t| t.unwrap_or(NO_TIME)).collect()
            }
            None => Vec::new(),
        };
        let index_values = &columns[index].values;
        if let Some(i) = (0..index_values.len()).find(|&i| index_values.is_null(i)) {
            return Err(Error::InvalidColumn {
                dataframe: name,
                column: columns[index].name.clone(),
                reason: format!("the index is null at row {i}"),
            });
        }
        let lookup = match IndexLookup::build(index_values) {
            Ok(lookup) => lookup,
            Err(row) => {
                return Err(Error::DuplicateIndex {
                    dataframe: name,
                    column: columns[index].name.clone(),
                    row,
                });
            }
        };
        Ok(Self {
            name,
            columns,
            index,
            time_index,
            times: Arc::new(times),
            last_times: None,
            lookup: Arc::new(lookup),
        })
    }

    /// The same rows ordered by (time index, index), stably, as Woodwork
    /// orders a dataframe with a time index.
    fn sorted_by_time(self) -> Result<Self> {
        let index_values = self.columns[self.index].values.clone();
        let mut order: Vec<u32> = (0..self.num_rows() as u32).collect();
        let times = &self.times;
        // Labels compare as their keys (the dictionary is sorted), numbers
        // as numbers; anything else in the row format.
        if let Some(dict) = index_values.as_dictionary_opt::<UInt32Type>() {
            let keys = dict.keys().values();
            order.sort_by_key(|&r| (times[r as usize], keys[r as usize]));
        } else if let Some(numbers) = index_values.as_primitive_opt::<Float64Type>() {
            let values = numbers.values();
            order.sort_by(|&a, &b| {
                times[a as usize]
                    .cmp(&times[b as usize])
                    .then_with(|| values[a as usize].total_cmp(&values[b as usize]))
            });
        } else {
            let converter =
                RowConverter::new(vec![SortField::new(index_values.data_type().clone())])?;
            let keys = converter.convert_columns(&[index_values])?;
            order.sort_by(|&a, &b| {
                times[a as usize]
                    .cmp(&times[b as usize])
                    .then_with(|| keys.row(a as usize).cmp(&keys.row(b as usize)))
            });
        }
        if order.iter().enumerate().all(|(i, &r)| i as u32 == r) {
            return Ok(self);
        }
        self.take_rows(&order)
    }

    /// The rows at `rows`, in that order.
    fn take_rows(self, rows: &[u32]) -> Result<Self> {
        let indices = UInt32Array::from(rows.to_vec());
        let mut columns = self.columns;
        for column in &mut columns {
            column.values = take(column.values.as_ref(), &indices, None)?;
        }
        Self::assemble(self.name, columns, self.index, self.time_index)
    }
}

/// A one-to-many link: each row of `child` names its parent row through
/// `child_column`, which holds values of `parent`'s index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relationship {
    /// The parent dataframe (the "one" side).
    pub parent: String,
    /// The parent's index column.
    pub parent_column: String,
    /// The child dataframe (the "many" side).
    pub child: String,
    /// The child's foreign key column.
    pub child_column: String,
}

/// Child rows grouped by parent row, for one relationship: built once, so
/// that "the children of these parents" is a lookup.
#[derive(Debug, Clone)]
pub(crate) struct RelationshipIndex {
    /// For each child row, its parent row (`u32::MAX` when the key is null
    /// or not in the parent).
    pub(crate) parent_of: Vec<u32>,
    /// `children[offsets[p]..offsets[p + 1]]` are the child rows of parent
    /// row `p`, ascending (so in time order).
    pub(crate) offsets: Vec<u32>,
    pub(crate) children: Vec<u32>,
}

impl RelationshipIndex {
    fn build(parent: &Dataframe, child: &Dataframe, child_column: usize) -> Result<Self> {
        let parent_rows = parent.rows_of(&child.columns[child_column].values)?;
        let parent_of: Vec<u32> = parent_rows.iter().map(|r| r.unwrap_or(u32::MAX)).collect();
        let mut counts = vec![0u32; parent.num_rows() + 1];
        for &p in &parent_of {
            if p != u32::MAX {
                counts[p as usize + 1] += 1;
            }
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let offsets = counts.clone();
        let mut next = counts;
        let mut children = vec![0u32; offsets[parent.num_rows()] as usize];
        for (c, &p) in parent_of.iter().enumerate() {
            if p != u32::MAX {
                children[next[p as usize] as usize] = c as u32;
                next[p as usize] += 1;
            }
        }
        Ok(Self {
            parent_of,
            offsets,
            children,
        })
    }

    pub(crate) fn children_of(&self, parent_row: u32) -> &[u32] {
        let p = parent_row as usize;
        &self.children[self.offsets[p] as usize..self.offsets[p + 1] as usize]
    }
}

/// A dataframe made by [`EntitySet::with_composite`]: its instances are the
/// combinations of its parents' rows that its child's rows reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composite {
    /// The composite dataframe.
    pub dataframe: String,
    /// The dataframe whose rows were combined.
    pub child: String,
    /// Each parent, with the name of its index column, which is also the
    /// composite's column of that parent's keys.
    pub keys: Vec<(String, String)>,
}

/// Dataframes and the relationships between them.
#[derive(Debug, Clone)]
pub struct EntitySet {
    name: String,
    dataframes: Vec<Dataframe>,
    relationships: Vec<Relationship>,
    indexes: Vec<Arc<RelationshipIndex>>,
    composites: Vec<Composite>,
}

impl EntitySet {
    /// An empty entity set.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            dataframes: Vec::new(),
            relationships: Vec::new(),
            indexes: Vec::new(),
            composites: Vec::new(),
        }
    }

    /// The entity set's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The dataframes, in the order they were added.
    pub fn dataframes(&self) -> &[Dataframe] {
        &self.dataframes
    }

    /// The relationships, in the order they were added.
    pub fn relationships(&self) -> &[Relationship] {
        &self.relationships
    }

    pub(crate) fn relationship_index(&self, relationship: usize) -> &RelationshipIndex {
        &self.indexes[relationship]
    }

    /// The dataframe called `name`.
    pub fn dataframe(&self, name: &str) -> Result<&Dataframe> {
        self.dataframes
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(|| Error::UnknownDataframe {
                name: name.to_string(),
            })
    }

    pub(crate) fn dataframe_position(&self, name: &str) -> Result<usize> {
        self.dataframes
            .iter()
            .position(|d| d.name == name)
            .ok_or_else(|| Error::UnknownDataframe {
                name: name.to_string(),
            })
    }

    fn dataframe_mut(&mut self, name: &str) -> Result<&mut Dataframe> {
        let pos = self.dataframe_position(name)?;
        Ok(&mut self.dataframes[pos])
    }

    /// Adds a dataframe.
    pub fn add_dataframe(&mut self, builder: DataframeBuilder) -> Result<&mut Self> {
        if self.dataframes.iter().any(|d| d.name == builder.name) {
            return Err(Error::DuplicateDataframe { name: builder.name });
        }
        let frame = Dataframe::build(builder)?;
        self.dataframes.push(frame);
        Ok(self)
    }

    /// Links `child.child_column` to the index of `parent`. The child column
    /// becomes a foreign key.
    pub fn add_relationship(
        &mut self,
        parent: &str,
        child: &str,
        child_column: &str,
    ) -> Result<&mut Self> {
        let parent_pos = self.dataframe_position(parent)?;
        let child_pos = self.dataframe_position(child)?;
        let column_pos = self.dataframes[child_pos].position(child_column)?;
        let parent_frame = &self.dataframes[parent_pos];
        let index_type = parent_frame.index().values.data_type().clone();
        {
            let child_frame = &mut self.dataframes[child_pos];
            let column = &mut child_frame.columns[column_pos];
            if column.schema.has_tag(SemanticTag::Index)
                || column.schema.has_tag(SemanticTag::TimeIndex)
            {
                return Err(Error::InvalidColumn {
                    dataframe: child.to_string(),
                    column: child_column.to_string(),
                    reason: "an index or time index cannot be a foreign key".to_string(),
                });
            }
            if column.values.data_type() != &index_type {
                column.values = cast(&column.values, &index_type)?;
            }
            // A foreign key takes the parent index's type with its standard tags.
            let parent_type = self.dataframes[parent_pos]
                .index()
                .schema
                .logical_type
                .unwrap_or(LogicalType::Unknown);
            let child_frame = &mut self.dataframes[child_pos];
            child_frame.columns[column_pos].schema =
                ColumnSchema::of(parent_type).with_tag(SemanticTag::ForeignKey);
        }
        let index = RelationshipIndex::build(
            &self.dataframes[parent_pos],
            &self.dataframes[child_pos],
            column_pos,
        )?;
        let parent_column = self.dataframes[parent_pos].index().name.clone();
        self.relationships.push(Relationship {
            parent: parent.to_string(),
            parent_column,
            child: child.to_string(),
            child_column: child_column.to_string(),
        });
        self.indexes.push(Arc::new(index));
        // Last time indexes depend on the relationships.
        for frame in &mut self.dataframes {
            frame.last_times = None;
        }
        Ok(self)
    }

    /// Creates dataframe `new_name` from the distinct values of `base`'s
    /// column `index`, moving `additional_columns` (whose value per new index
    /// is taken from the first row, in time order, that has it) from `base` to
    /// the new dataframe, and links the two. When `base` has a time index
    /// the new dataframe gets one too, `first_<base>_time`, the time of that
    /// first row. Rows with a null `index` are not parents of anything.
    /// This is Featuretools' `normalize_dataframe` with `make_time_index`
    /// left to its default.
    pub fn normalize(
        &mut self,
        base: &str,
        new_name: &str,
        index: &str,
        additional_columns: &[&str],
    ) -> Result<&mut Self> {
        if self.dataframes.iter().any(|d| d.name == new_name) {
            return Err(Error::DuplicateDataframe {
                name: new_name.to_string(),
            });
        }
        let base_frame = self.dataframe(base)?;
        let index_pos = base_frame.position(index)?;
        if index_pos == base_frame.index {
            return Err(Error::InvalidColumn {
                dataframe: base.to_string(),
                column: index.to_string(),
                reason: "cannot normalize on the dataframe's own index".to_string(),
            });
        }
        let mut moved = Vec::new();
        for &column in additional_columns {
            let pos = base_frame.position(column)?;
            if pos == base_frame.index || Some(pos) == base_frame.time_index || pos == index_pos {
                return Err(Error::InvalidColumn {
                    dataframe: base.to_string(),
                    column: column.to_string(),
                    reason: "the index, the time index and the new index cannot be moved"
                        .to_string(),
                });
            }
            moved.push(pos);
        }
        // The first row of each distinct, non-null value of `index`.
        let indices = UInt32Array::from(first_row_of_each_value(
            &base_frame.columns[index_pos].values,
        )?);
        let mut columns = Vec::new();
        let index_column = &base_frame.columns[index_pos];
        let index_type = index_column
            .schema
            .logical_type
            .unwrap_or(LogicalType::Unknown);
        columns.push(Column {
            name: index.to_string(),
            schema: ColumnSchema::typed(index_type).with_tag(SemanticTag::Index),
            values: take(index_column.values.as_ref(), &indices, None)?,
            interesting_values: Vec::new(),
        });
        for &pos in &moved {
            let column = &base_frame.columns[pos];
            let mut schema = column.schema.clone();
            schema.tags.remove(&SemanticTag::ForeignKey);
            columns.push(Column {
                name: column.name.clone(),
                schema,
                values: take(column.values.as_ref(), &indices, None)?,
                interesting_values: column.interesting_values.clone(),
            });
        }
        let mut time_pos = None;
        if let Some(base_time) = base_frame.time_index {
            let column = &base_frame.columns[base_time];
            time_pos = Some(columns.len());
            columns.push(Column {
                name: format!("first_{base}_time"),
                schema: column.schema.clone(),
                values: take(column.values.as_ref(), &indices, None)?,
                interesting_values: Vec::new(),
            });
        }
        let new_frame = Dataframe::assemble(new_name.to_string(), columns, 0, time_pos)?;
        // The moved columns leave the base; positions shift.
        let base_frame = self.dataframe_mut(base)?;
        let mut kept = Vec::new();
        let mut new_index = 0;
        let mut new_time = None;
        for (pos, column) in std::mem::take(&mut base_frame.columns)
            .into_iter()
            .enumerate()
        {
            if moved.contains(&pos) {
                continue;
            }
            if pos == base_frame.index {
                new_index = kept.len();
            }
            if Some(pos) == base_frame.time_index {
                new_time = Some(kept.len());
            }
            kept.push(column);
        }
        base_frame.columns = kept;
        base_frame.index = new_index;
        base_frame.time_index = new_time;
        self.dataframes.push(new_frame);
        self.add_relationship(new_name, base, index)
    }

    /// This entity set with one more dataframe, `name`, whose instances are
    /// the distinct combinations of `parents` that the rows of `child`
    /// reach (each parent by the one chain of relationships up from
    /// `child`): with `("customer_products", "transactions", ["customers",
    /// "products"])`, one instance per (customer, item) ever bought.
    ///
    /// An instance is named by its parents' keys, not by a key column the
    /// caller makes: the composite holds one column per parent, named as
    /// that parent's index (`CustomerID`, `StockCode`), each a foreign key
    /// to it, and [`FeatureMatrixBuilder`](crate::FeatureMatrixBuilder)
    /// takes and gives instances as those columns (a
    /// [`StructArray`](arrow::array::StructArray) of
    /// them). Its children are the rows of `child` that reach every
    /// parent, its time index the first of their times, as
    /// [`normalize`](Self::normalize) makes it. Internally `child` gets a
    /// column `name` locating each row's combination, of a type no
    /// primitive takes; so that it changes no other target's features,
    /// the composite goes into a new entity set and `self` is left as it
    /// is.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow::array::{Float64Array, Int64Array, StringArray, TimestampNanosecondArray};
    /// # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    /// # use arrow::record_batch::RecordBatch;
    /// use berserkr_features::entityset::{DataframeBuilder, EntitySet};
    /// # let schema = Arc::new(Schema::new(vec![
    /// #     Field::new("id", DataType::Int64, false),
    /// #     Field::new("customer", DataType::Int64, false),
    /// #     Field::new("item", DataType::Utf8, false),
    /// #     Field::new("time", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
    /// #     Field::new("amount", DataType::Float64, false),
    /// # ]));
    /// # let batch = RecordBatch::try_new(schema, vec![
    /// #     Arc::new(Int64Array::from(vec![0, 1, 2])),
    /// #     Arc::new(Int64Array::from(vec![7, 7, 8])),
    /// #     Arc::new(StringArray::from(vec!["mug", "mug", "mug"])),
    /// #     Arc::new(TimestampNanosecondArray::from(vec![0, 3, 5])),
    /// #     Arc::new(Float64Array::from(vec![1.5, 2.5, 4.0])),
    /// # ])?;
    /// let mut es = EntitySet::new("shop");
    /// es.add_dataframe(DataframeBuilder::new("transactions", batch, "id").with_time_index("time"))?;
    /// es.normalize("transactions", "customers", "customer", &[])?;
    /// es.normalize("transactions", "items", "item", &[])?;
    ///
    /// let pairs = es.with_composite("customer_items", "transactions", &["customers", "items"])?;
    /// // (7, mug) and (8, mug).
    /// assert_eq!(pairs.dataframe("customer_items")?.num_rows(), 2);
    /// assert!(es.dataframe("customer_items").is_err());
    /// # Ok::<(), berserkr_features::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::DuplicateDataframe`] if `name` exists;
    /// [`Error::InvalidOption`] for fewer than two parents, a parent given
    /// twice, two parents whose index columns share a name, or more
    /// combinations than a `f64` counts exactly (2^53);
    /// [`Error::NoRelationship`] for a parent that `child` reaches by no
    /// chain, or by more than one.
    pub fn with_composite(&self, name: &str, child: &str, parents: &[&str]) -> Result<EntitySet> {
        if self.dataframes.iter().any(|d| d.name == name) {
            return Err(Error::DuplicateDataframe {
                name: name.to_string(),
            });
        }
        let invalid = |reason: String| Error::InvalidOption {
            option: "composite parents",
            reason,
        };
        if parents.len() < 2 {
            return Err(invalid(format!(
                "a composite needs two parents or more, got {parents:?}"
            )));
        }
        let child_pos = self.dataframe_position(child)?;
        let n_child = self.dataframes[child_pos].num_rows();
        let mut keys: Vec<(String, String)> = Vec::with_capacity(parents.len());
        // The parent row of every child row, per parent (`u32::MAX`: none).
        let mut parent_rows: Vec<Vec<u32>> = Vec::with_capacity(parents.len());
        let mut radix: Vec<f64> = Vec::with_capacity(parents.len());
        for &parent in parents {
            let parent_frame = self.dataframe(parent)?;
            let column = parent_frame.index().name.clone();
            if keys.iter().any(|(p, c)| p == parent || *c == column) {
                return Err(invalid(format!(
                    "{parent:?} is given twice, or its index {column:?} has the name of another parent's"
                )));
            }
            let path = self.unique_forward_path(child, parent)?;
            let mut rows: Vec<u32> = (0..n_child as u32).collect();
            for r in path {
                let index = &self.indexes[r];
                for row in rows.iter_mut() {
                    if *row != u32::MAX {
                        *row = index.parent_of[*row as usize];
                    }
                }
            }
            parent_rows.push(rows);
            radix.push(parent_frame.num_rows() as f64);
            keys.push((parent.to_string(), column));
        }
        if radix.iter().product::<f64>() > 2f64.powi(53) {
            return Err(invalid(format!(
                "{} combinations of {parents:?} are more than a f64 counts exactly",
                radix.iter().product::<f64>()
            )));
        }
        // The combination of each child row, in mixed radix: exact, as
        // whole numbers below 2^53.
        let codes: Float64Array = (0..n_child)
            .map(|row| {
                parent_rows
                    .iter()
                    .zip(&radix)
                    .try_fold(0.0, |code, (rows, &r)| {
                        combination_digit(Some(code), Some(rows[row]).filter(|&p| p != u32::MAX), r)
                    })
            })
            .collect();

        let mut es = self.clone();
        es.dataframes[child_pos].columns.push(Column {
            name: name.to_string(),
            schema: ColumnSchema::typed(LogicalType::Unknown),
            values: Arc::new(codes),
            interesting_values: Vec::new(),
        });
        es.normalize(child, name, name, &[])?;
        // Each combination's parent keys, from its code.
        let composite_pos = es.dataframe_position(name)?;
        let instance_codes = es.dataframes[composite_pos]
            .index()
            .values
            .as_primitive::<Float64Type>()
            .values()
            .to_vec();
        let mut remaining = instance_codes;
        let mut rows_by_parent: Vec<Vec<u32>> = vec![Vec::new(); parents.len()];
        for (k, &r) in radix.iter().enumerate().rev() {
            rows_by_parent[k] = remaining.iter().map(|&c| (c % r) as u32).collect();
            for c in remaining.iter_mut() {
                *c = (*c / r).floor();
            }
        }
        for ((parent, column), rows) in keys.iter().zip(rows_by_parent) {
            let parent_frame = es.dataframe(parent)?;
            let index = parent_frame.index();
            let values = take(index.values.as_ref(), &UInt32Array::from(rows), None)?;
            let logical_type = index.schema.logical_type.unwrap_or(LogicalType::Unknown);
            es.dataframes[composite_pos].columns.push(Column {
                name: column.clone(),
                schema: ColumnSchema::of(logical_type),
                values,
                interesting_values: Vec::new(),
            });
            es.add_relationship(parent, name, column)?;
        }
        es.composites.push(Composite {
            dataframe: name.to_string(),
            child: child.to_string(),
            keys,
        });
        Ok(es)
    }

    /// The composite that `dataframe` is, if it is one.
    pub fn composite(&self, dataframe: &str) -> Option<&Composite> {
        self.composites.iter().find(|c| c.dataframe == dataframe)
    }

    /// The rows of composite `composite` named by `ids`: a `StructArray`
    /// with one field per parent key (by name, in any order, of any type
    /// that casts to the key's), `None` for a combination not present.
    pub(crate) fn composite_rows(
        &self,
        composite: &Composite,
        ids: &ArrayRef,
    ) -> Result<Vec<Option<u32>>> {
        let invalid = |reason: String| Error::InvalidOption {
            option: "instance ids",
            reason,
        };
        let Some(fields) = ids.as_struct_opt() else {
            return Err(invalid(format!(
                "the instances of composite {:?} are a struct of {:?}, not {}",
                composite.dataframe,
                composite.keys.iter().map(|k| &k.1).collect::<Vec<_>>(),
                ids.data_type()
            )));
        };
        let frame = self.dataframe(&composite.dataframe)?;
        let mut codes: Vec<Option<f64>> = vec![Some(0.0); ids.len()];
        for (parent, column) in &composite.keys {
            let Some(values) = fields.column_by_name(column) else {
                return Err(invalid(format!(
                    "the instances of composite {:?} have no field {column:?}",
                    composite.dataframe
                )));
            };
            let parent_frame = self.dataframe(parent)?;
            let radix = parent_frame.num_rows() as f64;
            for (code, row) in codes.iter_mut().zip(parent_frame.rows_of(values)?) {
                *code = combination_digit(*code, row, radix);
            }
        }
        for (i, code) in codes.iter_mut().enumerate() {
            if ids.is_null(i) {
                *code = None;
            }
        }
        let codes: ArrayRef = Arc::new(Float64Array::from(codes));
        frame.rows_of(&codes)
    }

    /// The one chain of relationships up from `child` to `parent`.
    fn unique_forward_path(&self, child: &str, parent: &str) -> Result<Vec<usize>> {
        fn walk(
            es: &EntitySet,
            at: &str,
            end: &str,
            path: &mut Vec<usize>,
            found: &mut Vec<Vec<usize>>,
        ) {
            if at == end {
                found.push(path.clone());
                return;
            }
            for r in es.forward(at) {
                if path.contains(&r) {
                    continue;
                }
                path.push(r);
                let next = es.relationships[r].parent.clone();
                walk(es, &next, end, path, found);
                path.pop();
            }
        }
        let mut found = Vec::new();
        walk(self, child, parent, &mut Vec::new(), &mut found);
        match found.len() {
            1 => Ok(found.remove(0)),
            _ => Err(Error::NoRelationship {
                child: child.to_string(),
                parent: format!(
                    "{parent} (by exactly one chain of relationships; found {})",
                    found.len()
                ),
            }),
        }
    }

    /// Sets the values that where-clauses compare `column` of `dataframe`
    /// with (Featuretools' `interesting_values`): `COUNT(transactions WHERE
    /// Country = France)`.
    pub fn set_interesting_values(
        &mut self,
        dataframe: &str,
        column: &str,
        values: &[&str],
    ) -> Result<&mut Self> {
        let frame = self.dataframe_mut(dataframe)?;
        let pos = frame.position(column)?;
        frame.columns[pos].interesting_values = values.iter().map(|v| v.to_string()).collect();
        Ok(self)
    }

    /// Computes, for every row of every dataframe, the last time it or any
    /// of its descendants was seen (Featuretools' `add_last_time_indexes`).
    /// With it, a training window keeps a parent whose own time is before
    /// the window but whose children are inside it.
    pub fn add_last_time_indexes(&mut self) -> &mut Self {
        let mut done: Vec<Option<Arc<Vec<i64>>>> = vec![None; self.dataframes.len()];
        // Children before parents: repeat until every dataframe is done; the
        // relationships form a forest, so this ends.
        let mut remaining = self.dataframes.len();
        while remaining > 0 {
            let before = remaining;
            for pos in 0..self.dataframes.len() {
                if done[pos].is_some() {
                    continue;
                }
                let name = &self.dataframes[pos].name;
                let children: Vec<(usize, usize)> = self
                    .relationships
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| &r.parent == name)
                    .filter_map(|(i, r)| self.dataframe_position(&r.child).ok().map(|c| (i, c)))
                    .collect();
                if children.iter().any(|&(_, c)| done[c].is_none()) {
                    continue;
                }
                let frame = &self.dataframes[pos];
                let mut last: Vec<i64> = match frame.times() {
                    Some(times) => times
                        .iter()
                        .map(|&t| if t == NO_TIME { i64::MIN } else { t })
                        .collect(),
                    None => vec![i64::MIN; frame.num_rows()],
                };
                for (relationship, child) in children {
                    let child_last = done[child]
                        .as_deref()
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    for (c, &p) in self.indexes[relationship].parent_of.iter().enumerate() {
                        if p != u32::MAX && child_last[c] > last[p as usize] {
                            last[p as usize] = child_last[c];
                        }
                    }
                }
                done[pos] = Some(Arc::new(last));
                remaining -= 1;
            }
            if remaining == before {
                break;
            }
        }
        for (frame, last) in self.dataframes.iter_mut().zip(done) {
            frame.last_times = last.map(|l| {
                Arc::new(
                    l.iter()
                        .map(|&t| if t == i64::MIN { NO_TIME } else { t })
                        .collect(),
                )
            });
        }
        self
    }

    /// The relationships whose child is `dataframe`, in order (Featuretools'
    /// forward relationships).
    pub(crate) fn forward(&self, dataframe: &str) -> Vec<usize> {
        (0..self.relationships.len())
            .filter(|&i| self.relationships[i].child == dataframe)
            .collect()
    }

    /// The relationships whose parent is `dataframe`, in order.
    pub(crate) fn backward(&self, dataframe: &str) -> Vec<usize> {
        (0..self.relationships.len())
            .filter(|&i| self.relationships[i].parent == dataframe)
            .collect()
    }

    /// Whether only one relationship links `child` to `parent` directly.
    pub(crate) fn relationship_is_unique(&self, relationship: usize) -> bool {
        let r = &self.relationships[relationship];
        self.relationships
            .iter()
            .filter(|o| o.child == r.child && o.parent == r.parent)
            .count()
            == 1
    }

    /// The number of distinct forward paths from `start` to `end`.
    pub(crate) fn forward_paths(&self, start: &str, end: &str) -> usize {
        fn walk(es: &EntitySet, at: &str, end: &str, seen: &mut Vec<String>) -> usize {
            if at == end {
                return 1;
            }
            if seen.iter().any(|s| s == at) {
                return 0;
            }
            seen.push(at.to_string());
            let mut n = 0;
            for r in es.forward(at) {
                n += walk(
                    es,
                    &es.relationships[r].parent.clone(),
                    end,
                    &mut seen.clone(),
                );
            }
            n
        }
        walk(self, start, end, &mut Vec::new())
    }
}

/// One more parent row appended to a composite's combination code, in
/// mixed radix (`radix`: that parent's row count); `None` when either is.
fn combination_digit(code: Option<f64>, row: Option<u32>, radix: f64) -> Option<f64> {
    Some(code? * radix + f64::from(row?))
}

/// Converts a column to the engine's storage type for `logical_type`.
fn to_storage(array: &ArrayRef, logical_type: LogicalType) -> Result<ArrayRef> {
    let target = storage_type(logical_type);
    match &target {
        DataType::Dictionary(..) => Ok(Arc::new(sorted_dictionary(array)?)),
        DataType::Timestamp(TimeUnit::Nanosecond, None) => {
            // Drop any time zone: times compare as wall-clock instants.
            let array = match array.data_type() {
                DataType::Timestamp(unit, Some(_)) => {
                    cast(array, &DataType::Timestamp(*unit, None))?
                }
                _ => array.clone(),
            };
            Ok(cast(&array, &target)?)
        }
        _ => Ok(cast(array, &target)?),
    }
}

/// A dictionary array whose dictionary is sorted, so that comparing keys
/// compares the strings (and the smallest key of a tie is the string that
/// pandas would list first).
pub(crate) fn sorted_dictionary(array: &ArrayRef) -> Result<DictionaryArray<UInt32Type>> {
    // Arrow interns the strings (one hash per row); only the distinct
    // values are then sorted.
    let target = DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8));
    let interned = match array.data_type() {
        DataType::Utf8 | DataType::Dictionary(..) => cast(array, &target)?,
        _ => cast(&cast(array, &DataType::Utf8)?, &target)?,
    };
    let interned = interned.as_dictionary::<UInt32Type>();
    let values = interned.values().as_string::<i32>();
    let mut order: Vec<u32> = (0..values.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| values.value(a as usize).cmp(values.value(b as usize)));
    // Equal values (a dictionary given with repeats) share one key.
    let mut rank = vec![0u32; values.len()];
    let mut distinct: Vec<u32> = Vec::with_capacity(order.len());
    for &v in &order {
        let repeat = distinct
            .last()
            .is_some_and(|&d| values.value(d as usize) == values.value(v as usize));
        if !repeat {
            distinct.push(v);
        }
        rank[v as usize] = distinct.len() as u32 - 1;
    }
    // A null slot's key may be anything: map it to something valid.
    let ranks: Vec<u32> = interned
        .keys()
        .values()
        .iter()
        .map(|&k| rank.get(k as usize).copied().unwrap_or(0))
        .collect();
    let keys = UInt32Array::new(ranks.into(), interned.keys().nulls().cloned());
    let sorted = take(values, &UInt32Array::from(distinct), None)?;
    Ok(DictionaryArray::try_new(keys, sorted)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Float64Array, Int64Array, TimestampNanosecondArray};

    fn transactions() -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("invoice", DataType::Utf8, false),
            Field::new("customer", DataType::Int64, true),
            Field::new(
                "time",
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                false,
            ),
            Field::new("amount", DataType::Float64, false),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![3, 1, 2, 0])),
                Arc::new(StringArray::from(vec!["b", "a", "a", "c"])),
                Arc::new(Int64Array::from(vec![Some(8), Some(7), Some(7), None])),
                Arc::new(TimestampNanosecondArray::from(vec![5, 0, 0, 9])),
                Arc::new(Float64Array::from(vec![4.0, 1.5, 2.5, 1.0])),
            ],
        )
        .unwrap()
    }

    #[test]
    fn rows_are_sorted_by_time_then_index() {
        let mut es = EntitySet::new("t");
        es.add_dataframe(DataframeBuilder::new("tx", transactions(), "id").with_time_index("time"))
            .unwrap();
        let ids = es.dataframe("tx").unwrap().index().values().clone();
        let ids: Vec<f64> = ids
            .as_primitive::<arrow::datatypes::Float64Type>()
            .values()
            .to_vec();
        assert_eq!(ids, vec![1.0, 2.0, 3.0, 0.0]);
    }

    #[test]
    fn normalize_moves_columns_and_links() {
        let mut es = EntitySet::new("t");
        es.add_dataframe(DataframeBuilder::new("tx", transactions(), "id").with_time_index("time"))
            .unwrap();
        es.normalize("tx", "invoices", "invoice", &["customer"])
            .unwrap();
        es.normalize("invoices", "customers", "customer", &[])
            .unwrap();
        let tx = es.dataframe("tx").unwrap();
        assert!(tx.column("customer").is_err());
        assert!(
            tx.column("invoice")
                .unwrap()
                .schema()
                .has_tag(SemanticTag::ForeignKey)
        );
        let invoices = es.dataframe("invoices").unwrap();
        assert_eq!(invoices.num_rows(), 3);
        assert_eq!(invoices.time_index().unwrap().name(), "first_tx_time");
        // The customer-less invoice has no parent, so two customers.
        assert_eq!(es.dataframe("customers").unwrap().num_rows(), 2);
        let index = es.relationship_index(1);
        assert_eq!(index.parent_of[2], u32::MAX);
        es.add_last_time_indexes();
        let customers = es.dataframe("customers").unwrap();
        assert_eq!(customers.last_times().unwrap(), &[0, 5]);
    }

    #[test]
    fn errors_name_what_is_missing() {
        let mut es = EntitySet::new("t");
        let err = es
            .add_dataframe(DataframeBuilder::new("tx", transactions(), "nope"))
            .unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
        es.add_dataframe(DataframeBuilder::new("tx", transactions(), "id"))
            .unwrap();
        let err = es.normalize("tx", "x", "missing", &[]).unwrap_err();
        assert!(matches!(err, Error::UnknownColumn { .. }), "{err}");
        let err = es
            .add_dataframe(DataframeBuilder::new("dup", transactions(), "invoice"))
            .unwrap_err();
        assert!(matches!(err, Error::DuplicateIndex { .. }), "{err}");
    }
}
