//! The whole pipeline: on the synthetic default, or on the daily exports
//! under a location given as the first argument.
//!
//! ```sh
//! cargo run --release -p berserkr-examples --example pipeline
//! cargo run --release -p berserkr-examples --example pipeline -- ../shared/data/online-retail/by-day/
//! ```

use berserkr_examples::data::Input;
use berserkr_examples::pipeline::Pipeline;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let input = match std::env::args().nth(1) {
        Some(location) => Input::Location(location),
        None => Input::Synthetic {
            rows: 300_000,
            seed: 42,
        },
    };
    let report = Pipeline::builder().with_input(input).build().run().await?;
    println!("{report}");
    println!("\nthe first customer's top items:");
    let top = report.top.slice(0, report.top.num_rows().min(5));
    println!("{}", arrow::util::pretty::pretty_format_batches(&[top])?);
    Ok(())
}
