//! The Online Retail entity set in one call.
//!
//! [`retail_entityset`] takes a table of transactions with the Online Retail
//! columns (as `berserkr-io`'s reader and cleaner produce them, or any table
//! with the same names) and builds the entity set every berserkr pipeline and
//! parity test uses, the one Featuretools users build by hand:
//!
//! ```text
//! customers (CustomerID, Country)          products (StockCode, Description)
//!     ^ CustomerID                              ^ StockCode
//! invoices (InvoiceNo, CustomerID, Country)     |
//!     ^ InvoiceNo                               |
//! transactions (transaction_id, InvoiceNo, StockCode, Quantity,
//!               InvoiceDate, UnitPrice) -------+
//! ```
//!
//! `transaction_id` is the row number, the time index is `InvoiceDate`,
//! `Description` is natural language, and each parent's time index is the
//! time of its first transaction (`first_transactions_time`,
//! `first_invoices_time`), exactly as Featuretools' `normalize_dataframe`
//! makes them. This module knows column names only; it does not depend on
//! `berserkr-io`.
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
//! # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! use berserkr_features::retail::retail_entityset;
//!
//! # let schema = Arc::new(Schema::new(vec![
//! #     Field::new("InvoiceNo", DataType::Utf8, false),
//! #     Field::new("StockCode", DataType::Utf8, false),
//! #     Field::new("Description", DataType::Utf8, true),
//! #     Field::new("Quantity", DataType::Int64, false),
//! #     Field::new("InvoiceDate", DataType::Timestamp(TimeUnit::Microsecond, None), false),
//! #     Field::new("UnitPrice", DataType::Float64, false),
//! #     Field::new("CustomerID", DataType::Int64, true),
//! #     Field::new("Country", DataType::Utf8, false),
//! # ]));
//! # let transactions = RecordBatch::try_new(schema, vec![
//! #     Arc::new(StringArray::from(vec!["536365", "536365", "536366"])),
//! #     Arc::new(StringArray::from(vec!["85123A", "71053", "85123A"])),
//! #     Arc::new(StringArray::from(vec![Some("WHITE HANGING HEART"), None, Some("WHITE HANGING HEART")])),
//! #     Arc::new(Int64Array::from(vec![6, 6, 2])),
//! #     Arc::new(TimestampMicrosecondArray::from(vec![0, 0, 60_000_000])),
//! #     Arc::new(Float64Array::from(vec![2.55, 3.39, 2.55])),
//! #     Arc::new(Int64Array::from(vec![17850, 17850, 13047])),
//! #     Arc::new(StringArray::from(vec!["United Kingdom"; 3])),
//! # ]).unwrap();
//! // `transactions`: a RecordBatch with the Online Retail columns.
//! let es = retail_entityset(&transactions)?;
//! assert_eq!(es.dataframe("customers")?.num_rows(), 2);
//! assert_eq!(es.dataframe("products")?.num_rows(), 2);
//! # Ok::<(), berserkr_features::Error>(())
//! ```

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};

use crate::entityset::{DataframeBuilder, EntitySet};
use crate::error::{Error, Result};
use crate::schema::LogicalType;

/// The columns [`retail_entityset`] needs, by their Online Retail names.
pub const RETAIL_COLUMNS: [&str; 8] = [
    "InvoiceNo",
    "StockCode",
    "Description",
    "Quantity",
    "InvoiceDate",
    "UnitPrice",
    "CustomerID",
    "Country",
];

/// Builds the retail entity set (transactions, invoices, customers,
/// products) from a table of transactions; see the [module](self) docs.
///
/// Other columns of `transactions` stay on the transactions dataframe.
/// `CustomerID` may be integer or float (as the CSV writes it); a missing
/// column is [`Error::UnknownColumn`].
pub fn retail_entityset(transactions: &RecordBatch) -> Result<EntitySet> {
    for name in RETAIL_COLUMNS {
        if transactions.column_by_name(name).is_none() {
            return Err(Error::UnknownColumn {
                dataframe: "transactions".to_string(),
                column: name.to_string(),
            });
        }
    }
    let rows = transactions.num_rows() as i64;
    let mut fields = vec![Field::new("transaction_id", DataType::Int64, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(0..rows))];
    for (field, column) in transactions
        .schema()
        .fields()
        .iter()
        .zip(transactions.columns())
    {
        if field.name() == "CustomerID" && field.data_type() != &DataType::Int64 {
            fields.push(Field::new("CustomerID", DataType::Int64, true));
            columns.push(cast(column, &DataType::Int64)?);
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    let mut es = EntitySet::new("retail");
    es.add_dataframe(
        DataframeBuilder::new("transactions", batch, "transaction_id")
            .with_time_index("InvoiceDate")
            .with_logical_type("Description", LogicalType::NaturalLanguage),
    )?;
    es.normalize(
        "transactions",
        "invoices",
        "InvoiceNo",
        &["CustomerID", "Country"],
    )?;
    es.normalize("invoices", "customers", "CustomerID", &["Country"])?;
    es.normalize("transactions", "products", "StockCode", &["Description"])?;
    Ok(es)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;

    #[test]
    fn a_missing_column_is_named() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "InvoiceNo",
            DataType::Utf8,
            false,
        )]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(StringArray::from(vec!["1"]))]).unwrap();
        let error = retail_entityset(&batch).unwrap_err().to_string();
        assert!(error.contains("StockCode"), "{error}");
    }
}
