//! Trainers behind one trait: logistic regression, a decision tree, a random
//! forest and gradient-boosted trees, each learning the probability that a
//! customer buys an item from a matrix of features.
//!
//! Every trainer follows linfa: its hyperparameters are set on an unchecked
//! `XParams` with consuming `with_*` setters, checked once into an
//! `XValidParams` (the first value out of range is an
//! [`Error::InvalidParameter`] naming it), and fitted into a model apart from
//! its parameters. The fitted models implement [`Classifier`]; the checked
//! parameters implement [`Trainer`], which fits any of them into a
//! [`Model`], the one type a [`Scorer`](crate::score::Scorer) holds and a
//! model file stores.
//!
//! | Trainer | Parameters | Fitted | Built on |
//! |---|---|---|---|
//! | logistic regression | [`LogisticRegressionParams`] | [`LogisticRegression`] | `linfa-logistic` on [standardised](Standardizer) features |
//! | decision tree | [`DecisionTreeParams`] | [`DecisionTree`] | `linfa-trees` |
//! | random forest | [`RandomForestParams`] | [`RandomForest`] | `linfa-trees`, bagged here |
//! | boosted trees | [`GbdtParams`](crate::gbdt::GbdtParams) | [`BoostedTrees`] | [`crate::gbdt`] |
//!
//! # Data
//!
//! [`TrainingData`] is a view of rows by features (`f64`, NaN for a missing
//! value), one `bool` label a row (`true` = bought), the name of each
//! feature, and optional sample weights. The fitted model keeps the names:
//! a [`Scorer`](crate::score::Scorer) uses them to find its features in later
//! data, whatever their order.
//!
//! Missing values are handled by each model as it can: logistic regression
//! replaces them by the training mean (0 once standardised); the trees by a
//! value below every training value of the feature, so that a split can
//! send them apart; boosted trees learn a direction for them at every split.
//! Infinite values are refused by the trainers built on linfa.
//!
//! # Class weights
//!
//! [`ClassWeight`] weighs the positive rows in the loss, on top of the
//! sample weights: the decision tree and the forest weigh the rows of their
//! splits and leaves with it (linfa-trees takes sample weights), boosted
//! trees their gradients. linfa-logistic takes no weights, so logistic
//! regression moves its intercept by `ln(weight)` instead, which is what
//! weighting does to a well-specified logistic model. With class weights the
//! probabilities lean towards the positive class; a
//! [`Calibration`](crate::calibration::Calibration) fitted on held-out rows
//! makes them likelihoods again.
//!
//! # Parallelism and determinism
//!
//! Prediction runs in parallel over chunks of rows with rayon, as do the
//! trees of a forest and the histograms of boosted trees. Every model is the
//! same for the same data and seed, whatever the number of threads.
//!
//! # Basic usage
//!
//! ```
//! use berserkr_model::train::{Classifier, DecisionTree, LogisticRegression, RandomForest, Trainer, TrainingData};
//! use berserkr_model::gbdt::GbdtParams;
//! use ndarray::Array2;
//!
//! // The label is set when the first feature is above the second.
//! let x = Array2::from_shape_fn((400, 2), |(i, j)| ((i * (3 + 4 * j)) % 101) as f64);
//! let y: Vec<bool> = x.rows().into_iter().map(|r| r[0] > r[1]).collect();
//! let names = vec!["recency".to_string(), "frequency".to_string()];
//! let data = TrainingData::new(x.view(), &y, &names)?;
//!
//! let trainers: Vec<Box<dyn Trainer>> = vec![
//!     Box::new(LogisticRegression::params().check()?),
//!     Box::new(DecisionTree::params().with_max_depth(Some(6)).check()?),
//!     Box::new(RandomForest::params().with_n_trees(20).check()?),
//!     Box::new(GbdtParams::new().with_n_trees(30).with_min_data_in_leaf(5).check()?),
//! ];
//! for trainer in &trainers {
//!     let model = trainer.train(&data, None)?;
//!     assert_eq!(model.trainer(), trainer.name());
//!     assert_eq!(model.feature_names(), &names[..]);
//!     let p = model.predict_proba(x.view())?;
//!     // Row 1 is (3, 7): not bought; row 30 is (90, 7): bought.
//!     assert!(p[1] < 0.5 && p[30] > 0.5, "{}: {} {}", trainer.name(), p[1], p[30]);
//! }
//! # Ok::<(), berserkr_model::Error>(())
//! ```

mod boosted;
pub(crate) mod float_text;
mod logistic;
mod standardize;
mod tree;

use std::collections::HashSet;
use std::fmt;

use ndarray::{Array1, ArrayView1, ArrayView2};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::gbdt::Samples;

pub use crate::gbdt::ClassWeight;
pub use boosted::BoostedTrees;
pub use logistic::{LogisticRegression, LogisticRegressionParams, LogisticRegressionValidParams};
pub use standardize::Standardizer;
pub use tree::{
    DecisionTree, DecisionTreeParams, DecisionTreeValidParams, RandomForest, RandomForestParams,
    RandomForestValidParams, SplitQuality,
};

/// Rows per parallel task in prediction. Each row's value depends on that
/// row only, so the chunking does not change the result.
const ROW_CHUNK: usize = 1024;

/// Rows to fit on or to validate with: features, labels, feature names and
/// optional sample weights.
///
/// Features are rows by columns, NaN standing for a missing value; column
/// `j` is the feature `feature_names[j]`.
#[derive(Debug, Clone, Copy)]
pub struct TrainingData<'a> {
    samples: Samples<'a>,
    feature_names: &'a [String],
}

impl<'a> TrainingData<'a> {
    /// Features `x` (one row per sample, one column per name of
    /// `feature_names`) and their labels `y`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if `x` and `y` differ in rows or `x` and
    /// `feature_names` in columns; [`Error::InvalidParameter`] if a feature
    /// name repeats.
    pub fn new(x: ArrayView2<'a, f64>, y: &'a [bool], feature_names: &'a [String]) -> Result<Self> {
        let samples = Samples::new(x, y)?;
        if x.ncols() != feature_names.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} columns of features but {} feature names",
                x.ncols(),
                feature_names.len()
            )));
        }
        let mut seen = HashSet::with_capacity(feature_names.len());
        if let Some(name) = feature_names.iter().find(|n| !seen.insert(n.as_str())) {
            return Err(Error::InvalidParameter {
                name: "feature_names",
                reason: format!("feature {name:?} appears more than once"),
            });
        }
        Ok(Self {
            samples,
            feature_names,
        })
    }

    /// Weight of each row in the loss (default: 1 for every row).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if there is not one weight per row,
    /// [`Error::InvalidParameter`] if a weight is negative or not finite.
    pub fn with_weights(mut self, weights: &'a [f64]) -> Result<Self> {
        self.samples = self.samples.with_weights(weights)?;
        Ok(self)
    }

    /// The features, rows by columns.
    pub fn x(&self) -> ArrayView2<'a, f64> {
        self.samples.x()
    }

    /// The labels, one per row.
    pub fn y(&self) -> &'a [bool] {
        self.samples.y()
    }

    /// The name of each column of [`x`](Self::x).
    pub fn feature_names(&self) -> &'a [String] {
        self.feature_names
    }

    /// The sample weights, if any.
    pub fn weights(&self) -> Option<&'a [f64]> {
        self.samples.weights()
    }

    /// The rows as the boosted trees take them.
    pub(crate) fn samples(&self) -> Samples<'a> {
        self.samples
    }

    /// Rows in the set.
    pub fn n_rows(&self) -> usize {
        self.samples.n_rows()
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    fn weight(&self, row: usize) -> f64 {
        self.weights().map_or(1.0, |w| w[row])
    }

    /// The summed sample weight of the negative and the positive rows.
    fn class_totals(&self) -> (f64, f64) {
        let (mut neg, mut pos) = (0.0, 0.0);
        for (i, &y) in self.y().iter().enumerate() {
            if y {
                pos += self.weight(i);
            } else {
                neg += self.weight(i);
            }
        }
        (neg, pos)
    }

    /// What the positive rows are multiplied by under `class_weight`.
    ///
    /// [`Error::Undefined`] unless both classes have weight.
    fn positive_factor(&self, class_weight: ClassWeight) -> Result<f64> {
        let (neg, pos) = self.class_totals();
        if !(pos > 0.0 && neg > 0.0) {
            return Err(Error::Undefined(format!(
                "the training labels need both classes, with weight: positives weigh {pos}, negatives {neg}"
            )));
        }
        Ok(match class_weight {
            ClassWeight::Positive(w) => w,
            ClassWeight::Balanced => neg / pos,
            ClassWeight::Unit => 1.0,
        })
    }

    /// Each row's sample weight, scaled to a mean of 1 over the rows of
    /// positive weight, times its class weight: without sample weights a
    /// negative row weighs 1 and a positive row the class weight.
    fn row_weights(&self, class_weight: ClassWeight) -> Result<Vec<f64>> {
        let factor = self.positive_factor(class_weight)?;
        let (sum, weighted) = (0..self.n_rows())
            .map(|i| self.weight(i))
            .filter(|&w| w > 0.0)
            .fold((0.0, 0_usize), |(s, n), w| (s + w, n + 1));
        let mean = sum / weighted as f64;
        Ok((0..self.n_rows())
            .map(|i| self.weight(i) / mean * if self.y()[i] { factor } else { 1.0 })
            .collect())
    }

    /// [`Error::InvalidParameter`] naming the first infinite value.
    fn check_no_infinity(&self, trainer: &str) -> Result<()> {
        let found = self
            .x()
            .rows()
            .into_iter()
            .enumerate()
            .find_map(|(i, row)| row.iter().position(|v| v.is_infinite()).map(|j| (i, j)));
        match found {
            None => Ok(()),
            Some((row, col)) => Err(Error::InvalidParameter {
                name: "x",
                reason: format!(
                    "{trainer} takes no infinite value, found {} in row {row}, feature {:?}",
                    self.x()[[row, col]],
                    self.feature_names[col]
                ),
            }),
        }
    }
}

/// Something that fits a [`Model`] on [`TrainingData`]: the checked
/// parameters of each trainer.
///
/// A trait object (`Box<dyn Trainer>`) can stand for any of them, so that
/// trainers are compared on the same data in one loop.
pub trait Trainer: fmt::Debug + Send + Sync {
    /// The trainer's name, as model files write it: `logistic_regression`,
    /// `decision_tree`, `random_forest` or `boosted_trees`.
    fn name(&self) -> &'static str;

    /// Fit on `train`. `validation`, rows held out from `train`, is used by
    /// the trainers that stop early (boosted trees) and ignored by the
    /// others.
    ///
    /// # Errors
    ///
    /// Those of the trainer's own `fit`; [`Error::Undefined`] if the
    /// training labels (by weight) hold one class only.
    fn train(
        &self,
        train: &TrainingData<'_>,
        validation: Option<&TrainingData<'_>>,
    ) -> Result<Model>;
}

/// A fitted binary classifier: the probability of the positive class for
/// each row of a feature matrix.
pub trait Classifier {
    /// The features the model takes, in the order of the columns it
    /// expects.
    fn feature_names(&self) -> &[String];

    /// The probability of the positive class for each row of `x` (rows by
    /// [`feature_names`](Self::feature_names), NaN for missing), computed in
    /// parallel over chunks of rows.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if `x` has another number of columns than
    /// the model has features.
    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>>;
}

/// A fitted model of any trainer.
///
/// What [`Trainer::train`] returns, a [`Scorer`](crate::score::Scorer)
/// holds and a model file stores.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Model {
    /// A fitted [`LogisticRegression`].
    LogisticRegression(LogisticRegression),
    /// A fitted [`DecisionTree`].
    DecisionTree(DecisionTree),
    /// A fitted [`RandomForest`].
    RandomForest(RandomForest),
    /// Fitted [`BoostedTrees`].
    BoostedTrees(BoostedTrees),
}

impl Model {
    /// The name of the trainer that made the model (see
    /// [`Trainer::name`]).
    pub fn trainer(&self) -> &'static str {
        match self {
            Self::LogisticRegression(_) => logistic::NAME,
            Self::DecisionTree(_) => tree::TREE_NAME,
            Self::RandomForest(_) => tree::FOREST_NAME,
            Self::BoostedTrees(_) => boosted::NAME,
        }
    }

    fn classifier(&self) -> &dyn Classifier {
        match self {
            Self::LogisticRegression(m) => m,
            Self::DecisionTree(m) => m,
            Self::RandomForest(m) => m,
            Self::BoostedTrees(m) => m,
        }
    }

    /// Check the inner consistency of a model read from a file, so that a
    /// damaged file is an error and not a panic at prediction.
    pub(crate) fn validate(&self) -> Result<()> {
        match self {
            Self::LogisticRegression(m) => m.validate(),
            Self::DecisionTree(m) => m.validate(),
            Self::RandomForest(m) => m.validate(),
            Self::BoostedTrees(m) => m.validate(),
        }
    }
}

impl Classifier for Model {
    fn feature_names(&self) -> &[String] {
        self.classifier().feature_names()
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        self.classifier().predict_proba(x)
    }
}

impl From<LogisticRegression> for Model {
    fn from(m: LogisticRegression) -> Self {
        Self::LogisticRegression(m)
    }
}

impl From<DecisionTree> for Model {
    fn from(m: DecisionTree) -> Self {
        Self::DecisionTree(m)
    }
}

impl From<RandomForest> for Model {
    fn from(m: RandomForest) -> Self {
        Self::RandomForest(m)
    }
}

impl From<BoostedTrees> for Model {
    fn from(m: BoostedTrees) -> Self {
        Self::BoostedTrees(m)
    }
}

/// [`Error::ShapeMismatch`] unless `x` has `expected` columns.
fn check_columns(x: ArrayView2<'_, f64>, expected: usize) -> Result<()> {
    if x.ncols() == expected {
        Ok(())
    } else {
        Err(Error::ShapeMismatch(format!(
            "the model takes {expected} features, got {}",
            x.ncols()
        )))
    }
}

/// `f` of every row of `x`, in parallel over chunks of rows.
fn predict_rows(
    x: ArrayView2<'_, f64>,
    f: impl Fn(ArrayView1<'_, f64>) -> f64 + Sync,
) -> Array1<f64> {
    let mut out = vec![0.0; x.nrows()];
    out.par_chunks_mut(ROW_CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            for (i, o) in chunk.iter_mut().enumerate() {
                *o = f(x.row(c * ROW_CHUNK + i));
            }
        });
    Array1::from_vec(out)
}

/// An error of a library a trainer is built on, with the trainer's name.
///
/// The crate's error type has no variant that keeps such a source yet, so
/// the message is kept.
fn upstream(trainer: &str, e: impl std::error::Error) -> Error {
    Error::Undefined(format!("{trainer}: {e}"))
}

/// [`Error::InvalidParameter`] for a damaged or hand-edited model.
fn corrupt(what: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name: what,
        reason: reason.into(),
    }
}

/// [`Error::InvalidParameter`] for a hyperparameter out of range.
fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

/// The positive class weight must be finite and above 0.
fn check_class_weight(class_weight: ClassWeight) -> Result<()> {
    match class_weight {
        ClassWeight::Positive(w) if !(w.is_finite() && w > 0.0) => Err(invalid(
            "class_weight",
            format!("the positive weight must be finite and above 0, got {w}"),
        )),
        _ => Ok(()),
    }
}

/// The logistic function.
fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn training_data_checks_shapes_and_names() {
        let x = array![[1.0, 2.0], [3.0, 4.0]];
        let names = vec!["a".to_string(), "b".to_string()];
        assert!(TrainingData::new(x.view(), &[true], &names).is_err());
        assert!(TrainingData::new(x.view(), &[true, false], &names[..1]).is_err());
        let twice = vec!["a".to_string(), "a".to_string()];
        assert!(matches!(
            TrainingData::new(x.view(), &[true, false], &twice),
            Err(Error::InvalidParameter {
                name: "feature_names",
                ..
            })
        ));
        let data = TrainingData::new(x.view(), &[true, false], &names).unwrap();
        assert!(data.with_weights(&[1.0]).is_err());
        assert!(data.with_weights(&[1.0, -1.0]).is_err());
        assert_eq!(data.with_weights(&[1.0, 2.0]).unwrap().weight(1), 2.0);
    }

    #[test]
    fn row_weights_scale_sample_weights_then_classes() {
        let x = array![[1.0], [2.0], [3.0], [4.0]];
        let names = vec!["a".to_string()];
        let y = [true, false, false, false];
        let data = TrainingData::new(x.view(), &y, &names).unwrap();
        let w = data.row_weights(ClassWeight::Balanced).unwrap();
        // Balanced: the positive counts 3, each negative 1.
        assert_eq!(w, vec![3.0, 1.0, 1.0, 1.0]);
        // Sample weights: scaled to a mean of 1 over the rows of positive
        // weight, then the class weight (2 negatives by weight against 1).
        let data = data.with_weights(&[2.0, 2.0, 2.0, 0.0]).unwrap();
        assert_eq!(
            data.row_weights(ClassWeight::Balanced).unwrap(),
            vec![2.0, 1.0, 1.0, 0.0]
        );
        let one_class = TrainingData::new(x.view(), &[false; 4], &names).unwrap();
        assert!(matches!(
            one_class.row_weights(ClassWeight::Unit),
            Err(Error::Undefined(_))
        ));
    }
}
