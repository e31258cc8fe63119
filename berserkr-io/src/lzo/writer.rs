//! Writing lzop streams that the real `lzop` tool tests and restores.

use std::io::{self, Write};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::lzo::codec::BlockCodec;
use crate::lzo::format::{
    self, DEFAULT_BLOCK_SIZE, F_ADLER32_C, F_ADLER32_D, F_CRC32_C, F_CRC32_D, F_H_CRC32, F_OS_UNIX,
    F_STDIN, HeaderSpec, MAX_BLOCK_SIZE, Method,
};

/// The checksum family a writer records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Checksum {
    /// Adler-32, lzop's default.
    #[default]
    Adler32,
    /// CRC-32, as `lzop --crc32` writes.
    Crc32,
}

/// Options for an lzop [`Writer`].
///
/// | option | default | purpose |
/// |---|---|---|
/// | [`with_level`](Self::with_level) | 3 | lzop level 1..=9, recorded in the header as `lzop -N` records it |
/// | [`with_block_size`](Self::with_block_size) | 256 KiB | uncompressed bytes per block (1 B ..= 64 MiB) |
/// | [`with_checksum`](Self::with_checksum) | Adler-32 | checksum family for data (and header) |
/// | [`with_compressed_checksum`](Self::with_compressed_checksum) | `false` | also checksum each compressed block |
/// | [`with_name`](Self::with_name) | none | original file name stored in the header |
/// | [`with_mtime`](Self::with_mtime) | 0 | modification time stored in the header |
/// | [`with_parallel`](Self::with_parallel) | `true` | compress several blocks at once with rayon |
///
/// ```
/// use berserkr_io::lzo::{Checksum, WriterBuilder, decompress};
/// use std::io::Write;
///
/// let mut writer = WriterBuilder::new()
///     .with_level(7)
///     .with_block_size(64 * 1024)
///     .with_checksum(Checksum::Crc32)
///     .with_name("online_retail.csv")
///     .build(Vec::new())?;
/// writer.write_all(b"InvoiceNo,StockCode\n")?;
/// let compressed = writer.finish()?;
/// assert_eq!(decompress(&compressed)?, b"InvoiceNo,StockCode\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct WriterBuilder {
    level: u8,
    block_size: usize,
    checksum: Checksum,
    compressed_checksum: bool,
    name: Option<String>,
    mtime: u64,
    mode: u32,
    parallel: bool,
    codec: BlockCodec,
}

impl Default for WriterBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl WriterBuilder {
    /// The defaults of the `lzop` command.
    pub fn new() -> Self {
        Self {
            level: 3,
            block_size: DEFAULT_BLOCK_SIZE,
            checksum: Checksum::Adler32,
            compressed_checksum: false,
            name: None,
            mtime: 0,
            mode: 0,
            parallel: true,
            codec: BlockCodec::default(),
        }
    }

    /// The lzop level, 1 to 9 (default 3). The header records the method
    /// and level exactly as lzop does for that level; every level is
    /// encoded by the block codec's one LZO1X encoder.
    pub fn with_level(self, level: u8) -> Self {
        Self { level, ..self }
    }

    /// Uncompressed bytes per block (default 256 KiB; at most 64 MiB).
    pub fn with_block_size(self, block_size: usize) -> Self {
        Self { block_size, ..self }
    }

    /// The checksum family (default Adler-32).
    pub fn with_checksum(self, checksum: Checksum) -> Self {
        Self { checksum, ..self }
    }

    /// Also checksum each block's compressed bytes (default `false`).
    pub fn with_compressed_checksum(self, compressed_checksum: bool) -> Self {
        Self {
            compressed_checksum,
            ..self
        }
    }

    /// The original file name to store (default none, as for stdin).
    pub fn with_name(self, name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..self
        }
    }

    /// The modification time to store, in seconds since the epoch (default 0).
    pub fn with_mtime(self, mtime: u64) -> Self {
        Self { mtime, ..self }
    }

    /// The Unix file mode to store (default 0, as for stdin).
    pub fn with_mode(self, mode: u32) -> Self {
        Self { mode, ..self }
    }

    /// Compress several blocks at once on rayon's pool (default `true`).
    /// The output is the same bytes either way.
    pub fn with_parallel(self, parallel: bool) -> Self {
        Self { parallel, ..self }
    }

    /// The LZO1X implementation (default [`BlockCodec::Builtin`]).
    pub fn with_codec(self, codec: BlockCodec) -> Self {
        Self { codec, ..self }
    }

    /// Checks the options and writes the member header to `inner`.
    pub fn build<W: Write>(self, mut inner: W) -> Result<Writer<W>> {
        if !(1..=9).contains(&self.level) {
            return Err(Error::InvalidOption {
                option: "level",
                reason: format!("{} is not in 1..=9", self.level),
            });
        }
        if self.block_size == 0 || self.block_size > MAX_BLOCK_SIZE as usize {
            return Err(Error::InvalidOption {
                option: "block_size",
                reason: format!("{} is not in 1..={MAX_BLOCK_SIZE}", self.block_size),
            });
        }
        let name = self.name.as_deref().unwrap_or_default().as_bytes();
        if name.len() > 255 {
            return Err(Error::InvalidOption {
                option: "name",
                reason: format!("{} bytes is longer than lzop's 255", name.len()),
            });
        }
        let mut flags = F_OS_UNIX;
        match self.checksum {
            Checksum::Adler32 => {
                flags |= F_ADLER32_D;
                if self.compressed_checksum {
                    flags |= F_ADLER32_C;
                }
            }
            Checksum::Crc32 => {
                flags |= F_CRC32_D | F_H_CRC32;
                if self.compressed_checksum {
                    flags |= F_CRC32_C;
                }
            }
        }
        if name.is_empty() {
            flags |= F_STDIN;
        }
        let (method, level) = Method::recorded_for_level(self.level);
        let mut header = Vec::new();
        format::write_header(
            &HeaderSpec {
                method,
                level,
                flags,
                mode: self.mode,
                mtime: self.mtime,
                name,
            },
            &mut header,
        );
        inner
            .write_all(&header)
            .map_err(|e| Error::io("lzop output", e))?;
        let batch = if self.parallel {
            rayon::current_num_threads().max(1) * 2
        } else {
            1
        };
        Ok(Writer {
            inner: Some(inner),
            flags,
            block_size: self.block_size,
            batch,
            codec: self.codec,
            buffer: Vec::with_capacity(self.block_size * batch),
        })
    }
}

/// Writes an lzop member. Call [`finish`](Self::finish): dropping a writer
/// unfinished leaves a stream without its end marker, which every reader
/// (this crate's and lzop's) rejects as truncated.
#[derive(Debug)]
pub struct Writer<W: Write> {
    inner: Option<W>,
    flags: u32,
    block_size: usize,
    batch: usize,
    codec: BlockCodec,
    buffer: Vec<u8>,
}

impl<W: Write> Writer<W> {
    /// A writer with lzop's defaults; see [`WriterBuilder`] for options.
    pub fn new(inner: W) -> Result<Self> {
        WriterBuilder::new().build(inner)
    }

    /// Writes the buffered blocks and the end marker; returns the sink.
    pub fn finish(mut self) -> Result<W> {
        self.flush_blocks(true)?;
        let mut end = Vec::new();
        format::write_end_marker(&mut end);
        let mut inner = self.inner.take().ok_or_else(|| Error::InvalidOption {
            option: "writer",
            reason: "already finished".to_string(),
        })?;
        inner
            .write_all(&end)
            .and_then(|()| inner.flush())
            .map_err(|e| Error::io("lzop output", e))?;
        Ok(inner)
    }

    /// Compresses and writes every full block in the buffer, and the last
    /// partial one when `all`.
    fn flush_blocks(&mut self, all: bool) -> Result<()> {
        let full = if all {
            self.buffer.len()
        } else {
            self.buffer.len() / self.block_size * self.block_size
        };
        if full == 0 {
            return Ok(());
        }
        let codec = self.codec.implementation();
        let flags = self.flags;
        let encode = |block: &[u8]| -> Result<Vec<u8>> {
            let mut packed = Vec::new();
            codec
                .compress(block, &mut packed)
                .map_err(|reason| Error::InvalidOption {
                    option: "block codec",
                    reason,
                })?;
            // lzop stores a block as it is when compressing does not pay.
            let payload = if packed.len() < block.len() {
                &packed[..]
            } else {
                block
            };
            let mut out = Vec::with_capacity(payload.len() + 16);
            format::write_block_header(flags, block, payload, &mut out);
            out.extend_from_slice(payload);
            Ok(out)
        };
        let chunks: Vec<&[u8]> = self.buffer[..full].chunks(self.block_size).collect();
        let encoded: Vec<Result<Vec<u8>>> = if self.batch > 1 {
            chunks.into_par_iter().map(encode).collect()
        } else {
            chunks.into_iter().map(encode).collect()
        };
        let inner = self.inner.as_mut().ok_or_else(|| Error::InvalidOption {
            option: "writer",
            reason: "already finished".to_string(),
        })?;
        for block in encoded {
            inner
                .write_all(&block?)
                .map_err(|e| Error::io("lzop output", e))?;
        }
        self.buffer.drain(..full);
        Ok(())
    }
}

impl<W: Write> Write for Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= self.block_size * self.batch {
            self.flush_blocks(false)?;
        }
        Ok(buf.len())
    }

    /// Writes out whole blocks only: a partial block stays buffered, since
    /// cutting it short would change the stream's layout.
    fn flush(&mut self) -> io::Result<()> {
        self.flush_blocks(false)?;
        if let Some(inner) = self.inner.as_mut() {
            inner.flush()?;
        }
        Ok(())
    }
}

/// Compresses `data` into one lzop member with lzop's defaults.
///
/// ```
/// let compressed = berserkr_io::lzo::compress(b"")?;
/// assert!(berserkr_io::lzo::decompress(&compressed)?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn compress(data: &[u8]) -> Result<Vec<u8>> {
    let mut writer = Writer::new(Vec::with_capacity(data.len() / 2 + 64))?;
    writer
        .write_all(data)
        .map_err(|e| Error::io("lzop output", e))?;
    writer.finish()
}
