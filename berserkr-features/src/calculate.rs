//! Feature matrices: the values of a [`FeatureSet`] for target instances,
//! each seen as of its cutoff time.
//!
//! [`FeatureMatrixBuilder`] computes what Featuretools'
//! `calculate_feature_matrix` computes. For a cutoff time `T` only rows
//! whose time index is at or before `T` (or strictly before, with
//! [`FeatureMatrixBuilder::with_include_cutoff_time`] off) are seen, and,
//! with a training window `w`, only rows after `T - w` (or parents whose
//! last time index is, once [`EntitySet::add_last_time_indexes`] ran).
//! Instances that share a cutoff time are computed together, as
//! Featuretools computes them; different cutoff times run in parallel.
//!
//! The data is never copied per cutoff: each relationship's children are
//! grouped by parent once, in time order, when the entity set is built, and
//! a cutoff only selects the rows it sees through those groups. Nor is work
//! repeated per cutoff where no cutoff can change it: with many cutoff
//! times, an aggregation over one relationship of inputs that no cutoff
//! changes (an invoice's `SUM(transactions.Quantity)`) is computed once
//! for every parent, and a cutoff that sees all of a parent's children
//! takes that value instead of aggregating them again.
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Float64Array, Int64Array, TimestampNanosecondArray};
//! # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! # use arrow::record_batch::RecordBatch;
//! use arrow::array::{Array, AsArray};
//! use arrow::datatypes::Float64Type;
//! use berserkr_features::calculate::FeatureMatrixBuilder;
//! use berserkr_features::dfs::Dfs;
//! use berserkr_features::entityset::{DataframeBuilder, EntitySet};
//! # let schema = Arc::new(Schema::new(vec![
//! #     Field::new("id", DataType::Int64, false),
//! #     Field::new("customer", DataType::Int64, false),
//! #     Field::new("time", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
//! #     Field::new("amount", DataType::Float64, false),
//! # ]));
//! # let batch = RecordBatch::try_new(schema, vec![
//! #     Arc::new(Int64Array::from(vec![0, 1, 2])),
//! #     Arc::new(Int64Array::from(vec![7, 7, 8])),
//! #     Arc::new(TimestampNanosecondArray::from(vec![0, 10, 5])),
//! #     Arc::new(Float64Array::from(vec![1.5, 2.5, 4.0])),
//! # ])?;
//! let mut es = EntitySet::new("shop");
//! es.add_dataframe(DataframeBuilder::new("transactions", batch, "id").with_time_index("time"))?;
//! es.normalize("transactions", "customers", "customer", &[])?;
//! let features = Dfs::new("customers").with_aggregations(&["sum"]).with_transforms(&[]).build(&es)?;
//!
//! // Customer 7 as of time 5 has seen only its first transaction.
//! let matrix = FeatureMatrixBuilder::new(&es, &features)
//!     .with_cutoff_times(Arc::new(Int64Array::from(vec![7, 7])), vec![5, 10])
//!     .build()?;
//! let sums = matrix.column_by_name("SUM(transactions.amount)").unwrap().as_primitive::<Float64Type>();
//! assert_eq!(sums.values(), &[1.5, 4.0]);
//! # Ok::<(), berserkr_features::Error>(())
//! ```

use std::cell::OnceCell;
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, StructArray, TimestampNanosecondArray,
    UInt32Array,
};
use arrow::compute::{cast, filter, nullif, take};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, TimeUnit};
use arrow::record_batch::RecordBatch;
use rayon::prelude::*;

use crate::dfs::FeatureSet;
use crate::entityset::{EntitySet, NO_TIME};
use crate::error::{Error, Result};
use crate::feature::{FeatureId, FeatureKind, Window};
use crate::primitives::{Context, Groups};

/// Instances computed together at one cutoff time, at most.
const INSTANCES_PER_RUN: usize = 256;

/// Options for computing a feature matrix.
#[derive(Debug, Clone)]
pub struct FeatureMatrixBuilder<'a> {
    es: &'a EntitySet,
    features: &'a FeatureSet,
    instances: Option<ArrayRef>,
    cutoffs: Option<(ArrayRef, Vec<i64>)>,
    training_window: Option<Window>,
    include_cutoff_time: bool,
    now: Option<i64>,
    partition: Option<(u64, u64)>,
}

impl<'a> FeatureMatrixBuilder<'a> {
    /// The matrix of `features` over the entity set `es`: by default every
    /// instance of the target dataframe, as of now.
    pub fn new(es: &'a EntitySet, features: &'a FeatureSet) -> Self {
        Self {
            es,
            features,
            instances: None,
            cutoffs: None,
            training_window: None,
            include_cutoff_time: true,
            now: None,
            partition: None,
        }
    }

    /// Only the instances of partition `index` of `count`: those whose id
    /// hashes (a stable hash of the value, the same on every machine) to
    /// `index` modulo `count`. The partitions of one `count` are disjoint
    /// and together give every row of the whole matrix, with the same
    /// values: the shape a distributed engine needs, each worker computing
    /// one partition over the shared entity set. (A feature that looks at
    /// the rows computed together, `TIME_SINCE_PREVIOUS` of the target,
    /// sees only its partition's, as Featuretools' `chunk_size` would.)
    pub fn with_partition(mut self, index: u64, count: u64) -> Self {
        self.partition = Some((index, count));
        self
    }

    /// Only these instances (values of the target's index, or, for a
    /// [composite](crate::entityset::EntitySet::with_composite) target, a
    /// `StructArray` of its keys), all as of the same time.
    pub fn with_instance_ids(mut self, ids: ArrayRef) -> Self {
        self.instances = Some(ids);
        self
    }

    /// One row per `(ids[i], times[i])`: instance `ids[i]` as of
    /// `times[i]` (nanoseconds since the epoch). An instance may appear at
    /// many times. The matrix rows come in this order. A composite target's
    /// instances are a `StructArray` of its keys, and the matrix starts
    /// with one column per key instead of the index:
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow::array::{Float64Array, Int64Array, StringArray, TimestampNanosecondArray};
    /// # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    /// # use arrow::record_batch::RecordBatch;
    /// use arrow::array::{Array, ArrayRef, AsArray, StructArray};
    /// use arrow::datatypes::Float64Type;
    /// use berserkr_features::{Dfs, EntitySet, FeatureMatrixBuilder};
    /// use berserkr_features::entityset::DataframeBuilder;
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
    /// let es = es.with_composite("customer_items", "transactions", &["customers", "items"])?;
    /// let features = Dfs::new("customer_items")
    ///     .with_aggregations(&["sum"])
    ///     .with_transforms(&[])
    ///     .with_max_depth(1)
    ///     .build(&es)?;
    ///
    /// // Customer 7's mugs as of time 0 and time 3.
    /// let pairs = StructArray::from(vec![
    ///     (Arc::new(Field::new("customer", DataType::Int64, false)), Arc::new(Int64Array::from(vec![7, 7])) as ArrayRef),
    ///     (Arc::new(Field::new("item", DataType::Utf8, false)), Arc::new(StringArray::from(vec!["mug", "mug"])) as ArrayRef),
    /// ]);
    /// let matrix = FeatureMatrixBuilder::new(&es, &features)
    ///     .with_cutoff_times(Arc::new(pairs), vec![0, 3])
    ///     .build()?;
    /// assert_eq!(matrix.schema().field(0).name(), "customer");
    /// assert_eq!(matrix.schema().field(1).name(), "item");
    /// let sums = matrix.column_by_name("SUM(transactions.amount)").unwrap();
    /// assert_eq!(sums.as_primitive::<Float64Type>().values(), &[1.5, 4.0]);
    /// # Ok::<(), berserkr_features::Error>(())
    /// ```
    pub fn with_cutoff_times(mut self, ids: ArrayRef, times: Vec<i64>) -> Self {
        self.cutoffs = Some((ids, times));
        self
    }

    /// Only rows less than `window` before the cutoff (default: all rows
    /// before it).
    pub fn with_training_window(mut self, window: Window) -> Self {
        self.training_window = Some(window);
        self
    }

    /// Whether rows exactly at the cutoff are seen (default `true`, as in
    /// Featuretools).
    pub fn with_include_cutoff_time(mut self, include: bool) -> Self {
        self.include_cutoff_time = include;
        self
    }

    /// The time of a matrix without cutoff times (default: the clock).
    pub fn with_time(mut self, nanos: i64) -> Self {
        self.now = Some(nanos);
        self
    }

    /// Computes the matrix: the target's index, the cutoff `time` (when
    /// cutoff times were given), then one column per feature output.
    pub fn build(&self) -> Result<RecordBatch> {
        let es = self.es;
        let target = es.dataframe(self.features.target())?;
        let target_pos = es.dataframe_position(self.features.target())?;
        let composite = es.composite(self.features.target());
        let (ids, times) = match (&self.cutoffs, &self.instances) {
            (Some((ids, times)), _) => {
                if ids.len() != times.len() {
                    return Err(Error::InvalidOption {
                        option: "cutoff_times",
                        reason: format!("{} instance ids but {} times", ids.len(), times.len()),
                    });
                }
                (ids.clone(), times.clone())
            }
            (None, instances) => {
                let now = self.now.unwrap_or_else(now_nanos);
                let ids = match instances {
                    Some(ids) => ids.clone(),
                    None => {
                        // As Featuretools: the target's rows known at that time.
                        let run = Run::new(
                            es,
                            self.features,
                            now,
                            self.training_window,
                            self.include_cutoff_time,
                        );
                        let visible: UInt32Array = (0..target.num_rows() as u32)
                            .filter(|&r| run.visible(target_pos, r))
                            .map(Some)
                            .collect();
                        match composite {
                            // Named by the parents' keys.
                            Some(composite) => {
                                let mut fields = Vec::new();
                                let mut arrays = Vec::new();
                                for (_, column) in &composite.keys {
                                    let values = target.column(column)?.values();
                                    let values = take(values.as_ref(), &visible, None)?;
                                    let values =
                                        cast(&values, &original_id_type(values.data_type()))?;
                                    fields.push(Field::new(
                                        column,
                                        values.data_type().clone(),
                                        true,
                                    ));
                                    arrays.push(values);
                                }
                                Arc::new(StructArray::try_new(fields.into(), arrays, None)?)
                            }
                            None => take(target.index().values().as_ref(), &visible, None)?,
                        }
                    }
                };
                let n = ids.len();
                (ids, vec![now; n])
            }
        };
        let (ids, times) = match self.partition {
            Some((index, count)) => {
                if count == 0 || index >= count {
                    return Err(Error::InvalidOption {
                        option: "partition",
                        reason: format!("partition {index} of {count} does not exist"),
                    });
                }
                let keep: BooleanArray = partition_hashes(&ids)?
                    .iter()
                    .map(|h| Some(h % count == index))
                    .collect();
                let times = times
                    .iter()
                    .zip(keep.values().iter())
                    .filter_map(|(&t, k)| k.then_some(t))
                    .collect();
                (filter(ids.as_ref(), &keep)?, times)
            }
            None => (ids, times),
        };
        let rows = match composite {
            Some(composite) => es.composite_rows(composite, &ids)?,
            None => target.rows_of(&ids)?,
        };

        // Instances sharing a cutoff time are computed together.
        let mut by_time: HashMap<i64, Vec<usize>> = HashMap::new();
        for (i, &t) in times.iter().enumerate() {
            by_time.entry(t).or_default().push(i);
        }
        let mut by_time: Vec<(i64, Vec<usize>)> = by_time.into_iter().collect();
        by_time.sort_unstable_by_key(|g| g.0);
        let by_time_count = by_time.len();
        // A cutoff time with many instances is split, so that one cutoff
        // (or none) still uses every thread. An instance's values depend
        // only on its own rows, so the split never changes a value, unless
        // a feature looks at the rows computed together.
        let together = self
            .features
            .graph()
            .features()
            .iter()
            .any(|f| match f.kind() {
                FeatureKind::Transform { primitive, .. } => {
                    primitive.depends_on_rows_computed_together()
                }
                _ => false,
            });
        let chunk = if together {
            usize::MAX
        } else {
            // Small enough that the tasks' intermediate values stay small
            // (each holds its instances' rows of every dataframe, and every
            // feature of those), large enough that a task's fixed cost is
            // shared: on the full Online Retail data 256 customers at a
            // time peak at 141 MB where 1,024 peak at 152 MB, as fast.
            INSTANCES_PER_RUN
        };
        let mut groups: Vec<(i64, Vec<usize>)> = by_time
            .into_iter()
            .flat_map(|(time, members)| {
                members
                    .chunks(chunk)
                    .map(|c| (time, c.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect();

        if groups.is_empty() {
            // No instance: one empty run still gives each column its type.
            groups.push((self.now.unwrap_or(0), Vec::new()));
        }
        let columns: Vec<FeatureId> = self.features.columns().to_vec();
        // Worth it only when parents would be aggregated at several times.
        let settled = if by_time_count > 1 && self.training_window.is_none() {
            Some(Settled::new(es, self.features, self.include_cutoff_time)?)
        } else {
            None
        };
        // Consecutive groups go to one task, which gathers its groups'
        // values into one array per output: thousands of cutoff times give
        // a few dozen arrays per column, not thousands of tiny ones.
        let per_task = (ids.len() / (8 * rayon::current_num_threads())).max(1);
        let mut tasks: Vec<&[(i64, Vec<usize>)]> = Vec::new();
        let mut start = 0;
        let mut size = 0;
        for (g, (_, members)) in groups.iter().enumerate() {
            size += members.len();
            if size >= per_task {
                tasks.push(&groups[start..=g]);
                start = g + 1;
                size = 0;
            }
        }
        if start < groups.len() {
            tasks.push(&groups[start..]);
        }
        let results: Vec<Result<Vec<Vec<ArrayRef>>>> = tasks
            .par_iter()
            .map(|task| {
                let mut gathered: Vec<Vec<Vec<ArrayRef>>> = Vec::new();
                for (time, members) in task.iter() {
                    let member_rows: Vec<Option<u32>> = members.iter().map(|&i| rows[i]).collect();
                    let mut run = Run::new(
                        es,
                        self.features,
                        *time,
                        self.training_window,
                        self.include_cutoff_time,
                    );
                    run.settled = settled.as_ref();
                    let values = run.target(target_pos, &member_rows, &columns)?;
                    if gathered.is_empty() {
                        gathered = values
                            .into_iter()
                            .map(|outputs| outputs.into_iter().map(|a| vec![a]).collect())
                            .collect();
                    } else {
                        for (column, outputs) in gathered.iter_mut().zip(values) {
                            for (parts, a) in column.iter_mut().zip(outputs) {
                                parts.push(a);
                                if parts.len() == 64 {
                                    let one = concat_parts(parts)?;
                                    *parts = vec![one];
                                }
                            }
                        }
                    }
                }
                gathered
                    .iter()
                    .map(|column| column.iter().map(|parts| concat_parts(parts)).collect())
                    .collect()
            })
            .collect();

        // Back to the caller's order.
        let mut position = vec![(0usize, 0usize); ids.len()];
        for (t, task) in tasks.iter().enumerate() {
            let mut k = 0;
            for (_, members) in task.iter() {
                for &i in members {
                    position[i] = (t, k);
                    k += 1;
                }
            }
        }
        let mut results: Vec<Vec<Vec<ArrayRef>>> = results.into_iter().collect::<Result<_>>()?;
        let mut fields = Vec::new();
        let mut arrays: Vec<ArrayRef> = Vec::new();
        match ids.as_struct_opt() {
            // A composite's instances, a column per key.
            Some(keys) if composite.is_some() => {
                for (field, values) in keys.fields().iter().zip(keys.columns()) {
                    let id_type = original_id_type(values.data_type());
                    fields.push(Field::new(field.name(), id_type.clone(), true));
                    arrays.push(cast(values, &id_type)?);
                }
            }
            _ => {
                fields.push(Field::new(
                    target.index().name(),
                    original_id_type(ids.data_type()),
                    false,
                ));
                arrays.push(cast(&ids, &original_id_type(ids.data_type()))?);
            }
        }
        if self.cutoffs.is_some() {
            fields.push(Field::new(
                "time",
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                false,
            ));
            arrays.push(Arc::new(TimestampNanosecondArray::from(times.clone())));
        }
        let graph = self.features.graph();
        for (c, &feature) in columns.iter().enumerate() {
            let names = graph.get(feature).output_names();
            for (o, name) in names.iter().enumerate() {
                // Each task's part is released once the column is built, so
                // the matrix is never held twice.
                let owned: Vec<ArrayRef> = results
                    .iter_mut()
                    .map(|r| {
                        std::mem::replace(
                            &mut r[c][o],
                            arrow::array::new_null_array(&DataType::Null, 0),
                        )
                    })
                    .collect();
                let offsets: Vec<usize> = owned
                    .iter()
                    .scan(0, |acc, part| {
                        let start = *acc;
                        *acc += part.len();
                        Some(start)
                    })
                    .collect();
                let all = concat_parts(&owned)?;
                drop(owned);
                let indices: Vec<u32> = position
                    .iter()
                    .map(|&(g, k)| (offsets[g] + k) as u32)
                    .collect();
                // Instances given in time order come back in order.
                let in_order = indices.iter().enumerate().all(|(i, &at)| i as u32 == at);
                let column = if in_order {
                    all
                } else {
                    take(all.as_ref(), &UInt32Array::from(indices), None)?
                };
                fields.push(Field::new(name, column.data_type().clone(), true));
                arrays.push(column);
            }
        }
        Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays)?)
    }
}

fn concat_parts(parts: &[ArrayRef]) -> Result<ArrayRef> {
    match parts {
        [one] => Ok(one.clone()),
        _ => {
            let parts: Vec<&dyn Array> = parts.iter().map(|a| a.as_ref()).collect();
            Ok(arrow::compute::concat(&parts)?)
        }
    }
}

/// A stable 64-bit hash of each id (FNV-1a of its value as text, so that
/// `17850`, `17850.0` and the string `"17850"` agree across types).
fn partition_hashes(ids: &ArrayRef) -> Result<Vec<u64>> {
    if let Some(fields) = ids.as_struct_opt() {
        // A composite's instance: its keys' hashes, combined in order.
        let mut combined = vec![0xcbf2_9ce4_8422_2325_u64; ids.len()];
        for column in fields.columns() {
            for (h, part) in combined.iter_mut().zip(partition_hashes(column)?) {
                *h = (*h ^ part).wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        return Ok(combined);
    }
    let text = cast(
        &cast(ids, &original_id_type(ids.data_type()))?,
        &DataType::Utf8,
    )?;
    let text = text.as_string::<i32>();
    Ok(text
        .iter()
        .map(|v| {
            let v = v.unwrap_or("");
            let v = v.strip_suffix(".0").unwrap_or(v);
            v.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
            })
        })
        .collect())
}

fn original_id_type(data_type: &DataType) -> DataType {
    match data_type {
        DataType::Dictionary(_, value) => value.as_ref().clone(),
        other => other.clone(),
    }
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// How a node's rows derive from another node's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Link {
    /// Parents of the rows of `from` through relationship `r`.
    Forward { from: usize, relationship: usize },
    /// Children of the rows of `from` through relationship `r`.
    Backward { from: usize, relationship: usize },
    /// Every visible row of the dataframe of `of` (for cumulative
    /// transforms, which see the whole dataframe).
    Full { of: usize },
}

/// The rows of one dataframe seen at one place of the relationship tree.
#[derive(Debug)]
struct Node {
    dataframe: usize,
    /// Ascending row numbers, so in time order.
    rows: Vec<u32>,
    /// Position of each row of the dataframe in `rows` (`u32::MAX`: absent),
    /// built on first use when `rows` is a large share of the dataframe;
    /// small nodes (one cutoff's instances) search `rows` instead.
    positions: OnceCell<Vec<u32>>,
}

impl Node {
    fn new(dataframe: usize, rows: Vec<u32>) -> Self {
        Self {
            dataframe,
            rows,
            positions: OnceCell::new(),
        }
    }

    /// A function from a row of the dataframe (of `frame_rows` rows) to its
    /// position in this node.
    fn locator(&self, frame_rows: usize) -> impl Fn(u32) -> Option<usize> + '_ {
        let table = (self.rows.len() >= frame_rows / 16).then(|| {
            self.positions.get_or_init(|| {
                let mut positions = vec![u32::MAX; frame_rows];
                for (i, &r) in self.rows.iter().enumerate() {
                    positions[r as usize] = i as u32;
                }
                positions
            })
        });
        move |row| match table {
            Some(t) => match t.get(row as usize) {
                Some(&p) if p != u32::MAX => Some(p as usize),
                _ => None,
            },
            None => self.rows.binary_search(&row).ok(),
        }
    }

    fn position(&self, row: u32) -> Option<usize> {
        self.rows.binary_search(&row).ok()
    }
}

/// The computation for the instances of one cutoff time.
struct Run<'a> {
    es: &'a EntitySet,
    features: &'a FeatureSet,
    time: i64,
    window: Option<Window>,
    include_cutoff_time: bool,
    nodes: Vec<Node>,
    links: HashMap<Link, usize>,
    values: HashMap<(usize, FeatureId), Arc<Vec<ArrayRef>>>,
    groupings: HashMap<GroupingKey, Arc<Grouping>>,
    settled: Option<&'a Settled>,
}

/// The values of the aggregations that no cutoff changes for a parent
/// whose children it all sees, computed once over all the data.
///
/// Eligible: an aggregation through one relationship, without a window,
/// whose primitive ignores the cutoff time and whose inputs (and
/// condition) are columns, transforms that ignore the cutoff time and
/// other rows, or parents' such values. A parent is settled at a cutoff
/// when its latest child is seen then; its value is then exactly the one
/// computed over all the data, from the same rows in the same order.
struct Settled {
    /// Per eligible feature: its dataframe, the relationship it aggregates
    /// through, and its values for the rows of `positions[dataframe]`.
    values: HashMap<FeatureId, (usize, usize, Arc<Vec<ArrayRef>>)>,
    /// Per dataframe: the position of each of its rows in the values
    /// (`u32::MAX`: never seen).
    positions: HashMap<usize, Vec<u32>>,
    /// Per relationship used: the latest time of each parent's children
    /// ([`NO_TIME`] without any).
    last_child: HashMap<usize, Vec<i64>>,
    include_cutoff_time: bool,
}

impl Settled {
    fn new(es: &EntitySet, features: &FeatureSet, include_cutoff_time: bool) -> Result<Self> {
        let graph = features.graph();
        // Features in the graph refer only to earlier ones.
        let mut free = vec![false; graph.len()];
        let mut eligible = Vec::new();
        for (id, f) in graph.features().iter().enumerate() {
            free[id] = match f.kind() {
                FeatureKind::Identity { .. } => true,
                FeatureKind::Slice { base, .. } | FeatureKind::Direct { base, .. } => free[*base],
                FeatureKind::Transform { base, primitive } => {
                    !primitive.uses_calc_time()
                        && !primitive.uses_full_dataframe()
                        && !primitive.depends_on_rows_computed_together()
                        && base.iter().all(|&b| free[b])
                }
                FeatureKind::Aggregation {
                    base,
                    primitive,
                    path,
                    condition,
                    window,
                } => {
                    if path.len() == 1
                        && window.is_none()
                        && !primitive.uses_calc_time()
                        && base.iter().all(|&b| free[b])
                        && condition.is_none_or(|c| free[c])
                    {
                        eligible.push((id, path[0]));
                    }
                    false
                }
            };
        }
        let mut settled = Self {
            values: HashMap::new(),
            positions: HashMap::new(),
            last_child: HashMap::new(),
            include_cutoff_time,
        };
        if eligible.is_empty() {
            return Ok(settled);
        }
        // One run over every row of each dataframe, as of no cutoff.
        let mut run = Run::new(es, features, NO_TIME, None, true);
        let mut roots: HashMap<usize, usize> = HashMap::new();
        for (feature, relationship) in eligible {
            let dataframe = es.dataframe_position(graph.get(feature).dataframe())?;
            let root = match roots.get(&dataframe) {
                Some(&root) => root,
                None => {
                    let n = es.dataframes()[dataframe].num_rows();
                    let rows: Vec<u32> = (0..n as u32)
                        .filter(|&r| run.visible(dataframe, r))
                        .collect();
                    let mut positions = vec![u32::MAX; n];
                    for (i, &r) in rows.iter().enumerate() {
                        positions[r as usize] = i as u32;
                    }
                    settled.positions.insert(dataframe, positions);
                    run.nodes.push(Node::new(dataframe, rows));
                    roots.insert(dataframe, run.nodes.len() - 1);
                    run.nodes.len() - 1
                }
            };
            let values = run.eval(root, feature)?;
            settled
                .values
                .insert(feature, (dataframe, relationship, values));
            settled.last_child.entry(relationship).or_insert_with(|| {
                let index = es.relationship_index(relationship);
                let child = es
                    .dataframe_position(&es.relationships()[relationship].child)
                    .unwrap_or(0);
                let times = es.dataframes()[child].times();
                (0..index.offsets.len().saturating_sub(1))
                    .map(|p| {
                        let children = index.children_of(p as u32);
                        match times {
                            // Ascending rows are in time order: the last
                            // timed child is the latest.
                            Some(times) => children
                                .iter()
                                .rev()
                                .map(|&c| times[c as usize])
                                .find(|&t| t != NO_TIME)
                                .unwrap_or(NO_TIME),
                            None => NO_TIME,
                        }
                    })
                    .collect()
            });
        }
        Ok(settled)
    }

    /// The values of `feature` for the parent rows `rows` at cutoff `time`,
    /// if the feature is eligible and every one of them is settled then.
    fn get(&self, feature: FeatureId, rows: &[u32], time: i64) -> Option<Result<Vec<ArrayRef>>> {
        let (dataframe, relationship, values) = self.values.get(&feature)?;
        let positions = self.positions.get(dataframe)?;
        let last = self.last_child.get(relationship)?;
        let seen = |t: i64| t == NO_TIME || by_cutoff(t, time, self.include_cutoff_time);
        if !rows.iter().all(|&p| seen(last[p as usize])) {
            return None;
        }
        let indices: Option<Vec<u32>> = rows
            .iter()
            .map(|&p| Some(positions[p as usize]).filter(|&i| i != u32::MAX))
            .collect();
        let indices = UInt32Array::from(indices?);
        Some(
            values
                .iter()
                .map(|v| Ok(take(v.as_ref(), &indices, None)?))
                .collect(),
        )
    }
}

/// Whether a row of time `t` is seen at cutoff `time`: at or before it, or
/// strictly before it when rows at the cutoff are not included.
fn by_cutoff(t: i64, time: i64, include_cutoff_time: bool) -> bool {
    if include_cutoff_time {
        t <= time
    } else {
        t < time
    }
}

/// An aggregation's node, path, window and condition.
type GroupingKey = (usize, Vec<usize>, Option<Window>, Option<FeatureId>);

/// Which child rows an aggregation takes, and into which group each goes.
struct Grouping {
    /// The node of the rows aggregated.
    child: usize,
    /// The rows kept, when not all are.
    selection: Option<BooleanArray>,
    /// The group (position in the parent node) of each row kept.
    ids: Vec<u32>,
    /// Groups without any row, when there are some.
    empty: Option<BooleanArray>,
}

impl<'a> Run<'a> {
    fn new(
        es: &'a EntitySet,
        features: &'a FeatureSet,
        time: i64,
        window: Option<Window>,
        include_cutoff_time: bool,
    ) -> Self {
        Self {
            es,
            features,
            time,
            window,
            include_cutoff_time,
            nodes: Vec::new(),
            links: HashMap::new(),
            values: HashMap::new(),
            groupings: HashMap::new(),
            settled: None,
        }
    }

    /// Whether `row` of dataframe `dataframe` is seen at this cutoff.
    fn visible(&self, dataframe: usize, row: u32) -> bool {
        let frame = &self.es.dataframes()[dataframe];
        let Some(times) = frame.times() else {
            return true;
        };
        let t = times[row as usize];
        if t == NO_TIME {
            return false;
        }
        if !by_cutoff(t, self.time, self.include_cutoff_time) {
            return false;
        }
        match self.window {
            None => true,
            Some(w) => {
                let lower = self.time.saturating_sub(w.nanos());
                let inside = |t: i64| {
                    if self.include_cutoff_time {
                        t > lower
                    } else {
                        t >= lower
                    }
                };
                inside(t)
                    || frame
                        .last_times()
                        .is_some_and(|l| l[row as usize] != NO_TIME && inside(l[row as usize]))
            }
        }
    }

    fn node(&mut self, link: Link) -> usize {
        if let Some(&n) = self.links.get(&link) {
            return n;
        }
        let node = match link {
            Link::Forward { from, relationship } => {
                let index = self.es.relationship_index(relationship);
                let parent = self
                    .es
                    .dataframe_position(&self.es.relationships()[relationship].parent)
                    .unwrap_or(0);
                let mut rows: Vec<u32> = self.nodes[from]
                    .rows
                    .iter()
                    .map(|&c| index.parent_of[c as usize])
                    .filter(|&p| p != u32::MAX)
                    .collect();
                rows.sort_unstable();
                rows.dedup();
                rows.retain(|&p| self.visible(parent, p));
                Node::new(parent, rows)
            }
            Link::Backward { from, relationship } => {
                let index = self.es.relationship_index(relationship);
                let child = self
                    .es
                    .dataframe_position(&self.es.relationships()[relationship].child)
                    .unwrap_or(0);
                let mut rows = Vec::new();
                for &p in &self.nodes[from].rows {
                    rows.extend(
                        index
                            .children_of(p)
                            .iter()
                            .copied()
                            .filter(|&c| self.visible(child, c)),
                    );
                }
                rows.sort_unstable();
                Node::new(child, rows)
            }
            Link::Full { of } => {
                let dataframe = self.nodes[of].dataframe;
                let n = self.es.dataframes()[dataframe].num_rows() as u32;
                let rows = (0..n).filter(|&r| self.visible(dataframe, r)).collect();
                Node::new(dataframe, rows)
            }
        };
        self.nodes.push(node);
        self.links.insert(link, self.nodes.len() - 1);
        self.nodes.len() - 1
    }

    /// The target's columns for `rows` (`None`: an unknown instance).
    fn target(
        &mut self,
        dataframe: usize,
        rows: &[Option<u32>],
        columns: &[FeatureId],
    ) -> Result<Vec<Vec<ArrayRef>>> {
        let mut visible: Vec<u32> = rows
            .iter()
            .flatten()
            .copied()
            .filter(|&r| self.visible(dataframe, r))
            .collect();
        visible.sort_unstable();
        visible.dedup();
        self.nodes.push(Node::new(dataframe, visible));
        let root = self.nodes.len() - 1;
        let graph = self.features.graph();
        let mut out = Vec::with_capacity(columns.len());
        let indices: UInt32Array = rows
            .iter()
            .map(|r| {
                r.and_then(|r| self.nodes[root].position(r))
                    .map(|p| p as u32)
            })
            .collect();
        for &feature in columns {
            let values = self.eval(root, feature)?;
            let default = graph.get(feature).default_value();
            let mut outputs = Vec::with_capacity(values.len());
            for v in values.iter() {
                outputs.push(fill_default(take(v.as_ref(), &indices, None)?, default));
            }
            out.push(outputs);
        }
        Ok(out)
    }

    fn eval(&mut self, node: usize, feature: FeatureId) -> Result<Arc<Vec<ArrayRef>>> {
        if let Some(v) = self.values.get(&(node, feature)) {
            return Ok(v.clone());
        }
        let graph = self.features.graph();
        let f = graph.get(feature);
        let context = Context { time: self.time };
        let settled = self
            .settled
            .and_then(|settled| settled.get(feature, &self.nodes[node].rows, self.time));
        if let Some(values) = settled {
            let values = Arc::new(values?);
            self.values.insert((node, feature), values.clone());
            return Ok(values);
        }
        let values: Vec<ArrayRef> = match f.kind() {
            FeatureKind::Identity { column } => {
                let frame = &self.es.dataframes()[self.nodes[node].dataframe];
                let column = frame.column(column)?;
                let indices = UInt32Array::from(self.nodes[node].rows.clone());
                vec![take(column.values().as_ref(), &indices, None)?]
            }
            FeatureKind::Slice { base, index } => {
                let base = self.eval(node, *base)?;
                vec![base[*index].clone()]
            }
            FeatureKind::Transform { base, primitive } => {
                if primitive.uses_full_dataframe() && !self.is_full(node) {
                    // Computed over every visible row, then the rows asked for.
                    let full = self.node(Link::Full { of: node });
                    let values = self.eval(full, feature)?;
                    let locate = self.nodes[full].locator(self.frame_rows(full));
                    let indices: UInt32Array = self.nodes[node]
                        .rows
                        .iter()
                        .map(|&r| locate(r).map(|p| p as u32))
                        .collect();
                    values
                        .iter()
                        .map(|v| Ok(take(v.as_ref(), &indices, None)?))
                        .collect::<Result<_>>()?
                } else {
                    let inputs: Vec<ArrayRef> = base
                        .iter()
                        .map(|&b| self.eval(node, b).map(|v| v[0].clone()))
                        .collect::<Result<_>>()?;
                    let out = primitive.transform(&inputs, &context)?;
                    let default = primitive.default_value();
                    out.into_iter().map(|a| fill_default(a, default)).collect()
                }
            }
            FeatureKind::Direct { base, relationship } => {
                let parent = self.node(Link::Forward {
                    from: node,
                    relationship: *relationship,
                });
                let values = self.eval(parent, *base)?;
                let index = self.es.relationship_index(*relationship);
                let locate = self.nodes[parent].locator(self.frame_rows(parent));
                let indices: UInt32Array = self.nodes[node]
                    .rows
                    .iter()
                    .map(|&c| {
                        let p = index.parent_of[c as usize];
                        if p == u32::MAX {
                            None
                        } else {
                            locate(p).map(|i| i as u32)
                        }
                    })
                    .collect();
                let default = graph.get(*base).default_value();
                values
                    .iter()
                    .map(|v| Ok(fill_default(take(v.as_ref(), &indices, None)?, default)))
                    .collect::<Result<_>>()?
            }
            FeatureKind::Aggregation {
                base,
                primitive,
                path,
                condition,
                window,
            } => {
                let grouping = self.grouping(node, path, *window, *condition)?;
                let inputs: Vec<ArrayRef> = base
                    .iter()
                    .map(|&b| self.eval(grouping.child, b).map(|v| v[0].clone()))
                    .collect::<Result<_>>()?;
                let inputs: Vec<ArrayRef> = match &grouping.selection {
                    Some(selection) => inputs
                        .iter()
                        .map(|a| Ok(filter(a.as_ref(), selection)?))
                        .collect::<Result<_>>()?,
                    None => inputs,
                };
                let groups = Groups::new(&grouping.ids, self.nodes[node].rows.len());
                let out = primitive.aggregate(&inputs, &groups, &context)?;
                // A parent without rows has no value (then the default),
                // whatever the primitive makes of an empty group.
                let default = primitive.default_value();
                out.into_iter()
                    .map(|a| {
                        let a = match &grouping.empty {
                            Some(empty) => nullif(a.as_ref(), empty)?,
                            None => a,
                        };
                        Ok(fill_default(a, default))
                    })
                    .collect::<Result<_>>()?
            }
        };
        let values = Arc::new(values);
        self.values.insert((node, feature), values.clone());
        Ok(values)
    }

    /// The child rows an aggregation of `node` through `path` takes, and
    /// the parent position of each: shared by every aggregation with the
    /// same path, window and condition.
    fn grouping(
        &mut self,
        node: usize,
        path: &[usize],
        window: Option<Window>,
        condition: Option<FeatureId>,
    ) -> Result<Arc<Grouping>> {
        let key = (node, path.to_vec(), window, condition);
        if let Some(g) = self.groupings.get(&key) {
            return Ok(g.clone());
        }
        // Down the path, remembering each level's node.
        let mut levels = vec![node];
        for &r in path {
            let from = *levels.last().unwrap_or(&node);
            levels.push(self.node(Link::Backward {
                from,
                relationship: r,
            }));
        }
        let child = *levels.last().unwrap_or(&node);
        // The parent row of each child row, up the path.
        let mut group: Vec<Option<u32>> = self.nodes[child].rows.iter().map(|&r| Some(r)).collect();
        for (level, &r) in path.iter().enumerate().rev() {
            let index = self.es.relationship_index(r);
            let locate = self.nodes[levels[level]].locator(self.frame_rows(levels[level]));
            let last = level == 0;
            for g in group.iter_mut() {
                *g = g.and_then(|row| {
                    let p = index.parent_of[row as usize];
                    if p == u32::MAX {
                        return None;
                    }
                    if last {
                        locate(p).map(|i| i as u32)
                    } else {
                        locate(p).map(|_| p)
                    }
                });
            }
        }
        let mut keep: Vec<bool> = group.iter().map(Option::is_some).collect();
        if let Some(w) = window {
            let frame = &self.es.dataframes()[self.nodes[child].dataframe];
            if let Some(times) = frame.times() {
                let first = self.time.saturating_sub(w.nanos());
                for (k, &r) in keep.iter_mut().zip(&self.nodes[child].rows) {
                    *k = *k && times[r as usize] >= first;
                }
            }
        }
        if let Some(c) = condition {
            let mask = self.eval(child, c)?;
            let mask = mask[0].as_boolean();
            for (i, k) in keep.iter_mut().enumerate() {
                *k = *k && mask.is_valid(i) && mask.value(i);
            }
        }
        let selection = keep
            .iter()
            .any(|k| !k)
            .then(|| BooleanArray::from(keep.clone()));
        let ids: Vec<u32> = group
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .filter_map(|(g, _)| *g)
            .collect();
        let mut empty = vec![true; self.nodes[node].rows.len()];
        for &g in &ids {
            empty[g as usize] = false;
        }
        let empty = empty.iter().any(|&e| e).then(|| BooleanArray::from(empty));
        let grouping = Arc::new(Grouping {
            child,
            selection,
            ids,
            empty,
        });
        self.groupings.insert(key, grouping.clone());
        Ok(grouping)
    }

    /// The number of rows of the dataframe of `node`.
    fn frame_rows(&self, node: usize) -> usize {
        self.es.dataframes()[self.nodes[node].dataframe].num_rows()
    }

    fn is_full(&self, node: usize) -> bool {
        self.links
            .iter()
            .any(|(l, &n)| n == node && matches!(l, Link::Full { .. }))
    }
}

/// Nulls replaced by the feature's default (pandas' `fillna`), for numbers.
fn fill_default(array: ArrayRef, default: Option<f64>) -> ArrayRef {
    let Some(d) = default else { return array };
    if array.null_count() == 0 {
        return array;
    }
    match array.as_primitive_opt::<Float64Type>() {
        Some(values) => Arc::new(
            values
                .iter()
                .map(|v| Some(v.unwrap_or(d)))
                .collect::<Float64Array>(),
        ),
        None if array.data_type() == &DataType::Null => {
            Arc::new(Float64Array::from(vec![d; array.len()]))
        }
        None => array,
    }
}
