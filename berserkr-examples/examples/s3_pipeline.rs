//! The pipeline against S3 or an S3-compatible store (MinIO, moto):
//! synthetic daily exports written to a bucket, read back from it, and the
//! scores written next to them.
//!
//! Settings come from the environment, as for the `berserkr` command:
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`, and
//! for a local server `AWS_ENDPOINT` (say `http://127.0.0.1:9000`) with
//! `AWS_ALLOW_HTTP=true`. The first argument is the prefix to work under
//! (default `s3://berserkr/example`; the bucket must exist), the second
//! the synthetic rows to write there (default 100,000).
//!
//! ```sh
//! cargo run --release -p berserkr-examples --features aws --example s3_pipeline -- s3://my-bucket/berserkr
//! ```

use std::time::Instant;

use berserkr_examples::data::Input;
use berserkr_examples::pipeline::Pipeline;
use berserkr_examples::synthetic::{SyntheticRetail, WriteOptions};
use berserkr_io::store::Location;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prefix = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "s3://berserkr/example".to_string());
    let rows: u64 = match std::env::args().nth(2) {
        Some(rows) => rows.parse()?,
        None => 100_000,
    };
    let work = Location::parse(&prefix)?;
    let raw = work.join("raw/");

    let started = Instant::now();
    let retail = SyntheticRetail::builder()
        .with_rows(rows)
        .with_seed(11)
        .build()?;
    let written = retail.write_to(&raw, &WriteOptions::new(), |_| {}).await?;
    println!(
        "wrote {} daily files ({:.1} MB) to {raw} in {:.1} s",
        written.files,
        written.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    let report = Pipeline::builder()
        .with_input(Input::Location(raw.to_string()))
        .build()
        .run()
        .await?;
    println!("{report}");

    let top = work.join("scores/top.parquet");
    let rows = report.write_top(&top).await?;
    println!("wrote {top}: {rows} rows");
    Ok(())
}
