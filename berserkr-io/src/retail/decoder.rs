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
    ArrayRef, Float64Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
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
struct Builders {
    invoice: StringBuilder,
    stock_code: StringBuilder,
    description: StringBuilder,
    quantity: Int64Builder,
    date: TimestampMicrosecondBuilder,
    price: Float64Builder,
    customer: Int64Builder,
    country: StringBuilder,
}

impl Builders {
    fn new(rows: usize, bytes: usize) -> Self {
        let text = |share: usize| StringBuilder::with_capacity(rows, bytes / share);
        Self {
            invoice: text(6),
            stock_code: text(8),
            description: text(2),
            quantity: Int64Builder::with_capacity(rows),
            date: TimestampMicrosecondBuilder::with_capacity(rows),
            price: Float64Builder::with_capacity(rows),
            customer: Int64Builder::with_capacity(rows),
            country: text(6),
        }
    }

    fn finish(mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.invoice.finish()),
            Arc::new(self.stock_code.finish()),
            Arc::new(self.description.finish()),
            Arc::new(self.quantity.finish()),
            Arc::new(self.date.finish()),
            Arc::new(self.price.finish()),
            Arc::new(self.customer.finish()),
            Arc::new(self.country.finish()),
        ];
        Ok(RecordBatch::try_new(schema(), columns)?)
    }
}

/// One row's values, checked before any is appended so that a bad row
/// leaves no trace in the builders.
struct Row<'a> {
    invoice: &'a str,
    stock_code: &'a str,
    description: Option<&'a str>,
    quantity: i64,
    date: i64,
    price: f64,
    customer: Option<i64>,
    country: &'a str,
}

fn text(value: &[u8], column: Column) -> Result<&str, (Column, String)> {
    std::str::from_utf8(value).map_err(|e| (column, format!("invalid UTF-8: {e}")))
}

fn required(value: &[u8], column: Column) -> Result<&str, (Column, String)> {
    let value = text(value, column)?;
    if value.is_empty() {
        Err((column, "empty value".to_string()))
    } else {
        Ok(value)
    }
}

fn with<T>(column: Column, result: Result<T, String>) -> Result<T, (Column, String)> {
    result.map_err(|reason| (column, reason))
}

fn parse_row<'a>(
    field: impl Fn(Column) -> &'a [u8],
    style: DateStyle,
) -> Result<Row<'a>, (Column, String)> {
    let description = text(field(Column::Description), Column::Description)?;
    let customer = field(Column::CustomerId);
    Ok(Row {
        invoice: required(field(Column::InvoiceNo), Column::InvoiceNo)?,
        stock_code: required(field(Column::StockCode), Column::StockCode)?,
        description: (!description.is_empty()).then_some(description),
        quantity: with(
            Column::Quantity,
            fields::parse_integer(field(Column::Quantity)),
        )?,
        date: with(
            Column::InvoiceDate,
            fields::parse_date(field(Column::InvoiceDate), style),
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
        country: text(field(Column::Country), Column::Country)?,
    })
}

/// Number of `\n` in `bytes`.
fn count_newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Parses the complete records in `bytes` (the final one may lack its line
/// terminator). Lines in the result are relative to the chunk's first line.
fn parse_chunk(bytes: &[u8], map: &ColumnMap, options: &Options) -> Result<Parsed, Malformed> {
    let estimated_rows = bytes.len() / 80 + 16;
    let mut builders = Builders::new(estimated_rows, bytes.len());
    let mut reader = csv_core::Reader::new();
    let mut output = vec![0u8; 1024];
    let mut ends = vec![0usize; map.fields.max(8) + 8];
    let (mut pos, mut out_len, mut ends_len) = (0usize, 0usize, 0usize);
    let mut record_start = 0usize;
    let mut line = 0u64;
    let mut malformed = Vec::new();
    let mut malformed_count = 0u64;
    loop {
        let (result, read, written, ended) =
            reader.read_record(&bytes[pos..], &mut output[out_len..], &mut ends[ends_len..]);
        pos += read;
        out_len += written;
        ends_len += ended;
        match result {
            // At the end of `bytes` the next call passes an empty slice,
            // which is how csv-core learns that the input has ended.
            ReadRecordResult::InputEmpty => continue,
            ReadRecordResult::OutputFull => {
                output.resize(output.len() * 2, 0);
                continue;
            }
            ReadRecordResult::OutputEndsFull => {
                ends.resize(ends.len() * 2, 0);
                continue;
            }
            ReadRecordResult::Record => {}
            ReadRecordResult::End => break,
        }
        // A record: the raw bytes it took decide its line number.
        let raw = &bytes[record_start..pos];
        let leading = raw
            .iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64;
        let record_line = line + leading;
        line += count_newlines(raw);
        record_start = pos;
        let record_ends = &ends[..ends_len];
        let result = if record_ends.len() != map.fields {
            Err((
                None,
                format!(
                    "expected {} fields, found {}",
                    map.fields,
                    record_ends.len()
                ),
            ))
        } else {
            let field = |column: Column| {
                let i = map.index[column as usize];
                let start = if i == 0 { 0 } else { record_ends[i - 1] };
                &output[start..record_ends[i]]
            };
            parse_row(field, options.date_style).map_err(|(c, e)| (Some(c), e))
        };
        out_len = 0;
        ends_len = 0;
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
                    line: record_line,
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
    let batch = builders.finish().map_err(|e| Malformed {
        line,
        column: "<batch>".to_string(),
        reason: e.to_string(),
    })?;
    Ok(Parsed {
        batch,
        newlines: count_newlines(bytes),
        malformed,
        malformed_count,
    })
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
        let threads = if self.options.parallel {
            rayon::current_num_threads()
        } else {
            1
        };
        if self.map.is_none() {
            self.read_header(false)?;
        }
        if self.map.is_some() && self.pending.len() >= self.options.chunk_bytes * threads {
            let end = record_ends(&self.pending).last().unwrap_or(0);
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
        let target = (bytes.len() / threads).clamp(64 * 1024, self.options.chunk_bytes.max(1));
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
