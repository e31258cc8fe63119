//! The berserkr half of the deep feature synthesis comparison with
//! Featuretools (`benches/compare/features.py` runs both and prints the
//! ratios): the full clean Online Retail data, the retail entity set,
//! customers as target, depth 2, default primitives, in one of three cases:
//!
//! - `a`: no cutoff time (every customer, all data);
//! - `b`: one cutoff per customer (given in a CSV, as Featuretools gets it);
//! - `c`: every customer at 12 monthly cutoffs.
//!
//! Prints `rows`, `features`, `seconds` lines (the DFS and the matrix, after
//! the data is read and cleaned, as Featuretools is timed) and the matrix's
//! shape, and the process's peak resident memory (one case per process).
//!
//! `cargo bench --bench dfs_compare -- clean CLEAN.csv` writes the clean
//! table (the real data, berserkr-io's default rules) that both sides read;
//! `cargo bench --bench dfs_compare -- CASE CLEAN.csv [CUTOFFS.csv] [OUT.csv]`
//! runs one case.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch};
use arrow::compute::concat;
use berserkr::features::retail::retail_entityset;
use berserkr::features::{Dfs, FeatureMatrixBuilder};
use berserkr::io::clean::Cleaner;
use berserkr::io::lzo::Decompressor;
use berserkr::io::retail::ReaderBuilder;
use berserkr_examples::pipeline::peak_rss_bytes;

fn parse_time(text: &str) -> i64 {
    chrono::NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("cutoff time {text:?}: {e}"))
        .and_utc()
        .timestamp_nanos_opt()
        .expect("in range")
}

fn read_cutoffs(path: &str) -> (ArrayRef, Vec<i64>) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut ids = Vec::new();
    let mut times = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let (id, time) = line.split_once(',').expect("id,time");
        ids.push(id.parse::<f64>().expect("a customer id") as i64);
        times.push(parse_time(time));
    }
    (Arc::new(Int64Array::from(ids)), times)
}

/// One batch of `batches`, built a column at a time, each column's pieces
/// freed as soon as it is whole: the table is never held twice.
fn concat_by_column(batches: Vec<RecordBatch>) -> RecordBatch {
    let schema = batches.first().expect("some rows").schema();
    let mut pieces: Vec<Vec<ArrayRef>> = vec![Vec::new(); schema.fields().len()];
    for batch in batches {
        for (column, array) in pieces.iter_mut().zip(batch.columns()) {
            column.push(array.clone());
        }
    }
    let columns = pieces
        .into_iter()
        .map(|column| {
            let parts: Vec<&dyn Array> = column.iter().map(|a| a.as_ref()).collect();
            concat(&parts).expect("one type per column")
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("the schema of the pieces")
}

/// Reads the real data, cleans it with the default rules and writes the
/// kept rows as CSV.
fn write_clean_table(out: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/online-retail/online_retail.csv.lzo");
    let compressed = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("skipped: {}: {error}", path.display());
            std::process::exit(2);
        }
    };
    let csv = Decompressor::new()
        .decompress(&compressed)
        .expect("the real file decodes");
    let mut cleaner = Cleaner::new();
    let file = std::fs::File::create(out).expect("output file");
    let mut writer = arrow::csv::WriterBuilder::new()
        .with_timestamp_format("%Y-%m-%d %H:%M:%S".to_string())
        .build(std::io::BufWriter::new(file));
    let mut rows = 0;
    for batch in ReaderBuilder::new()
        .build(csv.as_slice(), "online_retail.csv")
        .expect("header")
    {
        let kept = cleaner
            .clean(&batch.expect("valid rows"))
            .expect("cleans")
            .kept;
        rows += kept.num_rows();
        writer.write(&kept).expect("csv");
    }
    writer.into_inner().flush().expect("flush");
    println!("transactions {rows}");
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let case = args.first().map(String::as_str).unwrap_or("a");
    if case == "clean" {
        // The clean table both sides read, from the real data.
        let out = args.get(1).expect("clean needs an output path");
        write_clean_table(out);
        return;
    }
    let clean = args.get(1).expect("a, b and c need the clean table's CSV");
    // Read as Featuretools reads it: the clean table's CSV, whole, into
    // one batch.
    let batches: Vec<RecordBatch> = ReaderBuilder::new()
        .open(clean)
        .expect("the clean table")
        .map(|batch| batch.expect("valid rows"))
        .collect();
    let transactions = concat_by_column(batches);
    eprintln!("read: peak {} MB", peak_rss_bytes() >> 20);

    let started = Instant::now();
    let es = retail_entityset(&transactions).expect("the retail entity set");
    // The entity set holds its own (typed, sorted) copy.
    let transaction_count = transactions.num_rows();
    drop(transactions);
    eprintln!(
        "entity set {:.3} s, peak {} MB",
        started.elapsed().as_secs_f64(),
        peak_rss_bytes() >> 20
    );
    let features = Dfs::new("customers")
        .with_max_depth(2)
        .build(&es)
        .expect("dfs");
    eprintln!("dfs {:.3} s", started.elapsed().as_secs_f64());
    let builder = FeatureMatrixBuilder::new(&es, &features);
    let builder = match case {
        "a" => builder,
        "b" | "c" => {
            let file = args.get(2).expect("case b and c need a cutoffs CSV");
            let (ids, times) = read_cutoffs(file);
            builder.with_cutoff_times(ids, times)
        }
        other => panic!("unknown case {other:?}: a, b or c"),
    };
    let matrix: RecordBatch = builder.build().expect("the feature matrix");
    let seconds = started.elapsed().as_secs_f64();
    println!("transactions {transaction_count}");
    println!("rows {}", matrix.num_rows());
    println!("features {}", features.len());
    println!("seconds {seconds:.6}");
    println!("peak_rss_bytes {}", peak_rss_bytes());
    if let Some(out) = args.get(3) {
        let file = std::fs::File::create(out).expect("output file");
        let mut writer = arrow::csv::WriterBuilder::new().build(std::io::BufWriter::new(file));
        writer.write(&matrix).expect("csv");
        writer.into_inner().flush().expect("flush");
    }
}
