//! The io crate against an S3-compatible server (moto, started by
//! `.ci/run` on 127.0.0.1): the real by-day files uploaded to a bucket,
//! listed with a glob, streamed, cleaned, written back as Parquet and read
//! back with a time range.

use std::process::Command;

use arrow::array::AsArray;
use arrow::datatypes::TimestampMicrosecondType;
use berserkr::io::clean::Cleaner;
use berserkr::io::parquet::{ReaderBuilder as ParquetReader, WriterBuilder};
use berserkr::io::retail::schema;
use berserkr::io::store::{Location, RetailSource};
use berserkr::io::{Error, lzo};
use futures::{StreamExt, TryStreamExt};

use crate::common::{python, run, shared_data};

/// The server's URL, or `None` after printing why the caller skips.
fn endpoint() -> Option<String> {
    let endpoint = std::env::var("BERSERKR_TEST_S3_ENDPOINT").ok();
    if endpoint.is_none() {
        eprintln!(
            "skipped: BERSERKR_TEST_S3_ENDPOINT is not set (.ci/run starts an S3-compatible \
             server and sets it with AWS_ENDPOINT, AWS_ALLOW_HTTP and test keys)"
        );
    }
    endpoint
}

fn create_bucket(python: &str, endpoint: &str, bucket: &str) {
    run(Command::new(python).args([
        "-c",
        "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], \
         region_name='us-east-1').create_bucket(Bucket=sys.argv[2])",
        endpoint,
        bucket,
    ]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_day_files_through_a_bucket() {
    let (Some(endpoint), Some(python)) = (endpoint(), python()) else {
        return;
    };
    let bucket = format!("berserkr-it-{}", std::process::id());
    create_bucket(&python, &endpoint, &bucket);

    // The real bucket layout when ../shared is there, else the fixtures.
    let real = shared_data("online-retail/by-day");
    let files: Vec<std::path::PathBuf> = match real.clone() {
        Some(dir) => {
            let mut files: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            files
        }
        None => ["small-1.csv.lzo", "small-9.csv.lzo", "small-crc32.csv.lzo"]
            .iter()
            .map(|name| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("berserkr-io/testdata/lzo")
                    .join(name)
            })
            .collect(),
    };
    let prefix = Location::parse(&format!("s3://{bucket}/by-day")).unwrap();
    let mut expected_rows = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        expected_rows += lzo::decompress(&bytes)
            .unwrap()
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            - 1;
        let name = file.file_name().unwrap().to_str().unwrap();
        prefix.join(name).put(bytes.into()).await.unwrap();
    }
    // A stray object the glob must not pick up.
    prefix
        .join("README.txt")
        .put("not data".into())
        .await
        .unwrap();

    let mut stream = RetailSource::new(prefix.clone())
        .with_glob("*.csv.lzo")
        .with_concurrency(4)
        .open()
        .await
        .unwrap();
    assert_eq!(stream.objects().len(), files.len());
    let mut cleaner = Cleaner::new();
    let output = Location::parse(&format!("s3://{bucket}/clean/transactions.parquet")).unwrap();
    let mut writer = WriterBuilder::new()
        .with_max_row_group_size(20_000)
        .build(output.store().clone(), output.path().clone(), schema())
        .await
        .unwrap();
    let mut rows = 0;
    let mut kept_in_december = 0;
    let december = chrono::NaiveDate::from_ymd_opt(2010, 12, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let january = chrono::NaiveDate::from_ymd_opt(2011, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let (from, to) = (
        december.and_utc().timestamp_micros(),
        january.and_utc().timestamp_micros(),
    );
    while let Some(batch) = stream.next().await {
        let batch = batch.unwrap();
        rows += batch.num_rows();
        let kept = cleaner.clean(&batch).unwrap().kept;
        kept_in_december += kept
            .column(4)
            .as_primitive::<TimestampMicrosecondType>()
            .values()
            .iter()
            .filter(|&&t| t >= from && t < to)
            .count();
        writer.write(&kept).await.unwrap();
    }
    assert_eq!(rows, expected_rows);
    if real.is_some() {
        // The same counts as from the whole file and from a local path.
        crate::real_data::assert_real_counts(cleaner.report());
        println!("{}", cleaner.report());
    }
    let written = writer.finish().await.unwrap();
    assert_eq!(written.rows, cleaner.report().rows_kept);

    let read = ParquetReader::new()
        .with_time_range(Some(december), Some(january))
        .open(output.store().clone(), output.path())
        .await
        .unwrap();
    if written.row_groups > 2 && kept_in_december > 0 {
        assert!(read.row_groups_selected() < read.row_groups_total());
    }
    let batches: Vec<_> = read.try_collect().await.unwrap();
    let read_rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(read_rows, kept_in_december);

    // A bucket that does not exist is a typed error, not a panic.
    let missing = Location::parse("s3://no-such-bucket-berserkr/x.csv").unwrap();
    assert!(matches!(missing.get().await, Err(Error::Store(_))));
}
