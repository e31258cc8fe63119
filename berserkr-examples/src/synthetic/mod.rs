//! A seeded generator of Online-Retail-shaped data: the default data set
//! that every berserkr example and the `berserkr generate` command run on.
//!
//! It writes what the UCI "Online Retail" export holds, in its exact
//! format (the header
//! `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`,
//! ISO dates, `CustomerID` as a float or empty, RFC 4180 quoting only where
//! needed, UTF-8), one CSV per trading day, from thousands of rows to tens
//! of millions, and with what makes predicting purchases a real problem:
//!
//! - **repeat buyers with habits**: every customer has favourite items,
//!   bought again when due (each has its own period, from a week to half a
//!   year, and the customer's own chance of buying it), and picks up new
//!   favourites among the items discovered; a return often ends a habit;
//! - **customers who differ**: retail, shop and wholesale buyers with their
//!   own basket sizes, quantities and pace (log-normal, some ordering every
//!   few days, most a few times a year), preferred themes (`RETROSPOT`,
//!   `SPACEBOY`, ...), one-time buyers, churn, and new customers arriving
//!   all period long, more of them when the shop is busy;
//! - **popular and seasonal items**: Zipf-like popularity that drifts (each
//!   item grows or declines), new lines that sell well at first,
//!   discontinued ones, and Christmas items (ramping up from August; in
//!   November their share of the rows is about 15 times April's), summer
//!   and winter items;
//! - **the shop's calendar**: no trading on Saturdays, closed from 24
//!   December to 3 January and on English bank holidays, quieter Fridays
//!   and Sundays, and a Christmas peak in November at about 2.5 times
//!   February's rows per day, as in the real data; invoices by the hour as
//!   the real ones;
//! - **the real data's dirt**: a quarter of the rows from the online shop's
//!   guests, without `CustomerID`; returns (`C` invoices, negative
//!   quantities, mirroring lines the customer bought, the same day or
//!   weeks later); non-product codes (`POST`, `DOT`, `M`, `C2`, `D`, `S`,
//!   `BANK CHARGES`, `AMAZONFEE`, `CRUK`, `PADS`, `gift_0001_20`, all of
//!   [`berserkr_io::clean`]'s list but `B` and `m`); stock adjustments at
//!   price 0 with negative or positive quantities; exact duplicate rows;
//!   and, when asked for, malformed rows.
//!
//! Same seed and options, same bytes: everything random comes from
//! ChaCha8 streams turned into numbers by this module's own code, so
//! neither a new `rand` nor the platform's random sources change the data
//! (only the platform's `exp` and `ln` could, in a last bit). Generation
//! is streaming: memory holds the customers and the catalogue, and one
//! day of rows (150 MB in all at 20 million rows), and a single thread
//! makes a few million rows a second.
//!
//! | option | default | purpose | range |
//! |---|---|---|---|
//! | [`with_seed`](SyntheticRetailBuilder::with_seed) | 42 | the seed | any |
//! | [`with_rows`](SyntheticRetailBuilder::with_rows) | 541,909 (the real set's) | rows in all, met within a fraction of a percent | 1 ..= 10^10 |
//! | [`with_start`](SyntheticRetailBuilder::with_start) | 2010-12-01 | the first calendar day | years 1000 ..= 9999 |
//! | [`with_days`](SyntheticRetailBuilder::with_days) | 374 (to 2011-12-09) | calendar days; closed days have no file | 1 ..= 36,500 |
//! | [`with_customers`](SyntheticRetailBuilder::with_customers) | rows / 124, at least 20 (the real ratio) | customer numbers | 1 ..= 10^8 |
//! | [`with_items`](SyntheticRetailBuilder::with_items) | 4,070 × (rows / 541,909)^0.4, 200 ..= 60,000 | stock codes | 10 ..= 60,000 |
//! | [`with_missing_customer_rate`](SyntheticRetailBuilder::with_missing_customer_rate) | 0.25 | share of rows without `CustomerID` | 0 ..= 0.9 |
//! | [`with_cancellation_rate`](SyntheticRetailBuilder::with_cancellation_rate) | 0.017 | share of rows in `C` invoices | 0 ..= 0.3 |
//! | [`with_duplicate_rate`](SyntheticRetailBuilder::with_duplicate_rate) | 0.01 | chance that a sold line is repeated exactly | 0 ..= 0.5 |
//! | [`with_non_product_rate`](SyntheticRetailBuilder::with_non_product_rate) | 0.0055 | share of rows with non-product codes, about | 0 ..= 0.1 |
//! | [`with_adjustment_rate`](SyntheticRetailBuilder::with_adjustment_rate) | 0.0045 | share of rows that are stock adjustments (price 0, no customer) | 0 ..= the missing-customer rate |
//! | [`with_malformed_rate`](SyntheticRetailBuilder::with_malformed_rate) | 0 | chance that a row is written malformed | 0 ..= 0.5 |
//! | [`with_foreign_customer_rate`](SyntheticRetailBuilder::with_foreign_customer_rate) | 0.1 | customers outside the United Kingdom | 0 ..= 1 |
//! | [`with_seasonality`](SyntheticRetailBuilder::with_seasonality) | 1 | strength of the yearly curves: 0 flat, 1 as the real data | 0 ..= 3 |
//! | [`with_repeat_strength`](SyntheticRetailBuilder::with_repeat_strength) | 1 | scales customers' chances of buying their favourites again: 0 removes habits | 0 ..= 2 |
//!
//! The library's malformed rate is 0, so that the default data reads
//! strictly; `berserkr generate` writes a few malformed rows unless told
//! otherwise, as a real bucket has them. A malformed row replaces a row
//! (it is one of them, damaged: a fractional quantity, a missing field, an
//! unquoted comma, day 00, a fractional customer number, a `£` before the
//! price), it never breaks the CSV's framing, and it is drawn from a stream
//! of its own: the same seed with and without malformed rows gives the
//! same data otherwise. Invoice numbers rise through the period and start
//! at the real data's 536365 where that leaves them room (up to about 7
//! million rows), lower otherwise; they have 6 digits up to about 13
//! million rows, and the last ones 7 digits beyond.
//!
//! # Basic usage
//!
//! ```
//! use berserkr_examples::synthetic::SyntheticRetail;
//! use berserkr_io::retail::ReaderBuilder;
//! use chrono::NaiveDate;
//!
//! let retail = SyntheticRetail::builder()
//!     .with_seed(7)
//!     .with_rows(20_000)
//!     .with_start(NaiveDate::from_ymd_opt(2011, 11, 1).expect("a date"))
//!     .with_days(14)
//!     .build()?;
//! let mut rows = 0;
//! for day in retail.days() {
//!     // One CSV per trading day, named as a daily bucket names them.
//!     assert!(day.file_name(true).ends_with(".csv.lzo"));
//!     for batch in ReaderBuilder::new().build(day.csv.as_slice(), day.file_name(false))? {
//!         rows += batch?.num_rows();
//!     }
//! }
//! assert!((19_800..=20_200).contains(&rows), "{rows}");
//!
//! // The same seed and options give the same bytes.
//! let first = retail.days().next().expect("a trading day");
//! assert_eq!(first.date.to_string(), "2011-11-01");
//! assert_eq!(first.csv, retail.days().next().expect("a trading day").csv);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Writing a daily bucket (a path, `file://`, `memory://` or `s3://`), one
//! lzop file a day, as `berserkr generate` does:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), berserkr_examples::Error> {
//! use berserkr_examples::synthetic::{SyntheticRetail, WriteOptions};
//! use berserkr_io::store::{Location, RetailSource};
//! use futures::TryStreamExt;
//!
//! let retail = SyntheticRetail::builder().with_rows(5_000).with_days(7).build()?;
//! let bucket = Location::parse("memory://docs-synthetic/by-day")?;
//! let written = retail
//!     .write_to(&bucket, &WriteOptions::new(), |file| println!("{}", file.name))
//!     .await?;
//! assert_eq!(written.files, 6); // no file on Saturday
//!
//! let mut stream = RetailSource::new(bucket).with_glob("*.csv.lzo").open().await?;
//! let batches: Vec<_> = (&mut stream).try_collect().await?;
//! let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
//! assert_eq!(rows as u64, written.report.rows);
//! # Ok(())
//! # }
//! ```

mod calendar;
mod catalogue;
mod csv;
mod generator;
mod rng;
mod write;

use std::fmt;

use chrono::{Datelike, NaiveDate};

use crate::error::{Error, Result};

pub use generator::{DayStats, Days};
pub use write::{WriteOptions, WriteReport, Written};

/// The rows of the real data set, the default size.
pub const DEFAULT_ROWS: u64 = 541_909;

/// The default seed.
pub const DEFAULT_SEED: u64 = 42;

/// The validated options of a generator; see the [module docs](self).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) seed: u64,
    pub(crate) rows: u64,
    pub(crate) start: NaiveDate,
    pub(crate) days: u32,
    pub(crate) customers: usize,
    pub(crate) items: usize,
    pub(crate) missing_customer_rate: f64,
    pub(crate) cancellation_rate: f64,
    pub(crate) duplicate_rate: f64,
    pub(crate) non_product_rate: f64,
    pub(crate) adjustment_rate: f64,
    pub(crate) malformed_rate: f64,
    pub(crate) foreign_customer_rate: f64,
    pub(crate) seasonality: f64,
    pub(crate) repeat_strength: f64,
}

/// Options for a [`SyntheticRetail`] generator, checked by
/// [`build`](Self::build). Every option and its default is in the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct SyntheticRetailBuilder {
    config: Config,
    customers: Option<usize>,
    items: Option<usize>,
}

impl Default for SyntheticRetailBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl SyntheticRetailBuilder {
    /// The defaults: a data set the size and shape of the real one.
    pub fn new() -> Self {
        Self {
            config: Config {
                seed: DEFAULT_SEED,
                rows: DEFAULT_ROWS,
                start: NaiveDate::from_ymd_opt(2010, 12, 1).unwrap_or_default(),
                days: 374,
                customers: 0,
                items: 0,
                missing_customer_rate: 0.25,
                cancellation_rate: 0.017,
                duplicate_rate: 0.01,
                non_product_rate: 0.0055,
                adjustment_rate: 0.0045,
                malformed_rate: 0.0,
                foreign_customer_rate: 0.1,
                seasonality: 1.0,
                repeat_strength: 1.0,
            },
            customers: None,
            items: None,
        }
    }

    /// The seed (default 42): the same seed and options give the same
    /// bytes.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Rows in all, across every day (default 541,909, the real data's).
    /// Each day gets its share by the seasonal profile; the total is met
    /// within a fraction of a percent (returns are the part left to
    /// chance).
    pub fn with_rows(mut self, rows: u64) -> Self {
        self.config.rows = rows;
        self
    }

    /// The first calendar day (default 2010-12-01, as the real data).
    pub fn with_start(mut self, start: NaiveDate) -> Self {
        self.config.start = start;
        self
    }

    /// Calendar days from the start (default 374: to 2011-12-09). Days the
    /// shop is closed have no file.
    pub fn with_days(mut self, days: u32) -> Self {
        self.config.days = days;
        self
    }

    /// Customer numbers (default rows / 124, at least 20: the real data's
    /// rows per customer). Numbers start at 12346, as the real ones.
    pub fn with_customers(mut self, customers: usize) -> Self {
        self.customers = Some(customers);
        self
    }

    /// Stock codes in the catalogue (default 4,070 × (rows / 541,909)^0.4,
    /// within 200 ..= 60,000: the real data's 4,070 at its size).
    pub fn with_items(mut self, items: usize) -> Self {
        self.items = Some(items);
        self
    }

    /// The share of rows without `CustomerID` (default 0.25), the online
    /// shop's guests and the stock adjustments.
    pub fn with_missing_customer_rate(mut self, rate: f64) -> Self {
        self.config.missing_customer_rate = rate;
        self
    }

    /// The share of rows in cancellation (`C`) invoices (default 0.017, the
    /// real data's).
    pub fn with_cancellation_rate(mut self, rate: f64) -> Self {
        self.config.cancellation_rate = rate;
        self
    }

    /// The chance that a sold line appears twice, exactly (default 0.01).
    pub fn with_duplicate_rate(mut self, rate: f64) -> Self {
        self.config.duplicate_rate = rate;
        self
    }

    /// About the share of rows with non-product stock codes (default
    /// 0.0055, the real data's).
    pub fn with_non_product_rate(mut self, rate: f64) -> Self {
        self.config.non_product_rate = rate;
        self
    }

    /// The share of rows that are stock adjustments: a product at price 0,
    /// no customer, a negative quantity or a positive one (default 0.0045).
    /// They count among the rows without `CustomerID`.
    pub fn with_adjustment_rate(mut self, rate: f64) -> Self {
        self.config.adjustment_rate = rate;
        self
    }

    /// The chance that a row is written malformed (default 0).
    pub fn with_malformed_rate(mut self, rate: f64) -> Self {
        self.config.malformed_rate = rate;
        self
    }

    /// The share of customers outside the United Kingdom (default 0.1).
    pub fn with_foreign_customer_rate(mut self, rate: f64) -> Self {
        self.config.foreign_customer_rate = rate;
        self
    }

    /// The strength of the yearly curves, of the shop and of seasonal items
    /// (default 1, as the real data; 0 makes every day alike but for the
    /// weekday).
    pub fn with_seasonality(mut self, strength: f64) -> Self {
        self.config.seasonality = strength;
        self
    }

    /// Scales customers' chances of buying their favourites again (default
    /// 1; 0 leaves only popularity and themes).
    pub fn with_repeat_strength(mut self, strength: f64) -> Self {
        self.config.repeat_strength = strength;
        self
    }

    /// Checks the options.
    pub fn build(self) -> Result<SyntheticRetail> {
        let mut config = self.config;
        let invalid =
            |option: &'static str, reason: String| Error::InvalidOption { option, reason };
        if !(1..=10_000_000_000).contains(&config.rows) {
            return Err(invalid(
                "rows",
                format!("{} is not in 1..=10^10", config.rows),
            ));
        }
        if !(1..=36_500).contains(&config.days) {
            return Err(invalid(
                "days",
                format!("{} is not in 1..=36500", config.days),
            ));
        }
        let end = config
            .start
            .checked_add_days(chrono::Days::new(u64::from(config.days - 1)));
        if config.start.year() < 1000 || end.is_none_or(|end| end.year() > 9999) {
            return Err(invalid(
                "start",
                format!(
                    "{} + {} days leaves the years 1000..=9999 that the date format writes",
                    config.start, config.days
                ),
            ));
        }
        let scale = config.rows as f64 / DEFAULT_ROWS as f64;
        config.customers = self
            .customers
            .unwrap_or_else(|| (config.rows / 124).max(20) as usize);
        config.items = self
            .items
            .unwrap_or_else(|| (4070.0 * scale.powf(0.4)).round().clamp(200.0, 60_000.0) as usize);
        if !(1..=100_000_000).contains(&config.customers) {
            return Err(invalid(
                "customers",
                format!("{} is not in 1..=10^8", config.customers),
            ));
        }
        if !(10..=60_000).contains(&config.items) {
            return Err(invalid(
                "items",
                format!("{} is not in 10..=60000", config.items),
            ));
        }
        let rates: [(&'static str, f64, f64); 10] = [
            ("missing_customer_rate", config.missing_customer_rate, 0.9),
            ("cancellation_rate", config.cancellation_rate, 0.3),
            ("duplicate_rate", config.duplicate_rate, 0.5),
            ("non_product_rate", config.non_product_rate, 0.1),
            (
                "adjustment_rate",
                config.adjustment_rate,
                config.missing_customer_rate,
            ),
            ("malformed_rate", config.malformed_rate, 0.5),
            ("foreign_customer_rate", config.foreign_customer_rate, 1.0),
            ("seasonality", config.seasonality, 3.0),
            ("repeat_strength", config.repeat_strength, 2.0),
            (
                "missing_customer_rate + cancellation_rate",
                config.missing_customer_rate + config.cancellation_rate,
                0.95,
            ),
        ];
        for (option, value, max) in rates {
            // Written to refuse NaN as well.
            if !(value >= 0.0 && value <= max) {
                return Err(invalid(option, format!("{value} is not in 0..={max}")));
            }
        }
        let retail = SyntheticRetail { config };
        if retail.trading_days().is_empty() {
            return Err(invalid(
                "days",
                format!(
                    "the shop does not trade in the {} days from {}",
                    retail.config.days, retail.config.start
                ),
            ));
        }
        Ok(retail)
    }
}

/// A seeded Online-Retail-shaped data set, generated day by day on demand;
/// see the [module docs](self).
#[derive(Debug, Clone)]
pub struct SyntheticRetail {
    config: Config,
}

impl SyntheticRetail {
    /// A builder with the defaults.
    pub fn builder() -> SyntheticRetailBuilder {
        SyntheticRetailBuilder::new()
    }

    /// The days, generated one at a time as the iterator is advanced
    /// (building the catalogue and the customers first, a fraction of a
    /// second at the default size).
    pub fn days(&self) -> Days {
        Days::new(self.config.clone())
    }

    /// The trading days of the period: one file each.
    pub fn trading_days(&self) -> Vec<NaiveDate> {
        (0..self.config.days)
            .filter_map(|i| {
                self.config
                    .start
                    .checked_add_days(chrono::Days::new(u64::from(i)))
            })
            .filter(|date| calendar::is_open(*date))
            .collect()
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// The rows asked for.
    pub fn rows(&self) -> u64 {
        self.config.rows
    }

    /// The number of customers.
    pub fn customers(&self) -> usize {
        self.config.customers
    }

    /// The number of stock codes.
    pub fn items(&self) -> usize {
        self.config.items
    }
}

/// The name of the file of `date`: `YYYY-MM-DD.csv`, and `.lzo` after it
/// when `lzop`.
///
/// ```
/// use chrono::NaiveDate;
/// let date = NaiveDate::from_ymd_opt(2011, 1, 4).expect("a date");
/// assert_eq!(berserkr_examples::synthetic::file_name(date, true), "2011-01-04.csv.lzo");
/// ```
pub fn file_name(date: NaiveDate, lzop: bool) -> String {
    let suffix = if lzop { ".lzo" } else { "" };
    format!("{}.csv{suffix}", date.format("%Y-%m-%d"))
}

/// One trading day: its date and its CSV, header first.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DayFile {
    /// The day.
    pub date: NaiveDate,
    /// The day's CSV bytes.
    pub csv: Vec<u8>,
    /// What the CSV holds.
    pub stats: DayStats,
}

impl DayFile {
    /// The file's name; see [`file_name`].
    pub fn file_name(&self, lzop: bool) -> String {
        file_name(self.date, lzop)
    }
}

/// What a generator has made so far. The kinds overlap: a duplicate row
/// is also a customer's or a guest's row, and so on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Trading days (files).
    pub days: u64,
    /// Data rows in all, malformed ones included.
    pub rows: u64,
    /// CSV bytes, headers included.
    pub bytes: u64,
    /// Invoices, cancellations included.
    pub invoices: u64,
    /// Customers who bought at least once.
    pub customers: u64,
    /// Rows of customers' orders (with `CustomerID`, not cancellations).
    pub customer_rows: u64,
    /// Rows without `CustomerID` that are not cancellations: guests'
    /// orders and stock adjustments.
    pub guest_rows: u64,
    /// Rows of cancellation (`C`) invoices.
    pub cancellation_rows: u64,
    /// Exact copies of another row of the same invoice.
    pub duplicate_rows: u64,
    /// Rows with a non-product stock code.
    pub non_product_rows: u64,
    /// Stock adjustments: price 0, no customer.
    pub adjustment_rows: u64,
    /// Rows written malformed.
    pub malformed_rows: u64,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let share = |n: u64| {
            if self.rows == 0 {
                0.0
            } else {
                100.0 * n as f64 / self.rows as f64
            }
        };
        writeln!(f, "{:<34} {:>10}", "days (files)", self.days)?;
        writeln!(f, "{:<34} {:>10}", "rows", self.rows)?;
        writeln!(f, "{:<34} {:>10}", "invoices", self.invoices)?;
        writeln!(f, "{:<34} {:>10}", "customers who bought", self.customers)?;
        for (name, n) in [
            ("- customers' rows", self.customer_rows),
            ("- rows without CustomerID", self.guest_rows),
            ("- cancellation rows", self.cancellation_rows),
            ("  exact duplicates", self.duplicate_rows),
            ("  non-product codes", self.non_product_rows),
            ("  stock adjustments", self.adjustment_rows),
            ("  malformed rows", self.malformed_rows),
        ] {
            writeln!(f, "{name:<34} {n:>10} {:>6.2}%", share(n))?;
        }
        write!(f, "{:<34} {:>10.1}", "CSV MB", self.bytes as f64 / 1e6)
    }
}

#[cfg(test)]
mod tests;
