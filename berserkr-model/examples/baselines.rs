//! The protocol's evaluation cutoff, scored by the two baselines.
//!
//! ```text
//! cargo run --release -p berserkr-model --example baselines               # synthetic data
//! cargo run --release -p berserkr-model --example baselines -- clean.csv  # the real data
//! ```
//!
//! The real data is the clean Online Retail table as CSV, header
//! `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country`
//! and dates `YYYY-MM-DD HH:MM:SS`, as `cargo bench --bench dfs_compare --
//! clean clean.csv` writes it at the workspace root (this crate does not
//! depend on `berserkr-io`). The table holds no cancellations, so the
//! returns features are 0.
//!
//! The protocol: evaluation cutoff 2011-11-09 with a 30-day horizon (labels
//! up to 2011-12-09), training cutoffs 2011-08-10, 2011-09-09 and
//! 2011-10-10. Without a path, a year of synthetic purchases stands in,
//! with the same dates.

use std::error::Error;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::compute::concat_batches;
use arrow::csv::ReaderBuilder;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use berserkr_model::baselines::{past_purchase_count, popularity};
use berserkr_model::metrics::{average_precision, ndcg_at_k, precision_at_k, roc_auc};
use berserkr_model::problem::{Examples, NANOS_PER_DAY, ProblemBuilder};

fn main() -> Result<(), Box<dyn Error>> {
    let transactions = match std::env::args().nth(1) {
        Some(path) => read_clean_csv(&path)?,
        None => synthetic(),
    };
    let cancellations = RecordBatch::new_empty(schema());
    println!("transactions {}", transactions.num_rows());

    let problem = ProblemBuilder::new().build()?;
    let evaluation = date(2011, 11, 9);
    let started = Instant::now();
    let examples = problem.examples(&transactions, &cancellations, evaluation)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "examples at 2011-11-09: {} rows x {} features, {} customers, in {seconds:.3} s",
        examples.len(),
        examples.feature_names().len(),
        distinct(examples.groups()),
    );
    let labels = examples.labels().ok_or("the data ends before the cutoff")?;
    println!(
        "positives {} ({:.4} of the rows)",
        labels.iter().filter(|&&l| l).count(),
        labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64
    );
    println!(
        "\n{:<22}{:>8}{:>8}{:>8}{:>9}",
        "baseline", "AUC", "AP", "P@10", "NDCG@10"
    );
    let started = Instant::now();
    let popular = popularity(&examples, &transactions)?;
    report("popularity", &examples, &popular, labels)?;
    let count = past_purchase_count(&examples, &transactions)?;
    report("past purchase count", &examples, &count, labels)?;
    println!(
        "(both baselines in {:.3} s; the issue's past purchase count: AP 0.222, P@10 0.275)",
        started.elapsed().as_secs_f64()
    );

    let cutoffs = [date(2011, 8, 10), date(2011, 9, 9), date(2011, 10, 10)];
    let started = Instant::now();
    let training = problem.training_set(&transactions, &cancellations, &cutoffs, evaluation)?;
    let positives = training
        .labels()
        .map_or(0, |l| l.iter().filter(|&&l| l).count());
    println!(
        "\ntraining set of 3 cutoffs: {} rows, {positives} positive, in {:.3} s",
        training.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn report(
    name: &str,
    examples: &Examples,
    scores: &[f64],
    labels: &[bool],
) -> Result<(), Box<dyn Error>> {
    let groups = examples.groups();
    println!(
        "{name:<22}{:>8.4}{:>8.4}{:>8.4}{:>9.4}",
        roc_auc(scores, labels)?,
        average_precision(scores, labels)?,
        precision_at_k(groups, scores, labels, 10)?,
        ndcg_at_k(groups, scores, labels, 10)?,
    );
    Ok(())
}

fn distinct(values: &[i64]) -> usize {
    let mut values = values.to_vec();
    values.sort_unstable();
    values.dedup();
    values.len()
}

/// The clean table's columns, as `berserkr-io` types them.
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

fn read_clean_csv(path: &str) -> Result<RecordBatch, Box<dyn Error>> {
    let schema = schema();
    let reader = ReaderBuilder::new(schema.clone())
        .with_header(true)
        .with_batch_size(1 << 20)
        .build(std::fs::File::open(path)?)?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    Ok(concat_batches(&schema, &batches)?)
}

/// Nanoseconds since the epoch of midnight (UTC) on a date.
fn date(year: i64, month: i64, day: i64) -> i64 {
    // Howard Hinnant's days_from_civil.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) * NANOS_PER_DAY
}

/// A year of purchases from 2010-12-01: 300 customers, 200 items, each
/// customer with a few favourite items it reorders, from a fixed seed.
fn synthetic() -> RecordBatch {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) % n
    };
    let start = date(2010, 12, 1) / 1_000;
    let day = NANOS_PER_DAY / 1_000;
    let (mut invoices, mut items, mut quantities, mut times, mut prices, mut customers) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut invoice = 536_365;
    for customer in 0..300_i64 {
        let favourites: Vec<u64> = (0..5).map(|_| next(200)).collect();
        let mut t = start + next(60) as i64 * day;
        while t < start + 374 * day {
            for _ in 0..1 + next(6) {
                let item = if next(3) == 0 {
                    next(200)
                } else {
                    favourites[next(5) as usize]
                };
                invoices.push(invoice.to_string());
                items.push(format!("{}", 20_000 + item));
                quantities.push(1 + next(12) as i64);
                times.push(t);
                prices.push(0.5 + (item % 10) as f64);
                customers.push(12_000 + customer);
            }
            invoice += 1;
            t += (5 + next(40) as i64) * day + next(36_000) as i64 * 1_000_000;
        }
    }
    let n = invoices.len();
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from(invoices)),
            Arc::new(StringArray::from(items)),
            Arc::new(StringArray::from(vec![Some("ITEM"); n])),
            Arc::new(Int64Array::from(quantities)),
            Arc::new(TimestampMicrosecondArray::from(times)),
            Arc::new(Float64Array::from(prices)),
            Arc::new(Int64Array::from(customers)),
            Arc::new(StringArray::from(vec!["United Kingdom"; n])),
        ],
    )
    .expect("the synthetic columns match the schema")
}
