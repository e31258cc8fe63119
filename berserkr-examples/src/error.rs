//! The error type of `berserkr-examples`.

/// The `Result` of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The error type of `berserkr-examples`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An option given to a builder is out of range.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why the value was refused.
        reason: String,
    },

    /// Reading or writing data failed in `berserkr-io` (a store, the lzop
    /// container, the CSV reader).
    #[error(transparent)]
    Io(#[from] berserkr_io::Error),

    /// An Arrow kernel failed.
    #[error(transparent)]
    Arrow(#[from] arrow::error::ArrowError),

    /// Deep feature synthesis failed.
    #[error(transparent)]
    Features(#[from] berserkr_features::Error),

    /// A model stage failed.
    #[error(transparent)]
    Model(#[from] berserkr_model::Error),

    /// A worker thread panicked or was cancelled.
    #[error("a worker thread failed: {source}")]
    Worker {
        /// Why it stopped.
        #[from]
        source: tokio::task::JoinError,
    },
}

impl From<Error> for berserkr_io::Error {
    /// For callers that report `berserkr_io` errors (the `berserkr`
    /// command): the same message and cause.
    fn from(error: Error) -> Self {
        match error {
            Error::InvalidOption { option, reason } => {
                berserkr_io::Error::InvalidOption { option, reason }
            }
            Error::Io(inner) => inner,
            other @ (Error::Arrow(_) | Error::Features(_) | Error::Model(_)) => {
                berserkr_io::Error::Io {
                    path: "<pipeline>".into(),
                    source: std::io::Error::other(other.to_string()),
                }
            }
            Error::Worker { source } => berserkr_io::Error::Io {
                path: "<worker>".into(),
                source: std::io::Error::other(source),
            },
        }
    }
}
