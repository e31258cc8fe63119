//! A push decoder for lzop streams: feed it bytes as they arrive (from a
//! file, a socket or an object store's byte stream) and it appends the
//! decompressed bytes to a buffer of yours.

use crate::error::{ChecksumKind, Error, Result};
use crate::lzo::codec::BlockCodec;
use crate::lzo::format::{
    self, Block, BlockHeader, Header, Parsed, parse_block_header, parse_header,
};

/// Decodes one block's `payload` into `out`, which is exactly `dst_len`
/// bytes, verifying every checksum the block header carries.
pub(crate) fn decode_block(
    codec: BlockCodec,
    block: &BlockHeader,
    payload: &[u8],
    out: &mut [u8],
    offset: u64,
) -> Result<()> {
    if block.is_stored() {
        out.copy_from_slice(payload);
    } else {
        format::verify(
            block.c_adler32,
            ChecksumKind::CompressedAdler32,
            payload,
            offset,
        )?;
        format::verify(
            block.c_crc32,
            ChecksumKind::CompressedCrc32,
            payload,
            offset,
        )?;
        codec
            .implementation()
            .decompress(payload, out)
            .map_err(|reason| Error::LzopCorruptBlock { offset, reason })?;
    }
    format::verify(
        block.d_adler32,
        ChecksumKind::DecompressedAdler32,
        out,
        offset,
    )?;
    format::verify(block.d_crc32, ChecksumKind::DecompressedCrc32, out, offset)
}

/// Where the decoder is in the stream.
#[derive(Debug)]
enum State {
    /// Expecting a member header: at the very start, or after an end marker.
    Header,
    /// Inside a member, expecting a block header or the end marker.
    Blocks(Box<Header>),
    /// A previous call failed; the stream cannot be trusted past it.
    Failed,
}

/// A push decoder for the lzop container.
///
/// ```
/// use berserkr_io::lzo::{Decoder, WriterBuilder};
/// use std::io::Write;
///
/// let mut writer = WriterBuilder::new().build(Vec::new())?;
/// writer.write_all(b"InvoiceNo,StockCode\n536365,85123A\n")?;
/// let compressed = writer.finish()?;
///
/// // Bytes may arrive in pieces of any size.
/// let mut decoder = Decoder::new();
/// let mut csv = Vec::new();
/// for piece in compressed.chunks(7) {
///     decoder.decode(piece, &mut csv)?;
/// }
/// decoder.finish()?;
/// assert_eq!(csv, b"InvoiceNo,StockCode\n536365,85123A\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    codec: BlockCodec,
    state: State,
    /// Bytes of an item (header or block) that has not fully arrived.
    pending: Vec<u8>,
    /// Stream offset of the first byte not yet consumed.
    offset: u64,
    members: u64,
    first_header: Option<Header>,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder using the default block codec.
    pub fn new() -> Self {
        Self::with_codec(BlockCodec::default())
    }

    /// A decoder using `codec` for LZO1X blocks.
    pub fn with_codec(codec: BlockCodec) -> Self {
        Self {
            codec,
            state: State::Header,
            pending: Vec::new(),
            offset: 0,
            members: 0,
            first_header: None,
        }
    }

    /// The header of the first member, once it has been read.
    pub fn header(&self) -> Option<&Header> {
        self.first_header.as_ref()
    }

    /// The number of complete members decoded so far.
    pub fn members(&self) -> u64 {
        self.members
    }

    /// Feeds `input`, appending every byte it completes to `output`.
    ///
    /// All of `input` is consumed: what does not complete a block is kept
    /// until the next call. After an error the decoder stays failed.
    pub fn decode(&mut self, input: &[u8], output: &mut Vec<u8>) -> Result<()> {
        if matches!(self.state, State::Failed) {
            return Err(self.failed_error());
        }
        let result = if self.pending.is_empty() {
            self.process(input, output).map(|used| {
                self.pending.extend_from_slice(&input[used..]);
            })
        } else {
            let mut buffer = std::mem::take(&mut self.pending);
            buffer.extend_from_slice(input);
            self.process(&buffer, output).map(|used| {
                buffer.drain(..used);
                self.pending = buffer;
            })
        };
        if result.is_err() {
            self.state = State::Failed;
            self.pending.clear();
        }
        result
    }

    /// Declares the end of the input: an error unless the stream ended just
    /// after a member's end marker.
    pub fn finish(&mut self) -> Result<()> {
        match &self.state {
            State::Failed => Err(self.failed_error()),
            State::Header if self.members > 0 && self.pending.is_empty() => Ok(()),
            State::Header if self.members > 0 => Err(Error::LzopTruncated {
                what: "member header",
                offset: self.offset,
            }),
            State::Header => Err(Error::LzopTruncated {
                what: "lzop header",
                offset: self.offset,
            }),
            State::Blocks(_) => Err(Error::LzopTruncated {
                what: "block",
                offset: self.offset,
            }),
        }
    }

    fn failed_error(&self) -> Error {
        Error::LzopHeader {
            offset: self.offset,
            reason: "the decoder already failed on this stream".to_string(),
        }
    }

    /// Consumes as many whole items of `bytes` as there are; returns how
    /// many bytes that was.
    fn process(&mut self, bytes: &[u8], output: &mut Vec<u8>) -> Result<usize> {
        let mut used = 0;
        loop {
            let rest = &bytes[used..];
            if rest.is_empty() {
                return Ok(used);
            }
            match &self.state {
                State::Header => {
                    if self.members > 0 && !format::starts_with_magic(rest) {
                        return Err(Error::LzopTrailingData {
                            offset: self.offset,
                        });
                    }
                    match parse_header(rest, self.offset)? {
                        Parsed::Incomplete => return Ok(used),
                        Parsed::Complete(header, len) => {
                            self.advance(&mut used, len);
                            if self.first_header.is_none() {
                                self.first_header = Some(header.clone());
                            }
                            self.state = State::Blocks(Box::new(header));
                        }
                    }
                }
                State::Blocks(header) => {
                    match parse_block_header(rest, header.flags, self.offset)? {
                        Parsed::Incomplete => return Ok(used),
                        Parsed::Complete(Block::End, len) => {
                            self.advance(&mut used, len);
                            self.members += 1;
                            self.state = State::Header;
                        }
                        Parsed::Complete(Block::Data(block), len) => {
                            let payload_len = block.src_len as usize;
                            let Some(payload) = rest.get(len..len + payload_len) else {
                                return Ok(used);
                            };
                            let start = output.len();
                            output.resize(start + block.dst_len as usize, 0);
                            decode_block(
                                self.codec,
                                &block,
                                payload,
                                &mut output[start..],
                                self.offset,
                            )
                            .inspect_err(|_| output.truncate(start))?;
                            self.advance(&mut used, len + payload_len);
                        }
                    }
                }
                State::Failed => return Err(self.failed_error()),
            }
        }
    }

    fn advance(&mut self, used: &mut usize, len: usize) {
        *used += len;
        self.offset += len as u64;
    }
}
