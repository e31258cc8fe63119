//! An all-or-nothing writer of one object, over `object_store`'s
//! `BufWriter`.

use bytes::Bytes;
use object_store::buffered::BufWriter;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};
use crate::store::Location;

/// Writes one object in pieces, all or nothing; made by
/// [`Location::writer`].
///
/// Up to its capacity the bytes are buffered and written with a single
/// put when the writer [finishes](Self::finish); beyond it they become a
/// multipart upload (object_store's [`BufWriter`], which also bounds the
/// parts in flight and retries failed requests). Until `finish` returns
/// `Ok`, nothing appears under the object's name:
///
/// - a [`put`](Self::put) or [`write`](Self::write) that fails aborts the
///   upload, and every later call is an error;
/// - [`abort`](Self::abort) discards what was written;
/// - dropping the writer never completes the upload. On the local file
///   system the staging file is removed; on S3 the parts already uploaded
///   stay, invisible, until a lifecycle rule expires them, so prefer
///   `abort` when you can.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), berserkr_io::Error> {
/// use berserkr_io::store::Location;
///
/// let output = Location::parse("memory://docs-writer/out/report.csv")?;
/// let mut writer = output.writer_with_capacity(8);
/// writer.write(b"InvoiceNo,Quantity\n").await?; // above 8 bytes: multipart
/// writer.write(b"536365,6\n").await?;
/// assert!(output.get().await.is_err()); // not there until finished
/// assert_eq!(writer.finish().await?, 28);
/// assert_eq!(output.get().await?.as_ref(), b"InvoiceNo,Quantity\n536365,6\n");
///
/// let aborted = Location::parse("memory://docs-writer/out/aborted.csv")?;
/// let mut writer = aborted.writer();
/// writer.write(b"half a file").await?;
/// writer.abort().await?;
/// assert!(aborted.get().await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct ObjectWriter {
    /// `None` once finished, aborted or failed.
    inner: Option<BufWriter>,
    object: String,
    written: u64,
}

impl ObjectWriter {
    pub(crate) fn new(location: &Location, capacity: usize) -> Self {
        Self {
            inner: Some(BufWriter::with_capacity(
                location.store().clone(),
                location.path().clone(),
                capacity,
            )),
            object: location.to_string(),
            written: 0,
        }
    }

    /// Appends `bytes` without copying them.
    pub async fn put(&mut self, bytes: Bytes) -> Result<()> {
        let len = bytes.len() as u64;
        let inner = self.inner.as_mut().ok_or_else(|| closed(&self.object))?;
        match inner.put(bytes).await {
            Ok(()) => {
                self.written += len;
                Ok(())
            }
            Err(error) => {
                self.fail().await;
                Err(error.into())
            }
        }
    }

    /// Appends a copy of `bytes`.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.put(Bytes::copy_from_slice(bytes)).await
    }

    /// The bytes accepted so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// Completes the object (the single put, or the multipart upload's
    /// completion) and returns its size. If that fails, the upload is
    /// aborted and nothing is left under the name.
    pub async fn finish(mut self) -> Result<u64> {
        let mut inner = self.inner.take().ok_or_else(|| closed(&self.object))?;
        inner
            .shutdown()
            .await
            .map_err(|error| from_io(&self.object, error))?;
        Ok(self.written)
    }

    /// Discards everything written, cleaning up any parts already uploaded.
    pub async fn abort(mut self) -> Result<()> {
        match self.inner.take() {
            Some(mut inner) => Ok(inner.abort().await?),
            None => Ok(()),
        }
    }

    /// Aborts after a failure, keeping the first error as the one reported.
    async fn fail(&mut self) {
        if let Some(mut inner) = self.inner.take() {
            // The write already failed; a failure to clean up as well
            // would only hide the first error.
            let _ = inner.abort().await;
        }
    }
}

/// The error for a call on a writer that has already failed.
fn closed(object: &str) -> Error {
    Error::io(
        object,
        std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "an earlier write to this object failed and its upload was aborted",
        ),
    )
}

/// Recovers the `object_store` error that `BufWriter`'s `AsyncWrite`
/// wrapped in an `io::Error`.
fn from_io(object: &str, error: std::io::Error) -> Error {
    if !error
        .get_ref()
        .is_some_and(|inner| inner.is::<object_store::Error>())
    {
        return Error::io(object, error);
    }
    let kind = error.kind();
    match error
        .into_inner()
        .map(|inner| inner.downcast::<object_store::Error>())
    {
        Some(Ok(store)) => Error::Store(*store),
        Some(Err(other)) => Error::io(object, std::io::Error::new(kind, other)),
        None => Error::io(object, std::io::Error::from(kind)),
    }
}
