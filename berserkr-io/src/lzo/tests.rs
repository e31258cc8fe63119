//! Tests of the container against fixtures made by the real `lzop`
//! (`testdata/lzo/make_fixtures.sh`).

use std::io::{Read, Write};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::error::{ChecksumKind, Error, Result};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/lzo/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn original() -> Vec<u8> {
    fixture("small.csv")
}

/// Decodes `bytes` through every path the crate offers and checks that they
/// agree, on the output or on the error (variant and message).
fn decode_all_ways(bytes: &[u8]) -> Result<Vec<u8>> {
    let sequential = decompress(bytes);
    let parallel = decompress_parallel(bytes);
    let mut rng = StdRng::seed_from_u64(bytes.len() as u64);
    let mut pushed = Vec::new();
    let mut decoder = Decoder::new();
    let push = (|| {
        let mut rest = bytes;
        while !rest.is_empty() {
            let n = rng.random_range(1..=rest.len().min(70_000));
            decoder.decode(&rest[..n], &mut pushed)?;
            rest = &rest[n..];
        }
        decoder.finish()
    })()
    .map(|()| pushed);
    let mut pulled = Vec::new();
    let pull = Reader::new(bytes)
        .read_to_end(&mut pulled)
        .map(|_| pulled)
        .map_err(|e| {
            *e.into_inner()
                .and_then(|inner| inner.downcast::<Error>().ok())
                .expect("reader errors wrap the crate's error")
        });
    let describe = |r: &Result<Vec<u8>>| match r {
        Ok(bytes) => format!("ok {} bytes {:08x}", bytes.len(), format::crc32(bytes)),
        Err(e) => format!("error {e}"),
    };
    let expected = describe(&sequential);
    for (path, result) in [("parallel", &parallel), ("push", &push), ("pull", &pull)] {
        assert_eq!(describe(result), expected, "{path} path disagrees");
    }
    sequential
}

#[test]
fn lzop_files_decode_to_the_original() {
    let original = original();
    for name in [
        "small-1.csv.lzo",
        "small-3.csv.lzo",
        "small-9.csv.lzo",
        "small-crc32.csv.lzo",
        "small-stdin.csv.lzo",
    ] {
        assert_eq!(decode_all_ways(&fixture(name)).unwrap(), original, "{name}");
    }
    let mut twice = original.clone();
    twice.extend_from_slice(&original);
    assert_eq!(decode_all_ways(&fixture("concat.csv.lzo")).unwrap(), twice);
    assert!(decode_all_ways(&fixture("empty.lzo")).unwrap().is_empty());
    assert_eq!(
        decode_all_ways(&fixture("one-block.csv.lzo")).unwrap(),
        &original[..256 * 1024]
    );
    let noise = decode_all_ways(&fixture("noise.bin.lzo")).unwrap();
    assert_eq!(noise.len(), 300_000);
}

#[test]
fn headers_are_read_as_lzop_wrote_them() {
    let header = |name: &str| {
        let mut decoder = Decoder::new();
        decoder.decode(&fixture(name), &mut Vec::new()).unwrap();
        decoder.header().unwrap().clone()
    };
    let default = header("small-3.csv.lzo");
    assert_eq!((default.method, default.level), (Method::Lzo1x1, 5));
    assert_eq!(default.version, 0x1040);
    assert_eq!(default.name.as_deref(), Some("small.csv"));
    assert_eq!(default.mtime, 1_298_937_600);
    assert_eq!(default.flags & 0x1, 0x1, "adler32 of data");
    let fast = header("small-1.csv.lzo");
    assert_eq!((fast.method, fast.level), (Method::Lzo1x1_15, 1));
    let best = header("small-9.csv.lzo");
    assert_eq!((best.method, best.level), (Method::Lzo1x999, 9));
    let crc = header("small-crc32.csv.lzo");
    assert_eq!(crc.flags & 0x1100, 0x1100, "crc32 of data and header");
    assert_eq!(header("small-stdin.csv.lzo").name, None);
}

#[test]
fn broken_files_give_typed_errors_with_offsets() {
    // The first block header of small-3.csv.lzo is at byte 47.
    let err = |name| decode_all_ways(&fixture(name)).unwrap_err();
    assert!(matches!(
        err("bad-magic.csv.lzo"),
        Error::LzopMagic { offset: 0 }
    ));
    assert!(matches!(
        err("bad-header-checksum.csv.lzo"),
        Error::LzopChecksum {
            kind: ChecksumKind::Header,
            offset: 43,
            ..
        }
    ));
    assert!(matches!(
        err("bad-checksum.csv.lzo"),
        Error::LzopChecksum {
            kind: ChecksumKind::DecompressedAdler32,
            offset: 47,
            ..
        }
    ));
    let corrupt = err("corrupt-block.csv.lzo");
    assert!(
        matches!(
            corrupt,
            Error::LzopCorruptBlock { offset: 47, .. } | Error::LzopChecksum { offset: 47, .. }
        ),
        "{corrupt}"
    );
    assert!(matches!(
        err("huge-block.csv.lzo"),
        Error::LzopBlockSize { offset: 47, .. }
    ));
    assert!(matches!(
        err("truncated.csv.lzo"),
        Error::LzopTruncated { what: "block", .. }
    ));
    let len = fixture("small-3.csv.lzo").len() as u64;
    assert!(
        matches!(err("trailing-garbage.csv.lzo"), Error::LzopTrailingData { offset } if offset == len)
    );
    assert!(matches!(
        decode_all_ways(b"").unwrap_err(),
        Error::LzopTruncated { offset: 0, .. }
    ));
}

#[test]
fn random_corruptions_never_panic_nor_return_wrong_bytes() {
    let good = fixture("small-3.csv.lzo");
    let original = original();
    let mut rng = StdRng::seed_from_u64(0x1a2b);
    let cases = if cfg!(debug_assertions) { 400 } else { 3000 };
    let mut errors = 0;
    for case in 0..cases {
        let mut bytes = good.clone();
        match case % 4 {
            0 => {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            1 => bytes.truncate(rng.random_range(0..bytes.len())),
            2 => {
                for _ in 0..rng.random_range(1..8) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = rng.random();
                }
            }
            _ => {
                // Rewrite a size field of the first two blocks.
                let at = [47, 51][rng.random_range(0..2)];
                let value: u32 = rng.random();
                bytes[at..at + 4].copy_from_slice(&value.to_be_bytes());
            }
        }
        match decode_all_ways(&bytes) {
            Ok(out) => assert_eq!(out, original, "case {case} decoded to wrong bytes"),
            Err(_) => errors += 1,
        }
    }
    assert!(
        errors > cases * 9 / 10,
        "only {errors} of {cases} were rejected"
    );
}

#[test]
fn writer_round_trips_for_levels_block_sizes_and_edges() {
    let original = original();
    for level in [1, 3, 7, 9] {
        for block_size in [1, 1000, 64 * 1024, 256 * 1024, 1 << 20] {
            for parallel in [false, true] {
                let data = if block_size == 1 {
                    &original[..3000]
                } else {
                    &original[..]
                };
                let mut writer = WriterBuilder::new()
                    .with_level(level)
                    .with_block_size(block_size)
                    .with_parallel(parallel)
                    .with_compressed_checksum(level > 5)
                    .build(Vec::new())
                    .unwrap();
                for piece in data.chunks(12_345) {
                    writer.write_all(piece).unwrap();
                }
                let lzo = writer.finish().unwrap();
                assert_eq!(decode_all_ways(&lzo).unwrap(), data, "{level} {block_size}");
            }
        }
    }
    assert!(decode_all_ways(&compress(b"").unwrap()).unwrap().is_empty());
    let exact = &original[..256 * 1024];
    assert_eq!(decode_all_ways(&compress(exact).unwrap()).unwrap(), exact);
}

#[test]
fn writer_output_is_the_same_with_or_without_parallelism() {
    let original = original();
    let write = |parallel| {
        let mut writer = WriterBuilder::new()
            .with_block_size(32 * 1024)
            .with_parallel(parallel)
            .build(Vec::new())
            .unwrap();
        writer.write_all(&original).unwrap();
        writer.finish().unwrap()
    };
    assert_eq!(write(false), write(true));
}

#[test]
fn writer_refuses_bad_options() {
    for builder in [
        WriterBuilder::new().with_level(0),
        WriterBuilder::new().with_level(10),
        WriterBuilder::new().with_block_size(0),
        WriterBuilder::new().with_block_size(65 * 1024 * 1024),
        WriterBuilder::new().with_name("x".repeat(256)),
    ] {
        assert!(matches!(
            builder.build(Vec::new()).unwrap_err(),
            Error::InvalidOption { .. }
        ));
    }
}

#[test]
fn incompressible_blocks_are_stored() {
    let mut rng = StdRng::seed_from_u64(3);
    let noise: Vec<u8> = (0..100_000).map(|_| rng.random()).collect();
    let lzo = compress(&noise).unwrap();
    assert!(lzo.len() < noise.len() + 100, "{}", lzo.len());
    assert_eq!(decode_all_ways(&lzo).unwrap(), noise);
}
