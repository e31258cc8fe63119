//! Calibration of scores into probabilities: Platt scaling and isotonic
//! regression, each fitted on held-out data and checked against
//! scikit-learn.
//!
//! A classifier's probabilities rank candidates well without meaning
//! likelihoods: boosted trees and forests are often over- or
//! under-confident, and class weights shift every probability towards the
//! weighted class. A calibration is a monotone map fitted on rows the model
//! did not train on, so that among the candidates given 0.2, about one in
//! five is bought.
//!
//! | Type | Map | scikit-learn equivalent |
//! |---|---|---|
//! | [`PlattScaling`] | `p = 1 / (1 + exp(-(a s + b)))` | `sklearn.calibration._sigmoid_calibration` (`CalibratedClassifierCV(method="sigmoid")`) |
//! | [`IsotonicCalibration`] | a non-decreasing step-and-ramp function | `IsotonicRegression(out_of_bounds="clip")` (`method="isotonic"`) |
//! | [`Calibration`] | either, applied to a model's probabilities | |
//!
//! [`PlattScaling`] and [`IsotonicCalibration`] map any score `s`;
//! [`Calibration`], the one a [`Scorer`](crate::score::Scorer) holds, takes
//! a model's probability and gives Platt scaling its log-odds (so that a
//! model already calibrated needs `a = 1, b = 0`) and isotonic regression the
//! probability itself.
//!
//! The tests in `tests/calibration.rs` compare both with scikit-learn 1.9.1
//! on the fixtures that `testdata/calibration/make_expected.py` writes:
//! Platt's `a`, `b` and probabilities to 1e-6 (scikit-learn stops its
//! L-BFGS-B at a gradient of 1e-6; the Newton iterations here go on to the
//! optimum), isotonic thresholds and probabilities to 1e-12.
//!
//! # Basic usage
//!
//! ```
//! use berserkr_model::calibration::{Calibration, CalibrationMethod, IsotonicCalibration};
//!
//! // Held-out probabilities of a model, and whether each candidate was bought.
//! let p = [0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9];
//! let bought = [false, false, true, false, true, false, true, true];
//!
//! let iso = IsotonicCalibration::fit(&p, &bought, None)?;
//! assert_eq!(iso.predict(0.15), 0.0);
//! assert_eq!(iso.predict(0.5), 0.5); // 0.3 to 0.7 pool to one half
//! assert_eq!(iso.predict(0.95), 1.0); // clipped to the last threshold
//!
//! let platt = Calibration::fit(CalibrationMethod::Platt, &p, &bought, None)?;
//! assert!(platt.calibrate(0.2) < platt.calibrate(0.8));
//! # Ok::<(), berserkr_model::Error>(())
//! ```

use std::cmp::Ordering;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Scores whose largest magnitude reaches this are divided by it before the
/// Platt fit, as scikit-learn's `max_abs_prediction_threshold` does; the
/// slope is scaled back after, so only the conditioning changes.
const PLATT_RESCALE_ABOVE: f64 = 30.0;

/// Newton iterations of the Platt fit at most; it converges in under ten.
const PLATT_MAX_ITERATIONS: usize = 100;

/// Added to the diagonal of the Platt Hessian (Lin, Lin and Weng 2007), so
/// that it stays invertible when every score is the same.
const PLATT_HESSIAN_RIDGE: f64 = 1e-12;

/// Scores closer than this are one score to the isotonic fit: numpy's
/// `finfo(float64).resolution`, the tolerance of scikit-learn's
/// `_make_unique`.
const ISOTONIC_TIE: f64 = 1e-15;

/// Probabilities are clipped to `[ε, 1 − ε]` before their log-odds are
/// taken for Platt scaling, scikit-learn's `_convert_to_logits` ε.
const LOG_ODDS_EPS: f64 = 1e-12;

/// Platt scaling: the sigmoid `p = 1 / (1 + exp(-(a s + b)))` of a score
/// `s`, fitted by maximum likelihood on held-out scores.
///
/// The fit follows scikit-learn's `_sigmoid_calibration`, itself Platt's
/// (2000) with the corrections of Lin, Lin and Weng (2007):
///
/// - the labels are smoothed into Platt's targets, `(N₊ + 1) / (N₊ + 2)` for
///   a positive and `1 / (N₋ + 2)` for a negative (`N` counting sample
///   weight), a prior that keeps `a` and `b` finite when the classes
///   separate, or when only one class is present;
/// - scores reaching 30 in magnitude are divided by their largest
///   magnitude first, the slope scaled back after;
/// - the weighted cross-entropy is minimised by Newton's method with a
///   backtracking line search, from `a = 0` and `b` = the log-odds of the
///   smoothed prior, to the optimum.
///
/// scikit-learn writes the map as `1 / (1 + exp(a' s + b'))`, so its
/// `a_`, `b_` are `-a`, `-b` here.
///
/// # Example
///
/// ```
/// use berserkr_model::calibration::PlattScaling;
///
/// let scores = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0];
/// let labels = [false, false, true, false, true, false, true, true];
/// let platt = PlattScaling::fit(&scores, &labels, None)?;
/// assert!(platt.a() > 0.0);
/// assert!(platt.predict(-2.0) < 0.5 && platt.predict(3.0) > 0.5);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "PlattParts")]
pub struct PlattScaling {
    #[serde(with = "crate::train::float_text::one")]
    a: f64,
    #[serde(with = "crate::train::float_text::one")]
    b: f64,
}

/// [`PlattScaling`] as read, checked by [`PlattScaling::new`].
#[derive(Deserialize)]
struct PlattParts {
    #[serde(with = "crate::train::float_text::one")]
    a: f64,
    #[serde(with = "crate::train::float_text::one")]
    b: f64,
}

impl TryFrom<PlattParts> for PlattScaling {
    type Error = Error;

    fn try_from(p: PlattParts) -> Result<Self> {
        Self::new(p.a, p.b)
    }
}

impl PlattScaling {
    /// The map with slope `a` and intercept `b`, as fitted elsewhere.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] if either is not finite.
    pub fn new(a: f64, b: f64) -> Result<Self> {
        for (name, v) in [("a", a), ("b", b)] {
            if !v.is_finite() {
                return Err(Error::InvalidParameter {
                    name,
                    reason: format!("must be finite, got {v}"),
                });
            }
        }
        Ok(Self { a, b })
    }

    /// Fit on held-out `scores` and their `labels`, each row weighted by
    /// `weights` if given.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the lengths differ;
    /// [`Error::InvalidParameter`] for a NaN or infinite score, or a weight
    /// that is negative or not finite; [`Error::Undefined`] for an empty
    /// input or weights that sum to 0.
    pub fn fit(scores: &[f64], labels: &[bool], weights: Option<&[f64]>) -> Result<Self> {
        check_inputs(scores, labels, weights)?;
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);

        let (mut prior0, mut prior1) = (0.0, 0.0);
        for (i, &y) in labels.iter().enumerate() {
            if y {
                prior1 += w(i);
            } else {
                prior0 += w(i);
            }
        }
        let hi = (prior1 + 1.0) / (prior1 + 2.0);
        let lo = 1.0 / (prior0 + 2.0);
        let targets: Vec<f64> = labels.iter().map(|&y| if y { hi } else { lo }).collect();

        let max_abs = scores.iter().fold(0.0_f64, |m, s| m.max(s.abs()));
        let scale = if max_abs >= PLATT_RESCALE_ABOVE {
            max_abs
        } else {
            1.0
        };
        let s: Vec<f64> = scores.iter().map(|v| v / scale).collect();

        // The weighted cross-entropy against the targets at (a, b).
        let loss = |a: f64, b: f64| -> f64 {
            let mut f = 0.0;
            for (i, (&si, &ti)) in s.iter().zip(&targets).enumerate() {
                let z = a * si + b;
                f += w(i) * (softplus(z) - ti * z);
            }
            f
        };

        let (mut a, mut b) = (0.0, ((prior1 + 1.0) / (prior0 + 1.0)).ln());
        let mut f = loss(a, b);
        for _ in 0..PLATT_MAX_ITERATIONS {
            let (mut g1, mut g2) = (0.0, 0.0);
            let (mut h11, mut h12, mut h22) = (PLATT_HESSIAN_RIDGE, 0.0, PLATT_HESSIAN_RIDGE);
            for (i, (&si, &ti)) in s.iter().zip(&targets).enumerate() {
                let p = sigmoid(a * si + b);
                let wi = w(i);
                let d = wi * (p - ti);
                let h = wi * p * (1.0 - p);
                g1 += d * si;
                g2 += d;
                h11 += h * si * si;
                h12 += h * si;
                h22 += h;
            }
            let det = h11 * h22 - h12 * h12;
            // NaN (from a NaN score) or a singular Hessian: stop where we are.
            if det.is_nan() || det <= 0.0 {
                break;
            }
            let da = -(h22 * g1 - h12 * g2) / det;
            let db = -(h11 * g2 - h12 * g1) / det;
            let slope = g1 * da + g2 * db;
            if slope.is_nan() || slope >= 0.0 {
                // The Newton step no longer descends: at the optimum to
                // within rounding.
                break;
            }
            let mut step = 1.0;
            let mut moved = false;
            while step >= 1e-10 {
                let (na, nb) = (a + step * da, b + step * db);
                let nf = loss(na, nb);
                if nf <= f + 1e-4 * step * slope {
                    moved = na != a || nb != b;
                    (a, b, f) = (na, nb, nf);
                    break;
                }
                step /= 2.0;
            }
            if !moved
                || (step * da).abs().max((step * db).abs()) <= 1e-15 * (1.0 + a.abs().max(b.abs()))
            {
                break;
            }
        }
        Ok(Self { a: a / scale, b })
    }

    /// The slope `a`.
    pub fn a(&self) -> f64 {
        self.a
    }

    /// The intercept `b`.
    pub fn b(&self) -> f64 {
        self.b
    }

    /// The calibrated probability of score `s`.
    pub fn predict(&self, s: f64) -> f64 {
        sigmoid(self.a * s + self.b)
    }
}

/// Isotonic calibration: the non-decreasing function of the score closest,
/// in weighted squared error, to the held-out labels, interpolated linearly
/// between its thresholds and clipped outside them.
///
/// The same function as scikit-learn's `IsotonicRegression(increasing=True,
/// out_of_bounds="clip")`: rows of zero weight are dropped; rows whose
/// scores differ by less than 1e-15 are pooled into one point (their
/// weighted mean label, their summed weight); the pool-adjacent-violators
/// algorithm merges neighbouring points until the means do not decrease;
/// the points inside a run of equal values are dropped, leaving the
/// thresholds. A score below the first threshold maps to the first value,
/// above the last to the last, in between linearly as `numpy.interp`; a NaN
/// score maps to NaN.
///
/// # Example
///
/// ```
/// use berserkr_model::calibration::IsotonicCalibration;
///
/// let scores = [0.1, 0.2, 0.3, 0.4];
/// let labels = [false, true, false, true];
/// let iso = IsotonicCalibration::fit(&scores, &labels, None)?;
/// // 0.2 and 0.3 pool to one half.
/// assert_eq!(iso.thresholds(), (&[0.1, 0.2, 0.3, 0.4][..], &[0.0, 0.5, 0.5, 1.0][..]));
/// assert_eq!(iso.predict(0.25), 0.5);
/// assert!((iso.predict(0.35) - 0.75).abs() < 1e-12);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "IsotonicParts")]
pub struct IsotonicCalibration {
    #[serde(with = "crate::train::float_text::many")]
    x: Vec<f64>,
    #[serde(with = "crate::train::float_text::many")]
    y: Vec<f64>,
}

/// [`IsotonicCalibration`] as read, checked by [`IsotonicCalibration::new`].
#[derive(Deserialize)]
struct IsotonicParts {
    #[serde(with = "crate::train::float_text::many")]
    x: Vec<f64>,
    #[serde(with = "crate::train::float_text::many")]
    y: Vec<f64>,
}

impl TryFrom<IsotonicParts> for IsotonicCalibration {
    type Error = Error;

    fn try_from(p: IsotonicParts) -> Result<Self> {
        Self::new(p.x, p.y)
    }
}

impl IsotonicCalibration {
    /// The function through the points `(x[i], y[i])`, as fitted elsewhere.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the lengths differ;
    /// [`Error::InvalidParameter`] if there is no point, a value is not
    /// finite, `x` does not increase strictly or `y` decreases.
    pub fn new(x: Vec<f64>, y: Vec<f64>) -> Result<Self> {
        if x.len() != y.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} thresholds but {} values",
                x.len(),
                y.len()
            )));
        }
        if x.is_empty() {
            return Err(invalid("x", "needs at least one threshold"));
        }
        if let Some(v) = x.iter().chain(&y).find(|v| !v.is_finite()) {
            return Err(invalid(
                "x",
                format!("thresholds and values must be finite, got {v}"),
            ));
        }
        if x.windows(2).any(|p| p[0] >= p[1]) {
            return Err(invalid("x", "thresholds must increase strictly"));
        }
        if y.windows(2).any(|p| p[0] > p[1]) {
            return Err(invalid("y", "values must not decrease"));
        }
        Ok(Self { x, y })
    }

    /// Fit on held-out `scores` and their `labels`, each row weighted by
    /// `weights` if given.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if the lengths differ;
    /// [`Error::InvalidParameter`] for a NaN or infinite score, or a weight
    /// that is negative or not finite; [`Error::Undefined`] for an empty
    /// input or weights that sum to 0.
    pub fn fit(scores: &[f64], labels: &[bool], weights: Option<&[f64]>) -> Result<Self> {
        check_inputs(scores, labels, weights)?;
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);

        // Rows by score, then label (numpy's lexsort((y, X))), zero
        // weights dropped.
        let mut order: Vec<usize> = (0..scores.len()).filter(|&i| w(i) > 0.0).collect();
        order.sort_by(|&i, &j| {
            scores[i]
                .total_cmp(&scores[j])
                .then(labels[i].cmp(&labels[j]))
        });

        // Pool tied scores: weighted mean label, summed weight.
        let label = |i: usize| f64::from(u8::from(labels[i]));
        let Some((&first, rest)) = order.split_first() else {
            return Err(Error::Undefined("every weight is 0".into()));
        };
        let (mut x, mut y, mut pw) = (Vec::new(), Vec::new(), Vec::new());
        let (mut cur_x, mut cur_wy, mut cur_w) = (scores[first], label(first) * w(first), w(first));
        for &i in rest {
            if scores[i] - cur_x >= ISOTONIC_TIE {
                x.push(cur_x);
                y.push(cur_wy / cur_w);
                pw.push(cur_w);
                (cur_x, cur_wy, cur_w) = (scores[i], label(i) * w(i), w(i));
            } else {
                cur_wy += label(i) * w(i);
                cur_w += w(i);
            }
        }
        x.push(cur_x);
        y.push(cur_wy / cur_w);
        pw.push(cur_w);

        pool_adjacent_violators(&mut y, &mut pw);

        // Keep the ends, and every point whose value differs from a
        // neighbour's.
        let n = y.len();
        let keep = |i: usize| i == 0 || i + 1 == n || y[i] != y[i - 1] || y[i] != y[i + 1];
        let kept: Vec<usize> = (0..n).filter(|&i| keep(i)).collect();
        let x = kept.iter().map(|&i| x[i]).collect();
        let y = kept.iter().map(|&i| y[i]).collect();
        Ok(Self { x, y })
    }

    /// The thresholds: scores, increasing, and their calibrated values,
    /// non-decreasing (scikit-learn's `X_thresholds_`, `y_thresholds_`).
    pub fn thresholds(&self) -> (&[f64], &[f64]) {
        (&self.x, &self.y)
    }

    /// The calibrated probability of score `s`.
    pub fn predict(&self, s: f64) -> f64 {
        let (x, y) = (&self.x, &self.y);
        let last = x.len() - 1;
        if s.is_nan() {
            return f64::NAN;
        }
        let s = s.clamp(x[0], x[last]);
        // The last threshold at or below s.
        let j = x.partition_point(|&t| t <= s).saturating_sub(1);
        if j >= last {
            return y[last];
        }
        let slope = (y[j + 1] - y[j]) / (x[j + 1] - x[j]);
        slope * (s - x[j]) + y[j]
    }
}

/// The pool-adjacent-violators algorithm, in place: `y` becomes the
/// non-decreasing sequence closest to it in squared error weighted by `w`.
///
/// Blocks are kept as runs `[i, end[i]]` whose first entry holds the block's
/// mean and weight; a decreasing run is merged whole, then the merge steps
/// back one block, so that every point is merged a bounded number of times
/// (scikit-learn's `_inplace_contiguous_isotonic_regression`).
fn pool_adjacent_violators(y: &mut [f64], w: &mut [f64]) {
    let n = y.len();
    // end[i] = last index of the block starting at i; start[j] = first index
    // of the block ending at j.
    let mut end: Vec<usize> = (0..n).collect();
    let mut start: Vec<usize> = (0..n).collect();
    let mut i = 0;
    while i < n {
        let mut k = end[i] + 1;
        if k == n {
            break;
        }
        if y[i] < y[k] {
            i = k;
            continue;
        }
        let mut sum_wy = w[i] * y[i];
        let mut sum_w = w[i];
        loop {
            let prev_y = y[k];
            sum_wy += w[k] * y[k];
            sum_w += w[k];
            k = end[k] + 1;
            if k == n || prev_y < y[k] {
                y[i] = sum_wy / sum_w;
                w[i] = sum_w;
                end[i] = k - 1;
                start[k - 1] = i;
                if i > 0 {
                    i = start[i - 1];
                }
                break;
            }
        }
    }
    let mut i = 0;
    while i < n {
        let k = end[i] + 1;
        let v = y[i];
        y[i + 1..k].fill(v);
        i = k;
    }
}

/// How a [`Calibration`] is fitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CalibrationMethod {
    /// [`PlattScaling`] of the log-odds: two parameters, smooth, right for
    /// a few hundred held-out rows or a model whose log-odds are off by a
    /// slope and an offset (logistic regression, boosted trees).
    #[default]
    Platt,
    /// [`IsotonicCalibration`] of the probability: any monotone shape, for
    /// thousands of held-out rows.
    Isotonic,
}

/// A calibration of a model's probabilities, as a
/// [`Scorer`](crate::score::Scorer) applies it.
///
/// Fitted with [`Calibration::fit`] on the probabilities a model gives to
/// rows it did not train on. Platt scaling maps the probability's log-odds
/// `ln(p / (1 − p))` (`p` clipped to `[1e-12, 1 − 1e-12]`), isotonic
/// regression the probability itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Calibration {
    /// Platt scaling of the log-odds.
    Platt(PlattScaling),
    /// Isotonic regression of the probability.
    Isotonic(IsotonicCalibration),
}

impl Calibration {
    /// Fit a calibration of `method` on held-out `probabilities` and their
    /// `labels`, each row weighted by `weights` if given.
    ///
    /// # Errors
    ///
    /// As [`PlattScaling::fit`] and [`IsotonicCalibration::fit`], and
    /// [`Error::InvalidParameter`] for a probability outside `[0, 1]`.
    pub fn fit(
        method: CalibrationMethod,
        probabilities: &[f64],
        labels: &[bool],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        if let Some((row, p)) = probabilities
            .iter()
            .enumerate()
            .find(|(_, p)| !(0.0..=1.0).contains(*p))
        {
            return Err(invalid(
                "probabilities",
                format!("probability {p} of row {row} is outside [0, 1]"),
            ));
        }
        Ok(match method {
            CalibrationMethod::Platt => {
                let logits: Vec<f64> = probabilities.iter().map(|&p| log_odds(p)).collect();
                Self::Platt(PlattScaling::fit(&logits, labels, weights)?)
            }
            CalibrationMethod::Isotonic => {
                Self::Isotonic(IsotonicCalibration::fit(probabilities, labels, weights)?)
            }
        })
    }

    /// The method this calibration was fitted with.
    pub fn method(&self) -> CalibrationMethod {
        match self {
            Self::Platt(_) => CalibrationMethod::Platt,
            Self::Isotonic(_) => CalibrationMethod::Isotonic,
        }
    }

    /// The calibrated value of a model's probability `p`.
    pub fn calibrate(&self, p: f64) -> f64 {
        match self {
            Self::Platt(platt) => platt.predict(log_odds(p)),
            Self::Isotonic(iso) => iso.predict(p),
        }
    }

    /// Calibrate every probability of `p` in place, in parallel.
    pub fn calibrate_all(&self, p: &mut [f64]) {
        p.par_iter_mut().for_each(|v| *v = self.calibrate(*v));
    }
}

/// `ln(p / (1 − p))`, `p` clipped to `[ε, 1 − ε]`.
fn log_odds(p: f64) -> f64 {
    let p = p.clamp(LOG_ODDS_EPS, 1.0 - LOG_ODDS_EPS);
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

/// Lengths, finite scores, valid weights, something to fit on.
fn check_inputs(scores: &[f64], labels: &[bool], weights: Option<&[f64]>) -> Result<()> {
    if scores.len() != labels.len() {
        return Err(Error::ShapeMismatch(format!(
            "{} scores but {} labels",
            scores.len(),
            labels.len()
        )));
    }
    if scores.is_empty() {
        return Err(Error::Undefined(
            "a calibration needs at least one row".into(),
        ));
    }
    if let Some((row, s)) = scores.iter().enumerate().find(|(_, s)| !s.is_finite()) {
        return Err(invalid(
            "scores",
            format!("score {s} of row {row} is not finite"),
        ));
    }
    if let Some(weights) = weights {
        if weights.len() != scores.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} weights for {} rows",
                weights.len(),
                scores.len()
            )));
        }
        if let Some((row, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(invalid(
                "weights",
                format!("weight {w} of row {row} is negative or not finite"),
            ));
        }
        let total: f64 = weights.iter().sum();
        if total.partial_cmp(&0.0) != Some(Ordering::Greater) {
            return Err(Error::Undefined("the weights sum to 0".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pava_pools_a_decreasing_run_and_steps_back() {
        let mut y = vec![1.0, 3.0, 2.0, 0.0, 4.0];
        let mut w = vec![1.0; 5];
        pool_adjacent_violators(&mut y, &mut w);
        // 3, 2, 0 pool to 5/3, which is above 1: no step back needed.
        assert_eq!(y, vec![1.0, 5.0 / 3.0, 5.0 / 3.0, 5.0 / 3.0, 4.0]);

        let mut y = vec![2.0, 3.0, -1.0];
        let mut w = vec![1.0, 1.0, 1.0];
        pool_adjacent_violators(&mut y, &mut w);
        // 3, -1 pool to 1, below 2: the step back pools all three.
        assert_eq!(y, vec![4.0 / 3.0; 3]);
    }

    #[test]
    fn weights_move_the_pooled_mean() {
        let mut y = vec![1.0, 0.0];
        let mut w = vec![3.0, 1.0];
        pool_adjacent_violators(&mut y, &mut w);
        assert_eq!(y, vec![0.75, 0.75]);
    }

    #[test]
    fn platt_of_a_calibrated_model_is_near_identity() {
        // Log-odds s with labels drawn at sigmoid(s): a = 1, b = 0 up to
        // sampling noise and the prior.
        let mut state = 7_u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 20_000;
        let s: Vec<f64> = (0..n).map(|i| -4.0 + 8.0 * i as f64 / n as f64).collect();
        let y: Vec<bool> = s.iter().map(|&s| uniform() < sigmoid(s)).collect();
        let platt = PlattScaling::fit(&s, &y, None).unwrap();
        assert!((platt.a() - 1.0).abs() < 0.05, "{platt:?}");
        assert!(platt.b().abs() < 0.05, "{platt:?}");
    }

    #[test]
    fn isotonic_new_checks_its_points() {
        assert!(IsotonicCalibration::new(vec![0.0, 1.0], vec![0.2, 0.1]).is_err());
        assert!(IsotonicCalibration::new(vec![1.0, 1.0], vec![0.1, 0.2]).is_err());
        assert!(IsotonicCalibration::new(vec![], vec![]).is_err());
        let iso = IsotonicCalibration::new(vec![0.0, 1.0], vec![0.2, 0.4]).unwrap();
        assert_eq!(iso.predict(0.5), 0.30000000000000004);
        assert!(iso.predict(f64::NAN).is_nan());
    }

    #[test]
    fn calibration_refuses_probabilities_outside_0_1() {
        let err = Calibration::fit(
            CalibrationMethod::Isotonic,
            &[0.5, 1.5],
            &[true, false],
            None,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            Error::InvalidParameter {
                name: "probabilities",
                ..
            }
        ));
    }
}
