//! The whole purchase-likelihood pipeline, from raw daily exports (or the
//! synthetic default) to evaluated, scored likelihoods.
//!
//! Stages, each timed in the [`PipelineReport`]:
//!
//! 1. **load**: read and clean the transactions ([`crate::data::load`]);
//! 2. **features**: the problem's candidates, labels and features at each
//!    training cutoff and the evaluation cutoff
//!    ([`berserkr_model::problem`]; DFS definitions made once, on the data
//!    as of the evaluation cutoff, and used at every cutoff);
//! 3. **train**: gradient-boosted trees ([`berserkr_model::gbdt`]) with
//!    early stopping on held-out customers (or a validation cutoff),
//!    negatives subsampled (and weighted back) to keep training fast;
//! 4. **evaluate**: every metric of [`berserkr_model::metrics`] for the
//!    model and both baselines ([`berserkr_model::baselines`]) on the
//!    evaluation cutoff;
//! 5. **score**: each customer's top items as of the evaluation cutoff.
//!
//! The protocol is the model issue's: evaluation cutoff 2011-11-09 with a
//! 30-day horizon, training cutoffs 2011-08-10, 2011-09-09 and 2011-10-10
//! (every label window ends by the evaluation cutoff). The synthetic
//! default spans the same dates as the real data.
//!
//! ```no_run
//! use berserkr_examples::data::Input;
//! use berserkr_examples::pipeline::Pipeline;
//!
//! # let runtime = tokio::runtime::Runtime::new()?;
//! # runtime.block_on(async {
//! let report = Pipeline::builder()
//!     .with_input(Input::Synthetic { rows: 100_000, seed: 42 })
//!     .build()
//!     .run()
//!     .await?;
//! println!("{report}");
//! # Ok::<(), berserkr_examples::Error>(())
//! # })?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    ArrayRef, AsArray, Float64Array, Int64Array, RecordBatch, StringArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Int64Type, Schema};
use berserkr_features::retail::retail_entityset;
use berserkr_io::clean::CleanReport;
use berserkr_model::baselines;
use berserkr_model::gbdt::{Gbdt, GbdtParams, Samples};
use berserkr_model::metrics::{self, Metrics};
use berserkr_model::problem::{Examples, Problem, ProblemBuilder};
use chrono::NaiveDate;
use ndarray::Axis;

use crate::data::{Data, Input, load};
use crate::error::{Error, Result};

/// The protocol's dates, as `YYYY-MM-DD`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protocol {
    /// Cutoffs whose examples train the model.
    pub training: Vec<String>,
    /// The cutoff whose examples stop training early; `None`: one customer
    /// in eight of the training examples is held out for it instead.
    pub validation: Option<String>,
    /// The cutoff every metric is reported on.
    pub evaluation: String,
    /// Days after a cutoff in which a purchase is a positive label.
    pub horizon_days: u32,
}

impl Default for Protocol {
    fn default() -> Self {
        Self {
            training: vec![
                "2011-08-10".into(),
                "2011-09-09".into(),
                "2011-10-10".into(),
            ],
            validation: None,
            evaluation: "2011-11-09".into(),
            horizon_days: 30,
        }
    }
}

/// Options of a pipeline run.
#[derive(Debug, Clone)]
pub struct PipelineBuilder {
    input: Input,
    protocol: Protocol,
    negative_rate: f64,
    top_n: usize,
    seed: u64,
    quiet: bool,
    trees: usize,
    early_stopping_rounds: Option<usize>,
}

impl PipelineBuilder {
    /// Where the transactions come from (default: 300,000 synthetic rows).
    pub fn with_input(mut self, input: Input) -> Self {
        self.input = input;
        self
    }

    /// The cutoffs and horizon.
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The share of negative training examples kept (default 0.25); kept
    /// negatives weigh `1 / rate`, so probabilities stay likelihoods.
    pub fn with_negative_rate(mut self, rate: f64) -> Self {
        self.negative_rate = rate;
        self
    }

    /// Items scored per customer (default 10).
    pub fn with_top_n(mut self, n: usize) -> Self {
        self.top_n = n;
        self
    }

    /// Seed of the subsampling and the trees (default 42).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The most trees to grow (default 1000).
    pub fn with_trees(mut self, trees: usize) -> Self {
        self.trees = trees;
        self
    }

    /// Stop when the held-out log loss has not improved for this many
    /// trees (default 50; `None`: grow every tree).
    pub fn with_early_stopping_rounds(mut self, rounds: Option<usize>) -> Self {
        self.early_stopping_rounds = rounds;
        self
    }

    /// No progress lines on standard error.
    pub fn with_quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// The pipeline.
    pub fn build(self) -> Pipeline {
        Pipeline { options: self }
    }
}

/// A configured pipeline; [`Pipeline::run`] runs it.
#[derive(Debug, Clone)]
pub struct Pipeline {
    options: PipelineBuilder,
}

/// What one model or baseline scored on the evaluation cutoff.
#[derive(Debug)]
pub struct Scored {
    /// `gbdt`, `past purchase count`, `popularity`.
    pub name: String,
    /// Every metric.
    pub metrics: Metrics,
}

/// What a run did, for the summary it prints.
#[derive(Debug)]
pub struct PipelineReport {
    /// Where the data came from.
    pub input: String,
    /// Objects (or synthetic days) read.
    pub objects: u64,
    /// Rows read and dropped, by rule.
    pub clean_report: CleanReport,
    /// Malformed rows skipped while reading.
    pub malformed_rows: u64,
    /// Columns of the example matrix.
    pub features: usize,
    /// Training rows (before subsampling), validation rows, evaluation rows.
    pub rows: (usize, usize, usize),
    /// Training rows after subsampling negatives.
    pub training_rows_used: usize,
    /// Trees kept after early stopping.
    pub trees: usize,
    /// Metrics of the model and the baselines on the evaluation cutoff.
    pub scored: Vec<Scored>,
    /// Each customer's top items: CustomerID, StockCode, probability, rank.
    pub top: RecordBatch,
    /// The model.
    pub model: Gbdt,
    /// The feature names, in the model's column order.
    pub feature_names: Vec<String>,
    /// Wall time of each stage.
    pub stages: Vec<(&'static str, Duration)>,
    /// The process's peak resident memory, in bytes (0 where unknown).
    pub peak_rss_bytes: u64,
}

impl PipelineReport {
    /// Total wall time.
    pub fn wall(&self) -> Duration {
        self.stages.iter().map(|(_, d)| *d).sum()
    }

    /// The metrics of `name`.
    pub fn metrics(&self, name: &str) -> Option<&Metrics> {
        self.scored
            .iter()
            .find(|s| s.name == name)
            .map(|s| &s.metrics)
    }

    /// The numbers as JSON (for the comparison scripts).
    pub fn to_json(&self) -> serde_json::Value {
        let metrics = |m: &Metrics| {
            let at10 = m.at_k.iter().find(|r| r.k == 10);
            serde_json::json!({
                "roc_auc": m.roc_auc,
                "average_precision": m.average_precision,
                "log_loss": m.log_loss,
                "brier": m.brier_score,
                "precision_at_10": at10.map(|r| r.precision),
                "recall_at_10": at10.map(|r| r.recall),
                "ndcg_at_10": at10.map(|r| r.ndcg),
            })
        };
        serde_json::json!({
            "input": self.input,
            "wall_seconds": self.wall().as_secs_f64(),
            "peak_rss_bytes": self.peak_rss_bytes,
            "stages": self.stages.iter().map(|(n, d)| (n.to_string(), d.as_secs_f64())).collect::<std::collections::BTreeMap<_, _>>(),
            "rows_read": self.clean_report.rows_read,
            "rows_kept": self.clean_report.rows_kept,
            "features": self.features,
            "training_rows": self.rows.0,
            "training_rows_used": self.training_rows_used,
            "evaluation_rows": self.rows.2,
            "trees": self.trees,
            "metrics": self.scored.first().map(|s| metrics(&s.metrics)),
            "baselines": self.scored.iter().skip(1).map(|s| (s.name.clone(), metrics(&s.metrics))).collect::<std::collections::BTreeMap<_, _>>(),
        })
    }
}

impl fmt::Display for PipelineReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "input: {} ({} objects)", self.input, self.objects)?;
        if self.malformed_rows > 0 {
            writeln!(f, "malformed rows skipped: {}", self.malformed_rows)?;
        }
        writeln!(f, "{}", self.clean_report)?;
        writeln!(
            f,
            "examples: {} training ({} used after subsampling negatives), {} validation, {} evaluation; {} features",
            self.rows.0, self.training_rows_used, self.rows.1, self.rows.2, self.features
        )?;
        writeln!(f, "model: gradient-boosted trees, {} trees", self.trees)?;
        writeln!(f)?;
        writeln!(
            f,
            "{:<22} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7}",
            "on the evaluation cutoff", "AUC", "AP", "P@10", "NDCG@10", "log loss", "Brier"
        )?;
        for s in &self.scored {
            let m = &s.metrics;
            let at10 = m.at_k.iter().find(|r| r.k == 10);
            writeln!(
                f,
                "{:<22} {:>7.4} {:>7.4} {:>7.4} {:>7.4} {:>8} {:>7}",
                s.name,
                m.roc_auc,
                m.average_precision,
                at10.map_or(f64::NAN, |r| r.precision),
                at10.map_or(f64::NAN, |r| r.ndcg),
                // A baseline's score is a rank, not a probability.
                if s.name == "gbdt" {
                    format!("{:.4}", m.log_loss)
                } else {
                    "-".into()
                },
                if s.name == "gbdt" {
                    format!("{:.4}", m.brier_score)
                } else {
                    "-".into()
                },
            )?;
        }
        writeln!(f)?;
        for (name, d) in &self.stages {
            writeln!(f, "{name:<10} {:>8.2} s", d.as_secs_f64())?;
        }
        writeln!(f, "{:<10} {:>8.2} s", "total", self.wall().as_secs_f64())?;
        write!(f, "peak memory {:.0} MB", self.peak_rss_bytes as f64 / 1e6)
    }
}

impl Pipeline {
    /// Default options: the synthetic default, the model issue's protocol.
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            input: Input::Synthetic {
                rows: 300_000,
                seed: 42,
            },
            protocol: Protocol::default(),
            negative_rate: 0.25,
            top_n: 10,
            seed: 42,
            quiet: false,
            trees: 1000,
            early_stopping_rounds: Some(50),
        }
    }

    fn say(&self, message: impl fmt::Display) {
        if !self.options.quiet {
            eprintln!("[berserkr] {message}");
        }
    }

    /// Runs every stage.
    pub async fn run(&self) -> Result<PipelineReport> {
        let options = &self.options;
        if !(options.negative_rate > 0.0 && options.negative_rate <= 1.0) {
            return Err(Error::InvalidOption {
                option: "negative_rate",
                reason: format!("{} is not in (0, 1]", options.negative_rate),
            });
        }
        let mut stages = Vec::new();

        let started = Instant::now();
        self.say(format!("loading {}", options.input));
        let data = load(&options.input).await?;
        stages.push(("load", started.elapsed()));
        self.say(format!(
            "{} rows read, {} kept",
            data.clean_report.rows_read, data.clean_report.rows_kept
        ));

        let started = Instant::now();
        let protocol = &options.protocol;
        let evaluation = cutoff("evaluation", &protocol.evaluation)?;
        let validation = protocol
            .validation
            .as_deref()
            .map(|d| cutoff("validation", d))
            .transpose()?;
        let training = protocol
            .training
            .iter()
            .map(|d| cutoff("training", d))
            .collect::<Result<Vec<_>>>()?;
        let problem = self.problem(&data, evaluation)?;
        let examples_at = |at: i64, what: &str| -> Result<Examples> {
            let examples = problem.examples(&data.transactions, &data.cancellations, at)?;
            self.say(format!("{what} examples: {} pairs", examples.len()));
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
        stages.push(("features", started.elapsed()));

        let started = Instant::now();
        let train_labels = labels_of(&train, "training")?;
        // Without a validation cutoff, whole customers are held out: the
        // same months as the training rows, none of the same people.
        let held_out = |row: usize| valid.is_none() && train.groups()[row].rem_euclid(8) == 0;
        let rows: Vec<usize> = (0..train.len()).filter(|&r| !held_out(r)).collect();
        let held: Vec<usize> = (0..train.len()).filter(|&r| held_out(r)).collect();
        let fit_labels: Vec<bool> = rows.iter().map(|&r| train_labels[r]).collect();
        let (kept, weights) = subsample(&fit_labels, options.negative_rate, options.seed);
        let kept: Vec<usize> = kept.iter().map(|&i| rows[i]).collect();
        let x = train.features().select(Axis(0), &kept);
        let y: Vec<bool> = kept.iter().map(|&i| train_labels[i]).collect();
        let (valid_x, valid_labels) = match &valid {
            Some(valid) => (
                valid.features().clone(),
                labels_of(valid, "validation")?.to_vec(),
            ),
            None => (
                train.features().select(Axis(0), &held),
                held.iter().map(|&r| train_labels[r]).collect(),
            ),
        };
        self.say(format!(
            "training on {} rows ({} positives) x {} features",
            y.len(),
            y.iter().filter(|&&l| l).count(),
            train.feature_names().len()
        ));
        let model = GbdtParams::new()
            .with_n_trees(options.trees)
            .with_learning_rate(0.05)
            .with_num_leaves(31)
            .with_early_stopping_rounds(options.early_stopping_rounds)
            .with_seed(options.seed)
            .check()?
            .fit_with_validation(
                &Samples::new(x.view(), &y)?.with_weights(&weights)?,
                &Samples::new(valid_x.view(), &valid_labels)?,
            )?;
        drop(x);
        let valid_rows = valid_labels.len();
        drop(valid_x);
        stages.push(("train", started.elapsed()));
        self.say(format!("{} trees", model.n_trees()));

        let started = Instant::now();
        let eval_labels = labels_of(&eval, "evaluation")?;
        let probabilities = model.predict_proba(eval.features().view())?;
        let probabilities = probabilities.to_vec();
        let groups = eval.groups();
        let mut scored = vec![Scored {
            name: "gbdt".into(),
            metrics: metrics::evaluate(groups, &probabilities, eval_labels, &[10], 10)?,
        }];
        for (name, scores) in [
            (
                "past purchase count",
                baselines::past_purchase_count(&eval, &data.transactions)?,
            ),
            (
                "popularity",
                baselines::popularity(&eval, &data.transactions)?,
            ),
        ] {
            // The ranking metrics only; probabilities need a model.
            let squashed: Vec<f64> = scores.iter().map(|s| s / (1.0 + s.abs())).collect();
            scored.push(Scored {
                name: name.into(),
                metrics: metrics::evaluate(groups, &squashed, eval_labels, &[10], 10)?,
            });
        }
        stages.push(("evaluate", started.elapsed()));

        let started = Instant::now();
        let top = top_per_customer(eval.pairs(), &probabilities, options.top_n)?;
        stages.push(("score", started.elapsed()));

        Ok(PipelineReport {
            input: options.input.to_string(),
            objects: data.objects,
            clean_report: data.clean_report,
            malformed_rows: data.malformed_rows,
            features: train.feature_names().len(),
            rows: (train.len(), valid_rows, eval.len()),
            training_rows_used: y.len(),
            trees: model.n_trees(),
            scored,
            top,
            feature_names: train.feature_names().to_vec(),
            model,
            stages,
            peak_rss_bytes: peak_rss_bytes(),
        })
    }

    /// The problem, with DFS definitions made once on the data seen at the
    /// evaluation cutoff, so that every cutoff has the same columns.
    fn problem(&self, data: &Data, evaluation: i64) -> Result<Problem> {
        let horizon = self.options.protocol.horizon_days;
        let draft = ProblemBuilder::new().with_horizon_days(horizon).build()?;
        let seen = before(&data.transactions, evaluation)?;
        let es = retail_entityset(&seen)?;
        let mut builder = ProblemBuilder::new().with_horizon_days(horizon);
        if let Some((customers, items)) = draft.feature_sets(&es)? {
            builder = builder
                .with_customer_features(customers)
                .with_item_features(items);
        }
        Ok(builder.build()?)
    }
}

/// The labels of `examples`, or an error naming the cutoff (`what`) when
/// the data ends before its label window.
pub fn labels_of<'a>(examples: &'a Examples, what: &str) -> Result<&'a [bool]> {
    examples.labels().ok_or_else(|| Error::InvalidOption {
        option: "protocol",
        reason: format!("no data after the {what} cutoff: its labels are unknown"),
    })
}

/// `YYYY-MM-DD` as nanoseconds at midnight UTC; an error names the option
/// (`what`) otherwise.
pub fn cutoff(what: &'static str, date: &str) -> Result<i64> {
    NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(|t| t.and_utc().timestamp_nanos_opt())
        .ok_or_else(|| Error::InvalidOption {
            option: what,
            reason: format!("{date:?} is not a date (YYYY-MM-DD)"),
        })
}

/// The rows of `transactions` at or before `at`.
pub fn before(transactions: &RecordBatch, at: i64) -> Result<RecordBatch> {
    let times = arrow::compute::cast(
        transactions
            .column_by_name("InvoiceDate")
            .ok_or_else(|| Error::InvalidOption {
                option: "transactions",
                reason: "no InvoiceDate column".into(),
            })?,
        &DataType::Timestamp(arrow::datatypes::TimeUnit::Nanosecond, None),
    )?;
    let times = times.as_primitive::<arrow::datatypes::TimestampNanosecondType>();
    let keep: arrow::array::BooleanArray = times.iter().map(|t| t.map(|t| t <= at)).collect();
    Ok(arrow::compute::filter_record_batch(transactions, &keep)?)
}

/// All positives and a seeded share of negatives; the weight of each kept
/// row (negatives weigh `1 / rate`).
pub fn subsample(labels: &[bool], rate: f64, seed: u64) -> (Vec<usize>, Vec<f64>) {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        // splitmix64: a fixed, portable stream.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut kept = Vec::new();
    let mut weights = Vec::new();
    for (i, &label) in labels.iter().enumerate() {
        let draw = next();
        if label {
            kept.push(i);
            weights.push(1.0);
        } else if draw < rate {
            kept.push(i);
            weights.push(1.0 / rate);
        }
    }
    (kept, weights)
}

/// The `n` most likely items of each customer, ranked from 1.
pub fn top_per_customer(
    pairs: &RecordBatch,
    probabilities: &[f64],
    n: usize,
) -> Result<RecordBatch> {
    let customers = pairs
        .column_by_name("CustomerID")
        .map(|c| c.as_primitive::<Int64Type>().clone())
        .ok_or_else(|| Error::InvalidOption {
            option: "pairs",
            reason: "no CustomerID column".into(),
        })?;
    let items = arrow::compute::cast(
        pairs
            .column_by_name("StockCode")
            .ok_or_else(|| Error::InvalidOption {
                option: "pairs",
                reason: "no StockCode column".into(),
            })?,
        &DataType::Utf8,
    )?;
    let items = items.as_string::<i32>();
    let mut order: Vec<usize> = (0..pairs.num_rows()).collect();
    order.sort_by(|&a, &b| {
        customers
            .value(a)
            .cmp(&customers.value(b))
            .then(probabilities[b].total_cmp(&probabilities[a]))
            .then(items.value(a).cmp(items.value(b)))
    });
    let mut rows = Vec::new();
    let mut ranks = Vec::new();
    let mut rank = 0u32;
    for (i, &row) in order.iter().enumerate() {
        if i == 0 || customers.value(order[i - 1]) != customers.value(row) {
            rank = 0;
        }
        rank += 1;
        if rank as usize <= n {
            rows.push(row as u32);
            ranks.push(rank);
        }
    }
    let take = UInt32Array::from(rows);
    let schema = Arc::new(Schema::new(vec![
        Field::new("CustomerID", DataType::Int64, false),
        Field::new("StockCode", DataType::Utf8, false),
        Field::new("probability", DataType::Float64, false),
        Field::new("rank", DataType::UInt32, false),
    ]));
    let probability: ArrayRef = Arc::new(Float64Array::from(
        take.values()
            .iter()
            .map(|&r| probabilities[r as usize])
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<ArrayRef> = vec![
        arrow::compute::take(&Int64Array::from(customers.values().to_vec()), &take, None)?,
        arrow::compute::take(&StringArray::from(items.clone()), &take, None)?,
        probability,
        Arc::new(UInt32Array::from(ranks)),
    ];
    Ok(RecordBatch::try_new(schema, columns)?)
}

/// The process's peak resident set (Linux `VmHWM`), 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kib * 1024)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsampling_keeps_positives_and_weighs_negatives_back() {
        let labels: Vec<bool> = (0..10_000).map(|i| i % 20 == 0).collect();
        let (kept, weights) = subsample(&labels, 0.25, 1);
        let positives = kept.iter().filter(|&&i| labels[i]).count();
        assert_eq!(positives, 500);
        let negatives = kept.len() - positives;
        assert!((2_000..2_750).contains(&negatives), "{negatives}");
        let weighted: f64 = kept
            .iter()
            .zip(&weights)
            .filter(|(i, _)| !labels[**i])
            .map(|(_, w)| w)
            .sum();
        assert!((weighted - 9_500.0).abs() < 1_000.0, "{weighted}");
    }

    #[test]
    fn bad_dates_are_named() {
        let error = cutoff("evaluation", "2011-13-01").unwrap_err().to_string();
        assert!(error.contains("2011-13-01"), "{error}");
    }
}
