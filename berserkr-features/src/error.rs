//! The error type of `berserkr-features`.
//!
//! Every variant names what it is about: the dataframe, the column, the
//! feature or the primitive, so that a bad entity set or a stale feature
//! definition file says exactly what to fix.

use arrow::error::ArrowError;

/// The `Result` of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error type of `berserkr-features`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No dataframe of that name in the entity set.
    #[error("unknown dataframe {name:?}")]
    UnknownDataframe {
        /// The name asked for.
        name: String,
    },

    /// The dataframe has no such column.
    #[error("dataframe {dataframe:?} has no column {column:?}")]
    UnknownColumn {
        /// The dataframe.
        dataframe: String,
        /// The column asked for.
        column: String,
    },

    /// No primitive of that name is registered.
    #[error("unknown {kind} primitive {name:?}")]
    UnknownPrimitive {
        /// `aggregation` or `transform`.
        kind: &'static str,
        /// The name asked for.
        name: String,
    },

    /// A feature refers to a feature that is not defined.
    #[error("unknown feature {name:?}")]
    UnknownFeature {
        /// The name asked for.
        name: String,
    },

    /// A dataframe of that name is already in the entity set.
    #[error("dataframe {name:?} already exists")]
    DuplicateDataframe {
        /// The name.
        name: String,
    },

    /// The column cannot play the role asked of it.
    #[error("column {column:?} of dataframe {dataframe:?}: {reason}")]
    InvalidColumn {
        /// The dataframe.
        dataframe: String,
        /// The column.
        column: String,
        /// Why not.
        reason: String,
    },

    /// An index column holds the same value twice.
    #[error("index {column:?} of dataframe {dataframe:?} is not unique: row {row} repeats a value")]
    DuplicateIndex {
        /// The dataframe.
        dataframe: String,
        /// The index column.
        column: String,
        /// The first repeating row.
        row: usize,
    },

    /// No relationship links the two dataframes as asked.
    #[error("no relationship from {child:?} to {parent:?}")]
    NoRelationship {
        /// The child dataframe.
        child: String,
        /// The parent dataframe.
        parent: String,
    },

    /// A primitive was given inputs it cannot take.
    #[error("primitive {primitive}: {reason}")]
    InvalidInput {
        /// The primitive's name.
        primitive: String,
        /// What is wrong.
        reason: String,
    },

    /// An option is out of its range.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Why.
        reason: String,
    },

    /// A feature definition file cannot be read.
    #[error("feature definitions: {reason}")]
    Definitions {
        /// What is wrong, and where.
        reason: String,
    },

    /// An error from Arrow.
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

impl From<Error> for ArrowError {
    fn from(error: Error) -> Self {
        match error {
            Error::Arrow(e) => e,
            other => ArrowError::ExternalError(Box::new(other)),
        }
    }
}
