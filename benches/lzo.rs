//! lzop decompression (sequential and parallel, for each block codec) and
//! compression, on the real 48 MB Online Retail file.
//!
//! Without `../shared/data` it prints why and measures a synthetic file
//! made by repeating the committed fixture to the same size.

use std::hint::black_box;
use std::io::Write;
use std::path::PathBuf;

use berserkr::io::lzo::{BlockCodec, Decompressor, WriterBuilder};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn real_or_synthetic() -> Vec<u8> {
    let real = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/online-retail/online_retail.csv.lzo");
    match std::fs::read(&real) {
        Ok(compressed) => compressed,
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
            let mut csv = Vec::new();
            while csv.len() < 48_000_000 {
                csv.extend_from_slice(&fixture);
            }
            berserkr::io::lzo::compress(&csv).expect("compresses")
        }
    }
}

fn lzo(c: &mut Criterion) {
    let compressed = real_or_synthetic();
    let csv = Decompressor::new()
        .decompress(&compressed)
        .expect("decodes");
    let mut group = c.benchmark_group("lzop_decompress");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(csv.len() as u64));
    for codec in [BlockCodec::Builtin, BlockCodec::Lzokay] {
        for parallel in [false, true] {
            let decompressor = Decompressor::new()
                .with_codec(codec)
                .with_parallel(parallel);
            let mode = if parallel { "parallel" } else { "sequential" };
            group.bench_function(format!("{}/{mode}", codec.name()), |b| {
                b.iter(|| black_box(decompressor.decompress(&compressed).expect("decodes")))
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("lzop_compress");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(csv.len() as u64));
    for level in [1, 5] {
        group.bench_function(format!("level_{level}"), |b| {
            b.iter(|| {
                let mut writer = WriterBuilder::new()
                    .with_level(level)
                    .build(Vec::new())
                    .expect("valid options");
                writer.write_all(&csv).expect("in memory");
                black_box(writer.finish().expect("in memory"))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lzo);
criterion_main!(benches);
