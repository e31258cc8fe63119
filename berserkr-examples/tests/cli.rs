//! The `berserkr` command, run as a user runs it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn berserkr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_berserkr"))
        .args(args)
        .output()
        .expect("the berserkr binary runs")
}

fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "berserkr failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn have_lzop() -> bool {
    let found = Command::new("lzop")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: the lzop tool is not installed (apt-get install lzop; .ci/run does)");
    }
    found
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../berserkr-io/testdata/lzo")
        .join(name)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berserkr-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn lzo_commands_interoperate_with_lzop() {
    if !have_lzop() {
        return;
    }
    let dir = temp_dir("lzo");
    let original = std::fs::read(fixture("small.csv")).unwrap();
    let input = dir.join("small.csv");
    std::fs::write(&input, &original).unwrap();

    for (level, block_size) in [("1", "65536"), ("5", "262144"), ("9", "4096")] {
        let packed = dir.join(format!("small-{level}.csv.lzo"));
        ok(berserkr(&[
            "lzo",
            "compress",
            s(&input),
            "-o",
            s(&packed),
            "--level",
            level,
            "--block-size",
            block_size,
        ]));
        let tested = Command::new("lzop")
            .arg("-t")
            .arg(&packed)
            .output()
            .unwrap();
        assert!(
            tested.status.success(),
            "{}",
            String::from_utf8_lossy(&tested.stderr)
        );
        let restored = Command::new("lzop")
            .args(["-d", "-c"])
            .arg(&packed)
            .output()
            .unwrap();
        assert!(restored.stdout == original, "level {level}");
    }

    // lzop's own file, decompressed by berserkr in parallel.
    let lzop_file = dir.join("by-lzop.csv.lzo");
    std::fs::copy(fixture("small-9.csv.lzo"), &lzop_file).unwrap();
    ok(berserkr(&["lzo", "decompress", s(&lzop_file)]));
    assert!(std::fs::read(dir.join("by-lzop.csv")).unwrap() == original);
    let out = ok(berserkr(&["lzo", "test", s(&lzop_file)]));
    assert!(out.contains("OK"), "{out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_file_is_a_clear_error_and_no_output() {
    let dir = temp_dir("corrupt");
    let broken = dir.join("broken.csv.lzo");
    std::fs::copy(fixture("bad-checksum.csv.lzo"), &broken).unwrap();
    let output = berserkr(&["lzo", "test", s(&broken)]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broken.csv.lzo")
            && stderr.contains("adler32")
            && stderr.contains("offset 47"),
        "{stderr}"
    );

    let output = berserkr(&["lzo", "decompress", s(&broken)]);
    assert!(!output.status.success());
    assert!(!dir.join("broken.csv").exists());

    let output = berserkr(&["clean", s(&broken), s(&dir.join("clean.parquet"))]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.csv.lzo"), "{stderr}");
    assert!(!dir.join("clean.parquet").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn clean_writes_parquet_and_reports_every_rule() {
    let dir = temp_dir("clean");
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for name in ["small-1.csv.lzo", "small-crc32.csv.lzo"] {
        std::fs::copy(fixture(name), input.join(name)).unwrap();
    }
    let out = ok(berserkr(&[
        "clean",
        s(&input),
        s(&dir.join("out/clean.parquet.lzo")),
        "--glob",
        "*.csv.lzo",
        "--lzop",
        "--cancellations",
        s(&dir.join("out/cancellations.parquet")),
    ]));
    for line in [
        "read 2 objects",
        "exact duplicate rows",
        "cancellations (InvoiceNo C",
        "missing CustomerID",
        "non-product stock codes",
        "rows kept",
    ] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    // Both objects hold the same rows: the second is all duplicates.
    let kept: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("rows kept"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap();
    assert!(
        out.contains(&format!("clean.parquet.lzo: {kept} rows")),
        "{out}"
    );
    let parquet = std::fs::read(dir.join("out/clean.parquet.lzo")).unwrap();
    assert!(berserkr_io::lzo::is_lzop(&parquet));
    assert!(dir.join("out/cancellations.parquet").exists());

    let missing = berserkr(&[
        "clean",
        s(&dir.join("nothing-here")),
        s(&dir.join("x.parquet")),
    ]);
    assert!(!missing.status.success());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The real by-day bucket layout, cleaned end to end.
#[test]
fn clean_reads_the_real_by_day_files() {
    let by_day =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/online-retail/by-day");
    if !by_day.exists() {
        eprintln!(
            "skipped: {} not found (the real data lives in ../shared)",
            by_day.display()
        );
        return;
    }
    let dir = temp_dir("real");
    let out = ok(berserkr(&[
        "clean",
        s(&by_day),
        s(&dir.join("clean.parquet")),
    ]));
    assert!(out.contains("read 305 objects"), "{out}");
    assert!(out.contains("541909 rows"), "{out}");
    assert!(out.contains("clean.parquet: 391150 rows"), "{out}");
    // Every rule's count, as from the whole file (tests/it/real_data.rs).
    for (rule, count) in [
        ("exact duplicate rows", 5268),
        ("cancellations (InvoiceNo C...)", 9251),
        ("Quantity <= 0", 1336),
        ("UnitPrice <= 0", 1176),
        ("missing CustomerID", 132_186),
        ("non-product stock codes", 1542),
    ] {
        let line = out.lines().find(|l| l.contains(rule)).unwrap();
        assert!(line.trim_end().ends_with(&format!(" {count}")), "{line}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
