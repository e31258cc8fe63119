//! `berserkr clean INPUT OUTPUT`: Online Retail CSV (plain or lzop, one
//! object or every object a glob matches) to clean Parquet, with progress
//! and a report of every row dropped and why.

use std::time::Instant;

use berserkr_io::Result;
use berserkr_io::clean::Cleaner;
use berserkr_io::parquet::{Compression, WriterBuilder, ZstdLevel};
use berserkr_io::retail::ReaderBuilder;
use berserkr_io::store::{Location, RetailSource};
use clap::{Args, ValueEnum};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Debug, Args)]
pub(crate) struct CleanArgs {
    /// A CSV or `.csv.lzo` file or object, or a directory or prefix whose
    /// objects matching `--glob` are read in name order.
    input: String,
    /// The clean table, as Parquet (a path or URL).
    output: String,
    /// Objects to read below INPUT (`*` stays within a directory, `**`
    /// crosses them); ignored when INPUT is itself an object.
    #[arg(long, default_value = "*.csv*")]
    glob: String,
    /// Also write the cancellations (InvoiceNo starting with C) here.
    #[arg(long)]
    cancellations: Option<String>,
    /// Parquet column codec.
    #[arg(long, value_enum, default_value_t = Codec::Zstd)]
    compression: Codec,
    /// Wrap the Parquet file in the lzop container (`.parquet.lzo`).
    #[arg(long)]
    lzop: bool,
    /// Skip malformed rows (counted and shown) instead of stopping.
    #[arg(long)]
    skip_malformed: bool,
    /// Objects read and decoded at once.
    #[arg(long, default_value_t = std::thread::available_parallelism().map_or(2, |n| n.get()))]
    concurrency: usize,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Codec {
    Zstd,
    Snappy,
    Lz4,
    Gzip,
    Brotli,
    None,
}

impl From<Codec> for Compression {
    fn from(codec: Codec) -> Self {
        match codec {
            Codec::Zstd => Compression::ZSTD(ZstdLevel::default()),
            Codec::Snappy => Compression::SNAPPY,
            Codec::Lz4 => Compression::LZ4_RAW,
            Codec::Gzip => Compression::GZIP(Default::default()),
            Codec::Brotli => Compression::BROTLI(Default::default()),
            Codec::None => Compression::UNCOMPRESSED,
        }
    }
}

pub(crate) fn progress_bar(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template =
        format!("{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

pub(crate) async fn run(args: CleanArgs) -> Result<()> {
    let started = Instant::now();
    let input = Location::parse(&args.input)?;
    let output = Location::parse(&args.output)?;
    let cancellations_output = args
        .cancellations
        .as_deref()
        .map(Location::parse)
        .transpose()?;
    let mut stream = RetailSource::new(input.clone())
        .with_glob(args.glob.as_str())
        .with_options(ReaderBuilder::new().with_skip_malformed(args.skip_malformed))
        .with_concurrency(args.concurrency)
        .open()
        .await?;
    let schema = stream.schema();
    let writer_options = WriterBuilder::new()
        .with_compression(args.compression.into())
        .with_lzop(args.lzop);
    let mut kept_writer = writer_options
        .clone()
        .build(
            output.store().clone(),
            output.path().clone(),
            schema.clone(),
        )
        .await?;
    let mut cancelled_writer = match &cancellations_output {
        Some(location) => Some(
            writer_options
                .clone()
                .build(
                    location.store().clone(),
                    location.path().clone(),
                    schema.clone(),
                )
                .await?,
        ),
        None => None,
    };

    let total = stream.progress().objects_total;
    let bar = progress_bar(total, "objects");
    let mut cleaner = Cleaner::new();
    let outcome: Result<()> = async {
        while let Some(batch) = stream.next().await {
            let cleaned = cleaner.clean(&batch?)?;
            kept_writer.write(&cleaned.kept).await?;
            if let Some(writer) = cancelled_writer.as_mut() {
                writer.write(&cleaned.cancellations).await?;
            }
            let progress = stream.progress();
            bar.set_position(progress.objects_done);
            bar.set_message(format!(
                "{:.1} MB read, {} rows kept",
                progress.bytes_read as f64 / 1e6,
                cleaner.report().rows_kept
            ));
        }
        Ok(())
    }
    .await;
    if let Err(error) = outcome {
        // Neither output appears under its name.
        kept_writer.abort().await;
        if let Some(mut writer) = cancelled_writer {
            writer.abort().await;
        }
        bar.abandon();
        return Err(error);
    }
    bar.finish_and_clear();
    let written = kept_writer.finish().await?;
    let cancelled = match cancelled_writer {
        Some(writer) => Some(writer.finish().await?),
        None => None,
    };

    let read = stream.report();
    println!(
        "read {} objects from {input}: {:.1} MB of CSV, {} rows",
        read.objects,
        read.bytes as f64 / 1e6,
        read.rows
    );
    if read.malformed_rows > 0 {
        println!(
            "skipped {} malformed rows, for example:",
            read.malformed_rows
        );
        for example in &read.malformed_examples {
            println!("  {example}");
        }
    }
    println!("{}", cleaner.report());
    println!(
        "wrote {output}: {} rows, {} row groups, {:.1} MB",
        written.rows,
        written.row_groups,
        written.bytes as f64 / 1e6
    );
    if let (Some(location), Some(cancelled)) = (&cancellations_output, cancelled) {
        println!(
            "wrote {location}: {} cancellation rows, {:.1} MB",
            cancelled.rows,
            cancelled.bytes as f64 / 1e6
        );
    }
    println!("done in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
