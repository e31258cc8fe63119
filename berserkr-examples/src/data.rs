//! Clean transactions for the pipeline and the examples, from a bucket of
//! daily exports or from the embedded synthetic default.
//!
//! [`load`] reads every Online Retail CSV (plain or lzop) under a location
//! (a path, `file://`, `memory://` or `s3://` URL) or, without one,
//! generates the synthetic default in memory, and cleans it with
//! `berserkr-io`'s default rules. The result holds the clean table, the
//! cancellations (returns, which the model uses) and what was read and
//! dropped, for the run's summary.
//!
//! ```
//! use berserkr_examples::data::{Input, load};
//!
//! # let runtime = tokio::runtime::Runtime::new()?;
//! # runtime.block_on(async {
//! let data = load(&Input::Synthetic { rows: 20_000, seed: 7 }).await?;
//! assert!(data.transactions.num_rows() > 10_000);
//! assert!(data.cancellations.num_rows() > 0);
//! println!("{}", data.clean_report);
//! # Ok::<(), berserkr_examples::Error>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use berserkr_io::clean::{CleanReport, Cleaner};
use berserkr_io::retail::{ReaderBuilder, schema};
use berserkr_io::store::{Location, RetailSource};
use futures::StreamExt;

use crate::error::Result;
use crate::synthetic::SyntheticRetail;

/// Where the transactions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Every `*.csv*` object under a location (a directory or prefix), or
    /// one object.
    Location(String),
    /// The embedded synthetic default, generated in memory.
    Synthetic {
        /// Raw rows to generate (before cleaning).
        rows: u64,
        /// The generator's seed.
        seed: u64,
    },
}

impl fmt::Display for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Location(location) => f.write_str(location),
            Self::Synthetic { rows, seed } => {
                write!(f, "synthetic Online Retail ({rows} rows, seed {seed})")
            }
        }
    }
}

/// Clean transactions and what it took to get them.
#[derive(Debug)]
pub struct Data {
    /// The clean transactions (`berserkr_io::retail::schema()`).
    pub transactions: RecordBatch,
    /// The cancellation rows (returns), same schema.
    pub cancellations: RecordBatch,
    /// Objects (or synthetic days) read.
    pub objects: u64,
    /// Bytes of CSV read.
    pub bytes: u64,
    /// Malformed rows skipped.
    pub malformed_rows: u64,
    /// Rows read and dropped, by rule.
    pub clean_report: CleanReport,
}

/// Reads and cleans `input` (malformed rows are skipped and counted, as a
/// daily job wants).
pub async fn load(input: &Input) -> Result<Data> {
    let reader = ReaderBuilder::new().with_skip_malformed(true);
    let mut cleaner = Cleaner::new();
    let mut kept = Vec::new();
    let mut cancelled = Vec::new();
    let (objects, bytes, malformed_rows);
    match input {
        Input::Location(location) => {
            let location = Location::parse(location)?;
            let mut stream = RetailSource::new(location)
                .with_options(reader)
                .open()
                .await?;
            while let Some(batch) = stream.next().await {
                let cleaned = cleaner.clean(&batch?)?;
                kept.push(cleaned.kept);
                cancelled.push(cleaned.cancellations);
            }
            let report = stream.report();
            objects = report.objects;
            bytes = report.bytes;
            malformed_rows = report.malformed_rows;
        }
        Input::Synthetic { rows, seed } => {
            let retail = SyntheticRetail::builder()
                .with_seed(*seed)
                .with_rows(*rows)
                .build()?;
            let (mut days, mut read, mut skipped) = (0, 0u64, 0u64);
            for day in retail.days() {
                days += 1;
                read += day.csv.len() as u64;
                let name = day.file_name(false);
                let mut batches = reader.clone().build(day.csv.as_slice(), name)?;
                for batch in &mut batches {
                    let cleaned = cleaner.clean(&batch?)?;
                    kept.push(cleaned.kept);
                    cancelled.push(cleaned.cancellations);
                }
                skipped += batches.report().malformed_rows;
            }
            objects = days;
            bytes = read;
            malformed_rows = skipped;
        }
    }
    let schema = schema();
    Ok(Data {
        transactions: concat_batches(&schema, &kept)?,
        cancellations: concat_batches(&schema, &cancelled)?,
        objects,
        bytes,
        malformed_rows,
        clean_report: cleaner.report().clone(),
    })
}
