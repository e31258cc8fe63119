//! The clean table as Parquet, in any object store, plain or wrapped in the
//! lzop container (`.parquet.lzo`).
//!
//! Writing goes through `parquet`'s [`AsyncArrowWriter`] into an
//! [`object_store`] upload, so a large table becomes a multipart upload and
//! nothing but the finished file ever appears under the final name: a write
//! that fails is aborted, and one that is dropped half way never completes
//! its upload. Files are zstd-compressed by default
//! ([`WriterBuilder::with_compression`] picks another codec).
//!
//! Reading ([`ReaderBuilder`]) projects columns and, given a time range,
//! skips every row group whose statistics show it lies outside the range
//! before fetching it, then filters the rows of the groups it does read.
//! Whether a file is plain Parquet or lzop-wrapped is decided by its first
//! bytes, not its name.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), berserkr_io::Error> {
//! use std::sync::Arc;
//! use arrow::array::{Int64Array, RecordBatch, TimestampMicrosecondArray};
//! use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! use berserkr_io::parquet::{ReaderBuilder, WriterBuilder};
//! use futures::TryStreamExt;
//! use object_store::{memory::InMemory, path::Path, ObjectStore};
//!
//! let schema = Arc::new(Schema::new(vec![
//!     Field::new("InvoiceDate", DataType::Timestamp(TimeUnit::Microsecond, None), false),
//!     Field::new("Quantity", DataType::Int64, false),
//! ]));
//! let day = 86_400_000_000_i64;
//! let batch = RecordBatch::try_new(schema.clone(), vec![
//!     Arc::new(TimestampMicrosecondArray::from(vec![0, day, 2 * day, 3 * day])),
//!     Arc::new(Int64Array::from(vec![1, 2, 3, 4])),
//! ])?;
//!
//! let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
//! let path = Path::from("clean/transactions.parquet.lzo");
//! let mut writer = WriterBuilder::new()
//!     .with_max_row_group_size(2)
//!     .with_lzop(true)
//!     .build(store.clone(), path.clone(), schema)
//!     .await?;
//! writer.write(&batch).await?;
//! let written = writer.finish().await?;
//! assert_eq!((written.rows, written.row_groups), (4, 2));
//!
//! // Days 2 and 3 only, Quantity only: the first row group is not read.
//! let start = chrono::DateTime::from_timestamp_micros(2 * day).unwrap().naive_utc();
//! let end = chrono::DateTime::from_timestamp_micros(4 * day).unwrap().naive_utc();
//! let read = ReaderBuilder::new()
//!     .with_projection(["Quantity"])
//!     .with_time_range(Some(start), Some(end))
//!     .open(store, &path)
//!     .await?;
//! assert_eq!(read.row_groups_selected(), 1);
//! let batches: Vec<RecordBatch> = read.try_collect().await?;
//! assert_eq!(batches[0].num_columns(), 1);
//! assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
//! # Ok(())
//! # }
//! ```

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use arrow::compute::kernels::cmp::{gt_eq, lt};
use arrow::compute::{and, cast};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use bytes::Bytes;
use chrono::NaiveDateTime;
use futures::future::{BoxFuture, FutureExt, TryFutureExt};
use futures::stream::{BoxStream, Stream, StreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::arrow_reader::{
    ArrowPredicateFn, ArrowReaderBuilder, ParquetRecordBatchReaderBuilder, RowFilter,
};
use parquet::arrow::async_reader::{
    AsyncFileReader, MetadataSuffixFetch, ParquetRecordBatchStreamBuilder,
};
use parquet::arrow::{ArrowWriter, AsyncArrowWriter};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use parquet::file::properties::{WriterProperties, WriterPropertiesBuilder};
use std::ops::Range;

pub use parquet::basic::{Compression, ZstdLevel};

use crate::error::{Error, Result};
use crate::lzo;

/// The default number of rows in a row group: small enough that a date
/// range over a year of transactions skips most groups, large enough that
/// zstd and dictionary encoding pay.
pub const DEFAULT_ROW_GROUP_SIZE: usize = 64 * 1024;

/// The column a time range filters on unless told otherwise.
pub const DEFAULT_TIME_COLUMN: &str = "InvoiceDate";

/// Options for writing Parquet.
///
/// | option | default |
/// |---|---|
/// | [`with_compression`](Self::with_compression) | zstd, level 3 |
/// | [`with_max_row_group_size`](Self::with_max_row_group_size) | [`DEFAULT_ROW_GROUP_SIZE`] |
/// | [`with_lzop`](Self::with_lzop) | `false`: plain Parquet |
/// | [`with_lzop_options`](Self::with_lzop_options) | [`lzo::WriterBuilder::new`] |
#[derive(Debug, Clone)]
pub struct WriterBuilder {
    compression: Compression,
    max_row_group_size: usize,
    lzop: Option<lzo::WriterBuilder>,
}

impl Default for WriterBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl WriterBuilder {
    /// zstd-compressed plain Parquet with [`DEFAULT_ROW_GROUP_SIZE`] rows a group.
    pub fn new() -> Self {
        Self {
            compression: Compression::ZSTD(ZstdLevel::default()),
            max_row_group_size: DEFAULT_ROW_GROUP_SIZE,
            lzop: None,
        }
    }

    /// The codec for column chunks (`Compression::SNAPPY`, `LZ4_RAW`,
    /// `GZIP(_)`, `BROTLI(_)`, `ZSTD(_)` or `UNCOMPRESSED`).
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// At most this many rows in a row group (the unit a time range skips).
    pub fn with_max_row_group_size(mut self, rows: usize) -> Self {
        self.max_row_group_size = rows;
        self
    }

    /// Wraps the Parquet file in the lzop container (`.parquet.lzo`).
    pub fn with_lzop(mut self, lzop: bool) -> Self {
        self.lzop = lzop.then(|| self.lzop.take().unwrap_or_default());
        self
    }

    /// Wraps the Parquet file in the lzop container written with `options`.
    pub fn with_lzop_options(mut self, options: lzo::WriterBuilder) -> Self {
        self.lzop = Some(options);
        self
    }

    fn properties(&self) -> Result<WriterProperties> {
        if self.max_row_group_size == 0 {
            return Err(Error::InvalidOption {
                option: "max_row_group_size",
                reason: "a row group holds at least one row".into(),
            });
        }
        let builder: WriterPropertiesBuilder = WriterProperties::builder()
            .set_compression(self.compression)
            .set_max_row_group_row_count(Some(self.max_row_group_size));
        Ok(builder.build())
    }

    /// Starts writing `schema`'s batches to `path` in `store`.
    ///
    /// Nothing appears under `path` until [`Writer::finish`] succeeds.
    pub async fn build(
        self,
        store: Arc<dyn ObjectStore>,
        path: Path,
        schema: SchemaRef,
    ) -> Result<Writer> {
        let properties = self.properties()?;
        let target = match self.lzop {
            None => {
                let upload = BufWriter::new(store, path.clone());
                Target::Plain(AsyncArrowWriter::try_new(upload, schema, Some(properties))?)
            }
            Some(lzop) => {
                // The container is written as Parquet bytes are produced, so
                // memory holds the compressed file, not the table.
                let container = lzop.build(Vec::new())?;
                Target::Lzop {
                    writer: ArrowWriter::try_new(container, schema, Some(properties))?,
                    store,
                }
            }
        };
        Ok(Writer {
            target: Some(target),
            path,
            rows: 0,
        })
    }
}

/// What [`Writer::finish`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Written {
    /// Rows written.
    pub rows: u64,
    /// Row groups in the file.
    pub row_groups: usize,
    /// Bytes of the object as stored (after lzop, if wrapped).
    pub bytes: u64,
}

enum Target {
    Plain(AsyncArrowWriter<BufWriter>),
    Lzop {
        writer: ArrowWriter<lzo::Writer<Vec<u8>>>,
        store: Arc<dyn ObjectStore>,
    },
}

/// A Parquet file being written; made by [`WriterBuilder::build`].
pub struct Writer {
    /// `None` once finished or aborted.
    target: Option<Target>,
    path: Path,
    rows: u64,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("path", &self.path)
            .field("rows", &self.rows)
            .field("open", &self.target.is_some())
            .finish()
    }
}

impl Writer {
    /// Appends a batch. On error the upload is aborted and the writer is
    /// closed: nothing is left under the final name.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let result = match self.target.as_mut() {
            None => return Err(self.closed()),
            Some(Target::Plain(writer)) => writer.write(batch).await,
            Some(Target::Lzop { writer, .. }) => writer.write(batch),
        };
        match result {
            Ok(()) => {
                self.rows += batch.num_rows() as u64;
                Ok(())
            }
            Err(error) => {
                self.abort().await;
                Err(error.into())
            }
        }
    }

    /// Writes the footer and completes the upload.
    pub async fn finish(mut self) -> Result<Written> {
        let Some(target) = self.target.take() else {
            return Err(self.closed());
        };
        let (row_groups, bytes) = match target {
            Target::Plain(mut writer) => match writer.finish().await {
                Ok(metadata) => (metadata.num_row_groups(), writer.bytes_written() as u64),
                Err(error) => {
                    // Best effort: the error that matters is the write's.
                    let _ = writer.into_inner().abort().await;
                    return Err(error.into());
                }
            },
            Target::Lzop { writer, store } => {
                let (row_groups, container) = finish_lzop(writer)?;
                let bytes = container.len() as u64;
                put(store, &self.path, container).await?;
                (row_groups, bytes)
            }
        };
        Ok(Written {
            rows: self.rows,
            row_groups,
            bytes,
        })
    }

    /// Abandons the file; nothing is left under the final name.
    pub async fn abort(&mut self) {
        if let Some(Target::Plain(writer)) = self.target.take() {
            // Best effort: an upload never completed is never visible.
            let _ = writer.into_inner().abort().await;
        }
    }

    fn closed(&self) -> Error {
        Error::InvalidOption {
            option: "writer",
            reason: format!("the Parquet writer for {} is already closed", self.path),
        }
    }
}

fn finish_lzop(mut writer: ArrowWriter<lzo::Writer<Vec<u8>>>) -> Result<(usize, Bytes)> {
    writer.flush()?;
    let row_groups = writer.flushed_row_groups().len();
    // `into_inner` writes the footer; the container then gets its end marker.
    let container = writer.into_inner()?.finish()?;
    Ok((row_groups, Bytes::from(container)))
}

/// Puts `bytes` at `path` in one atomic request, or as a multipart upload
/// when large (object_store's `BufWriter` decides).
async fn put(store: Arc<dyn ObjectStore>, path: &Path, bytes: Bytes) -> Result<()> {
    let mut upload = BufWriter::new(store, path.clone());
    let result = async {
        upload.put(bytes).await?;
        tokio::io::AsyncWriteExt::shutdown(&mut upload).await
    }
    .await;
    if let Err(error) = result {
        let _ = upload.abort().await;
        return Err(Error::Io {
            path: path.to_string(),
            source: error,
        });
    }
    Ok(())
}

/// Options for reading Parquet.
///
/// | option | default |
/// |---|---|
/// | [`with_projection`](Self::with_projection) | every column |
/// | [`with_time_range`](Self::with_time_range) | no range |
/// | [`with_time_column`](Self::with_time_column) | [`DEFAULT_TIME_COLUMN`] |
/// | [`with_batch_size`](Self::with_batch_size) | 65,536 rows |
#[derive(Debug, Clone)]
pub struct ReaderBuilder {
    projection: Option<Vec<String>>,
    time_column: String,
    start: Option<NaiveDateTime>,
    end: Option<NaiveDateTime>,
    batch_size: usize,
}

impl Default for ReaderBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ReaderBuilder {
    /// Every column, every row.
    pub fn new() -> Self {
        Self {
            projection: None,
            time_column: DEFAULT_TIME_COLUMN.to_owned(),
            start: None,
            end: None,
            batch_size: 64 * 1024,
        }
    }

    /// Only these columns, in the file's order.
    pub fn with_projection<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.projection = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    /// Only rows with `start <= time < end` (either bound may be open).
    /// Times are wall-clock times as stored (the retail schema has no zone).
    pub fn with_time_range(
        mut self,
        start: Option<NaiveDateTime>,
        end: Option<NaiveDateTime>,
    ) -> Self {
        self.start = start;
        self.end = end;
        self
    }

    /// The timestamp column a time range applies to.
    pub fn with_time_column(mut self, column: impl Into<String>) -> Self {
        self.time_column = column.into();
        self
    }

    /// Rows per batch.
    pub fn with_batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows;
        self
    }

    /// Opens `path` in `store`, plain Parquet or `.parquet.lzo` (told apart
    /// by the lzop magic bytes).
    pub async fn open(self, store: Arc<dyn ObjectStore>, path: &Path) -> Result<ParquetStream> {
        let object = path.to_string();
        if self.batch_size == 0 {
            return Err(Error::InvalidOption {
                option: "batch_size",
                reason: "a batch holds at least one row".into(),
            });
        }
        // Nine bytes tell lzop from Parquet (whose files start with `PAR1`).
        let meta = store.head(path).await?;
        let is_lzop = meta.size >= 9 && lzo::is_lzop(&store.get_range(path, 0..9).await?);
        if is_lzop {
            let compressed = store.get(path).await?.bytes().await?;
            let parquet = Bytes::from(lzo::Decompressor::new().decompress(&compressed)?);
            let builder = ParquetRecordBatchReaderBuilder::try_new(parquet)?;
            let configured = self.configure(builder, &object)?;
            let reader = configured.builder.build()?;
            let stream = futures::stream::iter(reader.map(|batch| batch.map_err(Error::from)));
            Ok(ParquetStream {
                inner: stream.boxed(),
                schema: configured.schema,
                row_groups_selected: configured.selected,
                row_groups_total: configured.total,
            })
        } else {
            let reader = ObjectReader {
                store,
                path: path.clone(),
            };
            let builder = ParquetRecordBatchStreamBuilder::new(reader).await?;
            let configured = self.configure(builder, &object)?;
            let stream = configured
                .builder
                .build()?
                .map(|batch| batch.map_err(Error::from));
            Ok(ParquetStream {
                inner: stream.boxed(),
                schema: configured.schema,
                row_groups_selected: configured.selected,
                row_groups_total: configured.total,
            })
        }
    }

    /// Applies projection, row-group skipping and the row filter to either
    /// kind of Parquet reader; returns it with the groups kept and in all.
    fn configure<T>(&self, builder: ArrowReaderBuilder<T>, object: &str) -> Result<Configured<T>> {
        let schema = builder.schema().clone();
        let header = || {
            schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let index_of = |column: &str| {
            schema.index_of(column).map_err(|_| Error::MissingColumn {
                object: object.to_owned(),
                column: column.to_owned(),
                header: header(),
            })
        };
        let mut builder = builder.with_batch_size(self.batch_size);
        let mut projected = schema.clone();
        if let Some(columns) = &self.projection {
            let mut indices = columns
                .iter()
                .map(|c| index_of(c))
                .collect::<Result<Vec<_>>>()?;
            // Parquet yields projected columns in file order.
            indices.sort_unstable();
            indices.dedup();
            projected = Arc::new(schema.project(&indices)?);
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder = builder.with_projection(mask);
        }
        let total = builder.metadata().num_row_groups();
        if self.start.is_none() && self.end.is_none() {
            return Ok(Configured {
                builder,
                schema: projected,
                selected: total,
                total,
            });
        }

        let time_index = index_of(&self.time_column)?;
        let time_type = schema.field(time_index).data_type().clone();
        if !matches!(time_type, DataType::Timestamp(_, _)) {
            return Err(Error::InvalidOption {
                option: "time_column",
                reason: format!(
                    "{object}: column {:?} is {time_type}, not a timestamp",
                    self.time_column
                ),
            });
        }
        let start = self.start.map(|t| t.and_utc().timestamp_micros());
        let end = self.end.map(|t| t.and_utc().timestamp_micros());

        // Skip row groups whose [min, max] misses [start, end); a group
        // without statistics is read.
        let converter =
            StatisticsConverter::try_new(&self.time_column, &schema, builder.parquet_schema())?;
        let groups = builder.metadata().row_groups();
        let mins = micros(&converter.row_group_mins(groups.iter())?)?;
        let maxes = micros(&converter.row_group_maxes(groups.iter())?)?;
        let selected: Vec<usize> = (0..total)
            .filter(|&g| {
                let after_start = match (start, maxes.get(g).copied().flatten()) {
                    (Some(start), Some(max)) => max >= start,
                    _ => true,
                };
                let before_end = match (end, mins.get(g).copied().flatten()) {
                    (Some(end), Some(min)) => min < end,
                    _ => true,
                };
                after_start && before_end
            })
            .collect();
        let kept = selected.len();

        let mask = ProjectionMask::roots(builder.parquet_schema(), [time_index]);
        let predicate = ArrowPredicateFn::new(mask, move |batch: RecordBatch| {
            let times = cast(
                batch.column(0),
                &DataType::Timestamp(TimeUnit::Microsecond, None),
            )?;
            let times = times.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
            let mut keep = BooleanArray::from(vec![true; times.len()]);
            if let Some(start) = start {
                let bound = arrow::array::TimestampMicrosecondArray::new_scalar(start);
                keep = and(&keep, &gt_eq(times, &bound)?)?;
            }
            if let Some(end) = end {
                let bound = arrow::array::TimestampMicrosecondArray::new_scalar(end);
                keep = and(&keep, &lt(times, &bound)?)?;
            }
            Ok(keep)
        });
        let builder = builder
            .with_row_groups(selected)
            .with_row_filter(RowFilter::new(vec![Box::new(predicate)]));
        Ok(Configured {
            builder,
            schema: projected,
            selected: kept,
            total,
        })
    }
}

/// A reader set up by [`ReaderBuilder::configure`].
struct Configured<T> {
    builder: ArrowReaderBuilder<T>,
    schema: SchemaRef,
    selected: usize,
    total: usize,
}

/// Row-group statistics of a timestamp column as microseconds.
fn micros(values: &dyn Array) -> Result<Vec<Option<i64>>> {
    let values = cast(values, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    Ok(values
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
        .iter()
        .collect())
}

/// The batches of a Parquet file, as a [`Stream`]; made by
/// [`ReaderBuilder::open`].
pub struct ParquetStream {
    inner: BoxStream<'static, Result<RecordBatch>>,
    schema: SchemaRef,
    row_groups_selected: usize,
    row_groups_total: usize,
}

impl std::fmt::Debug for ParquetStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetStream")
            .field("row_groups_selected", &self.row_groups_selected)
            .field("row_groups_total", &self.row_groups_total)
            .finish_non_exhaustive()
    }
}

impl ParquetStream {
    /// The schema of the batches (after projection).
    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    /// Row groups that will be read after skipping by time range.
    pub fn row_groups_selected(&self) -> usize {
        self.row_groups_selected
    }

    /// Row groups in the file.
    pub fn row_groups_total(&self) -> usize {
        self.row_groups_total
    }
}

impl Stream for ParquetStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_next_unpin(cx)
    }
}

/// Parquet's view of one object: ranged reads for column chunks, a suffix
/// read for the footer. (The shape `parquet`'s own object_store example
/// recommends now that its `ParquetObjectReader` is deprecated.)
#[derive(Debug, Clone)]
struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: Path,
}

fn to_parquet_error(error: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(error))
}

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.store
            .get_range(&self.path, range)
            .map_err(to_parquet_error)
            .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(to_parquet_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_via_suffix_and_finish(self)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut ObjectReader {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let options = GetOptions {
            range: Some(GetRange::Suffix(suffix as u64)),
            ..Default::default()
        };
        async move {
            let object = self
                .store
                .get_opts(&self.path, options)
                .await
                .map_err(to_parquet_error)?;
            object.bytes().await.map_err(to_parquet_error)
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    use arrow::datatypes::{Field, Schema};
    use futures::TryStreamExt;
    use object_store::local::LocalFileSystem;
    use object_store::memory::InMemory;

    const DAY: i64 = 86_400_000_000;

    fn table(rows: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "InvoiceDate",
                DataType::Timestamp(TimeUnit::Microsecond, None),
                false,
            ),
            Field::new("Quantity", DataType::Int64, false),
            Field::new("StockCode", DataType::Utf8, true),
        ]));
        let rows = rows as i64;
        RecordBatch::try_new(
            schema,
            vec![
                // Ten rows a day, in time order as the clean table is.
                Arc::new(TimestampMicrosecondArray::from_iter_values(
                    (0..rows).map(|i| i / 10 * DAY + i % 10),
                )),
                Arc::new(Int64Array::from_iter_values(0..rows)),
                Arc::new(StringArray::from_iter(
                    (0..rows).map(|i| (i % 7 != 0).then(|| format!("S{}", i % 13))),
                )),
            ],
        )
        .unwrap()
    }

    fn time(micros: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp_micros(micros)
            .unwrap()
            .naive_utc()
    }

    async fn write(
        store: &Arc<dyn ObjectStore>,
        path: &Path,
        builder: WriterBuilder,
        batch: &RecordBatch,
    ) -> Written {
        let mut writer = builder
            .build(store.clone(), path.clone(), batch.schema())
            .await
            .unwrap();
        // In pieces, as a stream of batches arrives.
        for start in (0..batch.num_rows()).step_by(37) {
            let len = 37.min(batch.num_rows() - start);
            writer.write(&batch.slice(start, len)).await.unwrap();
        }
        writer.finish().await.unwrap()
    }

    async fn read(
        store: &Arc<dyn ObjectStore>,
        path: &Path,
        builder: ReaderBuilder,
    ) -> RecordBatch {
        let stream = builder.open(store.clone(), path).await.unwrap();
        let schema = stream.schema();
        let batches: Vec<RecordBatch> = stream.try_collect().await.unwrap();
        arrow::compute::concat_batches(&schema, &batches).unwrap()
    }

    #[tokio::test]
    async fn round_trips_with_every_codec_plain_and_lzop() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let batch = table(1000);
        for compression in [
            Compression::ZSTD(ZstdLevel::default()),
            Compression::SNAPPY,
            Compression::LZ4_RAW,
            Compression::GZIP(Default::default()),
            Compression::BROTLI(Default::default()),
            Compression::UNCOMPRESSED,
        ] {
            for lzop in [false, true] {
                let path = Path::from(format!("t/{compression}-{lzop}.parquet"));
                let builder = WriterBuilder::new()
                    .with_compression(compression)
                    .with_max_row_group_size(300)
                    .with_lzop(lzop);
                let written = write(&store, &path, builder, &batch).await;
                assert_eq!((written.rows, written.row_groups), (1000, 4));
                let stored = store.get(&path).await.unwrap().bytes().await.unwrap();
                assert_eq!(stored.len() as u64, written.bytes);
                assert_eq!(lzo::is_lzop(&stored), lzop);
                assert_eq!(read(&store, &path, ReaderBuilder::new()).await, batch);
            }
        }
    }

    #[tokio::test]
    async fn a_time_range_skips_row_groups_and_filters_rows() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let batch = table(1000); // days 0..100, 100 rows (10 days) a group
        for lzop in [false, true] {
            let path = Path::from(format!("range-{lzop}.parquet"));
            let builder = WriterBuilder::new()
                .with_max_row_group_size(100)
                .with_lzop(lzop);
            write(&store, &path, builder, &batch).await;

            // Days 25 (from its first microsecond) to 41 (exclusive):
            // groups 2, 3 and 4 overlap.
            let (start, end) = (25 * DAY, 41 * DAY);
            let range = ReaderBuilder::new().with_time_range(Some(time(start)), Some(time(end)));
            let stream = range.clone().open(store.clone(), &path).await.unwrap();
            assert_eq!(
                (stream.row_groups_selected(), stream.row_groups_total()),
                (3, 10)
            );
            let got = read(&store, &path, range).await;
            assert_eq!(got.num_rows(), 160);
            assert_eq!(got, batch.slice(250, 160));

            // Open ends, and a projection that leaves out the time column.
            let got = read(
                &store,
                &path,
                ReaderBuilder::new()
                    .with_projection(["Quantity"])
                    .with_time_range(Some(time(95 * DAY + 5)), None),
            )
            .await;
            assert_eq!(got.num_columns(), 1);
            let quantities: Vec<i64> = got
                .column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .values()
                .to_vec();
            assert_eq!(quantities, (955..1000).collect::<Vec<_>>());

            let got = read(
                &store,
                &path,
                ReaderBuilder::new().with_time_range(None, Some(time(0))),
            )
            .await;
            assert_eq!(got.num_rows(), 0);
        }
    }

    #[tokio::test]
    async fn missing_columns_and_bad_time_columns_are_named() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from("t.parquet");
        write(&store, &path, WriterBuilder::new(), &table(10)).await;
        let error = ReaderBuilder::new()
            .with_projection(["Quantity", "CustomerID"])
            .open(store.clone(), &path)
            .await
            .unwrap_err();
        assert!(
            matches!(&error, Error::MissingColumn { object, column, .. } if object == "t.parquet" && column == "CustomerID"),
            "{error}"
        );
        let error = ReaderBuilder::new()
            .with_time_column("Quantity")
            .with_time_range(None, Some(time(0)))
            .open(store.clone(), &path)
            .await
            .unwrap_err();
        assert!(error.to_string().contains("not a timestamp"), "{error}");
        let error = ReaderBuilder::new()
            .open(store.clone(), &Path::from("nowhere.parquet"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::Store(object_store::Error::NotFound { .. })),
            "{error}"
        );
    }

    #[tokio::test]
    async fn corrupt_files_are_errors() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        for lzop in [false, true] {
            let path = Path::from(format!("c-{lzop}.parquet"));
            write(
                &store,
                &path,
                WriterBuilder::new().with_lzop(lzop),
                &table(500),
            )
            .await;
            let mut bytes = store
                .get(&path)
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x40;
            bytes.truncate(bytes.len() - 3);
            store.put(&path, bytes.into()).await.unwrap();
            let result = async {
                let stream = ReaderBuilder::new().open(store.clone(), &path).await?;
                stream.try_collect::<Vec<_>>().await
            }
            .await;
            assert!(result.is_err(), "lzop {lzop}");
        }
    }

    #[tokio::test]
    async fn a_failed_or_abandoned_write_leaves_nothing_under_the_name() {
        let dir = std::env::temp_dir().join(format!("berserkr-parquet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&dir).unwrap());
        let batch = table(200_000);
        for lzop in [false, true] {
            let path = Path::from(format!("out-{lzop}.parquet"));
            // A batch of another schema fails the write half way.
            let mut writer = WriterBuilder::new()
                .with_max_row_group_size(1000)
                .with_lzop(lzop)
                .build(store.clone(), path.clone(), batch.schema())
                .await
                .unwrap();
            writer.write(&batch).await.unwrap();
            let other =
                RecordBatch::try_from_iter([("x", Arc::new(Int64Array::from(vec![1])) as _)])
                    .unwrap();
            assert!(writer.write(&other).await.is_err());
            assert!(
                writer.write(&batch).await.is_err(),
                "closed after a failure"
            );
            assert!(!dir.join(path.as_ref()).exists());

            // Dropped before finish.
            let mut writer = WriterBuilder::new()
                .with_max_row_group_size(1000)
                .with_lzop(lzop)
                .build(store.clone(), path.clone(), batch.schema())
                .await
                .unwrap();
            writer.write(&batch).await.unwrap();
            drop(writer);
            assert!(!dir.join(path.as_ref()).exists());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn bad_options_are_refused() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let error = WriterBuilder::new()
            .with_max_row_group_size(0)
            .build(store.clone(), Path::from("x"), table(1).schema())
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            Error::InvalidOption {
                option: "max_row_group_size",
                ..
            }
        ));
    }
}
