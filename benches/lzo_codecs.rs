//! The LZO1X block codecs side by side on the real 48 MB file: decoding
//! speed (sequential and parallel, best of 5) and behaviour on 1,000
//! bit-flipped blocks of it (each block alone in a container, one random
//! bit of its compressed data flipped).
//!
//! `cargo bench --bench lzo_codecs --features lzokay-native`
//!
//! `catch_unwind` appears here only to count a codec's panics for this
//! comparison; nothing in the library relies on it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use berserkr::io::lzo::{BlockCodec, Decompressor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

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

/// The header's length and each block's byte range, for a file written
/// with lzop's defaults (Adler-32 of the data, no compressed checksum).
fn layout(file: &[u8]) -> (usize, Vec<std::ops::Range<usize>>) {
    let be32 = |at: usize| u32::from_be_bytes(file[at..at + 4].try_into().unwrap()) as usize;
    let flags = be32(17);
    assert_eq!(flags & 0xffff, 0x0001, "adler32 of the data only");
    // magic 9, versions 6, method 1, level 1, flags 4, mode 4, mtime 8, then
    // the name's length.
    let name_len = file[33] as usize;
    let header = 34 + name_len + 4;
    let mut blocks = Vec::new();
    let mut at = header;
    loop {
        let decompressed = be32(at);
        if decompressed == 0 {
            break;
        }
        let compressed = be32(at + 4);
        let end = at + 12 + compressed;
        if compressed < decompressed {
            blocks.push(at..end);
        }
        at = end;
    }
    (header, blocks)
}

fn main() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/online-retail/online_retail.csv.lzo");
    let file = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) => {
            eprintln!("skipped: {}: {error}", path.display());
            return;
        }
    };
    let codecs = [
        BlockCodec::Builtin,
        BlockCodec::Lzokay,
        #[cfg(feature = "lzokay-native")]
        BlockCodec::LzokayNative,
    ];
    let mb = Decompressor::new()
        .decompress(&file)
        .expect("decodes")
        .len() as f64
        / 1e6;
    let (header, blocks) = layout(&file);

    // The same corrupt containers for every codec.
    let mut rng = StdRng::seed_from_u64(1000);
    let trials: Vec<Vec<u8>> = (0..1000)
        .map(|_| {
            let block = &blocks[rng.random_range(0..blocks.len())];
            let mut container = file[..header].to_vec();
            let data = container.len() + 12;
            container.extend_from_slice(&file[block.clone()]);
            container.extend_from_slice(&[0; 4]);
            let at = rng.random_range(data..container.len() - 4);
            container[at] ^= 1 << rng.random_range(0..8);
            container
        })
        .collect();

    // Silence the panic messages being counted.
    std::panic::set_hook(Box::new(|_| {}));
    println!("{mb:.1} MB, {} compressed blocks", blocks.len());
    println!(
        "{:14} {:>9} {:>9} {:>9} {:>9} | 1,000 bit-flipped blocks: {:>6} {:>6} {:>6}",
        "codec", "seq s", "seq MB/s", "par s", "par MB/s", "panic", "error", "ok"
    );
    for codec in codecs {
        let sequential = Decompressor::new().with_codec(codec).with_parallel(false);
        let parallel = Decompressor::new().with_codec(codec).with_parallel(true);
        let seq = best_of(5, || sequential.decompress(&file).expect("decodes"));
        let par = best_of(5, || parallel.decompress(&file).expect("decodes"));
        let (mut panics, mut errors, mut ok) = (0, 0, 0);
        for trial in &trials {
            match catch_unwind(AssertUnwindSafe(|| sequential.decompress(trial))) {
                Err(_) => panics += 1,
                Ok(Err(_)) => errors += 1,
                Ok(Ok(_)) => ok += 1,
            }
        }
        println!(
            "{:14} {:9.3} {:9.0} {:9.3} {:9.0} | {:>31} {:>6} {:>6}",
            codec.name(),
            seq.as_secs_f64(),
            mb / seq.as_secs_f64(),
            par.as_secs_f64(),
            mb / par.as_secs_f64(),
            panics,
            errors,
            ok
        );
    }
}
