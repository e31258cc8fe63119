//! Cleaning Online Retail transactions: documented rules, applied in order,
//! each row counted against the first rule that drops it.
//!
//! | rule | drops a row when | default |
//! |---|---|---|
//! | [`Rule::Duplicate`] | every column equals an earlier row's (the first is kept) | on |
//! | [`Rule::Cancellation`] | `InvoiceNo` starts with `C`; such rows go to a table of their own | on |
//! | [`Rule::NonPositiveQuantity`] | `Quantity <= 0` | on |
//! | [`Rule::NonPositivePrice`] | `UnitPrice <= 0` | on |
//! | [`Rule::MissingCustomer`] | `CustomerID` is null | on |
//! | [`Rule::NonProductCode`] | `StockCode` is not a product (below) | on |
//!
//! Non-product stock codes ([`DEFAULT_NON_PRODUCT_CODES`]), compared
//! exactly, and any code starting with `gift_` (gift vouchers):
//!
//! | code | what it is |
//! |---|---|
//! | `POST` | postage |
//! | `DOT` | dotcom postage |
//! | `C2` | carriage |
//! | `M`, `m` | manual adjustment |
//! | `D` | discount |
//! | `S` | samples |
//! | `B` | adjustment of bad debt |
//! | `BANK CHARGES` | bank charges |
//! | `AMAZONFEE` | Amazon fee |
//! | `CRUK` | CRUK commission |
//! | `PADS` | pads to match all cushions |
//!
//! Cancellations are not thrown away: [`Cleaned::cancellations`] holds them
//! (after the duplicate rule), since returns are a signal a model wants.
//!
//! # Basic usage
//!
//! ```
//! use berserkr_io::clean::{Cleaner, Rule};
//! use berserkr_io::retail::ReaderBuilder;
//!
//! let csv = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n\
//!            536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
//!            536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n\
//!            C536379,85123A,HEART,-1,2010-12-01 09:41:00,2.55,17850.0,United Kingdom\n\
//!            536370,POST,POSTAGE,3,2010-12-01 08:45:00,18.0,12583.0,France\n";
//! let mut cleaner = Cleaner::new();
//! for batch in ReaderBuilder::new().build(csv.as_bytes(), "day.csv")? {
//!     let cleaned = cleaner.clean(&batch?)?;
//!     assert_eq!(cleaned.kept.num_rows(), 1);
//!     assert_eq!(cleaned.cancellations.num_rows(), 1);
//! }
//! let report = cleaner.report();
//! assert_eq!(report.dropped(Rule::Duplicate), 1);
//! assert_eq!(report.dropped(Rule::NonProductCode), 1);
//! assert_eq!(report.rows_kept, 1);
//! println!("{report}");
//! # Ok::<(), berserkr_io::Error>(())
//! ```

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::{AsArray, BooleanArray, RecordBatch, Scalar, StringArray};
use arrow::compute::kernels::cmp::lt_eq;
use arrow::compute::kernels::comparison::starts_with;
use arrow::compute::{and, and_not, filter_record_batch, is_null};
use arrow::datatypes::{Float64Type, Int64Type};
use arrow::row::{RowConverter, SortField};
use rayon::prelude::*;

use crate::error::Result;
use crate::retail::{Column, schema};

/// Stock codes that are not products, compared exactly.
pub const DEFAULT_NON_PRODUCT_CODES: &[&str] = &[
    "POST",
    "DOT",
    "C2",
    "M",
    "m",
    "D",
    "S",
    "B",
    "BANK CHARGES",
    "AMAZONFEE",
    "CRUK",
    "PADS",
];

/// Stock codes starting with this are gift vouchers, not products.
pub const GIFT_VOUCHER_PREFIX: &str = "gift_";

/// A cleaning rule. Rules apply in the order of [`Rule::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// An exact duplicate of an earlier row.
    Duplicate,
    /// A cancellation (`InvoiceNo` starting with `C`).
    Cancellation,
    /// `Quantity <= 0`.
    NonPositiveQuantity,
    /// `UnitPrice <= 0`.
    NonPositivePrice,
    /// No `CustomerID`.
    MissingCustomer,
    /// A stock code that is not a product.
    NonProductCode,
}

impl Rule {
    /// Every rule, in the order they apply.
    pub const ALL: [Rule; 6] = [
        Rule::Duplicate,
        Rule::Cancellation,
        Rule::NonPositiveQuantity,
        Rule::NonPositivePrice,
        Rule::MissingCustomer,
        Rule::NonProductCode,
    ];

    /// A short description for reports.
    pub fn description(self) -> &'static str {
        match self {
            Rule::Duplicate => "exact duplicate rows",
            Rule::Cancellation => "cancellations (InvoiceNo C...)",
            Rule::NonPositiveQuantity => "Quantity <= 0",
            Rule::NonPositivePrice => "UnitPrice <= 0",
            Rule::MissingCustomer => "missing CustomerID",
            Rule::NonProductCode => "non-product stock codes",
        }
    }
}

/// Counts of what cleaning did, printable as a table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CleanReport {
    /// Rows given to the cleaner.
    pub rows_read: u64,
    /// Rows each enabled rule dropped, in rule order.
    pub dropped: Vec<(Rule, u64)>,
    /// Rows kept.
    pub rows_kept: u64,
    /// Cancellation rows set aside in their own table.
    pub cancellations: u64,
}

impl CleanReport {
    /// Rows `rule` dropped (0 when it is off).
    pub fn dropped(&self, rule: Rule) -> u64 {
        self.dropped
            .iter()
            .find(|(r, _)| *r == rule)
            .map_or(0, |(_, n)| *n)
    }
}

impl fmt::Display for CleanReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<34} {:>10}", "rows read", self.rows_read)?;
        for (rule, count) in &self.dropped {
            writeln!(
                f,
                "{:<34} {:>10}",
                format!("- {}", rule.description()),
                count
            )?;
        }
        writeln!(f, "{:<34} {:>10}", "rows kept", self.rows_kept)?;
        write!(
            f,
            "{:<34} {:>10}",
            "cancellations set aside", self.cancellations
        )
    }
}

/// One batch after cleaning.
#[derive(Debug)]
pub struct Cleaned {
    /// The rows every rule kept.
    pub kept: RecordBatch,
    /// The cancellation rows (empty when the rule is off).
    pub cancellations: RecordBatch,
}

/// Applies the cleaning rules to batches of the [`retail`](crate::retail)
/// schema, remembering rows across batches for the duplicate rule.
#[derive(Debug)]
pub struct Cleaner {
    rules: Vec<Rule>,
    non_product_codes: HashSet<String>,
    seen: HashSet<u128, BuildHasherDefault<DigestHasher>>,
    /// The two halves of a row's digest: aHash with fixed, different keys.
    digest: [ahash::RandomState; 2],
    rows: Option<RowConverter>,
    report: CleanReport,
}

impl Default for Cleaner {
    fn default() -> Self {
        Self::new()
    }
}

impl Cleaner {
    /// A cleaner with every rule on and the default non-product codes.
    pub fn new() -> Self {
        Self::with_rules(&Rule::ALL)
    }

    /// A cleaner applying only `rules` (in the order of [`Rule::ALL`]).
    pub fn with_rules(rules: &[Rule]) -> Self {
        let rules: Vec<Rule> = Rule::ALL
            .into_iter()
            .filter(|r| rules.contains(r))
            .collect();
        Self {
            report: CleanReport {
                dropped: rules.iter().map(|&r| (r, 0)).collect(),
                ..CleanReport::default()
            },
            rules,
            non_product_codes: DEFAULT_NON_PRODUCT_CODES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            seen: HashSet::default(),
            digest: [
                ahash::RandomState::with_seeds(1, 2, 3, 4),
                ahash::RandomState::with_seeds(5, 6, 7, 8),
            ],
            rows: None,
        }
    }

    /// Replaces the exact non-product codes (the `gift_` prefix still applies).
    pub fn with_non_product_codes<I, S>(mut self, codes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.non_product_codes = codes.into_iter().map(Into::into).collect();
        self
    }

    /// The counts so far.
    pub fn report(&self) -> &CleanReport {
        &self.report
    }

    /// Cleans one batch of the retail schema.
    pub fn clean(&mut self, batch: &RecordBatch) -> Result<Cleaned> {
        let batch = batch.clone().with_schema(schema())?;
        let mut keep = BooleanArray::from(vec![true; batch.num_rows()]);
        let mut cancellations = None;
        for index in 0..self.rules.len() {
            let rule = self.rules[index];
            let hits = self.hits(rule, &batch, &keep)?;
            let dropped = and(&keep, &hits)?;
            self.report.dropped[index].1 += dropped.true_count() as u64;
            if rule == Rule::Cancellation {
                cancellations = Some(filter_record_batch(&batch, &dropped)?);
            }
            keep = and_not(&keep, &hits)?;
        }
        let kept = filter_record_batch(&batch, &keep)?;
        let cancellations = cancellations.unwrap_or_else(|| RecordBatch::new_empty(batch.schema()));
        self.report.rows_read += batch.num_rows() as u64;
        self.report.rows_kept += kept.num_rows() as u64;
        self.report.cancellations += cancellations.num_rows() as u64;
        Ok(Cleaned {
            kept,
            cancellations,
        })
    }

    /// The rows `rule` would drop (only rows still kept matter).
    fn hits(
        &mut self,
        rule: Rule,
        batch: &RecordBatch,
        keep: &BooleanArray,
    ) -> Result<BooleanArray> {
        let column = |c: Column| batch.column(c.index());
        Ok(match rule {
            Rule::Duplicate => self.duplicates(batch, keep)?,
            Rule::Cancellation => {
                let prefix = Scalar::new(StringArray::from(vec!["C"]));
                starts_with(column(Column::InvoiceNo), &prefix)?
            }
            Rule::NonPositiveQuantity => {
                let quantity = column(Column::Quantity).as_primitive::<Int64Type>();
                lt_eq(quantity, &arrow::array::Int64Array::new_scalar(0))?
            }
            Rule::NonPositivePrice => {
                let price = column(Column::UnitPrice).as_primitive::<Float64Type>();
                lt_eq(price, &arrow::array::Float64Array::new_scalar(0.0))?
            }
            Rule::MissingCustomer => is_null(column(Column::CustomerId))?,
            Rule::NonProductCode => column(Column::StockCode)
                .as_string::<i32>()
                .iter()
                .map(|code| {
                    Some(code.is_some_and(|code| {
                        self.non_product_codes.contains(code)
                            || code.starts_with(GIFT_VOUCHER_PREFIX)
                    }))
                })
                .collect(),
        })
    }

    /// Rows equal in every column to an earlier row, this batch or before.
    fn duplicates(&mut self, batch: &RecordBatch, keep: &BooleanArray) -> Result<BooleanArray> {
        let converter = match &self.rows {
            Some(converter) => converter,
            None => self.rows.insert(RowConverter::new(
                batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| SortField::new(f.data_type().clone()))
                    .collect(),
            )?),
        };
        // The digests, in parallel over chunks of rows; then, in order,
        // whether each was seen.
        let [low, high] = &self.digest;
        let digests: Vec<Option<u128>> = (0..batch.num_rows())
            .step_by(DIGEST_CHUNK_ROWS)
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|start| {
                let len = DIGEST_CHUNK_ROWS.min(batch.num_rows() - start);
                let rows = converter.convert_columns(batch.slice(start, len).columns())?;
                Ok(rows
                    .iter()
                    .enumerate()
                    .map(|(i, row)| {
                        // A 128-bit digest of the row's bytes (two aHash
                        // digests with different keys) instead of the
                        // bytes themselves: a fixed 16 bytes a row, and
                        // collisions negligible even at billions of rows.
                        keep.value(start + i).then(|| {
                            let bytes = row.as_ref();
                            (u128::from(high.hash_one(bytes)) << 64)
                                | u128::from(low.hash_one(bytes))
                        })
                    })
                    .collect::<Vec<_>>())
            })
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();
        let hits: Vec<bool> = digests
            .into_iter()
            .map(|digest| digest.is_some_and(|d| !self.seen.insert(d)))
            .collect();
        Ok(BooleanArray::from(hits))
    }
}

/// Rows whose digests one parallel task computes.
const DIGEST_CHUNK_ROWS: usize = 4096;

/// The set of seen rows' digests hashes a digest as itself: it is already
/// a hash.
#[derive(Debug, Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `u128` digests are hashed here (see `write_u128`); any other
        // input is folded in rather than refused.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u128(&mut self, digest: u128) {
        // The low half is one of the two independent hashes.
        self.0 = digest as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retail::ReaderBuilder;

    const HEADER: &str =
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";

    fn batches(rows: &[&str], batch_size: usize) -> Vec<RecordBatch> {
        let csv = format!("{HEADER}{}", rows.join("\n"));
        ReaderBuilder::new()
            .with_batch_size(batch_size)
            .build(csv.into_bytes().as_slice(), "t.csv")
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap()
    }

    const ROWS: &[&str] = &[
        "1,A,x,1,2010-12-01 08:00:00,1.0,1.0,UK",
        "1,A,x,1,2010-12-01 08:00:00,1.0,1.0,UK", // duplicate
        "C2,A,x,-1,2010-12-01 09:00:00,1.0,1.0,UK", // cancellation
        "3,A,x,0,2010-12-01 10:00:00,1.0,1.0,UK", // quantity
        "4,A,x,-2,2010-12-01 10:00:00,0.0,1.0,UK", // quantity first, not price
        "5,A,x,2,2010-12-01 10:00:00,0.0,1.0,UK", // price
        "6,A,x,2,2010-12-01 10:00:00,1.0,,UK",    // customer
        "7,POST,x,2,2010-12-01 10:00:00,1.0,1.0,UK", // non-product
        "8,gift_0001_10,x,2,2010-12-01 10:00:00,1.0,1.0,UK", // voucher
        "9,B,x,2,2010-12-01 11:00:00,1.0,2.0,UK",
    ];

    fn run(cleaner: &mut Cleaner, batch_size: usize) -> (usize, usize) {
        let mut kept = 0;
        let mut cancelled = 0;
        for batch in batches(ROWS, batch_size) {
            let cleaned = cleaner.clean(&batch).unwrap();
            kept += cleaned.kept.num_rows();
            cancelled += cleaned.cancellations.num_rows();
        }
        (kept, cancelled)
    }

    #[test]
    fn each_row_is_counted_against_the_first_rule_that_drops_it() {
        // One row a batch: duplicates must be found across batches too.
        for batch_size in [1, 3, 100] {
            let mut cleaner = Cleaner::new();
            assert_eq!(run(&mut cleaner, batch_size), (1, 1));
            let report = cleaner.report();
            assert_eq!(report.rows_read, 10);
            assert_eq!(report.dropped(Rule::Duplicate), 1);
            assert_eq!(report.dropped(Rule::Cancellation), 1);
            assert_eq!(report.dropped(Rule::NonPositiveQuantity), 2);
            assert_eq!(report.dropped(Rule::NonPositivePrice), 1);
            assert_eq!(report.dropped(Rule::MissingCustomer), 1);
            // `B` is bad debt, `POST` postage, `gift_` a voucher.
            assert_eq!(report.dropped(Rule::NonProductCode), 3);
            assert_eq!(report.rows_kept, 1);
            let table = report.to_string();
            for rule in Rule::ALL {
                assert!(table.contains(rule.description()), "{table}");
            }
        }
    }

    #[test]
    fn duplicates_are_found_across_the_chunks_of_a_large_batch() {
        // Row `i + n` repeats row `i`, so every repeat is in a later chunk
        // of digests than its original; a missing value must not match a
        // present one.
        let n = DIGEST_CHUNK_ROWS + 7;
        let line = |i: usize| {
            let customer = if i.is_multiple_of(5) {
                String::new()
            } else {
                format!("{}.0", i % 97)
            };
            format!(
                "{i},A{},x,{},2010-12-01 08:00:00,1.5,{customer},UK",
                i % 13,
                1 + i % 4
            )
        };
        let mut rows: Vec<String> = (0..n).map(line).collect();
        rows.extend((0..n).map(line));
        // Differs from row 1 in the missing customer only.
        rows.push("1,A1,x,2,2010-12-01 08:00:00,1.5,,UK".to_string());
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let mut cleaner = Cleaner::with_rules(&[Rule::Duplicate]);
        for batch in batches(&rows, 3 * n) {
            cleaner.clean(&batch).unwrap();
        }
        assert_eq!(cleaner.report().dropped(Rule::Duplicate), n as u64);
        assert_eq!(cleaner.report().rows_kept, n as u64 + 1);
    }

    #[test]
    fn rules_and_codes_are_configurable() {
        let mut cleaner = Cleaner::with_rules(&[Rule::MissingCustomer]);
        assert_eq!(run(&mut cleaner, 4), (9, 0));
        assert_eq!(cleaner.report().dropped(Rule::Duplicate), 0);

        let mut cleaner = Cleaner::new().with_non_product_codes(["POST"]);
        assert_eq!(run(&mut cleaner, 4), (2, 1));
    }
}
