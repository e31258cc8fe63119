//! lzop files both ways: compress a CSV into the lzop container, check it,
//! decompress it sequentially and with every core, and compare.
//!
//! ```sh
//! cargo run --release -p berserkr-examples --example lzo_roundtrip
//! ```

use std::io::{Read, Write};
use std::time::Instant;

use berserkr_examples::synthetic::SyntheticRetail;
use berserkr_io::lzo::{Decompressor, Reader, WriterBuilder};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A day of synthetic exports, as CSV.
    let retail = SyntheticRetail::builder().with_rows(200_000).build()?;
    let csv: Vec<u8> = retail.days().flat_map(|day| day.csv).collect();

    let started = Instant::now();
    let mut writer = WriterBuilder::new().with_level(5).build(Vec::new())?;
    writer.write_all(&csv)?;
    let compressed = writer.finish()?;
    println!(
        "compressed {:.1} MB to {:.1} MB in {:.2} s",
        csv.len() as f64 / 1e6,
        compressed.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );

    // Streaming, block by block, every checksum verified.
    let mut streamed = Vec::new();
    Reader::new(compressed.as_slice()).read_to_end(&mut streamed)?;
    assert_eq!(streamed, csv);

    // The whole object at once, blocks in parallel.
    let started = Instant::now();
    let parallel = Decompressor::new()
        .with_parallel(true)
        .decompress(&compressed)?;
    assert_eq!(parallel, csv);
    println!(
        "decompressed in parallel in {:.3} s: identical",
        started.elapsed().as_secs_f64()
    );

    // A flipped bit is an error naming where, never wrong bytes.
    let mut corrupt = compressed.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x10;
    match Decompressor::new().decompress(&corrupt) {
        Ok(_) => println!("the flipped bit went unnoticed"),
        Err(error) => println!("corrupt copy: {error}"),
    }
    Ok(())
}
