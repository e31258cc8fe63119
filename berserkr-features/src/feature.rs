//! Feature definitions: what each column of a feature matrix is made of.
//!
//! A feature is a column of some dataframe: an existing column
//! ([`FeatureKind::Identity`]), a parent's feature seen from a child
//! ([`FeatureKind::Direct`]), an aggregation over child rows
//! ([`FeatureKind::Aggregation`]) or a transform of features of the same
//! dataframe ([`FeatureKind::Transform`]). Features live in a
//! [`FeatureGraph`] and refer to their inputs by [`FeatureId`]; names are
//! built exactly as Featuretools builds them, so
//! `MEAN(invoices.SUM(transactions.Quantity))` means the same thing in
//! both.

use std::collections::HashMap;
use std::sync::Arc;

use crate::entityset::EntitySet;
use crate::error::{Error, Result};
use crate::primitives::{AggregationPrimitive, Primitive, TransformPrimitive};
use crate::schema::{ColumnSchema, SemanticTag};

/// A feature's position in its [`FeatureGraph`].
pub type FeatureId = usize;

/// A span of time before the cutoff that an aggregation looks at
/// (Featuretools' `use_previous`: `SUM(transactions.Quantity, Last 30
/// Days)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    nanos: i64,
}

impl Window {
    /// A window of `days` days.
    pub fn days(days: u32) -> Self {
        Self {
            nanos: i64::from(days) * 86_400_000_000_000,
        }
    }

    /// A window of `nanos` nanoseconds.
    pub fn from_nanos(nanos: i64) -> Self {
        Self { nanos }
    }

    /// The length in nanoseconds.
    pub fn nanos(&self) -> i64 {
        self.nanos
    }

    /// Featuretools' name of the span (`30 Days`, `12 Hours`).
    pub fn name(&self) -> String {
        const UNITS: [(i64, &str); 4] = [
            (86_400_000_000_000, "Days"),
            (3_600_000_000_000, "Hours"),
            (60_000_000_000, "Minutes"),
            (1_000_000_000, "Seconds"),
        ];
        for (size, unit) in UNITS {
            if self.nanos % size == 0 {
                return format!("{} {unit}", self.nanos / size);
            }
        }
        format!("{} Nanoseconds", self.nanos)
    }
}

/// How a feature is made.
#[derive(Debug, Clone)]
pub enum FeatureKind {
    /// A column of the dataframe, as it is.
    Identity {
        /// The column's name.
        column: String,
    },
    /// The feature `base` of the parent row, through the relationship at
    /// position `relationship` of the entity set (this dataframe is its
    /// child).
    Direct {
        /// The parent's feature.
        base: FeatureId,
        /// The relationship's position in the entity set.
        relationship: usize,
    },
    /// `primitive` over the rows of a descendant dataframe reached through
    /// `path` (relationship positions, from this dataframe down).
    Aggregation {
        /// The descendant's features the primitive takes.
        base: Vec<FeatureId>,
        /// The primitive.
        primitive: Arc<dyn AggregationPrimitive>,
        /// Relationships from this dataframe (a parent) to the descendant.
        path: Vec<usize>,
        /// A boolean feature of the descendant that rows must have true.
        condition: Option<FeatureId>,
        /// Only rows this recent before the cutoff.
        window: Option<Window>,
    },
    /// `primitive` over features of the same dataframe.
    Transform {
        /// The features the primitive takes.
        base: Vec<FeatureId>,
        /// The primitive.
        primitive: Arc<dyn TransformPrimitive>,
    },
    /// Output `index` of the multi-output feature `base`.
    Slice {
        /// The multi-output feature.
        base: FeatureId,
        /// Which output.
        index: usize,
    },
}

/// One feature.
#[derive(Debug, Clone)]
pub struct Feature {
    pub(crate) dataframe: String,
    pub(crate) name: String,
    pub(crate) output_names: Vec<String>,
    pub(crate) kind: FeatureKind,
    pub(crate) schema: ColumnSchema,
    pub(crate) depth: usize,
}

impl Feature {
    /// The dataframe the feature is a column of.
    pub fn dataframe(&self) -> &str {
        &self.dataframe
    }

    /// The feature's name, as Featuretools names it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The names of its output columns (one, except for multi-output
    /// primitives such as `N_MOST_COMMON`).
    pub fn output_names(&self) -> &[String] {
        &self.output_names
    }

    /// Featuretools' `unique_name`: `dataframe: name`.
    pub fn unique_name(&self) -> String {
        format!("{}: {}", self.dataframe, self.name)
    }

    /// How it is made.
    pub fn kind(&self) -> &FeatureKind {
        &self.kind
    }

    /// The type and tags of its values.
    pub fn schema(&self) -> &ColumnSchema {
        &self.schema
    }

    /// How many primitives deep it is (a column is 0).
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The number of output columns.
    pub fn number_output_features(&self) -> usize {
        self.output_names.len()
    }

    /// The primitive, for aggregations and transforms.
    pub(crate) fn primitive(&self) -> Option<&dyn Primitive> {
        match &self.kind {
            FeatureKind::Aggregation { primitive, .. } => {
                Some(primitive.as_ref() as &dyn Primitive)
            }
            FeatureKind::Transform { primitive, .. } => Some(primitive.as_ref() as &dyn Primitive),
            _ => None,
        }
    }

    /// The value for a row with nothing to compute from.
    pub(crate) fn default_value(&self) -> Option<f64> {
        self.primitive().and_then(|p| p.default_value())
    }

    /// The features it is computed from (including a where-clause).
    pub fn dependencies(&self) -> Vec<FeatureId> {
        match &self.kind {
            FeatureKind::Identity { .. } => Vec::new(),
            FeatureKind::Direct { base, .. } | FeatureKind::Slice { base, .. } => vec![*base],
            FeatureKind::Aggregation {
                base, condition, ..
            } => {
                let mut deps = base.clone();
                deps.extend(condition);
                deps
            }
            FeatureKind::Transform { base, .. } => base.clone(),
        }
    }
}

/// Features, each referring to earlier ones by id.
#[derive(Debug, Clone, Default)]
pub struct FeatureGraph {
    features: Vec<Feature>,
    by_unique_name: HashMap<String, FeatureId>,
}

impl FeatureGraph {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// The feature `id`.
    pub fn get(&self, id: FeatureId) -> &Feature {
        &self.features[id]
    }

    /// Every feature, in the order added.
    pub fn features(&self) -> &[Feature] {
        &self.features
    }

    /// The number of features.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The feature of `dataframe` called `name`.
    pub fn find(&self, dataframe: &str, name: &str) -> Option<FeatureId> {
        self.by_unique_name
            .get(&format!("{dataframe}: {name}"))
            .copied()
    }

    fn add(&mut self, feature: Feature) -> FeatureId {
        let unique = feature.unique_name();
        if let Some(&id) = self.by_unique_name.get(&unique) {
            return id;
        }
        let id = self.features.len();
        self.features.push(feature);
        self.by_unique_name.insert(unique, id);
        id
    }

    /// The column `column` of `dataframe`.
    pub fn identity(&mut self, es: &EntitySet, dataframe: &str, column: &str) -> Result<FeatureId> {
        let frame = es.dataframe(dataframe)?;
        let schema = frame.column(column)?.schema().clone();
        Ok(self.add(Feature {
            dataframe: dataframe.to_string(),
            name: column.to_string(),
            output_names: vec![column.to_string()],
            kind: FeatureKind::Identity {
                column: column.to_string(),
            },
            schema,
            depth: 0,
        }))
    }

    /// The parent's feature `base` seen from `child` through the
    /// relationship at position `relationship`.
    pub fn direct(
        &mut self,
        es: &EntitySet,
        base: FeatureId,
        relationship: usize,
    ) -> Result<FeatureId> {
        let r = es
            .relationships()
            .get(relationship)
            .ok_or_else(|| Error::Definitions {
                reason: format!("no relationship at position {relationship}"),
            })?;
        let b = self.get(base);
        if b.dataframe != r.parent {
            return Err(Error::NoRelationship {
                child: r.child.clone(),
                parent: b.dataframe.clone(),
            });
        }
        let path_name = relationship_parent_name(es, relationship);
        // A direct feature keeps the foreign key tag but drops index roles.
        let schema = inherited_schema(b, true);
        let output_names = b
            .output_names
            .iter()
            .map(|n| format!("{path_name}.{n}"))
            .collect();
        let feature = Feature {
            dataframe: r.child.clone(),
            name: format!("{path_name}.{}", b.name),
            output_names,
            kind: FeatureKind::Direct { base, relationship },
            schema,
            depth: b.depth + 1,
        };
        Ok(self.add(feature))
    }

    /// `primitive` of `base` (features of the dataframe at the end of
    /// `path`) for the dataframe at its start.
    pub fn aggregation(
        &mut self,
        es: &EntitySet,
        base: &[FeatureId],
        primitive: Arc<dyn AggregationPrimitive>,
        path: &[usize],
        condition: Option<FeatureId>,
        window: Option<Window>,
    ) -> Result<FeatureId> {
        let first = path.first().ok_or_else(|| Error::Definitions {
            reason: format!("aggregation {} needs a relationship path", primitive.name()),
        })?;
        let parent = es.relationships()[*first].parent.clone();
        let child = es.relationships()[*path.last().unwrap_or(first)]
            .child
            .clone();
        for window_relationship in path.windows(2) {
            let (upper, lower) = (
                &es.relationships()[window_relationship[0]],
                &es.relationships()[window_relationship[1]],
            );
            if upper.child != lower.parent {
                return Err(Error::NoRelationship {
                    child: lower.child.clone(),
                    parent: upper.child.clone(),
                });
            }
        }
        for &b in base {
            if self.get(b).dataframe != child {
                return Err(Error::Definitions {
                    reason: format!("{} is not a feature of {child}", self.get(b).name),
                });
            }
        }
        let path_name = if es.forward_paths(&child, &parent) == 1 {
            child.clone()
        } else {
            path.iter()
                .map(|&r| relationship_child_name(es, r))
                .collect::<Vec<_>>()
                .join(".")
        };
        let base_names: Vec<String> = base.iter().map(|&b| self.get(b).name.clone()).collect();
        let where_str = condition
            .map(|c| format!(" WHERE {}", self.get(c).name))
            .unwrap_or_default();
        let previous = window
            .map(|w| format!(", Last {}", w.name()))
            .unwrap_or_default();
        let name = primitive.generate_name(&base_names, &path_name, &where_str, &previous);
        let output_names = primitive.generate_names(&base_names, &path_name, &where_str, &previous);
        let schema = match primitive.return_type() {
            Some(s) => s,
            None => inherited_schema(self.get(base[0]), false),
        };
        let depth = base
            .iter()
            .chain(condition.iter())
            .map(|&b| self.get(b).depth)
            .max()
            .unwrap_or(0)
            + 1;
        Ok(self.add(Feature {
            dataframe: parent,
            name,
            output_names,
            kind: FeatureKind::Aggregation {
                base: base.to_vec(),
                primitive,
                path: path.to_vec(),
                condition,
                window,
            },
            schema,
            depth,
        }))
    }

    /// `primitive` of `base`, features of one dataframe.
    pub fn transform(
        &mut self,
        base: &[FeatureId],
        primitive: Arc<dyn TransformPrimitive>,
    ) -> Result<FeatureId> {
        let first = *base.first().ok_or_else(|| Error::Definitions {
            reason: format!("transform {} needs an input", primitive.name()),
        })?;
        let dataframe = self.get(first).dataframe.clone();
        if let Some(&other) = base.iter().find(|&&b| self.get(b).dataframe != dataframe) {
            return Err(Error::Definitions {
                reason: format!(
                    "{} takes features of one dataframe, not {} and {}",
                    primitive.name(),
                    dataframe,
                    self.get(other).dataframe
                ),
            });
        }
        let base_names: Vec<String> = base.iter().map(|&b| self.get(b).name.clone()).collect();
        let schema = match primitive.return_type() {
            Some(s) => s,
            None => inherited_schema(self.get(first), false),
        };
        let depth = base.iter().map(|&b| self.get(b).depth).max().unwrap_or(0) + 1;
        Ok(self.add(Feature {
            dataframe,
            name: primitive.generate_name(&base_names),
            output_names: primitive.generate_names(&base_names),
            kind: FeatureKind::Transform {
                base: base.to_vec(),
                primitive,
            },
            schema,
            depth,
        }))
    }

    /// Output `index` of the multi-output feature `base`.
    pub fn slice(&mut self, base: FeatureId, index: usize) -> Result<FeatureId> {
        let b = self.get(base);
        let name = b
            .output_names
            .get(index)
            .cloned()
            .ok_or_else(|| Error::Definitions {
                reason: format!("{} has no output {index}", b.name),
            })?;
        let feature = Feature {
            dataframe: b.dataframe.clone(),
            name: name.clone(),
            output_names: vec![name],
            kind: FeatureKind::Slice { base, index },
            schema: b.schema.clone(),
            depth: b.depth + 1,
        };
        Ok(self.add(feature))
    }
}

/// The schema a feature with no declared return type takes from its first
/// input (Featuretools' `column_schema`): never the index role, the time
/// index and foreign key roles only for direct features (Featuretools 1.31
/// gives `invoices.first_transactions_time` the `time_index` tag, so that
/// `AVG_TIME_BETWEEN(transactions.invoices.first_transactions_time)` is
/// built).
fn inherited_schema(base: &Feature, direct: bool) -> ColumnSchema {
    let mut schema = base.schema.clone();
    if schema.has_tag(SemanticTag::TimeIndex) {
        if direct {
            return schema;
        }
        schema.tags.remove(&SemanticTag::TimeIndex);
    } else if schema.has_tag(SemanticTag::Index) {
        schema.tags.remove(&SemanticTag::Index);
        if schema.is_numeric() {
            schema.tags.insert(SemanticTag::Numeric);
        }
        if schema.is_categorical() {
            schema.tags.insert(SemanticTag::Category);
        }
    }
    if !direct {
        schema.tags.remove(&SemanticTag::ForeignKey);
    }
    schema
}

/// The parent's name relative to the child: the dataframe's name, or
/// `parent[column]` when two relationships link the same pair.
pub(crate) fn relationship_parent_name(es: &EntitySet, relationship: usize) -> String {
    let r = &es.relationships()[relationship];
    if es.relationship_is_unique(relationship) {
        r.parent.clone()
    } else {
        format!("{}[{}]", r.parent, r.child_column)
    }
}

/// The child's name relative to the parent.
pub(crate) fn relationship_child_name(es: &EntitySet, relationship: usize) -> String {
    let r = &es.relationships()[relationship];
    if es.relationship_is_unique(relationship) {
        r.child.clone()
    } else {
        format!("{}[{}]", r.child, r.child_column)
    }
}
