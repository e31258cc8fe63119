//! berserkr's own LZO1X decompressor: the instruction set of liblzo's
//! `lzo1x_decompress_safe` (which decodes lzop's methods 1, 2 and 3 alike),
//! in safe Rust, with matches copied a run at a time.
//!
//! It accepts exactly what `lzokay`'s decoder accepts (a differential test
//! checks this on thousands of corrupt blocks) and differs in one thing:
//! `lzokay` copies every match a byte at a time, which is most of the time
//! it spends on text, while here a match is one `copy_within` when source
//! and destination do not overlap, a `fill` for a run of one byte, and a
//! doubling series of copies for short repeating patterns.

use std::fmt;

/// Why a block did not decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The block ended inside an instruction.
    InputOverrun,
    /// An instruction would write past the block's decompressed size.
    OutputOverrun,
    /// A match refers to bytes before the start of the block.
    LookbehindOverrun,
    /// Bytes follow the end-of-stream marker.
    InputNotConsumed,
    /// A length run too long to be real, or a malformed end marker.
    Malformed,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InputOverrun => "the block ends inside an instruction",
            Self::OutputOverrun => "an instruction writes past the block's size",
            Self::LookbehindOverrun => "a match refers to bytes before the block",
            Self::InputNotConsumed => "bytes follow the end-of-stream marker",
            Self::Malformed => "a malformed length or end marker",
        })
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

/// Longest run of zero length bytes that can be real (as liblzo bounds it).
const MAX_ZERO_RUN: usize = usize::MAX / 255 - 2;
const M3_MARKER: u8 = 0x20;
const M4_MARKER: u8 = 0x10;

/// The input, read forward with every read checked.
struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    #[inline(always)]
    fn byte(&mut self) -> Result<u8> {
        let byte = *self.bytes.get(self.at).ok_or(DecodeError::InputOverrun)?;
        self.at += 1;
        Ok(byte)
    }

    #[inline(always)]
    fn le16(&mut self) -> Result<usize> {
        let pair = self
            .bytes
            .get(self.at..self.at + 2)
            .ok_or(DecodeError::InputOverrun)?;
        self.at += 2;
        Ok(usize::from(u16::from_le_bytes([pair[0], pair[1]])))
    }

    #[inline(always)]
    fn take(&mut self, len: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(len).ok_or(DecodeError::InputOverrun)?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(DecodeError::InputOverrun)?;
        self.at = end;
        Ok(slice)
    }

    /// Counts the zero bytes that extend a length, then skips them.
    #[inline(always)]
    fn zero_run(&mut self) -> Result<usize> {
        let start = self.at;
        let run = self.bytes[start..]
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(self.bytes.len() - start);
        self.at += run;
        if run > MAX_ZERO_RUN {
            return Err(DecodeError::Malformed);
        }
        Ok(run)
    }
}

/// The output, written forward with every write checked.
struct Output<'a> {
    bytes: &'a mut [u8],
    at: usize,
}

impl Output<'_> {
    /// Copies `len` literals from `input`.
    #[inline(always)]
    fn literals_from(&mut self, input: &mut Input<'_>, len: usize) -> Result<()> {
        let (from, to) = (input.at, self.at);
        if len <= 16 && from + 16 <= input.bytes.len() && to + 16 <= self.bytes.len() {
            // Sixteen at once, past the run's end if shorter (rewritten
            // later): short literal runs are the common case.
            self.bytes[to..to + 16].copy_from_slice(&input.bytes[from..from + 16]);
            input.at += len;
            self.at += len;
            return Ok(());
        }
        self.literals(input.take(len)?)
    }

    #[inline(always)]
    fn literals(&mut self, literals: &[u8]) -> Result<()> {
        let end = self.at + literals.len();
        self.bytes
            .get_mut(self.at..end)
            .ok_or(DecodeError::OutputOverrun)?
            .copy_from_slice(literals);
        self.at = end;
        Ok(())
    }

    /// The start of a match `distance` bytes back.
    #[inline(always)]
    fn behind(&self, distance: usize) -> Result<usize> {
        self.at
            .checked_sub(distance)
            .ok_or(DecodeError::LookbehindOverrun)
    }

    /// Copies `len` bytes from `from` (behind the cursor) to the cursor, as
    /// if a byte at a time: an overlapping match repeats its pattern.
    #[inline(always)]
    fn copy_match(&mut self, from: usize, len: usize) -> Result<()> {
        let to = self.at;
        let end = to.checked_add(len).ok_or(DecodeError::OutputOverrun)?;
        if end > self.bytes.len() {
            return Err(DecodeError::OutputOverrun);
        }
        let distance = to - from;
        if distance >= 8 && end + 8 <= self.bytes.len() {
            // Whole words, possibly past `end` (rewritten later, since
            // output is written in order): most matches are a few bytes,
            // and a call to `memmove` per match costs more than the copy.
            // A word never overlaps its source, which is `distance` back.
            let mut copied = 0;
            while copied < len {
                self.bytes
                    .copy_within(from + copied..from + copied + 8, to + copied);
                copied += 8;
            }
        } else if distance >= len {
            self.bytes.copy_within(from..from + len, to);
        } else if distance == 1 {
            let byte = self.bytes[from];
            self.bytes[to..end].fill(byte);
        } else {
            // `[from, to + copied)` repeats with period `distance`; while
            // `copied` is a multiple of it, that whole run can be copied
            // on, so the copies double in length.
            let mut copied = 0;
            while copied < len {
                let n = (copied + distance).min(len - copied);
                self.bytes.copy_within(from..from + n, to + copied);
                copied += n;
            }
        }
        self.at = end;
        Ok(())
    }
}

/// Decodes one LZO1X block into `dst`; returns the bytes written.
pub(crate) fn decompress(src: &[u8], dst: &mut [u8]) -> Result<usize> {
    if src.len() < 3 {
        return Err(DecodeError::InputOverrun);
    }
    let mut input = Input { bytes: src, at: 0 };
    let mut output = Output { bytes: dst, at: 0 };
    // `state` is the number of literals the last instruction copied (4
    // standing for "4 or more"): it decides what a small opcode means.
    let mut state = 0usize;
    let mut match_len;

    let mut instruction = input.byte()?;
    if instruction >= 22 {
        output.literals(input.take(usize::from(instruction) - 17)?)?;
        state = 4;
    } else if instruction >= 18 {
        state = usize::from(instruction) - 17;
        output.literals(input.take(state)?)?;
    }
    let mut first = true;
    loop {
        // A first byte below 18 is itself the first instruction.
        if !first || state > 0 {
            instruction = input.byte()?;
        }
        first = false;
        let op = usize::from(instruction);
        let (from, next_state);
        if instruction & 0xc0 != 0 {
            // M2: 3 to 8 bytes from up to 2 KiB back.
            let distance = (usize::from(input.byte()?) << 3) + ((op >> 2) & 7) + 1;
            from = output.behind(distance)?;
            match_len = (op >> 5) + 1;
            next_state = op & 3;
        } else if instruction & M3_MARKER != 0 {
            // M3: any length from up to 16 KiB back.
            match_len = (op & 0x1f) + 2;
            if match_len == 2 {
                let zeros = input.zero_run()?;
                match_len += zeros * 255 + 31 + usize::from(input.byte()?);
            }
            let raw = input.le16()?;
            from = output.behind((raw >> 2) + 1)?;
            next_state = raw & 3;
        } else if instruction & M4_MARKER != 0 {
            // M4: any length from 16 to 48 KiB back, or the end marker.
            match_len = (op & 7) + 2;
            if match_len == 2 {
                let zeros = input.zero_run()?;
                match_len += zeros * 255 + 7 + usize::from(input.byte()?);
            }
            let raw = input.le16()?;
            let distance = ((op & 8) << 11) + (raw >> 2);
            if distance == 0 {
                break;
            }
            from = output.behind(distance + 16384)?;
            next_state = raw & 3;
        } else if state == 0 {
            // A run of literals, 4 bytes or more.
            let mut len = op + 3;
            if len == 3 {
                let zeros = input.zero_run()?;
                len += zeros * 255 + 15 + usize::from(input.byte()?);
            }
            output.literals_from(&mut input, len)?;
            state = 4;
            continue;
        } else if state != 4 {
            // M1 after 1 to 3 literals: 2 bytes from up to 1 KiB back.
            let distance = (op >> 2) + (usize::from(input.byte()?) << 2) + 1;
            from = output.behind(distance)?;
            match_len = 2;
            next_state = op & 3;
        } else {
            // M1 after 4 or more literals: 3 bytes from 2 to 3 KiB back.
            let distance = (op >> 2) + (usize::from(input.byte()?) << 2) + 2049;
            from = output.behind(distance)?;
            match_len = 3;
            next_state = op & 3;
        }
        output.copy_match(from, match_len)?;
        output.literals_from(&mut input, next_state)?;
        state = next_state;
    }
    // The end marker is exactly `0x11 0x00 0x00`.
    if match_len != 3 {
        return Err(DecodeError::Malformed);
    }
    match input.at.cmp(&src.len()) {
        std::cmp::Ordering::Equal => Ok(output.at),
        std::cmp::Ordering::Less => Err(DecodeError::InputNotConsumed),
        std::cmp::Ordering::Greater => Err(DecodeError::InputOverrun),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn lzokay_compress(data: &[u8]) -> Vec<u8> {
        lzokay::compress::compress(data).unwrap()
    }

    /// Text-like data with repeats at every distance class, and runs.
    fn samples() -> Vec<Vec<u8>> {
        let mut rng = StdRng::seed_from_u64(1);
        // (No empty block: lzop writes none, and `lzokay` encodes one as
        // bytes that neither decoder accepts.)
        let mut out = vec![b"a".to_vec(), b"abc".to_vec(), vec![7; 100_000]];
        for len in [10, 100, 1000, 4096, 70_000, 256 * 1024] {
            let mut text = Vec::with_capacity(len);
            while text.len() < len {
                match rng.random_range(0..5) {
                    0 => text.extend_from_slice(b"WHITE HANGING HEART T-LIGHT HOLDER,"),
                    1 => text.extend(std::iter::repeat_n(b'x', rng.random_range(1..300))),
                    2 => {
                        // A short pattern repeated: overlapping matches.
                        let period = rng.random_range(2..9);
                        let pattern: Vec<u8> = (0..period).map(|_| rng.random()).collect();
                        for _ in 0..rng.random_range(1..40) {
                            text.extend_from_slice(&pattern);
                        }
                    }
                    3 if !text.is_empty() => {
                        // A repeat from far back (M3 and M4 distances).
                        let start = rng.random_range(0..text.len());
                        let n = rng.random_range(1..200).min(text.len() - start);
                        text.extend_from_within(start..start + n);
                    }
                    _ => text.extend((0..rng.random_range(1..50)).map(|_| rng.random::<u8>())),
                }
            }
            text.truncate(len);
            out.push(text);
        }
        out
    }

    #[test]
    fn decodes_what_lzokay_encodes() {
        for data in samples() {
            let packed = lzokay_compress(&data);
            let mut out = vec![0; data.len()];
            assert_eq!(decompress(&packed, &mut out), Ok(data.len()));
            assert!(out == data, "{} bytes", data.len());
            // One byte short of room is an error, never a panic.
            if !data.is_empty() {
                let mut short = vec![0; data.len() - 1];
                assert_eq!(
                    decompress(&packed, &mut short),
                    Err(DecodeError::OutputOverrun)
                );
            }
        }
    }

    /// On corrupt blocks, this decoder and `lzokay` agree: both fail, or
    /// both write the same bytes.
    #[test]
    fn agrees_with_lzokay_on_corrupt_blocks() {
        let mut rng = StdRng::seed_from_u64(2);
        let blocks: Vec<(Vec<u8>, usize)> = samples()
            .into_iter()
            .filter(|d| d.len() >= 100)
            .map(|d| (lzokay_compress(&d), d.len()))
            .collect();
        for round in 0..4000 {
            let (block, len) = &blocks[round % blocks.len()];
            let mut corrupt = block.clone();
            match rng.random_range(0..4) {
                0 => {
                    let at = rng.random_range(0..corrupt.len());
                    corrupt[at] ^= 1 << rng.random_range(0..8);
                }
                1 => {
                    let at = rng.random_range(0..corrupt.len());
                    corrupt[at] = rng.random();
                }
                2 => corrupt.truncate(rng.random_range(0..corrupt.len())),
                _ => {
                    for _ in 0..rng.random_range(1..20) {
                        let at = rng.random_range(0..corrupt.len());
                        corrupt[at] = rng.random();
                    }
                }
            }
            let mut ours = vec![0; *len];
            let mut theirs = vec![0; *len];
            let a = decompress(&corrupt, &mut ours);
            let b = lzokay::decompress::decompress(&corrupt, &mut theirs);
            match (a, b) {
                (Ok(x), Ok(y)) => {
                    assert_eq!(x, y, "round {round}");
                    assert!(ours[..x] == theirs[..y], "round {round}");
                }
                (Err(_), Err(_)) => {}
                (a, b) => panic!("round {round}: ours {a:?}, lzokay {b:?}"),
            }
        }
    }

    #[test]
    fn short_and_empty_inputs_are_errors() {
        let mut out = [0u8; 16];
        for input in [&[][..], &[0x11], &[0x11, 0], &[0, 0, 0, 0]] {
            assert!(decompress(input, &mut out).is_err(), "{input:?}");
        }
        // The end marker alone is an empty block.
        assert_eq!(decompress(&[0x11, 0, 0], &mut out), Ok(0));
        assert_eq!(
            decompress(&[0x11, 0, 0, 0], &mut out),
            Err(DecodeError::InputNotConsumed)
        );
    }
}
