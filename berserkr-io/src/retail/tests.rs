//! Tests of the Online Retail reader on inline CSV and the lzop fixtures.

use arrow::array::{Array, AsArray};
use arrow::compute::concat_batches;
use arrow::datatypes::{Float64Type, Int64Type, TimestampMicrosecondType};

use super::*;
use crate::Error;

const HEADER: &str =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

fn read(csv: &str, builder: ReaderBuilder) -> Result<arrow::array::RecordBatch, Error> {
    let batches = builder
        .build(csv.as_bytes(), "test.csv")?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(concat_batches(&schema(), &batches)?)
}

fn fixture(name: &str) -> std::path::PathBuf {
    format!("{}/testdata/lzo/{name}", env!("CARGO_MANIFEST_DIR")).into()
}

#[test]
fn reads_typed_values() {
    let csv = format!(
        "{HEADER}536365,85123A,\"WHITE HANGING HEART, T-LIGHT\",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
         C536379,D,Discount,-1,2010-12-01 09:41:00,27.5,14527.0,United Kingdom\n\
         536414,22139,,56,2010-12-01 11:52:00,0.0,,United Kingdom"
    );
    let batch = read(&csv, ReaderBuilder::new()).unwrap();
    assert_eq!(batch.num_rows(), 3);
    let text = |c: Column, r| {
        batch
            .column(c.index())
            .as_string::<i32>()
            .value(r)
            .to_string()
    };
    assert_eq!(text(Column::Description, 0), "WHITE HANGING HEART, T-LIGHT");
    assert_eq!(text(Column::InvoiceNo, 1), "C536379");
    assert!(batch.column(Column::Description.index()).is_null(2));
    let quantity = batch
        .column(Column::Quantity.index())
        .as_primitive::<Int64Type>();
    assert_eq!(quantity.values(), &[6, -1, 56]);
    let price = batch
        .column(Column::UnitPrice.index())
        .as_primitive::<Float64Type>();
    assert_eq!(price.value(1), 27.5);
    let customer = batch
        .column(Column::CustomerId.index())
        .as_primitive::<Int64Type>();
    assert_eq!(customer.value(0), 17850);
    assert!(customer.is_null(2));
    let date = batch
        .column(Column::InvoiceDate.index())
        .as_primitive::<TimestampMicrosecondType>();
    assert_eq!(date.value(0), 1_291_191_960_000_000);
}

#[test]
fn both_header_variants_and_date_styles_agree() {
    let one =
        format!("{HEADER}536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n");
    let two = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\r\n\
               536365,85123A,HEART,6,12/1/2010 8:26,2.55,17850,United Kingdom\r\n";
    let a = read(&one, ReaderBuilder::new()).unwrap();
    let b = read(two, ReaderBuilder::new()).unwrap();
    assert_eq!(a, b);
    // Columns in another order, and an extra one, are fine.
    let shuffled = "Country,Extra,CustomerID,UnitPrice,InvoiceDate,Quantity,Description,StockCode,InvoiceNo\n\
                    United Kingdom,x,17850.0,2.55,2010-12-01 08:26:00,6,HEART,85123A,536365\n";
    assert_eq!(read(shuffled, ReaderBuilder::new()).unwrap(), a);
}

#[test]
fn malformed_rows_name_object_line_and_column() {
    let csv = format!(
        "{HEADER}536365,85123A,\"two\nlines\",6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
         536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,17850.5,United Kingdom\n\
         536367,22633,HAND WARMER,6,2010-13-01 08:28:00,1.85,,United Kingdom\n\
         536368,22633,HAND WARMER,6\n\
         536369,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
    );
    let err = read(&csv, ReaderBuilder::new()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test.csv: line 4, column \"CustomerID\": \"17850.5\" is not a whole customer id"
    );
    let mut reader = ReaderBuilder::new()
        .with_skip_malformed(true)
        .build(csv.as_bytes(), "test.csv")
        .unwrap();
    let rows: usize = reader.by_ref().map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 2);
    let report = reader.report();
    assert_eq!(report.malformed_rows, 3);
    let lines: Vec<String> = report
        .malformed_examples
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        lines[1].contains("line 5, column \"InvoiceDate\""),
        "{lines:?}"
    );
    assert!(
        lines[2].contains("line 6, column \"<row>\": expected 8 fields, found 4"),
        "{lines:?}"
    );
}

#[test]
fn invalid_utf8_is_named_by_line_and_column_or_skipped() {
    let mut csv = format!(
        "{HEADER}536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
         536366,22633,HAND WARMER,6,2010-12-01 08:28:00,1.85,17850.0,United Kingdom\n"
    )
    .into_bytes();
    // The Description of line 3 gets a byte that is never UTF-8.
    let at = csv.windows(4).position(|w| w == b"HAND").unwrap();
    csv[at + 1] = 0xff;
    let read_bytes = |builder: ReaderBuilder| -> crate::Result<(usize, u64)> {
        let mut reader = builder.build(csv.as_slice(), "test.csv")?;
        let mut rows = 0;
        for batch in reader.by_ref() {
            rows += batch?.num_rows();
        }
        Ok((rows, reader.report().malformed_rows))
    };
    let err = read_bytes(ReaderBuilder::new()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("test.csv: line 3, column \"Description\": invalid UTF-8"),
        "{err}"
    );
    assert_eq!(
        read_bytes(ReaderBuilder::new().with_skip_malformed(true)).unwrap(),
        (1, 1)
    );
}

#[test]
fn a_missing_column_is_named() {
    let csv = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,CustomerID,Country\n";
    let err = read(csv, ReaderBuilder::new()).unwrap_err();
    assert!(
        matches!(&err, Error::MissingColumn { column, object, .. } if column == "UnitPrice" && object == "test.csv"),
        "{err}"
    );
}

#[test]
fn header_only_and_empty_inputs() {
    assert_eq!(read(HEADER, ReaderBuilder::new()).unwrap().num_rows(), 0);
    assert!(matches!(
        read("", ReaderBuilder::new()).unwrap_err(),
        Error::MissingColumn { .. }
    ));
}

#[test]
fn lzop_and_plain_give_the_same_batches_in_parallel_or_not() {
    let plain = read(
        &std::fs::read_to_string(fixture("small.csv")).unwrap(),
        ReaderBuilder::new().with_parallel(false),
    )
    .unwrap();
    assert!(plain.num_rows() > 3000);
    for name in ["small-3.csv.lzo", "small-9.csv.lzo"] {
        let batches = ReaderBuilder::new()
            .with_chunk_bytes(64 * 1024)
            .with_batch_size(1000)
            .open(fixture(name))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert!(batches.iter().all(|b| b.num_rows() <= 1000));
        assert_eq!(
            concat_batches(&schema(), &batches).unwrap(),
            plain,
            "{name}"
        );
    }
}

#[test]
fn a_corrupt_lzop_input_keeps_its_typed_error() {
    let err = ReaderBuilder::new()
        .open(fixture("bad-checksum.csv.lzo"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_err();
    assert!(
        matches!(err, Error::LzopChecksum { offset: 47, .. }),
        "{err}"
    );
}
