//! The lzop container's bytes: member header, block headers, checksums.
//!
//! This follows lzop 1.04 (`src/lzop.c`, `src/p_lzo.c`): big-endian fields,
//! a header checksum over everything from the version field through the file
//! name, and per-block checksums of the decompressed and (when the block is
//! actually compressed) the compressed bytes.

use crate::error::{ChecksumKind, Error, Result};

/// The nine bytes every lzop member starts with.
pub(crate) const MAGIC: [u8; 9] = [0x89, b'L', b'Z', b'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a];

/// lzop refuses blocks above 64 MiB, and so do we: a larger size can only
/// come from corruption and must not turn into a huge allocation.
pub(crate) const MAX_BLOCK_SIZE: u32 = 64 * 1024 * 1024;

/// lzop's default block size.
pub(crate) const DEFAULT_BLOCK_SIZE: usize = 256 * 1024;

/// The lzop version we write and the newest whose files we accept.
pub(crate) const LZOP_VERSION: u16 = 0x1040;
/// The LZO library version lzop 1.04 on Debian writes.
pub(crate) const LZO_LIB_VERSION: u16 = 0x20a0;
/// The oldest lzop that can extract what we write.
pub(crate) const VERSION_NEEDED_TO_EXTRACT: u16 = 0x0940;

pub(crate) const F_ADLER32_D: u32 = 0x0000_0001;
pub(crate) const F_ADLER32_C: u32 = 0x0000_0002;
pub(crate) const F_STDIN: u32 = 0x0000_0004;
pub(crate) const F_H_EXTRA_FIELD: u32 = 0x0000_0040;
pub(crate) const F_CRC32_D: u32 = 0x0000_0100;
pub(crate) const F_CRC32_C: u32 = 0x0000_0200;
pub(crate) const F_MULTIPART: u32 = 0x0000_0400;
pub(crate) const F_H_FILTER: u32 = 0x0000_0800;
pub(crate) const F_H_CRC32: u32 = 0x0000_1000;
const F_MASK: u32 = 0x0000_3fff;
const F_OS_MASK: u32 = 0xff00_0000;
const F_CS_MASK: u32 = 0x00f0_0000;
const F_RESERVED: u32 = !(F_MASK | F_OS_MASK | F_CS_MASK);
/// The operating-system code lzop writes on Unix.
pub(crate) const F_OS_UNIX: u32 = 0x0300_0000;

pub(crate) const M_LZO1X_1: u8 = 1;
pub(crate) const M_LZO1X_1_15: u8 = 2;
pub(crate) const M_LZO1X_999: u8 = 3;

/// Four zero bytes where a block's decompressed size would stand.
const BLOCK_END_MARKER: [u8; 4] = [0; 4];

/// The LZO1X variant a member declares. All three decode with the same
/// LZO1X decoder; they differ in how the encoder searched for matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `LZO1X-1` (lzop levels 2 to 6).
    Lzo1x1,
    /// `LZO1X-1(15)` (lzop level 1).
    Lzo1x1_15,
    /// `LZO1X-999` (lzop levels 7 to 9).
    Lzo1x999,
}

impl Method {
    fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            M_LZO1X_1 => Some(Self::Lzo1x1),
            M_LZO1X_1_15 => Some(Self::Lzo1x1_15),
            M_LZO1X_999 => Some(Self::Lzo1x999),
            _ => None,
        }
    }

    pub(crate) fn to_byte(self) -> u8 {
        match self {
            Self::Lzo1x1 => M_LZO1X_1,
            Self::Lzo1x1_15 => M_LZO1X_1_15,
            Self::Lzo1x999 => M_LZO1X_999,
        }
    }

    /// The method and level lzop 1.04 records for `lzop -N`, N from 1 to 9
    /// (read off the real tool's output: levels 2 to 6 all record 5).
    pub(crate) fn recorded_for_level(level: u8) -> (Self, u8) {
        match level {
            1 => (Self::Lzo1x1_15, 1),
            2..=6 => (Self::Lzo1x1, 5),
            _ => (Self::Lzo1x999, level),
        }
    }
}

/// The header of one lzop member, as read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The version of lzop that wrote the member (`0x1040` is 1.04).
    pub version: u16,
    /// The version of the LZO library that wrote the member.
    pub lib_version: u16,
    /// The oldest lzop version able to extract the member.
    pub version_needed_to_extract: u16,
    /// The compression method.
    pub method: Method,
    /// The compression level (0 when the writer was older than lzop 0.94).
    pub level: u8,
    /// The raw flag word.
    pub flags: u32,
    /// The Unix file mode of the original file.
    pub mode: u32,
    /// The modification time of the original file, in seconds since the epoch.
    pub mtime: u64,
    /// The original file name, when one was stored.
    pub name: Option<String>,
}

/// What a header parse found in the bytes given.
#[derive(Debug)]
pub(crate) enum Parsed<T> {
    /// A complete item and the bytes it took.
    Complete(T, usize),
    /// The bytes end inside the item: give more.
    Incomplete,
}

/// A cursor over a byte slice that reports running out as `None`.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let slice = self.bytes.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The checksum function lzop selects for headers by `F_H_CRC32`.
fn header_checksum(flags: u32, bytes: &[u8]) -> u32 {
    if flags & F_H_CRC32 != 0 {
        crc32(bytes)
    } else {
        adler32(bytes)
    }
}

/// Adler-32 with lzop's initial value of 1.
pub(crate) fn adler32(bytes: &[u8]) -> u32 {
    let mut hasher = simd_adler32::Adler32::new();
    hasher.write(bytes);
    hasher.finish()
}

/// CRC-32 (IEEE, as zlib) with lzop's initial value of 0.
pub(crate) fn crc32(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// True when `bytes` could be the start of a member: the magic, or a prefix
/// of it when fewer than nine bytes are at hand.
pub(crate) fn starts_with_magic(bytes: &[u8]) -> bool {
    let n = bytes.len().min(MAGIC.len());
    bytes[..n] == MAGIC[..n]
}

/// Parses a member header, magic included, at stream offset `offset`.
pub(crate) fn parse_header(bytes: &[u8], offset: u64) -> Result<Parsed<Header>> {
    if !starts_with_magic(bytes) {
        return Err(Error::LzopMagic { offset });
    }
    let mut cur = Cursor::new(bytes);
    match parse_header_fields(&mut cur, offset)? {
        Some(header) => Ok(Parsed::Complete(header, cur.pos)),
        None => Ok(Parsed::Incomplete),
    }
}

fn parse_header_fields(cur: &mut Cursor<'_>, offset: u64) -> Result<Option<Header>> {
    let at = |pos: usize| offset + pos as u64;
    let Some(_) = cur.take(MAGIC.len()) else {
        return Ok(None);
    };
    let start = cur.pos;
    let Some(version) = cur.u16() else {
        return Ok(None);
    };
    if version < 0x0900 {
        return Err(Error::LzopHeader {
            offset: at(start),
            reason: format!("version {version:#06x} is older than any lzop release"),
        });
    }
    let Some(lib_version) = cur.u16() else {
        return Ok(None);
    };
    let mut version_needed_to_extract = 0;
    if version >= 0x0940 {
        let field = cur.pos;
        let Some(needed) = cur.u16() else {
            return Ok(None);
        };
        if needed > LZOP_VERSION {
            return Err(Error::LzopUnsupported {
                offset: at(field),
                feature: format!(
                    "needs lzop version {needed:#06x} to extract (this reader is {LZOP_VERSION:#06x})"
                ),
            });
        }
        if needed < 0x0900 {
            return Err(Error::LzopHeader {
                offset: at(field),
                reason: format!("version needed to extract {needed:#06x} is invalid"),
            });
        }
        version_needed_to_extract = needed;
    }
    let method_at = cur.pos;
    let Some(method_byte) = cur.u8() else {
        return Ok(None);
    };
    let mut level = 0;
    if version >= 0x0940 {
        let Some(byte) = cur.u8() else {
            return Ok(None);
        };
        level = byte;
    }
    let flags_at = cur.pos;
    let Some(flags) = cur.u32() else {
        return Ok(None);
    };
    if flags & F_H_FILTER != 0 {
        let Some(filter) = cur.u32() else {
            return Ok(None);
        };
        return Err(Error::LzopUnsupported {
            offset: at(flags_at),
            feature: format!("filter {filter} (F_H_FILTER) is not implemented"),
        });
    }
    let Some(mode) = cur.u32() else {
        return Ok(None);
    };
    let Some(mtime_low) = cur.u32() else {
        return Ok(None);
    };
    let mut mtime_high = 0;
    if version >= 0x0940 {
        let Some(high) = cur.u32() else {
            return Ok(None);
        };
        mtime_high = high;
    }
    let Some(name_len) = cur.u8() else {
        return Ok(None);
    };
    let Some(name) = cur.take(usize::from(name_len)) else {
        return Ok(None);
    };
    let covered_end = cur.pos;
    let checksum_at = cur.pos;
    let Some(stored) = cur.u32() else {
        return Ok(None);
    };
    let computed = header_checksum(flags, &cur.bytes[start..covered_end]);
    if stored != computed {
        return Err(Error::LzopChecksum {
            offset: at(checksum_at),
            kind: ChecksumKind::Header,
            expected: stored,
            found: computed,
        });
    }
    if flags & F_H_EXTRA_FIELD != 0 {
        let extra_at = cur.pos;
        let Some(extra_len) = cur.u32() else {
            return Ok(None);
        };
        let Some(_) = cur.take(extra_len as usize) else {
            return Ok(None);
        };
        let covered = &cur.bytes[extra_at..cur.pos];
        let Some(stored) = cur.u32() else {
            return Ok(None);
        };
        let computed = header_checksum(flags, covered);
        if stored != computed {
            return Err(Error::LzopChecksum {
                offset: at(extra_at),
                kind: ChecksumKind::ExtraField,
                expected: stored,
                found: computed,
            });
        }
    }

    // Checked only once the header checksum holds, so that corruption is
    // reported as corruption rather than as an odd feature request.
    let Some(method) = Method::from_byte(method_byte) else {
        return Err(Error::LzopUnsupported {
            offset: at(method_at),
            feature: format!("compression method {method_byte} (only LZO1X methods 1, 2, 3)"),
        });
    };
    if level > 9 {
        return Err(Error::LzopHeader {
            offset: at(method_at + 1),
            reason: format!("compression level {level} is above 9"),
        });
    }
    if flags & F_RESERVED != 0 {
        return Err(Error::LzopUnsupported {
            offset: at(flags_at),
            feature: format!("unknown flags {:#010x}", flags & F_RESERVED),
        });
    }
    if flags & F_MULTIPART != 0 {
        return Err(Error::LzopUnsupported {
            offset: at(flags_at),
            feature: "multi-part archives (F_MULTIPART)".to_string(),
        });
    }
    let name = (!name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned());
    Ok(Some(Header {
        version,
        lib_version,
        version_needed_to_extract,
        method,
        level,
        flags,
        mode,
        mtime: (u64::from(mtime_high) << 32) | u64::from(mtime_low),
        name,
    }))
}

/// The fields a writer puts in a member header.
#[derive(Debug, Clone)]
pub(crate) struct HeaderSpec<'a> {
    pub(crate) method: Method,
    pub(crate) level: u8,
    pub(crate) flags: u32,
    pub(crate) mode: u32,
    pub(crate) mtime: u64,
    pub(crate) name: &'a [u8],
}

/// Appends a complete member header, magic included, to `out`.
pub(crate) fn write_header(spec: &HeaderSpec<'_>, out: &mut Vec<u8>) {
    out.extend_from_slice(&MAGIC);
    let start = out.len();
    out.extend_from_slice(&LZOP_VERSION.to_be_bytes());
    out.extend_from_slice(&LZO_LIB_VERSION.to_be_bytes());
    out.extend_from_slice(&VERSION_NEEDED_TO_EXTRACT.to_be_bytes());
    out.push(spec.method.to_byte());
    out.push(spec.level);
    out.extend_from_slice(&spec.flags.to_be_bytes());
    out.extend_from_slice(&spec.mode.to_be_bytes());
    // Truncation to the two 32-bit halves is the format's layout.
    out.extend_from_slice(&((spec.mtime & 0xffff_ffff) as u32).to_be_bytes());
    out.extend_from_slice(&((spec.mtime >> 32) as u32).to_be_bytes());
    out.push(spec.name.len() as u8);
    out.extend_from_slice(spec.name);
    let checksum = header_checksum(spec.flags, &out[start..]);
    out.extend_from_slice(&checksum.to_be_bytes());
}

/// The header of one block, or the end marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockHeader {
    /// Decompressed size.
    pub(crate) dst_len: u32,
    /// Compressed size; equal to `dst_len` for a stored block.
    pub(crate) src_len: u32,
    pub(crate) d_adler32: Option<u32>,
    pub(crate) d_crc32: Option<u32>,
    pub(crate) c_adler32: Option<u32>,
    pub(crate) c_crc32: Option<u32>,
}

impl BlockHeader {
    /// True for a block whose bytes are stored as they are.
    pub(crate) fn is_stored(&self) -> bool {
        self.src_len == self.dst_len
    }
}

/// A block header, or the end of the member.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Block {
    Data(BlockHeader),
    End,
}

/// Parses the block header at stream offset `offset` for a member with
/// `flags`, checking the sizes as lzop does before any byte is allocated.
pub(crate) fn parse_block_header(bytes: &[u8], flags: u32, offset: u64) -> Result<Parsed<Block>> {
    let mut cur = Cursor::new(bytes);
    let Some(dst_len) = cur.u32() else {
        return Ok(Parsed::Incomplete);
    };
    if dst_len == 0 {
        return Ok(Parsed::Complete(Block::End, cur.pos));
    }
    let size_error = |src_len: u32, reason| Error::LzopBlockSize {
        offset,
        compressed: u64::from(src_len),
        decompressed: u64::from(dst_len),
        reason,
    };
    if dst_len == u32::MAX {
        return Err(Error::LzopUnsupported {
            offset,
            feature: "split (multi-volume) lzop files".to_string(),
        });
    }
    if dst_len > MAX_BLOCK_SIZE {
        return Err(size_error(0, "decompressed size above lzop's 64 MiB limit"));
    }
    let Some(src_len) = cur.u32() else {
        return Ok(Parsed::Incomplete);
    };
    if src_len == 0 {
        return Err(size_error(src_len, "empty compressed block"));
    }
    if src_len > dst_len {
        return Err(size_error(
            src_len,
            "compressed size above decompressed size",
        ));
    }
    let compressed = src_len < dst_len;
    // An LZO1X byte can stand for at most 255 output bytes (a zero byte
    // extending a match length), so a larger ratio can only be corruption;
    // refusing it here keeps a forged size from becoming a huge allocation.
    if compressed && u64::from(dst_len) > u64::from(src_len) * 256 + 1024 {
        return Err(size_error(
            src_len,
            "decompressed size beyond what LZO1X can encode in the compressed size",
        ));
    }
    let mut word = |present: bool| -> Option<Option<u32>> {
        if present {
            cur.u32().map(Some)
        } else {
            Some(None)
        }
    };
    let Some(d_adler32) = word(flags & F_ADLER32_D != 0) else {
        return Ok(Parsed::Incomplete);
    };
    let Some(d_crc32) = word(flags & F_CRC32_D != 0) else {
        return Ok(Parsed::Incomplete);
    };
    let Some(c_adler32) = word(compressed && flags & F_ADLER32_C != 0) else {
        return Ok(Parsed::Incomplete);
    };
    let Some(c_crc32) = word(compressed && flags & F_CRC32_C != 0) else {
        return Ok(Parsed::Incomplete);
    };
    Ok(Parsed::Complete(
        Block::Data(BlockHeader {
            dst_len,
            src_len,
            d_adler32,
            d_crc32,
            c_adler32,
            c_crc32,
        }),
        cur.pos,
    ))
}

/// Appends a block header for `data` (decompressed) stored as `payload`.
pub(crate) fn write_block_header(flags: u32, data: &[u8], payload: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    if flags & F_ADLER32_D != 0 {
        out.extend_from_slice(&adler32(data).to_be_bytes());
    }
    if flags & F_CRC32_D != 0 {
        out.extend_from_slice(&crc32(data).to_be_bytes());
    }
    if payload.len() < data.len() {
        if flags & F_ADLER32_C != 0 {
            out.extend_from_slice(&adler32(payload).to_be_bytes());
        }
        if flags & F_CRC32_C != 0 {
            out.extend_from_slice(&crc32(payload).to_be_bytes());
        }
    }
}

/// Appends the end-of-member marker.
pub(crate) fn write_end_marker(out: &mut Vec<u8>) {
    out.extend_from_slice(&BLOCK_END_MARKER);
}

/// Checks a checksum that the block header carries, if it carries it.
pub(crate) fn verify(
    stored: Option<u32>,
    kind: ChecksumKind,
    bytes: &[u8],
    offset: u64,
) -> Result<()> {
    let Some(expected) = stored else {
        return Ok(());
    };
    let found = match kind {
        ChecksumKind::CompressedCrc32 | ChecksumKind::DecompressedCrc32 => crc32(bytes),
        _ => adler32(bytes),
    };
    if expected == found {
        Ok(())
    } else {
        Err(Error::LzopChecksum {
            offset,
            kind,
            expected,
            found,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(flags: u32) -> HeaderSpec<'static> {
        HeaderSpec {
            method: Method::Lzo1x1,
            level: 3,
            flags,
            mode: 0o100644,
            mtime: 1_700_000_000,
            name: b"data.csv",
        }
    }

    #[test]
    fn header_round_trips() {
        for flags in [
            F_OS_UNIX | F_ADLER32_D,
            F_OS_UNIX | F_ADLER32_D | F_ADLER32_C,
            F_OS_UNIX | F_CRC32_D | F_CRC32_C | F_H_CRC32,
        ] {
            let mut bytes = Vec::new();
            write_header(&spec(flags), &mut bytes);
            let Parsed::Complete(header, used) = parse_header(&bytes, 0).unwrap() else {
                panic!("incomplete")
            };
            assert_eq!(used, bytes.len());
            assert_eq!(header.flags, flags);
            assert_eq!(header.method, Method::Lzo1x1);
            assert_eq!(header.level, 3);
            assert_eq!(header.mtime, 1_700_000_000);
            assert_eq!(header.name.as_deref(), Some("data.csv"));
            for cut in 0..bytes.len() {
                assert!(matches!(
                    parse_header(&bytes[..cut], 0).unwrap(),
                    Parsed::Incomplete
                ));
            }
        }
    }

    #[test]
    fn header_checksum_is_verified() {
        let mut bytes = Vec::new();
        write_header(&spec(F_OS_UNIX | F_ADLER32_D), &mut bytes);
        let name_at = bytes.len() - 5;
        bytes[name_at] ^= 0x20;
        let err = parse_header(&bytes, 100).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LzopChecksum {
                    kind: ChecksumKind::Header,
                    offset,
                    ..
                } if offset == 100 + bytes.len() as u64 - 4
            ),
            "{err}"
        );
    }

    #[test]
    fn bad_magic_names_the_offset() {
        let err = parse_header(b"PK\x03\x04 not lzop", 42).unwrap_err();
        assert!(matches!(err, Error::LzopMagic { offset: 42 }), "{err}");
    }

    #[test]
    fn filter_and_unknown_method_are_refused() {
        let mut bytes = Vec::new();
        let mut header = spec(F_OS_UNIX | F_ADLER32_D);
        header.method = Method::Lzo1x999;
        write_header(&header, &mut bytes);
        // Method byte follows magic (9) and three u16 fields.
        bytes[15] = 0x80;
        let start = MAGIC.len();
        let end = bytes.len() - 4;
        let checksum = adler32(&bytes[start..end]).to_be_bytes();
        bytes[end..].copy_from_slice(&checksum);
        let err = parse_header(&bytes, 0).unwrap_err();
        assert!(
            matches!(err, Error::LzopUnsupported { offset: 15, .. }),
            "{err}"
        );
    }

    #[test]
    fn absurd_block_sizes_are_refused() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(MAX_BLOCK_SIZE + 1).to_be_bytes());
        bytes.extend_from_slice(&10u32.to_be_bytes());
        let err = parse_block_header(&bytes, F_ADLER32_D, 7).unwrap_err();
        assert!(
            matches!(err, Error::LzopBlockSize { offset: 7, .. }),
            "{err}"
        );

        let mut bytes = Vec::new();
        bytes.extend_from_slice(&100u32.to_be_bytes());
        bytes.extend_from_slice(&101u32.to_be_bytes());
        let err = parse_block_header(&bytes, F_ADLER32_D, 7).unwrap_err();
        assert!(
            matches!(
                err,
                Error::LzopBlockSize {
                    compressed: 101,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn compressed_checksum_only_for_compressed_blocks() {
        let flags = F_ADLER32_D | F_ADLER32_C;
        let data = vec![7u8; 64];
        let mut stored = Vec::new();
        write_block_header(flags, &data, &data, &mut stored);
        assert_eq!(stored.len(), 12);
        let mut compressed = Vec::new();
        write_block_header(flags, &data, &data[..10], &mut compressed);
        assert_eq!(compressed.len(), 16);
        let Parsed::Complete(Block::Data(block), used) =
            parse_block_header(&compressed, flags, 0).unwrap()
        else {
            panic!("not a data block")
        };
        assert_eq!(used, 16);
        assert_eq!(block.d_adler32, Some(adler32(&data)));
        assert_eq!(block.c_adler32, Some(adler32(&data[..10])));
    }

    #[test]
    fn checksums_match_reference_values() {
        // zlib's documented values for "Wikipedia" (adler32) and "123456789" (crc32).
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b""), 1);
        assert_eq!(crc32(b""), 0);
    }
}
