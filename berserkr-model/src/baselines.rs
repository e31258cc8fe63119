//! Baseline scores on the same candidates as the trained models.
//!
//! A model is worth its training only if it ranks the candidates of
//! [`Examples`] better than these two rules, each computed from the
//! transactions at or before each row's cutoff (so they leak no more than
//! the features do) and returned in the rows' order, ready for
//! [`crate::metrics`]:
//!
//! | Function | Score of (customer, item) at cutoff `T` |
//! |---|---|
//! | [`popularity`] | the item's purchases in `(T − W, T]`, ties broken by units |
//! | [`past_purchase_count`] | the customer's purchases of the item at or before `T`, ties broken by recency |
//!
//! A purchase is one item on one invoice, as in [`crate::problem`]: the
//! score counts invoices, not lines. An item or customer the transactions
//! do not know scores 0.
//!
//! # Basic usage
//!
//! ```
//! # use std::sync::Arc;
//! # use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
//! # use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
//! use berserkr_model::baselines::{past_purchase_count, popularity};
//! use berserkr_model::metrics::average_precision;
//! use berserkr_model::problem::{NANOS_PER_DAY, ProblemBuilder};
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
//! #     Arc::new(StringArray::from(vec!["1", "1", "2", "3", "4", "5"])),
//! #     Arc::new(StringArray::from(vec!["A", "B", "A", "B", "A", "A"])),
//! #     Arc::new(StringArray::from(vec![Some("MUG"), Some("JUG"), Some("MUG"), Some("JUG"), Some("MUG"), Some("MUG")])),
//! #     Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5, 6])),
//! #     Arc::new(TimestampMicrosecondArray::from(vec![0, 0, day, 2 * day, 11 * day, 12 * day])),
//! #     Arc::new(Float64Array::from(vec![1.0, 2.0, 1.0, 2.0, 1.0, 1.0])),
//! #     Arc::new(Int64Array::from(vec![7, 7, 8, 8, 8, 7])),
//! #     Arc::new(StringArray::from(vec!["France"; 6])),
//! # ]).unwrap();
//! # let cancellations = RecordBatch::new_empty(schema);
//! // Customer 7 bought A and B on day 0 and A on day 12; customer 8
//! // bought A on day 1, B on day 2 and A on day 11.
//! let problem = ProblemBuilder::new().with_horizon_days(10).build()?;
//! let examples = problem.examples(&transactions, &cancellations, 3 * NANOS_PER_DAY)?;
//! let labels = examples.labels().unwrap();
//! assert_eq!(labels, [true, false, true, false]);
//!
//! // In the 10 days up to day 3, A: 2 purchases (4 units), B: 2 (6 units).
//! let popular = popularity(&examples, &transactions)?;
//! assert_eq!(popular, [2.8, 2.0 + 6.0 / 7.0, 2.8, 2.0 + 6.0 / 7.0]);
//! // Each customer bought each item once, B more recently for customer 8.
//! let count = past_purchase_count(&examples, &transactions)?;
//! assert_eq!(count, [1.0 + 1.0 / 5.0, 1.0 + 1.0 / 5.0, 1.0 + 1.0 / 4.0, 1.0 + 1.0 / 3.0]);
//! assert!(average_precision(&popular, labels)? < 1.0);
//! # Ok::<(), berserkr_model::Error>(())
//! ```

use std::sync::Arc;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Schema;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::problem::{Examples, History, NANOS_PER_DAY, PAIR_COLUMNS};

/// The popularity of each row's item at the row's cutoff `T`: its
/// purchases (invoices holding it) in `(T − W, T]`, plus `u / (u + 1)` for
/// its `u` units there, so that ties in purchases go to the item sold in
/// larger quantities without ever outranking one more purchase.
///
/// `W` is the examples' horizon; this is the order in which
/// [`crate::problem::CandidateSource::Popular`] picks its `K` items.
///
/// # Errors
///
/// [`Error::InvalidParameter`] naming a missing or mistyped column of
/// `transactions`; [`Error::Arrow`] for an Arrow error.
pub fn popularity(examples: &Examples, transactions: &RecordBatch) -> Result<Vec<f64>> {
    Baselines::new(transactions)?.popularity(examples)
}

/// How often each row's customer bought the row's item at or before the
/// row's cutoff `T`, ties broken by recency: the number `n` of purchases
/// (invoices) plus `1 / (2 + d)`, `d` the days from the last of them to
/// `T`; 0 when `n = 0`.
///
/// The fraction lies in `(0, ½]`, so it orders items bought equally often,
/// the most recent first, without ever outranking one more purchase.
///
/// # Errors
///
/// [`Error::InvalidParameter`] naming a missing or mistyped column of
/// `transactions`; [`Error::Arrow`] for an Arrow error.
pub fn past_purchase_count(examples: &Examples, transactions: &RecordBatch) -> Result<Vec<f64>> {
    Baselines::new(transactions)?.past_purchase_count(examples)
}

/// Both baselines over transactions indexed once, for scoring many
/// [`Examples`] (the chunks of a large cutoff, say) without indexing the
/// transactions for each.
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
/// // Customer 7 bought A on day 10, B on day 50: at day 60, B is the more
/// // recent of two items bought once.
/// let problem = ProblemBuilder::new().with_deep_features(false).build()?;
/// let baselines = Baselines::new(&transactions)?;
/// for cutoff in [60, 61] {
///     let examples = problem.examples(&transactions, &cancellations, cutoff * NANOS_PER_DAY)?;
///     let scores = baselines.past_purchase_count(&examples)?;
///     assert!(scores[1] > scores[0]);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Baselines {
    history: Arc<History>,
}

impl std::fmt::Debug for Baselines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Baselines").finish_non_exhaustive()
    }
}

impl Baselines {
    /// Indexes `transactions`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming a missing or mistyped column of
    /// `transactions`; [`Error::Arrow`] for an Arrow error.
    pub fn new(transactions: &RecordBatch) -> Result<Self> {
        Ok(Self::from_history(Arc::new(history(transactions)?)))
    }

    /// Over transactions already indexed (see
    /// [`ExamplesEach::baselines`](crate::problem::ExamplesEach::baselines)).
    pub(crate) fn from_history(history: Arc<History>) -> Self {
        Self { history }
    }

    /// [`popularity`] of each row of `examples`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the examples' pairs have no `StockCode`.
    pub fn popularity(&self, examples: &Examples) -> Result<Vec<f64>> {
        let history = &self.history;
        let horizon = examples.horizon_nanos();
        score_rows(examples, |_, item, cutoff| {
            let Some(item) = history.item(item) else {
                return 0.0;
            };
            let (purchases, units) =
                history.sales_between(item, cutoff.saturating_sub(horizon), cutoff);
            purchases + units / (units + 1.0)
        })
    }

    /// [`past_purchase_count`] of each row of `examples`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] when the examples' pairs have no `StockCode`.
    pub fn past_purchase_count(&self, examples: &Examples) -> Result<Vec<f64>> {
        let history = &self.history;
        let customers = examples.groups();
        score_rows(examples, |row, item, cutoff| {
            let (Some(customer), Some(item)) =
                (history.customer(customers[row]), history.item(item))
            else {
                return 0.0;
            };
            let purchases = history.purchases_of(customer, item);
            let seen = purchases.partition_point(|p| p.time <= cutoff);
            match seen.checked_sub(1).map(|last| purchases[last].time) {
                Some(last) => {
                    let days = (cutoff - last) as f64 / NANOS_PER_DAY as f64;
                    seen as f64 + 1.0 / (2.0 + days)
                }
                None => 0.0,
            }
        })
    }
}

/// The transactions indexed as [`crate::problem`] indexes them.
fn history(transactions: &RecordBatch) -> Result<History> {
    let no_returns = RecordBatch::new_empty(Arc::new(Schema::empty()));
    History::new(transactions, &no_returns, None)
}

/// `score(row, item, cutoff)` of every row, in parallel.
fn score_rows(
    examples: &Examples,
    score: impl Fn(usize, &str, i64) -> f64 + Sync,
) -> Result<Vec<f64>> {
    let items = examples
        .pairs()
        .column_by_name(PAIR_COLUMNS[1])
        .and_then(|c| c.as_string_opt::<i32>())
        .ok_or_else(|| {
            Error::ShapeMismatch(format!(
                "the examples' pairs have no Utf8 column {:?}",
                PAIR_COLUMNS[1]
            ))
        })?;
    let cutoffs = examples.cutoffs();
    Ok((0..examples.len())
        .into_par_iter()
        .map(|row| score(row, items.value(row), cutoffs[row]))
        .collect())
}
