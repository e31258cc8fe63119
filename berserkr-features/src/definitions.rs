//! Feature definitions as data: save what deep feature synthesis chose, load
//! it later and compute the same matrix on new data (Featuretools'
//! `save_features` and `load_features`).
//!
//! The JSON names everything by name, never by position: dataframes,
//! columns, relationships (child, foreign key, parent), primitives with
//! their arguments (`unit=days`, `n=5`, the value of a where-clause). Loading
//! resolves each name against the entity set and the primitive registry
//! given, so a definition that names an unknown primitive, dataframe, column
//! or relationship is a clear [`Error`], and every feature is rebuilt and
//! checked to have the name it was saved with.
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Float64Array, Int64Array, RecordBatch, TimestampNanosecondArray};
//! # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! use berserkr_features::primitives::Primitives;
//! use berserkr_features::{DataframeBuilder, Dfs, EntitySet, FeatureSet};
//!
//! # let schema = Arc::new(Schema::new(vec![
//! #     Field::new("id", DataType::Int64, false),
//! #     Field::new("customer", DataType::Int64, false),
//! #     Field::new("amount", DataType::Float64, false),
//! #     Field::new("time", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
//! # ]));
//! # let batch = RecordBatch::try_new(schema, vec![
//! #     Arc::new(Int64Array::from(vec![1, 2, 3])),
//! #     Arc::new(Int64Array::from(vec![7, 7, 8])),
//! #     Arc::new(Float64Array::from(vec![1.0, 2.5, 4.0])),
//! #     Arc::new(TimestampNanosecondArray::from(vec![0, 1, 2])),
//! # ]).unwrap();
//! let mut es = EntitySet::new("shop");
//! es.add_dataframe(DataframeBuilder::new("orders", batch, "id").with_time_index("time"))?;
//! es.normalize("orders", "customers", "customer", &[])?;
//! let features = Dfs::new("customers").with_max_depth(1).build(&es)?;
//!
//! let json = features.to_json(&es)?;
//! let loaded = FeatureSet::from_json(&json, &es, &Primitives::standard())?;
//! assert_eq!(loaded.output_names(), features.output_names());
//! # Ok::<(), berserkr_features::Error>(())
//! ```

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dfs::FeatureSet;
use crate::entityset::EntitySet;
use crate::error::{Error, Result};
use crate::feature::{FeatureGraph, FeatureId, FeatureKind, Window};
use crate::primitives::{
    AggregationPrimitive, AvgTimeBetween, EqualScalar, NMostCommon, Primitive, Primitives,
    TimeSince, TimeSinceFirst, TimeSinceLast, TimeSincePrevious, TransformPrimitive,
};

/// The format tag written into, and required of, every definitions file.
pub const FORMAT: &str = "berserkr-features/1";

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: String,
    target: String,
    features: Vec<Definition>,
    columns: Vec<FeatureId>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Definition {
    name: String,
    dataframe: String,
    #[serde(flatten)]
    kind: KindDefinition,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum KindDefinition {
    Identity {
        column: String,
    },
    Direct {
        base: FeatureId,
        relationship: RelationshipName,
    },
    Aggregation {
        primitive: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        args: String,
        base: Vec<FeatureId>,
        path: Vec<RelationshipName>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        condition: Option<FeatureId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        window_nanos: Option<i64>,
    },
    Transform {
        primitive: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        args: String,
        base: Vec<FeatureId>,
    },
    Slice {
        base: FeatureId,
        index: usize,
    },
}

/// A relationship by its names: `child.child_column -> parent`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationshipName {
    child: String,
    child_column: String,
    parent: String,
}

impl RelationshipName {
    fn of(es: &EntitySet, position: usize) -> Result<Self> {
        let r = es.relationships().get(position).ok_or_else(|| Error::Definitions {
            reason: format!(
                "relationship {position} is not in entity set {}: save with the entity set the features were made on",
                es.name()
            ),
        })?;
        Ok(Self {
            child: r.child.clone(),
            child_column: r.child_column.clone(),
            parent: r.parent.clone(),
        })
    }

    fn resolve(&self, es: &EntitySet) -> Result<usize> {
        for name in [&self.child, &self.parent] {
            es.dataframe(name)?;
        }
        es.relationships()
            .iter()
            .position(|r| {
                r.child == self.child
                    && r.child_column == self.child_column
                    && r.parent == self.parent
            })
            .ok_or_else(|| Error::NoRelationship {
                child: format!("{}.{}", self.child, self.child_column),
                parent: self.parent.clone(),
            })
    }
}

impl FeatureSet {
    /// The definitions as JSON (see the [module](self) docs). `es` is the
    /// entity set the features were made on; it names the relationships.
    pub fn to_json(&self, es: &EntitySet) -> Result<String> {
        let features = self
            .graph
            .features()
            .iter()
            .map(|f| {
                Ok(Definition {
                    name: f.name().to_string(),
                    dataframe: f.dataframe().to_string(),
                    kind: match f.kind() {
                        FeatureKind::Identity { column } => KindDefinition::Identity {
                            column: column.clone(),
                        },
                        FeatureKind::Direct { base, relationship } => KindDefinition::Direct {
                            base: *base,
                            relationship: RelationshipName::of(es, *relationship)?,
                        },
                        FeatureKind::Aggregation {
                            base,
                            primitive,
                            path,
                            condition,
                            window,
                        } => KindDefinition::Aggregation {
                            primitive: primitive.name().to_string(),
                            args: primitive.args(),
                            base: base.clone(),
                            path: path
                                .iter()
                                .map(|&r| RelationshipName::of(es, r))
                                .collect::<Result<_>>()?,
                            condition: *condition,
                            window_nanos: window.map(|w| w.nanos()),
                        },
                        FeatureKind::Transform { base, primitive } => KindDefinition::Transform {
                            primitive: primitive.name().to_string(),
                            args: primitive.args(),
                            base: base.clone(),
                        },
                        FeatureKind::Slice { base, index } => KindDefinition::Slice {
                            base: *base,
                            index: *index,
                        },
                    },
                })
            })
            .collect::<Result<_>>()?;
        let document = Document {
            format: FORMAT.to_string(),
            target: self.target.clone(),
            features,
            columns: self.columns.clone(),
        };
        serde_json::to_string_pretty(&document).map_err(|e| Error::Definitions {
            reason: format!("cannot write the definitions: {e}"),
        })
    }

    /// Loads definitions written by [`FeatureSet::to_json`] against `es`,
    /// with primitives from `primitives` (user primitives must be
    /// registered there under the names they were saved with).
    pub fn from_json(json: &str, es: &EntitySet, primitives: &Primitives) -> Result<Self> {
        let document: Document = serde_json::from_str(json).map_err(|e| Error::Definitions {
            reason: format!("not a feature definitions file: {e}"),
        })?;
        if document.format != FORMAT {
            return Err(Error::Definitions {
                reason: format!(
                    "format {:?} is not {FORMAT:?}, the one this version reads",
                    document.format
                ),
            });
        }
        es.dataframe(&document.target)?;
        let mut graph = FeatureGraph::new();
        let mut ids: Vec<FeatureId> = Vec::with_capacity(document.features.len());
        for (position, definition) in document.features.iter().enumerate() {
            let earlier = |id: FeatureId| -> Result<FeatureId> {
                ids.get(id).copied().ok_or_else(|| Error::Definitions {
                    reason: format!(
                        "feature {position} ({}) refers to feature {id}, which is not defined before it",
                        definition.name
                    ),
                })
            };
            let many =
                |base: &[FeatureId]| base.iter().map(|&b| earlier(b)).collect::<Result<Vec<_>>>();
            let id = match &definition.kind {
                KindDefinition::Identity { column } => {
                    graph.identity(es, &definition.dataframe, column)?
                }
                KindDefinition::Direct { base, relationship } => {
                    graph.direct(es, earlier(*base)?, relationship.resolve(es)?)?
                }
                KindDefinition::Aggregation {
                    primitive,
                    args,
                    base,
                    path,
                    condition,
                    window_nanos,
                } => {
                    let path = path
                        .iter()
                        .map(|r| r.resolve(es))
                        .collect::<Result<Vec<_>>>()?;
                    let condition = condition.map(earlier).transpose()?;
                    graph.aggregation(
                        es,
                        &many(base)?,
                        aggregation_primitive(primitives, primitive, args)?,
                        &path,
                        condition,
                        window_nanos.map(Window::from_nanos),
                    )?
                }
                KindDefinition::Transform {
                    primitive,
                    args,
                    base,
                } => graph.transform(
                    &many(base)?,
                    transform_primitive(primitives, primitive, args)?,
                )?,
                KindDefinition::Slice { base, index } => graph.slice(earlier(*base)?, *index)?,
            };
            let made = graph.get(id);
            if made.name() != definition.name || made.dataframe() != definition.dataframe {
                return Err(Error::Definitions {
                    reason: format!(
                        "feature {position} was saved as {:?} of {} but rebuilds as {:?} of {}",
                        definition.name,
                        definition.dataframe,
                        made.name(),
                        made.dataframe()
                    ),
                });
            }
            ids.push(id);
        }
        let columns = document
            .columns
            .iter()
            .map(|&c| {
                ids.get(c).copied().ok_or_else(|| Error::Definitions {
                    reason: format!("column {c} is not a defined feature"),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        FeatureSet::new(document.target, graph, columns)
    }
}

/// The single `key=value` argument of a saved primitive.
fn argument<'a>(primitive: &str, args: &'a str, key: &str) -> Result<&'a str> {
    args.strip_prefix(key)
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or_else(|| Error::Definitions {
            reason: format!(
                "primitive {primitive}: unknown arguments {args:?} (expected {key}=...)"
            ),
        })
}

/// The registry's primitive, configured with `args` where the crate knows
/// the primitive's arguments; a user primitive must be registered with the
/// same arguments it was saved with.
fn aggregation_primitive(
    primitives: &Primitives,
    name: &str,
    args: &str,
) -> Result<Arc<dyn AggregationPrimitive>> {
    let registered = primitives.aggregation(name)?;
    if args.is_empty() || registered.args() == args {
        return Ok(registered);
    }
    Ok(match name {
        "n_most_common" => {
            let n = argument(name, args, "n")?;
            let n = n.parse().map_err(|_| Error::Definitions {
                reason: format!("primitive {name}: n={n} is not a count"),
            })?;
            Arc::new(NMostCommon::new(n))
        }
        "time_since_first" => Arc::new(TimeSinceFirst::new(argument(name, args, "unit")?)?),
        "time_since_last" => Arc::new(TimeSinceLast::new(argument(name, args, "unit")?)?),
        "avg_time_between" => Arc::new(AvgTimeBetween::new(argument(name, args, "unit")?)?),
        _ => return Err(mismatched(name, &*registered, args)),
    })
}

/// As [`aggregation_primitive`], for transforms; `equal_scalar` (the
/// where-clauses) needs no registration.
fn transform_primitive(
    primitives: &Primitives,
    name: &str,
    args: &str,
) -> Result<Arc<dyn TransformPrimitive>> {
    if name == "equal_scalar" {
        return Ok(Arc::new(EqualScalar::new(argument(name, args, "value")?)));
    }
    let registered = primitives.transform(name)?;
    if args.is_empty() || registered.args() == args {
        return Ok(registered);
    }
    Ok(match name {
        "time_since" => Arc::new(TimeSince::new(argument(name, args, "unit")?)?),
        "time_since_previous" => Arc::new(TimeSincePrevious::new(argument(name, args, "unit")?)?),
        _ => return Err(mismatched(name, &*registered, args)),
    })
}

fn mismatched(name: &str, registered: &dyn Primitive, args: &str) -> Error {
    Error::Definitions {
        reason: format!(
            "primitive {name} was saved with arguments {args:?} but is registered with {:?}",
            registered.args()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calculate::FeatureMatrixBuilder;
    use crate::dfs::Dfs;
    use crate::entityset::DataframeBuilder;
    use arrow::array::{
        Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    };
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    fn shop(rows: usize) -> EntitySet {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("customer", DataType::Int64, false),
            Field::new("country", DataType::Utf8, false),
            Field::new("amount", DataType::Float64, true),
            Field::new(
                "time",
                DataType::Timestamp(TimeUnit::Nanosecond, None),
                false,
            ),
        ]));
        let n = rows as i64;
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..n)),
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| i % 3))),
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| if i % 4 == 0 { "FR" } else { "UK" }),
                )),
                Arc::new(Float64Array::from_iter(
                    (0..n).map(|i| (i % 5 != 2).then_some(i as f64 * 1.5 - 3.0)),
                )),
                Arc::new(TimestampNanosecondArray::from_iter_values(
                    (0..n).map(|i| i * 3_600_000_000_000),
                )),
            ],
        )
        .unwrap();
        let mut es = EntitySet::new("shop");
        es.add_dataframe(DataframeBuilder::new("orders", batch, "id").with_time_index("time"))
            .unwrap();
        es.normalize("orders", "customers", "customer", &[])
            .unwrap();
        es.set_interesting_values("orders", "country", &["FR"])
            .unwrap();
        es
    }

    fn dfs() -> Dfs {
        Dfs::new("customers")
            .with_max_depth(2)
            .with_aggregations(&["sum", "mean", "n_most_common", "time_since_last", "count"])
            .with_transforms(&["day", "time_since", "absolute"])
            .with_where_primitives(&["count", "sum"])
    }

    #[test]
    fn loaded_definitions_compute_the_same_matrix_on_new_data() {
        let old = shop(9);
        let json = dfs().build(&old).unwrap().to_json(&old).unwrap();
        let new = shop(40);
        let loaded = FeatureSet::from_json(&json, &new, &Primitives::standard()).unwrap();
        let made = dfs().build(&new).unwrap();
        assert_eq!(loaded.output_names(), made.output_names());
        assert!(
            loaded
                .output_names()
                .iter()
                .any(|n| n.contains("WHERE country = FR"))
        );
        let at = 30 * 3_600_000_000_000;
        let a = FeatureMatrixBuilder::new(&new, &loaded)
            .with_time(at)
            .build()
            .unwrap();
        let b = FeatureMatrixBuilder::new(&new, &made)
            .with_time(at)
            .build()
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn unknown_names_are_errors_that_say_which() {
        let es = shop(9);
        let json = dfs().build(&es).unwrap().to_json(&es).unwrap();
        let load = |text: String| {
            FeatureSet::from_json(&text, &es, &Primitives::standard())
                .unwrap_err()
                .to_string()
        };
        let error = load(json.replace("\"primitive\": \"sum\"", "\"primitive\": \"summ\""));
        assert!(error.contains("summ"), "{error}");
        let error = load(json.replace("\"column\": \"amount\"", "\"column\": \"amout\""));
        assert!(error.contains("amout"), "{error}");
        let error = load(json.replace("\"target\": \"customers\"", "\"target\": \"clients\""));
        assert!(error.contains("clients"), "{error}");
        let error = load(json.replace("\"dataframe\": \"orders\"", "\"dataframe\": \"sales\""));
        assert!(error.contains("sales"), "{error}");
        let error = load(json.replace(FORMAT, "berserkr-features/0"));
        assert!(error.contains("berserkr-features/0"), "{error}");
        let error = load(json.replace(
            "\"primitive\": \"time_since_last\",",
            "\"primitive\": \"time_since_last\", \"args\": \"unitt=days\",",
        ));
        assert!(error.contains("unitt=days"), "{error}");
        let error = load(json.replace(
            "\"primitive\": \"time_since_last\",",
            "\"primitive\": \"time_since_last\", \"args\": \"unit=fortnights\",",
        ));
        assert!(error.contains("fortnights"), "{error}");
        let error = load("{".to_string());
        assert!(error.contains("not a feature definitions file"), "{error}");
    }

    #[test]
    fn argument_parsing_names_the_primitive() {
        assert_eq!(argument("n_most_common", "n=5", "n").unwrap(), "5");
        let error = argument("n_most_common", "k=5", "n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("n_most_common"), "{error}");
    }
}
