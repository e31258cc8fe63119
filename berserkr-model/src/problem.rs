//! The purchase-likelihood problem: candidates, labels, features and time
//! splits.
//!
//! Given clean transactions, a cutoff time `T` and a horizon `W`, a
//! [`Problem`] makes one example per (customer, item) candidate: the
//! question "will this customer buy this item in the `W` after `T`?", the
//! answer when the data knows it, and features that see nothing after `T`.
//! [`Problem::training_set`] stacks the examples of several cutoffs, each
//! of whose label windows ends at or before the evaluation cutoff, so that
//! a model trained on them has seen nothing of the evaluation labels.
//!
//! # Inputs
//!
//! Transactions and cancellations are Arrow [`RecordBatch`]es with the Online
//! Retail column names (as `berserkr-io`'s reader and cleaner make them);
//! columns are looked up by name and other columns are ignored:
//!
//! | Column | Type | Used for |
//! |---|---|---|
//! | `InvoiceNo` | any string type | counting purchases (transactions only) |
//! | `StockCode` | any string type | the item |
//! | `Description` | string, nullable | item features (DFS) |
//! | `Quantity` | any number | units |
//! | `InvoiceDate` | any timestamp unit, or castable to one | time |
//! | `UnitPrice` | any number | spend (transactions only) |
//! | `CustomerID` | any integer, or float holding one | the customer |
//! | `Country` | string | customer features (DFS) |
//!
//! The transactions are assumed clean; a row with a null in one of the
//! columns it needs, or with a `Quantity` that is not positive, is not a
//! purchase and is ignored (the entity set behind the DFS features still
//! holds it). The cancellations (returns, `InvoiceNo` starting with `C`)
//! need `StockCode`, `Quantity`, `InvoiceDate` and `CustomerID`; their
//! units are `|Quantity|`. A cancellations batch with no rows may have any
//! schema, so `RecordBatch::new_empty(Arc::new(Schema::empty()))` stands for
//! "no returns". Times are nanoseconds since the Unix epoch, as `i64`.
//!
//! # Definitions
//!
//! A **purchase** is one item on one invoice: the lines of an invoice that
//! repeat an item count once, with their units and spend summed. "Seen at
//! `T`" means at or before `T` (`InvoiceDate <= T`), as in Featuretools'
//! cutoff times, so with `W` the horizon:
//!
//! * **Customers**: every customer with a purchase at or before `T`.
//! * **Candidates** ([`CandidateSource`]): for each such customer, the items
//!   they bought at or before `T` ([`CandidateSource::PastItems`]), the `K`
//!   most popular items of the window `(T − W, T]`
//!   ([`CandidateSource::Popular`]), or the union of both (the default).
//!   Popularity is the number of purchases (invoices holding the item) in
//!   the window, ties broken by units in the window, then by `StockCode`.
//! * **Labels**: `true` when the customer bought the item in `(T, T + W]`
//!   (after `T`, up to and including `T + W`). The labels are known
//!   ([`Examples::labels`] is `Some`) when the transactions hold any
//!   purchase after `T`; a cutoff at the end of the data, where a model is
//!   used rather than judged, has none.
//! * **Rows** are ordered by `CustomerID`, then by `StockCode`.
//!
//! # Features
//!
//! Every feature of a row at cutoff `T` is computed from the rows of the
//! data at or before `T` only; `tests/problem.rs` checks it by computing the
//! examples again on the data cut at `T` and comparing every value. The
//! columns of [`Examples::features`] are, in order:
//!
//! 1. `customer.<name>`: the customer's deep features, one per output of the
//!    customer [`FeatureSet`] (by default [`Dfs`] on `customers` at depth 2,
//!    pruned, default primitives, without the features stacked on invoice
//!    aggregates, see [`CUSTOMER_DFS_DROPS`], nor those of [`DFS_DROPS`]),
//!    computed by [`FeatureMatrixBuilder`] with the cutoff `T`:
//!    `customer.COUNT(invoices)`.
//! 2. `item.<name>`: the item's deep features (DFS on `products`, without
//!    [`DFS_DROPS`]), the same way: `item.SUM(transactions.Quantity)`.
//! 3. The features of this module, [`PROBLEM_FEATURES`]:
//!
//! | Name | Value |
//! |---|---|
//! | `pair.times_bought` | the customer's purchases of the item at or before `T` |
//! | `pair.times_bought_last_window` | the same, in `(T − W, T]` |
//! | `pair.times_bought_last_3_windows` | the same, in `(T − 3W, T]` |
//! | `pair.quantity_bought` | units of those purchases |
//! | `pair.spend` | `Σ Quantity × UnitPrice` of those purchases |
//! | `pair.spend_share` | `pair.spend` over the customer's whole spend (NaN if that is 0) |
//! | `pair.invoice_share` | `pair.times_bought` over the customer's invoices |
//! | `pair.days_since_last_bought` | days from the last purchase to `T` (NaN if never) |
//! | `pair.days_since_first_bought` | days from the first purchase to `T` (NaN if never) |
//! | `pair.mean_days_between_purchases` | (last − first) / (purchases − 1), in days (NaN below 2) |
//! | `pair.cycles_since_last_bought` | `days_since_last_bought / mean_days_between_purchases`: how overdue the item is (NaN below 2 purchases or a zero mean) |
//! | `pair.invoices_since_last_bought` | the customer's invoices after the last purchase of the item (NaN if never) |
//! | `pair.times_returned` | the customer's cancellation lines of the item |
//! | `pair.quantity_returned` | units of those lines |
//! | `pair.item_cycles_since_last_bought` | `days_since_last_bought / item.mean_days_between_repeats`: how overdue the item is by everyone's habit, defined after a single purchase too (NaN if never bought, or if that mean is missing or 0) |
//! | `pair.same_type_invoices` | the customer's invoices holding another item of the item's product type (see below) |
//! | `pair.same_type_items` | other items of that type the customer bought |
//! | `pair.days_since_same_type` | days from the customer's last purchase of another item of that type to `T` (NaN if none) |
//! | `pair.new_in_known_type` | 1 if the customer never bought the item but bought others of its type, else 0 |
//! | `pair.same_type_invoice_share` | `pair.same_type_invoices` over the customer's invoices |
//! | `customer.invoices_last_window` | the customer's invoices in `(T − W, T]` |
//! | `customer.invoices_last_3_windows` | the same, in `(T − 3W, T]` |
//! | `customer.days_since_last_invoice` | days from the customer's last invoice to `T` |
//! | `customer.mean_days_between_invoices` | (last − first) / (invoices − 1) of the customer's invoices, in days (NaN below 2) |
//! | `customer.items_bought` | distinct items the customer bought |
//! | `customer.repeat_share` | the share of the customer's purchases that repeat an item it bought before |
//! | `customer.rebuy_rate` | of the days at least `W` before `T` on which the customer bought an item, the share it followed with another purchase of the item within `W`, shrunk toward everyone's share by 5 days of it (NaN when no customer has such a day) |
//! | `customer.recent_rebuy_rate` | of the items the customer first bought at least `W` before `T`, the share it bought again in `(T − W, T]`, shrunk toward everyone's share by 10 items of it (NaN when no customer has such an item) |
//! | `item.purchases_last_window` | the item's purchases in `(T − W, T]` (its popularity) |
//! | `item.purchases_previous_window` | the same in `(T − 2W, T − W]` |
//! | `item.purchases_last_week` | the same in `(T − 7 days, T]` |
//! | `item.trend` | `ln((last + 1) / (previous + 1))` of the windows above |
//! | `item.popularity_rank` | 1 for the most popular item of `(T − W, T]` (NaN if unsold there) |
//! | `item.repeat_share` | the share of the item's purchases that repeat one by the same customer (NaN if never sold) |
//! | `item.mean_days_between_repeats` | over customers who bought the item twice or more, the mean days between their purchases of it (NaN if none) |
//! | `item.buyers_last_week` | distinct customers who bought the item in `(T − 7 days, T]` |
//! | `item.buyer_trend` | `(buyers_last_week + 1) / (b × 7 days / W + 1)`, `b` the distinct buyers of the `W` before that week |
//!
//! An item's **product type** is the last word of its most common
//! description at `T` (in upper case, any character but a letter, digit or
//! `-` read as a space): `WHITE HANGING HEART T-LIGHT HOLDER` is a
//! `HOLDER`. The type features are NaN for an item without a description
//! (and for all items when the transactions have no `Description`
//! column).
//!
//! Missing values are NaN. Deep features that are not numbers are encoded:
//! a boolean as 1 or 0; a categorical (a dictionary or string, such as the
//! customer's `Country`) as the **frequency** of its value, the share of the
//! matrix's entities (the candidate customers, or items, at `T`) that have
//! the same value. The frequency uses only the entities seen at `T`, so it
//! leaks nothing, and it needs no stored vocabulary to score new data. (The
//! default pruned DFS leaves only `Country`; unpruned DFS adds `MODE`s of
//! ids, which frequency encoding turns into little more than noise.)
//!
//! # Basic usage
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
//! # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! use berserkr_model::problem::{CandidateSource, NANOS_PER_DAY, ProblemBuilder};
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
//! # let day = 86_400_000_000_i64; // in microseconds
//! # let transactions = RecordBatch::try_new(schema.clone(), vec![
//! #     Arc::new(StringArray::from(vec!["1", "1", "2", "3", "4"])),
//! #     Arc::new(StringArray::from(vec!["A", "B", "A", "B", "A"])),
//! #     Arc::new(StringArray::from(vec![Some("MUG"), Some("JUG"), Some("MUG"), Some("JUG"), Some("MUG")])),
//! #     Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
//! #     Arc::new(TimestampMicrosecondArray::from(vec![0, 0, day, 2 * day, 11 * day])),
//! #     Arc::new(Float64Array::from(vec![1.0, 2.0, 1.0, 2.0, 1.0])),
//! #     Arc::new(Int64Array::from(vec![7, 7, 8, 8, 8])),
//! #     Arc::new(StringArray::from(vec!["France"; 5])),
//! # ]).unwrap();
//! # let cancellations = RecordBatch::new_empty(schema);
//! // Customer 7 bought A and B on day 0; customer 8 bought A on day 1,
//! // B on day 2 and A again on day 11.
//! let problem = ProblemBuilder::new()
//!     .with_horizon_days(10)
//!     .with_candidates(CandidateSource::PastItems)
//!     .build()?;
//! let examples = problem.examples(&transactions, &cancellations, 3 * NANOS_PER_DAY)?;
//!
//! assert_eq!(examples.groups(), &[7, 7, 8, 8]);
//! assert_eq!(examples.labels(), Some(&[false, false, true, false][..]));
//! assert_eq!(examples.features().nrows(), 4);
//! let times_bought = examples.feature("pair.times_bought").unwrap();
//! assert_eq!(times_bought.to_vec(), [1.0, 1.0, 1.0, 1.0]);
//! # Ok::<(), berserkr_model::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampNanosecondArray, UInt32Array,
};
use arrow::compute::{cast, concat_batches, filter_record_batch, take};
use arrow::datatypes::{
    DataType, Field, Float64Type, Int64Type, Schema, SchemaRef, TimeUnit, TimestampNanosecondType,
    UInt32Type,
};
use berserkr_features::retail::retail_entityset;
use berserkr_features::{Dfs, EntitySet, FeatureMatrixBuilder, FeatureSet};
use ndarray::{Array2, ArrayView1, Axis};
use rayon::prelude::*;

use crate::baselines::Baselines;
use crate::error::{Error, Result};

/// Nanoseconds in a day.
pub const NANOS_PER_DAY: i64 = 86_400_000_000_000;

/// What the default customer DFS drops: every feature that aggregates
/// invoice-level aggregates, such as `customer.SKEW(invoices.MAX(transactions.UnitPrice))`.
///
/// Those are 83 of the 104 customer features at depth 2, and on the real
/// data they only add noise: without them the boosted trees' validation
/// log loss falls (0.09528 to 0.09397 with LightGBM, 31 leaves, on the
/// matrices exported at commit b8cec00; `benches/compare/tuning.py` with
/// and without `--drop-contains "(invoices."`) and training takes half
/// the time. The direct aggregations over the
/// customer's transactions and invoices stay.
pub const CUSTOMER_DFS_DROPS: [&str; 1] = ["(invoices."];

/// What the default DFS of both customers and items drops: the date parts
/// of first purchases and sales (`DAY`, `WEEKDAY`, `MONTH`, `YEAR`), the
/// `MODE`s, and the spread and extremes of quantities and prices (`SKEW`,
/// `STD`, `MIN`, `MAX`).
///
/// On the real data they are 34 of the 78 columns and carry nothing the
/// others do not: on the matrices the pipeline exported before this drop
/// (commit 7e90d33), LightGBM without them has a lower validation log loss
/// (0.09292 against 0.09392) and the same evaluation AP (0.2953 against
/// 0.2963; `benches/compare/tuning.py` with and without a
/// `--drop-contains` for each of these).
pub const DFS_DROPS: [&str; 8] = [
    "DAY(", "MONTH(", "YEAR(", "MODE(", "SKEW(", "STD(", "MIN(", "MAX(",
];

/// The names of the features this module computes, the last columns of
/// [`Examples::features`]; see the [module](self) docs for each.
pub const PROBLEM_FEATURES: [&str; 37] = [
    "pair.times_bought",
    "pair.times_bought_last_window",
    "pair.times_bought_last_3_windows",
    "pair.quantity_bought",
    "pair.spend",
    "pair.spend_share",
    "pair.invoice_share",
    "pair.days_since_last_bought",
    "pair.days_since_first_bought",
    "pair.mean_days_between_purchases",
    "pair.cycles_since_last_bought",
    "pair.invoices_since_last_bought",
    "pair.times_returned",
    "pair.quantity_returned",
    "pair.item_cycles_since_last_bought",
    "pair.same_type_invoices",
    "pair.same_type_items",
    "pair.days_since_same_type",
    "pair.new_in_known_type",
    "pair.same_type_invoice_share",
    "customer.invoices_last_window",
    "customer.invoices_last_3_windows",
    "customer.days_since_last_invoice",
    "customer.mean_days_between_invoices",
    "customer.items_bought",
    "customer.repeat_share",
    "customer.rebuy_rate",
    "customer.recent_rebuy_rate",
    "item.purchases_last_window",
    "item.purchases_previous_window",
    "item.purchases_last_week",
    "item.trend",
    "item.popularity_rank",
    "item.repeat_share",
    "item.mean_days_between_repeats",
    "item.buyers_last_week",
    "item.buyer_trend",
];

/// The number of [`PROBLEM_FEATURES`].
const P: usize = PROBLEM_FEATURES.len();

/// The prefix of the customers' deep feature names.
pub const CUSTOMER_PREFIX: &str = "customer.";

/// The prefix of the items' deep feature names.
pub const ITEM_PREFIX: &str = "item.";

/// The names of the columns of [`Examples::pairs`].
pub const PAIR_COLUMNS: [&str; 4] = ["CustomerID", "StockCode", "cutoff", "label"];

/// Which items are a customer's candidates at a cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CandidateSource {
    /// The items the customer bought at or before the cutoff.
    PastItems,
    /// The `K` most popular items of the horizon before the cutoff.
    Popular,
    /// Both, each item once (the default).
    #[default]
    Both,
}

impl CandidateSource {
    fn past_items(self) -> bool {
        matches!(self, Self::PastItems | Self::Both)
    }

    fn popular(self) -> bool {
        matches!(self, Self::Popular | Self::Both)
    }
}

/// Where the deep features of customers or items come from.
#[derive(Debug, Clone)]
enum FeatureSource {
    /// Synthesized on each entity set.
    Dfs(Box<Dfs>),
    /// Given definitions (loaded with [`FeatureSet::from_json`], say).
    Fixed(FeatureSet),
}

impl FeatureSource {
    fn build(&self, es: &EntitySet, target: &'static str) -> Result<FeatureSet> {
        let features = match self {
            Self::Dfs(dfs) => dfs.build(es).map_err(features_error)?,
            Self::Fixed(features) => features.clone(),
        };
        check_target(&features, target)?;
        Ok(features)
    }
}

/// The options of a [`Problem`], checked by [`ProblemBuilder::build`].
///
/// | Name | Default | Purpose | Range |
/// |---|---|---|---|
/// | horizon `W` | 30 days | label window `(T, T + W]`; popularity window `(T − W, T]` | > 0 |
/// | top popular `K` | 100 | popular candidates per customer | ≥ 1 when popular items are candidates |
/// | candidates | [`CandidateSource::Both`] | past items, popular items or both | |
/// | customer features | DFS on `customers`, depth 2, pruned, less [`CUSTOMER_DFS_DROPS`] and [`DFS_DROPS`] | `customer.` columns | target `customers` |
/// | item features | DFS on `products`, depth 2, pruned, less [`DFS_DROPS`] | `item.` columns | target `products` |
/// | deep features | on | off: only [`PROBLEM_FEATURES`] | |
///
/// ```
/// use berserkr_model::problem::{CandidateSource, ProblemBuilder};
///
/// let problem = ProblemBuilder::new()
///     .with_horizon_days(14)
///     .with_top_popular(50)
///     .with_candidates(CandidateSource::Both)
///     .build()?;
/// assert_eq!(problem.top_popular(), 50);
/// assert!(ProblemBuilder::new().with_horizon_days(0).build().is_err());
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProblemBuilder {
    horizon: Duration,
    top_popular: usize,
    candidates: CandidateSource,
    customer_features: FeatureSource,
    item_features: FeatureSource,
    deep_features: bool,
}

impl Default for ProblemBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ProblemBuilder {
    /// The default problem: 30 days, the 100 most popular items and the
    /// customer's past items, pruned depth-2 DFS features without
    /// [`DFS_DROPS`] (and the customers' without [`CUSTOMER_DFS_DROPS`]).
    pub fn new() -> Self {
        Self {
            horizon: Duration::from_secs(30 * 86_400),
            top_popular: 100,
            candidates: CandidateSource::Both,
            customer_features: FeatureSource::Dfs(Box::new(
                Dfs::new("customers")
                    .with_max_depth(2)
                    .with_pruning(true)
                    .with_drop_contains(&[&CUSTOMER_DFS_DROPS[..], &DFS_DROPS[..]].concat()),
            )),
            item_features: FeatureSource::Dfs(Box::new(
                Dfs::new("products")
                    .with_max_depth(2)
                    .with_pruning(true)
                    .with_drop_contains(&DFS_DROPS),
            )),
            deep_features: true,
        }
    }

    /// The horizon `W` (default 30 days): labels look at `(T, T + W]`,
    /// popularity at `(T − W, T]`.
    pub fn with_horizon(mut self, horizon: Duration) -> Self {
        self.horizon = horizon;
        self
    }

    /// The horizon in days (default 30).
    pub fn with_horizon_days(self, days: u32) -> Self {
        self.with_horizon(Duration::from_secs(u64::from(days) * 86_400))
    }

    /// How many of the most popular items are candidates (default 100).
    pub fn with_top_popular(mut self, k: usize) -> Self {
        self.top_popular = k;
        self
    }

    /// Which items are candidates (default [`CandidateSource::Both`]).
    pub fn with_candidates(mut self, source: CandidateSource) -> Self {
        self.candidates = source;
        self
    }

    /// The deep feature synthesis of customer features (default
    /// `Dfs::new("customers").with_max_depth(2).with_pruning(true)
    /// .with_drop_contains(&[&CUSTOMER_DFS_DROPS[..], &DFS_DROPS[..]].concat())`);
    /// its target must be `customers`.
    pub fn with_customer_dfs(mut self, dfs: Dfs) -> Self {
        self.customer_features = FeatureSource::Dfs(Box::new(dfs));
        self
    }

    /// The deep feature synthesis of item features (default
    /// `Dfs::new("products").with_max_depth(2).with_pruning(true)
    /// .with_drop_contains(&DFS_DROPS)`); its target must be `products`.
    pub fn with_item_dfs(mut self, dfs: Dfs) -> Self {
        self.item_features = FeatureSource::Dfs(Box::new(dfs));
        self
    }

    /// Fixed customer feature definitions instead of a synthesis, such as
    /// those a trained model was saved with ([`FeatureSet::from_json`]).
    pub fn with_customer_features(mut self, features: FeatureSet) -> Self {
        self.customer_features = FeatureSource::Fixed(features);
        self
    }

    /// Fixed item feature definitions instead of a synthesis.
    pub fn with_item_features(mut self, features: FeatureSet) -> Self {
        self.item_features = FeatureSource::Fixed(features);
        self
    }

    /// Whether to compute the deep features of customers and items (default
    /// `true`); without them the matrix holds [`PROBLEM_FEATURES`] only and
    /// the transactions need no `Country` (nor `Description`, without which
    /// the product type features are NaN).
    pub fn with_deep_features(mut self, on: bool) -> Self {
        self.deep_features = on;
        self
    }

    /// Checks the options.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] for a zero horizon, one beyond `i64`
    /// nanoseconds, `K = 0` when popular items are candidates, or fixed
    /// features of the wrong target.
    pub fn build(self) -> Result<Problem> {
        let horizon = i64::try_from(self.horizon.as_nanos())
            .ok()
            .filter(|&nanos| nanos > 0)
            .ok_or_else(|| Error::InvalidParameter {
                name: "horizon",
                reason: format!(
                    "{:?} is not a positive span that fits in i64 nanoseconds",
                    self.horizon
                ),
            })?;
        if self.candidates.popular() && self.top_popular == 0 {
            return Err(Error::InvalidParameter {
                name: "top_popular",
                reason: "popular candidates need K >= 1".to_string(),
            });
        }
        if let FeatureSource::Fixed(features) = &self.customer_features {
            check_target(features, "customers")?;
        }
        if let FeatureSource::Fixed(features) = &self.item_features {
            check_target(features, "products")?;
        }
        Ok(Problem {
            horizon,
            top_popular: self.top_popular,
            candidates: self.candidates,
            customer_features: self.customer_features,
            item_features: self.item_features,
            deep_features: self.deep_features,
        })
    }
}

/// The purchase-likelihood problem with checked options, made by
/// [`ProblemBuilder`]; see the [module](self) docs.
#[derive(Debug, Clone)]
pub struct Problem {
    horizon: i64,
    top_popular: usize,
    candidates: CandidateSource,
    customer_features: FeatureSource,
    item_features: FeatureSource,
    deep_features: bool,
}

impl Problem {
    /// The horizon `W` in nanoseconds.
    pub fn horizon_nanos(&self) -> i64 {
        self.horizon
    }

    /// The number `K` of popular candidates.
    pub fn top_popular(&self) -> usize {
        self.top_popular
    }

    /// Which items are candidates.
    pub fn candidates(&self) -> CandidateSource {
        self.candidates
    }

    /// The customer and item feature definitions this problem uses on an
    /// entity set made by [`retail_entityset`], `None` without deep
    /// features. Save them with [`FeatureSet::to_json`] to score new data
    /// with the same columns.
    ///
    /// # Errors
    ///
    /// Those of the synthesis, as [`Error::Arrow`] wrapping the
    /// `berserkr_features::Error`.
    pub fn feature_sets(&self, es: &EntitySet) -> Result<Option<(FeatureSet, FeatureSet)>> {
        if !self.deep_features {
            return Ok(None);
        }
        Ok(Some((
            self.customer_features.build(es, "customers")?,
            self.item_features.build(es, "products")?,
        )))
    }

    /// The examples at cutoff `cutoff` (nanoseconds since the epoch): the
    /// candidates, their labels when the data holds purchases after the
    /// cutoff, and their features.
    ///
    /// `cancellations` are the returns (an empty batch for none). See the
    /// [module](self) docs for the definitions and an example.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming a missing column or one of the
    /// wrong type; [`Error::Arrow`] for an Arrow error or one of the deep
    /// features.
    pub fn examples(
        &self,
        transactions: &RecordBatch,
        cancellations: &RecordBatch,
        cutoff: i64,
    ) -> Result<Examples> {
        self.examples_until(transactions, cancellations, &[cutoff], None)
    }

    /// The examples of every cutoff of `cutoffs`, stacked, for training a
    /// model that is then judged at `evaluation_cutoff`.
    ///
    /// Each cutoff's label window `(T, T + W]` must end at or before the
    /// evaluation cutoff, and the data after the evaluation cutoff is
    /// dropped before anything is computed, so that no row (feature or
    /// label) knows anything the evaluation labels hold.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] (`name: "cutoffs"`) when no cutoff is
    /// given or a cutoff's label window ends after `evaluation_cutoff`;
    /// otherwise those of [`Problem::examples`].
    ///
    /// # Example
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow::array::RecordBatch;
    /// # use arrow::datatypes::Schema;
    /// use berserkr_model::problem::{NANOS_PER_DAY, ProblemBuilder};
    ///
    /// # let transactions = RecordBatch::new_empty(Arc::new(Schema::empty()));
    /// # let cancellations = transactions.clone();
    /// let problem = ProblemBuilder::new().with_horizon_days(30).build()?;
    /// let day = |d: i64| d * NANOS_PER_DAY;
    /// // The window of day 80 ends on day 110, after the evaluation cutoff.
    /// let refused = problem.training_set(&transactions, &cancellations, &[day(60), day(80)], day(100));
    /// assert!(refused.unwrap_err().to_string().contains("after the evaluation cutoff"));
    /// # Ok::<(), berserkr_model::Error>(())
    /// ```
    pub fn training_set(
        &self,
        transactions: &RecordBatch,
        cancellations: &RecordBatch,
        cutoffs: &[i64],
        evaluation_cutoff: i64,
    ) -> Result<Examples> {
        if cutoffs.is_empty() {
            return Err(Error::InvalidParameter {
                name: "cutoffs",
                reason: "a training set needs at least one cutoff".to_string(),
            });
        }
        for &cutoff in cutoffs {
            let end = cutoff.checked_add(self.horizon);
            if end.is_none_or(|end| end > evaluation_cutoff) {
                return Err(Error::InvalidParameter {
                    name: "cutoffs",
                    reason: format!(
                        "the label window of training cutoff {} ends at {}, after the \
                         evaluation cutoff {}: its labels would leak the evaluation's",
                        format_nanos(cutoff),
                        end.map_or_else(|| "overflow".to_string(), format_nanos),
                        format_nanos(evaluation_cutoff)
                    ),
                });
            }
        }
        self.examples_until(
            transactions,
            cancellations,
            cutoffs,
            Some(evaluation_cutoff),
        )
    }

    /// The examples of each cutoff of `cutoffs`, one cutoff at a time, in
    /// order: what [`Problem::examples`] gives for each, with the
    /// transactions indexed and the entity set built once for all.
    ///
    /// Nothing of a cutoff is computed before the iterator reaches it, and
    /// [`ExamplesEach::next_cutoff`] gives its candidates and labels before
    /// any feature, so that a caller can assemble the rows it wants (a
    /// sample of the negatives, or the rows in chunks) and hold no more
    /// than those.
    ///
    /// # Errors
    ///
    /// Those of [`Problem::examples`], here or from the iterator.
    ///
    /// # Example
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    /// # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    /// # let micros_per_day = 86_400_000_000_i64;
    /// # let transactions = RecordBatch::try_new(Arc::new(Schema::new(vec![
    /// #     Field::new("InvoiceNo", DataType::Utf8, false),
    /// #     Field::new("StockCode", DataType::Utf8, false),
    /// #     Field::new("Quantity", DataType::Int64, false),
    /// #     Field::new("InvoiceDate", DataType::Timestamp(TimeUnit::Microsecond, None), false),
    /// #     Field::new("UnitPrice", DataType::Float64, false),
    /// #     Field::new("CustomerID", DataType::Int64, true),
    /// # ])), vec![
    /// #     Arc::new(StringArray::from(vec!["1", "2", "3"])),
    /// #     Arc::new(StringArray::from(vec!["A", "B", "A"])),
    /// #     Arc::new(Int64Array::from(vec![1, 2, 1])),
    /// #     Arc::new(TimestampMicrosecondArray::from(vec![10 * micros_per_day, 50 * micros_per_day, 70 * micros_per_day])),
    /// #     Arc::new(Float64Array::from(vec![1.0, 2.0, 1.0])),
    /// #     Arc::new(Int64Array::from(vec![7, 7, 7])),
    /// # ])?;
    /// # let cancellations = RecordBatch::new_empty(Arc::new(Schema::empty()));
    /// use berserkr_model::problem::{NANOS_PER_DAY, ProblemBuilder};
    ///
    /// // Customer 7 bought A on days 10 and 70, B on day 50.
    /// let problem = ProblemBuilder::new().with_deep_features(false).build()?;
    /// let day = |d: i64| d * NANOS_PER_DAY;
    /// let mut each = problem.examples_each(&transactions, &cancellations, &[day(60), day(65)])?;
    ///
    /// // Day 60: candidates A and B; A is bought within 30 days.
    /// let candidates = each.next_cutoff().unwrap()?;
    /// assert_eq!(candidates.labels(), Some(&[true, false][..]));
    /// // The features of the positives only.
    /// let positives = candidates.examples(&[0])?;
    /// assert_eq!(positives.len(), 1);
    /// drop(candidates);
    ///
    /// // Day 65, whole.
    /// let examples = each.next().unwrap()?;
    /// assert_eq!(examples.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn examples_each(
        &self,
        transactions: &RecordBatch,
        cancellations: &RecordBatch,
        cutoffs: &[i64],
    ) -> Result<ExamplesEach> {
        let mut each = self.prepare(transactions, cancellations, None)?;
        each.cutoffs = cutoffs.iter().rev().copied().collect();
        Ok(each)
    }

    /// The examples of `cutoffs`, stacked, on the data at or before `until`.
    fn examples_until(
        &self,
        transactions: &RecordBatch,
        cancellations: &RecordBatch,
        cutoffs: &[i64],
        until: Option<i64>,
    ) -> Result<Examples> {
        let each = self.prepare(transactions, cancellations, until)?;
        let blocks = cutoffs
            .iter()
            .map(|&cutoff| {
                let (block, deep) = each.block(cutoff)?;
                let selection = block.all();
                Ok((block, deep, selection))
            })
            .collect::<Result<Vec<_>>>()?;
        let parts: Vec<Part<'_>> = blocks
            .iter()
            .map(|(block, deep, selection)| (block, deep.as_ref(), selection))
            .collect();
        each.assemble(&parts)
    }

    /// The transactions indexed and the entity set built, on the data at
    /// or before `until`, with no cutoff yet.
    fn prepare(
        &self,
        transactions: &RecordBatch,
        cancellations: &RecordBatch,
        until: Option<i64>,
    ) -> Result<ExamplesEach> {
        let history = History::new(transactions, cancellations, until)?;
        let deep = if self.deep_features {
            let kept = match until {
                Some(until) => filter_until(transactions, until)?,
                None => transactions.clone(),
            };
            let es = retail_entityset(&kept).map_err(features_error)?;
            let (customers, items) = self.feature_sets(&es)?.ok_or_else(|| {
                Error::Undefined("deep features are on but have no definitions".to_string())
            })?;
            Some((es, customers, items))
        } else {
            None
        };
        let mut names = Vec::new();
        if let Some((_, customers, items)) = &deep {
            names.extend(
                customers
                    .output_names()
                    .iter()
                    .map(|n| format!("{CUSTOMER_PREFIX}{n}")),
            );
            names.extend(
                items
                    .output_names()
                    .iter()
                    .map(|n| format!("{ITEM_PREFIX}{n}")),
            );
        }
        names.extend(PROBLEM_FEATURES.iter().map(|n| n.to_string()));
        Ok(ExamplesEach {
            problem: self.clone(),
            history: Arc::new(history),
            deep,
            names,
            cutoffs: Vec::new(),
        })
    }
}

/// The examples of several cutoffs over one index of the transactions,
/// made by [`Problem::examples_each`]: an iterator of each cutoff's whole
/// [`Examples`], or, with [`next_cutoff`](Self::next_cutoff), of each
/// cutoff's candidates to assemble in parts.
pub struct ExamplesEach {
    problem: Problem,
    /// Shared with the [`Baselines`](crate::baselines::Baselines) made from
    /// it.
    history: Arc<History>,
    deep: Option<(EntitySet, FeatureSet, FeatureSet)>,
    names: Vec<String>,
    /// Reversed: the next cutoff is the last.
    cutoffs: Vec<i64>,
}

impl fmt::Debug for ExamplesEach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExamplesEach")
            .field("cutoffs_left", &self.cutoffs.len())
            .field("features", &self.names.len())
            .finish_non_exhaustive()
    }
}

impl ExamplesEach {
    /// The feature names of every cutoff's examples.
    pub fn feature_names(&self) -> &[String] {
        &self.names
    }

    /// Both baselines over the transactions these examples index, without
    /// indexing them again; they may outlive `self`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
    /// # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    /// # let micros_per_day = 86_400_000_000_i64;
    /// # let transactions = RecordBatch::try_new(Arc::new(Schema::new(vec![
    /// #     Field::new("InvoiceNo", DataType::Utf8, false),
    /// #     Field::new("StockCode", DataType::Utf8, false),
    /// #     Field::new("Quantity", DataType::Int64, false),
    /// #     Field::new("InvoiceDate", DataType::Timestamp(TimeUnit::Microsecond, None), false),
    /// #     Field::new("UnitPrice", DataType::Float64, false),
    /// #     Field::new("CustomerID", DataType::Int64, true),
    /// # ])), vec![
    /// #     Arc::new(StringArray::from(vec!["1", "2", "3"])),
    /// #     Arc::new(StringArray::from(vec!["A", "B", "A"])),
    /// #     Arc::new(Int64Array::from(vec![1, 2, 1])),
    /// #     Arc::new(TimestampMicrosecondArray::from(vec![10 * micros_per_day, 50 * micros_per_day, 70 * micros_per_day])),
    /// #     Arc::new(Float64Array::from(vec![1.0, 2.0, 1.0])),
    /// #     Arc::new(Int64Array::from(vec![7, 7, 7])),
    /// # ])?;
    /// # let cancellations = RecordBatch::new_empty(Arc::new(Schema::empty()));
    /// use berserkr_model::baselines::Baselines;
    /// use berserkr_model::problem::{NANOS_PER_DAY, ProblemBuilder};
    ///
    /// let problem = ProblemBuilder::new().with_deep_features(false).build()?;
    /// let mut each = problem.examples_each(&transactions, &cancellations, &[60 * NANOS_PER_DAY])?;
    /// let baselines = each.baselines();
    /// let examples = each.next().unwrap()?;
    /// // The same scores as from the transactions indexed anew.
    /// let anew = Baselines::new(&transactions)?;
    /// assert_eq!(baselines.past_purchase_count(&examples)?, anew.past_purchase_count(&examples)?);
    /// assert_eq!(baselines.popularity(&examples)?, anew.popularity(&examples)?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn baselines(&self) -> Baselines {
        Baselines::from_history(Arc::clone(&self.history))
    }

    /// The next cutoff's candidates and labels, their features not yet
    /// computed; `None` after the last cutoff.
    ///
    /// # Errors
    ///
    /// Those of the deep features at that cutoff.
    pub fn next_cutoff(&mut self) -> Option<Result<Candidates<'_>>> {
        let cutoff = self.cutoffs.pop()?;
        Some(self.block(cutoff).map(|(block, deep)| Candidates {
            each: self,
            block,
            deep,
        }))
    }

    fn block(&self, cutoff: i64) -> Result<(Block, Option<DeepBlock>)> {
        let block = self.history.block(&self.problem, cutoff);
        let deep = match &self.deep {
            Some((es, customers, items)) => Some(deep_block(
                &self.history,
                &block,
                es,
                customers,
                items,
                cutoff,
            )?),
            None => None,
        };
        Ok((block, deep))
    }

    fn assemble(&self, parts: &[Part<'_>]) -> Result<Examples> {
        let mut examples = assemble(
            &self.history,
            parts,
            self.names.clone(),
            self.problem.horizon,
        )?;
        if let Some((_, customers, items)) = &self.deep {
            examples.customer_features = Some(customers.clone());
            examples.item_features = Some(items.clone());
        }
        Ok(examples)
    }
}

impl Iterator for ExamplesEach {
    type Item = Result<Examples>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_cutoff()?.and_then(|candidates| candidates.all()))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.cutoffs.len(), Some(self.cutoffs.len()))
    }
}

impl ExactSizeIterator for ExamplesEach {}

/// The candidates of one cutoff with their labels, made by
/// [`ExamplesEach::next_cutoff`]: the rows of its [`Examples`], in the same
/// order, before any feature is computed.
pub struct Candidates<'a> {
    each: &'a ExamplesEach,
    block: Block,
    deep: Option<DeepBlock>,
}

impl fmt::Debug for Candidates<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidates")
            .field("cutoff", &self.block.cutoff)
            .field("rows", &self.len())
            .finish_non_exhaustive()
    }
}

impl Candidates<'_> {
    /// The cutoff, in nanoseconds since the epoch.
    pub fn cutoff(&self) -> i64 {
        self.block.cutoff
    }

    /// The number of candidates.
    pub fn len(&self) -> usize {
        self.block.row_items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.block.row_items.is_empty()
    }

    /// The `CustomerID` of each candidate (rows are ordered by customer).
    pub fn customers(&self) -> Vec<i64> {
        self.block
            .row_customers
            .iter()
            .map(|&c| self.each.history.customers[c as usize])
            .collect()
    }

    /// The label of each candidate, `None` when the data holds nothing
    /// after the cutoff.
    pub fn labels(&self) -> Option<&[bool]> {
        self.block.labels.as_deref()
    }

    /// The examples of rows `rows` (indices into the candidates), in that
    /// order, with every feature.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] for a row that does not exist.
    pub fn examples(&self, rows: &[usize]) -> Result<Examples> {
        let selection = self.block.select(rows)?;
        self.each
            .assemble(&[(&self.block, self.deep.as_ref(), &selection)])
    }

    /// The examples of every candidate.
    ///
    /// # Errors
    ///
    /// Those of the assembly (an Arrow error).
    pub fn all(&self) -> Result<Examples> {
        let selection = self.block.all();
        self.each
            .assemble(&[(&self.block, self.deep.as_ref(), &selection)])
    }
}

/// Candidates with labels and features, row-aligned, made by
/// [`Problem::examples`] or [`Problem::training_set`].
///
/// Row `i` is the question "does customer [`groups`](Self::groups)`[i]`
/// buy item `pairs.StockCode[i]` in the horizon after
/// [`cutoffs`](Self::cutoffs)`[i]`?"; its features are row `i` of
/// [`features`](Self::features) and its answer `labels[i]`.
#[derive(Clone)]
pub struct Examples {
    pairs: RecordBatch,
    features: Array2<f64>,
    feature_names: Vec<String>,
    labels: Option<Vec<bool>>,
    customers: Vec<i64>,
    cutoffs: Vec<i64>,
    horizon: i64,
    customer_features: Option<FeatureSet>,
    item_features: Option<FeatureSet>,
}

impl fmt::Debug for Examples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Examples")
            .field("rows", &self.len())
            .field("features", &self.feature_names.len())
            .field("labelled", &self.labels.is_some())
            .field("horizon_nanos", &self.horizon)
            .finish_non_exhaustive()
    }
}

impl Examples {
    /// The (customer, item, cutoff, label) of each row: `CustomerID` Int64,
    /// `StockCode` Utf8, `cutoff` Timestamp(ns), `label` Boolean (null when
    /// the labels are unknown); see [`PAIR_COLUMNS`].
    pub fn pairs(&self) -> &RecordBatch {
        &self.pairs
    }

    /// The feature matrix, one row per pair, one column per
    /// [`feature_names`](Self::feature_names) entry; NaN for missing.
    pub fn features(&self) -> &Array2<f64> {
        &self.features
    }

    /// The matrix, given up.
    pub fn into_features(self) -> Array2<f64> {
        self.features
    }

    /// The names of the feature columns: `customer.` and `item.` deep
    /// features, then [`PROBLEM_FEATURES`].
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The column of the feature named `name`, if there is one.
    pub fn feature(&self, name: &str) -> Option<ArrayView1<'_, f64>> {
        let position = self.feature_names.iter().position(|n| n == name)?;
        Some(self.features.column(position))
    }

    /// Whether each customer bought the item in the label window, `None`
    /// when the data held nothing after the cutoff (of some stacked part).
    pub fn labels(&self) -> Option<&[bool]> {
        self.labels.as_deref()
    }

    /// The customer of each row, the group of the per-customer metrics
    /// ([`crate::metrics::precision_at_k`]). When several cutoffs are
    /// stacked, group by (customer, cutoff) with [`cutoffs`](Self::cutoffs).
    pub fn groups(&self) -> &[i64] {
        &self.customers
    }

    /// The cutoff of each row, in nanoseconds since the epoch.
    pub fn cutoffs(&self) -> &[i64] {
        &self.cutoffs
    }

    /// The horizon `W` the examples were made with, in nanoseconds.
    pub fn horizon_nanos(&self) -> i64 {
        self.horizon
    }

    /// The customer feature definitions behind the `customer.` columns.
    pub fn customer_features(&self) -> Option<&FeatureSet> {
        self.customer_features.as_ref()
    }

    /// The item feature definitions behind the `item.` deep columns.
    pub fn item_features(&self) -> Option<&FeatureSet> {
        self.item_features.as_ref()
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.customers.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// The rows of all `parts`, in order. The labels are known when every
    /// part's are.
    ///
    /// # Errors
    ///
    /// [`Error::Undefined`] for no parts; [`Error::ShapeMismatch`] when the
    /// parts' feature names or horizons differ.
    pub fn stack(mut parts: Vec<Examples>) -> Result<Examples> {
        if parts.len() == 1 {
            return parts.pop().ok_or_else(nothing_to_stack);
        }
        let first = parts.first().ok_or_else(nothing_to_stack)?;
        for part in &parts[1..] {
            if part.feature_names != first.feature_names {
                return Err(Error::ShapeMismatch(format!(
                    "cannot stack examples with {} features on examples with {} other ones",
                    part.feature_names.len(),
                    first.feature_names.len()
                )));
            }
            if part.horizon != first.horizon {
                return Err(Error::ShapeMismatch(format!(
                    "cannot stack examples of horizon {} ns on examples of horizon {} ns",
                    part.horizon, first.horizon
                )));
            }
        }
        let pairs = concat_batches(&pair_schema(), parts.iter().map(|p| &p.pairs))?;
        let views: Vec<_> = parts.iter().map(|p| p.features.view()).collect();
        let features = ndarray::concatenate(Axis(0), &views)
            .map_err(|e| Error::ShapeMismatch(format!("cannot stack the matrices: {e}")))?;
        let labels = parts
            .iter()
            .map(|p| p.labels.as_deref())
            .collect::<Option<Vec<_>>>()
            .map(|labels| labels.concat());
        let customers = parts.iter().flat_map(|p| p.customers.iter().copied());
        let cutoffs = parts.iter().flat_map(|p| p.cutoffs.iter().copied());
        Ok(Examples {
            pairs,
            features,
            feature_names: first.feature_names.clone(),
            labels,
            customers: customers.collect(),
            cutoffs: cutoffs.collect(),
            horizon: first.horizon,
            customer_features: first.customer_features.clone(),
            item_features: first.item_features.clone(),
        })
    }
}

fn nothing_to_stack() -> Error {
    Error::Undefined("no examples to stack".to_string())
}

/// The schema of [`Examples::pairs`].
fn pair_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(PAIR_COLUMNS[0], DataType::Int64, false),
        Field::new(PAIR_COLUMNS[1], DataType::Utf8, false),
        Field::new(
            PAIR_COLUMNS[2],
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ),
        Field::new(PAIR_COLUMNS[3], DataType::Boolean, true),
    ]))
}

/// A `berserkr-features` error, kept whole as the source of an Arrow error.
fn features_error(error: berserkr_features::Error) -> Error {
    Error::Arrow(error.into())
}

fn check_target(features: &FeatureSet, target: &'static str) -> Result<()> {
    if features.target() != target {
        return Err(Error::InvalidParameter {
            name: if target == "customers" {
                "customer_features"
            } else {
                "item_features"
            },
            reason: format!(
                "the features are of {:?}, not of {target:?}",
                features.target()
            ),
        });
    }
    Ok(())
}

/// The purchases and returns of the data, indexed for any cutoff.
///
/// Customers and items get dense ids in the order of `CustomerID` and
/// `StockCode`, so that the data cut at a cutoff orders them the same way
/// and every sum runs in the same order.
#[derive(Debug)]
pub(crate) struct History {
    /// `CustomerID` of each dense customer id, ascending.
    customers: Vec<i64>,
    /// `StockCode` of each dense item id, ascending.
    items: StringArray,
    /// Every purchase, by (customer, item, time).
    purchases: Vec<Purchase>,
    /// The purchases of each (customer, item), by customer then item.
    pairs: Vec<PairSpan>,
    /// The span of `pairs` of each customer.
    customer_pairs: Vec<Range<usize>>,
    /// The time of each of the customers' invoices, by (customer, time).
    invoice_times: Vec<i64>,
    /// The span of `invoice_times` of each customer.
    customer_invoices: Vec<Range<usize>>,
    /// The time of each purchase, by (item, time).
    sale_times: Vec<i64>,
    /// The customer of each purchase, in the order of `sale_times`.
    sale_customers: Vec<u32>,
    /// The product type of each purchase (`NO_TYPE`: none), in the order of
    /// `sale_times`; see [`product_type`].
    sale_types: Vec<u32>,
    /// `sale_units[i]`: the units of the sales before sale `i`, over all
    /// items (integers, so differences are exact).
    sale_units: Vec<f64>,
    /// The span of `sale_times` of each item.
    item_sales: Vec<Range<usize>>,
    /// Every return, by (customer, item, time).
    returns: Vec<Return>,
    /// Whether some purchase is after each time asked: the latest one.
    last_purchase: Option<i64>,
}

/// One item on one invoice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Purchase {
    pub(crate) time: i64,
    /// The invoice's dense id.
    pub(crate) invoice: u32,
    pub(crate) quantity: f64,
    pub(crate) spend: f64,
}

#[derive(Debug, Clone)]
struct PairSpan {
    item: u32,
    purchases: Range<usize>,
}

#[derive(Debug, Clone, Copy)]
struct Return {
    customer: u32,
    item: u32,
    time: i64,
    units: f64,
}

/// One line of a transaction, with dense ids.
#[derive(Debug, Clone, Copy)]
struct Line {
    customer: u32,
    item: u32,
    time: i64,
    invoice: u32,
    row: u32,
    quantity: f64,
    spend: f64,
}

/// The product type of a purchase without a description.
const NO_TYPE: u32 = u32::MAX;

const TRANSACTIONS: &str = "transactions";
const CANCELLATIONS: &str = "cancellations";

impl History {
    /// Indexes the rows of `transactions` and `cancellations` at or before
    /// `until` (all of them for `None`).
    pub(crate) fn new(
        transactions: &RecordBatch,
        cancellations: &RecordBatch,
        until: Option<i64>,
    ) -> Result<Self> {
        let invoices = strings(transactions, TRANSACTIONS, "InvoiceNo")?;
        let codes = strings(transactions, TRANSACTIONS, "StockCode")?;
        let quantities = numbers(transactions, TRANSACTIONS, "Quantity")?;
        let prices = numbers(transactions, TRANSACTIONS, "UnitPrice")?;
        let times = times(transactions, TRANSACTIONS, "InvoiceDate")?;
        let ids = customer_ids(transactions, TRANSACTIONS, "CustomerID")?;
        let until = until.unwrap_or(i64::MAX);
        let rows: Vec<usize> = (0..transactions.num_rows())
            .filter(|&r| {
                invoices.is_valid(r)
                    && codes.is_valid(r)
                    && quantities.is_valid(r)
                    && prices.is_valid(r)
                    && times.is_valid(r)
                    && ids.is_valid(r)
                    && quantities.value(r) > 0.0
                    && times.value(r) <= until
            })
            .collect();
        if u32::try_from(transactions.num_rows()).is_err() {
            return Err(Error::InvalidParameter {
                name: TRANSACTIONS,
                reason: format!("{} rows; at most 2^32 - 1", transactions.num_rows()),
            });
        }

        let mut customers: Vec<i64> = rows.iter().map(|&r| ids.value(r)).collect();
        customers.par_sort_unstable();
        customers.dedup();
        let (item_ids, items) = dense_strings(&codes, &rows)?;
        let (invoice_ids, _) = dense_strings(&invoices, &rows)?;
        let row_types = product_types(transactions, &rows)?;

        let mut lines: Vec<Line> = rows
            .par_iter()
            .filter_map(|&r| {
                let quantity = quantities.value(r);
                Some(Line {
                    customer: customers.binary_search(&ids.value(r)).ok()? as u32,
                    item: item_ids[r],
                    time: times.value(r),
                    invoice: invoice_ids[r],
                    row: r as u32,
                    quantity,
                    spend: quantity * prices.value(r),
                })
            })
            .collect();
        lines.par_sort_unstable_by_key(|l| (l.customer, l.item, l.time, l.invoice, l.row));

        let mut purchases = Vec::with_capacity(lines.len());
        let mut pairs = Vec::new();
        let mut customer_pairs = vec![0..0; customers.len()];
        let mut invoices_seen: Vec<(u32, i64, u32)> = Vec::new();
        let mut sales: Vec<(u32, i64, u32, f64, u32)> = Vec::new();
        for of_customer in lines.chunk_by(|a, b| a.customer == b.customer) {
            let customer = of_customer[0].customer;
            let first_pair = pairs.len();
            for of_pair in of_customer.chunk_by(|a, b| a.item == b.item) {
                let start = purchases.len();
                // Lines of one invoice are adjacent: they share its time.
                for of_invoice in of_pair.chunk_by(|a, b| a.invoice == b.invoice) {
                    let first = of_invoice[0];
                    let purchase = Purchase {
                        time: first.time,
                        invoice: first.invoice,
                        quantity: of_invoice.iter().map(|l| l.quantity).sum(),
                        spend: of_invoice.iter().map(|l| l.spend).sum(),
                    };
                    invoices_seen.push((customer, first.time, first.invoice));
                    sales.push((
                        first.item,
                        first.time,
                        customer,
                        purchase.quantity,
                        row_types[first.row as usize],
                    ));
                    purchases.push(purchase);
                }
                pairs.push(PairSpan {
                    item: of_pair[0].item,
                    purchases: start..purchases.len(),
                });
            }
            customer_pairs[customer as usize] = first_pair..pairs.len();
        }
        drop(lines);

        invoices_seen.par_sort_unstable();
        invoices_seen.dedup_by_key(|&mut (customer, _, invoice)| (customer, invoice));
        let invoice_times: Vec<i64> = invoices_seen.iter().map(|i| i.1).collect();
        let customer_invoices = spans(invoices_seen.iter().map(|i| i.0 as usize), customers.len());

        sales.par_sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let sale_times: Vec<i64> = sales.iter().map(|s| s.1).collect();
        let sale_customers: Vec<u32> = sales.iter().map(|s| s.2).collect();
        let sale_types: Vec<u32> = sales.iter().map(|s| s.4).collect();
        let mut sale_units = Vec::with_capacity(sales.len() + 1);
        let mut total = 0.0;
        sale_units.push(total);
        for sale in &sales {
            total += sale.3;
            sale_units.push(total);
        }
        let item_sales = spans(sales.iter().map(|s| s.0 as usize), items.len());

        let returns = returns(cancellations, &customers, &items, until)?;
        let last_purchase = purchases.iter().map(|p| p.time).max();
        Ok(Self {
            customers,
            items,
            purchases,
            pairs,
            customer_pairs,
            invoice_times,
            customer_invoices,
            sale_times,
            sale_customers,
            sale_types,
            sale_units,
            item_sales,
            returns,
            last_purchase,
        })
    }

    /// The dense id of a customer.
    pub(crate) fn customer(&self, id: i64) -> Option<usize> {
        self.customers.binary_search(&id).ok()
    }

    /// The dense id of an item.
    pub(crate) fn item(&self, code: &str) -> Option<u32> {
        find_string(&self.items, code)
    }

    /// The purchases of `item` by `customer` (dense ids), by time.
    pub(crate) fn purchases_of(&self, customer: usize, item: u32) -> &[Purchase] {
        let spans = &self.pairs[self.customer_pairs[customer].clone()];
        match spans.binary_search_by_key(&item, |s| s.item) {
            Ok(i) => &self.purchases[spans[i].purchases.clone()],
            Err(_) => &[],
        }
    }

    /// The purchases and units of `item` in `(from, to]`.
    pub(crate) fn sales_between(&self, item: u32, from: i64, to: i64) -> (f64, f64) {
        let span = self.item_sales[item as usize].clone();
        let times = &self.sale_times[span.clone()];
        let lo = times.partition_point(|&t| t <= from);
        let hi = times.partition_point(|&t| t <= to).max(lo);
        let units = self.sale_units[span.start + hi] - self.sale_units[span.start + lo];
        ((hi - lo) as f64, units)
    }

    /// The returns of `item` by `customer` at or before `cutoff`: lines
    /// and units.
    fn returns_of(&self, customer: u32, item: u32, cutoff: i64) -> (f64, f64) {
        let key = |r: &Return| (r.customer, r.item);
        let lo = self.returns.partition_point(|r| key(r) < (customer, item));
        let hi = self.returns.partition_point(|r| key(r) <= (customer, item));
        self.returns[lo..hi]
            .iter()
            .filter(|r| r.time <= cutoff)
            .fold((0.0, 0.0), |(lines, units), r| {
                (lines + 1.0, units + r.units)
            })
    }

    /// The items' popularity at `cutoff`.
    fn item_stats(&self, cutoff: i64, horizon: i64) -> ItemStats {
        let start = cutoff.saturating_sub(horizon);
        let previous_start = start.saturating_sub(horizon);
        let n = self.items.len();
        let mut stats = ItemStats {
            recent: vec![0.0; n],
            previous: vec![0.0; n],
            last_week: vec![0.0; n],
            rank: vec![f64::NAN; n],
            repeat_share: vec![f64::NAN; n],
            mean_days_between_repeats: vec![f64::NAN; n],
            types: Vec::new(),
            buyers_last_week: Vec::new(),
            buyers_before_week: Vec::new(),
            popular: Vec::new(),
        };
        let week_start = cutoff.saturating_sub(7 * NANOS_PER_DAY);
        let mut sold = Vec::new();
        for item in 0..n as u32 {
            let (recent, units) = self.sales_between(item, start, cutoff);
            let (previous, _) = self.sales_between(item, previous_start, start);
            stats.recent[item as usize] = recent;
            stats.previous[item as usize] = previous;
            stats.last_week[item as usize] = self.sales_between(item, week_start, cutoff).0;
            if recent > 0.0 {
                sold.push((item, recent, units));
            }
        }
        sold.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(b.2.total_cmp(&a.2))
                .then(a.0.cmp(&b.0))
        });
        for (rank, &(item, _, _)) in sold.iter().enumerate() {
            stats.rank[item as usize] = (rank + 1) as f64;
        }
        stats.popular = sold.iter().map(|s| s.0).collect();

        let before_week_start = week_start.saturating_sub(horizon);
        let per_item: Vec<(u32, f64, f64)> = (0..n)
            .into_par_iter()
            .map(|item| {
                let span = self.item_sales[item].clone();
                let times = &self.sale_times[span.clone()];
                let at = |time: i64| span.start + times.partition_point(|&t| t <= time);
                let (before, week, seen) = (at(before_week_start), at(week_start), at(cutoff));
                (
                    most_common_type(&self.sale_types[span.start..seen]),
                    distinct_count(&self.sale_customers[week..seen]),
                    distinct_count(&self.sale_customers[before..week]),
                )
            })
            .collect();
        stats.types = per_item.iter().map(|t| t.0).collect();
        stats.buyers_last_week = per_item.iter().map(|t| t.1).collect();
        stats.buyers_before_week = per_item.iter().map(|t| t.2).collect();

        // Purchases by (customer, item): every one after a pair's first
        // repeats it.
        let mut purchases = vec![0.0; n];
        let mut repeats = vec![0.0; n];
        // Days from first to last purchase, over pairs bought twice or more.
        let mut repeat_days = vec![0.0; n];
        for span in &self.pairs {
            let of_pair = &self.purchases[span.purchases.clone()];
            let seen = of_pair.partition_point(|p| p.time <= cutoff);
            if seen > 0 {
                purchases[span.item as usize] += seen as f64;
                repeats[span.item as usize] += (seen - 1) as f64;
                repeat_days[span.item as usize] +=
                    (of_pair[seen - 1].time - of_pair[0].time) as f64 / NANOS_PER_DAY as f64;
            }
        }
        for ((mean, &days), &repeats) in stats
            .mean_days_between_repeats
            .iter_mut()
            .zip(&repeat_days)
            .zip(&repeats)
        {
            if repeats > 0.0 {
                *mean = days / repeats;
            }
        }
        for (share, (&repeats, &purchases)) in stats
            .repeat_share
            .iter_mut()
            .zip(repeats.iter().zip(&purchases))
        {
            if purchases > 0.0 {
                *share = repeats / purchases;
            }
        }
        stats
    }

    /// The candidates of `problem` at `cutoff`, with their labels and what
    /// their [`PROBLEM_FEATURES`] need; the features themselves are
    /// computed by [`History::pair_values`] for the rows assembled.
    fn block(&self, problem: &Problem, cutoff: i64) -> Block {
        let horizon = problem.horizon;
        let stats = self.item_stats(cutoff, horizon);
        let mut popular: Vec<u32> = if problem.candidates.popular() {
            stats
                .popular
                .iter()
                .copied()
                .take(problem.top_popular)
                .collect()
        } else {
            Vec::new()
        };
        popular.sort_unstable();
        let labelled = self.last_purchase.is_some_and(|last| last > cutoff);
        let mut per_customer: Vec<CustomerRows> = (0..self.customers.len())
            .into_par_iter()
            .filter_map(|c| self.customer_rows(problem, c, cutoff, &popular, &stats.types))
            .collect();
        smooth_rebuy_rates(&mut per_customer);
        let rows = per_customer.iter().map(|c| c.items.len()).sum();
        let mut block = Block {
            cutoff,
            horizon,
            customers: Vec::with_capacity(per_customer.len()),
            contexts: Vec::with_capacity(per_customer.len()),
            context_of: vec![u32::MAX; self.customers.len()],
            row_customers: Vec::with_capacity(rows),
            row_items: Vec::with_capacity(rows),
            labels: labelled.then(|| Vec::with_capacity(rows)),
            stats,
        };
        for rows in per_customer {
            // Fewer than 2^32 customers: they are dense u32 ids.
            block.context_of[rows.customer as usize] = block.contexts.len() as u32;
            block.customers.push(rows.customer);
            block.contexts.push(rows.context);
            block
                .row_customers
                .extend(std::iter::repeat_n(rows.customer, rows.items.len()));
            block.row_items.extend(rows.items);
            if let Some(labels) = &mut block.labels {
                labels.extend(rows.labels);
            }
        }
        block
    }

    /// The candidates of customer `c` at `cutoff` and their labels, `None`
    /// when it bought nothing at or before it.
    fn customer_rows(
        &self,
        problem: &Problem,
        c: usize,
        cutoff: i64,
        popular: &[u32],
        types: &[u32],
    ) -> Option<CustomerRows> {
        let horizon = problem.horizon;
        let window_start = cutoff.saturating_sub(horizon);
        let label_end = cutoff.saturating_add(horizon);
        let spans = &self.pairs[self.customer_pairs[c].clone()];
        let past = |s: &&PairSpan| self.purchases[s.purchases.start].time <= cutoff;
        let mut bought = spans.iter().filter(past).peekable();
        bought.peek()?;

        let invoices = &self.invoice_times[self.customer_invoices[c].clone()];
        let invoices = &invoices[..invoices.partition_point(|&t| t <= cutoff)];
        let n_invoices = invoices.len() as f64;
        let invoices_since =
            |start: i64| (invoices.len() - invoices.partition_point(|&t| t <= start)) as f64;
        let three_windows_start = cutoff.saturating_sub(horizon.saturating_mul(3));
        let spend: f64 = spans
            .iter()
            .flat_map(|s| &self.purchases[s.purchases.clone()])
            .filter(|p| p.time <= cutoff)
            .map(|p| p.spend)
            .sum();
        let (lines, first_lines) = spans.iter().fold((0usize, 0usize), |(lines, firsts), s| {
            let seen = self.purchases[s.purchases.clone()].partition_point(|p| p.time <= cutoff);
            (lines + seen, firsts + usize::from(seen > 0))
        });
        let days = |nanos: i64| nanos as f64 / NANOS_PER_DAY as f64;
        let (kinds, solo) = self.type_stats(spans, cutoff, types);
        let context = CustomerContext {
            invoices: n_invoices,
            spend,
            rebuys: self.rebuy_counts(spans, cutoff, horizon),
            kinds,
            solo,
            values: [
                invoices_since(window_start),
                invoices_since(three_windows_start),
                invoices
                    .last()
                    .map_or(f64::NAN, |&last| days(cutoff - last)),
                match (invoices.first(), invoices.last()) {
                    (Some(&first), Some(&last)) if invoices.len() >= 2 => {
                        days(last - first) / (n_invoices - 1.0)
                    }
                    _ => f64::NAN,
                },
                bought.clone().count() as f64,
                (lines - first_lines) as f64 / lines as f64,
                // The rebuy rates, once every customer's counts are known.
                f64::NAN,
                f64::NAN,
            ],
        };

        let mut items: Vec<u32> = if problem.candidates.past_items() {
            bought.map(|s| s.item).collect()
        } else {
            Vec::new()
        };
        items.extend_from_slice(popular);
        items.sort_unstable();
        items.dedup();
        let labels = items
            .iter()
            .map(|&item| {
                let all = self.purchases_of(c, item);
                let seen = all.partition_point(|p| p.time <= cutoff);
                all.get(seen).is_some_and(|p| p.time <= label_end)
            })
            .collect();
        Some(CustomerRows {
            customer: c as u32,
            context,
            items,
            labels,
        })
    }

    /// What a customer's purchases (the pairs `spans`) at or before
    /// `cutoff` say of its habit of buying again; see [`RebuyCounts`].
    fn rebuy_counts(&self, spans: &[PairSpan], cutoff: i64, horizon: i64) -> RebuyCounts {
        let observed_until = cutoff.saturating_sub(horizon);
        let mut counts = RebuyCounts::default();
        let mut days = Vec::new();
        for span in spans {
            let of_pair = &self.purchases[span.purchases.clone()];
            let seen = &of_pair[..of_pair.partition_point(|p| p.time <= cutoff)];
            let (Some(first), Some(last)) = (seen.first(), seen.last()) else {
                continue;
            };
            if first.time <= observed_until {
                counts.old_items += 1.0;
                counts.old_items_bought_again += f64::from(u8::from(last.time > observed_until));
            }
            days.clear();
            days.extend(
                seen.chunk_by(|a, b| {
                    a.time.div_euclid(NANOS_PER_DAY) == b.time.div_euclid(NANOS_PER_DAY)
                })
                .map(|of_day| of_day[0].time),
            );
            for (at, &day) in days.iter().enumerate() {
                if day > observed_until {
                    break;
                }
                counts.days += 1.0;
                if days.get(at + 1).is_some_and(|&next| next - day <= horizon) {
                    counts.days_bought_again += 1.0;
                }
            }
        }
        counts
    }

    /// The customer's purchases at or before `cutoff` (the pairs `spans`)
    /// by product type (`types`, by item): each type's invoices, items and
    /// latest items, by type; and the items that were the only one of
    /// their type on some invoices, with how many, by item.
    fn type_stats(
        &self,
        spans: &[PairSpan],
        cutoff: i64,
        types: &[u32],
    ) -> (Vec<TypeStats>, Vec<(u32, f64)>) {
        let mut on_invoices: Vec<(u32, u32, u32)> = Vec::new();
        let mut latest: Vec<(u32, std::cmp::Reverse<i64>, u32)> = Vec::new();
        for span in spans {
            let kind = types[span.item as usize];
            let of_pair = &self.purchases[span.purchases.clone()];
            let seen = &of_pair[..of_pair.partition_point(|p| p.time <= cutoff)];
            let Some(last) = seen.last() else { continue };
            if kind == NO_TYPE {
                continue;
            }
            on_invoices.extend(seen.iter().map(|p| (kind, p.invoice, span.item)));
            latest.push((kind, std::cmp::Reverse(last.time), span.item));
        }
        on_invoices.sort_unstable();
        latest.sort_unstable();

        let mut solo: Vec<u32> = Vec::new();
        let mut kinds: Vec<TypeStats> = latest
            .chunk_by(|a, b| a.0 == b.0)
            .map(|of_kind| TypeStats {
                kind: of_kind[0].0,
                invoices: 0.0,
                items: of_kind.len() as f64,
                latest: (of_kind[0].2, of_kind[0].1.0),
                second_latest: of_kind.get(1).map(|k| k.1.0),
            })
            .collect();
        for of_kind in on_invoices.chunk_by(|a, b| a.0 == b.0) {
            let mut invoices = 0.0;
            for of_invoice in of_kind.chunk_by(|a, b| a.1 == b.1) {
                invoices += 1.0;
                if let [(_, _, item)] = of_invoice {
                    solo.push(*item);
                }
            }
            if let Ok(k) = kinds.binary_search_by_key(&of_kind[0].0, |k| k.kind) {
                kinds[k].invoices = invoices;
            }
        }
        solo.sort_unstable();
        let solo = solo
            .chunk_by(|a, b| a == b)
            .map(|of_item| (of_item[0], of_item.len() as f64))
            .collect();
        (kinds, solo)
    }

    /// The [`PROBLEM_FEATURES`] of `item` for the customer of `context`
    /// (dense id `c`) at the block's cutoff, into `out` (`P` values).
    fn pair_values(
        &self,
        block: &Block,
        c: usize,
        context: &CustomerContext,
        item: u32,
        out: &mut [f64],
    ) {
        let cutoff = block.cutoff;
        let horizon = block.horizon;
        let window_start = cutoff.saturating_sub(horizon);
        let three_windows_start = cutoff.saturating_sub(horizon.saturating_mul(3));
        let days = |nanos: i64| nanos as f64 / NANOS_PER_DAY as f64;
        let all = self.purchases_of(c, item);
        let history = &all[..all.partition_point(|p| p.time <= cutoff)];

        let times = history.len() as f64;
        let recent = history.iter().filter(|p| p.time > window_start).count() as f64;
        let recent_3 = history
            .iter()
            .filter(|p| p.time > three_windows_start)
            .count() as f64;
        let quantity: f64 = history.iter().map(|p| p.quantity).sum();
        let spend: f64 = history.iter().map(|p| p.spend).sum();
        let (first, last) = match (history.first(), history.last()) {
            (Some(first), Some(last)) => (first.time, last.time),
            _ => (i64::MAX, i64::MIN),
        };
        let since = |time: i64| {
            if history.is_empty() {
                f64::NAN
            } else {
                days(cutoff - time)
            }
        };
        let between = if history.len() >= 2 {
            days(last - first) / (times - 1.0)
        } else {
            f64::NAN
        };
        let cycles = if between > 0.0 {
            since(last) / between
        } else {
            f64::NAN
        };
        let invoices_after = if history.is_empty() {
            f64::NAN
        } else {
            let invoices = &self.invoice_times[self.customer_invoices[c].clone()];
            let seen = invoices.partition_point(|&t| t <= cutoff);
            (seen - invoices[..seen].partition_point(|&t| t <= last)) as f64
        };
        let (returned, returned_units) = self.returns_of(c as u32, item, cutoff);
        let stats = &block.stats;
        let i = item as usize;
        let pair = [
            times,
            recent,
            recent_3,
            quantity,
            spend,
            if context.spend == 0.0 {
                f64::NAN
            } else {
                spend / context.spend
            },
            times / context.invoices,
            since(last),
            since(first),
            between,
            cycles,
            invoices_after,
            returned,
            returned_units,
            // A zero mean (every repeat on the same day) would divide to
            // infinity, which models that take no infinities refuse.
            match stats.mean_days_between_repeats[i] {
                gap if gap > 0.0 => since(last) / gap,
                _ => f64::NAN,
            },
        ];
        let same_type = same_type_values(context, item, stats.types[i], !history.is_empty())
            .map(|(invoices, items, latest, new_variant)| {
                [
                    invoices,
                    items,
                    latest.map_or(f64::NAN, |time| days(cutoff - time)),
                    f64::from(u8::from(new_variant)),
                    invoices / context.invoices,
                ]
            })
            .unwrap_or([f64::NAN; 5]);
        let item_values = [
            stats.recent[i],
            stats.previous[i],
            stats.last_week[i],
            ((stats.recent[i] + 1.0) / (stats.previous[i] + 1.0)).ln(),
            stats.rank[i],
            stats.repeat_share[i],
            stats.mean_days_between_repeats[i],
            stats.buyers_last_week[i],
            buyer_trend(
                stats.buyers_last_week[i],
                stats.buyers_before_week[i],
                horizon,
            ),
        ];
        debug_assert_eq!(out.len(), P);
        let (pair_out, rest) = out.split_at_mut(pair.len());
        pair_out.copy_from_slice(&pair);
        let (same_type_out, rest) = rest.split_at_mut(same_type.len());
        same_type_out.copy_from_slice(&same_type);
        let (customer_out, item_out) = rest.split_at_mut(context.values.len());
        customer_out.copy_from_slice(&context.values);
        item_out.copy_from_slice(&item_values);
    }
}

/// The items' sales around one cutoff, by dense item id.
#[derive(Debug)]
struct ItemStats {
    recent: Vec<f64>,
    previous: Vec<f64>,
    last_week: Vec<f64>,
    rank: Vec<f64>,
    repeat_share: Vec<f64>,
    mean_days_between_repeats: Vec<f64>,
    /// The product type of each item at the cutoff: the most common type
    /// of its purchases so far ([`NO_TYPE`]: none).
    types: Vec<u32>,
    /// Distinct customers who bought each item in the week before the
    /// cutoff.
    buyers_last_week: Vec<f64>,
    /// The same in the horizon before that week.
    buyers_before_week: Vec<f64>,
    /// The items sold in the window, most popular first.
    popular: Vec<u32>,
}

/// The most common of `types` other than [`NO_TYPE`], the smallest id of
/// those as common; [`NO_TYPE`] if there is none.
fn most_common_type(types: &[u32]) -> u32 {
    let mut sorted: Vec<u32> = types.iter().copied().filter(|&t| t != NO_TYPE).collect();
    sorted.sort_unstable();
    let mut best = (0, NO_TYPE);
    for run in sorted.chunk_by(|a, b| a == b) {
        if run.len() > best.0 {
            best = (run.len(), run[0]);
        }
    }
    best.1
}

/// The number of distinct `values`.
fn distinct_count(values: &[u32]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.len() as f64
}

#[derive(Debug)]
struct CustomerRows {
    customer: u32,
    context: CustomerContext,
    items: Vec<u32>,
    labels: Vec<bool>,
}

/// What the features of a customer's rows share.
#[derive(Debug)]
struct CustomerContext {
    /// Invoices at or before the cutoff.
    invoices: f64,
    /// Spend at or before the cutoff.
    spend: f64,
    /// What the rebuy rates are made of.
    rebuys: RebuyCounts,
    /// The customer's purchases of each product type, by type.
    kinds: Vec<TypeStats>,
    /// The items that were the only one of their type on some of the
    /// customer's invoices, with how many, by item.
    solo: Vec<(u32, f64)>,
    /// The `customer.` entries of [`PROBLEM_FEATURES`].
    values: [f64; 8],
}

/// A customer's purchases at or before a cutoff, for its rebuy rates.
#[derive(Debug, Default, Clone, Copy)]
struct RebuyCounts {
    /// Days on which it bought an item, a horizon or more before the
    /// cutoff (one per item and day), ...
    days: f64,
    /// ... of which it bought the item again within the horizon after.
    days_bought_again: f64,
    /// Items it first bought a horizon or more before the cutoff, ...
    old_items: f64,
    /// ... of which it bought again in the horizon before the cutoff.
    old_items_bought_again: f64,
}

/// Pseudo-counts of everyone's rate that `customer.rebuy_rate` starts
/// from, so that a customer with few purchase days gets a rate near
/// everyone's (the value of the research script behind these features).
const REBUY_PRIOR_DAYS: f64 = 5.0;
/// The same for `customer.recent_rebuy_rate`, in items.
const REBUY_PRIOR_ITEMS: f64 = 10.0;

/// Where `customer.rebuy_rate` and `customer.recent_rebuy_rate` are in
/// [`CustomerContext::values`].
const REBUY_RATE_AT: usize = 6;
const RECENT_REBUY_RATE_AT: usize = 7;

/// Sets the customers' rebuy rates, `customer.rebuy_rate` and
/// `customer.recent_rebuy_rate`: each its own share shrunk toward
/// everyone's.
fn smooth_rebuy_rates(customers: &mut [CustomerRows]) {
    let total = customers
        .iter()
        .fold(RebuyCounts::default(), |total, c| RebuyCounts {
            days: total.days + c.context.rebuys.days,
            days_bought_again: total.days_bought_again + c.context.rebuys.days_bought_again,
            old_items: total.old_items + c.context.rebuys.old_items,
            old_items_bought_again: total.old_items_bought_again
                + c.context.rebuys.old_items_bought_again,
        });
    let days_rate = total.days_bought_again / total.days;
    let items_rate = total.old_items_bought_again / total.old_items;
    for c in customers {
        let own = c.context.rebuys;
        c.context.values[REBUY_RATE_AT] =
            (own.days_bought_again + REBUY_PRIOR_DAYS * days_rate) / (own.days + REBUY_PRIOR_DAYS);
        c.context.values[RECENT_REBUY_RATE_AT] = (own.old_items_bought_again
            + REBUY_PRIOR_ITEMS * items_rate)
            / (own.old_items + REBUY_PRIOR_ITEMS);
    }
}

/// A customer's purchases of one product type at or before a cutoff.
#[derive(Debug)]
struct TypeStats {
    kind: u32,
    /// Invoices holding an item of the type.
    invoices: f64,
    /// Distinct items of the type.
    items: f64,
    /// The item of the type bought last, and when.
    latest: (u32, i64),
    /// When the item of the type bought last before that one was last
    /// bought.
    second_latest: Option<i64>,
}

/// What the customer of `context` bought of the product type `kind`
/// besides `item` (which it has bought, or not): invoices, items, the
/// time of the latest such purchase, and whether `item` is new to it in a
/// type it knows. `None` when `item` has no type.
fn same_type_values(
    context: &CustomerContext,
    item: u32,
    kind: u32,
    bought: bool,
) -> Option<(f64, f64, Option<i64>, bool)> {
    if kind == NO_TYPE {
        return None;
    }
    let Ok(k) = context.kinds.binary_search_by_key(&kind, |k| k.kind) else {
        return Some((0.0, 0.0, None, false));
    };
    let stats = &context.kinds[k];
    let solo = context
        .solo
        .binary_search_by_key(&item, |s| s.0)
        .map_or(0.0, |s| context.solo[s].1);
    let invoices = stats.invoices - solo;
    let latest = if stats.latest.0 == item {
        stats.second_latest
    } else {
        Some(stats.latest.1)
    };
    Some((
        invoices,
        stats.items - f64::from(u8::from(bought)),
        latest,
        !bought && invoices > 0.0,
    ))
}

/// Whether more customers bought an item in the last week than in an
/// average week of the horizon before it: `(last + 1) / (before × 7 days
/// / horizon + 1)`.
fn buyer_trend(last_week: f64, before_week: f64, horizon: i64) -> f64 {
    let weeks = horizon as f64 / (7 * NANOS_PER_DAY) as f64;
    (last_week + 1.0) / (before_week / weeks + 1.0)
}

/// The candidates of one cutoff, before their features are computed.
#[derive(Debug)]
struct Block {
    cutoff: i64,
    horizon: i64,
    /// The customers with rows, ascending.
    customers: Vec<u32>,
    /// The context of each of `customers`.
    contexts: Vec<CustomerContext>,
    /// Position in `contexts` of each dense customer id (`u32::MAX`: none).
    context_of: Vec<u32>,
    row_customers: Vec<u32>,
    row_items: Vec<u32>,
    labels: Option<Vec<bool>>,
    stats: ItemStats,
}

impl Block {
    /// The rows `rows` of this block, in that order.
    fn select(&self, rows: &[usize]) -> Result<Selection> {
        let n = self.row_items.len();
        if let Some(&bad) = rows.iter().find(|&&r| r >= n) {
            return Err(Error::ShapeMismatch(format!(
                "row {bad} selected of a cutoff with {n} candidates"
            )));
        }
        Ok(Selection {
            row_customers: rows.iter().map(|&r| self.row_customers[r]).collect(),
            row_items: rows.iter().map(|&r| self.row_items[r]).collect(),
            labels: self
                .labels
                .as_ref()
                .map(|labels| rows.iter().map(|&r| labels[r]).collect()),
        })
    }

    /// Every row of this block.
    fn all(&self) -> Selection {
        Selection {
            row_customers: self.row_customers.clone(),
            row_items: self.row_items.clone(),
            labels: self.labels.clone(),
        }
    }
}

/// Rows of a [`Block`] to assemble.
#[derive(Debug)]
struct Selection {
    row_customers: Vec<u32>,
    row_items: Vec<u32>,
    labels: Option<Vec<bool>>,
}

/// The deep features of one block's customers and items, row-major.
#[derive(Debug)]
struct DeepBlock {
    customer_width: usize,
    customer_values: Vec<f64>,
    /// Row of each dense customer id in `customer_values` (`usize::MAX`:
    /// none).
    customer_rows: Vec<usize>,
    item_width: usize,
    item_values: Vec<f64>,
    /// Row of each dense item id in `item_values` (`usize::MAX`: none).
    item_rows: Vec<usize>,
}

fn deep_block(
    history: &History,
    block: &Block,
    es: &EntitySet,
    customer_features: &FeatureSet,
    item_features: &FeatureSet,
    cutoff: i64,
) -> Result<DeepBlock> {
    let ids = Int64Array::from_iter_values(
        block
            .customers
            .iter()
            .map(|&c| history.customers[c as usize]),
    );
    let customer_values = deep_matrix(es, customer_features, Arc::new(ids), cutoff)?;
    let mut customer_rows = vec![usize::MAX; history.customers.len()];
    for (row, &c) in block.customers.iter().enumerate() {
        customer_rows[c as usize] = row;
    }

    let mut used = vec![false; history.items.len()];
    for &item in &block.row_items {
        used[item as usize] = true;
    }
    let mut item_rows = vec![usize::MAX; used.len()];
    let mut indices = Vec::new();
    for (item, _) in used.iter().enumerate().filter(|u| *u.1) {
        item_rows[item] = indices.len();
        indices.push(item as u32);
    }
    let codes = take(&history.items, &UInt32Array::from(indices), None)?;
    let item_values = deep_matrix(es, item_features, codes, cutoff)?;
    Ok(DeepBlock {
        customer_width: customer_features.output_names().len(),
        customer_values,
        customer_rows,
        item_width: item_features.output_names().len(),
        item_values,
        item_rows,
    })
}

/// The feature matrix of `features` for `ids` at `cutoff`, encoded as
/// numbers, row-major.
fn deep_matrix(
    es: &EntitySet,
    features: &FeatureSet,
    ids: ArrayRef,
    cutoff: i64,
) -> Result<Vec<f64>> {
    let n = ids.len();
    let matrix = FeatureMatrixBuilder::new(es, features)
        .with_cutoff_times(ids, vec![cutoff; n])
        .build()
        .map_err(features_error)?;
    let width = features.output_names().len();
    // The index and the cutoff time come first.
    if matrix.num_columns() != width + 2 || matrix.num_rows() != n {
        return Err(Error::ShapeMismatch(format!(
            "a feature matrix of {} rows and {} columns for {n} ids and {width} features",
            matrix.num_rows(),
            matrix.num_columns()
        )));
    }
    let columns = matrix.columns()[2..]
        .par_iter()
        .map(encode)
        .collect::<Result<Vec<_>>>()?;
    let mut values = vec![0.0; n * width];
    for (j, column) in columns.iter().enumerate() {
        for (i, &v) in column.iter().enumerate() {
            values[i * width + j] = v;
        }
    }
    Ok(values)
}

/// A feature column as numbers: booleans as 0 and 1, categoricals as the
/// frequency of their value, anything else cast to `Float64`; null as NaN.
fn encode(column: &ArrayRef) -> Result<Vec<f64>> {
    let n = column.len();
    match column.data_type() {
        DataType::Boolean => {
            let values = column.as_boolean();
            Ok(values
                .iter()
                .map(|v| v.map_or(f64::NAN, |b| if b { 1.0 } else { 0.0 }))
                .collect())
        }
        DataType::Dictionary(..) | DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => {
            let text = cast(column, &DataType::Utf8)?;
            let text = text.as_string::<i32>();
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for value in text.iter().flatten() {
                *counts.entry(value).or_default() += 1;
            }
            Ok(text
                .iter()
                .map(|v| {
                    v.map_or(f64::NAN, |v| {
                        counts.get(v).copied().unwrap_or_default() as f64 / n as f64
                    })
                })
                .collect())
        }
        _ => {
            let numbers = cast(column, &DataType::Float64)?;
            Ok(numbers
                .as_primitive::<Float64Type>()
                .iter()
                .map(|v| v.unwrap_or(f64::NAN))
                .collect())
        }
    }
}

/// One cutoff's rows to assemble: its block, deep features and selection.
type Part<'a> = (&'a Block, Option<&'a DeepBlock>, &'a Selection);

/// Joins the selected rows of blocks, their deep features and their
/// [`PROBLEM_FEATURES`] into [`Examples`].
fn assemble(
    history: &History,
    parts: &[Part<'_>],
    feature_names: Vec<String>,
    horizon: i64,
) -> Result<Examples> {
    let width = feature_names.len();
    let rows: usize = parts.iter().map(|p| p.2.row_items.len()).sum();
    let mut features = vec![0.0; rows * width];
    let mut offset = 0;
    for &(block, deep, selection) in parts {
        let n = selection.row_items.len();
        features[offset * width..(offset + n) * width]
            .par_chunks_mut(width)
            .enumerate()
            .for_each(|(r, out)| {
                let customer = selection.row_customers[r] as usize;
                let item = selection.row_items[r];
                let mut at = 0;
                if let Some(deep) = deep {
                    let (cw, iw) = (deep.customer_width, deep.item_width);
                    match deep.customer_rows[customer] {
                        usize::MAX => out[..cw].fill(f64::NAN),
                        c => out[..cw].copy_from_slice(&deep.customer_values[c * cw..(c + 1) * cw]),
                    }
                    match deep.item_rows[item as usize] {
                        usize::MAX => out[cw..cw + iw].fill(f64::NAN),
                        i => out[cw..cw + iw]
                            .copy_from_slice(&deep.item_values[i * iw..(i + 1) * iw]),
                    }
                    at = cw + iw;
                }
                let context = &block.contexts[block.context_of[customer] as usize];
                history.pair_values(block, customer, context, item, &mut out[at..]);
            });
        offset += n;
    }
    let features = Array2::from_shape_vec((rows, width), features)
        .map_err(|e| Error::ShapeMismatch(format!("the feature matrix: {e}")))?;

    let customers: Vec<i64> = parts
        .iter()
        .flat_map(|p| p.2.row_customers.iter())
        .map(|&c| history.customers[c as usize])
        .collect();
    let cutoffs: Vec<i64> = parts
        .iter()
        .flat_map(|p| std::iter::repeat_n(p.0.cutoff, p.2.row_items.len()))
        .collect();
    let labels: Option<Vec<bool>> = parts
        .iter()
        .map(|p| p.2.labels.as_deref())
        .collect::<Option<Vec<_>>>()
        .map(|labels| labels.concat());
    let items =
        UInt32Array::from_iter_values(parts.iter().flat_map(|p| p.2.row_items.iter().copied()));
    let label_column: BooleanArray = match &labels {
        Some(labels) => labels.iter().map(|&l| Some(l)).collect(),
        None => std::iter::repeat_n(None::<bool>, rows).collect(),
    };
    let pairs = RecordBatch::try_new(
        pair_schema(),
        vec![
            Arc::new(Int64Array::from(customers.clone())),
            take(&history.items, &items, None)?,
            Arc::new(TimestampNanosecondArray::from(cutoffs.clone())),
            Arc::new(label_column),
        ],
    )?;
    Ok(Examples {
        pairs,
        features,
        feature_names,
        labels,
        customers,
        cutoffs,
        horizon,
        customer_features: None,
        item_features: None,
    })
}

/// Dense ids of the values of `rows`, numbered in the sorted order of the
/// values: the id of every row of `values` (meaningful for `rows` only),
/// and the distinct values of `rows`, sorted.
///
/// Arrow's dictionary cast does the hashing, once per row.
fn dense_strings(values: &StringArray, rows: &[usize]) -> Result<(Vec<u32>, StringArray)> {
    let dictionary_type =
        DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8));
    let dictionary = cast(values, &dictionary_type)?;
    let dictionary = dictionary
        .as_dictionary_opt::<UInt32Type>()
        .ok_or_else(|| Error::ShapeMismatch("a dictionary cast gave no dictionary".to_string()))?;
    let distinct = dictionary
        .values()
        .as_string_opt::<i32>()
        .ok_or_else(|| Error::ShapeMismatch("a dictionary of text gave no text".to_string()))?;
    let keys = dictionary.keys().values();
    let mut used = vec![false; distinct.len()];
    for &r in rows {
        if let Some(used) = used.get_mut(keys[r] as usize) {
            *used = true;
        }
    }
    let mut order: Vec<u32> = (0..distinct.len() as u32)
        .filter(|&k| used[k as usize])
        .collect();
    order.sort_unstable_by(|&a, &b| distinct.value(a as usize).cmp(distinct.value(b as usize)));
    let mut rank = vec![0; distinct.len()];
    for (id, &key) in order.iter().enumerate() {
        rank[key as usize] = id as u32;
    }
    let ids = keys
        .iter()
        .map(|&k| rank.get(k as usize).copied().unwrap_or_default())
        .collect();
    let sorted = take(distinct, &UInt32Array::from(order), None)?;
    let sorted = sorted
        .as_string_opt::<i32>()
        .cloned()
        .ok_or_else(|| Error::ShapeMismatch("taking text gave no text".to_string()))?;
    Ok((ids, sorted))
}

/// The product type of each row of `transactions` (indexed by row,
/// meaningful for `rows`): ids in the sorted order of the
/// [`product_type`]s of their `Description`s, [`NO_TYPE`] for a row
/// without one. Without a `Description` column no row has a type.
fn product_types(transactions: &RecordBatch, rows: &[usize]) -> Result<Vec<u32>> {
    if transactions.column_by_name("Description").is_none() {
        return Ok(vec![NO_TYPE; transactions.num_rows()]);
    }
    let descriptions = strings(transactions, TRANSACTIONS, "Description")?;
    let described: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|&r| descriptions.is_valid(r))
        .collect();
    let (ids, distinct) = dense_strings(&descriptions, &described)?;
    let words: Vec<Option<String>> = (0..distinct.len())
        .map(|d| product_type(distinct.value(d)))
        .collect();
    let mut names: Vec<&str> = words.iter().flatten().map(String::as_str).collect();
    names.sort_unstable();
    names.dedup();
    let type_of_description: Vec<u32> = words
        .iter()
        .map(|word| {
            word.as_deref()
                .and_then(|w| names.binary_search(&w).ok())
                .map_or(NO_TYPE, |id| id as u32)
        })
        .collect();
    let mut types = vec![NO_TYPE; transactions.num_rows()];
    for &r in &described {
        types[r] = type_of_description[ids[r] as usize];
    }
    Ok(types)
}

/// The kind of product a description names: its last word, in upper case,
/// any character but a letter, a digit or `-` read as a space. Most of
/// Online Retail's descriptions end with the noun (`WHITE HANGING HEART
/// T-LIGHT HOLDER` is a `HOLDER`), some with a pattern (`JUMBO BAG RED
/// RETROSPOT` is a `RETROSPOT`); either way variants of one product share
/// it.
fn product_type(description: &str) -> Option<String> {
    let normal: String = description
        .chars()
        .flat_map(char::to_uppercase)
        .map(|c| {
            if c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                ' '
            }
        })
        .collect();
    normal.split_whitespace().last().map(str::to_string)
}

/// The position of `value` in the sorted `values`.
fn find_string(values: &StringArray, value: &str) -> Option<u32> {
    let at = partition_point(values.len(), |i| values.value(i) < value);
    (at < values.len() && values.value(at) == value).then_some(at as u32)
}

/// The span of each key in a sequence sorted by key.
fn spans(keys: impl Iterator<Item = usize>, n: usize) -> Vec<Range<usize>> {
    let mut spans = vec![0..0; n];
    let mut at = 0;
    let mut current: Option<(usize, usize)> = None;
    for key in keys {
        match current {
            Some((k, _)) if k == key => {}
            Some((k, start)) => {
                spans[k] = start..at;
                current = Some((key, at));
            }
            None => current = Some((key, at)),
        }
        at += 1;
    }
    if let Some((k, start)) = current {
        spans[k] = start..at;
    }
    spans
}

/// The first index in `0..n` where `before` is false, `before` being true
/// then false.
fn partition_point(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The returns of `cancellations` by known customers of known items, at
/// or before `until`.
fn returns(
    cancellations: &RecordBatch,
    customers: &[i64],
    items: &StringArray,
    until: i64,
) -> Result<Vec<Return>> {
    if cancellations.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let codes = strings(cancellations, CANCELLATIONS, "StockCode")?;
    let quantities = numbers(cancellations, CANCELLATIONS, "Quantity")?;
    let times = times(cancellations, CANCELLATIONS, "InvoiceDate")?;
    let ids = customer_ids(cancellations, CANCELLATIONS, "CustomerID")?;
    let mut returns: Vec<(Return, usize)> = (0..cancellations.num_rows())
        .filter(|&r| {
            codes.is_valid(r)
                && quantities.is_valid(r)
                && times.is_valid(r)
                && ids.is_valid(r)
                && times.value(r) <= until
        })
        .filter_map(|r| {
            let ret = Return {
                customer: customers.binary_search(&ids.value(r)).ok()? as u32,
                item: find_string(items, codes.value(r))?,
                time: times.value(r),
                units: quantities.value(r).abs(),
            };
            Some((ret, r))
        })
        .collect();
    returns.sort_unstable_by_key(|(r, row)| (r.customer, r.item, r.time, *row));
    Ok(returns.into_iter().map(|(r, _)| r).collect())
}

/// The rows of `batch` whose `InvoiceDate` is at or before `until`.
fn filter_until(batch: &RecordBatch, until: i64) -> Result<RecordBatch> {
    let times = times(batch, TRANSACTIONS, "InvoiceDate")?;
    let keep: BooleanArray = times
        .iter()
        .map(|t| Some(t.is_some_and(|t| t <= until)))
        .collect();
    Ok(filter_record_batch(batch, &keep)?)
}

fn column<'a>(batch: &'a RecordBatch, table: &'static str, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| Error::InvalidParameter {
            name: table,
            reason: format!("no column {name:?} (the Online Retail column names are expected)"),
        })
}

fn wrong_type(table: &'static str, name: &str, data_type: &DataType, wanted: &str) -> Error {
    Error::InvalidParameter {
        name: table,
        reason: format!("column {name:?} is {data_type}, which is not {wanted}"),
    }
}

fn strings(batch: &RecordBatch, table: &'static str, name: &str) -> Result<StringArray> {
    let values = column(batch, table, name)?;
    let text = cast(values, &DataType::Utf8)
        .map_err(|_| wrong_type(table, name, values.data_type(), "text"))?;
    text.as_string_opt::<i32>()
        .cloned()
        .ok_or_else(|| wrong_type(table, name, values.data_type(), "text"))
}

fn numbers(batch: &RecordBatch, table: &'static str, name: &str) -> Result<Float64Array> {
    let values = column(batch, table, name)?;
    if !values.data_type().is_numeric() {
        return Err(wrong_type(table, name, values.data_type(), "a number"));
    }
    let numbers = cast(values, &DataType::Float64)?;
    numbers
        .as_primitive_opt::<Float64Type>()
        .cloned()
        .ok_or_else(|| wrong_type(table, name, values.data_type(), "a number"))
}

fn customer_ids(batch: &RecordBatch, table: &'static str, name: &str) -> Result<Int64Array> {
    let values = column(batch, table, name)?;
    if !values.data_type().is_numeric() {
        return Err(wrong_type(table, name, values.data_type(), "an integer"));
    }
    let ids = cast(values, &DataType::Int64)?;
    ids.as_primitive_opt::<Int64Type>()
        .cloned()
        .ok_or_else(|| wrong_type(table, name, values.data_type(), "an integer"))
}

fn times(batch: &RecordBatch, table: &'static str, name: &str) -> Result<TimestampNanosecondArray> {
    let values = column(batch, table, name)?;
    let nanos = match values.data_type() {
        DataType::Timestamp(_, zone) => DataType::Timestamp(TimeUnit::Nanosecond, zone.clone()),
        _ => DataType::Timestamp(TimeUnit::Nanosecond, None),
    };
    let times = cast(values, &nanos)
        .map_err(|_| wrong_type(table, name, values.data_type(), "a timestamp"))?;
    times
        .as_primitive_opt::<TimestampNanosecondType>()
        .cloned()
        .ok_or_else(|| wrong_type(table, name, values.data_type(), "a timestamp"))
}

/// `YYYY-MM-DD HH:MM:SS` (UTC) of nanoseconds since the epoch.
pub(crate) fn format_nanos(nanos: i64) -> String {
    let seconds = nanos.div_euclid(1_000_000_000);
    let (days, second) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}",
        second / 3_600,
        second / 60 % 60,
        second % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rebuy_rates_are_where_their_names_are() {
        let customer: Vec<&str> = PROBLEM_FEATURES
            .iter()
            .copied()
            .filter(|name| name.starts_with(CUSTOMER_PREFIX))
            .collect();
        assert_eq!(customer[REBUY_RATE_AT], "customer.rebuy_rate");
        assert_eq!(customer[RECENT_REBUY_RATE_AT], "customer.recent_rebuy_rate");
    }

    #[test]
    fn product_types_are_last_words() {
        let kind = |d: &str| product_type(d);
        assert_eq!(
            kind("WHITE HANGING HEART T-LIGHT HOLDER").as_deref(),
            Some("HOLDER")
        );
        assert_eq!(kind("set/6 red spotty paper cups").as_deref(), Some("CUPS"));
        assert_eq!(
            kind("PAPER CHAIN KIT 50'S CHRISTMAS ").as_deref(),
            Some("CHRISTMAS")
        );
        assert_eq!(kind("FELTCRAFT DOLL ROSIE.").as_deref(), Some("ROSIE"));
        assert_eq!(kind("?"), None);
        assert_eq!(kind(""), None);
        // Letters outside A-Z are separators, as in the research behind
        // these features.
        assert_eq!(kind("CAFÉ").as_deref(), Some("CAF"));
    }

    #[test]
    fn the_most_common_type_takes_the_smallest_of_a_tie() {
        assert_eq!(
            most_common_type(&[3, 1, 3, 1, NO_TYPE, NO_TYPE, NO_TYPE]),
            1
        );
        assert_eq!(most_common_type(&[2, 5, 5]), 5);
        assert_eq!(most_common_type(&[NO_TYPE]), NO_TYPE);
        assert_eq!(most_common_type(&[]), NO_TYPE);
    }

    #[test]
    fn formats_times() {
        assert_eq!(format_nanos(0), "1970-01-01 00:00:00");
        // 2011-11-09, the evaluation cutoff of the protocol.
        assert_eq!(
            format_nanos(1_320_796_800 * 1_000_000_000),
            "2011-11-09 00:00:00"
        );
        assert_eq!(format_nanos(-1_000_000_000), "1969-12-31 23:59:59");
        assert_eq!(
            format_nanos(951_782_400 * 1_000_000_000 + 3_723_000_000_000),
            "2000-02-29 01:02:03"
        );
    }

    #[test]
    fn spans_of_sorted_keys() {
        let spans = spans([0, 0, 2, 2, 2, 3].into_iter(), 5);
        assert_eq!(spans, [0..2, 0..0, 2..5, 5..6, 0..0]);
    }

    #[test]
    fn partition_points() {
        let values = [1, 3, 3, 5];
        for probe in 0..7 {
            assert_eq!(
                partition_point(values.len(), |i| values[i] < probe),
                values.partition_point(|&v| v < probe)
            );
        }
    }

    #[test]
    fn encodes_non_numbers() {
        let flags: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
        let encoded = encode(&flags).unwrap();
        assert_eq!(encoded[0], 1.0);
        assert!(encoded[1].is_nan());
        assert_eq!(encoded[2], 0.0);

        let countries: ArrayRef = Arc::new(StringArray::from(vec![
            Some("UK"),
            Some("UK"),
            None,
            Some("France"),
        ]));
        let encoded = encode(&countries).unwrap();
        assert_eq!(encoded[0], 0.5);
        assert_eq!(encoded[1], 0.5);
        assert!(encoded[2].is_nan());
        assert_eq!(encoded[3], 0.25);

        let dictionary: ArrayRef = Arc::new(
            vec!["a", "b", "a"]
                .into_iter()
                .collect::<arrow::array::DictionaryArray<arrow::datatypes::UInt32Type>>(),
        );
        let encoded = encode(&dictionary).unwrap();
        assert_eq!(encoded, [2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0]);

        let counts: ArrayRef = Arc::new(Int64Array::from(vec![Some(3), None]));
        let encoded = encode(&counts).unwrap();
        assert_eq!(encoded[0], 3.0);
        assert!(encoded[1].is_nan());
    }
}
