//! The error type of `berserkr-io`.
//!
//! Every variant names what went wrong and where: the object or path, the
//! byte offset in a compressed stream, the line and column of a CSV row.
//! Errors from Arrow, Parquet and `object_store` are wrapped whole so that
//! the chain of causes survives.

use std::fmt;

/// The `Result` of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which checksum of an lzop stream failed to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChecksumKind {
    /// The checksum over the member header.
    Header,
    /// The checksum over the header's extra field.
    ExtraField,
    /// Adler-32 of a block's compressed bytes.
    CompressedAdler32,
    /// CRC-32 of a block's compressed bytes.
    CompressedCrc32,
    /// Adler-32 of a block's decompressed bytes.
    DecompressedAdler32,
    /// CRC-32 of a block's decompressed bytes.
    DecompressedCrc32,
}

impl fmt::Display for ChecksumKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Header => "header checksum",
            Self::ExtraField => "extra field checksum",
            Self::CompressedAdler32 => "adler32 of compressed data",
            Self::CompressedCrc32 => "crc32 of compressed data",
            Self::DecompressedAdler32 => "adler32 of decompressed data",
            Self::DecompressedCrc32 => "crc32 of decompressed data",
        })
    }
}

/// The error type of `berserkr-io`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O error while reading or writing `path`.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file, object or stream that failed.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The bytes at `offset` are not the lzop magic.
    #[error("not an lzop stream: bad magic at byte offset {offset}")]
    LzopMagic {
        /// Byte offset of the member that should have started there.
        offset: u64,
    },

    /// The stream ended before a complete header, block or end marker.
    #[error("truncated lzop stream: {what} at byte offset {offset} is incomplete")]
    LzopTruncated {
        /// What was being read when the bytes ran out.
        what: &'static str,
        /// Byte offset where it started.
        offset: u64,
    },

    /// A feature of the lzop format that berserkr does not implement.
    #[error("unsupported lzop stream at byte offset {offset}: {feature}")]
    LzopUnsupported {
        /// Byte offset of the field that asks for it.
        offset: u64,
        /// What the stream asks for.
        feature: String,
    },

    /// A header field holds a value the format does not allow.
    #[error("invalid lzop header at byte offset {offset}: {reason}")]
    LzopHeader {
        /// Byte offset of the offending field.
        offset: u64,
        /// Which field, and what was wrong with it.
        reason: String,
    },

    /// A block's sizes are impossible (zero, larger than the format allows,
    /// or a compressed size above the decompressed size).
    #[error(
        "invalid lzop block at byte offset {offset}: compressed size {compressed}, \
         decompressed size {decompressed} ({reason})"
    )]
    LzopBlockSize {
        /// Byte offset of the block header.
        offset: u64,
        /// The compressed size the block header states.
        compressed: u64,
        /// The decompressed size the block header states.
        decompressed: u64,
        /// Which rule the sizes break.
        reason: &'static str,
    },

    /// A checksum in the stream does not match the data.
    #[error(
        "lzop {kind} mismatch at byte offset {offset}: expected {expected:#010x}, found {found:#010x}"
    )]
    LzopChecksum {
        /// Byte offset of the header or block the checksum covers.
        offset: u64,
        /// Which checksum.
        kind: ChecksumKind,
        /// The value stored in the stream.
        expected: u32,
        /// The value computed from the data.
        found: u32,
    },

    /// The LZO1X decoder rejected a block's compressed bytes.
    #[error("corrupt lzo1x block at byte offset {offset}: {reason}")]
    LzopCorruptBlock {
        /// Byte offset of the block header.
        offset: u64,
        /// What the decoder found.
        reason: String,
    },

    /// Bytes follow the last member that are not another lzop member.
    #[error("trailing garbage after the lzop end marker at byte offset {offset}")]
    LzopTrailingData {
        /// Byte offset of the first unexpected byte.
        offset: u64,
    },

    /// An option given to a builder is out of range.
    #[error("invalid option {option}: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why the value was refused.
        reason: String,
    },

    /// A location that is neither a path nor a URL of a supported store.
    #[error("invalid location {location:?}: {reason}")]
    InvalidLocation {
        /// The location as given.
        location: String,
        /// Why it was refused.
        reason: String,
    },

    /// A glob or prefix matched no object.
    #[error("no object matches {location:?}")]
    NoMatch {
        /// The location or glob as given.
        location: String,
    },

    /// An error from `object_store`.
    #[error("object store error: {0}")]
    Store(#[from] object_store::Error),

    /// A CSV header lacks a column the schema needs.
    #[error("{object}: the CSV header has no column {column:?} (header: {header})")]
    MissingColumn {
        /// The object or file being read.
        object: String,
        /// The column that is missing.
        column: String,
        /// The header as found.
        header: String,
    },

    /// A CSV row could not be read or parsed.
    #[error("{object}: line {line}, column {column:?}: {reason}")]
    MalformedRow {
        /// The object or file being read.
        object: String,
        /// The 1-based line number in the decompressed CSV.
        line: u64,
        /// The column that failed, or `"<row>"` for a row-level problem.
        column: String,
        /// What was wrong.
        reason: String,
    },

    /// An error from Arrow.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// An error from Parquet.
    #[error("parquet error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),

    /// An error while reading one object of several, for errors that do not
    /// name the object themselves (an lzop byte offset, a failed fetch).
    #[error("{object}: {source}")]
    InObject {
        /// The object being read, as a URL or path.
        object: String,
        /// What went wrong.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

impl From<Error> for arrow::error::ArrowError {
    fn from(error: Error) -> Self {
        match error {
            Error::Arrow(inner) => inner,
            other => arrow::error::ArrowError::ExternalError(Box::new(other)),
        }
    }
}

impl From<Error> for std::io::Error {
    fn from(error: Error) -> Self {
        match error {
            Error::Io { source, .. } => source,
            other => std::io::Error::new(std::io::ErrorKind::InvalidData, other),
        }
    }
}
