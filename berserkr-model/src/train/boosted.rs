//! Gradient-boosted trees ([`crate::gbdt`]) behind the [`Trainer`] trait.

use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{Classifier, Model, Trainer, TrainingData, check_columns};
use crate::error::{Error, Result};
use crate::gbdt::{Gbdt, GbdtValidParams};

pub(super) const NAME: &str = "boosted_trees";

/// Fitted gradient-boosted trees and the names of their features.
///
/// Made by [`BoostedTrees::fit`], or by [`Trainer::train`] on checked
/// [`GbdtParams`](crate::gbdt::GbdtParams), whose table documents the
/// hyperparameters. With a validation set the log loss is tracked after
/// each round, and early stopping, if set, keeps the trees up to the best
/// round.
///
/// # Example
///
/// ```
/// use berserkr_model::gbdt::GbdtParams;
/// use berserkr_model::train::{BoostedTrees, Classifier, TrainingData};
/// use ndarray::{Array2, Axis, Slice};
///
/// let x = Array2::from_shape_fn((1_000, 2), |(i, j)| ((i * (13 + 6 * j)) % 100) as f64);
/// // A rule, and one label in ten flipped: noise that later rounds overfit.
/// let y: Vec<bool> = x
///     .rows()
///     .into_iter()
///     .enumerate()
///     .map(|(i, r)| (r[0] > 60.0 || r[1] < 10.0) != ((i / 100 + i) % 10 == 0))
///     .collect();
/// let names: Vec<String> = ["a", "b"].map(String::from).to_vec();
/// let (train, valid) = (x.slice_axis(Axis(0), Slice::from(..800)), x.slice_axis(Axis(0), Slice::from(800..)));
/// let params = GbdtParams::new()
///     .with_n_trees(500)
///     .with_learning_rate(0.3)
///     .with_early_stopping_rounds(Some(10))
///     .check()?;
/// let model = BoostedTrees::fit(
///     &params,
///     &TrainingData::new(train, &y[..800], &names)?,
///     Some(&TrainingData::new(valid, &y[800..], &names)?),
/// )?;
/// assert!(model.gbdt().n_trees() < 500);
/// assert!(model.predict_proba(valid)?[0] >= 0.0);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BoostedTreesParts")]
pub struct BoostedTrees {
    feature_names: Vec<String>,
    gbdt: Gbdt,
}

/// [`BoostedTrees`] as read, checked before use.
#[derive(Deserialize)]
struct BoostedTreesParts {
    feature_names: Vec<String>,
    gbdt: Gbdt,
}

impl TryFrom<BoostedTreesParts> for BoostedTrees {
    type Error = Error;

    fn try_from(p: BoostedTreesParts) -> Result<Self> {
        let model = Self {
            feature_names: p.feature_names,
            gbdt: p.gbdt,
        };
        model.validate()?;
        Ok(model)
    }
}

impl BoostedTrees {
    /// Fit boosted trees with `params` on `train`, tracking the log loss on
    /// `validation` if given (and stopping early on it, if `params` says
    /// so).
    ///
    /// # Errors
    ///
    /// Those of [`GbdtValidParams::fit`] and
    /// [`GbdtValidParams::fit_with_validation`] (early stopping without a
    /// validation set, a single class); [`Error::ShapeMismatch`] if
    /// `validation` has other features than `train`.
    pub fn fit(
        params: &GbdtValidParams,
        train: &TrainingData<'_>,
        validation: Option<&TrainingData<'_>>,
    ) -> Result<Self> {
        let gbdt = match validation {
            None => params.fit(&train.samples())?,
            Some(valid) => {
                if valid.feature_names() != train.feature_names() {
                    return Err(Error::ShapeMismatch(format!(
                        "the validation set has features {:?}, the training set {:?}",
                        valid.feature_names(),
                        train.feature_names()
                    )));
                }
                params.fit_with_validation(&train.samples(), &valid.samples())?
            }
        };
        Ok(Self {
            feature_names: train.feature_names().to_vec(),
            gbdt,
        })
    }

    /// The boosted trees themselves: rounds kept, validation loss, feature
    /// importance.
    pub fn gbdt(&self) -> &Gbdt {
        &self.gbdt
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.gbdt.n_features() != self.feature_names.len() {
            return Err(super::corrupt(
                "feature_names",
                format!(
                    "{} feature names for boosted trees of {} features",
                    self.feature_names.len(),
                    self.gbdt.n_features()
                ),
            ));
        }
        self.gbdt.validate()
    }
}

impl Trainer for GbdtValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn train(
        &self,
        train: &TrainingData<'_>,
        validation: Option<&TrainingData<'_>>,
    ) -> Result<Model> {
        BoostedTrees::fit(self, train, validation).map(Model::from)
    }
}

impl Classifier for BoostedTrees {
    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_columns(x, self.feature_names.len())?;
        self.gbdt.predict_proba(x)
    }
}
