//! The push decoder: Online Retail CSV bytes in, typed `RecordBatch`es out.
//!
//! Complete records are cut into chunks at record boundaries (quote-aware,
//! so a quoted newline never splits a record), and the chunks are parsed on
//! rayon's pool straight into Arrow builders with `csv-core`, the same
//! RFC 4180 state machine arrow-csv uses. Line numbers in errors count
//! physical lines of the CSV, the header being line 1.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, BinaryBuilder, Float64Builder, Int64Builder, RecordBatch, StringArray,
    TimestampMicrosecondBuilder,
};
use csv_core::ReadRecordResult;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::retail::fields::{self, DateStyle};
use crate::retail::{Column, ReadReport, schema};

/// How many malformed rows a report keeps as examples.
const MAX_EXAMPLES: usize = 10;

/// Options shared by the decoder and the reader.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) batch_size: usize,
    pub(crate) chunk_bytes: usize,
    pub(crate) skip_malformed: bool,
    pub(crate) date_style: DateStyle,
    pub(crate) parallel: bool,
}

/// Where each column of the schema is in the file's records.
#[derive(Debug, Clone)]
struct ColumnMap {
    index: [usize; Column::ALL.len()],
    fields: usize,
}

impl ColumnMap {
    fn from_header(record: &[&[u8]], object: &str) -> Result<Self> {
        let names: Vec<String> = record
            .iter()
            .map(|f| {
                String::from_utf8_lossy(f)
                    .trim_start_matches('\u{feff}')
                    .trim()
                    .to_string()
            })
            .collect();
        let mut index = [0; Column::ALL.len()];
        for column in Column::ALL {
            index[column as usize] = names
                .iter()
                .position(|name| column.header_names().contains(&name.as_str()))
                .ok_or_else(|| Error::MissingColumn {
                    object: object.to_string(),
                    column: column.name().to_string(),
                    header: names.join(","),
                })?;
        }
        Ok(Self {
            index,
            fields: names.len(),
        })
    }
}

/// A malformed row, with its line relative to the start of its chunk.
#[derive(Debug)]
struct Malformed {
    line: u64,
    column: String,
    reason: String,
}

/// What parsing one chunk produced.
#[derive(Debug)]
struct Parsed {
    batch: RecordBatch,
    newlines: u64,
    malformed: Vec<Malformed>,
    malformed_count: u64,
}

/// Typed builders for one chunk.
///
/// Text goes into binary builders and is validated as UTF-8 once a column
/// when the chunk is done: one pass over each values buffer instead of a
/// call per field. A chunk that fails is parsed again field by field to
/// name the row (see [`parse_chunk`]).
struct Builders {
    invoice: BinaryBuilder,
    stock_code: BinaryBuilder,
    description: BinaryBuilder,
    quantity: Int64Builder,
    date: TimestampMicrosecondBuilder,
    price: Float64Builder,
    customer: Int64Builder,
    country: BinaryBuilder,
}

impl Builders {
    fn new(rows: usize, bytes: usize) -> Self {
        // Shares of a record's bytes that each text column takes in the real
        // data, rounded up a little: a smaller guess grows by doubling, a
        // larger one costs page faults for memory never used.
        let text = |share: usize| BinaryBuilder::with_capacity(rows, bytes / share);
        Self {
            invoice: text(11),
            stock_code: text(14),
            description: text(3),
            quantity: Int64Builder::with_capacity(rows),
            date: TimestampMicrosecondBuilder::with_capacity(rows),
            price: Float64Builder::with_capacity(rows),
            customer: Int64Builder::with_capacity(rows),
            country: text(5),
        }
    }

    /// The batch, or `None` when some text is not UTF-8.
    fn finish(mut self) -> Result<Option<RecordBatch>> {
        let text = |builder: &mut BinaryBuilder| -> Option<ArrayRef> {
            StringArray::try_from_binary(builder.finish())
                .ok()
                .map(|a| Arc::new(a) as ArrayRef)
        };
        let (Some(invoice), Some(stock_code), Some(description), Some(country)) = (
            text(&mut self.invoice),
            text(&mut self.stock_code),
            text(&mut self.description),
            text(&mut self.country),
        ) else {
            return Ok(None);
        };
        let columns: Vec<ArrayRef> = vec![
            invoice,
            stock_code,
            description,
            Arc::new(self.quantity.finish()),
            Arc::new(self.date.finish()),
            Arc::new(self.price.finish()),
            Arc::new(self.customer.finish()),
            country,
        ];
        Ok(Some(RecordBatch::try_new(schema(), columns)?))
    }
}

/// One row's values, checked before any is appended so that a bad row
/// leaves no trace in the builders.
struct Row<'a> {
    invoice: &'a [u8],
    stock_code: &'a [u8],
    description: Option<&'a [u8]>,
    quantity: i64,
    date: i64,
    price: f64,
    customer: Option<i64>,
    country: &'a [u8],
}

/// Whether text fields are checked one by one (`Each`) or left to the
/// one check a column in [`Builders::finish`] (`Deferred`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Utf8Check {
    Deferred,
    Each,
}

fn text(value: &[u8], column: Column, check: Utf8Check) -> Result<&[u8], (Column, String)> {
    if check == Utf8Check::Each {
        std::str::from_utf8(value).map_err(|e| (column, format!("invalid UTF-8: {e}")))?;
    }
    Ok(value)
}

fn required(value: &[u8], column: Column, check: Utf8Check) -> Result<&[u8], (Column, String)> {
    let value = text(value, column, check)?;
    if value.is_empty() {
        Err((column, "empty value".to_string()))
    } else {
        Ok(value)
    }
}

fn with<T>(column: Column, result: Result<T, String>) -> Result<T, (Column, String)> {
    result.map_err(|reason| (column, reason))
}

/// The last `InvoiceDate` parsed: the lines of an invoice share one.
#[derive(Debug, Default)]
struct DateCache {
    raw: Vec<u8>,
    micros: i64,
}

impl DateCache {
    fn parse(&mut self, value: &[u8], style: DateStyle) -> Result<i64, String> {
        if self.raw != value {
            self.micros = fields::parse_date(value, style)?;
            self.raw.clear();
            self.raw.extend_from_slice(value);
        }
        Ok(self.micros)
    }
}

fn parse_row<'a>(
    field: impl Fn(Column) -> &'a [u8],
    style: DateStyle,
    check: Utf8Check,
    dates: &mut DateCache,
) -> Result<Row<'a>, (Column, String)> {
    let description = text(field(Column::Description), Column::Description, check)?;
    let customer = field(Column::CustomerId);
    Ok(Row {
        invoice: required(field(Column::InvoiceNo), Column::InvoiceNo, check)?,
        stock_code: required(field(Column::StockCode), Column::StockCode, check)?,
        description: (!description.is_empty()).then_some(description),
        quantity: with(
            Column::Quantity,
            fields::parse_integer(field(Column::Quantity)),
        )?,
        date: with(
            Column::InvoiceDate,
            dates.parse(field(Column::InvoiceDate), style),
        )?,
        price: with(
            Column::UnitPrice,
            fields::parse_float(field(Column::UnitPrice)),
        )?,
        customer: if customer.is_empty() {
            None
        } else {
            Some(with(
                Column::CustomerId,
                fields::parse_customer_id(customer),
            )?)
        },
        country: text(field(Column::Country), Column::Country, check)?,
    })
}

/// Number of `\n` in `bytes`.
fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Parses the complete records in `bytes` (the final one may lack its line
/// terminator). Lines in the result are relative to the chunk's first line.
fn parse_chunk(bytes: &[u8], map: &ColumnMap, options: &Options) -> Result<Parsed, Malformed> {
    match parse_records(bytes, map, options, Utf8Check::Deferred)? {
        Some(parsed) => Ok(parsed),
        // Some text is not UTF-8: parse again checking each field, which
        // names the row (or skips it, as asked).
        None => parse_records(bytes, map, options, Utf8Check::Each)?.ok_or_else(|| Malformed {
            line: 0,
            column: "<chunk>".to_string(),
            reason: "invalid UTF-8".to_string(),
        }),
    }
}

/// The line (relative to the chunk) of the record starting at `start`:
/// counted only when an error needs it, since counting every record's
/// newlines costs more than parsing it.
fn line_of(bytes: &[u8], start: usize) -> u64 {
    let leading = bytes[start..]
        .iter()
        .take_while(|&&b| b == b'\n' || b == b'\r')
        .filter(|&&b| b == b'\n')
        .count() as u64;
    count_newlines(&bytes[..start]) + leading
}

/// One record's typed values, from its `fields` fields (`field(i)` is the
/// i-th as written in the file).
fn row_of<'a>(
    map: &ColumnMap,
    fields: usize,
    options: &Options,
    check: Utf8Check,
    dates: &mut DateCache,
    field: impl Fn(usize) -> &'a [u8],
) -> Result<Row<'a>, (Option<Column>, String)> {
    if fields != map.fields {
        return Err((
            None,
            format!("expected {} fields, found {fields}", map.fields),
        ));
    }
    parse_row(
        |column| field(map.index[column as usize]),
        options.date_style,
        check,
        dates,
    )
    .map_err(|(c, e)| (Some(c), e))
}

/// Records read one at a time by `csv-core`, the RFC 4180 state machine
/// arrow-csv uses, for lines the fast path leaves to it.
struct QuotedRecords {
    reader: csv_core::Reader,
    output: Vec<u8>,
    ends: Vec<usize>,
    out_len: usize,
    ends_len: usize,
}

impl QuotedRecords {
    fn new(fields: usize) -> Self {
        Self {
            reader: csv_core::Reader::new(),
            output: vec![0; 1024],
            ends: vec![0; fields.max(8) + 8],
            out_len: 0,
            ends_len: 0,
        }
    }

    /// Reads the record at the start of `input`; returns the bytes it took,
    /// or `None` when `input` holds only line terminators.
    fn read(&mut self, input: &[u8]) -> Option<usize> {
        self.out_len = 0;
        self.ends_len = 0;
        let mut pos = 0;
        loop {
            let (result, read, written, ended) = self.reader.read_record(
                &input[pos..],
                &mut self.output[self.out_len..],
                &mut self.ends[self.ends_len..],
            );
            pos += read;
            self.out_len += written;
            self.ends_len += ended;
            match result {
                // At the end of `input` the next call passes an empty
                // slice, which is how csv-core learns that input ended.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let len = self.output.len();
                    self.output.resize(len * 2, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                ReadRecordResult::Record => return Some(pos),
                ReadRecordResult::End => return None,
            }
        }
    }

    /// The fields of the record last read: the unescaped bytes and where
    /// each field ends in them.
    fn record(&self) -> (&[u8], &[usize]) {
        (&self.output[..self.out_len], &self.ends[..self.ends_len])
    }
}

fn parse_records(
    bytes: &[u8],
    map: &ColumnMap,
    options: &Options,
    check: Utf8Check,
) -> Result<Option<Parsed>, Malformed> {
    let estimated_rows = bytes.len() / 80 + 16;
    let mut builders = Builders::new(estimated_rows, bytes.len());
    let mut quoted = QuotedRecords::new(map.fields);
    let mut unquoted: Vec<Range<usize>> = Vec::with_capacity(map.fields + 8);
    let mut pos = 0usize;
    let mut malformed = Vec::new();
    let mut malformed_count = 0u64;
    let mut dates = DateCache::default();
    while pos < bytes.len() {
        let this_record = pos;
        let newline = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i);
        let mut line = &bytes[pos..newline];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        // Most lines hold no quote and no stray `\r`: their fields are
        // the bytes between commas, and cutting them directly is several
        // times faster than the general state machine, which takes the
        // rest (quoted fields, quoted line breaks, old Mac line ends).
        let result = if memchr::memchr2(b'"', b'\r', line).is_none() {
            pos = (newline + 1).min(bytes.len());
            if line.is_empty() {
                continue;
            }
            unquoted.clear();
            let mut start = 0;
            for comma in memchr::memchr_iter(b',', line) {
                unquoted.push(start..comma);
                start = comma + 1;
            }
            unquoted.push(start..line.len());
            row_of(map, unquoted.len(), options, check, &mut dates, |i| {
                &line[unquoted[i].clone()]
            })
        } else {
            let Some(read) = quoted.read(&bytes[pos..]) else {
                break;
            };
            pos += read;
            let (output, ends) = quoted.record();
            row_of(map, ends.len(), options, check, &mut dates, |i| {
                let start = if i == 0 { 0 } else { ends[i - 1] };
                &output[start..ends[i]]
            })
        };
        match result {
            Ok(row) => {
                builders.invoice.append_value(row.invoice);
                builders.stock_code.append_value(row.stock_code);
                builders.description.append_option(row.description);
                builders.quantity.append_value(row.quantity);
                builders.date.append_value(row.date);
                builders.price.append_value(row.price);
                builders.customer.append_option(row.customer);
                builders.country.append_value(row.country);
            }
            Err((column, reason)) => {
                let bad = Malformed {
                    line: line_of(bytes, this_record),
                    column: column.map_or("<row>", Column::name).to_string(),
                    reason,
                };
                if !options.skip_malformed {
                    return Err(bad);
                }
                malformed_count += 1;
                if malformed.len() < MAX_EXAMPLES {
                    malformed.push(bad);
                }
            }
        }
    }
    let newlines = count_newlines(bytes);
    let batch = builders.finish().map_err(|e| Malformed {
        line: newlines,
        column: "<batch>".to_string(),
        reason: e.to_string(),
    })?;
    Ok(batch.map(|batch| Parsed {
        batch,
        newlines,
        malformed,
        malformed_count,
    }))
}

/// Splits `bytes`, which hold whole records, into pieces of about `target`
/// bytes that each end at a record boundary outside quotes.
fn split_records(bytes: &[u8], target: usize) -> Vec<Range<usize>> {
    let mut pieces = Vec::new();
    let mut start = 0;
    // Quotes seen from `start` to `scanned`: odd means inside a quoted field.
    while bytes.len() - start > target {
        let mut quotes = 0usize;
        let mut scanned = start;
        let mut candidate = start + target;
        let cut = loop {
            let Some(newline) = memchr::memchr(b'\n', &bytes[candidate..]) else {
                break None;
            };
            let newline = candidate + newline;
            quotes += memchr::memchr_iter(b'"', &bytes[scanned..newline]).count();
            scanned = newline;
            if quotes.is_multiple_of(2) {
                break Some(newline + 1);
            }
            candidate = newline + 1;
        };
        match cut {
            Some(cut) if cut < bytes.len() => {
                pieces.push(start..cut);
                start = cut;
            }
            _ => break,
        }
    }
    if start < bytes.len() {
        pieces.push(start..bytes.len());
    }
    pieces
}

/// Ends of the records in `bytes` (just past each `\n` outside quotes).
fn record_ends(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut quotes = 0usize;
    let mut from = 0;
    memchr::memchr_iter(b'\n', bytes).filter_map(move |newline| {
        quotes += memchr::memchr_iter(b'"', &bytes[from..newline]).count();
        from = newline;
        quotes.is_multiple_of(2).then_some(newline + 1)
    })
}

/// Where the last complete record of a growing buffer ends.
#[derive(Debug, Default, Clone, Copy)]
struct RecordScan {
    /// Bytes scanned so far.
    scanned: usize,
    /// Whether `scanned` is inside a quoted field.
    in_quotes: bool,
    /// Just past the last `\n` seen outside quotes.
    last_end: usize,
}

impl RecordScan {
    /// Scans the bytes of `buffer` not seen before; returns the end of its
    /// last complete record (0 if none).
    fn advance(&mut self, buffer: &[u8]) -> usize {
        let new = &buffer[self.scanned..];
        // Usually the last newline is outside quotes, which one count of
        // the quotes before it shows; visiting every newline costs more.
        if let Some(last) = memchr::memrchr(b'\n', new) {
            let quotes = memchr::memchr_iter(b'"', &new[..last]).count();
            if self.in_quotes == quotes.is_multiple_of(2) {
                // Odd parity up to the last newline: it is quoted. Walk.
            } else {
                let rest_quotes = memchr::memchr_iter(b'"', &new[last..]).count();
                self.in_quotes = !rest_quotes.is_multiple_of(2);
                self.last_end = self.scanned + last + 1;
                self.scanned = buffer.len();
                return self.last_end;
            }
        }
        for at in memchr::memchr2_iter(b'\n', b'"', new) {
            let at = self.scanned + at;
            if buffer[at] == b'"' {
                self.in_quotes = !self.in_quotes;
            } else if !self.in_quotes {
                self.last_end = at + 1;
            }
        }
        self.scanned = buffer.len();
        self.last_end
    }

    /// The first `end` bytes (whole records) left the buffer.
    fn drained(&mut self, end: usize) {
        self.scanned = self.scanned.saturating_sub(end);
        self.last_end = self.last_end.saturating_sub(end);
    }
}

/// A push decoder of Online Retail CSV; see [`ReaderBuilder::build_decoder`].
///
/// ```
/// use berserkr_io::retail::ReaderBuilder;
///
/// let csv = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
///            536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
///            536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n";
/// let mut decoder = ReaderBuilder::new().build_decoder("inline.csv");
/// for piece in csv.as_bytes().chunks(10) {
///     decoder.decode(piece)?;
/// }
/// decoder.finish()?;
/// let batch = decoder.next_batch().expect("one batch");
/// assert_eq!(batch.num_rows(), 2);
/// assert_eq!(decoder.report().rows, 2);
/// # Ok::<(), berserkr_io::Error>(())
/// ```
///
/// [`ReaderBuilder::build_decoder`]: crate::retail::ReaderBuilder::build_decoder
#[derive(Debug)]
pub struct Decoder {
    options: Arc<Options>,
    object: String,
    map: Option<ColumnMap>,
    pending: Vec<u8>,
    /// How far `pending` has been scanned for record ends, so that each
    /// byte is scanned once however it arrives.
    scan: RecordScan,
    /// Physical lines before `pending[0]`.
    lines_before: u64,
    ready: VecDeque<RecordBatch>,
    report: ReadReport,
    finished: bool,
}

impl Decoder {
    pub(crate) fn new(options: Arc<Options>, object: String) -> Self {
        let report = ReadReport {
            objects: 1,
            ..ReadReport::default()
        };
        Self {
            options,
            object,
            map: None,
            pending: Vec::new(),
            scan: RecordScan::default(),
            lines_before: 0,
            ready: VecDeque::new(),
            report,
            finished: false,
        }
    }

    /// Buffers `bytes` and parses every chunk of complete records once
    /// enough have arrived to keep all threads busy.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<()> {
        self.pending.extend_from_slice(bytes);
        self.report.bytes += bytes.len() as u64;
        self.process()
    }

    /// Reads up to `max` bytes from `source` straight into the buffer
    /// (one copy fewer than reading elsewhere and calling [`decode`]), then
    /// parses what is complete; returns the bytes read, 0 at the end.
    ///
    /// [`decode`]: Self::decode
    pub(crate) fn read_from<R: std::io::Read>(
        &mut self,
        source: &mut R,
        max: usize,
    ) -> std::io::Result<std::result::Result<usize, Error>> {
        let before = self.pending.len();
        // `read_to_end` appends without zeroing the space first.
        let read = std::io::Read::read_to_end(
            &mut std::io::Read::take(source, max as u64),
            &mut self.pending,
        )?;
        debug_assert_eq!(self.pending.len(), before + read);
        self.report.bytes += read as u64;
        Ok(self.process().map(|()| read))
    }

    fn process(&mut self) -> Result<()> {
        let threads = if self.options.parallel {
            rayon::current_num_threads()
        } else {
            1
        };
        if self.map.is_none() {
            self.read_header(false)?;
        }
        if self.map.is_some() && self.pending.len() >= self.options.chunk_bytes * threads {
            let end = self.scan.advance(&self.pending);
            if end > 0 {
                self.parse(end)?;
            }
        }
        Ok(())
    }

    /// Declares the end of input and parses what remains, including a last
    /// record without a line terminator.
    pub fn finish(&mut self) -> Result<()> {
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        if self.map.is_none() {
            self.read_header(true)?;
        }
        if self.map.is_some() && !self.pending.is_empty() {
            self.parse(self.pending.len())?;
        }
        Ok(())
    }

    /// The next parsed batch, if any is ready.
    pub fn next_batch(&mut self) -> Option<RecordBatch> {
        self.ready.pop_front()
    }

    /// What has been read so far.
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// The name errors give for this input.
    pub fn object(&self) -> &str {
        &self.object
    }

    fn read_header(&mut self, at_end: bool) -> Result<()> {
        let end = match record_ends(&self.pending).next() {
            Some(end) => end,
            None if at_end => self.pending.len(),
            None => return Ok(()),
        };
        let line = &self.pending[..end];
        let mut reader = csv_core::Reader::new();
        let mut output = vec![0u8; line.len() + 16];
        let mut ends = vec![0usize; line.len() + 2];
        // A second call with no input completes a header that lacks its
        // line terminator.
        let (_, _, written, ended) = reader.read_record(line, &mut output, &mut ends);
        let (_, _, _, ended_at_eof) =
            reader.read_record(&[], &mut output[written..], &mut ends[ended..]);
        let ends = &ends[..ended + ended_at_eof];
        if ends.is_empty() {
            return Err(Error::MissingColumn {
                object: self.object.clone(),
                column: "InvoiceNo".to_string(),
                header: String::new(),
            });
        }
        let fields: Vec<&[u8]> = ends
            .iter()
            .scan(0, |start, &end| {
                let field = &output[*start..end];
                *start = end;
                Some(field)
            })
            .collect();
        self.map = Some(ColumnMap::from_header(&fields, &self.object)?);
        self.lines_before += count_newlines(line);
        self.pending.drain(..end);
        self.scan = RecordScan::default();
        Ok(())
    }

    /// Parses `pending[..end]`, which holds whole records.
    fn parse(&mut self, end: usize) -> Result<()> {
        let Some(map) = &self.map else {
            return Ok(());
        };
        let bytes = &self.pending[..end];
        let threads = if self.options.parallel {
            rayon::current_num_threads()
        } else {
            1
        };
        // Several pieces a thread, so that rayon can even out pieces that
        // parse slower (quoted lines) instead of waiting on the last one.
        let target = (bytes.len() / (threads * 4))
            .max(256 * 1024)
            .min(self.options.chunk_bytes.max(1));
        let pieces = split_records(bytes, target);
        let options = &*self.options;
        let parse = |range: &Range<usize>| parse_chunk(&bytes[range.clone()], map, options);
        let results: Vec<Result<Parsed, Malformed>> = if self.options.parallel && pieces.len() > 1 {
            pieces.par_iter().map(parse).collect()
        } else {
            pieces.iter().map(parse).collect()
        };
        let mut line = self.lines_before;
        for result in results {
            let chunk_first_line = line + 1;
            match result {
                Ok(parsed) => {
                    self.report.rows += parsed.batch.num_rows() as u64;
                    self.report.malformed_rows += parsed.malformed_count;
                    for bad in parsed.malformed {
                        if self.report.malformed_examples.len() < MAX_EXAMPLES {
                            self.report.malformed_examples.push(self.error(
                                chunk_first_line + bad.line,
                                bad.column,
                                bad.reason,
                            ));
                        }
                    }
                    line += parsed.newlines;
                    let batch = parsed.batch;
                    let mut offset = 0;
                    while offset < batch.num_rows() {
                        let len = self.options.batch_size.min(batch.num_rows() - offset);
                        self.ready.push_back(batch.slice(offset, len));
                        offset += len;
                    }
                }
                Err(bad) => {
                    return Err(self.error(chunk_first_line + bad.line, bad.column, bad.reason));
                }
            }
        }
        self.lines_before = line;
        self.pending.drain(..end);
        self.scan.drained(end);
        Ok(())
    }

    fn error(&self, line: u64, column: String, reason: String) -> Error {
        Error::MalformedRow {
            object: self.object.clone(),
            line,
            column,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_and_unquoted_lines_parse_alike() {
        use arrow::array::AsArray;
        let map = ColumnMap {
            index: [0, 1, 2, 3, 4, 5, 6, 7],
            fields: 8,
        };
        let options = Options {
            batch_size: 1024,
            chunk_bytes: 1024,
            skip_malformed: false,
            date_style: DateStyle::Auto,
            parallel: false,
        };
        // The same row unquoted, quoted, with CRLF, with a quoted comma and
        // a quoted line break, after blank lines, and last without a line end.
        let chunk = "1,A,plain,2,2010-12-01 08:26:00,1.5,7.0,UK\r\n\
                     \"1\",\"A\",\"plain\",2,2010-12-01 08:26:00,1.5,7.0,\"UK\"\n\
                     \n\r\n\
                     1,A,\"a, \"\"b\"\"\nc\",2,2010-12-01 08:26:00,1.5,,UK\r\n\
                     1,A,,2,2010-12-01 08:26:00,1.5,7.0,UK";
        let parsed = parse_chunk(chunk.as_bytes(), &map, &options).unwrap();
        let batch = parsed.batch;
        assert_eq!(batch.num_rows(), 4);
        assert_eq!(parsed.newlines, 6);
        let descriptions: Vec<Option<&str>> = batch.column(2).as_string::<i32>().iter().collect();
        assert_eq!(
            descriptions,
            [Some("plain"), Some("plain"), Some("a, \"b\"\nc"), None]
        );
        let countries: Vec<Option<&str>> = batch.column(7).as_string::<i32>().iter().collect();
        assert_eq!(countries, [Some("UK"); 4]);
        assert_eq!(batch.column(6).null_count(), 1);

        let error = parse_chunk(b"1,A,x,2\n\"1\",A,x,2\n", &map, &options).unwrap_err();
        assert_eq!(
            (error.line, error.reason.as_str()),
            (0, "expected 8 fields, found 4")
        );
        let error = parse_chunk(b"\n\n\"1\",A,x,2\n", &map, &options).unwrap_err();
        assert_eq!(error.line, 2);
    }

    #[test]
    fn record_scan_finds_the_last_record_end_however_bytes_arrive() {
        let text = b"a,\"x\ny\",1\nb,\"q\"\"\",2\nc,\"d\n\n\",3\ne,f,4\n\"g\nh";
        for step in 1..text.len() {
            let mut scan = RecordScan::default();
            let mut buffer = Vec::new();
            for piece in text.chunks(step) {
                buffer.extend_from_slice(piece);
                let expected = record_ends(&buffer).last().unwrap_or(0);
                assert_eq!(scan.advance(&buffer), expected, "step {step}");
            }
            // Whole records leave; the scan carries on from the rest.
            let end = scan.advance(&buffer);
            buffer.drain(..end);
            scan.drained(end);
            buffer.extend_from_slice(b"\"\n1\n");
            assert_eq!(scan.advance(&buffer), buffer.len());
        }
    }

    #[test]
    fn splits_only_outside_quotes() {
        let text = b"a,\"x\ny\",1\nb,\"q\"\"\",2\nc,d,3\n";
        for target in 1..text.len() {
            let pieces = split_records(text, target);
            let joined: Vec<u8> = pieces
                .iter()
                .flat_map(|r| text[r.clone()].to_vec())
                .collect();
            assert_eq!(joined, text);
            for piece in &pieces {
                let s = &text[piece.clone()];
                assert_eq!(memchr::memchr_iter(b'"', s).count() % 2, 0, "{target}");
                assert!(s.ends_with(b"\n"));
            }
        }
        assert_eq!(record_ends(b"a,\"x\ny").last(), None);
        assert_eq!(record_ends(b"a,b\nc,\"x\ny").last(), Some(4));
        assert_eq!(record_ends(b"a,\"b\nc\"\nd").next(), Some(8));
    }
}
