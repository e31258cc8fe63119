//! `berserkr score`: each customer's most likely items as of a cutoff,
//! from a model file written by `berserkr train` and the clean Parquet
//! tables, written as Parquet (CustomerID, StockCode, probability, rank).

use std::collections::HashMap;
use std::time::Instant;

use berserkr_examples::pipeline::{EVAL_CHUNK_ROWS, customer_chunks, top_per_customer};
use berserkr_examples::{Error, Result};
use berserkr_features::FeatureSet;
use berserkr_features::primitives::Primitives;
use berserkr_features::retail::retail_entityset;
use berserkr_io::store::Location;
use berserkr_model::problem::ProblemBuilder;
use clap::Args;
use ndarray::Axis;

use super::features::{read_table, write_parquet};
use super::train::{MODEL_FORMAT, ModelFile};
use berserkr_examples::pipeline::{before, cutoff as date_nanos};

#[derive(Debug, Args)]
pub(crate) struct ScoreArgs {
    /// The model file `berserkr train` wrote.
    #[arg(long)]
    model: String,
    /// The clean transactions, as Parquet.
    #[arg(long)]
    transactions: String,
    /// The cancellations, as Parquet.
    #[arg(long)]
    cancellations: String,
    /// The cutoff (YYYY-MM-DD, midnight UTC) the scores are as of.
    #[arg(long)]
    cutoff: String,
    /// Items kept per customer.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// The scores, as Parquet (a path or URL).
    #[arg(long)]
    out: String,
}

fn invalid(option: &'static str, reason: String) -> Error {
    Error::InvalidOption { option, reason }
}

pub(crate) async fn run(args: ScoreArgs) -> berserkr_io::Result<()> {
    score(args).await.map_err(berserkr_io::Error::from)
}

/// Reads a model file, checking its format version first.
pub(crate) async fn load_model(path: &str) -> Result<ModelFile> {
    let bytes = Location::parse(path)?.get().await?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| invalid("model", format!("{path} is not JSON: {e}")))?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(MODEL_FORMAT) => {}
        Some(other) => {
            return Err(invalid(
                "model",
                format!(
                    "{path} is a model file of format {other:?}; this berserkr reads {MODEL_FORMAT:?}"
                ),
            ));
        }
        None => {
            return Err(invalid(
                "model",
                format!("{path} is not a berserkr model file (no \"format\")"),
            ));
        }
    }
    let file: ModelFile = serde_json::from_value(value)
        .map_err(|e| invalid("model", format!("{path}: a broken model file: {e}")))?;
    file.model
        .validate()
        .map_err(|e| invalid("model", format!("{path}: a broken model file: {e}")))?;
    if file.model.n_features() != file.feature_names.len() {
        return Err(invalid(
            "model",
            format!(
                "{path}: a broken model file: {} feature names for a model of {} features",
                file.feature_names.len(),
                file.model.n_features()
            ),
        ));
    }
    Ok(file)
}

async fn score(args: ScoreArgs) -> Result<()> {
    let started = Instant::now();
    let cutoff = date_nanos("cutoff", &args.cutoff)?;
    let file = load_model(&args.model).await?;
    let transactions = read_table(&args.transactions).await?;
    let cancellations = read_table(&args.cancellations).await?;

    let es = retail_entityset(&before(&transactions, cutoff)?)?;
    let primitives = Primitives::standard();
    let customer_features = FeatureSet::from_json(&file.customer_features, &es, &primitives)?;
    let item_features = FeatureSet::from_json(&file.item_features, &es, &primitives)?;
    drop(es);
    let problem = ProblemBuilder::new()
        .with_horizon_days(file.horizon_days)
        .with_customer_features(customer_features)
        .with_item_features(item_features)
        .build()?;
    let mut each = problem.examples_each(&transactions, &cancellations, &[cutoff])?;
    let names = each.feature_names().to_vec();

    // The model's columns, by name, in its order.
    let have: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let missing: Vec<&str> = file
        .feature_names
        .iter()
        .map(String::as_str)
        .filter(|n| !have.contains_key(n))
        .collect();
    if !missing.is_empty() {
        return Err(invalid(
            "model",
            format!(
                "the model needs {} feature(s) the data does not give: {}",
                missing.len(),
                missing.join(", ")
            ),
        ));
    }
    let columns: Vec<usize> = file
        .feature_names
        .iter()
        .map(|n| have[n.as_str()])
        .collect();
    let in_order = columns.iter().enumerate().all(|(i, &c)| i == c) && columns.len() == names.len();

    // Assembled and scored in chunks of whole customers, so that the
    // matrix of every candidate is never held at once.
    let candidates = each
        .next_cutoff()
        .ok_or_else(|| invalid("cutoff", format!("no candidates at {}", args.cutoff)))??;
    let customers = candidates.customers();
    let mut tops = Vec::new();
    for rows in customer_chunks(&customers, EVAL_CHUNK_ROWS) {
        let rows: Vec<usize> = rows.collect();
        let part = candidates.examples(&rows)?;
        let mut probabilities = if in_order {
            file.model.predict_proba(part.features().view())?
        } else {
            let x = part.features().select(Axis(1), &columns);
            file.model.predict_proba(x.view())?
        }
        .to_vec();
        if let Some(calibration) = &file.calibration {
            calibration.calibrate_all(&mut probabilities);
        }
        tops.push(top_per_customer(part.pairs(), &probabilities, args.top)?);
    }
    let top = match tops.first() {
        Some(first) => arrow::compute::concat_batches(&first.schema(), &tops)?,
        None => {
            return Err(invalid(
                "cutoff",
                format!("no customer bought anything before {}", args.cutoff),
            ));
        }
    };
    let rows = write_parquet(&args.out, &top).await?;
    // Candidates come by customer.
    let customer_count = customers.chunk_by(|a, b| a == b).count();
    println!(
        "scored {} pairs of {customer_count} customers as of {}; wrote {}: {rows} rows (top {}) in {:.2} s",
        customers.len(),
        args.cutoff,
        args.out,
        args.top,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
