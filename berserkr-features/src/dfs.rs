//! Deep feature synthesis: which features to make for a target dataframe.
//!
//! [`Dfs`] walks the entity set from the target as Featuretools' `dfs` does:
//! columns of each dataframe become features, aggregation primitives apply
//! to the features of child (and grandchild) dataframes, transform
//! primitives to the features of the dataframe itself, parents' features
//! are carried down to children, and each step may take the output of
//! another, up to a maximum depth. The result is a list of feature
//! definitions named exactly as Featuretools names them, in the order
//! Featuretools lists them.
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Float64Array, Int64Array, StringArray, TimestampNanosecondArray};
//! # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! # use arrow::record_batch::RecordBatch;
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
//! #     Arc::new(TimestampNanosecondArray::from(vec![0, 0, 5])),
//! #     Arc::new(Float64Array::from(vec![1.5, 2.5, 4.0])),
//! # ])?;
//! let mut es = EntitySet::new("shop");
//! es.add_dataframe(DataframeBuilder::new("transactions", batch, "id").with_time_index("time"))?;
//! es.normalize("transactions", "customers", "customer", &[])?;
//!
//! let features = Dfs::new("customers")
//!     .with_max_depth(1)
//!     .with_aggregations(&["sum", "count"])
//!     .with_transforms(&["month"])
//!     .build(&es)?;
//! let names: Vec<&str> = features.names().collect();
//! assert_eq!(names, ["COUNT(transactions)", "SUM(transactions.amount)", "MONTH(first_transactions_time)"]);
//! # Ok::<(), berserkr_features::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use crate::entityset::EntitySet;
use crate::error::{Error, Result};
use crate::feature::{FeatureGraph, FeatureId, FeatureKind, Window};
use crate::primitives::{
    AggregationPrimitive, DEFAULT_AGGREGATIONS, DEFAULT_TRANSFORMS, EqualScalar, Primitive,
    Primitives, TransformPrimitive,
};
use crate::schema::{ColumnSchema, LogicalType, SemanticTag};

/// The features for a target dataframe: the graph of every feature made
/// along the way and, in order, the ones that are the matrix's columns.
#[derive(Debug, Clone)]
pub struct FeatureSet {
    pub(crate) target: String,
    pub(crate) graph: FeatureGraph,
    pub(crate) columns: Vec<FeatureId>,
}

impl FeatureSet {
    /// Features of `target` chosen by hand from `graph`.
    pub fn new(
        target: impl Into<String>,
        graph: FeatureGraph,
        columns: Vec<FeatureId>,
    ) -> Result<Self> {
        let target = target.into();
        for &c in &columns {
            if c >= graph.len() {
                return Err(Error::Definitions {
                    reason: format!("no feature {c} in the graph"),
                });
            }
            if graph.get(c).dataframe() != target {
                return Err(Error::Definitions {
                    reason: format!(
                        "{} is a feature of {}, not of {target}",
                        graph.get(c).name(),
                        graph.get(c).dataframe()
                    ),
                });
            }
        }
        Ok(Self {
            target,
            graph,
            columns,
        })
    }

    /// The target dataframe.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Every feature made, the matrix's and their inputs.
    pub fn graph(&self) -> &FeatureGraph {
        &self.graph
    }

    /// The matrix's features, in column order.
    pub fn columns(&self) -> &[FeatureId] {
        &self.columns
    }

    /// The number of features.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The features' names, in column order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|&c| self.graph.get(c).name())
    }

    /// The matrix's column names (multi-output features give several).
    pub fn output_names(&self) -> Vec<String> {
        self.columns
            .iter()
            .flat_map(|&c| self.graph.get(c).output_names().to_vec())
            .collect()
    }
}

/// Options of deep feature synthesis, Featuretools' `dfs` arguments.
#[derive(Debug, Clone)]
pub struct Dfs {
    target: String,
    max_depth: Option<usize>,
    primitives: Primitives,
    aggregations: Vec<String>,
    transforms: Vec<String>,
    where_primitives: Vec<String>,
    ignore_dataframes: BTreeSet<String>,
    ignore_columns: BTreeMap<String, BTreeSet<String>>,
    include_columns: Option<BTreeMap<String, BTreeSet<String>>>,
    max_features: Option<usize>,
    drop_contains: Vec<String>,
    drop_exact: Vec<String>,
    where_stacking_limit: usize,
    windows: Vec<Window>,
    prune: bool,
    seed_features: Vec<(String, String)>,
}

impl Dfs {
    /// Features for `target`, with Featuretools' defaults: depth 2, the
    /// default aggregation and transform primitives, where-clauses for
    /// `count`.
    pub fn new(target: impl Into<String>) -> Self {
        Self {
            target: target.into(),
            max_depth: Some(2),
            primitives: Primitives::standard(),
            aggregations: DEFAULT_AGGREGATIONS.iter().map(|s| s.to_string()).collect(),
            transforms: DEFAULT_TRANSFORMS.iter().map(|s| s.to_string()).collect(),
            where_primitives: vec!["count".to_string()],
            ignore_dataframes: BTreeSet::new(),
            ignore_columns: BTreeMap::new(),
            include_columns: None,
            max_features: None,
            drop_contains: Vec::new(),
            drop_exact: Vec::new(),
            where_stacking_limit: 1,
            windows: Vec::new(),
            prune: false,
            seed_features: Vec::new(),
        }
    }

    /// How many primitives may stack (default 2; `None`: no limit).
    pub fn with_max_depth(mut self, depth: impl Into<Option<usize>>) -> Self {
        self.max_depth = depth.into();
        self
    }

    /// The registry primitive names resolve in (default
    /// [`Primitives::standard`]); add your own primitives to it.
    pub fn with_primitives(mut self, primitives: Primitives) -> Self {
        self.primitives = primitives;
        self
    }

    /// The aggregation primitives to use (default
    /// [`DEFAULT_AGGREGATIONS`]).
    pub fn with_aggregations(mut self, names: &[&str]) -> Self {
        self.aggregations = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The transform primitives to use (default [`DEFAULT_TRANSFORMS`]).
    pub fn with_transforms(mut self, names: &[&str]) -> Self {
        self.transforms = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// The aggregation primitives that also get where-clauses on
    /// interesting values (default `count`).
    pub fn with_where_primitives(mut self, names: &[&str]) -> Self {
        self.where_primitives = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Dataframes to leave out (never the target).
    pub fn with_ignore_dataframes(mut self, names: &[&str]) -> Self {
        self.ignore_dataframes = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Columns of `dataframe` to leave out.
    pub fn with_ignore_columns(mut self, dataframe: &str, columns: &[&str]) -> Self {
        self.ignore_columns
            .entry(dataframe.to_string())
            .or_default()
            .extend(columns.iter().map(|s| s.to_string()));
        self
    }

    /// Only these columns of `dataframe` (besides its index, time index and
    /// keys, which relationships need).
    pub fn with_include_columns(mut self, dataframe: &str, columns: &[&str]) -> Self {
        self.include_columns
            .get_or_insert_with(BTreeMap::new)
            .entry(dataframe.to_string())
            .or_default()
            .extend(columns.iter().map(|s| s.to_string()));
        self
    }

    /// Stop after this many features (default: no cap). Generation stops
    /// as soon as the cap is certain to be filled, so a small cap on a large
    /// entity set is cheap.
    pub fn with_max_features(mut self, n: usize) -> Self {
        self.max_features = Some(n);
        self
    }

    /// Drop features whose name contains any of `parts`.
    pub fn with_drop_contains(mut self, parts: &[&str]) -> Self {
        self.drop_contains = parts.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Drop features with exactly these names.
    pub fn with_drop_exact(mut self, names: &[&str]) -> Self {
        self.drop_exact = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Beside every aggregation (all rows up to the cutoff), one more per
    /// window looking only at the rows in that span before the cutoff:
    /// `SUM(transactions.Quantity, Last 30 Days)` next to
    /// `SUM(transactions.Quantity)`.
    pub fn with_windows(mut self, windows: &[Window]) -> Self {
        self.windows = windows.to_vec();
        self
    }

    /// Leave out, while generating, features that cannot carry information:
    /// aggregations of numeric id columns (such as
    /// `MODE(transactions.invoices.CustomerID)`), and every feature of a
    /// column that is constant or equal to an earlier column of its
    /// dataframe. Off by default, so that the features are Featuretools'
    /// own.
    pub fn with_pruning(mut self, prune: bool) -> Self {
        self.prune = prune;
        self
    }

    /// Features to build on, named `(dataframe, column)`: DFS stacks on
    /// them as on any column.
    pub fn with_seed_column(mut self, dataframe: &str, column: &str) -> Self {
        self.seed_features
            .push((dataframe.to_string(), column.to_string()));
        self
    }

    /// Makes the feature definitions.
    pub fn build(&self, es: &EntitySet) -> Result<FeatureSet> {
        es.dataframe(&self.target)?;
        for name in &self.ignore_dataframes {
            es.dataframe(name)?;
            if *name == self.target {
                return Err(Error::InvalidOption {
                    option: "ignore_dataframes",
                    reason: format!("cannot ignore the target dataframe {name:?}"),
                });
            }
        }
        for (dataframe, columns) in self
            .ignore_columns
            .iter()
            .chain(self.include_columns.iter().flatten())
        {
            let frame = es.dataframe(dataframe)?;
            for column in columns {
                frame.column(column)?;
            }
        }
        let resolve_aggregations =
            |names: &[String]| -> Result<Vec<Arc<dyn AggregationPrimitive>>> {
                let mut v: Vec<_> = names
                    .iter()
                    .map(|n| self.primitives.aggregation(n))
                    .collect::<Result<_>>()?;
                v.sort_by_key(|p| format!("{}{}", p.name(), p.args()));
                Ok(v)
            };
        let aggregations = resolve_aggregations(&self.aggregations)?;
        let where_primitives = resolve_aggregations(&self.where_primitives)?;
        let mut transforms: Vec<_> = self
            .transforms
            .iter()
            .map(|n| self.primitives.transform(n))
            .collect::<Result<_>>()?;
        transforms.sort_by_key(|p| format!("{}{}", p.name(), p.args()));

        // With a cap, shallow features are made first and deeper levels only
        // while the cap is not filled: the matrix's features come sorted by
        // depth, so deeper ones could only come after the cap. On a large
        // entity set most features are the deepest, and are never made.
        let caps: Vec<Option<usize>> = match (self.max_features, self.max_depth) {
            (Some(_), Some(d)) => (0..=d).map(Some).collect(),
            (Some(_), None) => (0..=MAX_CAPPED_DEPTH).map(Some).chain([None]).collect(),
            (None, _) => vec![None],
        };
        let mut made = None;
        for cap in caps {
            let (graph, columns) = self.synthesize(
                es,
                cap,
                aggregations.clone(),
                transforms.clone(),
                where_primitives.clone(),
            )?;
            let filled = self.max_features.is_some_and(|n| columns.len() >= n);
            made = Some((graph, columns));
            if filled {
                break;
            }
        }
        let (graph, mut columns) = made.ok_or_else(|| Error::Definitions {
            reason: "no depth to synthesise".to_string(),
        })?;
        if let Some(n) = self.max_features {
            columns.truncate(n);
        }
        FeatureSet::new(self.target.clone(), graph, columns)
    }

    /// One run of deep feature synthesis, making no feature deeper than
    /// `depth_cap`: the graph and the target's features, sorted by depth
    /// and filtered.
    fn synthesize(
        &self,
        es: &EntitySet,
        depth_cap: Option<usize>,
        aggregations: Vec<Arc<dyn AggregationPrimitive>>,
        transforms: Vec<Arc<dyn TransformPrimitive>>,
        where_primitives: Vec<Arc<dyn AggregationPrimitive>>,
    ) -> Result<(FeatureGraph, Vec<FeatureId>)> {
        let mut run = Synthesis {
            es,
            options: self,
            aggregations,
            transforms,
            where_primitives,
            graph: FeatureGraph::new(),
            all: HashMap::new(),
            where_clauses: HashMap::new(),
            seeds: HashSet::new(),
            depth_cap,
            uninformative: if self.prune {
                uninformative_columns(es)
            } else {
                HashSet::new()
            },
        };
        let depth = self.max_depth.map(|d| d as i64);
        run.run_dfs(&self.target, depth)?;

        let target_index = es.dataframe(&self.target)?.index().name().to_string();
        // A composite's keys name its instances, as an index does.
        let target_keys: Vec<String> = es
            .composite(&self.target)
            .map(|c| c.keys.iter().map(|(_, column)| column.clone()).collect())
            .unwrap_or_default();
        let return_types = [
            ColumnSchema::tagged(&[SemanticTag::Numeric]),
            ColumnSchema::tagged(&[SemanticTag::Category]),
            ColumnSchema::typed(LogicalType::Boolean),
            ColumnSchema::typed(LogicalType::BooleanNullable),
        ];
        let mut columns: Vec<FeatureId> = run
            .all
            .get(&self.target)
            .map(|f| f.order.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|&f| {
                let feature = run.graph.get(f);
                return_types.iter().any(|t| t.accepts(feature.schema()))
                    && !matches!(feature.kind(), FeatureKind::Identity { column }
                        if *column == target_index || target_keys.contains(column))
            })
            .collect();
        columns.sort_by_key(|&f| run.depth(f));
        columns.retain(|&f| {
            let name = run.graph.get(f).name();
            !self.drop_contains.iter().any(|c| name.contains(c.as_str()))
                && !self.drop_exact.iter().any(|e| e == name)
        });
        Ok((run.graph, columns))
    }
}

/// Columns that carry no information of their own: constant ones, and
/// those equal to an earlier column of the same dataframe. The index, time
/// index and keys are never listed: the entity set's structure needs them.
fn uninformative_columns(es: &EntitySet) -> HashSet<(String, String)> {
    let mut out = HashSet::new();
    for frame in es.dataframes() {
        let mut kept: Vec<&arrow::array::ArrayRef> = Vec::new();
        for column in frame.columns() {
            let structural = [
                SemanticTag::Index,
                SemanticTag::TimeIndex,
                SemanticTag::ForeignKey,
            ]
            .iter()
            .any(|t| column.schema().has_tag(*t));
            if structural {
                continue;
            }
            let values = column.values();
            let constant = is_constant(values.as_ref());
            let duplicate = kept.iter().any(|k| k.as_ref() == values.as_ref());
            if constant || duplicate {
                out.insert((frame.name().to_string(), column.name().to_string()));
            } else {
                kept.push(values);
            }
        }
    }
    out
}

/// Whether every value is the same (nulls included: all null, or none null
/// and one value).
fn is_constant(values: &dyn arrow::array::Array) -> bool {
    use arrow::array::AsArray;
    use arrow::datatypes::{Float64Type, TimestampNanosecondType, UInt32Type};
    let n = values.len();
    if n < 2 || values.null_count() == n {
        return true;
    }
    if values.null_count() > 0 {
        return false;
    }
    if let Some(v) = values.as_primitive_opt::<Float64Type>() {
        let first = v.value(0);
        return v.values().iter().all(|x| x.to_bits() == first.to_bits());
    }
    if let Some(v) = values.as_primitive_opt::<TimestampNanosecondType>() {
        let first = v.value(0);
        return v.values().iter().all(|&x| x == first);
    }
    if let Some(v) = values.as_boolean_opt() {
        let t = v.true_count();
        return t == 0 || t == n;
    }
    if let Some(v) = values.as_dictionary_opt::<UInt32Type>() {
        let first = v.keys().value(0);
        return v.keys().values().iter().all(|&k| k == first);
    }
    false
}

/// The deepest level a capped run without a max depth tries before the
/// unbounded run.
const MAX_CAPPED_DEPTH: usize = 4;

/// Features of one dataframe, in the order made.
#[derive(Debug, Default)]
struct Made {
    order: Vec<FeatureId>,
    names: HashSet<String>,
}

struct Synthesis<'a> {
    es: &'a EntitySet,
    options: &'a Dfs,
    aggregations: Vec<Arc<dyn AggregationPrimitive>>,
    transforms: Vec<Arc<dyn TransformPrimitive>>,
    where_primitives: Vec<Arc<dyn AggregationPrimitive>>,
    graph: FeatureGraph,
    all: HashMap<String, Made>,
    where_clauses: HashMap<String, Vec<FeatureId>>,
    seeds: HashSet<FeatureId>,
    /// Features deeper than this are not made (the search itself still
    /// runs to the max depth, so the shallower ones are exactly those of
    /// the whole run, in the same order).
    depth_cap: Option<usize>,
    /// With pruning: columns that are constant, or equal to an earlier
    /// column of their dataframe, so that every feature made of them would
    /// be constant or a duplicate.
    uninformative: HashSet<(String, String)>,
}

/// A feature's primitive as stacking rules see it: the primitive of the
/// feature, or of the feature a direct feature carries.
enum Root<'p> {
    Column,
    Aggregation(&'p dyn Primitive),
    Transform(&'p dyn Primitive),
}

impl Synthesis<'_> {
    fn depth(&self, feature: FeatureId) -> usize {
        if self.seeds.contains(&feature) {
            return 0;
        }
        let f = self.graph.get(feature);
        match f.kind() {
            FeatureKind::Identity { .. } => 0,
            _ => {
                f.dependencies()
                    .iter()
                    .map(|&d| self.depth(d))
                    .max()
                    .unwrap_or(0)
                    + 1
            }
        }
    }

    fn add(&mut self, feature: FeatureId) {
        if self.depth_cap.is_some_and(|cap| self.depth(feature) > cap) {
            return;
        }
        let f = self.graph.get(feature);
        let made = self.all.entry(f.dataframe().to_string()).or_default();
        if made.names.insert(f.name().to_string()) {
            made.order.push(feature);
        }
    }

    fn ignored_column(&self, dataframe: &str, column: &str) -> bool {
        if self
            .options
            .ignore_columns
            .get(dataframe)
            .is_some_and(|c| c.contains(column))
        {
            return true;
        }
        if self
            .uninformative
            .contains(&(dataframe.to_string(), column.to_string()))
        {
            return true;
        }
        if let Some(include) = &self.options.include_columns
            && let Some(columns) = include.get(dataframe)
        {
            let Ok(frame) = self.es.dataframe(dataframe) else {
                return true;
            };
            let Ok(col) = frame.column(column) else {
                return true;
            };
            let structural = [
                SemanticTag::Index,
                SemanticTag::ForeignKey,
                SemanticTag::TimeIndex,
            ]
            .iter()
            .any(|t| col.schema().has_tag(*t));
            return !structural && !columns.contains(column);
        }
        false
    }

    fn run_dfs(&mut self, dataframe: &str, max_depth: Option<i64>) -> Result<()> {
        if max_depth.is_some_and(|d| d < 0) {
            return Ok(());
        }
        self.all.insert(dataframe.to_string(), Made::default());

        // Step 1: the columns.
        let frame = self.es.dataframe(dataframe)?;
        let columns: Vec<String> = frame
            .columns()
            .iter()
            .map(|c| c.name().to_string())
            .collect();
        for column in columns {
            if self.ignored_column(dataframe, &column) {
                continue;
            }
            let f = self.graph.identity(self.es, dataframe, &column)?;
            self.add(f);
        }
        let seeds: Vec<String> = self
            .options
            .seed_features
            .iter()
            .filter(|(d, _)| d == dataframe)
            .map(|(_, c)| c.clone())
            .collect();
        for column in seeds {
            let f = self.graph.identity(self.es, dataframe, &column)?;
            self.seeds.insert(f);
            self.add(f);
        }

        // Step 2: recurse into children.
        for r in self.es.backward(dataframe) {
            let child = self.es.relationships()[r].child.clone();
            if self.all.contains_key(&child) || self.options.ignore_dataframes.contains(&child) {
                continue;
            }
            self.run_dfs(&child, max_depth.map(|d| d - 1))?;
        }

        // Step 3: aggregations over children and deeper descendants.
        for path in self.backward_paths(dataframe) {
            let child = self.es.relationships()[*path.last().unwrap_or(&0)]
                .child
                .clone();
            if self.options.ignore_dataframes.contains(&child) {
                continue;
            }
            self.build_aggregations(dataframe, &child, max_depth, &path)?;
        }

        // Step 4: transforms of columns and aggregations.
        self.build_transforms(dataframe, max_depth, false)?;

        // Step 5: recurse into parents.
        for r in self.es.forward(dataframe) {
            let parent = self.es.relationships()[r].parent.clone();
            if self.all.contains_key(&parent) || self.options.ignore_dataframes.contains(&parent) {
                continue;
            }
            self.run_dfs(&parent, max_depth.map(|d| d - 1))?;
        }

        // Step 6: parents' features carried down.
        for r in self.es.forward(dataframe) {
            let parent = self.es.relationships()[r].parent.clone();
            if self.options.ignore_dataframes.contains(&parent) {
                continue;
            }
            self.build_direct(r, max_depth)?;
        }

        // Step 7: transforms of the carried features.
        self.build_transforms(dataframe, max_depth, true)?;

        self.build_where_clauses(dataframe);
        Ok(())
    }

    /// Relationship paths to every descendant, depth first in relationship
    /// order (Featuretools' `get_backward_dataframes(deep=True)`).
    fn backward_paths(&self, dataframe: &str) -> Vec<Vec<usize>> {
        let mut out = Vec::new();
        for r in self.es.backward(dataframe) {
            out.push(vec![r]);
            let child = &self.es.relationships()[r].child;
            for mut sub in self.backward_paths(child) {
                sub.insert(0, r);
                out.push(sub);
            }
        }
        out
    }

    /// Features of `dataframe` no deeper than `max_depth`, multi-output
    /// features split into their outputs, and (unless `schemas` is `None`)
    /// accepted by one of `schemas`.
    fn features_by_type(
        &mut self,
        dataframe: &str,
        max_depth: Option<i64>,
        schemas: Option<&[ColumnSchema]>,
    ) -> Result<Vec<FeatureId>> {
        if max_depth.is_some_and(|d| d < 0) {
            return Ok(Vec::new());
        }
        let Some(made) = self.all.get(dataframe) else {
            return Ok(Vec::new());
        };
        let mut selected = Vec::new();
        for f in made.order.clone() {
            let n = self.graph.get(f).number_output_features();
            if n > 1 {
                for i in 0..n {
                    selected.push(self.graph.slice(f, i)?);
                }
            } else {
                selected.push(f);
            }
        }
        if let Some(d) = max_depth {
            selected.retain(|&f| self.depth(f) as i64 <= d);
        }
        if let Some(schemas) = schemas
            && !schemas.is_empty()
        {
            selected.retain(|&f| {
                schemas
                    .iter()
                    .any(|s| s.accepts(self.graph.get(f).schema()))
            });
        }
        Ok(selected)
    }

    fn root(&self, feature: FeatureId) -> Root<'_> {
        let f = self.graph.get(feature);
        match f.kind() {
            FeatureKind::Identity { .. } => Root::Column,
            FeatureKind::Direct { base, .. } | FeatureKind::Slice { base, .. } => self.root(*base),
            FeatureKind::Aggregation { primitive, .. } => Root::Aggregation(primitive.as_ref()),
            FeatureKind::Transform { primitive, .. } => Root::Transform(primitive.as_ref()),
        }
    }

    /// Featuretools' `can_stack_primitive_on_inputs`.
    fn can_stack(&self, primitive: &dyn Primitive, inputs: &[FeatureId]) -> bool {
        let stack_on = primitive.stack_on();
        let exclude = primitive.stack_on_exclude();
        for &input in inputs {
            if self.graph.get(input).number_output_features() > 1 {
                return false;
            }
            let f = match self.root(input) {
                Root::Column => continue,
                Root::Aggregation(p) | Root::Transform(p) => p,
            };
            let same = f.name() == primitive.name();
            if !primitive.stack_on_self() && same {
                return false;
            }
            if exclude.iter().any(|e| e == f.name()) {
                return false;
            }
            if f.base_of_exclude().iter().any(|e| e == primitive.name()) {
                return false;
            }
            let permitted = (primitive.stack_on_self() && same)
                || stack_on
                    .as_ref()
                    .is_none_or(|s| s.iter().any(|n| n == f.name()))
                || f.base_of()
                    .is_none_or(|b| b.iter().any(|n| n == primitive.name()));
            if !permitted {
                return false;
            }
        }
        true
    }

    fn is_direct(&self, feature: FeatureId) -> bool {
        matches!(self.graph.get(feature).kind(), FeatureKind::Direct { .. })
    }

    /// The relationship path of a direct feature (its first relationship).
    fn direct_path(&self, feature: FeatureId) -> Option<usize> {
        match self.graph.get(feature).kind() {
            FeatureKind::Direct { relationship, .. } => Some(*relationship),
            _ => None,
        }
    }

    /// Featuretools' `match`: the ordered (or, for commutative primitives,
    /// unordered) choices of distinct features for the inputs.
    fn match_inputs(
        &self,
        types: &[ColumnSchema],
        features: &[FeatureId],
        commutative: bool,
        require_direct: bool,
    ) -> Vec<Vec<FeatureId>> {
        let matches: Vec<FeatureId> = features
            .iter()
            .copied()
            .filter(|&f| types[0].accepts(self.graph.get(f).schema()))
            .collect();
        if types.len() == 1 {
            return matches
                .into_iter()
                .filter(|&m| !require_direct || self.is_direct(m))
                .map(|m| vec![m])
                .collect();
        }
        let mut out: Vec<Vec<FeatureId>> = Vec::new();
        let mut seen: HashSet<Vec<FeatureId>> = HashSet::new();
        for &m in &matches {
            let name = self.graph.get(m).unique_name();
            let rest_features: Vec<FeatureId> = features
                .iter()
                .copied()
                .filter(|&f| self.graph.get(f).unique_name() != name)
                .collect();
            let still_direct = require_direct && !self.is_direct(m);
            for rest in self.match_inputs(&types[1..], &rest_features, false, still_direct) {
                let mut candidate = vec![m];
                candidate.extend(rest);
                if commutative {
                    candidate.sort_by_key(|&f| self.graph.get(f).name().to_lowercase());
                }
                if seen.insert(candidate.clone()) {
                    out.push(candidate);
                }
            }
        }
        out
    }

    fn all_direct_same_path(&self, inputs: &[FeatureId]) -> bool {
        let path = self.direct_path(inputs[0]);
        inputs
            .iter()
            .all(|&f| self.is_direct(f) && self.direct_path(f) == path)
    }

    fn matching_inputs(
        &mut self,
        dataframe: &str,
        max_depth: Option<i64>,
        primitive: &dyn Primitive,
        require_direct: bool,
        filter: &dyn Fn(&Self, FeatureId) -> bool,
    ) -> Result<Vec<Vec<FeatureId>>> {
        let mut out = Vec::new();
        for types in primitive.input_types() {
            let features = self.features_by_type(dataframe, max_depth, Some(&types))?;
            if features.is_empty() {
                continue;
            }
            let features: Vec<FeatureId> =
                features.into_iter().filter(|&f| filter(self, f)).collect();
            out.extend(self.match_inputs(
                &types,
                &features,
                primitive.commutative(),
                require_direct,
            ));
        }
        if require_direct {
            out.retain(|m| !self.all_direct_same_path(m));
        }
        // Featuretools' `filter_matches_by_options` hands the matches back
        // distinct and sorted by their features' unique names.
        let mut keyed: Vec<(Vec<String>, Vec<FeatureId>)> = out
            .into_iter()
            .map(|m| {
                (
                    m.iter().map(|&f| self.graph.get(f).unique_name()).collect(),
                    m,
                )
            })
            .collect();
        keyed.sort();
        keyed.dedup_by(|a, b| a.0 == b.0);
        let mut out: Vec<Vec<FeatureId>> = keyed.into_iter().map(|(_, m)| m).collect();
        let numeric_key = ColumnSchema::tagged(&[SemanticTag::ForeignKey, SemanticTag::Numeric]);
        out.retain(|m| {
            !m.iter()
                .any(|&f| numeric_key.accepts(self.graph.get(f).schema()))
        });
        if self.options.prune {
            // A numeric id is a name, not a quantity: its MODE, MEAN or SUM
            // says nothing. (A label id such as a stock code is kept: the
            // MODE of the items bought is the favourite item.)
            out.retain(|m| {
                !m.iter().any(|&f| {
                    let s = self.graph.get(f).schema();
                    (s.has_tag(SemanticTag::ForeignKey) || s.has_tag(SemanticTag::Index))
                        && !s.is_categorical()
                }) || primitive.name() == "count"
            });
        }
        Ok(out)
    }

    fn not_a_transform_input(&self, feature: FeatureId) -> bool {
        !matches!(self.root(feature), Root::Transform(_))
    }

    fn build_transforms(
        &mut self,
        dataframe: &str,
        max_depth: Option<i64>,
        require_direct: bool,
    ) -> Result<()> {
        let new_max_depth = max_depth.map(|d| d - 1);
        let mut to_add = Vec::new();
        for primitive in self.transforms.clone() {
            let matches = self.matching_inputs(
                dataframe,
                new_max_depth,
                primitive.as_ref(),
                require_direct,
                &|s, f| s.not_a_transform_input(f),
            )?;
            for inputs in matches {
                if !self.can_stack(primitive.as_ref(), &inputs) {
                    continue;
                }
                if inputs
                    .iter()
                    .any(|&f| self.graph.get(f).number_output_features() != 1)
                {
                    continue;
                }
                to_add.push(self.graph.transform(&inputs, primitive.clone())?);
            }
        }
        for f in to_add {
            self.add(f);
        }
        Ok(())
    }

    /// Whether `feature` is the key column of a relationship on `path`.
    fn in_relationship_path(&self, path: &[usize], feature: FeatureId) -> bool {
        let f = self.graph.get(feature);
        let FeatureKind::Identity { column } = f.kind() else {
            return false;
        };
        path.iter().any(|&r| {
            let r = &self.es.relationships()[r];
            (r.child == f.dataframe() && r.child_column == *column)
                || (r.parent == f.dataframe() && r.parent_column == *column)
        })
    }

    fn build_direct(&mut self, relationship: usize, max_depth: Option<i64>) -> Result<()> {
        let parent = self.es.relationships()[relationship].parent.clone();
        let features = self.features_by_type(&parent, max_depth, None)?;
        for f in features {
            if self.in_relationship_path(&[relationship], f) {
                continue;
            }
            let direct = self.graph.direct(self.es, f, relationship)?;
            self.add(direct);
        }
        Ok(())
    }

    fn build_aggregations(
        &mut self,
        parent: &str,
        child: &str,
        max_depth: Option<i64>,
        path: &[usize],
    ) -> Result<()> {
        let new_max_depth = max_depth.map(|d| d - 1);
        let windows: Vec<Option<Window>> = std::iter::once(None)
            .chain(self.options.windows.iter().copied().map(Some))
            .collect();
        for primitive in self.aggregations.clone() {
            let parent_name = parent.to_string();
            let path_owned = path.to_vec();
            let matches = self.matching_inputs(child, new_max_depth, primitive.as_ref(), false, &move |s, f| {
                let direct_of_parent = matches!(s.graph.get(f).kind(), FeatureKind::Direct { relationship, .. }
                    if s.es.relationships()[*relationship].parent == parent_name);
                !direct_of_parent && !s.in_relationship_path(&path_owned, f)
            })?;
            let wheres = self.where_clauses.get(child).cloned().unwrap_or_default();
            let is_where_primitive = self
                .where_primitives
                .iter()
                .any(|w| w.name() == primitive.name());
            for inputs in matches {
                if !self.can_stack(primitive.as_ref(), &inputs) {
                    continue;
                }
                for &window in &windows {
                    let f = self.graph.aggregation(
                        self.es,
                        &inputs,
                        primitive.clone(),
                        path,
                        None,
                        window,
                    )?;
                    self.add(f);
                }
                let stacked_wheres = inputs.iter().filter(|&&f| self.has_where(f)).count();
                if stacked_wheres >= self.options.where_stacking_limit || !is_where_primitive {
                    continue;
                }
                for &condition in &wheres {
                    let condition_bases = self.graph.get(condition).dependencies();
                    let base_names: HashSet<String> = inputs
                        .iter()
                        .map(|&f| self.graph.get(f).unique_name())
                        .collect();
                    if condition_bases
                        .iter()
                        .any(|&b| base_names.contains(&self.graph.get(b).unique_name()))
                    {
                        continue;
                    }
                    for &window in &windows {
                        let f = self.graph.aggregation(
                            self.es,
                            &inputs,
                            primitive.clone(),
                            path,
                            Some(condition),
                            window,
                        )?;
                        self.add(f);
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether an aggregation with a where-clause is in `feature` or below.
    fn has_where(&self, feature: FeatureId) -> bool {
        let f = self.graph.get(feature);
        if let FeatureKind::Aggregation {
            condition: Some(_), ..
        } = f.kind()
        {
            return true;
        }
        f.dependencies().iter().any(|&d| self.has_where(d))
    }

    fn build_where_clauses(&mut self, dataframe: &str) {
        let Some(made) = self.all.get(dataframe) else {
            return;
        };
        let mut clauses = Vec::new();
        for &f in &made.order {
            let feature = self.graph.get(f);
            let column = match feature.kind() {
                FeatureKind::Identity { column } => {
                    Some((feature.dataframe().to_string(), column.clone()))
                }
                FeatureKind::Direct { base, .. } => match self.graph.get(*base).kind() {
                    FeatureKind::Identity { column } => Some((
                        self.graph.get(*base).dataframe().to_string(),
                        column.clone(),
                    )),
                    _ => None,
                },
                _ => None,
            };
            let Some((df, column)) = column else { continue };
            let values = self
                .es
                .dataframe(&df)
                .and_then(|d| d.column(&column).map(|c| c.interesting_values().to_vec()))
                .unwrap_or_default();
            for value in values {
                clauses.push((f, value));
            }
        }
        for (f, value) in clauses {
            if let Ok(id) = self
                .graph
                .transform(&[f], Arc::new(EqualScalar::new(value)))
            {
                let entry = self.where_clauses.entry(dataframe.to_string()).or_default();
                if !entry.contains(&id) {
                    entry.push(id);
                }
            }
        }
    }
}
