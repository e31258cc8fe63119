//! Column types as Featuretools (through Woodwork) sees them.
//!
//! Deep feature synthesis decides which primitive may take which column by
//! its *logical type* (what the values are: an integer, a category, a
//! datetime, free text) and its *semantic tags* (what role it plays: an
//! index, a foreign key, the time index, something numeric). A
//! [`ColumnSchema`] is that pair; primitives declare the schemas they accept
//! and return with the same type, and [`ColumnSchema::accepts`] is
//! Woodwork's `is_valid_input`.
//!
//! ```
//! use berserkr_features::schema::{ColumnSchema, LogicalType, SemanticTag};
//!
//! let quantity = ColumnSchema::of(LogicalType::Integer);
//! assert!(quantity.has_tag(SemanticTag::Numeric));
//! // Mean takes anything tagged numeric.
//! assert!(ColumnSchema::tagged(&[SemanticTag::Numeric]).accepts(&quantity));
//! // Mode takes categories only.
//! assert!(!ColumnSchema::tagged(&[SemanticTag::Category]).accepts(&quantity));
//! ```

use std::collections::BTreeSet;
use std::fmt;

use arrow::datatypes::{DataType, TimeUnit};

/// What the values of a column are (Woodwork's logical types, the subset
/// that transactional data needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LogicalType {
    /// Whole numbers without missing values.
    Integer,
    /// Whole numbers that may be missing.
    IntegerNullable,
    /// Floating point numbers.
    Double,
    /// True or false, never missing.
    Boolean,
    /// True, false or missing.
    BooleanNullable,
    /// A label out of a set (a country, a stock code).
    Categorical,
    /// A label out of an ordered set (a day of the month).
    Ordinal,
    /// A point in time.
    Datetime,
    /// Free text (a product description).
    NaturalLanguage,
    /// Values with no known meaning; no primitive takes them.
    Unknown,
}

impl LogicalType {
    /// The semantic tags Woodwork gives a column of this type unless told
    /// otherwise (`numeric` for numbers, `category` for labels).
    pub fn standard_tags(self) -> &'static [SemanticTag] {
        match self {
            Self::Integer | Self::IntegerNullable | Self::Double => &[SemanticTag::Numeric],
            Self::Categorical | Self::Ordinal => &[SemanticTag::Category],
            _ => &[],
        }
    }

    /// The type Woodwork would infer from an Arrow type: strings are
    /// categories unless set otherwise, timestamps are datetimes.
    pub fn infer(data_type: &DataType, nullable: bool) -> Self {
        match data_type {
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => {
                if nullable {
                    Self::IntegerNullable
                } else {
                    Self::Integer
                }
            }
            DataType::Float16 | DataType::Float32 | DataType::Float64 => Self::Double,
            DataType::Boolean => {
                if nullable {
                    Self::BooleanNullable
                } else {
                    Self::Boolean
                }
            }
            DataType::Utf8
            | DataType::LargeUtf8
            | DataType::Utf8View
            | DataType::Dictionary(..) => Self::Categorical,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => Self::Datetime,
            _ => Self::Unknown,
        }
    }

    /// Woodwork's name of the type, as saved feature definitions spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Integer => "Integer",
            Self::IntegerNullable => "IntegerNullable",
            Self::Double => "Double",
            Self::Boolean => "Boolean",
            Self::BooleanNullable => "BooleanNullable",
            Self::Categorical => "Categorical",
            Self::Ordinal => "Ordinal",
            Self::Datetime => "Datetime",
            Self::NaturalLanguage => "NaturalLanguage",
            Self::Unknown => "Unknown",
        }
    }

    /// The type named `name` (see [`LogicalType::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    const ALL: [Self; 10] = [
        Self::Integer,
        Self::IntegerNullable,
        Self::Double,
        Self::Boolean,
        Self::BooleanNullable,
        Self::Categorical,
        Self::Ordinal,
        Self::Datetime,
        Self::NaturalLanguage,
        Self::Unknown,
    ];

    /// Whether values of this type are numbers.
    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Integer | Self::IntegerNullable | Self::Double)
    }

    /// Whether values of this type are labels.
    pub fn is_categorical(self) -> bool {
        matches!(self, Self::Categorical | Self::Ordinal)
    }

    /// Whether values of this type are booleans.
    pub fn is_boolean(self) -> bool {
        matches!(self, Self::Boolean | Self::BooleanNullable)
    }
}

/// The role a column plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SemanticTag {
    /// A number that can be summed and averaged.
    Numeric,
    /// A label that can be counted.
    Category,
    /// The dataframe's index (unique id of a row).
    Index,
    /// A reference to the index of a parent dataframe.
    ForeignKey,
    /// The time at which a row became known.
    TimeIndex,
}

impl SemanticTag {
    /// Woodwork's spelling of the tag.
    pub fn name(self) -> &'static str {
        match self {
            Self::Numeric => "numeric",
            Self::Category => "category",
            Self::Index => "index",
            Self::ForeignKey => "foreign_key",
            Self::TimeIndex => "time_index",
        }
    }

    /// The tag spelled `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Numeric,
            Self::Category,
            Self::Index,
            Self::ForeignKey,
            Self::TimeIndex,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

/// A logical type (optional when the schema is a requirement) and a set of
/// semantic tags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ColumnSchema {
    /// The logical type, or `None` for "any type".
    pub logical_type: Option<LogicalType>,
    /// The semantic tags.
    pub tags: BTreeSet<SemanticTag>,
}

impl ColumnSchema {
    /// The schema of a column of `logical_type` with its standard tags.
    pub fn of(logical_type: LogicalType) -> Self {
        Self {
            logical_type: Some(logical_type),
            tags: logical_type.standard_tags().iter().copied().collect(),
        }
    }

    /// A requirement on tags only.
    pub fn tagged(tags: &[SemanticTag]) -> Self {
        Self {
            logical_type: None,
            tags: tags.iter().copied().collect(),
        }
    }

    /// A requirement on the logical type only.
    pub fn typed(logical_type: LogicalType) -> Self {
        Self {
            logical_type: Some(logical_type),
            tags: BTreeSet::new(),
        }
    }

    /// A requirement that anything meets.
    pub fn any() -> Self {
        Self::default()
    }

    /// This schema with `tag` added.
    pub fn with_tag(mut self, tag: SemanticTag) -> Self {
        self.tags.insert(tag);
        self
    }

    /// This schema without `tag`.
    pub fn without_tag(mut self, tag: SemanticTag) -> Self {
        self.tags.remove(&tag);
        self
    }

    /// Whether the schema carries `tag`.
    pub fn has_tag(&self, tag: SemanticTag) -> bool {
        self.tags.contains(&tag)
    }

    /// Whether a column of schema `column` meets this requirement: the same
    /// logical type if one is required, and every required tag
    /// (Woodwork's `is_valid_input`).
    pub fn accepts(&self, column: &ColumnSchema) -> bool {
        if let Some(required) = self.logical_type
            && column.logical_type != Some(required)
        {
            return false;
        }
        self.tags.is_subset(&column.tags)
    }

    /// Whether the column holds numbers.
    pub fn is_numeric(&self) -> bool {
        self.logical_type.is_some_and(LogicalType::is_numeric)
    }

    /// Whether the column holds labels.
    pub fn is_categorical(&self) -> bool {
        self.logical_type.is_some_and(LogicalType::is_categorical)
    }

    /// Whether the column holds booleans.
    pub fn is_boolean(&self) -> bool {
        self.logical_type.is_some_and(LogicalType::is_boolean)
    }

    /// Whether the column holds datetimes.
    pub fn is_datetime(&self) -> bool {
        self.logical_type == Some(LogicalType::Datetime)
    }
}

impl fmt::Display for ColumnSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.logical_type {
            Some(t) => write!(f, "{}", t.name())?,
            None => f.write_str("any")?,
        }
        if !self.tags.is_empty() {
            let tags: Vec<_> = self.tags.iter().map(|t| t.name()).collect();
            write!(f, " [{}]", tags.join(", "))?;
        }
        Ok(())
    }
}

/// The Arrow type in which the engine holds values of a logical type.
pub(crate) fn storage_type(logical_type: LogicalType) -> DataType {
    match logical_type {
        LogicalType::Integer | LogicalType::IntegerNullable | LogicalType::Double => {
            DataType::Float64
        }
        LogicalType::Ordinal => DataType::Float64,
        LogicalType::Boolean | LogicalType::BooleanNullable => DataType::Boolean,
        LogicalType::Datetime => DataType::Timestamp(TimeUnit::Nanosecond, None),
        LogicalType::Categorical | LogicalType::NaturalLanguage | LogicalType::Unknown => {
            DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requirements_match_like_woodwork() {
        let fk = ColumnSchema::of(LogicalType::Integer).with_tag(SemanticTag::ForeignKey);
        assert!(ColumnSchema::tagged(&[SemanticTag::Numeric]).accepts(&fk));
        assert!(ColumnSchema::tagged(&[SemanticTag::ForeignKey]).accepts(&fk));
        assert!(ColumnSchema::any().accepts(&fk));
        assert!(!ColumnSchema::typed(LogicalType::Double).accepts(&fk));
        let time = ColumnSchema::typed(LogicalType::Datetime).with_tag(SemanticTag::TimeIndex);
        assert!(ColumnSchema::typed(LogicalType::Datetime).accepts(&time));
        assert!(!time.accepts(&ColumnSchema::of(LogicalType::Datetime)));
    }

    #[test]
    fn names_round_trip() {
        for t in LogicalType::ALL {
            assert_eq!(LogicalType::from_name(t.name()), Some(t));
        }
        assert_eq!(
            SemanticTag::from_name("foreign_key"),
            Some(SemanticTag::ForeignKey)
        );
    }
}
