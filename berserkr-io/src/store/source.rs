//! Every object of a location as Online Retail batches: fetched as byte
//! streams, a few objects at a time, decoded off the async threads, and
//! yielded in object order.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use bytes::Bytes;
use futures::future;
use futures::stream::{self, BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use tokio::sync::mpsc;
use tokio::task::{JoinError, JoinHandle};

use crate::error::{Error, Result};
use crate::lzo;
use crate::retail::{self, ReadReport, ReaderBuilder};
use crate::store::Location;

/// Fetched bytes handed to the decoder at a time: enough to make the trip
/// to a blocking thread cheap next to the work done there.
pub(super) const FEED_BYTES: usize = 1 << 20;

/// The length of the lzop magic, which tells lzop from plain CSV.
const LZOP_MAGIC_LEN: usize = 9;

/// Batches an object may decode ahead of the consumer.
const BATCHES_AHEAD: usize = 2;

/// Reads every object at a [`Location`] (or matching a glob below it) as
/// Online Retail CSV, plain or lzop-compressed.
///
/// Each object is streamed from the store, 1 MiB at a time and never
/// through a temporary file (an object of 1 MiB or less is fetched in one
/// piece), into [`lzo::Decoder`] when its first bytes are the lzop magic,
/// whatever its name, and then into the Online Retail push decoder
/// ([`ReaderBuilder::build_decoder`]); the decoding runs on
/// Tokio's blocking threads, so the async threads stay free for I/O. Up to
/// [`with_concurrency`](Self::with_concurrency) objects are fetched and
/// decoded at once, but batches come out in object order (sorted by path),
/// so the result is the same at any concurrency. An error names the object
/// it happened in, and ends the stream.
///
/// | option | default | purpose |
/// |---|---|---|
/// | [`with_glob`](Self::with_glob) | none: every object below the location, or the location itself | which objects to read |
/// | [`with_options`](Self::with_options) | [`ReaderBuilder::new`] | batch size, malformed rows, date style |
/// | [`with_concurrency`](Self::with_concurrency) | available parallelism | objects in flight |
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), berserkr_io::Error> {
/// use berserkr_io::retail::ReaderBuilder;
/// use berserkr_io::store::{Location, RetailSource};
/// use futures::TryStreamExt;
///
/// let days = Location::parse("memory://docs-source/by-day")?;
/// for (day, quantity) in [("2010-12-01", "6"), ("2010-12-02", "six")] {
///     let csv = format!(
///         "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
///          536365,85123A,,{quantity},{day} 08:26:00,2.55,17850.0,United Kingdom\n"
///     );
///     days.join(&format!("{day}.csv.lzo"))
///         .put(berserkr_io::lzo::compress(csv.as_bytes())?.into())
///         .await?;
/// }
///
/// // Strict: the bad row is an error naming the object and the line.
/// let strict = RetailSource::new(days.clone()).with_glob("*.csv.lzo").open().await?;
/// let error = strict.try_collect::<Vec<_>>().await.unwrap_err();
/// assert_eq!(
///     error.to_string(),
///     "memory://docs-source/by-day/2010-12-02.csv.lzo: line 2, column \"Quantity\": \"six\" is not an integer"
/// );
///
/// // Lenient, one object at a time, with progress.
/// let mut lenient = RetailSource::new(days)
///     .with_glob("*.csv.lzo")
///     .with_options(ReaderBuilder::new().with_skip_malformed(true))
///     .with_concurrency(1)
///     .open()
///     .await?;
/// assert_eq!(lenient.progress().objects_total, 2);
/// while let Some(batch) = lenient.try_next().await? {
///     let object = lenient.last_object().expect("a batch comes from an object");
///     assert_eq!(object.location.as_ref(), "by-day/2010-12-01.csv.lzo");
///     assert_eq!(batch.num_rows(), 1);
/// }
/// assert_eq!(lenient.report().malformed_rows, 1);
/// assert_eq!(lenient.progress().bytes_read, lenient.progress().bytes_total);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RetailSource {
    location: Location,
    glob: Option<String>,
    options: ReaderBuilder,
    concurrency: usize,
}

impl RetailSource {
    /// Reads the objects at or below `location`.
    pub fn new(location: Location) -> Self {
        Self {
            location,
            glob: None,
            options: ReaderBuilder::new(),
            concurrency: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// Reads only the objects below the location whose relative path
    /// matches `glob` (default: every object; see [`Location::list`]).
    pub fn with_glob(mut self, glob: impl Into<String>) -> Self {
        self.glob = Some(glob.into());
        self
    }

    /// How to read the CSV (default [`ReaderBuilder::new`]). Its batch size,
    /// malformed-row policy, date style and parallelism apply to every
    /// object.
    pub fn with_options(mut self, options: ReaderBuilder) -> Self {
        self.options = options;
        self
    }

    /// Most objects fetched and decoded at once (default: the available
    /// parallelism; at least 1).
    pub fn with_concurrency(mut self, objects: usize) -> Self {
        self.concurrency = objects.max(1);
        self
    }

    /// Lists the objects (an [`Error::NoMatch`] if there are none) and
    /// returns the stream of their batches. Nothing is fetched until the
    /// stream is polled, which must be done inside a Tokio runtime.
    pub async fn open(self) -> Result<RetailStream> {
        let objects = self.location.list(self.glob.as_deref()).await?;
        Ok(RetailStream::new(
            &self.location,
            objects,
            self.options,
            self.concurrency,
        ))
    }
}

/// How far a [`RetailStream`] has got, for a progress bar.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Objects whose batches have all been yielded.
    pub objects_done: u64,
    /// Objects to read.
    pub objects_total: u64,
    /// Bytes fetched from the store so far (as stored, so compressed for
    /// lzop), including objects still in flight.
    pub bytes_read: u64,
    /// The stored size of all the objects.
    pub bytes_total: u64,
}

/// What an object's task sends to the stream.
#[derive(Debug)]
enum Message {
    Batch(RecordBatch),
    /// The object is finished; nothing follows.
    Done(ReadReport),
}

/// The batches of every object of a [`RetailSource`], in object order;
/// a [`Stream`] of `Result<RecordBatch>`.
///
/// Dropping it stops the objects in flight.
pub struct RetailStream {
    objects: Arc<[ObjectMeta]>,
    inner: BoxStream<'static, Result<(usize, Message)>>,
    report: ReadReport,
    bytes_read: Arc<AtomicU64>,
    bytes_total: u64,
    objects_done: u64,
    last_object: Option<usize>,
}

impl fmt::Debug for RetailStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetailStream")
            .field("objects", &self.objects.len())
            .field("progress", &self.progress())
            .finish_non_exhaustive()
    }
}

impl RetailStream {
    fn new(
        location: &Location,
        objects: Vec<ObjectMeta>,
        options: ReaderBuilder,
        concurrency: usize,
    ) -> Self {
        let objects: Arc<[ObjectMeta]> = objects.into();
        let bytes_total = objects.iter().map(|object| object.size).sum();
        let bytes_read = Arc::new(AtomicU64::new(0));
        let jobs = {
            let objects = Arc::clone(&objects);
            let location = location.clone();
            let bytes_read = Arc::clone(&bytes_read);
            stream::iter(0..objects.len()).map(move |index| {
                let path = objects[index].location.clone();
                let job = Job {
                    store: Arc::clone(location.store()),
                    name: location.with_path(path.clone()).to_string(),
                    path,
                    options: options.clone(),
                    bytes_read: Arc::clone(&bytes_read),
                };
                // The object's task starts here, when `buffered` takes the
                // object into its queue of at most `concurrency`, and the
                // queue moves on only as objects are yielded in order;
                // this bounds the objects in flight.
                future::ready(object_messages(index, job))
            })
        };
        Self {
            objects,
            inner: jobs.buffered(concurrency).flatten().boxed(),
            report: ReadReport::default(),
            bytes_read,
            bytes_total,
            objects_done: 0,
            last_object: None,
        }
    }

    /// The schema of every batch: [`retail::schema`].
    pub fn schema(&self) -> SchemaRef {
        retail::schema()
    }

    /// The objects being read, in the order their batches come.
    pub fn objects(&self) -> &[ObjectMeta] {
        &self.objects
    }

    /// What the objects finished so far held: their rows, CSV bytes and
    /// malformed rows, merged.
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// How far the stream has got.
    pub fn progress(&self) -> Progress {
        Progress {
            objects_done: self.objects_done,
            objects_total: self.objects.len() as u64,
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_total: self.bytes_total,
        }
    }

    /// The object the last batch yielded came from (an object with no rows
    /// yields no batch).
    pub fn last_object(&self) -> Option<&ObjectMeta> {
        self.last_object.map(|index| &self.objects[index])
    }
}

impl Stream for RetailStream {
    type Item = Result<RecordBatch>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match ready!(self.inner.poll_next_unpin(cx)) {
                None => return Poll::Ready(None),
                Some(Ok((index, Message::Batch(batch)))) => {
                    self.last_object = Some(index);
                    return Poll::Ready(Some(Ok(batch)));
                }
                Some(Ok((_, Message::Done(report)))) => {
                    self.report.merge(report);
                    self.objects_done += 1;
                }
                Some(Err(error)) => {
                    // Stop every object in flight; the stream ends here.
                    self.inner = stream::empty().boxed();
                    return Poll::Ready(Some(Err(error)));
                }
            }
        }
    }
}

/// What an object's task needs.
#[derive(Debug)]
struct Job {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    /// The object as errors name it.
    name: String,
    options: ReaderBuilder,
    bytes_read: Arc<AtomicU64>,
}

/// A task that is aborted when dropped, so that dropping the stream stops
/// the objects in flight.
#[derive(Debug)]
struct Task(JoinHandle<()>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts reading one object; its messages, ending with `Done` or an error.
fn object_messages(index: usize, job: Job) -> BoxStream<'static, Result<(usize, Message)>> {
    let (sender, receiver) = mpsc::channel(BATCHES_AHEAD);
    let name = job.name.clone();
    let task = Task(tokio::spawn(read_object(job, sender)));
    stream::unfold(Some((receiver, task)), move |state| {
        let name = name.clone();
        async move {
            let (mut receiver, mut task) = state?;
            match receiver.recv().await {
                Some(Ok(message)) => {
                    let done = matches!(message, Message::Done(_));
                    Some((Ok((index, message)), (!done).then_some((receiver, task))))
                }
                Some(Err(error)) => Some((Err(error), None)),
                // The task ended without a word: it panicked, or the runtime
                // is shutting down.
                None => match (&mut task.0).await {
                    Ok(()) => None,
                    Err(error) => Some((Err(join_error(&name, error)), None)),
                },
            }
        }
    })
    .boxed()
}

/// A task that failed to finish: its panic goes on, a cancellation is an
/// error.
fn join_error(object: &str, error: JoinError) -> Error {
    if error.is_panic() {
        std::panic::resume_unwind(error.into_panic());
    }
    Error::io(object, std::io::Error::other(error))
}

/// Reads one object, sending its batches, then its report or an error.
async fn read_object(job: Job, sender: mpsc::Sender<Result<Message>>) {
    if let Err(error) = decode_object(&job, &sender).await {
        // The stream may be gone already; then nobody needs the error.
        let _ = sender.send(Err(in_object(error, &job.name))).await;
    }
}

async fn decode_object(job: &Job, sender: &mpsc::Sender<Result<Message>>) -> Result<()> {
    let object = job.store.get(&job.path).await?;
    // An object that would be decoded in one piece anyway is fetched in
    // one piece: the local file system streams in 8 KiB reads, each a trip
    // to a blocking thread.
    let mut bytes = if object.meta.size <= FEED_BYTES as u64 {
        stream::once(object.bytes()).boxed()
    } else {
        object.into_stream()
    };
    let mut decoder = ObjectDecoder::new(job.options.build_decoder(job.name.clone()));
    loop {
        let mut chunks = Vec::new();
        let mut size = 0;
        let mut end = false;
        while size < FEED_BYTES {
            match bytes.try_next().await? {
                Some(chunk) => {
                    job.bytes_read
                        .fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    size += chunk.len();
                    chunks.push(chunk);
                }
                None => {
                    end = true;
                    break;
                }
            }
        }
        let (returned, decoded) = tokio::task::spawn_blocking(move || {
            let decoded = decoder.feed(&chunks, end);
            (decoder, decoded)
        })
        .await
        .map_err(|error| join_error(&job.name, error))?;
        decoder = returned;
        let (batches, report) = decoded?;
        for batch in batches {
            if sender.send(Ok(Message::Batch(batch))).await.is_err() {
                return Ok(());
            }
        }
        if let Some(report) = report {
            // Ignored if the stream is gone: nobody is waiting.
            let _ = sender.send(Ok(Message::Done(report))).await;
            return Ok(());
        }
    }
}

/// `error`, naming `object` unless it already does.
fn in_object(error: Error, object: &str) -> Error {
    match error {
        Error::MalformedRow { .. }
        | Error::MissingColumn { .. }
        | Error::Io { .. }
        | Error::InObject { .. } => error,
        other => Error::InObject {
            object: object.to_string(),
            source: Box::new(other),
        },
    }
}

/// Whether an object is lzop or plain CSV, once its first bytes are in.
#[derive(Debug)]
enum Container {
    Unknown,
    Plain,
    Lzop(Box<lzo::Decoder>),
}

/// One object's decoders: lzop (if the object is lzop) and then CSV.
#[derive(Debug)]
struct ObjectDecoder {
    container: Container,
    csv: retail::Decoder,
    /// The first bytes, until there are enough to tell lzop from CSV.
    head: Vec<u8>,
    /// Decompressed bytes on their way to the CSV decoder.
    scratch: Vec<u8>,
}

impl ObjectDecoder {
    fn new(csv: retail::Decoder) -> Self {
        Self {
            container: Container::Unknown,
            csv,
            head: Vec::new(),
            scratch: Vec::new(),
        }
    }

    /// Decodes `chunks`, and finishes the object if `end`; returns the
    /// batches ready, and the object's report when finished.
    fn feed(
        &mut self,
        chunks: &[Bytes],
        end: bool,
    ) -> Result<(Vec<RecordBatch>, Option<ReadReport>)> {
        for chunk in chunks {
            self.push(chunk)?;
        }
        if end {
            if matches!(self.container, Container::Unknown) {
                self.decide()?;
            }
            if let Container::Lzop(lzop) = &mut self.container {
                lzop.finish()?;
            }
            self.csv.finish()?;
        }
        let batches = std::iter::from_fn(|| self.csv.next_batch()).collect();
        Ok((batches, end.then(|| copy_report(self.csv.report()))))
    }

    fn push(&mut self, bytes: &[u8]) -> Result<()> {
        match &mut self.container {
            Container::Unknown => {
                self.head.extend_from_slice(bytes);
                if self.head.len() >= LZOP_MAGIC_LEN {
                    self.decide()?;
                }
                Ok(())
            }
            Container::Plain => self.csv.decode(bytes),
            Container::Lzop(lzop) => {
                self.scratch.clear();
                lzop.decode(bytes, &mut self.scratch)?;
                if self.scratch.is_empty() {
                    Ok(())
                } else {
                    self.csv.decode(&self.scratch)
                }
            }
        }
    }

    /// Tells lzop from CSV by the first bytes and decodes them.
    fn decide(&mut self) -> Result<()> {
        self.container = if lzo::is_lzop(&self.head) {
            Container::Lzop(Box::default())
        } else {
            Container::Plain
        };
        let head = std::mem::take(&mut self.head);
        self.push(&head)
    }
}

/// A copy of `report` (which is not `Clone`, as it holds errors; the
/// examples it holds are all malformed rows).
fn copy_report(report: &ReadReport) -> ReadReport {
    ReadReport {
        objects: report.objects,
        bytes: report.bytes,
        rows: report.rows,
        malformed_rows: report.malformed_rows,
        malformed_examples: report
            .malformed_examples
            .iter()
            .filter_map(|example| match example {
                Error::MalformedRow {
                    object,
                    line,
                    column,
                    reason,
                } => Some(Error::MalformedRow {
                    object: object.clone(),
                    line: *line,
                    column: column.clone(),
                    reason: reason.clone(),
                }),
                _ => None,
            })
            .collect(),
    }
}
