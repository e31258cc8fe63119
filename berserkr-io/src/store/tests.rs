//! Tests of locations, listing, atomic writes and the retail source, on the
//! local file system and the in-memory store.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::RecordBatch;
use futures::{StreamExt, TryStreamExt};

use super::*;
use crate::lzo::WriterBuilder;
use crate::retail::ReaderBuilder;

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

/// A fresh directory under the system's temporary directory, removed when
/// dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "berserkr-store-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn location(&self, child: &str) -> Location {
        Location::parse(self.0.join(child).to_str().unwrap()).unwrap()
    }

    /// Every file below the directory, relative to it, sorted.
    fn files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.push(path.strip_prefix(root).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.0, &self.0, &mut out);
        out.sort();
        out
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `rows` rows of one day; row `i` has quantity `seed * 1000 + i`.
fn day_csv(day: u32, rows: u32, seed: u32) -> String {
    let mut csv = HEADER.to_string();
    for i in 0..rows {
        csv.push_str(&format!(
            "5{day:02}{i:03},8512{i}A,\"ITEM {i}, \"\"RED\"\"\",{},2011-01-{day:02} 08:{:02}:00,{}.5,{},United Kingdom\n",
            seed * 1000 + i,
            i % 60,
            i % 7,
            if i % 3 == 0 { String::new() } else { format!("1{i:04}.0") }
        ));
    }
    csv
}

fn lzop(data: &[u8], block_size: usize) -> Bytes {
    let mut writer = WriterBuilder::new()
        .with_block_size(block_size)
        .build(Vec::new())
        .unwrap();
    std::io::Write::write_all(&mut writer, data).unwrap();
    writer.finish().unwrap().into()
}

fn paths(objects: &[ObjectMeta]) -> Vec<&str> {
    objects.iter().map(|o| o.location.as_ref()).collect()
}

#[tokio::test]
async fn local_paths_and_file_urls_name_the_same_files() {
    let dir = TempDir::new("local");
    let root = dir.0.to_str().unwrap();

    // Parent directories are created; a path and a file URL meet.
    let by_path = Location::parse(&format!("{root}/out/day/one.csv")).unwrap();
    by_path.put(Bytes::from_static(b"hello")).await.unwrap();
    let by_url = Location::parse(&format!("file://{root}/out/day/one.csv")).unwrap();
    assert_eq!(by_url.get().await.unwrap().as_ref(), b"hello");
    assert_eq!(by_url.to_string(), format!("{root}/out/day/one.csv"));
    assert_eq!(
        std::fs::read(dir.0.join("out/day/one.csv")).unwrap(),
        b"hello"
    );

    // `.` and `..` resolve by name; the path need not exist.
    let dotted = Location::parse(&format!("{root}/out/./missing/../day/one.csv")).unwrap();
    assert_eq!(dotted.path(), by_path.path());
    let relative = Location::parse("not/yet/there.csv").unwrap();
    let expected = std::env::current_dir().unwrap().join("not/yet/there.csv");
    assert_eq!(relative.to_string(), expected.display().to_string());

    // A child joined to a directory location.
    let out = Location::parse(&format!("{root}/out/")).unwrap();
    assert_eq!(out.join("day/one.csv").path(), by_path.path());
    assert_eq!(out.join("/day//one.csv").path(), by_path.path());
    assert_eq!(
        out.join("../escape").path().as_ref(),
        format!("{}/%2E%2E/escape", out.path())
    );
}

#[tokio::test]
async fn memory_locations_share_a_store_by_name() {
    let first = Location::parse("memory://share-test/a/b.csv").unwrap();
    first.put(Bytes::from_static(b"shared")).await.unwrap();

    let again = Location::parse("memory://share-test/a/b.csv").unwrap();
    assert!(Arc::ptr_eq(first.store(), again.store()));
    assert_eq!(again.get().await.unwrap().as_ref(), b"shared");
    assert_eq!(again.to_string(), "memory://share-test/a/b.csv");

    let other = Location::parse("memory://share-test-other/a/b.csv").unwrap();
    assert!(!Arc::ptr_eq(first.store(), other.store()));
    let error = other.get().await.unwrap_err();
    assert!(
        matches!(error, Error::Store(object_store::Error::NotFound { .. })),
        "{error}"
    );

    // No name is a name too.
    let unnamed = Location::parse("memory:///x").unwrap();
    assert_eq!(unnamed.to_string(), "memory:///x");
}

/// Lays out the same objects in any store under `root`.
async fn lay_out(root: &Location) {
    for name in [
        "by-day/2011-01-02.csv.lzo",
        "by-day/2011-01-01.csv.lzo",
        "by-day/notes.txt",
        "by-day/old/2010-12-01.csv.lzo",
        "by-day-other/2011-01-03.csv.lzo",
    ] {
        root.join(name).put(Bytes::from(name)).await.unwrap();
    }
}

async fn check_listing(root: &Location) {
    let days = root.join("by-day");
    let prefix = days.path().as_ref().to_string();
    let relative = |objects: Vec<ObjectMeta>| -> Vec<String> {
        paths(&objects)
            .iter()
            .map(|p| p.strip_prefix(&prefix).unwrap().to_string())
            .collect()
    };

    let top = days.list(Some("*.csv.lzo")).await.unwrap();
    assert_eq!(
        relative(top),
        ["/2011-01-01.csv.lzo", "/2011-01-02.csv.lzo"]
    );
    let deep = days.list(Some("**/*.csv.lzo")).await.unwrap();
    assert_eq!(
        relative(deep),
        [
            "/2011-01-01.csv.lzo",
            "/2011-01-02.csv.lzo",
            "/old/2010-12-01.csv.lzo"
        ]
    );
    let all = days.list(None).await.unwrap();
    assert_eq!(all.len(), 4, "{:?}", paths(&all));

    // An object as the location: itself, without a glob.
    let one = days.join("notes.txt");
    let itself = one.list(None).await.unwrap();
    assert_eq!(paths(&itself), [one.path().as_ref()]);
    assert_eq!(itself[0].size, "by-day/notes.txt".len() as u64);

    match days.list(Some("*.parquet")).await.unwrap_err() {
        Error::NoMatch { location } => assert_eq!(location, format!("{days}/*.parquet")),
        other => panic!("{other}"),
    }
    match root.join("nothing-here").list(None).await.unwrap_err() {
        Error::NoMatch { location } => assert!(location.ends_with("/nothing-here")),
        other => panic!("{other}"),
    }
    match days.list(Some("[")).await.unwrap_err() {
        Error::InvalidLocation { location, reason } => {
            assert_eq!(location, format!("{days}/["));
            assert!(reason.starts_with("invalid glob"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[tokio::test]
async fn globs_match_below_the_location_in_memory() {
    let root = Location::parse("memory://glob-test/data").unwrap();
    lay_out(&root).await;
    check_listing(&root).await;
}

#[tokio::test]
async fn globs_match_below_the_location_on_disk() {
    let dir = TempDir::new("glob");
    let root = dir.location("data");
    lay_out(&root).await;
    check_listing(&root).await;
}

#[test]
fn invalid_locations_are_refused() {
    let reason = |location: &str| match Location::parse(location).unwrap_err() {
        Error::InvalidLocation {
            location: given,
            reason,
        } => {
            assert_eq!(given, location);
            reason
        }
        other => panic!("{location}: {other}"),
    };
    assert!(reason("").contains("empty"));
    assert!(reason("ftp://example.com/x").contains("unsupported scheme \"ftp\""));
    assert!(reason("s3:///no-bucket").contains("no bucket"));
    assert!(reason("memory://x/a?b=1").contains("query"));
    assert!(reason("memory://x/a#b").contains("fragment"));
    assert!(reason("file://host/x").contains("file:///"));
    assert!(reason("s3://bu cket/x").contains("not a valid URL"));
    #[cfg(not(feature = "aws"))]
    assert!(reason("s3://bucket/by-day").contains("`aws` cargo feature"));

    // Only a `scheme://` prefix makes a URL; the rest are paths.
    assert!(Location::parse("c:dir/file.csv").is_ok());
    assert!(Location::parse("./odd://name").is_ok());
}

#[cfg(feature = "aws")]
#[test]
fn s3_locations_parse_with_the_aws_feature() {
    let location = Location::parse("s3://bucket/by-day/").unwrap();
    assert_eq!(location.path().as_ref(), "by-day");
    assert_eq!(
        location.join("2011-01-04.csv.lzo").to_string(),
        "s3://bucket/by-day/2011-01-04.csv.lzo"
    );
}

#[tokio::test]
async fn writes_are_all_or_nothing() {
    let dir = TempDir::new("atomic");
    let target = dir.location("out/big.bin");
    let data: Vec<u8> = (0..100u8).collect();

    // Aborted multipart upload: nothing under the final name, no staging file.
    let mut writer = target.writer_with_capacity(16);
    writer.write(&data).await.unwrap();
    writer.put(Bytes::from(data.clone())).await.unwrap();
    assert_eq!(writer.bytes_written(), 200);
    assert!(!dir.0.join("out/big.bin").exists());
    assert!(matches!(
        target.list(None).await,
        Err(Error::NoMatch { .. })
    ));
    writer.abort().await.unwrap();
    assert_eq!(dir.files(), Vec::<String>::new());

    // Dropped half way: never completed.
    let mut writer = target.writer_with_capacity(16);
    writer.write(&data).await.unwrap();
    drop(writer);
    assert!(target.get().await.is_err());
    // The staging file (`big.bin#1`) goes in the background.
    for _ in 0..200 {
        if dir.files().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(dir.files(), Vec::<String>::new());

    // Finished: all of it, at once.
    let mut writer = target.writer_with_capacity(16);
    for chunk in data.chunks(7) {
        writer.write(chunk).await.unwrap();
    }
    assert_eq!(writer.finish().await.unwrap(), 100);
    assert_eq!(target.get().await.unwrap().as_ref(), data.as_slice());

    // A small output is a single put on finish.
    let small = dir.location("out/small.bin");
    let mut writer = small.writer();
    writer.write(b"small").await.unwrap();
    assert!(small.get().await.is_err());
    writer.finish().await.unwrap();
    assert_eq!(small.get().await.unwrap().as_ref(), b"small");

    // Failing writes (the parent is a file) leave nothing, and a writer
    // that failed refuses more.
    let blocked = dir.location("out/small.bin/child");
    assert!(matches!(
        blocked.put(Bytes::from_static(b"x")).await,
        Err(Error::Store(_))
    ));
    let mut writer = blocked.writer_with_capacity(16);
    assert!(matches!(writer.write(&data).await, Err(Error::Store(_))));
    match writer.write(b"more").await.unwrap_err() {
        Error::Io { path, source } => {
            assert_eq!(path, blocked.to_string());
            assert_eq!(source.kind(), std::io::ErrorKind::BrokenPipe);
        }
        other => panic!("{other}"),
    }
    let mut writer = blocked.writer();
    writer.write(b"x").await.unwrap();
    assert!(matches!(writer.finish().await, Err(Error::Store(_))));
    assert_eq!(dir.files(), ["out/big.bin", "out/small.bin"]);

    // `put` replaces an object whole.
    target.put(Bytes::from_static(b"replaced")).await.unwrap();
    assert_eq!(target.get().await.unwrap().as_ref(), b"replaced");
}

#[tokio::test]
async fn writers_in_memory_show_nothing_until_finished() {
    let target = Location::parse("memory://writer-test/out.bin").unwrap();
    let mut writer = target.writer_with_capacity(4);
    writer.write(b"0123456789").await.unwrap();
    assert!(target.get().await.is_err());
    writer.abort().await.unwrap();
    assert!(target.get().await.is_err());

    let mut writer = target.writer_with_capacity(4);
    writer.write(b"0123456789").await.unwrap();
    writer.finish().await.unwrap();
    assert_eq!(target.get().await.unwrap().as_ref(), b"0123456789");
}

/// Six days, most lzop in several blocks, one plain, one without rows.
async fn write_days(root: &Location) -> u64 {
    let mut rows = 0;
    for day in 1..=6u32 {
        let count = match day {
            4 => 0,
            _ => 40 + day * 17,
        };
        rows += u64::from(count);
        let csv = day_csv(day, count, day);
        let (name, bytes) = if day == 3 {
            (format!("2011-01-{day:02}.csv"), Bytes::from(csv))
        } else {
            (
                format!("2011-01-{day:02}.csv.lzo"),
                lzop(csv.as_bytes(), 1024),
            )
        };
        root.join(&name).put(bytes).await.unwrap();
    }
    root.join("README.md")
        .put(Bytes::from_static(b"not CSV"))
        .await
        .unwrap();
    rows
}

async fn read_all(source: RetailSource) -> (Vec<RecordBatch>, RetailStream) {
    let mut stream = source.open().await.unwrap();
    let batches = (&mut stream).try_collect().await.unwrap();
    (batches, stream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lzop_objects_read_alike_at_any_concurrency() {
    let dir = TempDir::new("source");
    let root = dir.location("by-day");
    let rows = write_days(&root).await;
    let options = ReaderBuilder::new().with_batch_size(25);

    let (one, stream) = read_all(
        RetailSource::new(root.clone())
            .with_glob("*.csv*")
            .with_options(options.clone())
            .with_concurrency(1),
    )
    .await;
    assert_eq!(one.iter().map(|b| b.num_rows() as u64).sum::<u64>(), rows);
    assert!(one.iter().all(|b| b.num_rows() <= 25));
    assert_eq!(stream.report().rows, rows);
    assert_eq!(stream.report().objects, 6);
    let progress = stream.progress();
    assert_eq!((progress.objects_done, progress.objects_total), (6, 6));
    assert_eq!(progress.bytes_read, progress.bytes_total);
    assert_eq!(
        stream.last_object().map(|o| o.location.filename()),
        Some(Some("2011-01-06.csv.lzo"))
    );

    // Quantities show the objects come in path order.
    let quantities: Vec<i64> = one
        .iter()
        .flat_map(|b| {
            b.column(3)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .unwrap()
                .values()
                .to_vec()
        })
        .collect();
    let mut sorted = quantities.clone();
    sorted.sort();
    assert_eq!(quantities, sorted);

    for concurrency in [2, 4, 16] {
        let (many, _) = read_all(
            RetailSource::new(root.clone())
                .with_glob("*.csv*")
                .with_options(options.clone())
                .with_concurrency(concurrency),
        )
        .await;
        assert_eq!(many, one, "concurrency {concurrency}");
    }

    // The same in memory, on a single-threaded runtime's terms.
    let memory = Location::parse("memory://source-test/by-day").unwrap();
    write_days(&memory).await;
    let (in_memory, _) = read_all(
        RetailSource::new(memory)
            .with_glob("*.csv*")
            .with_options(options)
            .with_concurrency(3),
    )
    .await;
    assert_eq!(in_memory, one);
}

#[tokio::test]
async fn single_objects_and_current_thread_runtimes_work() {
    let location = Location::parse("memory://single-test/day.csv.lzo").unwrap();
    location
        .put(lzop(day_csv(9, 100, 1).as_bytes(), 512))
        .await
        .unwrap();
    let (batches, stream) = read_all(RetailSource::new(location)).await;
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 100);
    assert_eq!(stream.objects().len(), 1);
    assert_eq!(stream.schema(), crate::retail::schema());
}

#[tokio::test]
async fn an_error_names_its_object() {
    let root = Location::parse("memory://error-test/by-day").unwrap();
    root.join("2011-01-01.csv.lzo")
        .put(lzop(day_csv(1, 50, 1).as_bytes(), 1024))
        .await
        .unwrap();
    // A flipped byte in the last block's payload.
    let mut corrupt = lzop(day_csv(2, 50, 2).as_bytes(), 1024).to_vec();
    let at = corrupt.len() - 20;
    corrupt[at] ^= 0x55;
    let bad = root.join("2011-01-02.csv.lzo");
    bad.put(corrupt.into()).await.unwrap();
    root.join("2011-01-03.csv.lzo")
        .put(lzop(day_csv(3, 50, 3).as_bytes(), 1024))
        .await
        .unwrap();

    for concurrency in [1, 3] {
        let mut stream = RetailSource::new(root.clone())
            .with_concurrency(concurrency)
            .open()
            .await
            .unwrap();
        let mut rows = 0;
        let error = loop {
            match stream.next().await {
                Some(Ok(batch)) => rows += batch.num_rows(),
                Some(Err(error)) => break error,
                None => panic!("no error"),
            }
        };
        // The first object's rows come first, then the error; then nothing.
        assert_eq!(rows, 50);
        match &error {
            Error::InObject { object, source } => {
                assert_eq!(object, &bad.to_string());
                assert!(
                    matches!(
                        **source,
                        Error::LzopChecksum { .. } | Error::LzopCorruptBlock { .. }
                    ),
                    "{source}"
                );
            }
            other => panic!("{other}"),
        }
        assert!(
            error
                .to_string()
                .starts_with("memory://error-test/by-day/2011-01-02.csv.lzo: "),
            "{error}"
        );
        assert!(stream.next().await.is_none());
    }

    // CSV errors name the object themselves.
    let header_only = root.join("2011-01-04.csv");
    header_only
        .put(Bytes::from_static(b"InvoiceNo,StockCode\n1,2\n"))
        .await
        .unwrap();
    let error = RetailSource::new(header_only.clone())
        .open()
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match error {
        Error::MissingColumn { object, .. } => assert_eq!(object, header_only.to_string()),
        other => panic!("{other}"),
    }

    // A truncated lzop object.
    let truncated = root.join("2011-01-05.csv.lzo");
    let whole = lzop(day_csv(5, 50, 5).as_bytes(), 1024);
    truncated.put(whole.slice(..whole.len() - 9)).await.unwrap();
    let error = RetailSource::new(truncated.clone())
        .open()
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InObject { object, source }
            if *object == truncated.to_string()
            && matches!(**source, Error::LzopTruncated { .. })),
        "{error}"
    );

    // Nothing to read is an error before any fetch.
    let error = RetailSource::new(root.clone())
        .with_glob("*.parquet")
        .open()
        .await
        .unwrap_err();
    assert!(matches!(error, Error::NoMatch { .. }), "{error}");
}

#[tokio::test]
async fn dropping_the_stream_stops_it() {
    let root = Location::parse("memory://drop-test/by-day").unwrap();
    write_days(&root).await;
    let mut stream = RetailSource::new(root)
        .with_glob("*.csv*")
        .with_options(ReaderBuilder::new().with_batch_size(10))
        .with_concurrency(2)
        .open()
        .await
        .unwrap();
    assert!(stream.next().await.unwrap().is_ok());
    assert!(stream.progress().objects_done < 6);
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_are_fetched_ahead_up_to_the_concurrency() {
    let root = Location::parse("memory://ahead-test/by-day").unwrap();
    write_days(&root).await;
    for concurrency in [1, 3] {
        let mut stream = RetailSource::new(root.clone())
            .with_glob("*.csv.lzo")
            .with_options(ReaderBuilder::new().with_batch_size(10))
            .with_concurrency(concurrency)
            .open()
            .await
            .unwrap();
        let ahead: u64 = stream.objects()[..concurrency].iter().map(|o| o.size).sum();
        assert!(stream.next().await.unwrap().is_ok());
        // The first `concurrency` objects are fetched while the first is
        // yielded, and no more until the stream moves on.
        let mut waited = 0;
        while stream.progress().bytes_read < ahead && waited < 500 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            waited += 1;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(
            stream.progress().bytes_read,
            ahead,
            "concurrency {concurrency}"
        );
        let rest: Vec<RecordBatch> = stream.try_collect().await.unwrap();
        assert!(!rest.is_empty());
    }
}

/// `rows` rows whose descriptions are pseudo-random hex, which lzop cannot
/// shrink much: objects well above the 1 MiB fed at a time.
fn big_csv(rows: u32) -> String {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut csv = HEADER.to_string();
    for i in 0..rows {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        csv.push_str(&format!(
            "{},{},\"{state:016x}{:016x}, x\",{},2011-02-0{} 10:{:02}:00,{}.25,{},Norway\n",
            600_000 + i / 4,
            20_000 + i % 500,
            state.rotate_left(29),
            i % 50,
            1 + i % 9,
            i % 60,
            i % 13,
            if i % 5 == 0 {
                String::new()
            } else {
                format!("{}.0", 12_000 + i % 700)
            }
        ));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_objects_stream_in_pieces() {
    use arrow::compute::concat_batches;

    const ROWS: usize = 30_000;
    let csv = big_csv(ROWS as u32);
    let compressed = lzop(csv.as_bytes(), 256 * 1024);
    // Both objects take several feeds.
    assert!(compressed.len() > source::FEED_BYTES);
    assert!(csv.len() > 2 * source::FEED_BYTES);
    let expected = {
        let batches = ReaderBuilder::new()
            .build(csv.as_bytes(), "expected")
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap();
        concat_batches(&crate::retail::schema(), &batches).unwrap()
    };

    let dir = TempDir::new("large");
    let memory = Location::parse("memory://large-test/feb").unwrap();
    for root in [dir.location("feb"), memory] {
        root.join("a.csv.lzo")
            .put(compressed.clone())
            .await
            .unwrap();
        root.join("b.csv")
            .put(Bytes::from(csv.clone()))
            .await
            .unwrap();
        for concurrency in [1, 2] {
            let (batches, stream) = read_all(
                RetailSource::new(root.clone())
                    .with_options(ReaderBuilder::new().with_chunk_bytes(256 * 1024))
                    .with_concurrency(concurrency),
            )
            .await;
            let all = concat_batches(&crate::retail::schema(), &batches).unwrap();
            assert_eq!(all.num_rows(), 2 * ROWS);
            assert_eq!(all.slice(0, ROWS), expected, "{root}");
            assert_eq!(all.slice(ROWS, ROWS), expected, "{root}");
            assert_eq!(stream.report().bytes, 2 * csv.len() as u64);
        }
    }

    // A corrupt block far into a large object.
    let mut corrupt = compressed.to_vec();
    let at = corrupt.len() - 1000;
    corrupt[at] ^= 0x0F;
    let bad = Location::parse("memory://large-test/bad.csv.lzo").unwrap();
    bad.put(corrupt.into()).await.unwrap();
    let error = RetailSource::new(bad.clone())
        .open()
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::InObject { object, .. } if *object == bad.to_string()),
        "{error}"
    );
}
