//! The purchase-likelihood problem on hand-made data: candidates, labels,
//! features and baselines whose expected values are worked out by hand in
//! the comments, the refusal of leaking training cutoffs, and the leak
//! test: no feature of a row changes when the data after its cutoff is
//! removed.

use std::sync::Arc;

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::compute::{cast, filter_record_batch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use berserkr_model::Error;
use berserkr_model::baselines::{past_purchase_count, popularity};
use berserkr_model::problem::{
    CandidateSource, Examples, NANOS_PER_DAY, PROBLEM_FEATURES, Problem, ProblemBuilder,
};

const MICROS_PER_DAY: i64 = 86_400_000_000;

/// `(InvoiceNo, StockCode, Quantity, day, UnitPrice, CustomerID)`.
type Row = (&'static str, &'static str, i64, i64, f64, Option<i64>);

/// Customers 1 and 2 live in the United Kingdom, 3 and 4 in France.
fn country(customer: Option<i64>) -> &'static str {
    match customer {
        Some(1 | 2) => "United Kingdom",
        _ => "France",
    }
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("InvoiceNo", DataType::Utf8, false),
        Field::new("StockCode", DataType::Utf8, false),
        Field::new("Description", DataType::Utf8, true),
        Field::new("Quantity", DataType::Int64, false),
        Field::new(
            "InvoiceDate",
            DataType::Timestamp(TimeUnit::Microsecond, None),
            false,
        ),
        Field::new("UnitPrice", DataType::Float64, false),
        Field::new("CustomerID", DataType::Int64, true),
        Field::new("Country", DataType::Utf8, false),
    ]))
}

fn batch(rows: &[Row]) -> RecordBatch {
    batch_at(
        rows.iter()
            .map(|r| (r.0, r.1, r.2, r.3 * MICROS_PER_DAY, r.4, r.5)),
    )
}

/// Rows with times in microseconds.
fn batch_at(
    rows: impl Iterator<Item = (&'static str, &'static str, i64, i64, f64, Option<i64>)>,
) -> RecordBatch {
    let rows: Vec<_> = rows.collect();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter(
                rows.iter().map(|r| Some(description(r.0, r.1))),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|r| r.3),
            )),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.4))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.5))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| country(r.5)),
            )),
        ],
    )
    .unwrap()
}

/// `ITEM <code>`, and for the random shop's numeric codes a product type
/// after it (`MUG`, `JUG` or `TOWEL`) that a quarter of the items change
/// to `SPOON` on odd invoices, so that an item's most common type moves
/// with the cutoff.
fn description(invoice: &str, code: &str) -> String {
    const KINDS: [&str; 3] = ["MUG", "JUG", "TOWEL"];
    match code.parse::<usize>() {
        Ok(n) if n % 4 == 0 && invoice.ends_with(['1', '3', '5', '7', '9']) => {
            format!("ITEM {code} SPOON")
        }
        Ok(n) => format!("ITEM {code} {}", KINDS[n % 3]),
        Err(_) => format!("ITEM {code}"),
    }
}

/// The hand-made shop. With the cutoff `T` = day 10 and `W` = 5 days:
///
/// * customer 1 bought A (2 units) and B on invoice 100 (day 1), A again on
///   invoice 101 (day 4) in two lines (1 + 3 units, one purchase), C on day
///   12 (in the label window) and B on day 16 (after it);
/// * customer 2 bought A on day 3, C (5 units) on day 7, D exactly at `T`
///   (history, not label) and A exactly at `T + W` (a label);
/// * customer 3 bought only after `T`: no candidates;
/// * customer 4 bought E on day 2 and D (2 units) on day 6.
///
/// Popularity in `(5, 10]`: D 2 purchases (3 units), C 1; in `(0, 5]`: A
/// 3 purchases, B 1, E 1.
fn transactions() -> RecordBatch {
    batch(&[
        ("100", "A", 2, 1, 1.0, Some(1)),
        ("100", "B", 1, 1, 2.0, Some(1)),
        ("101", "A", 1, 4, 1.0, Some(1)),
        ("101", "A", 3, 4, 1.0, Some(1)),
        ("102", "C", 1, 12, 3.0, Some(1)),
        ("103", "B", 1, 16, 2.0, Some(1)),
        ("200", "C", 5, 7, 3.0, Some(2)),
        ("201", "A", 1, 15, 1.0, Some(2)),
        ("202", "D", 1, 10, 4.0, Some(2)),
        ("203", "A", 1, 3, 1.0, Some(2)),
        ("300", "A", 1, 11, 1.0, Some(3)),
        ("400", "E", 1, 2, 5.0, Some(4)),
        ("401", "D", 2, 6, 4.0, Some(4)),
    ])
}

/// Customer 1 returned 2 A on day 5 and 1 A on day 11 (after `T`); a
/// return without a customer is ignored.
fn cancellations() -> RecordBatch {
    batch(&[
        ("C500", "A", -2, 5, 1.0, Some(1)),
        ("C501", "A", -1, 11, 1.0, Some(1)),
        ("C502", "B", -1, 5, 2.0, None),
    ])
}

fn day(d: i64) -> i64 {
    d * NANOS_PER_DAY
}

fn problem(source: CandidateSource, k: usize) -> Problem {
    ProblemBuilder::new()
        .with_horizon_days(5)
        .with_candidates(source)
        .with_top_popular(k)
        .build()
        .unwrap()
}

/// `(customer, item)` of each row.
fn pairs(examples: &Examples) -> Vec<(i64, String)> {
    let items = examples.pairs().column(1).as_string::<i32>();
    examples
        .groups()
        .iter()
        .zip(items.iter())
        .map(|(&c, i)| (c, i.unwrap().to_string()))
        .collect()
}

fn expected(rows: &[(i64, &str)]) -> Vec<(i64, String)> {
    rows.iter().map(|&(c, i)| (c, i.to_string())).collect()
}

fn value(examples: &Examples, row: usize, name: &str) -> f64 {
    examples.feature(name).expect(name)[row]
}

#[test]
fn candidates_and_labels() {
    let examples = problem(CandidateSource::Both, 100)
        .examples(&transactions(), &cancellations(), day(10))
        .unwrap();
    // Past items, and the popular C and D for everyone.
    assert_eq!(
        pairs(&examples),
        expected(&[
            (1, "A"),
            (1, "B"),
            (1, "C"),
            (1, "D"),
            (2, "A"),
            (2, "C"),
            (2, "D"),
            (4, "C"),
            (4, "D"),
            (4, "E"),
        ])
    );
    // 1 buys C on day 12; 2 buys A on day 15 = T + W. Customer 1's B on
    // day 16 is too late, customer 2's D at T is history.
    let labels = [
        false, false, true, false, true, false, false, false, false, false,
    ];
    assert_eq!(examples.labels(), Some(&labels[..]));
    assert_eq!(examples.cutoffs(), &[day(10); 10]);

    let batch = examples.pairs();
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["CustomerID", "StockCode", "cutoff", "label"]);
    assert_eq!(
        batch.column(2).data_type(),
        &DataType::Timestamp(TimeUnit::Nanosecond, None)
    );
    let label_column: Vec<Option<bool>> = batch.column(3).as_boolean().iter().collect();
    assert_eq!(label_column, labels.map(Some));
    assert_eq!(
        examples.features().dim(),
        (10, examples.feature_names().len())
    );
}

#[test]
fn past_items_only() {
    let examples = problem(CandidateSource::PastItems, 100)
        .examples(&transactions(), &cancellations(), day(10))
        .unwrap();
    assert_eq!(
        pairs(&examples),
        expected(&[
            (1, "A"),
            (1, "B"),
            (2, "A"),
            (2, "C"),
            (2, "D"),
            (4, "D"),
            (4, "E")
        ])
    );
    assert_eq!(
        examples.labels().unwrap(),
        [false, false, true, false, false, false, false]
    );
}

#[test]
fn the_k_most_popular_items() {
    let at = |k| {
        let examples = problem(CandidateSource::Popular, k)
            .examples(&transactions(), &cancellations(), day(10))
            .unwrap();
        pairs(&examples)
    };
    // D (2 purchases) is first, C (1) second; only they sold in (5, 10].
    assert_eq!(at(1), expected(&[(1, "D"), (2, "D"), (4, "D")]));
    let two = expected(&[(1, "C"), (1, "D"), (2, "C"), (2, "D"), (4, "C"), (4, "D")]);
    assert_eq!(at(2), two);
    assert_eq!(at(100), two);
    // With Both, K = 1 adds D to customer 1's past items only.
    let both = problem(CandidateSource::Both, 1)
        .examples(&transactions(), &cancellations(), day(10))
        .unwrap();
    assert_eq!(
        pairs(&both),
        expected(&[
            (1, "A"),
            (1, "B"),
            (1, "D"),
            (2, "A"),
            (2, "C"),
            (2, "D"),
            (4, "D"),
            (4, "E"),
        ])
    );
}

#[test]
fn ties_in_popularity_go_to_units_then_stock_code() {
    // In (5, 10]: X and Y one purchase each, Y with more units; Z as X.
    let data = batch(&[
        ("1", "Z", 1, 6, 1.0, Some(1)),
        ("2", "X", 1, 7, 1.0, Some(2)),
        ("3", "Y", 9, 8, 1.0, Some(3)),
    ]);
    let examples = problem(CandidateSource::Popular, 2)
        .examples(&data, &cancellations(), day(10))
        .unwrap();
    let items: Vec<String> = pairs(&examples).into_iter().map(|p| p.1).collect();
    assert_eq!(items, ["X", "Y", "X", "Y", "X", "Y"]);
    let rank = examples.feature("item.popularity_rank").unwrap();
    assert_eq!(rank.to_vec()[..2], [2.0, 1.0]);
}

#[test]
fn features_by_hand() {
    let examples = problem(CandidateSource::Both, 100)
        .examples(&transactions(), &cancellations(), day(10))
        .unwrap();
    let names = examples.feature_names();
    assert!(names[0].starts_with("customer."));
    assert_eq!(
        names[names.len() - PROBLEM_FEATURES.len()..],
        PROBLEM_FEATURES.map(String::from)
    );
    assert!(names.iter().any(|n| n == "item.SUM(transactions.Quantity)"));

    // Row 0, customer 1 and A: purchases on day 1 (2 units, spend 2) and
    // day 4 (4 units in two lines, spend 4); customer 1 spent 8 on 2
    // invoices by T; a return of 2 on day 5 (the one on day 11 is later).
    let a = |name| value(&examples, 0, name);
    assert_eq!(a("pair.times_bought"), 2.0);
    assert_eq!(a("pair.times_bought_last_window"), 0.0);
    assert_eq!(a("pair.quantity_bought"), 6.0);
    assert_eq!(a("pair.spend"), 6.0);
    assert_eq!(a("pair.spend_share"), 0.75);
    assert_eq!(a("pair.invoice_share"), 1.0);
    assert_eq!(a("pair.days_since_last_bought"), 6.0);
    assert_eq!(a("pair.days_since_first_bought"), 9.0);
    assert_eq!(a("pair.mean_days_between_purchases"), 3.0);
    assert_eq!(a("pair.times_returned"), 1.0);
    assert_eq!(a("pair.quantity_returned"), 2.0);
    assert_eq!(a("pair.times_bought_last_3_windows"), 2.0);
    // 6 days since, every 3 days: two cycles overdue; no invoice since.
    assert_eq!(a("pair.cycles_since_last_bought"), 2.0);
    assert_eq!(a("pair.invoices_since_last_bought"), 0.0);
    // Customer 1's invoices by T: days 1 and 4; items A and B.
    assert_eq!(a("customer.invoices_last_window"), 0.0);
    assert_eq!(a("customer.invoices_last_3_windows"), 2.0);
    assert_eq!(a("customer.days_since_last_invoice"), 6.0);
    assert_eq!(a("customer.mean_days_between_invoices"), 3.0);
    assert_eq!(a("customer.items_bought"), 2.0);
    // A by T: customer 1 on days 1 and 4 (one repeat), customer 2 on day
    // 3; one purchase in (3, 10].
    assert_eq!(a("item.purchases_last_week"), 1.0);
    assert_eq!(a("item.repeat_share"), 1.0 / 3.0);
    // A sold 3 times in (0, 5], never in (5, 10].
    assert_eq!(a("item.purchases_last_window"), 0.0);
    assert_eq!(a("item.purchases_previous_window"), 3.0);
    assert_eq!(a("item.trend"), (1.0_f64 / 4.0).ln());
    assert!(a("item.popularity_rank").is_nan());
    // Deep features, as of T: 2 invoices; A's 4 lines.
    assert_eq!(a("customer.COUNT(invoices)"), 2.0);
    assert_eq!(a("item.COUNT(transactions)"), 4.0);
    // Countries by frequency among customers 1, 2 and 4.
    assert_eq!(a("customer.Country"), 2.0 / 3.0);
    assert_eq!(value(&examples, 9, "customer.Country"), 1.0 / 3.0);

    // Row 3, customer 1 and D: never bought.
    let d = |name| value(&examples, 3, name);
    assert_eq!(d("pair.times_bought"), 0.0);
    assert_eq!(d("pair.spend_share"), 0.0);
    assert!(d("pair.days_since_last_bought").is_nan());
    assert!(d("pair.mean_days_between_purchases").is_nan());
    assert!(d("pair.cycles_since_last_bought").is_nan());
    assert!(d("pair.invoices_since_last_bought").is_nan());
    assert_eq!(d("item.popularity_rank"), 1.0);

    // Row 6, customer 2 and D, bought at T: spend 4 of 1 + 15 + 4, one of
    // 3 invoices; D sold twice in (5, 10], never before.
    let d = |name| value(&examples, 6, name);
    assert_eq!(d("pair.times_bought"), 1.0);
    assert_eq!(d("pair.times_bought_last_window"), 1.0);
    assert_eq!(d("pair.spend_share"), 0.2);
    assert_eq!(d("pair.invoice_share"), 1.0 / 3.0);
    assert_eq!(d("pair.days_since_last_bought"), 0.0);
    assert_eq!(d("item.purchases_last_window"), 2.0);
    assert_eq!(d("item.trend"), 3.0_f64.ln());
    // Customer 2's invoices by T: days 3, 7 and 10 (two in (5, 10]);
    // items A, C and D. D by T: customer 4 on day 6, customer 2 on day 10.
    assert_eq!(d("pair.invoices_since_last_bought"), 0.0);
    assert_eq!(d("customer.invoices_last_window"), 2.0);
    assert_eq!(d("customer.days_since_last_invoice"), 0.0);
    assert_eq!(d("customer.mean_days_between_invoices"), 3.5);
    assert_eq!(d("customer.items_bought"), 3.0);
    assert_eq!(d("item.purchases_last_week"), 2.0);
    assert_eq!(d("item.repeat_share"), 0.0);
}

/// A shop with descriptions, for the product type and rebuy features,
/// `(InvoiceNo, StockCode, Description, day, CustomerID)`.
fn described(rows: &[(&str, &str, &str, i64, i64)]) -> RecordBatch {
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.2))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|_| 1))),
            Arc::new(TimestampMicrosecondArray::from_iter_values(
                rows.iter().map(|r| r.3 * MICROS_PER_DAY),
            )),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|_| 1.0))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.4))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "France"))),
        ],
    )
    .unwrap()
}

#[test]
fn product_type_and_rebuy_features_by_hand() {
    // With T = day 20 and W = 5 days:
    // * customer 1 bought X (a MUG) and Y (a MUG) on invoice 100 (day 1),
    //   X alone on invoices 104 (day 1 too), 101 (day 4) and 102 (day 18),
    //   and Y on day 25, after T;
    // * customer 2 bought Z (a JUG) on days 2 and 20 and W (a TOWEL) on
    //   day 16;
    // * customer 3 bought V (a TOWEL) on day 10, then Z three times after
    //   T, described as a TOWEL: by T, Z is still a JUG.
    let shop = described(&[
        ("100", "X", "RED MUG", 1, 1),
        ("100", "Y", "blue mug ", 1, 1),
        ("104", "X", "RED MUG", 1, 1),
        ("101", "X", "RED MUG", 4, 1),
        ("102", "X", "RED MUG", 18, 1),
        ("103", "Y", "BLUE MUG", 25, 1),
        ("200", "Z", "GREEN JUG", 2, 2),
        ("201", "W", "TEA TOWEL", 16, 2),
        ("202", "Z", "PINK JUG", 20, 2),
        ("300", "V", "BIG TOWEL", 10, 3),
        ("301", "Z", "ZEBRA TOWEL", 21, 3),
        ("302", "Z", "ZEBRA TOWEL", 22, 3),
        ("303", "Z", "ZEBRA TOWEL", 23, 3),
    ]);
    let examples = problem(CandidateSource::Both, 100)
        .examples(&shop, &batch(&[]), day(20))
        .unwrap();
    // W, X and Z sold in (15, 20]: everyone's candidates.
    assert_eq!(
        pairs(&examples),
        expected(&[
            (1, "W"),
            (1, "X"),
            (1, "Y"),
            (1, "Z"),
            (2, "W"),
            (2, "X"),
            (2, "Z"),
            (3, "V"),
            (3, "W"),
            (3, "X"),
            (3, "Z"),
        ])
    );
    let same_type = |row| {
        [
            "pair.same_type_invoices",
            "pair.same_type_items",
            "pair.days_since_same_type",
            "pair.new_in_known_type",
            "pair.same_type_invoice_share",
        ]
        .map(|name| value(&examples, row, name))
    };
    let nothing = [0.0, 0.0, f64::NAN, 0.0, 0.0];
    let same = |a: [f64; 5], b: [f64; 5]| {
        a.iter()
            .zip(&b)
            .all(|(x, y)| x == y || x.is_nan() && y.is_nan())
    };
    // Customer 1's MUGs: invoices 100, 101, 102 and 104, of which X is
    // alone on three; items X (last on day 18) and Y (day 1).
    assert!(same(same_type(0), nothing), "{:?}", same_type(0));
    assert!(
        same(same_type(1), [1.0, 1.0, 19.0, 0.0, 0.25]),
        "{:?}",
        same_type(1)
    );
    assert!(
        same(same_type(2), [4.0, 1.0, 2.0, 0.0, 1.0]),
        "{:?}",
        same_type(2)
    );
    assert!(same(same_type(3), nothing), "{:?}", same_type(3));
    // Customer 2 bought W and Z, each the only one of its type.
    for row in 4..7 {
        assert!(same(same_type(row), nothing), "{row}: {:?}", same_type(row));
    }
    // Customer 3 bought V on day 10: W is a new TOWEL to it, Z no TOWEL
    // yet.
    assert!(same(same_type(7), nothing), "{:?}", same_type(7));
    assert!(
        same(same_type(8), [1.0, 1.0, 10.0, 1.0, 1.0]),
        "{:?}",
        same_type(8)
    );
    assert!(same(same_type(10), nothing), "{:?}", same_type(10));

    // Purchase days by day 15, one per item and day, and whether the
    // customer bought the item again within 5 days: customer 1's X on day
    // 1 (yes, day 4), on day 4 (no) and Y on day 1 (no); customer 2's Z
    // on day 2 (no); customer 3's V on day 10 (no). Everyone: 1 of 5.
    // Items first bought by day 15 and bought again in (15, 20]: customer
    // 1's X (yes) and Y (no), customer 2's Z (yes), customer 3's V (no):
    // 2 of 4.
    let rates = |row| {
        (
            value(&examples, row, "customer.rebuy_rate"),
            value(&examples, row, "customer.recent_rebuy_rate"),
        )
    };
    assert_eq!(
        rates(0),
        (
            (1.0 + 5.0 * 0.2) / (3.0 + 5.0),
            (1.0 + 10.0 * 0.5) / (2.0 + 10.0)
        )
    );
    assert_eq!(
        rates(4),
        (
            (0.0 + 5.0 * 0.2) / (1.0 + 5.0),
            (1.0 + 10.0 * 0.5) / (1.0 + 10.0)
        )
    );
    assert_eq!(
        rates(7),
        (
            (0.0 + 5.0 * 0.2) / (1.0 + 5.0),
            (0.0 + 10.0 * 0.5) / (1.0 + 10.0)
        )
    );

    // Buyers in (13, 20]: one each of W, X and Z; in (8, 13]: V's one.
    let buyers = |row| {
        (
            value(&examples, row, "item.buyers_last_week"),
            value(&examples, row, "item.buyer_trend"),
        )
    };
    assert_eq!(buyers(1), (1.0, 2.0));
    assert_eq!(buyers(2), (0.0, 1.0));
    assert_eq!(buyers(7), (0.0, 1.0 / (1.0 * 7.0 / 5.0 + 1.0)));
}

#[test]
fn an_item_repeated_only_within_a_day_has_no_cycles() {
    // Customer 1 bought Z twice on day 2, customer 2 once on day 1: the
    // item's mean days between repeats is 0, and how many of those have
    // passed is undefined, not infinite.
    let shop = batch(&[
        ("100", "Z", 1, 2, 1.0, Some(1)),
        ("101", "Z", 1, 2, 1.0, Some(1)),
        ("200", "Z", 1, 1, 1.0, Some(2)),
        ("201", "Y", 1, 12, 1.0, Some(2)),
    ]);
    let examples = problem(CandidateSource::Both, 100)
        .examples(&shop, &batch(&[]), day(10))
        .unwrap();
    assert_eq!(examples.len(), 2);
    for row in 0..examples.len() {
        assert_eq!(value(&examples, row, "item.mean_days_between_repeats"), 0.0);
        assert!(value(&examples, row, "pair.item_cycles_since_last_bought").is_nan());
    }
    assert!(examples.features().iter().all(|v| !v.is_infinite()));
}

#[test]
fn without_deep_features() {
    let examples = ProblemBuilder::new()
        .with_horizon_days(5)
        .with_deep_features(false)
        .build()
        .unwrap()
        .examples(&transactions(), &cancellations(), day(10))
        .unwrap();
    assert_eq!(examples.feature_names(), PROBLEM_FEATURES.map(String::from));
    assert!(examples.customer_features().is_none());
    assert_eq!(examples.len(), 10);
}

#[test]
fn no_labels_without_data_after_the_cutoff() {
    let examples = problem(CandidateSource::Both, 100)
        .examples(&transactions(), &cancellations(), day(20))
        .unwrap();
    assert!(examples.labels().is_none());
    assert_eq!(examples.pairs().column(3).null_count(), examples.len());
    // Customer 3 now has a history.
    assert!(examples.groups().contains(&3));
}

#[test]
fn a_cutoff_before_the_data_gives_no_rows() {
    let examples = problem(CandidateSource::Both, 100)
        .examples(&transactions(), &cancellations(), day(0))
        .unwrap();
    assert!(examples.is_empty());
    assert_eq!(examples.features().ncols(), examples.feature_names().len());
    assert_eq!(examples.labels(), Some(&[][..]));
}

#[test]
fn any_timestamp_unit() {
    let reference = problem(CandidateSource::Both, 100)
        .examples(&transactions(), &cancellations(), day(10))
        .unwrap();
    for unit in [
        TimeUnit::Second,
        TimeUnit::Millisecond,
        TimeUnit::Nanosecond,
    ] {
        let retime = |batch: &RecordBatch| {
            let mut columns = batch.columns().to_vec();
            columns[4] = cast(&columns[4], &DataType::Timestamp(unit, None)).unwrap();
            let mut fields: Vec<Field> = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields[4] = Field::new("InvoiceDate", DataType::Timestamp(unit, None), false);
            RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
        };
        let examples = problem(CandidateSource::Both, 100)
            .examples(&retime(&transactions()), &retime(&cancellations()), day(10))
            .unwrap();
        assert_eq!(pairs(&examples), pairs(&reference), "{unit:?}");
        assert_eq!(examples.labels(), reference.labels());
        assert_same_features(&examples, &reference);
    }
}

#[test]
fn a_missing_column_is_named() {
    let full = transactions();
    let without = full.project(&[0, 1, 2, 3, 5, 6, 7]).unwrap();
    let error = problem(CandidateSource::Both, 100)
        .examples(&without, &cancellations(), day(10))
        .unwrap_err();
    assert!(matches!(error, Error::InvalidParameter { .. }), "{error:?}");
    assert!(error.to_string().contains("InvoiceDate"), "{error}");

    let returns = cancellations().project(&[0, 1, 2, 4, 5, 6, 7]).unwrap();
    let error = problem(CandidateSource::Both, 100)
        .examples(&full, &returns, day(10))
        .unwrap_err();
    assert!(error.to_string().contains("cancellations"), "{error}");
    assert!(error.to_string().contains("Quantity"), "{error}");

    // No returns at all: an empty batch of any schema.
    let none = RecordBatch::new_empty(Arc::new(Schema::empty()));
    let examples = problem(CandidateSource::Both, 100)
        .examples(&full, &none, day(10))
        .unwrap();
    assert_eq!(value(&examples, 0, "pair.times_returned"), 0.0);
}

#[test]
fn invalid_options_are_refused() {
    let zero = ProblemBuilder::new().with_horizon_days(0).build();
    assert!(matches!(
        zero,
        Err(Error::InvalidParameter {
            name: "horizon",
            ..
        })
    ));
    let no_k = ProblemBuilder::new().with_top_popular(0).build();
    assert!(matches!(
        no_k,
        Err(Error::InvalidParameter {
            name: "top_popular",
            ..
        })
    ));
    // K = 0 is fine when popular items are not candidates.
    ProblemBuilder::new()
        .with_top_popular(0)
        .with_candidates(CandidateSource::PastItems)
        .build()
        .unwrap();
}

#[test]
fn training_cutoffs_must_not_see_the_evaluation_labels() {
    let problem = problem(CandidateSource::Both, 100);
    // W = 5: the window of day 10 ends on day 15, which the evaluation
    // cutoff may equal but not precede.
    let refused = problem.training_set(
        &transactions(),
        &cancellations(),
        &[day(5), day(11)],
        day(15),
    );
    match refused {
        Err(Error::InvalidParameter {
            name: "cutoffs",
            reason,
        }) => {
            assert!(reason.contains("1970-01-12 00:00:00"), "{reason}");
            assert!(reason.contains("after the evaluation cutoff"), "{reason}");
        }
        other => panic!("expected a refused cutoff, got {other:?}"),
    }
    let none = problem.training_set(&transactions(), &cancellations(), &[], day(15));
    assert!(matches!(
        none,
        Err(Error::InvalidParameter {
            name: "cutoffs",
            ..
        })
    ));
    problem
        .training_set(&transactions(), &cancellations(), &[day(10)], day(15))
        .unwrap();
}

#[test]
fn a_training_set_stacks_its_cutoffs() {
    let problem = problem(CandidateSource::Both, 100);
    let (t, c) = (transactions(), cancellations());
    let training = problem
        .training_set(&t, &c, &[day(5), day(10)], day(15))
        .unwrap();
    let (t15, c15) = (until(&t, day(15)), until(&c, day(15)));
    let parts = vec![
        problem.examples(&t15, &c15, day(5)).unwrap(),
        problem.examples(&t15, &c15, day(10)).unwrap(),
    ];
    let stacked = Examples::stack(parts).unwrap();
    assert_eq!(training.len(), stacked.len());
    assert_eq!(pairs(&training), pairs(&stacked));
    assert_eq!(training.cutoffs(), stacked.cutoffs());
    assert_eq!(training.labels(), stacked.labels());
    assert_same_features(&training, &stacked);
    // Day 5: customers 1, 2 and 4 with a history; A, B, E popular.
    let first: Vec<_> = training
        .cutoffs()
        .iter()
        .filter(|&&t| t == day(5))
        .collect();
    assert_eq!(first.len(), 9);
    // Evaluated at day 15, customer 1's purchase on day 16 is unseen.
    assert!(!training.is_empty());
    assert_eq!(
        training
            .pairs()
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .len(),
        training.len()
    );
}

#[test]
fn stacking_refuses_different_features() {
    let (t, c) = (transactions(), cancellations());
    let deep = problem(CandidateSource::Both, 100)
        .examples(&t, &c, day(10))
        .unwrap();
    let shallow = ProblemBuilder::new()
        .with_horizon_days(5)
        .with_deep_features(false)
        .build()
        .unwrap()
        .examples(&t, &c, day(10))
        .unwrap();
    assert!(matches!(
        Examples::stack(vec![deep, shallow]),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(Examples::stack(vec![]), Err(Error::Undefined(_))));
}

/// The rows of `batch` at or before `cutoff`.
fn until(batch: &RecordBatch, cutoff: i64) -> RecordBatch {
    let times = batch
        .column(4)
        .as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
    let keep: BooleanArray = times
        .iter()
        .map(|t| Some(t.unwrap() * 1_000 <= cutoff))
        .collect();
    filter_record_batch(batch, &keep).unwrap()
}

/// Every feature value equal, NaN to NaN.
fn assert_same_features(a: &Examples, b: &Examples) {
    assert_eq!(a.feature_names(), b.feature_names());
    assert_eq!(a.features().dim(), b.features().dim());
    for (r, (x, y)) in a
        .features()
        .rows()
        .into_iter()
        .zip(b.features().rows())
        .enumerate()
    {
        for (j, (u, v)) in x.iter().zip(y.iter()).enumerate() {
            assert!(
                u.to_bits() == v.to_bits() || (u.is_nan() && v.is_nan()),
                "row {r}, feature {}: {u} and {v}",
                a.feature_names()[j]
            );
        }
    }
}

/// A random shop from a fixed seed: 40 customers, 30 items, 120 days,
/// with returns.
fn random_shop(seed: u64) -> (RecordBatch, RecordBatch) {
    let mut state = seed;
    let mut next = move |n: u64| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    };
    let invoices: Vec<&'static str> = (0..600)
        .map(|i| &*format!("{}", 1_000 + i).leak())
        .collect();
    let codes: Vec<&'static str> = (0..30)
        .map(|i| &*format!("{}", 20_000 + i).leak())
        .collect();
    let mut rows = Vec::new();
    let mut returns = Vec::new();
    for &invoice in &invoices {
        let customer = 100 + next(40) as i64;
        // Minutes, so that invoices share days and some share times.
        let time = next(120 * 24 * 60) as i64 * 60_000_000;
        for _ in 0..1 + next(5) {
            let code = codes[next(30) as usize];
            let quantity = 1 + next(24) as i64;
            let price = 0.25 * (1 + next(40)) as f64;
            rows.push((invoice, code, quantity, time, price, Some(customer)));
            if next(10) == 0 {
                let later = time + next(10 * 24 * 60) as i64 * 60_000_000;
                returns.push(("C", code, -1 - next(3) as i64, later, price, Some(customer)));
            }
        }
    }
    (batch_at(rows.into_iter()), batch_at(returns.into_iter()))
}

/// The leak test: the features of a row at cutoff T are the same whether
/// the data holds what happened after T or not.
#[test]
fn no_feature_sees_past_its_cutoff() {
    let problem = ProblemBuilder::new()
        .with_horizon_days(14)
        .with_top_popular(10)
        .build()
        .unwrap();
    let (hand_t, hand_c) = (transactions(), cancellations());
    let (random_t, random_c) = random_shop(0x9e37_79b9_7f4a_7c15);
    let cases = [
        (&hand_t, &hand_c, vec![day(4), day(7), day(10), day(12)]),
        (
            &random_t,
            &random_c,
            vec![day(30), day(61) + 7, day(90), day(100)],
        ),
    ];
    for (transactions, cancellations, cutoffs) in cases {
        for cutoff in cutoffs {
            let full = problem
                .examples(transactions, cancellations, cutoff)
                .unwrap();
            let cut = problem
                .examples(
                    &until(transactions, cutoff),
                    &until(cancellations, cutoff),
                    cutoff,
                )
                .unwrap();
            assert!(!full.is_empty(), "cutoff {cutoff}");
            assert!(full.labels().is_some());
            assert!(cut.labels().is_none());
            assert_eq!(pairs(&full), pairs(&cut));
            assert_same_features(&full, &cut);
        }
    }

    // Every training row, as the training set makes it.
    let cutoffs = [day(40), day(60), day(80)];
    let training = problem
        .training_set(&random_t, &random_c, &cutoffs, day(100))
        .unwrap();
    let parts = cutoffs
        .iter()
        .map(|&t| {
            problem
                .examples(&until(&random_t, t), &until(&random_c, t), t)
                .unwrap()
        })
        .collect();
    let seen_by_cutoff = Examples::stack(parts).unwrap();
    assert_eq!(pairs(&training), pairs(&seen_by_cutoff));
    assert_same_features(&training, &seen_by_cutoff);
    assert!(training.labels().unwrap().iter().any(|&l| l));
}

#[test]
fn baselines() {
    let examples = problem(CandidateSource::Both, 100)
        .examples(&transactions(), &cancellations(), day(10))
        .unwrap();
    // Rows: 1A 1B 1C 1D 2A 2C 2D 4C 4D 4E. In (5, 10]: C 1 purchase of 5
    // units, D 2 of 3 units, others none.
    let c = 1.0 + 5.0 / 6.0;
    let d = 2.0 + 3.0 / 4.0;
    assert_eq!(
        popularity(&examples, &transactions()).unwrap(),
        [0.0, 0.0, c, d, 0.0, c, d, c, d, 0.0]
    );
    // 1A: 2 purchases, last on day 4; 1B: 1 on day 1; 2A: day 3; 2C: day
    // 7; 2D: at T; 4D: day 6; 4E: day 2.
    let count = past_purchase_count(&examples, &transactions()).unwrap();
    let expected = [
        2.0 + 1.0 / 8.0,
        1.0 + 1.0 / 11.0,
        0.0,
        0.0,
        1.0 + 1.0 / 9.0,
        1.0 + 1.0 / 5.0,
        1.0 + 1.0 / 2.0,
        0.0,
        1.0 + 1.0 / 6.0,
        1.0 + 1.0 / 10.0,
    ];
    for (got, want) in count.iter().zip(expected) {
        assert!((got - want).abs() < 1e-15, "{got} {want}");
    }
}

/// The same numbers, NaN equal to NaN.
fn same_values(a: ndarray::ArrayView1<'_, f64>, b: ndarray::ArrayView1<'_, f64>) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
}

#[test]
fn cutoffs_one_at_a_time_and_any_rows_match_the_whole() {
    let problem = problem(CandidateSource::Both, 100);
    let (data, returns) = (transactions(), cancellations());
    let whole = problem.examples(&data, &returns, day(10)).unwrap();
    let mut each = problem
        .examples_each(&data, &returns, &[day(10), day(12)])
        .unwrap();
    assert_eq!(each.len(), 2);
    assert_eq!(each.feature_names(), whole.feature_names());

    let candidates = each.next_cutoff().unwrap().unwrap();
    assert_eq!(candidates.cutoff(), day(10));
    assert_eq!(candidates.len(), whole.len());
    assert_eq!(candidates.customers(), whole.groups());
    assert_eq!(candidates.labels(), whole.labels());
    // Any rows, in any order, are those rows of the whole matrix.
    let rows = [5, 0, 3, 5];
    let some = candidates.examples(&rows).unwrap();
    assert_eq!(some.len(), rows.len());
    for (i, &r) in rows.iter().enumerate() {
        assert!(
            same_values(some.features().row(i), whole.features().row(r)),
            "row {r}"
        );
        assert_eq!(some.groups()[i], whole.groups()[r]);
        assert_eq!(some.labels().unwrap()[i], whole.labels().unwrap()[r]);
    }
    assert_eq!(pairs(&some)[0], pairs(&whole)[5]);
    let error = candidates.examples(&[whole.len()]).unwrap_err().to_string();
    assert!(error.contains("candidates"), "{error}");
    assert!(candidates.examples(&[]).unwrap().is_empty());
    drop(candidates);

    // The second cutoff whole, as Problem::examples makes it.
    let second = each.next().unwrap().unwrap();
    let direct = problem.examples(&data, &returns, day(12)).unwrap();
    assert_eq!(pairs(&second), pairs(&direct));
    for r in 0..direct.len() {
        assert!(
            same_values(second.features().row(r), direct.features().row(r)),
            "row {r}"
        );
    }
    assert!(each.next().is_none());
}
