//! CSV to typed Arrow: the Online Retail reader on the real 48 MB file
//! (plain and lzop), sequential and parallel.
//!
//! Without `../shared/data` it prints why and measures a synthetic file
//! made by repeating the committed fixture to the same size.

use std::hint::black_box;
use std::path::PathBuf;

use berserkr::io::lzo;
use berserkr::io::retail::ReaderBuilder;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// The whole CSV, decompressed, and its lzop file.
fn inputs() -> (Vec<u8>, Vec<u8>) {
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/online-retail/online_retail.csv.lzo");
    match std::fs::read(&real) {
        Ok(compressed) => {
            let csv = lzo::decompress_parallel(&compressed).expect("the real file decodes");
            (csv, compressed)
        }
        Err(error) => {
            eprintln!(
                "{}: {error}; measuring a synthetic 48 MB CSV instead",
                real.display()
            );
            let fixture = std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/berserkr-io/testdata/lzo/small.csv"
            ))
            .expect("the committed fixture");
            let header_end = fixture.iter().position(|&b| b == b'\n').unwrap() + 1;
            let mut csv = fixture.clone();
            while csv.len() < 48_000_000 {
                csv.extend_from_slice(&fixture[header_end..]);
            }
            let compressed = lzo::compress(&csv).expect("compresses");
            (csv, compressed)
        }
    }
}

fn read_all(bytes: &[u8], parallel: bool) -> usize {
    ReaderBuilder::new()
        .with_parallel(parallel)
        .build(bytes, "bench.csv")
        .expect("header")
        .map(|batch| batch.expect("valid rows").num_rows())
        .sum()
}

fn csv_to_arrow(c: &mut Criterion) {
    let (csv, compressed) = inputs();
    let mut group = c.benchmark_group("csv_to_arrow");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(csv.len() as u64));
    for parallel in [false, true] {
        let mode = if parallel { "parallel" } else { "sequential" };
        group.bench_function(format!("plain/{mode}"), |b| {
            b.iter(|| black_box(read_all(&csv, parallel)))
        });
        group.bench_function(format!("lzop/{mode}"), |b| {
            b.iter(|| black_box(read_all(&compressed, parallel)))
        });
    }
    group.finish();
}

criterion_group!(benches, csv_to_arrow);
criterion_main!(benches);
