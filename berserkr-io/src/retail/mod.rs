//! The Online Retail data set as typed Arrow: plain or lzop CSV, read with
//! both header variants and both date styles in the wild.
//!
//! | column | Arrow type | nullable | header names accepted |
//! |---|---|---|---|
//! | `InvoiceNo` | `Utf8` | no | `InvoiceNo`, `Invoice` |
//! | `StockCode` | `Utf8` | no | `StockCode` |
//! | `Description` | `Utf8` | yes | `Description` |
//! | `Quantity` | `Int64` | no | `Quantity` |
//! | `InvoiceDate` | `Timestamp(Microsecond, None)` | no | `InvoiceDate` |
//! | `UnitPrice` | `Float64` | no | `UnitPrice`, `Price` |
//! | `CustomerID` | `Int64` | yes | `CustomerID`, `Customer ID` |
//! | `Country` | `Utf8` | no | `Country` |
//!
//! The first names are the UCI "Online Retail" export's, the second the
//! "Online Retail II" release's. Dates may be ISO (`2010-12-01 08:26:00`) or
//! month first (`12/1/2010 8:26`), told apart by their shape, never by their
//! numbers (see [`DateStyle`]). `CustomerID` may be written as a float
//! (`17850.0`); a real fraction is an error, not a rounding.
//!
//! A malformed row (wrong number of fields, a value that does not parse,
//! invalid UTF-8) is an [`Error::MalformedRow`]
//! naming the object, the line and the column; with
//! [`ReaderBuilder::with_skip_malformed`] it is skipped and counted in the
//! [`ReadReport`] instead.
//!
//! # Basic usage
//!
//! ```
//! use berserkr_io::retail::ReaderBuilder;
//!
//! let csv = "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n\
//!            489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,12/1/2009 7:45,6.95,13085.0,United Kingdom\n";
//! let mut reader = ReaderBuilder::new().build(csv.as_bytes(), "retail_ii.csv")?;
//! let batch = reader.next().expect("a batch")?;
//! assert_eq!(batch.schema(), berserkr_io::retail::schema());
//! assert_eq!(batch.num_rows(), 1);
//! # Ok::<(), berserkr_io::Error>(())
//! ```

mod decoder;
mod fields;
mod reader;

use std::fmt;
use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

pub use decoder::Decoder;
pub use fields::DateStyle;
pub use reader::{Reader, ReaderBuilder};

use crate::Error;

/// The columns of the Online Retail schema, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Column {
    /// Invoice number; a leading `C` marks a cancellation.
    InvoiceNo,
    /// Product (item) code.
    StockCode,
    /// Product name.
    Description,
    /// Units per line; negative for returns and adjustments.
    Quantity,
    /// When the invoice was made.
    InvoiceDate,
    /// Price per unit in pounds sterling.
    UnitPrice,
    /// Customer number, missing for guest checkouts.
    CustomerId,
    /// The customer's country.
    Country,
}

impl Column {
    /// Every column, in schema order.
    pub const ALL: [Column; 8] = [
        Column::InvoiceNo,
        Column::StockCode,
        Column::Description,
        Column::Quantity,
        Column::InvoiceDate,
        Column::UnitPrice,
        Column::CustomerId,
        Column::Country,
    ];

    /// The column's name in the schema.
    pub fn name(self) -> &'static str {
        self.header_names()[0]
    }

    /// The header names that map to this column.
    pub fn header_names(self) -> &'static [&'static str] {
        match self {
            Column::InvoiceNo => &["InvoiceNo", "Invoice"],
            Column::StockCode => &["StockCode"],
            Column::Description => &["Description"],
            Column::Quantity => &["Quantity"],
            Column::InvoiceDate => &["InvoiceDate"],
            Column::UnitPrice => &["UnitPrice", "Price"],
            Column::CustomerId => &["CustomerID", "Customer ID"],
            Column::Country => &["Country"],
        }
    }

    /// The column's position in [`schema`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// The typed Online Retail schema.
///
/// ```
/// let schema = berserkr_io::retail::schema();
/// assert_eq!(schema.field(6).name(), "CustomerID");
/// assert!(schema.field(6).is_nullable());
/// ```
pub fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                Field::new("InvoiceNo", DataType::Utf8, false),
                Field::new("StockCode", DataType::Utf8, false),
                Field::new("Description", DataType::Utf8, true),
                Field::new("Quantity", DataType::Int64, false),
                Field::new(
                    "InvoiceDate",
                    DataType::Timestamp(fields::TIME_UNIT, None),
                    false,
                ),
                Field::new("UnitPrice", DataType::Float64, false),
                Field::new("CustomerID", DataType::Int64, true),
                Field::new("Country", DataType::Utf8, false),
            ]))
        })
        .clone()
}

/// What a read did: objects, bytes, rows, and the malformed rows skipped.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ReadReport {
    /// Objects (files) read.
    pub objects: u64,
    /// Decompressed CSV bytes read.
    pub bytes: u64,
    /// Data rows read into batches.
    pub rows: u64,
    /// Malformed rows skipped (only with `with_skip_malformed(true)`).
    pub malformed_rows: u64,
    /// The first few malformed rows, as the errors they would have been.
    pub malformed_examples: Vec<Error>,
}

impl ReadReport {
    /// Adds `other` to this report.
    pub fn merge(&mut self, other: ReadReport) {
        self.objects += other.objects;
        self.bytes += other.bytes;
        self.rows += other.rows;
        self.malformed_rows += other.malformed_rows;
        let room = 10usize.saturating_sub(self.malformed_examples.len());
        self.malformed_examples
            .extend(other.malformed_examples.into_iter().take(room));
    }
}

impl fmt::Display for ReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "objects read     {:>12}", self.objects)?;
        writeln!(f, "CSV bytes read   {:>12}", self.bytes)?;
        writeln!(
            f,
            "rows read        {:>12}",
            self.rows + self.malformed_rows
        )?;
        writeln!(f, "malformed rows   {:>12}", self.malformed_rows)?;
        write!(f, "rows parsed      {:>12}", self.rows)?;
        for example in &self.malformed_examples {
            write!(f, "\n  e.g. {example}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
