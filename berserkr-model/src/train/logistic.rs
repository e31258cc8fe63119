//! Logistic regression on standardised features, fitted by linfa-logistic.

use linfa::ParamGuard;
use linfa::traits::Fit;
use ndarray::{Array1, ArrayView2};
use serde::{Deserialize, Serialize};

use super::{
    ClassWeight, Classifier, Model, Standardizer, Trainer, TrainingData, check_class_weight,
    check_columns, corrupt, invalid, predict_rows, sigmoid, upstream,
};
use crate::error::{Error, Result};

pub(super) const NAME: &str = "logistic_regression";

/// Checked hyperparameters of [`LogisticRegression`].
///
/// Made by [`LogisticRegressionParams::check`]; the getters return the
/// values documented there.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionValidParams {
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
    class_weight: ClassWeight,
}

/// Unchecked hyperparameters of [`LogisticRegression`].
///
/// | Name | Default | Purpose | Range |
/// | --- | --- | --- | --- |
/// | `alpha` | 1 | L2 penalty `α/2 ‖w‖²` added to the summed log loss (scikit-learn's `1 / C`); the intercept is not penalised | `>= 0`, finite |
/// | `max_iterations` | 100 | L-BFGS iterations at most | `>= 1` |
/// | `gradient_tolerance` | 1e-4 | L-BFGS stops when the gradient norm falls below it | `> 0`, finite |
/// | `class_weight` | [`ClassWeight::Unit`] | weight of the positive class, applied as `ln(weight)` on the intercept | see [`ClassWeight`] |
///
/// The loss is a sum over rows, not a mean, so `alpha` weighs less as rows
/// are added, as scikit-learn's `C` does.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegressionParams(LogisticRegressionValidParams);

impl Default for LogisticRegressionParams {
    fn default() -> Self {
        Self::new()
    }
}

impl LogisticRegressionParams {
    /// The defaults of the table above.
    pub fn new() -> Self {
        Self(LogisticRegressionValidParams {
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
            class_weight: ClassWeight::Unit,
        })
    }

    /// L2 penalty on the coefficients (default 1).
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.0.alpha = alpha;
        self
    }

    /// L-BFGS iterations at most (default 100).
    pub fn with_max_iterations(mut self, max_iterations: u64) -> Self {
        self.0.max_iterations = max_iterations;
        self
    }

    /// Gradient norm at which L-BFGS stops (default 1e-4).
    pub fn with_gradient_tolerance(mut self, gradient_tolerance: f64) -> Self {
        self.0.gradient_tolerance = gradient_tolerance;
        self
    }

    /// Weight of the positive class (default [`ClassWeight::Unit`]).
    pub fn with_class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.0.class_weight = class_weight;
        self
    }

    /// Check every value once, returning the parameters that can be fitted.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) naming
    /// the first value out of its range.
    pub fn check(self) -> Result<LogisticRegressionValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Check every value once without consuming the parameters.
    ///
    /// # Errors
    ///
    /// As [`check`](Self::check).
    pub fn check_ref(&self) -> Result<&LogisticRegressionValidParams> {
        let p = &self.0;
        if !(p.alpha.is_finite() && p.alpha >= 0.0) {
            return Err(invalid(
                "alpha",
                format!("must be finite and >= 0, got {}", p.alpha),
            ));
        }
        if p.max_iterations == 0 {
            return Err(invalid("max_iterations", "must be at least 1"));
        }
        if !(p.gradient_tolerance.is_finite() && p.gradient_tolerance > 0.0) {
            return Err(invalid(
                "gradient_tolerance",
                format!("must be finite and above 0, got {}", p.gradient_tolerance),
            ));
        }
        check_class_weight(p.class_weight)?;
        Ok(p)
    }
}

impl LogisticRegressionValidParams {
    /// L2 penalty on the coefficients.
    pub fn alpha(&self) -> f64 {
        self.alpha
    }

    /// L-BFGS iterations at most.
    pub fn max_iterations(&self) -> u64 {
        self.max_iterations
    }

    /// Gradient norm at which L-BFGS stops.
    pub fn gradient_tolerance(&self) -> f64 {
        self.gradient_tolerance
    }

    /// Weight of the positive class.
    pub fn class_weight(&self) -> ClassWeight {
        self.class_weight
    }

    /// Standardise the features of `train` and fit a logistic regression on
    /// them with linfa-logistic.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for sample
    /// weights (linfa-logistic 0.8 takes none) or an infinite feature value;
    /// [`Error::Undefined`](crate::Error::Undefined) if the labels hold one
    /// class only, or for an error of the solver.
    pub fn fit(&self, train: &TrainingData<'_>) -> Result<LogisticRegression> {
        if train.weights().is_some() {
            return Err(invalid(
                "weights",
                "logistic regression takes no sample weights (linfa-logistic 0.8 has none); \
                 use a class weight, or another trainer",
            ));
        }
        let factor = train.positive_factor(self.class_weight)?;
        train.check_no_infinity(NAME)?;

        let standardizer = Standardizer::fit(train.x())?;
        let xs = standardizer.transform(train.x())?;
        let y = Array1::from(train.y().to_vec());
        let dataset = linfa::DatasetBase::new(xs, y);
        let fitted = linfa_logistic::LogisticRegression::<f64>::new()
            .alpha(self.alpha)
            .max_iterations(self.max_iterations)
            .gradient_tolerance(self.gradient_tolerance)
            .check()
            .map_err(|e| upstream(NAME, e))?
            .fit(&dataset)
            .map_err(|e| upstream(NAME, e))?;

        // linfa-logistic models the probability of its `pos` class, which
        // is the more frequent label, not necessarily `true`.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let coefficients = fitted.params().iter().map(|w| sign * w).collect();
        let intercept = sign * fitted.intercept() + factor.ln();
        Ok(LogisticRegression {
            feature_names: train.feature_names().to_vec(),
            standardizer,
            coefficients,
            intercept,
        })
    }
}

impl Trainer for LogisticRegressionValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn train(&self, train: &TrainingData<'_>, _: Option<&TrainingData<'_>>) -> Result<Model> {
        self.fit(train).map(Model::from)
    }
}

/// A fitted logistic regression: `p = 1 / (1 + exp(−(b + Σ wⱼ zⱼ)))` of the
/// standardised features `zⱼ` (a missing value standardised to 0).
///
/// Made by [`LogisticRegressionValidParams::fit`]. It stores its
/// [`Standardizer`], coefficients and intercept as plain numbers, not
/// linfa's model, so that a model file does not depend on linfa's
/// serialisation.
///
/// # Example
///
/// ```
/// use berserkr_model::train::{Classifier, LogisticRegression, TrainingData};
/// use ndarray::Array2;
///
/// let x = Array2::from_shape_fn((200, 1), |(i, _)| i as f64);
/// let y: Vec<bool> = (0..200).map(|i| (i * 7919) % 200 < i).collect();
/// let names = vec!["days_since_last_order".to_string()];
/// let model = LogisticRegression::params()
///     .check()?
///     .fit(&TrainingData::new(x.view(), &y, &names)?)?;
/// assert!(model.coefficients()[0] > 0.0);
/// let p = model.predict_proba(x.view())?;
/// assert!(p[0] < 0.2 && p[199] > 0.8);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "LogisticRegressionParts")]
pub struct LogisticRegression {
    feature_names: Vec<String>,
    standardizer: Standardizer,
    #[serde(with = "super::float_text::many")]
    coefficients: Vec<f64>,
    #[serde(with = "super::float_text::one")]
    intercept: f64,
}

/// [`LogisticRegression`] as read, checked before use.
#[derive(Deserialize)]
struct LogisticRegressionParts {
    feature_names: Vec<String>,
    standardizer: Standardizer,
    #[serde(with = "super::float_text::many")]
    coefficients: Vec<f64>,
    #[serde(with = "super::float_text::one")]
    intercept: f64,
}

impl TryFrom<LogisticRegressionParts> for LogisticRegression {
    type Error = Error;

    fn try_from(p: LogisticRegressionParts) -> Result<Self> {
        let model = Self {
            feature_names: p.feature_names,
            standardizer: p.standardizer,
            coefficients: p.coefficients,
            intercept: p.intercept,
        };
        model.validate()?;
        Ok(model)
    }
}

impl LogisticRegression {
    /// The default hyperparameters, to set and check.
    pub fn params() -> LogisticRegressionParams {
        LogisticRegressionParams::new()
    }

    /// The coefficient of each standardised feature.
    pub fn coefficients(&self) -> &[f64] {
        &self.coefficients
    }

    /// The intercept, class weight included.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// The standardisation applied before the coefficients.
    pub fn standardizer(&self) -> &Standardizer {
        &self.standardizer
    }

    /// The log-odds of the positive class for each row of `x`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) if `x` has
    /// another number of columns than the model has features.
    pub fn decision_function(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_columns(x, self.coefficients.len())?;
        Ok(predict_rows(x, |row| self.log_odds(row.iter().copied())))
    }

    fn log_odds(&self, row: impl Iterator<Item = f64>) -> f64 {
        let mut z = self.intercept;
        for (j, (v, w)) in row.zip(&self.coefficients).enumerate() {
            z += w * self.standardizer.standardize(j, v);
        }
        z
    }

    pub(super) fn validate(&self) -> Result<()> {
        let p = self.feature_names.len();
        if self.coefficients.len() != p {
            return Err(corrupt(
                "coefficients",
                format!("{} coefficients for {p} features", self.coefficients.len()),
            ));
        }
        if !self.intercept.is_finite() || self.coefficients.iter().any(|w| !w.is_finite()) {
            return Err(corrupt(
                "coefficients",
                "coefficients and intercept must be finite",
            ));
        }
        self.standardizer.validate(p)
    }
}

impl Classifier for LogisticRegression {
    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_columns(x, self.coefficients.len())?;
        Ok(predict_rows(x, |row| {
            sigmoid(self.log_odds(row.iter().copied()))
        }))
    }
}
