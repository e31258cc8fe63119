//! Deep feature synthesis on seeded synthetic Online Retail data at 100k,
//! 1M and 10M raw rows: the entity set, DFS (customers, depth 2, default
//! primitives) and the feature matrix, with no cutoff and with one cutoff
//! per customer, to show how time grows with rows and with cutoffs. Peak
//! memory after each size is printed (the process's high-water mark, so it
//! only grows).
//!
//! `cargo bench --bench dfs` (`BERSERKR_BENCH_MAX_ROWS=1000000` to skip the
//! 10M case on a small machine).

use std::hint::black_box;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::Int64Type;
use berserkr::features::retail::retail_entityset;
use berserkr::features::{Dfs, FeatureMatrixBuilder};
use berserkr::io::clean::Cleaner;
use berserkr::io::retail::ReaderBuilder;
use berserkr_examples::pipeline::peak_rss_bytes;
use berserkr_examples::synthetic::SyntheticRetail;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// The clean transactions of `rows` synthetic raw rows.
fn clean_transactions(rows: u64) -> RecordBatch {
    let retail = SyntheticRetail::builder()
        .with_seed(7)
        .with_rows(rows)
        .build()
        .expect("valid options");
    let mut cleaner = Cleaner::new();
    let mut kept = Vec::new();
    for day in retail.days() {
        let reader = ReaderBuilder::new()
            .build(day.csv.as_slice(), "day.csv")
            .expect("header");
        for batch in reader {
            kept.push(
                cleaner
                    .clean(&batch.expect("valid rows"))
                    .expect("cleans")
                    .kept,
            );
        }
    }
    concat_batches(&kept[0].schema(), &kept).expect("one schema")
}

fn dfs(c: &mut Criterion) {
    let max_rows: u64 = std::env::var("BERSERKR_BENCH_MAX_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let mut group = c.benchmark_group("dfs");
    group.sample_size(10);
    for rows in [100_000u64, 1_000_000, 10_000_000] {
        if rows > max_rows {
            eprintln!("skipped {rows} rows: BERSERKR_BENCH_MAX_ROWS is {max_rows}");
            continue;
        }
        let transactions = clean_transactions(rows);
        let es = retail_entityset(&transactions).expect("entity set");
        let features = Dfs::new("customers")
            .with_max_depth(2)
            .build(&es)
            .expect("dfs");
        let customers = es.dataframe("customers").expect("customers");
        let ids = arrow::compute::cast(
            customers.index().values(),
            &arrow::datatypes::DataType::Int64,
        )
        .expect("ids");
        let ids = ids.as_primitive::<Int64Type>().clone();
        let times = es
            .dataframe("transactions")
            .expect("transactions")
            .time_index()
            .expect("time index")
            .values()
            .as_primitive::<arrow::datatypes::TimestampNanosecondType>()
            .clone();
        let (first, last) = (times.value(0), times.value(times.len() - 1));
        // One cutoff per customer, spread over the period (seeded by id).
        let cutoffs: Vec<i64> = ids
            .values()
            .iter()
            .map(|&id| {
                first
                    + ((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) % (last - first) as u64)
                        as i64
            })
            .collect();
        let ids: Arc<dyn Array> = Arc::new(Int64Array::from(ids.values().to_vec()));
        group.throughput(Throughput::Elements(transactions.num_rows() as u64));
        group.bench_with_input(BenchmarkId::new("no_cutoff", rows), &rows, |b, _| {
            b.iter(|| {
                let es = retail_entityset(&transactions).expect("entity set");
                let features = Dfs::new("customers")
                    .with_max_depth(2)
                    .build(&es)
                    .expect("dfs");
                black_box(
                    FeatureMatrixBuilder::new(&es, &features)
                        .build()
                        .expect("matrix"),
                )
            })
        });
        group.bench_with_input(
            BenchmarkId::new("cutoff_per_customer", rows),
            &rows,
            |b, _| {
                b.iter(|| {
                    black_box(
                        FeatureMatrixBuilder::new(&es, &features)
                            .with_cutoff_times(ids.clone(), cutoffs.clone())
                            .build()
                            .expect("matrix"),
                    )
                })
            },
        );
        eprintln!(
            "{rows} raw rows: {} clean transactions, {} customers, {} features; peak memory so far {} MB",
            transactions.num_rows(),
            ids.len(),
            features.len(),
            peak_rss_bytes() >> 20
        );
    }
    group.finish();
}

criterion_group!(benches, dfs);
criterion_main!(benches);
