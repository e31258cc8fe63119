//! Train once, save the model with its feature definitions, load it later
//! and score: the library calls behind `berserkr train` and `berserkr score`.
//!
//! On the synthetic default: the training set of three cutoffs, boosted
//! trees stopped early on held-out customers, an isotonic calibration
//! fitted on other held-out customers, a model file, and the evaluation
//! cutoff scored by the loaded model into each customer's top items.
//!
//! ```sh
//! cargo run --release -p berserkr-examples --example train_and_score
//! ```

use berserkr_examples::data::{Input, load};
use berserkr_examples::pipeline::{before, cutoff};
use berserkr_features::retail::retail_entityset;
use berserkr_model::calibration::CalibrationMethod;
use berserkr_model::gbdt::GbdtParams;
use berserkr_model::metrics;
use berserkr_model::problem::ProblemBuilder;
use berserkr_model::score::{Scorer, top_n};
use berserkr_model::train::{BoostedTrees, TrainingData};
use ndarray::Axis;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let data = load(&Input::Synthetic {
        rows: 200_000,
        seed: 7,
    })
    .await?;
    let (transactions, returns) = (&data.transactions, &data.cancellations);
    println!("{} clean transactions", transactions.num_rows());

    let evaluation = cutoff("evaluation", "2011-11-09")?;
    let training = ["2011-08-10", "2011-09-09", "2011-10-10"]
        .iter()
        .map(|date| cutoff("training", date))
        .collect::<Result<Vec<_>, _>>()?;

    // The deep feature definitions are made once, on what is known at the
    // evaluation cutoff, so that every cutoff (and the scoring later) has
    // the same columns.
    let es = retail_entityset(&before(transactions, evaluation)?)?;
    let draft = ProblemBuilder::new().build()?;
    let (customer_features, item_features) = draft
        .feature_sets(&es)?
        .ok_or("deep features are on by default")?;
    let definitions = customer_features.to_json(&es)?;
    let problem = ProblemBuilder::new()
        .with_customer_features(customer_features)
        .with_item_features(item_features)
        .build()?;

    let train = problem.training_set(transactions, returns, &training, evaluation)?;
    let labels = train.labels().ok_or("training cutoffs have labels")?;
    // Customers are split: most fit the trees, one in eight stops them
    // early, one in eight calibrates the probabilities.
    let split = |keep: fn(i64) -> bool| -> Vec<usize> {
        (0..train.len())
            .filter(|&r| keep(train.groups()[r].rem_euclid(8)))
            .collect()
    };
    let (fit_rows, stop_rows, calibration_rows) = (
        split(|part| part >= 2),
        split(|part| part == 0),
        split(|part| part == 1),
    );
    let rows_of = |rows: &[usize]| {
        let x = train.features().select(Axis(0), rows);
        let y: Vec<bool> = rows.iter().map(|&r| labels[r]).collect();
        (x, y)
    };
    let names = train.feature_names();
    let (fit_x, fit_y) = rows_of(&fit_rows);
    let (stop_x, stop_y) = rows_of(&stop_rows);
    let (calibration_x, calibration_y) = rows_of(&calibration_rows);
    println!(
        "training on {} pairs x {} features ({} to stop early, {} to calibrate)",
        fit_y.len(),
        names.len(),
        stop_y.len(),
        calibration_y.len()
    );
    let params = GbdtParams::new()
        .with_learning_rate(0.1)
        .with_early_stopping_rounds(Some(30))
        .check()?;
    let model = BoostedTrees::fit(
        &params,
        &TrainingData::new(fit_x.view(), &fit_y, names)?,
        Some(&TrainingData::new(stop_x.view(), &stop_y, names)?),
    )?;
    println!("{} trees", model.gbdt().n_trees());
    let scorer = Scorer::new(model)
        .calibrate(
            CalibrationMethod::Isotonic,
            calibration_x.view(),
            names,
            &calibration_y,
            None,
        )?
        .with_definitions(definitions);

    let path = std::env::temp_dir().join("berserkr-train-and-score.model.json");
    scorer.save_to_path(&path)?;
    println!("saved {}", path.display());

    // Later, elsewhere: load the file and score the evaluation cutoff.
    let scorer = Scorer::load_from_path(&path)?;
    let eval = problem.examples(transactions, returns, evaluation)?;
    let scored = scorer.score(eval.pairs(), eval.features().view(), eval.feature_names())?;
    let probabilities: Vec<f64> = scored
        .column_by_name("probability")
        .ok_or("scores have probabilities")?
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()
        .ok_or("probabilities are Float64")?
        .values()
        .to_vec();
    let eval_labels = eval.labels().ok_or("the evaluation cutoff has labels")?;
    let report = metrics::evaluate(eval.groups(), &probabilities, eval_labels, &[10], 10)?;
    println!(
        "\non the evaluation cutoff ({} pairs):\n{report}",
        eval.len()
    );

    let top = top_n(&scored, 3)?;
    println!("each customer's three most likely items (the first rows):");
    let first = top.slice(0, top.num_rows().min(9));
    println!("{}", arrow::util::pretty::pretty_format_batches(&[first])?);
    Ok(())
}
