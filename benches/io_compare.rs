//! The io half of the comparison with the Python and C peers: prints the
//! best-of-N wall time of each of berserkr's io paths on the real 48 MB
//! Online Retail file, one `name seconds` line each, for
//! `benches/compare/io.py` to set beside `lzop -d` and pyarrow.
//!
//! `cargo bench --bench io_compare [-- RUNS]`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use berserkr::io::lzo::Decompressor;
use berserkr::io::retail::ReaderBuilder;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> Duration {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(f());
            started.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn rows(bytes: &[u8]) -> usize {
    ReaderBuilder::new()
        .build(bytes, "online_retail.csv")
        .expect("header")
        .map(|batch| batch.expect("valid rows").num_rows())
        .sum()
}

fn main() {
    // `cargo bench` passes `--bench`; a bare number is the run count.
    let runs = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(7);
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/online-retail/online_retail.csv.lzo");
    let compressed = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("skipped: {}: {error}", path.display());
            return;
        }
    };
    let sequential = Decompressor::new().with_parallel(false);
    let parallel = Decompressor::new().with_parallel(true);
    let csv = parallel.decompress(&compressed).expect("decodes");
    assert_eq!(rows(&csv), 541_909);

    let report = [
        (
            "lzo_decompress_sequential",
            best_of(runs, || sequential.decompress(&compressed)),
        ),
        (
            "lzo_decompress_parallel",
            best_of(runs, || parallel.decompress(&compressed)),
        ),
        ("csv_to_arrow", best_of(runs, || rows(&csv))),
        ("lzo_csv_to_arrow", best_of(runs, || rows(&compressed))),
    ];
    println!("bytes {}", csv.len());
    for (name, time) in report {
        println!("{name} {:.4}", time.as_secs_f64());
    }
}
