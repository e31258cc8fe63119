//! The pull reader: a `Read` of plain or lzop CSV to an iterator of typed
//! `RecordBatch`es.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{RecordBatch, RecordBatchReader};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;

use crate::error::{Error, Result};
use crate::lzo;
use crate::retail::decoder::{Decoder, Options};
use crate::retail::{DateStyle, ReadReport, schema};

/// Options for reading Online Retail CSV.
///
/// | option | default | purpose |
/// |---|---|---|
/// | [`with_batch_size`](Self::with_batch_size) | 65,536 | most rows per batch |
/// | [`with_skip_malformed`](Self::with_skip_malformed) | `false` | skip and count bad rows instead of failing |
/// | [`with_date_style`](Self::with_date_style) | [`DateStyle::Auto`] | how `InvoiceDate` is written |
/// | [`with_parallel`](Self::with_parallel) | `true` | parse chunks on rayon's pool |
/// | [`with_chunk_bytes`](Self::with_chunk_bytes) | 4 MiB | CSV bytes parsed per task |
///
/// ```
/// use berserkr_io::retail::{DateStyle, ReaderBuilder};
///
/// let csv = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
///            536365,85123A,,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
///            536365,85123A,,six,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n";
/// let strict = ReaderBuilder::new().build(csv.as_bytes(), "day.csv")?;
/// let error = strict.collect::<Result<Vec<_>, _>>().unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "day.csv: line 3, column \"Quantity\": \"six\" is not an integer"
/// );
///
/// let mut lenient = ReaderBuilder::new()
///     .with_skip_malformed(true)
///     .with_date_style(DateStyle::Iso)
///     .build(csv.as_bytes(), "day.csv")?;
/// assert_eq!(lenient.next().unwrap()?.num_rows(), 1);
/// assert_eq!(lenient.report().malformed_rows, 1);
/// # Ok::<(), berserkr_io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ReaderBuilder {
    options: Options,
}

impl Default for ReaderBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ReaderBuilder {
    /// The defaults: strict, automatic date style, parallel.
    pub fn new() -> Self {
        Self {
            options: Options {
                batch_size: 65_536,
                chunk_bytes: 4 << 20,
                skip_malformed: false,
                date_style: DateStyle::Auto,
                parallel: true,
            },
        }
    }

    /// Most rows per batch (default 65,536; at least 1).
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.options.batch_size = batch_size.max(1);
        self
    }

    /// Skip malformed rows and count them in the report (default `false`:
    /// the first one is an error).
    pub fn with_skip_malformed(mut self, skip: bool) -> Self {
        self.options.skip_malformed = skip;
        self
    }

    /// How `InvoiceDate` is written (default [`DateStyle::Auto`]).
    pub fn with_date_style(mut self, style: DateStyle) -> Self {
        self.options.date_style = style;
        self
    }

    /// Parse chunks of records on rayon's pool (default `true`). The batches
    /// are the same either way.
    pub fn with_parallel(mut self, parallel: bool) -> Self {
        self.options.parallel = parallel;
        self
    }

    /// CSV bytes per parse task (default 4 MiB; at least 64 KiB).
    pub fn with_chunk_bytes(mut self, bytes: usize) -> Self {
        self.options.chunk_bytes = bytes.max(64 * 1024);
        self
    }

    /// A push decoder of CSV bytes (decompress lzop first, with
    /// [`lzo::Decoder`]); `object` names the input in errors.
    pub fn build_decoder(&self, object: impl Into<String>) -> Decoder {
        Decoder::new(Arc::new(self.options.clone()), object.into())
    }

    /// A reader of `source`, plain CSV or lzop (recognised by its magic);
    /// `object` names the input in errors.
    pub fn build<R: Read>(self, source: R, object: impl Into<String>) -> Result<Reader<R>> {
        let object = object.into();
        let mut buffered = BufReader::with_capacity(1 << 20, source);
        let head = buffered
            .fill_buf()
            .map_err(|e| Error::io(object.clone(), e))?;
        let source = if lzo::is_lzop(head) {
            Source::Lzop(Box::new(lzo::Reader::new(buffered)))
        } else {
            Source::Plain(buffered)
        };
        let read_size = self.options.chunk_bytes
            * if self.options.parallel {
                rayon::current_num_threads()
            } else {
                1
            };
        Ok(Reader {
            decoder: self.build_decoder(object),
            source,
            read_size,
            done: false,
        })
    }

    /// A reader of the file at `path`, plain CSV or lzop.
    pub fn open(self, path: impl AsRef<Path>) -> Result<Reader<File>> {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| Error::io(name.clone(), e))?;
        self.build(file, name)
    }
}

/// Where the reader's CSV bytes come from.
#[derive(Debug)]
enum Source<R> {
    Plain(BufReader<R>),
    Lzop(Box<lzo::Reader<BufReader<R>>>),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Source::Plain(inner) => inner.read(buf),
            Source::Lzop(inner) => inner.read(buf),
        }
    }
}

/// Reads Online Retail CSV as an iterator of typed `RecordBatch`es; see
/// [`ReaderBuilder`].
#[derive(Debug)]
pub struct Reader<R> {
    decoder: Decoder,
    source: Source<R>,
    /// Bytes read from `source` at a time.
    read_size: usize,
    done: bool,
}

impl<R: Read> Reader<R> {
    /// What has been read so far.
    pub fn report(&self) -> &ReadReport {
        self.decoder.report()
    }

    fn fill(&mut self) -> Result<()> {
        let read = loop {
            match self.decoder.read_from(&mut self.source, self.read_size) {
                Ok(parsed) => break parsed?,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(unwrap_io(self.decoder.object(), e)),
            }
        };
        if read == 0 {
            self.done = true;
            self.decoder.finish()
        } else {
            Ok(())
        }
    }
}

/// Recovers the crate's error from an `io::Error` that carries one (the lzop
/// reader's), so that offsets and causes are not flattened to text.
fn unwrap_io(object: &str, error: std::io::Error) -> Error {
    if !error.get_ref().is_some_and(|inner| inner.is::<Error>()) {
        return Error::io(object, error);
    }
    let kind = error.kind();
    match error.into_inner().map(|inner| inner.downcast::<Error>()) {
        Some(Ok(ours)) => *ours,
        Some(Err(other)) => Error::io(object, std::io::Error::new(kind, other)),
        None => Error::io(object, std::io::Error::from(kind)),
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = self.decoder.next_batch() {
                return Some(Ok(batch));
            }
            if self.done {
                return None;
            }
            if let Err(error) = self.fill() {
                self.done = true;
                return Some(Err(error));
            }
        }
    }
}

/// Adapts the reader to Arrow's `RecordBatchReader`, whose items carry
/// `ArrowError` (ours converts, keeping the cause).
#[derive(Debug)]
pub struct ArrowReader<R>(Reader<R>);

impl<R: Read> Reader<R> {
    /// This reader as an Arrow [`RecordBatchReader`].
    pub fn into_arrow(self) -> ArrowReader<R> {
        ArrowReader(self)
    }
}

impl<R: Read> Iterator for ArrowReader<R> {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|r| r.map_err(ArrowError::from))
    }
}

impl<R: Read> RecordBatchReader for ArrowReader<R> {
    fn schema(&self) -> SchemaRef {
        schema()
    }
}
