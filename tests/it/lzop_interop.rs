//! berserkr's lzop container against the real `lzop` tool, both ways.

use std::io::Write;
use std::process::Command;

use berserkr::io::lzo::{self, Checksum, WriterBuilder};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::common::{have_lzop, run, shared_data, temp_dir};

/// Every `.lzo` file of the real data decodes to exactly what `lzop -d`
/// gives, sequentially and in parallel.
#[test]
fn every_real_lzo_file_decodes_as_lzop_does() {
    let (Some(dir), true) = (shared_data("online-retail"), have_lzop()) else {
        return;
    };
    let mut files: Vec<_> = std::fs::read_dir(dir.join("by-day"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.push(dir.join("online_retail.csv.lzo"));
    assert_eq!(files.len(), 306);
    for file in &files {
        let expected = run(Command::new("lzop").args(["-d", "-c"]).arg(file));
        let compressed = std::fs::read(file).unwrap();
        let sequential = lzo::decompress(&compressed).unwrap();
        assert!(sequential == expected, "{}", file.display());
        let parallel = lzo::decompress_parallel(&compressed).unwrap();
        assert!(parallel == expected, "{}", file.display());
    }
}

fn csv_like(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(len + 100);
    while out.len() < len {
        let line = format!(
            "{},{}{},ITEM {},{},2011-0{}-1{} 1{}:0{}:00,{}.{:02},{}.0,United Kingdom\n",
            536_365 + rng.random_range(0..20_000),
            rng.random_range(10_000..90_000),
            ["", "A", "B"][rng.random_range(0..3)],
            rng.random_range(0..500),
            rng.random_range(1..50),
            rng.random_range(1..10),
            rng.random_range(0..10),
            rng.random_range(0..10),
            rng.random_range(0..10),
            rng.random_range(0..20),
            rng.random_range(0..100),
            rng.random_range(12_346..18_288),
        );
        out.extend_from_slice(line.as_bytes());
    }
    out.truncate(len);
    out
}

/// What berserkr writes passes `lzop -t`, and `lzop -d` restores it
/// exactly: several levels and block sizes, both checksum families, empty
/// input, input of exactly one block, and incompressible input.
#[test]
fn lzop_tests_and_restores_what_berserkr_writes() {
    if !have_lzop() {
        return;
    }
    let dir = temp_dir("lzop-interop");
    let mut noise = vec![0u8; 300_000];
    StdRng::seed_from_u64(7).fill(&mut noise[..]);
    let cases: Vec<(&str, Vec<u8>, u8, usize, Checksum)> = vec![
        ("empty", Vec::new(), 5, 256 * 1024, Checksum::Adler32),
        ("one-byte", b"x".to_vec(), 5, 256 * 1024, Checksum::Adler32),
        (
            "one-block",
            csv_like(256 * 1024, 1),
            5,
            256 * 1024,
            Checksum::Adler32,
        ),
        (
            "level-1",
            csv_like(900_000, 2),
            1,
            256 * 1024,
            Checksum::Adler32,
        ),
        (
            "level-3-crc",
            csv_like(700_000, 3),
            3,
            64 * 1024,
            Checksum::Crc32,
        ),
        (
            "level-7",
            csv_like(500_000, 4),
            7,
            128 * 1024,
            Checksum::Adler32,
        ),
        (
            "level-9-small-blocks",
            csv_like(300_000, 5),
            9,
            4096,
            Checksum::Crc32,
        ),
        ("noise", noise, 5, 256 * 1024, Checksum::Adler32),
    ];
    for (name, data, level, block_size, checksum) in cases {
        for compressed_checksum in [false, true] {
            let path = dir.join(format!("{name}-{compressed_checksum}.csv.lzo"));
            let mut writer = WriterBuilder::new()
                .with_level(level)
                .with_block_size(block_size)
                .with_checksum(checksum)
                .with_compressed_checksum(compressed_checksum)
                .with_name(format!("{name}.csv"))
                .build(Vec::new())
                .unwrap();
            writer.write_all(&data).unwrap();
            std::fs::write(&path, writer.finish().unwrap()).unwrap();
            run(Command::new("lzop").arg("-t").arg(&path));
            let restored = run(Command::new("lzop").args(["-d", "-c"]).arg(&path));
            assert!(restored == data, "{name}: lzop -d differs");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Files `lzop` writes from this machine's data, at each of its levels,
/// decode to the original.
#[test]
fn berserkr_reads_what_lzop_writes_at_every_level() {
    if !have_lzop() {
        return;
    }
    let dir = temp_dir("lzop-levels");
    let data = csv_like(600_000, 9);
    let original = dir.join("data.csv");
    std::fs::write(&original, &data).unwrap();
    for level in ["-1", "-3", "-5", "-7", "-9"] {
        // Adler-32 is lzop's default; it has no flag for it.
        for checksum in [None, Some("--crc32")] {
            let compressed = run(Command::new("lzop")
                .arg(level)
                .args(checksum)
                .arg("-c")
                .arg(&original));
            assert_eq!(
                lzo::decompress(&compressed).unwrap(),
                data,
                "{level} {checksum:?}"
            );
            assert_eq!(
                lzo::decompress_parallel(&compressed).unwrap(),
                data,
                "{level} {checksum:?}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Random corruptions of a real daily file: every one is an error or, when
/// the damage misses everything that matters, the exact original bytes;
/// never a panic, never other bytes.
#[test]
fn corruptions_of_a_real_file_are_errors_or_harmless() {
    let Some(path) = shared_data("online-retail/by-day/2011-11-14.csv.lzo") else {
        return;
    };
    let original_file = std::fs::read(path).unwrap();
    let original = lzo::decompress(&original_file).unwrap();
    let mut rng = StdRng::seed_from_u64(14);
    let (mut errors, mut harmless) = (0, 0);
    for _ in 0..600 {
        let mut file = original_file.clone();
        match rng.random_range(0..3) {
            0 => {
                let at = rng.random_range(0..file.len());
                file[at] ^= 1 << rng.random_range(0..8);
            }
            1 => file.truncate(rng.random_range(0..file.len())),
            _ => {
                for _ in 0..rng.random_range(1..8) {
                    let at = rng.random_range(0..file.len());
                    file[at] = rng.random();
                }
            }
        }
        let sequential = lzo::decompress(&file);
        let parallel = lzo::decompress_parallel(&file);
        let mut streamed = Vec::new();
        let streaming =
            std::io::Read::read_to_end(&mut lzo::Reader::new(file.as_slice()), &mut streamed);
        match (sequential, parallel, streaming) {
            (Ok(a), Ok(b), Ok(_)) => {
                assert!(a == original && b == original && streamed == original);
                harmless += 1;
            }
            (Err(a), Err(b), Err(_)) => {
                assert_eq!(a.to_string(), b.to_string());
                errors += 1;
            }
            (a, b, c) => panic!(
                "the paths disagree: {:?} {:?} {:?}",
                a.map(|v| v.len()),
                b.map(|v| v.len()),
                c
            ),
        }
    }
    assert!(errors > 500, "{errors} errors, {harmless} harmless");
}
