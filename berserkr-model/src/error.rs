//! The error type of `berserkr-model`.
//!
//! Every variant names what it is about (the parameter, the feature, the
//! file) so that a bad setting or a stale model file says what to fix.

/// The `Result` of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error type of `berserkr-model`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A hyperparameter or option is out of its valid range.
    #[error("invalid parameter {name}: {reason}")]
    InvalidParameter {
        /// The parameter.
        name: &'static str,
        /// Why the value is refused.
        reason: String,
    },

    /// Inputs that must match in shape do not.
    #[error("shape mismatch: {0}")]
    ShapeMismatch(String),

    /// The input cannot give a defined value (no positives, say).
    #[error("{0}")]
    Undefined(String),

    /// An Arrow error, with what was being done.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),
}
