//! Deep feature synthesis for customers: the retail entity set from the
//! clean table in one call, Featuretools' default primitives to depth 2, and
//! the feature matrix as of a cutoff time.
//!
//! ```sh
//! cargo run --release -p berserkr-examples --example dfs_customers
//! cargo run --release -p berserkr-examples --example dfs_customers -- ../shared/data/online-retail/by-day/
//! ```

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, Int64Array};
use arrow::util::pretty::pretty_format_batches;
use berserkr_examples::data::{Input, load};
use berserkr_features::retail::retail_entityset;
use berserkr_features::{Dfs, FeatureMatrixBuilder};
use chrono::NaiveDate;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let input = match std::env::args().nth(1) {
        Some(location) => Input::Location(location),
        None => Input::Synthetic {
            rows: 200_000,
            seed: 42,
        },
    };
    let started = Instant::now();
    let data = load(&input).await?;
    println!(
        "read {input}: {} rows kept of {}",
        data.transactions.num_rows(),
        data.clean_report.rows_read
    );

    // The one call: transactions -> invoices -> customers, and products.
    let es = retail_entityset(&data.transactions)?;
    let features = Dfs::new("customers").with_max_depth(2).build(&es)?;
    println!("{} features, for example:", features.len());
    for name in features.names().skip(20).take(5) {
        println!("  {name}");
    }

    // Every customer known on 2011-09-01, as of that day.
    let cutoff = NaiveDate::from_ymd_opt(2011, 9, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_utc().timestamp_nanos_opt())
        .ok_or("cutoff out of range")?;
    let customers = es.dataframe("customers")?;
    let ids = arrow::compute::cast(
        customers.index().values(),
        &arrow::datatypes::DataType::Int64,
    )?;
    let ids = Arc::new(Int64Array::from(ids.to_data()));
    let times = vec![cutoff; ids.len()];
    let matrix = FeatureMatrixBuilder::new(&es, &features)
        .with_cutoff_times(ids, times)
        .build()?;
    println!(
        "matrix: {} customers x {} columns in {:.2} s (all stages)",
        matrix.num_rows(),
        matrix.num_columns(),
        started.elapsed().as_secs_f64()
    );
    let preview = matrix
        .slice(0, 3.min(matrix.num_rows()))
        .project(&[0, 1, 2, 3, 4, 5])?;
    println!("{}", pretty_format_batches(&[preview])?);
    Ok(())
}
