//! What the integration tests share: reading the committed fixture.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

/// A CSV with a header, as `schema`, in one batch.
pub(crate) fn read_csv(path: &Path, schema: Arc<Schema>) -> RecordBatch {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = arrow::csv::ReaderBuilder::new(schema.clone())
        .with_header(true)
        .with_batch_size(1 << 16)
        .build(file)
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    concat_batches(&schema, &batches).unwrap()
}

/// The Online Retail columns of a fixture CSV, typed.
pub(crate) fn fixture_transactions(csv: &Path) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("InvoiceNo", DataType::Utf8, false),
        Field::new("StockCode", DataType::Utf8, false),
        Field::new("Description", DataType::Utf8, true),
        Field::new("Quantity", DataType::Int64, false),
        Field::new(
            "InvoiceDate",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        Field::new("UnitPrice", DataType::Float64, false),
        Field::new("CustomerID", DataType::Float64, true),
        Field::new("Country", DataType::Utf8, false),
    ]));
    read_csv(csv, schema)
}
