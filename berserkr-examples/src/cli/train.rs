//! `berserkr train`: boosted trees fitted on the clean Parquet tables at
//! a few training cutoffs, judged against both baselines at an evaluation
//! cutoff, and saved as a model file that `berserkr score` reads: the
//! trees, the feature names and the feature definitions.
//!
//! Without dates, the cutoffs follow the last day of the data, as the
//! model issue's protocol does on the real data: the evaluation cutoff is
//! one horizon before it, the training cutoffs one, two and three
//! horizons before that, and whole customers (one in eight) are held out
//! of the training rows for early stopping.

use std::fmt::Write as _;
use std::time::Instant;

use berserkr_examples::data::{Data, Input};
use berserkr_examples::pipeline::{Pipeline, Protocol, cutoff as date_nanos, peak_rss_bytes};
use berserkr_examples::{Error, Result};
use berserkr_io::clean::CleanReport;
use berserkr_io::store::Location;
use berserkr_model::calibration::Calibration;
use berserkr_model::gbdt::Gbdt;
use berserkr_model::metrics::Metrics;
use berserkr_model::problem::NANOS_PER_DAY;
use bytes::Bytes;
use chrono::DateTime;
use clap::Args;
use serde::{Deserialize, Serialize};

use super::features::{invoice_nanos, read_table};

/// The format of the model files this version writes and reads.
pub(crate) const MODEL_FORMAT: &str = "berserkr-model/1";

/// A model file: the trees and what scoring needs to rebuild their input.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ModelFile {
    /// [`MODEL_FORMAT`].
    pub(crate) format: String,
    /// The label window the model was trained for.
    pub(crate) horizon_days: u32,
    /// The model's columns, in order.
    pub(crate) feature_names: Vec<String>,
    /// The customer feature definitions (`FeatureSet::to_json`).
    pub(crate) customer_features: String,
    /// The item feature definitions (`FeatureSet::to_json`).
    pub(crate) item_features: String,
    /// The fitted trees.
    pub(crate) model: Gbdt,
    /// Platt scaling of the trees' probabilities, fitted on held-out rows
    /// (absent from files written before it existed: scores are then the
    /// trees' own probabilities).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) calibration: Option<Calibration>,
}

#[derive(Debug, Args)]
pub(crate) struct TrainArgs {
    /// The clean transactions, as Parquet (what `berserkr clean` writes).
    #[arg(long)]
    transactions: String,
    /// The cancellations, as Parquet (`berserkr clean --cancellations`).
    #[arg(long)]
    cancellations: String,
    /// Where to write the model file (JSON; a path or URL).
    #[arg(long)]
    model: String,
    /// Where to write the metrics report (Markdown; a path or URL).
    #[arg(long)]
    report: String,
    /// Evaluation cutoff (YYYY-MM-DD); default: one horizon before the
    /// last day of the data.
    #[arg(long)]
    evaluation_cutoff: Option<String>,
    /// Training cutoffs, comma-separated; default: one, two and three
    /// horizons before the evaluation cutoff.
    #[arg(long, value_delimiter = ',')]
    training_cutoffs: Vec<String>,
    /// Validation cutoff for early stopping; default: one customer in
    /// eight of the training rows is held out instead.
    #[arg(long)]
    validation_cutoff: Option<String>,
    /// Days after a cutoff in which a purchase counts.
    #[arg(long, default_value_t = 30)]
    horizon_days: u32,
    /// Share of negative training examples kept (weighted back).
    #[arg(long, default_value_t = 0.1)]
    negative_rate: f64,
    /// Boosting rounds at most (early stopping usually ends sooner).
    #[arg(long, default_value_t = 1000)]
    max_trees: usize,
    /// Seed of the subsampling and the trees.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

pub(crate) async fn run(args: TrainArgs) -> berserkr_io::Result<()> {
    train(args).await.map_err(berserkr_io::Error::from)
}

fn say(message: impl std::fmt::Display) {
    eprintln!("[berserkr train] {message}");
}

fn day(nanos: i64) -> String {
    DateTime::from_timestamp_nanos(nanos)
        .format("%Y-%m-%d")
        .to_string()
}

fn invalid(option: &'static str, reason: String) -> Error {
    Error::InvalidOption { option, reason }
}

async fn train(args: TrainArgs) -> Result<()> {
    let started = Instant::now();
    if !(args.negative_rate > 0.0 && args.negative_rate <= 1.0) {
        return Err(invalid(
            "negative-rate",
            format!("{} is not in (0, 1]", args.negative_rate),
        ));
    }
    if args.horizon_days == 0 {
        return Err(invalid("horizon-days", "must be at least 1".into()));
    }
    let transactions = read_table(&args.transactions).await?;
    let cancellations = read_table(&args.cancellations).await?;
    let loaded = started.elapsed();
    say(format!(
        "{} transactions, {} cancellations read",
        transactions.num_rows(),
        cancellations.num_rows()
    ));

    // The cutoffs.
    let horizon = i64::from(args.horizon_days) * NANOS_PER_DAY;
    let evaluation = match &args.evaluation_cutoff {
        Some(date) => date_nanos("evaluation-cutoff", date)?,
        None => {
            let last = invoice_nanos(&transactions)?
                .into_iter()
                .flatten()
                .max()
                .ok_or_else(|| invalid("transactions", "the table has no rows".into()))?;
            last.div_euclid(NANOS_PER_DAY) * NANOS_PER_DAY - horizon
        }
    };
    let training: Vec<i64> = if args.training_cutoffs.is_empty() {
        (1..=3).rev().map(|k| evaluation - k * horizon).collect()
    } else {
        args.training_cutoffs
            .iter()
            .map(|d| date_nanos("training-cutoffs", d))
            .collect::<Result<_>>()?
    };
    let validation = args
        .validation_cutoff
        .as_deref()
        .map(|d| date_nanos("validation-cutoff", d))
        .transpose()?;
    for &at in training.iter().chain(&validation) {
        if at + horizon > evaluation {
            return Err(invalid(
                "training-cutoffs",
                format!(
                    "the label window of {} ends after the evaluation cutoff {}",
                    day(at),
                    day(evaluation)
                ),
            ));
        }
    }
    let training_days = training
        .iter()
        .map(|&t| day(t))
        .collect::<Vec<_>>()
        .join(", ");
    say(format!(
        "training cutoffs {training_days}, validation {}, evaluation {}, horizon {} days",
        validation.map_or("by held-out customers".into(), day),
        day(evaluation),
        args.horizon_days
    ));

    // The pipeline's stages after loading: training rows sampled before
    // their features are made, the evaluation cutoff scored in chunks.
    let protocol = Protocol {
        training: training.iter().map(|&t| day(t)).collect(),
        validation: validation.map(day),
        evaluation: day(evaluation),
        horizon_days: args.horizon_days,
    };
    let data = Data {
        transactions,
        cancellations,
        objects: 2,
        bytes: 0,
        malformed_rows: 0,
        clean_report: CleanReport::default(),
    };
    let (n_transactions, n_cancellations) =
        (data.transactions.num_rows(), data.cancellations.num_rows());
    let run = Pipeline::builder()
        .with_input(Input::Location(args.transactions.clone()))
        .with_protocol(protocol)
        .with_negative_rate(args.negative_rate)
        .with_trees(args.max_trees)
        .with_seed(args.seed)
        .build()
        .run_on(data, loaded)
        .await?;
    let (customer_features, item_features) = run
        .definitions
        .ok_or_else(|| invalid("features", "the problem has no deep features".into()))?;

    // Save.
    let file = ModelFile {
        format: MODEL_FORMAT.into(),
        horizon_days: args.horizon_days,
        feature_names: run.feature_names,
        customer_features,
        item_features,
        model: run.model,
        calibration: Some(run.calibration),
    };
    let json = serde_json::to_string(&file)
        .map_err(|e| invalid("model", format!("cannot write the model file: {e}")))?;
    let back: ModelFile = serde_json::from_str(&json)
        .map_err(|e| invalid("model", format!("the model file does not read back: {e}")))?;
    if back.model != file.model
        || back.feature_names != file.feature_names
        || back.calibration != file.calibration
    {
        return Err(invalid(
            "model",
            "the model file does not read back to the same model".into(),
        ));
    }
    Location::parse(&args.model)?.put(Bytes::from(json)).await?;
    let scored: Vec<(&str, Metrics)> = run
        .scored
        .iter()
        .map(|s| (s.name.as_str(), s.metrics.clone()))
        .collect();
    let mut report = String::new();
    let _ = writeln!(report, "# berserkr model report\n");
    let _ = writeln!(
        report,
        "- data: {} ({n_transactions} transactions), {} ({n_cancellations} cancellations)",
        args.transactions, args.cancellations,
    );
    let _ = writeln!(
        report,
        "- training cutoffs: {training_days}; validation: {}; evaluation cutoff: {}; horizon: {} days",
        validation.map_or("one customer in eight held out".into(), day),
        day(evaluation),
        args.horizon_days
    );
    let _ = writeln!(
        report,
        "- examples: {} training ({} used after subsampling negatives), {} validation, {} evaluation; {} features",
        run.rows.0,
        run.training_rows_used,
        run.rows.1,
        run.rows.2,
        file.feature_names.len()
    );
    let _ = writeln!(
        report,
        "- model: gradient-boosted trees, {} trees\n",
        file.model.n_trees()
    );
    report.push_str(&metrics_table(&scored));
    let times: Vec<String> = run
        .stages
        .iter()
        .map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64()))
        .collect();
    let _ = writeln!(
        report,
        "\nTimes: {}; peak memory {:.0} MB.",
        times.join(", "),
        peak_rss_bytes() as f64 / 1e6
    );
    Location::parse(&args.report)?
        .put(Bytes::from(report.clone()))
        .await?;
    println!("{}", metrics_table(&scored));
    println!(
        "wrote {} ({} trees, {} features) and {} in {:.2} s",
        args.model,
        file.model.n_trees(),
        file.feature_names.len(),
        args.report,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The metrics as a Markdown table.
fn metrics_table(scored: &[(&str, Metrics)]) -> String {
    let mut table = String::from(
        "| on the evaluation cutoff | AUC | AP | P@10 | R@10 | NDCG@10 | log loss | Brier |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (name, m) in scored {
        let at10 = m.at_k.iter().find(|r| r.k == 10);
        let probability = |v: f64| {
            if *name == "gbdt" {
                format!("{v:.4}")
            } else {
                "-".into()
            }
        };
        let _ = writeln!(
            table,
            "| {name} | {:.4} | {:.4} | {:.4} | {:.4} | {:.4} | {} | {} |",
            m.roc_auc,
            m.average_precision,
            at10.map_or(f64::NAN, |r| r.precision),
            at10.map_or(f64::NAN, |r| r.recall),
            at10.map_or(f64::NAN, |r| r.ndcg),
            probability(m.log_loss),
            probability(m.brier_score),
        );
    }
    table
}
