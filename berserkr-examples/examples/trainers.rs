//! Every trainer of `berserkr-model` on the same matrices: the training,
//! validation and evaluation rows that `berserkr pipeline
//! --export-matrices DIR` writes (the model issue's protocol on whatever
//! data the pipeline read), with training time, scoring throughput, peak
//! memory and every metric on the evaluation cutoff.
//!
//! Peak memory is the process's while fitting and predicting, the
//! matrices it loaded included (Linux); run one trainer per process for
//! the cleanest figure:
//!
//! ```sh
//! cargo run --release -p berserkr-examples -- pipeline --input ../shared/data/online-retail/by-day/ --export-matrices /tmp/matrices
//! for t in logistic tree forest boosted; do
//!     cargo run --release -p berserkr-examples --example trainers -- /tmp/matrices $t
//! done
//! ```
//!
//! The training rows keep every positive and a share of the negatives,
//! weighted back (`weight`). The trees and the boosted trees take the
//! weights; logistic regression (linfa-logistic) takes none, so it gets
//! the equivalent class weight instead. The decision tree and the forest
//! keep their balanced class weights (they rank better with them) and are
//! calibrated (isotonic) on the validation rows; the time to fit counts
//! the calibration.

use std::time::Instant;

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::{cast, concat_batches};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use berserkr_examples::pipeline::peak_rss_bytes;
use berserkr_io::parquet::ReaderBuilder;
use berserkr_io::store::Location;
use berserkr_model::calibration::CalibrationMethod;
use berserkr_model::gbdt::GbdtParams;
use berserkr_model::metrics;
use berserkr_model::score::Scorer;
use berserkr_model::train::{
    ClassWeight, DecisionTree, LogisticRegression, RandomForest, Trainer, TrainingData,
};
use futures::TryStreamExt;
use ndarray::Array2;

/// One exported split.
struct Split {
    x: Array2<f64>,
    labels: Vec<bool>,
    weights: Vec<f64>,
    customers: Vec<i64>,
    names: Vec<String>,
}

const META: [&str; 5] = ["CustomerID", "StockCode", "cutoff", "label", "weight"];

async fn read(dir: &str, name: &str) -> Result<Split, Box<dyn std::error::Error>> {
    let location = Location::parse(dir)?.join(name);
    let stream = ReaderBuilder::new()
        .open(location.store().clone(), location.path())
        .await?;
    let schema = stream.schema();
    let batches: Vec<RecordBatch> = stream.try_collect().await?;
    let table = concat_batches(&schema, &batches)?;
    let names: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .filter(|n| !META.contains(&n.as_str()))
        .collect();
    let rows = table.num_rows();
    let mut x = Array2::zeros((rows, names.len()));
    for (j, name) in names.iter().enumerate() {
        let column = table.column_by_name(name).ok_or("a feature column")?;
        let column = cast(column, &DataType::Float64)?;
        for (i, v) in column.as_primitive::<Float64Type>().iter().enumerate() {
            x[[i, j]] = v.unwrap_or(f64::NAN);
        }
    }
    let column = |name: &str| table.column_by_name(name).ok_or(format!("{name} in {dir}"));
    Ok(Split {
        x,
        labels: column("label")?
            .as_boolean()
            .iter()
            .map(|l| l == Some(true))
            .collect(),
        weights: column("weight")?
            .as_primitive::<Float64Type>()
            .values()
            .to_vec(),
        customers: column("CustomerID")?
            .as_primitive::<Int64Type>()
            .values()
            .to_vec(),
        names,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .ok_or("usage: trainers DIR [logistic|tree|forest|boosted]")?;
    let only = args.next();
    let train = read(&dir, "train.parquet").await?;
    let valid = read(&dir, "valid.parquet").await?;
    let eval = read(&dir, "eval.parquet").await?;
    eprintln!(
        "train {} rows, validation {}, evaluation {}; {} features",
        train.labels.len(),
        valid.labels.len(),
        eval.labels.len(),
        train.names.len()
    );
    // The kept negatives weigh 1 / rate; a positive weight of `rate` on
    // unweighted rows is the same loss.
    let negative_weight = train
        .labels
        .iter()
        .zip(&train.weights)
        .filter(|(l, _)| !**l)
        .map(|(_, w)| *w)
        .fold(1.0, f64::max);

    let trainers: Vec<(&str, Box<dyn Trainer>)> = vec![
        (
            "logistic",
            Box::new(
                LogisticRegression::params()
                    .with_class_weight(ClassWeight::Positive(1.0 / negative_weight))
                    .check()?,
            ),
        ),
        (
            "tree",
            Box::new(
                DecisionTree::params()
                    .with_max_depth(Some(10))
                    .with_min_weight_leaf(50.0)
                    .check()?,
            ),
        ),
        (
            "forest",
            Box::new(
                RandomForest::params()
                    .with_n_trees(50)
                    .with_max_depth(Some(12))
                    .with_feature_fraction(0.3)
                    .with_min_weight_leaf(50.0)
                    .with_seed(42)
                    .check()?,
            ),
        ),
        (
            "boosted",
            Box::new(
                // The pipeline's settings.
                GbdtParams::new()
                    .with_n_trees(1000)
                    .with_learning_rate(0.05)
                    .with_num_leaves(15)
                    .with_bagging_fraction(0.5)
                    .with_early_stopping_rounds(Some(20))
                    .with_seed(42)
                    .check()?,
            ),
        ),
    ];
    println!(
        "| trainer | fit s | scoring pairs/s | peak MB | AUC | AP | log loss | Brier | P@10 | NDCG@10 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for (name, trainer) in &trainers {
        if only.as_deref().is_some_and(|o| o != *name) {
            continue;
        }
        let weighted = *name != "logistic";
        let mut data = TrainingData::new(train.x.view(), &train.labels, &train.names)?;
        if weighted {
            data = data.with_weights(&train.weights)?;
        }
        // The held-out rows are sampled as the training rows are, and
        // weighted back the same way.
        let validation = TrainingData::new(valid.x.view(), &valid.labels, &valid.names)?
            .with_weights(&valid.weights)?;
        // Linux resets the peak resident set on "5" (ignored elsewhere), so
        // that the peak read after predicting is that of this trainer, the
        // matrices already loaded included.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let started = Instant::now();
        let model = trainer.train(&data, Some(&validation))?;
        let mut scorer = Scorer::new(model);
        if matches!(*name, "tree" | "forest") {
            // Balanced class weights (the trees' default) rank better but
            // lean towards buying; an isotonic fit on the held-out rows
            // makes the probabilities likelihoods again.
            scorer = scorer.calibrate(
                CalibrationMethod::Isotonic,
                valid.x.view(),
                &valid.names,
                &valid.labels,
                Some(&valid.weights),
            )?;
        }
        let fit = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let p = scorer.predict_proba(eval.x.view(), &eval.names)?;
        let predict = started.elapsed().as_secs_f64();
        let p = p.to_vec();
        let m = metrics::evaluate(&eval.customers, &p, &eval.labels, &[10], 10)?;
        let at10 = m.at_k.iter().find(|r| r.k == 10).ok_or("P@10")?;
        println!(
            "| {} | {fit:.1} | {:.0} | {:.0} | {:.4} | {:.4} | {:.4} | {:.5} | {:.4} | {:.4} |",
            scorer.model().trainer(),
            eval.labels.len() as f64 / predict,
            peak_rss_bytes() as f64 / 1e6,
            m.roc_auc,
            m.average_precision,
            m.log_loss,
            m.brier_score,
            at10.precision,
            at10.ndcg,
        );
    }
    Ok(())
}
