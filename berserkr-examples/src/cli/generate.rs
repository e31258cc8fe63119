//! `berserkr generate --out PATH_OR_URL`: a seeded synthetic Online Retail
//! bucket, one `YYYY-MM-DD.csv.lzo` (or `.csv`) per trading day, with
//! progress and a summary of what it holds.

use std::time::Instant;

use berserkr_examples::synthetic::{self, SyntheticRetail, WriteOptions};
use berserkr_io::Result;
use berserkr_io::store::Location;
use chrono::NaiveDate;
use clap::Args;

use crate::cli::clean::progress_bar;

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Where to write the daily files: a directory, a prefix or a URL
    /// (`file://`, `memory://`, `s3://`).
    #[arg(long)]
    out: String,
    /// Rows in all (the real data set has 541,909).
    #[arg(long, default_value_t = synthetic::DEFAULT_ROWS)]
    rows: u64,
    /// The seed: the same seed and options give the same files.
    #[arg(long, default_value_t = synthetic::DEFAULT_SEED)]
    seed: u64,
    /// Write plain `.csv` files instead of lzop-compressed `.csv.lzo`.
    #[arg(long)]
    no_lzo: bool,
    /// The chance that a row is written malformed, as real buckets have a
    /// few (read them with `berserkr clean --skip-malformed`); 0 for none.
    #[arg(long, default_value_t = 0.00001)]
    malformed_rate: f64,
    /// The first calendar day.
    #[arg(long, default_value = "2010-12-01")]
    start: NaiveDate,
    /// Calendar days from the start; closed days (Saturdays, Christmas,
    /// bank holidays) have no file.
    #[arg(long, default_value_t = 374)]
    days: u32,
    /// Customer numbers (default: rows / 124).
    #[arg(long)]
    customers: Option<usize>,
    /// Stock codes (default: about 4,070, more for more rows).
    #[arg(long)]
    items: Option<usize>,
    /// lzop level, 1 (fastest) to 9.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=9))]
    level: u8,
    /// Days compressed and uploaded at once.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
}

pub(crate) async fn run(args: GenerateArgs) -> Result<()> {
    let started = Instant::now();
    let output = Location::parse(&args.out)?;
    let mut builder = SyntheticRetail::builder()
        .with_seed(args.seed)
        .with_rows(args.rows)
        .with_start(args.start)
        .with_days(args.days)
        .with_malformed_rate(args.malformed_rate);
    if let Some(customers) = args.customers {
        builder = builder.with_customers(customers);
    }
    if let Some(items) = args.items {
        builder = builder.with_items(items);
    }
    let retail = builder.build()?;
    let files = retail.trading_days().len() as u64;
    println!(
        "generating {} rows over {files} trading days from {} (seed {}, {} customers, {} stock codes) into {output}",
        retail.rows(),
        args.start,
        retail.seed(),
        retail.customers(),
        retail.items()
    );
    let bar = progress_bar(files, "days");
    let options = WriteOptions::new()
        .with_lzop(!args.no_lzo)
        .with_level(args.level)
        .with_concurrency(args.concurrency);
    let (mut rows, mut csv_bytes) = (0u64, 0u64);
    let written = retail
        .write_to(&output, &options, |file| {
            rows += file.rows;
            csv_bytes += file.csv_bytes;
            bar.inc(1);
            bar.set_message(format!(
                "{} {rows} rows, {:.1} MB of CSV",
                file.date,
                csv_bytes as f64 / 1e6
            ));
        })
        .await;
    let written = match written {
        Ok(written) => {
            bar.finish_and_clear();
            written
        }
        Err(error) => {
            bar.abandon();
            return Err(error.into());
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let report = &written.report;
    println!("{report}");
    println!(
        "wrote {} files to {output}: {:.1} MB ({:.1} MB of CSV)",
        written.files,
        written.bytes as f64 / 1e6,
        report.bytes as f64 / 1e6
    );
    if report.malformed_rows > 0 {
        println!(
            "{} rows are malformed on purpose: read with `berserkr clean --skip-malformed`",
            report.malformed_rows
        );
    }
    println!(
        "done in {seconds:.2} s ({:.0} rows/s)",
        report.rows as f64 / seconds.max(1e-9)
    );
    Ok(())
}
