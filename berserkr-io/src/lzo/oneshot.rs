//! Decompression of a whole lzop object held in memory, block by block in
//! order or across all cores with rayon.
//!
//! Both paths share one scan of the block headers and one block decoder, so
//! the parallel output is byte-identical to the sequential output, and a bad
//! stream yields the same error (the first problem in stream order) either
//! way.

use std::ops::Range;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::lzo::codec::BlockCodec;
use crate::lzo::decoder::decode_block;
use crate::lzo::format::{self, Block, BlockHeader, Parsed, parse_block_header, parse_header};

/// Options for decompressing a whole object held in memory.
///
/// ```
/// use berserkr_io::lzo::{Decompressor, compress};
///
/// let compressed = compress(b"536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER\n")?;
/// let sequential = Decompressor::new().decompress(&compressed)?;
/// let parallel = Decompressor::new().with_parallel(true).decompress(&compressed)?;
/// assert_eq!(sequential, parallel);
/// # Ok::<(), berserkr_io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Decompressor {
    codec: BlockCodec,
    parallel: bool,
}

impl Decompressor {
    /// Sequential decompression with the default codec.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode blocks on rayon's thread pool (default: `false`).
    pub fn with_parallel(self, parallel: bool) -> Self {
        Self { parallel, ..self }
    }

    /// The LZO1X implementation (default: [`BlockCodec::Builtin`]).
    pub fn with_codec(self, codec: BlockCodec) -> Self {
        Self { codec, ..self }
    }

    /// Decompresses every member of `bytes`, verifying every checksum.
    pub fn decompress(&self, bytes: &[u8]) -> Result<Vec<u8>> {
        let scan = scan(bytes);
        let total: usize = scan.blocks.iter().map(|b| b.header.dst_len as usize).sum();
        let mut out = vec![0u8; total];
        let mut slots = Vec::with_capacity(scan.blocks.len());
        let mut rest = out.as_mut_slice();
        for block in &scan.blocks {
            let (slot, tail) = rest.split_at_mut(block.header.dst_len as usize);
            slots.push(slot);
            rest = tail;
        }
        let run = |(block, slot): (&ScannedBlock, &mut [u8])| {
            decode_block(
                self.codec,
                &block.header,
                &bytes[block.payload.clone()],
                slot,
                block.offset,
            )
        };
        let first_error = if self.parallel {
            let results: Vec<Result<()>> = scan
                .blocks
                .par_iter()
                .zip(slots.into_par_iter())
                .map(run)
                .collect();
            results.into_iter().find_map(Result::err)
        } else {
            scan.blocks.iter().zip(slots).map(run).find_map(Result::err)
        };
        match first_error.or(scan.error) {
            Some(error) => Err(error),
            None => Ok(out),
        }
    }
}

/// Decompresses a whole lzop object, block after block.
///
/// ```
/// let compressed = berserkr_io::lzo::compress(b"hello, lzop")?;
/// assert_eq!(berserkr_io::lzo::decompress(&compressed)?, b"hello, lzop");
/// # Ok::<(), berserkr_io::Error>(())
/// ```
pub fn decompress(bytes: &[u8]) -> Result<Vec<u8>> {
    Decompressor::new().decompress(bytes)
}

/// Decompresses a whole lzop object with its blocks spread over rayon's
/// thread pool; the result is identical to [`decompress`].
///
/// ```
/// let compressed = berserkr_io::lzo::compress(&vec![b'x'; 1 << 20])?;
/// assert_eq!(berserkr_io::lzo::decompress_parallel(&compressed)?.len(), 1 << 20);
/// # Ok::<(), berserkr_io::Error>(())
/// ```
pub fn decompress_parallel(bytes: &[u8]) -> Result<Vec<u8>> {
    Decompressor::new().with_parallel(true).decompress(bytes)
}

#[derive(Debug)]
struct ScannedBlock {
    header: BlockHeader,
    payload: Range<usize>,
    offset: u64,
}

#[derive(Debug, Default)]
struct Scan {
    blocks: Vec<ScannedBlock>,
    /// The structural problem that stopped the scan, if any; it comes after
    /// every block in `blocks`.
    error: Option<Error>,
}

/// Walks the member and block headers of `bytes` without decoding.
fn scan(bytes: &[u8]) -> Scan {
    let mut scan = Scan::default();
    if let Err(error) = scan_into(bytes, &mut scan.blocks) {
        scan.error = Some(error);
    }
    scan
}

fn scan_into(bytes: &[u8], blocks: &mut Vec<ScannedBlock>) -> Result<()> {
    let mut pos = 0usize;
    let mut members = 0u64;
    loop {
        let rest = &bytes[pos..];
        if members > 0 && rest.is_empty() {
            return Ok(());
        }
        if members > 0 && !format::starts_with_magic(rest) {
            return Err(Error::LzopTrailingData { offset: pos as u64 });
        }
        let header = match parse_header(rest, pos as u64)? {
            Parsed::Complete(header, len) => {
                pos += len;
                header
            }
            Parsed::Incomplete => {
                return Err(Error::LzopTruncated {
                    what: if members > 0 {
                        "member header"
                    } else {
                        "lzop header"
                    },
                    offset: pos as u64,
                });
            }
        };
        loop {
            let offset = pos as u64;
            let truncated = Error::LzopTruncated {
                what: "block",
                offset,
            };
            match parse_block_header(&bytes[pos..], header.flags, offset)? {
                Parsed::Incomplete => return Err(truncated),
                Parsed::Complete(Block::End, len) => {
                    pos += len;
                    members += 1;
                    break;
                }
                Parsed::Complete(Block::Data(block), len) => {
                    let start = pos + len;
                    let end = start + block.src_len as usize;
                    if end > bytes.len() {
                        return Err(truncated);
                    }
                    blocks.push(ScannedBlock {
                        header: block,
                        payload: start..end,
                        offset,
                    });
                    pos = end;
                }
            }
        }
    }
}
