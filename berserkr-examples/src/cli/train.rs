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

use berserkr_examples::pipeline::{
    before, cutoff as date_nanos, labels_of, peak_rss_bytes, subsample,
};
use berserkr_examples::{Error, Result};
use berserkr_features::retail::retail_entityset;
use berserkr_io::store::Location;
use berserkr_model::baselines;
use berserkr_model::gbdt::{Gbdt, GbdtParams, Samples};
use berserkr_model::metrics::{self, Metrics};
use berserkr_model::problem::{Examples, NANOS_PER_DAY, ProblemBuilder};
use bytes::Bytes;
use chrono::DateTime;
use clap::Args;
use ndarray::Axis;
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

    // Definitions made once, on the data seen at the evaluation cutoff.
    let started_features = Instant::now();
    let seen = before(&transactions, evaluation)?;
    let es = retail_entityset(&seen)?;
    let draft = ProblemBuilder::new()
        .with_horizon_days(args.horizon_days)
        .build()?;
    let (customer_features, item_features) = draft
        .feature_sets(&es)?
        .ok_or_else(|| invalid("features", "the problem has no deep features".into()))?;
    let customer_json = customer_features.to_json(&es)?;
    let item_json = item_features.to_json(&es)?;
    drop((es, seen));
    let problem = ProblemBuilder::new()
        .with_horizon_days(args.horizon_days)
        .with_customer_features(customer_features)
        .with_item_features(item_features)
        .build()?;
    let examples_at = |at: i64, what: &str| -> Result<Examples> {
        let examples = problem.examples(&transactions, &cancellations, at)?;
        say(format!("{what} {}: {} pairs", day(at), examples.len()));
        Ok(examples)
    };
    let mut parts = Vec::new();
    for &at in &training {
        parts.push(examples_at(at, "training")?);
    }
    let train = Examples::stack(parts)?;
    let valid = validation
        .map(|at| examples_at(at, "validation"))
        .transpose()?;
    let eval = examples_at(evaluation, "evaluation")?;
    let features_time = started_features.elapsed();

    // Fit.
    let started_train = Instant::now();
    let train_labels = labels_of(&train, "training")?;
    let held_out = |row: usize| valid.is_none() && train.groups()[row].rem_euclid(8) == 0;
    let rows: Vec<usize> = (0..train.len()).filter(|&r| !held_out(r)).collect();
    let held: Vec<usize> = (0..train.len()).filter(|&r| held_out(r)).collect();
    let fit_labels: Vec<bool> = rows.iter().map(|&r| train_labels[r]).collect();
    let (kept, weights) = subsample(&fit_labels, args.negative_rate, args.seed);
    let kept: Vec<usize> = kept.iter().map(|&i| rows[i]).collect();
    let x = train.features().select(Axis(0), &kept);
    let y: Vec<bool> = kept.iter().map(|&i| train_labels[i]).collect();
    let (valid_x, valid_y) = match &valid {
        Some(valid) => (
            valid.features().clone(),
            labels_of(valid, "validation")?.to_vec(),
        ),
        None => (
            train.features().select(Axis(0), &held),
            held.iter().map(|&r| train_labels[r]).collect(),
        ),
    };
    say(format!(
        "fitting on {} rows ({} positives) x {} features, validating on {}",
        y.len(),
        y.iter().filter(|&&l| l).count(),
        train.feature_names().len(),
        valid_y.len()
    ));
    let model = GbdtParams::new()
        .with_n_trees(args.max_trees)
        .with_learning_rate(0.05)
        .with_num_leaves(31)
        .with_early_stopping_rounds(Some(20))
        .with_seed(args.seed)
        .check()?
        .fit_with_validation(
            &Samples::new(x.view(), &y)?.with_weights(&weights)?,
            &Samples::new(valid_x.view(), &valid_y)?,
        )?;
    drop((x, valid_x));
    let train_time = started_train.elapsed();
    say(format!("{} trees", model.n_trees()));

    // Evaluate.
    let started_eval = Instant::now();
    let eval_labels = labels_of(&eval, "evaluation")?;
    let probabilities = model.predict_proba(eval.features().view())?.to_vec();
    let groups = eval.groups();
    let mut scored = vec![(
        "gbdt",
        metrics::evaluate(groups, &probabilities, eval_labels, &[10], 10)?,
    )];
    for (name, scores) in [
        (
            "past purchase count",
            baselines::past_purchase_count(&eval, &transactions)?,
        ),
        ("popularity", baselines::popularity(&eval, &transactions)?),
    ] {
        // Ranking metrics only: a baseline's score is not a probability.
        let squashed: Vec<f64> = scores.iter().map(|s| s / (1.0 + s.abs())).collect();
        scored.push((
            name,
            metrics::evaluate(groups, &squashed, eval_labels, &[10], 10)?,
        ));
    }
    let eval_time = started_eval.elapsed();

    // Save.
    let file = ModelFile {
        format: MODEL_FORMAT.into(),
        horizon_days: args.horizon_days,
        feature_names: train.feature_names().to_vec(),
        customer_features: customer_json,
        item_features: item_json,
        model,
    };
    let json = serde_json::to_string(&file)
        .map_err(|e| invalid("model", format!("cannot write the model file: {e}")))?;
    let back: ModelFile = serde_json::from_str(&json)
        .map_err(|e| invalid("model", format!("the model file does not read back: {e}")))?;
    // The model file must read back to the very same scores.
    let reread = back.model.predict_proba(eval.features().view())?;
    let drift = reread
        .iter()
        .zip(&probabilities)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    if back.model.n_trees() != file.model.n_trees() || drift > 0.0 {
        return Err(invalid(
            "model",
            format!(
                "the model file does not read back to the same model (scores move by {drift:e})"
            ),
        ));
    }
    Location::parse(&args.model)?.put(Bytes::from(json)).await?;
    let mut report = String::new();
    let _ = writeln!(report, "# berserkr model report\n");
    let _ = writeln!(
        report,
        "- data: {} ({} transactions), {} ({} cancellations)",
        args.transactions,
        transactions.num_rows(),
        args.cancellations,
        cancellations.num_rows()
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
        train.len(),
        y.len(),
        valid_y.len(),
        eval.len(),
        file.feature_names.len()
    );
    let _ = writeln!(
        report,
        "- model: gradient-boosted trees, {} trees\n",
        file.model.n_trees()
    );
    report.push_str(&metrics_table(&scored));
    let _ = writeln!(
        report,
        "\nTimes: load {:.2} s, features {:.2} s, train {:.2} s, evaluate {:.2} s; peak memory {:.0} MB.",
        loaded.as_secs_f64(),
        features_time.as_secs_f64(),
        train_time.as_secs_f64(),
        eval_time.as_secs_f64(),
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
