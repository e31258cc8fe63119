//! A pull reader: any [`Read`] of lzop bytes becomes a [`BufRead`] of the
//! decompressed bytes.

use std::io::{self, BufRead, Read};

use crate::lzo::decoder::Decoder;

/// How many compressed bytes the reader asks its source for at a time.
const INPUT_CHUNK: usize = 256 * 1024;

/// Reads an lzop stream from `R` and yields the decompressed bytes.
///
/// Errors are [`io::Error`]s of kind `InvalidData` that wrap the crate's
/// [`Error`](crate::Error), so the offset and the cause survive:
///
/// ```
/// use berserkr_io::lzo::{Reader, compress};
/// use std::io::Read;
///
/// let compressed = compress(b"StockCode,Description\n85123A,WHITE HANGING HEART\n")?;
/// let mut text = String::new();
/// Reader::new(compressed.as_slice()).read_to_string(&mut text)?;
/// assert!(text.starts_with("StockCode"));
///
/// let mut truncated = Reader::new(&compressed[..compressed.len() - 3]);
/// let error = truncated.read_to_end(&mut Vec::new()).unwrap_err();
/// let cause = error.get_ref().and_then(|e| e.downcast_ref::<berserkr_io::Error>());
/// assert!(matches!(cause, Some(berserkr_io::Error::LzopTruncated { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Reader<R> {
    inner: R,
    decoder: Decoder,
    input: Vec<u8>,
    output: Vec<u8>,
    position: usize,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// A reader with the default block codec.
    pub fn new(inner: R) -> Self {
        Self::with_decoder(inner, Decoder::new())
    }

    /// A reader driving `decoder` (to choose its codec).
    pub fn with_decoder(inner: R, decoder: Decoder) -> Self {
        Self {
            inner,
            decoder,
            input: vec![0; INPUT_CHUNK],
            output: Vec::new(),
            position: 0,
            done: false,
        }
    }

    /// The decoder, to look at the header it has read.
    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    /// The source.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads and decodes until some output is at hand or the stream ends.
    fn refill(&mut self) -> io::Result<()> {
        while self.position == self.output.len() && !self.done {
            self.output.clear();
            self.position = 0;
            let read = match self.inner.read(&mut self.input) {
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if read == 0 {
                self.done = true;
                self.decoder.finish()?;
            } else {
                self.decoder.decode(&self.input[..read], &mut self.output)?;
            }
        }
        Ok(())
    }
}

impl<R: Read> Read for Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Reader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.refill()?;
        Ok(&self.output[self.position..])
    }

    fn consume(&mut self, amount: usize) {
        self.position = (self.position + amount).min(self.output.len());
    }
}
