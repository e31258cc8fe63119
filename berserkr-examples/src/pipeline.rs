//! The whole purchase-likelihood pipeline, from raw daily exports (or the
//! synthetic default) to evaluated, scored likelihoods.
//!
//! Stages, each timed in the [`PipelineReport`]:
//!
//! 1. **load**: read and clean the transactions ([`crate::data::load`]);
//! 2. **features**: the problem's candidates and labels at each training
//!    cutoff ([`berserkr_model::problem`]; DFS definitions made once, on
//!    the data as of the evaluation cutoff, and used at every cutoff), and
//!    the features of the rows that train: every positive and a share of
//!    the negatives (weighted back), picked before any feature is computed
//!    so that the rows left out cost nothing; one customer in eight is held
//!    out (sampled alike) to stop the training early;
//! 3. **train**: gradient-boosted trees ([`berserkr_model::gbdt`]; 15
//!    leaves, learning rate 0.05, a fresh half of the rows per tree) with
//!    early stopping on the held-out customers (or a validation cutoff),
//!    then Platt scaling of their probabilities fitted on those held-out
//!    rows;
//! 4. **evaluate**: the evaluation cutoff's features, assembled and scored
//!    (calibrated) in chunks of whole customers so that its matrix is
//!    never held whole,
//!    and every metric of [`berserkr_model::metrics`] for the model and
//!    both baselines ([`berserkr_model::baselines`]);
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
use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
    UInt32Array,
};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use berserkr_features::retail::retail_entityset;
use berserkr_io::clean::CleanReport;
use berserkr_io::parquet::WriterBuilder;
use berserkr_io::store::Location;
use berserkr_model::calibration::{Calibration, CalibrationMethod};
use berserkr_model::gbdt::{Gbdt, GbdtParams, Samples};
use berserkr_model::metrics::{self, Metrics};
use berserkr_model::problem::{Examples, Problem, ProblemBuilder};
use chrono::NaiveDate;
use ndarray::Array2;
use rayon::prelude::*;

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
    export_matrices: Option<String>,
    max_training_rows: usize,
    learning_rate: f64,
    feature_fraction: f64,
    bagging_fraction: f64,
    goss: Option<(f64, f64)>,
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

    /// The share of negative training examples kept (default 0.1); kept
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
    /// trees (default 20; `None`: grow every tree).
    pub fn with_early_stopping_rounds(mut self, rounds: Option<usize>) -> Self {
        self.early_stopping_rounds = rounds;
        self
    }

    /// Also write the training, validation and evaluation matrices as
    /// Parquet (`train.parquet`, `valid.parquet`, `eval.parquet`: one
    /// `Float64` column per feature, then `CustomerID`, `label` and
    /// `weight`) and the model's fit and predict times and metrics
    /// (`berserkr.json`) to this path or URL, for
    /// `benches/compare/gbdt.py` to train LightGBM on the same rows.
    pub fn with_export_matrices(mut self, location: Option<String>) -> Self {
        self.export_matrices = location;
        self
    }

    /// At most about this many training rows (default 2,000,000, split
    /// evenly over the training cutoffs): on data so large that the
    /// negative rate would keep more, positives and negatives are both
    /// sampled down alike, and weighted back.
    pub fn with_max_training_rows(mut self, rows: usize) -> Self {
        self.max_training_rows = rows;
        self
    }

    /// The boosted trees' learning rate (default 0.05).
    pub fn with_learning_rate(mut self, rate: f64) -> Self {
        self.learning_rate = rate;
        self
    }

    /// The share of features each tree may split on, drawn per tree
    /// (default 1: all).
    pub fn with_feature_fraction(mut self, fraction: f64) -> Self {
        self.feature_fraction = fraction;
        self
    }

    /// The share of training rows each tree is grown on, drawn per tree
    /// (default 0.5; 1: all). Ignored with [`with_goss`](Self::with_goss),
    /// which samples the rows its own way.
    ///
    /// Half the rows per tree is both faster and, on the real data, better
    /// on the held-out rows: log loss 0.09392 against 0.09428 with every
    /// row (LightGBM on the same matrices, 15 leaves;
    /// `benches/compare/tuning.py`).
    pub fn with_bagging_fraction(mut self, fraction: f64) -> Self {
        self.bagging_fraction = fraction;
        self
    }

    /// Gradient-based one-side sampling of the training rows,
    /// `(top_rate, other_rate)` as LightGBM's (default `None`: every row
    /// for every tree); see [`GbdtParams::with_goss`].
    pub fn with_goss(mut self, goss: Option<(f64, f64)>) -> Self {
        self.goss = goss;
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
    /// Platt scaling of the model's probabilities, fitted on the held-out
    /// rows: what turns them into likelihoods of the evaluation cutoff's
    /// scores and of `top`.
    pub calibration: Calibration,
    /// The feature names, in the model's column order.
    pub feature_names: Vec<String>,
    /// The customer and item feature definitions
    /// (`FeatureSet::to_json`), which a model file keeps to score later
    /// data with the same columns.
    pub definitions: Option<(String, String)>,
    /// Wall time of each stage.
    pub stages: Vec<(&'static str, Duration)>,
    /// Wall time of fitting the model (binning included).
    pub fit_time: Duration,
    /// Wall time of predicting the evaluation rows.
    pub predict_time: Duration,
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

    /// Writes [`top`](Self::top) as Parquet to `location`; the number of
    /// rows written. The file appears whole or not at all.
    ///
    /// # Errors
    ///
    /// Those of the store and the Parquet writer.
    pub async fn write_top(&self, location: &Location) -> Result<u64> {
        let mut writer = WriterBuilder::new()
            .build(
                location.store().clone(),
                location.path().clone(),
                self.top.schema(),
            )
            .await?;
        writer.write(&self.top).await?;
        Ok(writer.finish().await?.rows)
    }

    /// The numbers as JSON (for the comparison scripts).
    pub fn to_json(&self) -> serde_json::Value {
        let metrics = metrics_json;
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
            "fit_seconds": self.fit_time.as_secs_f64(),
            "predict_seconds": self.predict_time.as_secs_f64(),
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
        if let Calibration::Platt(platt) = &self.calibration {
            writeln!(
                f,
                "calibration: Platt scaling on the held-out rows, a = {:.4}, b = {:.4}",
                platt.a(),
                platt.b()
            )?;
        }
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
            negative_rate: 0.1,
            top_n: 10,
            seed: 42,
            quiet: false,
            trees: 1000,
            early_stopping_rounds: Some(20),
            export_matrices: None,
            max_training_rows: 2_000_000,
            learning_rate: 0.05,
            feature_fraction: 1.0,
            bagging_fraction: 0.5,
            goss: None,
        }
    }

    fn say(&self, message: impl fmt::Display) {
        if !self.options.quiet {
            eprintln!("[berserkr] {message}");
        }
    }

    /// The options no stage can run with, before any work.
    fn check(&self) -> Result<()> {
        let options = &self.options;
        if !(options.negative_rate > 0.0 && options.negative_rate <= 1.0) {
            return Err(Error::InvalidOption {
                option: "negative_rate",
                reason: format!("{} is not in (0, 1]", options.negative_rate),
            });
        }
        if options.max_training_rows == 0 {
            return Err(Error::InvalidOption {
                option: "max_training_rows",
                reason: "a model needs at least one training row".into(),
            });
        }
        Ok(())
    }

    /// Runs every stage.
    pub async fn run(&self) -> Result<PipelineReport> {
        self.check()?;
        let started = Instant::now();
        self.say(format!("loading {}", self.options.input));
        let data = load(&self.options.input).await?;
        let load_time = started.elapsed();
        self.say(format!(
            "{} rows read, {} kept",
            data.clean_report.rows_read, data.clean_report.rows_kept
        ));
        self.run_on(data, load_time).await
    }

    /// Every stage after loading, on data already loaded and cleaned (what
    /// `berserkr train` reads from Parquet); `load_time` is reported as
    /// the load stage.
    pub async fn run_on(&self, data: Data, load_time: Duration) -> Result<PipelineReport> {
        self.check()?;
        let options = &self.options;
        let mut stages = vec![("load", load_time)];

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
        let (problem, definitions) = self.problem(&data, evaluation)?;
        let mut cutoffs = training.clone();
        cutoffs.extend(validation);
        cutoffs.push(evaluation);
        let mut each = problem.examples_each(&data.transactions, &data.cancellations, &cutoffs)?;
        let feature_names = each.feature_names().to_vec();
        let width = feature_names.len();
        let missing = |what: &str, date: &str| Error::InvalidOption {
            option: "protocol",
            reason: format!("no examples for the {what} cutoff {date}"),
        };
        let unlabelled = |what: &str, date: &str| Error::InvalidOption {
            option: "protocol",
            reason: format!("no data after the {what} cutoff {date}: its labels are unknown"),
        };
        // The rows that train (and, without a validation cutoff, stop) the
        // model are picked from each cutoff's candidates before their
        // features are computed, so that the negatives left out never take
        // memory.
        let per_cutoff = options.max_training_rows / protocol.training.len().max(1);
        let mut fit = Rows::default();
        let mut held = Rows::default();
        let mut training_rows = 0;
        for (i, date) in protocol.training.iter().enumerate() {
            let candidates = each
                .next_cutoff()
                .ok_or_else(|| missing("training", date))??;
            training_rows += candidates.len();
            let labels = candidates
                .labels()
                .ok_or_else(|| unlabelled("training", date))?;
            let customers = candidates.customers();
            // Without a validation cutoff, whole customers are held out:
            // the same months as the training rows, none of the same people.
            let held_out = |row: usize| validation.is_none() && customers[row].rem_euclid(8) == 0;
            let (fit_rows, held_rows): (Vec<usize>, Vec<usize>) =
                (0..candidates.len()).partition(|&r| !held_out(r));
            let sample = Sample::new(
                fit_rows.iter().map(|&r| labels[r]),
                options.negative_rate,
                per_cutoff,
            );
            let (kept, weights) = sample.draw(
                fit_rows.iter().map(|&r| labels[r]),
                options.seed.wrapping_add(i as u64),
            );
            let mut selected: Vec<usize> = kept.iter().map(|&k| fit_rows[k]).collect();
            // The held-out rows are sampled as the fitted ones, so that
            // their weighted loss is the loss on all of them.
            let (held_kept, held_weights) = sample.draw(
                held_rows.iter().map(|&r| labels[r]),
                options.seed.wrapping_add(1000 + i as u64),
            );
            selected.extend(held_kept.iter().map(|&k| held_rows[k]));
            let part = candidates.examples(&selected)?;
            let labels = labels_of(&part, "training")?;
            let fitted = weights.len();
            self.say(format!(
                "training examples at {date}: {} candidates; {fitted} fit and {} held out{}",
                candidates.len(),
                part.len() - fitted,
                sample.describe()
            ));
            fit.take(&part, labels, 0..fitted, weights);
            held.take(&part, labels, fitted..part.len(), held_weights);
        }
        let mut valid = match (&validation, &protocol.validation) {
            (Some(_), Some(date)) => {
                let part = each.next().ok_or_else(|| missing("validation", date))??;
                self.say(format!(
                    "validation examples at {date}: {} pairs",
                    part.len()
                ));
                let mut rows = Rows::default();
                let ones = vec![1.0; part.len()];
                rows.take(&part, labels_of(&part, "validation")?, 0..part.len(), ones);
                rows
            }
            _ => held,
        };
        stages.push(("features", started.elapsed()));

        let started = Instant::now();
        let x = fit.matrix(width)?;
        let valid_x = valid.matrix(width)?;
        self.say(format!(
            "training on {} rows ({} positives) x {width} features",
            fit.labels.len(),
            fit.labels.iter().filter(|&&l| l).count(),
        ));
        let mut params = GbdtParams::new()
            .with_n_trees(options.trees)
            .with_learning_rate(options.learning_rate)
            .with_feature_fraction(options.feature_fraction)
            .with_num_leaves(NUM_LEAVES)
            .with_early_stopping_rounds(options.early_stopping_rounds)
            .with_seed(options.seed);
        params = match options.goss {
            Some((top_rate, other_rate)) => params.with_goss(top_rate, other_rate),
            None => params.with_bagging_fraction(options.bagging_fraction),
        };
        let params = params.check()?;
        let model = params.fit_with_validation(
            &Samples::new(x.view(), &fit.labels)?.with_weights(&fit.weights)?,
            &Samples::new(valid_x.view(), &valid.labels)?.with_weights(&valid.weights)?,
        )?;
        let fit_time = started.elapsed();
        let export = match &options.export_matrices {
            Some(location) => {
                // Not timed: written for the comparison with LightGBM.
                let mut train =
                    MatrixWriter::create(location, "train.parquet", &feature_names).await?;
                train.write(&x, &fit).await?;
                train.finish().await?;
                let mut valid_file =
                    MatrixWriter::create(location, "valid.parquet", &feature_names).await?;
                valid_file.write(&valid_x, &valid).await?;
                valid_file.finish().await?;
                Some(MatrixWriter::create(location, "eval.parquet", &feature_names).await?)
            }
            None => None,
        };
        drop(x);
        // The weighted held-out rows stand for all of theirs, so the fitted
        // scaling is the one for every candidate.
        let held_out = model.predict_proba(valid_x.view())?.to_vec();
        let calibration = Calibration::fit(
            CalibrationMethod::Platt,
            &held_out,
            &valid.labels,
            Some(&valid.weights),
        )?;
        let valid_rows = valid.labels.len();
        drop(valid_x);
        stages.push(("train", fit_time));
        self.say(format!("{} trees", model.n_trees()));

        // The evaluation cutoff is assembled, scored and ranked in chunks
        // of whole customers, so that its matrix is never held whole.
        let started = Instant::now();
        let baselines = each.baselines();
        let candidates = each
            .next_cutoff()
            .ok_or_else(|| missing("evaluation", &protocol.evaluation))??;
        let eval_rows = candidates.len();
        let eval_labels = candidates
            .labels()
            .ok_or_else(|| unlabelled("evaluation", &protocol.evaluation))?
            .to_vec();
        let groups = candidates.customers();
        self.say(format!(
            "evaluation examples at {}: {eval_rows} pairs",
            protocol.evaluation
        ));
        let mut probabilities = Vec::with_capacity(eval_rows);
        let mut past_purchases = Vec::with_capacity(eval_rows);
        let mut popularity = Vec::with_capacity(eval_rows);
        let mut tops = Vec::new();
        let mut predict_time = Duration::ZERO;
        // The model's own probabilities, for the comparison with LightGBM.
        let mut raw_probabilities = Vec::new();
        let mut score_time = Duration::ZERO;
        let mut export = export;
        for rows in customer_chunks(&groups, EVAL_CHUNK_ROWS) {
            let rows: Vec<usize> = rows.collect();
            let part = candidates.examples(&rows)?;
            let predicting = Instant::now();
            let mut p = model.predict_proba(part.features().view())?.to_vec();
            predict_time += predicting.elapsed();
            if export.is_some() {
                raw_probabilities.extend_from_slice(&p);
            }
            calibration.calibrate_all(&mut p);
            past_purchases.extend(baselines.past_purchase_count(&part)?);
            popularity.extend(baselines.popularity(&part)?);
            let scoring = Instant::now();
            tops.push(top_per_customer(part.pairs(), &p, options.top_n)?);
            score_time += scoring.elapsed();
            if let Some(writer) = &mut export {
                let rows = Rows {
                    values: Vec::new(),
                    labels: rows.iter().map(|&r| eval_labels[r]).collect(),
                    weights: vec![1.0; rows.len()],
                    customers: part.groups().to_vec(),
                    pairs: vec![part.pairs().clone()],
                };
                writer.write(part.features(), &rows).await?;
            }
            probabilities.extend(p);
        }
        drop(candidates);
        drop(each);
        // The baselines get the ranking metrics only (probabilities need a
        // model); the three evaluations are independent, so they share the
        // cores.
        let squash =
            |scores: Vec<f64>| -> Vec<f64> { scores.iter().map(|s| s / (1.0 + s.abs())).collect() };
        let scored = [
            ("gbdt", probabilities),
            ("past purchase count", squash(past_purchases)),
            ("popularity", squash(popularity)),
        ]
        .into_par_iter()
        .map(|(name, scores)| {
            Ok(Scored {
                name: name.into(),
                metrics: metrics::evaluate(&groups, &scores, &eval_labels, &[10], 10)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        stages.push(("evaluate", started.elapsed().saturating_sub(score_time)));
        let started = Instant::now();
        let top = match tops.first() {
            Some(first) => arrow::compute::concat_batches(&first.schema(), &tops)?,
            None => RecordBatch::new_empty(top_schema()),
        };
        stages.push(("score", started.elapsed() + score_time));
        if let (Some(writer), Some(location)) = (export, &options.export_matrices) {
            writer.finish().await?;
            let summary = serde_json::json!({
                "fit_seconds": fit_time.as_secs_f64(),
                "predict_seconds": predict_time.as_secs_f64(),
                "trees": model.n_trees(),
                "threads": rayon::current_num_threads(),
                "params": {
                    "learning_rate": options.learning_rate,
                    "feature_fraction": options.feature_fraction,
                    "bagging_fraction": params.bagging_fraction(),
                    "goss": options.goss.map(|(top, other)| serde_json::json!({"top_rate": top, "other_rate": other})),
                    "num_leaves": NUM_LEAVES,
                    "max_bins": 255,
                    "min_data_in_leaf": 20,
                    "lambda_l2": 0.0,
                    "early_stopping_rounds": options.early_stopping_rounds.unwrap_or(0),
                    "max_trees": options.trees,
                },
                // The trainers are compared uncalibrated, as LightGBM's
                // model is; AUC, AP and the ranking do not change with it.
                "eval": metrics_json(&metrics::evaluate(&groups, &raw_probabilities, &eval_labels, &[10], 10)?),
                "eval_calibrated": metrics_json(&scored[0].metrics),
                "baselines": scored.iter().skip(1).map(|s| (s.name.clone(), metrics_json(&s.metrics))).collect::<std::collections::BTreeMap<_, _>>(),
                "eval_rows": eval_rows,
            });
            let path = Location::parse(location)?.join("berserkr.json");
            path.put(bytes::Bytes::from(summary.to_string())).await?;
            self.say(format!("matrices and berserkr.json written to {location}"));
        }

        Ok(PipelineReport {
            input: options.input.to_string(),
            objects: data.objects,
            clean_report: data.clean_report,
            malformed_rows: data.malformed_rows,
            features: feature_names.len(),
            rows: (training_rows, valid_rows, eval_rows),
            training_rows_used: fit.labels.len(),
            trees: model.n_trees(),
            scored,
            top,
            feature_names,
            definitions,
            model,
            calibration,
            fit_time,
            predict_time,
            stages,
            peak_rss_bytes: peak_rss_bytes(),
        })
    }

    /// The problem, with DFS definitions made once on the data seen at the
    /// evaluation cutoff, so that every cutoff has the same columns, and
    /// those definitions as JSON (customers', items').
    fn problem(&self, data: &Data, evaluation: i64) -> Result<(Problem, Option<(String, String)>)> {
        let horizon = self.options.protocol.horizon_days;
        let draft = ProblemBuilder::new().with_horizon_days(horizon).build()?;
        let seen = before(&data.transactions, evaluation)?;
        let es = retail_entityset(&seen)?;
        let mut builder = ProblemBuilder::new().with_horizon_days(horizon);
        let mut definitions = None;
        if let Some((customers, items)) = draft.feature_sets(&es)? {
            definitions = Some((customers.to_json(&es)?, items.to_json(&es)?));
            builder = builder
                .with_customer_features(customers)
                .with_item_features(items);
        }
        Ok((builder.build()?, definitions))
    }
}

/// The boosted trees' leaves per tree. 15 costs about two thirds of 31 per
/// tree. On the real data's matrices 31 leaves have the lower held-out log
/// loss (LightGBM, half the rows per tree: 0.09327 against 0.09392;
/// `benches/compare/tuning.py`) but the lower evaluation AP (0.2886
/// against 0.2963); 15 stays for its speed.
const NUM_LEAVES: usize = 15;

/// Rows taken from several cutoffs' examples, row-major.
#[derive(Debug, Default)]
struct Rows {
    values: Vec<f64>,
    labels: Vec<bool>,
    weights: Vec<f64>,
    customers: Vec<i64>,
    /// The rows' (customer, item, cutoff, label), for the export.
    pairs: Vec<RecordBatch>,
}

impl Rows {
    /// Appends `rows` of `examples` with their `labels` and `weights`.
    fn take(
        &mut self,
        examples: &Examples,
        labels: &[bool],
        rows: Range<usize>,
        weights: Vec<f64>,
    ) {
        let features = examples.features();
        self.pairs
            .push(examples.pairs().slice(rows.start, rows.len()));
        for row in rows {
            self.values.extend(features.row(row).iter());
            self.labels.push(labels[row]);
            self.customers.push(examples.groups()[row]);
        }
        self.weights.extend(weights);
    }

    /// The rows as a matrix of `width` columns; the values are given up.
    fn matrix(&mut self, width: usize) -> Result<Array2<f64>> {
        let values = std::mem::take(&mut self.values);
        let rows = self.labels.len();
        Array2::from_shape_vec((rows, width), values).map_err(|e| Error::InvalidOption {
            option: "protocol",
            reason: format!("the training rows do not make a {rows} x {width} matrix: {e}"),
        })
    }
}

/// A metric summary as JSON.
fn metrics_json(m: &Metrics) -> serde_json::Value {
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
}

/// A Parquet file of feature rows with their customers, labels and
/// weights, written in parts.
struct MatrixWriter {
    writer: berserkr_io::parquet::Writer,
    schema: SchemaRef,
}

impl MatrixWriter {
    /// Starts `location/name` with a `Float64` column per feature of
    /// `names`, then `CustomerID`, `StockCode`, `cutoff`, `label` and
    /// `weight`.
    async fn create(location: &str, name: &str, names: &[String]) -> Result<Self> {
        let mut fields: Vec<Field> = names
            .iter()
            .map(|n| Field::new(n, DataType::Float64, false))
            .collect();
        fields.push(Field::new("CustomerID", DataType::Int64, false));
        fields.push(Field::new("StockCode", DataType::Utf8, false));
        fields.push(Field::new(
            "cutoff",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            false,
        ));
        fields.push(Field::new("label", DataType::Boolean, false));
        fields.push(Field::new("weight", DataType::Float64, false));
        let schema = Arc::new(Schema::new(fields));
        let path = Location::parse(location)?.join(name);
        let writer = WriterBuilder::new()
            .build(path.store().clone(), path.path().clone(), schema.clone())
            .await?;
        Ok(Self { writer, schema })
    }

    /// Appends the rows of `x` with `rows`' customers, labels and weights.
    async fn write(&mut self, x: &Array2<f64>, rows: &Rows) -> Result<()> {
        let mut columns: Vec<ArrayRef> = x
            .columns()
            .into_iter()
            .map(|c| Arc::new(Float64Array::from_iter_values(c.iter().copied())) as ArrayRef)
            .collect();
        columns.push(Arc::new(Int64Array::from(rows.customers.clone())));
        for name in ["StockCode", "cutoff"] {
            let parts: Vec<&dyn Array> = rows
                .pairs
                .iter()
                .filter_map(|p| p.column_by_name(name).map(|c| c.as_ref()))
                .collect();
            columns.push(arrow::compute::concat(&parts)?);
        }
        columns.push(Arc::new(BooleanArray::from(rows.labels.clone())));
        columns.push(Arc::new(Float64Array::from(rows.weights.clone())));
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        self.writer.write(&batch).await?;
        Ok(())
    }

    /// Completes the file; until then it does not exist.
    async fn finish(self) -> Result<()> {
        self.writer.finish().await?;
        Ok(())
    }
}

/// Consecutive ranges of rows, each of whole customers (rows are ordered
/// by customer) and of at least `rows` rows but the last: the pieces in
/// which a cutoff's candidates are assembled and scored, so that its whole
/// matrix is never held.
pub fn customer_chunks(customers: &[i64], rows: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= customers.len() {
            return None;
        }
        let mut end = (start + rows.max(1)).min(customers.len());
        while end < customers.len() && customers[end] == customers[end - 1] {
            end += 1;
        }
        let range = start..end;
        start = end;
        Some(range)
    })
}

/// The rows of a cutoff assembled and scored at a time.
pub const EVAL_CHUNK_ROWS: usize = 131_072;

/// How the training rows of one cutoff are sampled: every positive and a
/// share of the negatives, both shares lowered alike when the rows kept
/// would pass the budget. A kept row weighs the inverse of its share, so
/// that probabilities stay likelihoods.
#[derive(Debug, Clone, Copy)]
struct Sample {
    positive_rate: f64,
    negative_rate: f64,
}

impl Sample {
    /// The shares for rows of `labels`, negatives kept at `negative_rate`,
    /// at most about `budget` rows kept in all.
    fn new(labels: impl Iterator<Item = bool>, negative_rate: f64, budget: usize) -> Self {
        let (mut positives, mut negatives) = (0.0, 0.0);
        for label in labels {
            if label {
                positives += 1.0;
            } else {
                negatives += 1.0;
            }
        }
        let expected: f64 = positives + negative_rate * negatives;
        let scale = if expected > budget as f64 {
            budget as f64 / expected
        } else {
            1.0
        };
        Self {
            positive_rate: scale,
            negative_rate: negative_rate * scale,
        }
    }

    /// The rows kept of `labels` and the weight of each, drawn from a
    /// seeded stream (one draw a row).
    fn draw(&self, labels: impl Iterator<Item = bool>, seed: u64) -> (Vec<usize>, Vec<f64>) {
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
        for (i, label) in labels.enumerate() {
            let draw = next();
            let rate = if label {
                self.positive_rate
            } else {
                self.negative_rate
            };
            if draw < rate {
                kept.push(i);
                weights.push(1.0 / rate);
            }
        }
        (kept, weights)
    }

    /// A note for the progress line when the budget lowered the shares.
    fn describe(&self) -> String {
        if self.positive_rate < 1.0 {
            format!(
                " (over the training budget: positives kept at {:.3}, negatives at {:.4})",
                self.positive_rate, self.negative_rate
            )
        } else {
            String::new()
        }
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
    let schema = top_schema();
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

/// The columns of [`top_per_customer`]'s batches.
fn top_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("CustomerID", DataType::Int64, false),
        Field::new("StockCode", DataType::Utf8, false),
        Field::new("probability", DataType::Float64, false),
        Field::new("rank", DataType::UInt32, false),
    ]))
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
        let (kept, weights) = Sample {
            positive_rate: 1.0,
            negative_rate: 0.25,
        }
        .draw(labels.iter().copied(), 1);
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
    fn chunks_hold_whole_customers() {
        let customers = [1, 1, 1, 2, 3, 3, 4, 4, 4, 4, 5];
        let chunks: Vec<Range<usize>> = customer_chunks(&customers, 2).collect();
        assert_eq!(chunks, [0..3, 3..6, 6..10, 10..11]);
        let one: Vec<Range<usize>> = customer_chunks(&customers, 100).collect();
        assert_eq!(one.len(), 1);
        assert_eq!(one[0], 0..11);
        assert_eq!(customer_chunks(&[], 10).count(), 0);
    }

    #[test]
    fn over_the_budget_both_classes_are_sampled_alike() {
        let labels: Vec<bool> = (0..100_000).map(|i| i % 10 == 0).collect();
        // 10,000 positives + 0.5 x 90,000 negatives = 55,000 expected, for
        // a budget of 11,000: both shares fifth.
        let sample = Sample::new(labels.iter().copied(), 0.5, 11_000);
        assert!((sample.positive_rate - 0.2).abs() < 1e-12);
        assert!((sample.negative_rate - 0.1).abs() < 1e-12);
        assert!(sample.describe().contains("budget"));
        let (kept, weights) = sample.draw(labels.iter().copied(), 3);
        assert!((10_000..12_000).contains(&kept.len()), "{}", kept.len());
        let weighed = |class: bool| -> f64 {
            kept.iter()
                .zip(&weights)
                .filter(|(i, _)| labels[**i] == class)
                .map(|(_, w)| w)
                .sum()
        };
        assert!((weighed(true) - 10_000.0).abs() < 1_000.0);
        assert!((weighed(false) - 90_000.0).abs() < 5_000.0);
        // Under the budget, nothing changes.
        let sample = Sample::new(labels.iter().copied(), 0.5, 1_000_000);
        assert_eq!(sample.positive_rate, 1.0);
        assert!(sample.describe().is_empty());
    }

    #[test]
    fn bad_dates_are_named() {
        let error = cutoff("evaluation", "2011-13-01").unwrap_err().to_string();
        assert!(error.contains("2011-13-01"), "{error}");
    }
}
