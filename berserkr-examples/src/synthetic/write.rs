//! Generated days written to a store: one object a day, lzop-compressed or
//! plain, generation on one thread while earlier days are compressed and
//! uploaded.

use std::io::Write;

use berserkr_io::lzo;
use berserkr_io::store::Location;
use bytes::Bytes;
use chrono::NaiveDate;
use futures::StreamExt;

use crate::error::Result;
use crate::synthetic::{DayFile, Report, SyntheticRetail};

/// How [`SyntheticRetail::write_to`] writes.
///
/// | option | default | purpose |
/// |---|---|---|
/// | [`with_lzop`](Self::with_lzop) | `true` | `YYYY-MM-DD.csv.lzo` in the lzop container, or plain `YYYY-MM-DD.csv` |
/// | [`with_level`](Self::with_level) | 3 | lzop level 1..=9, as `lzop -N` |
/// | [`with_concurrency`](Self::with_concurrency) | 2 | days compressed and uploaded at once |
#[derive(Debug, Clone)]
pub struct WriteOptions {
    lzop: bool,
    level: u8,
    concurrency: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl WriteOptions {
    /// The defaults: lzop level 3, two days in flight.
    pub fn new() -> Self {
        Self {
            lzop: true,
            level: 3,
            concurrency: 2,
        }
    }

    /// Compress each day with lzop (default `true`).
    pub fn with_lzop(self, lzop: bool) -> Self {
        Self { lzop, ..self }
    }

    /// The lzop level, 1 to 9 (default 3, lzop's).
    pub fn with_level(self, level: u8) -> Self {
        Self { level, ..self }
    }

    /// Days compressed and uploaded at once (default 2; at least 1). Memory
    /// holds about this many days and two more.
    pub fn with_concurrency(self, concurrency: usize) -> Self {
        Self {
            concurrency: concurrency.max(1),
            ..self
        }
    }
}

/// One day written, for progress.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Written {
    /// The day.
    pub date: NaiveDate,
    /// The object's name below the output location.
    pub name: String,
    /// Its data rows.
    pub rows: u64,
    /// Its CSV bytes.
    pub csv_bytes: u64,
    /// The bytes written (compressed, with lzop).
    pub bytes: u64,
}

/// What [`SyntheticRetail::write_to`] wrote.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WriteReport {
    /// Objects written, one per trading day.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// What was generated.
    pub report: Report,
}

/// The day as the object to write.
fn encode(day: DayFile, lzop: bool, level: u8) -> Result<Vec<u8>> {
    if !lzop {
        return Ok(day.csv);
    }
    let mut writer = lzo::WriterBuilder::new()
        .with_level(level)
        .with_name(day.file_name(false))
        .build(Vec::with_capacity(day.csv.len() / 3 + 1024))?;
    writer
        .write_all(&day.csv)
        .map_err(|source| berserkr_io::Error::Io {
            path: day.file_name(true),
            source,
        })?;
    Ok(writer.finish()?)
}

impl SyntheticRetail {
    /// Writes every trading day below `output` as `YYYY-MM-DD.csv.lzo` (or
    /// `.csv`), calling `on_file` as each is written, in date order.
    ///
    /// Days are generated on a blocking thread while earlier ones are
    /// compressed and uploaded; each object is written whole with one
    /// atomic put, so a reader never sees half a day. An error stops the
    /// writing; the days already written stay.
    pub async fn write_to<F>(
        &self,
        output: &Location,
        options: &WriteOptions,
        mut on_file: F,
    ) -> Result<WriteReport>
    where
        F: FnMut(&Written),
    {
        let mut days = self.days();
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<DayFile>(2);
        let generator = tokio::task::spawn_blocking(move || {
            for day in &mut days {
                if sender.blocking_send(day).is_err() {
                    break;
                }
            }
            days.report().clone()
        });
        let (lzop, level) = (options.lzop, options.level);
        let mut files = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx))
            .map(|day| {
                let output = output.clone();
                async move {
                    let date = day.date;
                    let name = day.file_name(lzop);
                    let rows = day.stats.rows;
                    let csv_bytes = day.csv.len() as u64;
                    let object =
                        tokio::task::spawn_blocking(move || encode(day, lzop, level)).await??;
                    let bytes = object.len() as u64;
                    output.join(&name).put(Bytes::from(object)).await?;
                    Ok::<_, crate::Error>(Written {
                        date,
                        name,
                        rows,
                        csv_bytes,
                        bytes,
                    })
                }
            })
            .buffered(options.concurrency);
        let (mut count, mut bytes) = (0, 0);
        while let Some(written) = files.next().await {
            let written = written?;
            count += 1;
            bytes += written.bytes;
            on_file(&written);
        }
        let report = generator.await?;
        Ok(WriteReport {
            files: count,
            bytes,
            report,
        })
    }
}
