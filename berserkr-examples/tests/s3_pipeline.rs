//! The `s3_pipeline` example against an S3-compatible server (moto, started
//! by `.ci/run` on 127.0.0.1): synthetic exports written to a bucket, the
//! pipeline reading them back, the scores written beside them.
#![cfg(feature = "aws")]

use std::path::PathBuf;
use std::process::Command;

/// The example's binary, which `cargo test` builds beside the tests.
fn example() -> PathBuf {
    let deps = std::env::current_exe().expect("the test's path");
    let profile = deps
        .parent()
        .and_then(|d| d.parent())
        .expect("target/<profile>/deps");
    profile
        .join("examples")
        .join(format!("s3_pipeline{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn the_pipeline_runs_through_a_bucket() {
    let (Ok(endpoint), Ok(python)) = (
        std::env::var("BERSERKR_TEST_S3_ENDPOINT"),
        std::env::var("BERSERKR_PYTHON"),
    ) else {
        eprintln!(
            "skipped: BERSERKR_TEST_S3_ENDPOINT and BERSERKR_PYTHON are not set (.ci/run \
             starts an S3-compatible server and sets them)"
        );
        return;
    };
    let bucket = format!("berserkr-example-{}", std::process::id());
    let created = Command::new(&python)
        .args([
            "-c",
            "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], \
             region_name='us-east-1').create_bucket(Bucket=sys.argv[2])",
            &endpoint,
            &bucket,
        ])
        .status()
        .expect("python runs");
    assert!(created.success(), "could not create bucket {bucket}");

    let example = example();
    assert!(
        example.exists(),
        "{} is missing: cargo test builds the examples",
        example.display()
    );
    let prefix = format!("s3://{bucket}/run");
    let output = Command::new(&example)
        .args([prefix.as_str(), "40000"])
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&format!("to {prefix}/raw ")), "{stdout}");
    let wrote = stdout
        .lines()
        .find(|l| l.starts_with(&format!("wrote {prefix}/scores/top.parquet")))
        .unwrap_or_else(|| panic!("no scores written:\n{stdout}"));
    let rows: u64 = wrote
        .split_whitespace()
        .rev()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{wrote}"));
    assert!(rows > 0, "{wrote}");

    // The scores are a Parquet file another reader opens. The process
    // leaves with `os._exit`: boto3 and pyarrow loaded together can abort
    // in their C++ teardown ("terminate called without an active
    // exception") after the work is done.
    let read = Command::new(&python)
        .args([
            "-c",
            "import io, sys, boto3, pyarrow.parquet as pq; \
             body = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1')\
             .get_object(Bucket=sys.argv[2], Key='run/scores/top.parquet')['Body'].read(); \
             print(pq.read_table(io.BytesIO(body)).num_rows, flush=True); \
             import os; os._exit(0)",
            &endpoint,
            &bucket,
        ])
        .output()
        .expect("python runs");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&read.stdout).trim(),
        rows.to_string()
    );
}
