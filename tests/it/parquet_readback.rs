//! Our Parquet read back by another reader: pyarrow, and for
//! `.parquet.lzo` the real `lzop` unwrapping it first.

use std::process::Command;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};
use berserkr::io::clean::Cleaner;
use berserkr::io::parquet::{Compression, WriterBuilder};
use berserkr::io::retail::{ReaderBuilder, schema};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;

use crate::common::{have_lzop, python, run, temp_dir};

/// What pyarrow says of a Parquet file: rows, schema, and sums and extremes
/// that any wrong value would change.
const SUMMARY: &str = r#"
import sys, pyarrow.parquet as pq, pyarrow.compute as pc
t = pq.read_table(sys.argv[1])
print(t.num_rows)
print(",".join(f"{f.name}:{f.type}" for f in t.schema))
print(pc.sum(t["Quantity"]).as_py())
print(repr(pc.sum(t["UnitPrice"]).as_py()))
print(pc.sum(t["CustomerID"]).as_py())
print(t["Description"].null_count)
print(pc.min(t["InvoiceDate"]).value, pc.max(t["InvoiceDate"]).value)
print(sum(len(s) for s in t["StockCode"].to_pylist()))
print(pq.ParquetFile(sys.argv[1]).metadata.row_group(0).column(0).compression)
"#;

fn our_summary(batch: &RecordBatch, compression: &str) -> String {
    let quantity: i64 = batch
        .column(3)
        .as_primitive::<Int64Type>()
        .iter()
        .flatten()
        .sum();
    let price: f64 = batch
        .column(5)
        .as_primitive::<Float64Type>()
        .iter()
        .flatten()
        .sum();
    let customers: i64 = batch
        .column(6)
        .as_primitive::<Int64Type>()
        .iter()
        .flatten()
        .sum();
    let dates = batch.column(4).as_primitive::<TimestampMicrosecondType>();
    let (min, max) = (
        dates.iter().flatten().min().unwrap(),
        dates.iter().flatten().max().unwrap(),
    );
    let codes: usize = batch
        .column(1)
        .as_string::<i32>()
        .iter()
        .flatten()
        .map(|s| s.chars().count())
        .sum();
    format!(
        "{}\nInvoiceNo:string,StockCode:string,Description:string,Quantity:int64,\
         InvoiceDate:timestamp[us],UnitPrice:double,CustomerID:int64,Country:string\n\
         {quantity}\n{price:?}\n{customers}\n{}\n{min} {max}\n{codes}\n{compression}\n",
        batch.num_rows(),
        batch.column(2).null_count(),
    )
}

#[tokio::test]
async fn pyarrow_reads_our_parquet() {
    let Some(python) = python() else {
        return;
    };
    let dir = temp_dir("parquet-readback");
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/berserkr-io/testdata/lzo/small.csv"
    );
    let mut cleaner = Cleaner::new();
    let mut batches = Vec::new();
    for batch in ReaderBuilder::new().open(fixture).unwrap() {
        batches.push(cleaner.clean(&batch.unwrap()).unwrap().kept);
    }
    let clean = concat_batches(&schema(), &batches).unwrap();
    assert!(clean.num_rows() > 1000);

    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&dir).unwrap());
    for (compression, name) in [
        (Compression::ZSTD(Default::default()), "ZSTD"),
        (Compression::SNAPPY, "SNAPPY"),
        (Compression::UNCOMPRESSED, "UNCOMPRESSED"),
    ] {
        for lzop in [false, true] {
            if lzop && !have_lzop() {
                continue;
            }
            let file = format!("clean-{name}.parquet{}", if lzop { ".lzo" } else { "" });
            let mut writer = WriterBuilder::new()
                .with_compression(compression)
                .with_max_row_group_size(1000)
                .with_lzop(lzop)
                .build(store.clone(), Path::from(file.as_str()), clean.schema())
                .await
                .unwrap();
            writer.write(&clean).await.unwrap();
            writer.finish().await.unwrap();

            let mut parquet = dir.join(&file);
            if lzop {
                // The real lzop unwraps it: the container is lzop's own.
                let unwrapped = dir.join(format!("unwrapped-{name}.parquet"));
                run(Command::new("lzop")
                    .args(["-d", "-f", "-o"])
                    .arg(&unwrapped)
                    .arg(&parquet));
                parquet = unwrapped;
            }
            let theirs = run(Command::new(&python).args(["-c", SUMMARY]).arg(&parquet));
            let theirs = String::from_utf8(theirs).unwrap();
            let ours = our_summary(&clean, name);
            for (line, (a, b)) in theirs.lines().zip(ours.lines()).enumerate() {
                if line == 3 {
                    // A float sum: pyarrow adds pairwise, we in order.
                    let (a, b): (f64, f64) = (a.parse().unwrap(), b.parse().unwrap());
                    assert!((a - b).abs() <= 1e-9 * a.abs(), "{file}: {a} vs {b}");
                } else {
                    assert_eq!(a, b, "{file}, line {line}");
                }
            }
            assert_eq!(theirs.lines().count(), ours.lines().count());
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
