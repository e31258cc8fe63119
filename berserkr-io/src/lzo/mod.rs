//! The lzop (`.lzo`) container over LZO1X blocks, compatible with the real
//! `lzop` tool both ways.
//!
//! Three ways in, as arrow-csv offers them:
//! - [`Reader`]: a pull reader, any [`std::io::Read`] of lzop bytes becomes a
//!   [`std::io::BufRead`] of the original bytes;
//! - [`Decoder`]: a push decoder for bytes that arrive in pieces, such as an
//!   object store's byte stream, with no temporary file;
//! - [`decompress`] and [`decompress_parallel`] (or [`Decompressor`]) for a
//!   whole object in memory, the latter spreading blocks over rayon's pool.
//!
//! And one way out: [`Writer`], configured by [`WriterBuilder`].
//!
//! Every checksum present in the stream is verified. A wrong magic, a
//! truncated block, a bad checksum or an absurd block size is an
//! [`Error`](crate::Error) naming the byte offset; nothing panics and no
//! unverified byte is returned.
//!
//! # Basic usage
//!
//! ```
//! use berserkr_io::lzo::{Reader, WriterBuilder};
//! use std::io::{Read, Write};
//!
//! let mut writer = WriterBuilder::new().with_level(3).build(Vec::new())?;
//! writer.write_all(b"InvoiceNo,StockCode,Description\n")?;
//! let lzo = writer.finish()?;
//!
//! let mut csv = String::new();
//! Reader::new(lzo.as_slice()).read_to_string(&mut csv)?;
//! assert_eq!(csv, "InvoiceNo,StockCode,Description\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Several members concatenated in one file (as `cat a.lzo b.lzo` makes)
//! decode to the concatenation of their contents.

mod codec;
mod decoder;
mod format;
mod lzo1x;
mod oneshot;
mod reader;
mod writer;

pub use codec::BlockCodec;
pub use decoder::Decoder;
pub use format::{Header, Method};
pub use oneshot::{Decompressor, decompress, decompress_parallel};
pub use reader::Reader;
pub use writer::{Checksum, Writer, WriterBuilder, compress};

/// True when `bytes` start with the lzop magic.
///
/// ```
/// let compressed = berserkr_io::lzo::compress(b"x")?;
/// assert!(berserkr_io::lzo::is_lzop(&compressed));
/// assert!(!berserkr_io::lzo::is_lzop(b"InvoiceNo,"));
/// # Ok::<(), berserkr_io::Error>(())
/// ```
pub fn is_lzop(bytes: &[u8]) -> bool {
    bytes.len() >= format::MAGIC.len() && format::starts_with_magic(bytes)
}

#[cfg(test)]
mod tests;
