//! Ranking and probability metrics, each checked against scikit-learn.
//!
//! These are the numbers a purchase-likelihood model is judged by: one score
//! per (customer, item) candidate, a label saying whether the customer bought
//! the item in the label window, and the customer as the group.
//!
//! | Function | What it measures | scikit-learn equivalent |
//! |---|---|---|
//! | [`roc_auc`] | ranking of all candidates | `roc_auc_score(y, s)` |
//! | [`average_precision`] | ranking, weighted to the top | `average_precision_score(y, s)` |
//! | [`log_loss`] | probabilities | `log_loss(y, p, labels=[0, 1])` |
//! | [`brier_score`] | probabilities | `brier_score_loss(y, p)` |
//! | [`precision_at_k`] | top k of each group | none; see below |
//! | [`recall_at_k`] | top k of each group | none; see below |
//! | [`ndcg_at_k`] | top k of each group | `ndcg_score([y_g], [s_g], k=k)` per group |
//! | [`calibration_table`] | probabilities, bin by bin | `calibration_curve(y, p, n_bins, strategy="uniform")` |
//! | [`evaluate`] | all of the above at once | |
//!
//! Every function takes the scores (or probabilities) and the labels as
//! slices of the same length, labels as `bool` (`true` = bought). The tests
//! in `tests/metrics.rs` compare each of them with scikit-learn 1.9 on the
//! fixtures that `testdata/metrics/make_expected.py` writes, to a relative
//! error of 1e-12.
//!
//! # Conventions
//!
//! * **Ties in score.** [`roc_auc`] and [`average_precision`] walk the
//!   distinct scores, as scikit-learn does, so tied candidates enter the
//!   curve together: a tie between a positive and a negative counts one half
//!   in the AUC. [`ndcg_at_k`] averages the gain over each run of tied scores
//!   (scikit-learn's `ignore_ties=False`), so it does not depend on the input
//!   order. [`precision_at_k`] and [`recall_at_k`] rank each group by score,
//!   descending, and break ties by input order (a stable sort), so that the
//!   top k is a definite set of candidates.
//! * **Groups.** The grouped metrics are computed per group (per customer)
//!   and averaged, each group with equal weight, over the groups with at
//!   least one positive label; groups without a positive are left out, as
//!   their recall and NDCG are undefined.
//! * **Precision@k** is the number of positives in the group's top k divided
//!   by `k`, even when the group has fewer than `k` candidates (the "P@10" of
//!   the recommendation literature: empty slots count as misses).
//!   **Recall@k** divides the same count by the group's positives.
//! * **NDCG@k** uses the gain 1 for a positive and 0 for a negative and the
//!   discount `1 / log2(rank + 1)`. A group with a single candidate, which
//!   scikit-learn refuses, has NDCG 1 when that candidate is a positive.
//! * **Log loss** clips each probability of the observed label to
//!   `[ε, 1 − ε]` with `ε = f64::EPSILON` (2.2e-16): `−ln(clip(p))` for a
//!   positive and `−ln(clip(1 − p))` for a negative. This is scikit-learn's
//!   `eps="auto"`, its default since 1.2 and its only choice since 1.5
//!   removed the argument (releases before 1.2 clipped at 1e-15). Log loss
//!   and the Brier score are defined when only one class is present, as
//!   scikit-learn's are (`log_loss` given `labels=[0, 1]`).
//!
//! # Errors
//!
//! Nothing here panics on its input. An empty input, or one that leaves a
//! metric undefined (a single class for [`roc_auc`], no positive for
//! [`average_precision`], no group with a positive for the grouped metrics),
//! gives [`Error::Undefined`]; slices of different lengths give
//! [`Error::ShapeMismatch`]; a score that is NaN or infinite, a probability
//! outside `[0, 1]`, `k = 0` or `n_bins = 0` give [`Error::InvalidParameter`].
//!
//! # Basic usage
//!
//! ```
//! use berserkr_model::metrics::evaluate;
//!
//! // Two customers, three candidate items each.
//! let customers = [7_u64, 7, 7, 9, 9, 9];
//! let probabilities = [0.9, 0.2, 0.4, 0.3, 0.8, 0.1];
//! let bought = [true, false, false, false, false, true];
//!
//! let metrics = evaluate(&customers, &probabilities, &bought, &[1, 3], 5)?;
//! assert_eq!(metrics.roc_auc, 0.5);
//! // Customer 7's purchase is ranked first, customer 9's last.
//! assert_eq!(metrics.at_k[0].precision, 0.5);
//! assert_eq!(metrics.at_k[1].recall, 1.0);
//! println!("{metrics}");
//! # Ok::<(), berserkr_model::Error>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::ops::Range;

use crate::error::{Error, Result};
use crate::order_key::order_key;

/// The area under the ROC curve: the probability that a positive scores
/// above a negative, ties counting one half.
///
/// The same value as scikit-learn's `roc_auc_score(labels, scores)`: the
/// trapezoids between the points of the curve at each distinct score. The
/// area is summed in integers, so the only rounding is the final division.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input or a single class;
/// [`Error::ShapeMismatch`] if the lengths differ;
/// [`Error::InvalidParameter`] for a NaN or infinite score.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::roc_auc;
///
/// let scores = [0.1, 0.4, 0.35, 0.8];
/// let labels = [false, false, true, true];
/// assert_eq!(roc_auc(&scores, &labels)?, 0.75);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Result<f64> {
    check_scores(scores, labels)?;
    roc_auc_of(&curve(scores, labels))
}

/// [`roc_auc`] of a [`curve`].
fn roc_auc_of(curve: &[(u64, u64)]) -> Result<f64> {
    let (positives, negatives) = curve.last().copied().unwrap_or_default();
    if positives == 0 || negatives == 0 {
        return Err(Error::Undefined(format!(
            "ROC AUC needs both classes, got {positives} positive and {negatives} negative labels"
        )));
    }
    // Twice the area, in units of one (positive, negative) pair.
    let mut area: u128 = 0;
    let (mut tp, mut fp) = (0_u64, 0_u64);
    for &(next_tp, next_fp) in curve {
        area += u128::from(next_fp - fp) * u128::from(tp + next_tp);
        (tp, fp) = (next_tp, next_fp);
    }
    Ok(area as f64 / (2.0 * positives as f64 * negatives as f64))
}

/// Average precision: the precision at each distinct score, weighted by the
/// recall gained there.
///
/// The same value as scikit-learn's `average_precision_score(labels,
/// scores)`, `Σₙ (Rₙ − Rₙ₋₁) Pₙ` over the distinct scores from the highest,
/// a step function with no interpolation. It is 1 when every label is
/// positive.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input or no positive label (where
/// scikit-learn warns and returns 0); [`Error::ShapeMismatch`] if the
/// lengths differ; [`Error::InvalidParameter`] for a NaN or infinite score.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::average_precision;
///
/// let scores = [0.1, 0.4, 0.35, 0.8];
/// let labels = [false, false, true, true];
/// // Precision 1 at the first positive, 2/3 at the second.
/// let ap = average_precision(&scores, &labels)?;
/// assert!((ap - 5.0 / 6.0).abs() < 1e-15);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Result<f64> {
    check_scores(scores, labels)?;
    average_precision_of(&curve(scores, labels))
}

/// [`average_precision`] of a [`curve`].
fn average_precision_of(curve: &[(u64, u64)]) -> Result<f64> {
    let (positives, _) = curve.last().copied().unwrap_or_default();
    if positives == 0 {
        return Err(Error::Undefined(
            "average precision needs at least one positive label".to_string(),
        ));
    }
    let mut tp = 0;
    let steps = curve.iter().map(|&(next_tp, fp)| {
        let gained = next_tp - tp;
        tp = next_tp;
        gained as f64 * (next_tp as f64 / (next_tp + fp) as f64)
    });
    Ok(sum(steps) / positives as f64)
}

/// The mean negative log-likelihood of the labels under the probabilities.
///
/// The same value as scikit-learn's `log_loss(labels, probabilities,
/// labels=[0, 1])`: the probability given to the observed label is clipped
/// to `[ε, 1 − ε]`, `ε = f64::EPSILON`, before its logarithm is taken, so a
/// confident mistake costs about 36 rather than infinity. Natural logarithm.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input; [`Error::ShapeMismatch`] if the
/// lengths differ; [`Error::InvalidParameter`] for a probability outside
/// `[0, 1]` or NaN.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::log_loss;
///
/// let probabilities = [0.1, 0.9, 0.8, 0.35];
/// let labels = [false, true, true, false];
/// let loss = log_loss(&probabilities, &labels)?;
/// assert!((loss - 0.21616187468057912).abs() < 1e-15);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn log_loss(probabilities: &[f64], labels: &[bool]) -> Result<f64> {
    check_probabilities(probabilities, labels)?;
    let clip = |p: f64| p.clamp(f64::EPSILON, 1.0 - f64::EPSILON);
    let losses = probabilities.iter().zip(labels).map(|(&p, &label)| {
        // The probability of the observed class, as scikit-learn stacks
        // `[1 - p, p]` before clipping.
        -(if label { clip(p) } else { clip(1.0 - p) }).ln()
    });
    Ok(sum(losses) / probabilities.len() as f64)
}

/// The Brier score: the mean squared difference between the probability
/// and the label (1 for a positive, 0 for a negative).
///
/// The same value as scikit-learn's `brier_score_loss(labels,
/// probabilities)`; 0 is perfect and always predicting ½ scores ¼.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input; [`Error::ShapeMismatch`] if the
/// lengths differ; [`Error::InvalidParameter`] for a probability outside
/// `[0, 1]` or NaN.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::brier_score;
///
/// let probabilities = [0.1, 0.9, 0.8, 0.3];
/// let labels = [false, true, true, false];
/// let brier = brier_score(&probabilities, &labels)?;
/// assert!((brier - 0.0375).abs() < 1e-15);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn brier_score(probabilities: &[f64], labels: &[bool]) -> Result<f64> {
    check_probabilities(probabilities, labels)?;
    let squares = probabilities.iter().zip(labels).map(|(&p, &label)| {
        let error = p - if label { 1.0 } else { 0.0 };
        error * error
    });
    Ok(sum(squares) / probabilities.len() as f64)
}

/// Precision at `k`: the positives among each group's `k` highest scores,
/// divided by `k`, averaged over the groups with at least one positive.
///
/// The divisor is `k` even for a group with fewer than `k` candidates.
/// Within a group, candidates are ranked by score, descending, ties in input
/// order. See the [module documentation](self) for the conventions.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input or no group with a positive;
/// [`Error::ShapeMismatch`] if the lengths differ;
/// [`Error::InvalidParameter`] for `k = 0` or a NaN or infinite score.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::precision_at_k;
///
/// let customers = ["a", "a", "a", "b", "b", "c"];
/// let scores = [0.9, 0.5, 0.7, 0.2, 0.6, 0.3];
/// let labels = [true, true, false, false, true, false];
/// // a: 1 positive in its top 2, b: 1; c has no positive.
/// assert_eq!(precision_at_k(&customers, &scores, &labels, 2)?, 0.5);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn precision_at_k<G: Hash + Eq>(
    groups: &[G],
    scores: &[f64],
    labels: &[bool],
    k: usize,
) -> Result<f64> {
    check_k(k)?;
    Ranking::new(groups, scores, labels)?.mean(|group| group.precision(k))
}

/// Recall at `k`: the share of each group's positives found among its `k`
/// highest scores, averaged over the groups with at least one positive.
///
/// Within a group, candidates are ranked by score, descending, ties in input
/// order. See the [module documentation](self) for the conventions.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input or no group with a positive;
/// [`Error::ShapeMismatch`] if the lengths differ;
/// [`Error::InvalidParameter`] for `k = 0` or a NaN or infinite score.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::recall_at_k;
///
/// let customers = ["a", "a", "a", "b", "b", "c"];
/// let scores = [0.9, 0.5, 0.7, 0.2, 0.6, 0.3];
/// let labels = [true, true, false, false, true, false];
/// // a: 1 of its 2 positives in its top 2, b: 1 of 1.
/// assert_eq!(recall_at_k(&customers, &scores, &labels, 2)?, 0.75);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn recall_at_k<G: Hash + Eq>(
    groups: &[G],
    scores: &[f64],
    labels: &[bool],
    k: usize,
) -> Result<f64> {
    check_k(k)?;
    Ranking::new(groups, scores, labels)?.mean(|group| group.recall(k))
}

/// Normalized discounted cumulative gain at `k`, per group, averaged over
/// the groups with at least one positive.
///
/// For each group, the same value as scikit-learn's
/// `ndcg_score([labels], [scores], k=k)`: the gain of a run of tied scores
/// is the run's share of positives, spread over the positions it covers;
/// the discount at rank `r` is `1 / log2(r + 1)`; the sum over the first `k`
/// ranks is divided by that of the best ranking.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input or no group with a positive;
/// [`Error::ShapeMismatch`] if the lengths differ;
/// [`Error::InvalidParameter`] for `k = 0` or a NaN or infinite score.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::ndcg_at_k;
///
/// let customers = [1_u64, 1, 1];
/// let scores = [0.2, 0.9, 0.5];
/// let labels = [true, false, false];
/// // The only positive is ranked third: 1 / log2(4).
/// assert_eq!(ndcg_at_k(&customers, &scores, &labels, 3)?, 0.5);
/// // ... and is outside the top 2.
/// assert_eq!(ndcg_at_k(&customers, &scores, &labels, 2)?, 0.0);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn ndcg_at_k<G: Hash + Eq>(
    groups: &[G],
    scores: &[f64],
    labels: &[bool],
    k: usize,
) -> Result<f64> {
    check_k(k)?;
    Ranking::new(groups, scores, labels)?.mean(|group| group.ndcg(k))
}

/// One bin of a [`CalibrationTable`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CalibrationBin {
    /// The lower edge: the bin holds the probabilities above it (the first
    /// bin also holds `lower` itself, 0).
    pub lower: f64,
    /// The upper edge, which the bin holds.
    pub upper: f64,
    /// How many candidates fall in the bin.
    pub count: usize,
    /// How many of them are positive.
    pub positives: usize,
    /// The mean predicted probability of the bin, `None` when it is empty.
    pub mean_predicted: Option<f64>,
    /// The share of positives in the bin, `None` when it is empty.
    pub observed_rate: Option<f64>,
}

/// Predicted against observed purchase rates in bins of equal width over
/// `[0, 1]`, made by [`calibration_table`].
///
/// A calibrated model has `mean_predicted ≈ observed_rate` in every bin.
/// Its [`Display`](fmt::Display) prints one line per bin, empty bins
/// included.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationTable {
    bins: Vec<CalibrationBin>,
}

impl CalibrationTable {
    /// Every bin, from the lowest probabilities, empty ones included.
    pub fn bins(&self) -> &[CalibrationBin] {
        &self.bins
    }

    /// The bins that hold at least one candidate: the points of
    /// scikit-learn's `calibration_curve`.
    pub fn non_empty(&self) -> impl Iterator<Item = &CalibrationBin> {
        self.bins.iter().filter(|bin| bin.count > 0)
    }
}

impl fmt::Display for CalibrationTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<16}{:>8}{:>11}{:>11}{:>10}",
            "probability", "count", "positives", "predicted", "observed"
        )?;
        for (i, bin) in self.bins.iter().enumerate() {
            let open = if i == 0 { '[' } else { '(' };
            let range = format!("{open}{:.3}, {:.3}]", bin.lower, bin.upper);
            let show = |value: Option<f64>| value.map_or("-".to_string(), |v| format!("{v:.4}"));
            writeln!(
                f,
                "{range:<16}{:>8}{:>11}{:>11}{:>10}",
                bin.count,
                bin.positives,
                show(bin.mean_predicted),
                show(bin.observed_rate),
            )?;
        }
        Ok(())
    }
}

/// Bins the probabilities into `n_bins` bins of equal width over `[0, 1]`
/// and compares, in each, the mean probability with the share of positives.
///
/// The bins are those of scikit-learn's `calibration_curve(labels,
/// probabilities, n_bins=n_bins, strategy="uniform")`, edge for edge: the
/// edges are `i · (1 / n_bins)`, bin `i` holds the probabilities in
/// `(edgeᵢ, edgeᵢ₊₁]` and the first bin holds 0 too. Its non-empty bins'
/// `(observed_rate, mean_predicted)` are scikit-learn's
/// `(prob_true, prob_pred)`.
///
/// # Errors
///
/// [`Error::Undefined`] for an empty input; [`Error::ShapeMismatch`] if the
/// lengths differ; [`Error::InvalidParameter`] for `n_bins = 0` or a
/// probability outside `[0, 1]` or NaN.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::calibration_table;
///
/// let probabilities = [0.1, 0.2, 0.3, 0.4, 0.65, 0.7, 0.8, 0.9, 1.0];
/// let labels = [false, false, false, false, true, true, true, true, true];
/// let table = calibration_table(&probabilities, &labels, 3)?;
/// let observed: Vec<_> = table.non_empty().map(|bin| bin.observed_rate).collect();
/// assert_eq!(observed, [Some(0.0), Some(0.5), Some(1.0)]);
/// println!("{table}");
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn calibration_table(
    probabilities: &[f64],
    labels: &[bool],
    n_bins: usize,
) -> Result<CalibrationTable> {
    check_probabilities(probabilities, labels)?;
    if n_bins == 0 {
        return Err(Error::InvalidParameter {
            name: "n_bins",
            reason: "the calibration table needs at least one bin".to_string(),
        });
    }
    // As `np.linspace(0, 1, n_bins + 1)` computes them.
    let step = 1.0 / n_bins as f64;
    let edges: Vec<f64> = (0..n_bins).map(|i| i as f64 * step).chain([1.0]).collect();
    let mut counts = vec![0_usize; n_bins];
    let mut positives = vec![0_usize; n_bins];
    let mut sums = vec![0.0_f64; n_bins];
    for (&p, &label) in probabilities.iter().zip(labels) {
        // `np.searchsorted(edges[1:-1], p)`: the inner edges below `p`.
        let bin = edges[1..n_bins].partition_point(|&edge| edge < p);
        counts[bin] += 1;
        positives[bin] += usize::from(label);
        // Summed in input order, as `np.bincount` does.
        sums[bin] += p;
    }
    let bins = (0..n_bins)
        .map(|i| {
            let count = counts[i];
            let mean = |total: f64| (count > 0).then(|| total / count as f64);
            CalibrationBin {
                lower: edges[i],
                upper: edges[i + 1],
                count,
                positives: positives[i],
                mean_predicted: mean(sums[i]),
                observed_rate: mean(positives[i] as f64),
            }
        })
        .collect();
    Ok(CalibrationTable { bins })
}

/// Precision, recall and NDCG at one `k`, in [`Metrics::at_k`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RankingAtK {
    /// The cut-off.
    pub k: usize,
    /// [`precision_at_k`].
    pub precision: f64,
    /// [`recall_at_k`].
    pub recall: f64,
    /// [`ndcg_at_k`].
    pub ndcg: f64,
}

/// Every metric of this module for one scored candidate set, made by
/// [`evaluate`]. Its [`Display`](fmt::Display) is a small report.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Metrics {
    /// The number of candidates.
    pub rows: usize,
    /// The number of positive candidates.
    pub positives: usize,
    /// The number of distinct groups.
    pub groups: usize,
    /// The number of groups with a positive, over which the grouped metrics
    /// are averaged.
    pub groups_with_positives: usize,
    /// [`roc_auc`].
    pub roc_auc: f64,
    /// [`average_precision`].
    pub average_precision: f64,
    /// [`log_loss`].
    pub log_loss: f64,
    /// [`brier_score`].
    pub brier_score: f64,
    /// The grouped metrics at each `k` asked for, in the order asked.
    pub at_k: Vec<RankingAtK>,
    /// [`calibration_table`].
    pub calibration: CalibrationTable,
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "candidates         {} ({} positive)",
            self.rows, self.positives
        )?;
        writeln!(
            f,
            "groups             {} ({} with a positive)",
            self.groups, self.groups_with_positives
        )?;
        writeln!(f, "ROC AUC            {:.4}", self.roc_auc)?;
        writeln!(f, "average precision  {:.4}", self.average_precision)?;
        writeln!(f, "log loss           {:.4}", self.log_loss)?;
        writeln!(f, "Brier score        {:.4}", self.brier_score)?;
        if !self.at_k.is_empty() {
            writeln!(f)?;
            writeln!(
                f,
                "{:>6}{:>11}{:>9}{:>9}",
                "k", "precision", "recall", "NDCG"
            )?;
            for row in &self.at_k {
                writeln!(
                    f,
                    "{:>6}{:>11.4}{:>9.4}{:>9.4}",
                    row.k, row.precision, row.recall, row.ndcg
                )?;
            }
        }
        writeln!(f)?;
        write!(f, "{}", self.calibration)
    }
}

/// Computes every metric of this module for one scored candidate set.
///
/// `probabilities` serve as the scores of the ranking metrics as well; the
/// grouped metrics are computed at each of `ks`, sharing one ranking of the
/// groups, and the calibration table has `n_bins` bins.
///
/// # Errors
///
/// Those of the functions it calls: in particular [`Error::Undefined`] when
/// the labels hold a single class, and [`Error::InvalidParameter`] for a `k`
/// of 0.
///
/// # Example
///
/// ```
/// use berserkr_model::metrics::evaluate;
///
/// let customers = [1_u64, 1, 2, 2, 2];
/// let probabilities = [0.7, 0.1, 0.2, 0.6, 0.4];
/// let labels = [true, false, false, true, true];
/// let metrics = evaluate(&customers, &probabilities, &labels, &[1, 2], 10)?;
/// assert_eq!(metrics.groups_with_positives, 2);
/// assert_eq!(metrics.at_k[1].recall, 1.0);
/// assert_eq!(metrics.calibration.non_empty().count(), 5);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn evaluate<G: Hash + Eq + Sync>(
    groups: &[G],
    probabilities: &[f64],
    labels: &[bool],
    ks: &[usize],
    n_bins: usize,
) -> Result<Metrics> {
    check_probabilities(probabilities, labels)?;
    for &k in ks {
        check_k(k)?;
    }
    // The two sorts, by group and by score, side by side.
    let (ranking, curve) = rayon::join(
        || Ranking::new(groups, probabilities, labels),
        || curve(probabilities, labels),
    );
    let ranking = ranking?;
    let at_k = ks
        .iter()
        .map(|&k| {
            Ok(RankingAtK {
                k,
                precision: ranking.mean(|group| group.precision(k))?,
                recall: ranking.mean(|group| group.recall(k))?,
                ndcg: ranking.mean(|group| group.ndcg(k))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Metrics {
        rows: labels.len(),
        positives: labels.iter().filter(|&&label| label).count(),
        groups: ranking.n_groups,
        groups_with_positives: ranking.groups.len(),
        roc_auc: roc_auc_of(&curve)?,
        average_precision: average_precision_of(&curve)?,
        log_loss: log_loss(probabilities, labels)?,
        brier_score: brier_score(probabilities, labels)?,
        at_k,
        calibration: calibration_table(probabilities, labels, n_bins)?,
    })
}

/// The candidates of every group with a positive, each group ranked.
#[derive(Debug)]
struct Ranking {
    /// `(score, label)` of every candidate, group after group, each group by
    /// score, descending, ties in input order.
    ranked: Vec<(f64, bool)>,
    /// The span of `ranked` and the positives of each group with at least
    /// one positive, in order of first appearance.
    groups: Vec<(Range<usize>, usize)>,
    /// The number of distinct groups, with or without a positive.
    n_groups: usize,
}

impl Ranking {
    fn new<G: Hash + Eq>(groups: &[G], scores: &[f64], labels: &[bool]) -> Result<Self> {
        check_scores(scores, labels)?;
        if groups.len() != scores.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} group ids for {} scores",
                groups.len(),
                scores.len()
            )));
        }
        let mut ids: HashMap<&G, usize, ahash::RandomState> = HashMap::default();
        // (group, score as a descending key, input position): sorted whole,
        // equal scores keep their input order, as a stable sort would.
        let mut order: Vec<(usize, u64, usize)> = groups
            .iter()
            .zip(scores)
            .enumerate()
            .map(|(row, (group, &score))| {
                let next = ids.len();
                (
                    *ids.entry(group).or_insert(next),
                    descending_key(score),
                    row,
                )
            })
            .collect();
        order.sort_unstable();
        let rows: Vec<(usize, f64, bool)> = order
            .into_iter()
            .map(|(group, _, row)| (group, scores[row], labels[row]))
            .collect();

        let mut spans = Vec::new();
        let mut start = 0;
        for group in rows.chunk_by(|a, b| a.0 == b.0) {
            let end = start + group.len();
            let positives = group.iter().filter(|row| row.2).count();
            if positives > 0 {
                spans.push((start..end, positives));
            }
            start = end;
        }
        Ok(Self {
            ranked: rows
                .into_iter()
                .map(|(_, score, label)| (score, label))
                .collect(),
            groups: spans,
            n_groups: ids.len(),
        })
    }

    /// The mean of `metric` over the groups with a positive.
    fn mean(&self, metric: impl Fn(Group<'_>) -> f64) -> Result<f64> {
        if self.groups.is_empty() {
            return Err(Error::Undefined(
                "no group has a positive label to rank".to_string(),
            ));
        }
        let values = self.groups.iter().map(|(span, positives)| {
            metric(Group {
                ranked: &self.ranked[span.clone()],
                positives: *positives,
            })
        });
        Ok(sum(values) / self.groups.len() as f64)
    }
}

/// One ranked group with at least one positive.
#[derive(Debug, Clone, Copy)]
struct Group<'a> {
    ranked: &'a [(f64, bool)],
    positives: usize,
}

impl Group<'_> {
    fn hits(&self, k: usize) -> usize {
        self.ranked.iter().take(k).filter(|row| row.1).count()
    }

    fn precision(&self, k: usize) -> f64 {
        self.hits(k) as f64 / k as f64
    }

    fn recall(&self, k: usize) -> f64 {
        self.hits(k) as f64 / self.positives as f64
    }

    fn ndcg(&self, k: usize) -> f64 {
        let mut gain = 0.0;
        let mut start = 0;
        for run in self.ranked.chunk_by(|a, b| a.0 == b.0) {
            if start >= k {
                break;
            }
            let end = start + run.len();
            let positives = run.iter().filter(|row| row.1).count();
            if positives > 0 {
                let discounts: f64 = (start..end.min(k)).map(discount).sum();
                gain += positives as f64 / run.len() as f64 * discounts;
            }
            start = end;
        }
        let ideal: f64 = (0..self.positives.min(k)).map(discount).sum();
        gain / ideal
    }
}

/// The discount of the 0-based position `i`, `1 / log2(i + 2)`, computed as
/// scikit-learn does.
fn discount(i: usize) -> f64 {
    1.0 / ((i as f64 + 2.0).ln() / std::f64::consts::LN_2)
}

/// The cumulative (true positives, false positives) at each distinct score,
/// from the highest: the points of scikit-learn's ROC and precision-recall
/// curves. The last point holds the totals.
fn curve(scores: &[f64], labels: &[bool]) -> Vec<(u64, u64)> {
    let mut pairs: Vec<(u64, bool)> = scores
        .iter()
        .map(|&s| descending_key(s))
        .zip(labels.iter().copied())
        .collect();
    pairs.sort_unstable_by_key(|pair| pair.0);
    let mut points = Vec::new();
    let (mut tp, mut fp) = (0, 0);
    for run in pairs.chunk_by(|a, b| a.0 == b.0) {
        let positives = run.iter().filter(|pair| pair.1).count() as u64;
        tp += positives;
        fp += run.len() as u64 - positives;
        points.push((tp, fp));
    }
    points
}

/// A key sorting higher scores first; the scores are checked to be finite,
/// and -0 and 0 are one score, as in scikit-learn.
fn descending_key(score: f64) -> u64 {
    !order_key(if score == 0.0 { 0.0 } else { score })
}

/// Neumaier's compensated sum, accurate to the last bit or so whatever the
/// number of terms.
fn sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut total, mut compensation) = (0.0_f64, 0.0_f64);
    for value in values {
        let next = total + value;
        compensation += if total.abs() >= value.abs() {
            (total - next) + value
        } else {
            (value - next) + total
        };
        total = next;
    }
    total + compensation
}

fn check_lengths(values: &[f64], labels: &[bool]) -> Result<()> {
    if values.len() != labels.len() {
        return Err(Error::ShapeMismatch(format!(
            "{} scores for {} labels",
            values.len(),
            labels.len()
        )));
    }
    if values.is_empty() {
        return Err(Error::Undefined(
            "a metric of no candidates is undefined".to_string(),
        ));
    }
    Ok(())
}

fn check_scores(scores: &[f64], labels: &[bool]) -> Result<()> {
    check_lengths(scores, labels)?;
    match scores.iter().position(|score| !score.is_finite()) {
        Some(i) => Err(Error::InvalidParameter {
            name: "scores",
            reason: format!("score {} at index {i} is not finite", scores[i]),
        }),
        None => Ok(()),
    }
}

fn check_probabilities(probabilities: &[f64], labels: &[bool]) -> Result<()> {
    check_lengths(probabilities, labels)?;
    match probabilities.iter().position(|p| !(0.0..=1.0).contains(p)) {
        Some(i) => Err(Error::InvalidParameter {
            name: "probabilities",
            reason: format!(
                "probability {} at index {i} is outside [0, 1]",
                probabilities[i]
            ),
        }),
        None => Ok(()),
    }
}

fn check_k(k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::InvalidParameter {
            name: "k",
            reason: "the cut-off must be at least 1".to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibration_edges_are_numpy_linspace() {
        // 3 · 0.1 = 0.30000000000000004, so 0.3 falls in the third bin
        // (0.2, 0.3...] and 0.7 = 7 · 0.1 exactly closes the seventh.
        let table = calibration_table(&[0.0, 0.3, 0.7, 1.0], &[true; 4], 10).unwrap();
        let counts: Vec<usize> = table.bins().iter().map(|bin| bin.count).collect();
        assert_eq!(counts, [1, 0, 1, 0, 0, 0, 1, 0, 0, 1]);
        assert_eq!(table.bins()[2].upper, 0.30000000000000004);
        assert_eq!(table.bins()[9].upper, 1.0);
    }

    #[test]
    fn discount_matches_log2() {
        assert_eq!(discount(0), 1.0);
        assert_eq!(discount(2), 0.5);
        assert!((discount(5) - 1.0 / 7.0_f64.log2()).abs() < 1e-15);
    }

    #[test]
    fn curve_merges_ties_and_signed_zeros() {
        let scores = [0.0, -0.0, 0.5, 0.5, -1.0];
        let labels = [true, false, true, false, false];
        assert_eq!(curve(&scores, &labels), [(1, 1), (2, 2), (2, 3)]);
    }

    #[test]
    fn compensated_sum() {
        let values = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(sum(values), 2.0);
        assert_eq!(values.iter().sum::<f64>(), 1.0);
    }

    #[test]
    fn ranking_orders_groups_stably() {
        let ranking = Ranking::new(
            &["b", "a", "b", "a", "b"],
            &[0.5, 0.1, 0.5, 0.9, 0.7],
            &[false, true, true, false, false],
        )
        .unwrap();
        assert_eq!(
            ranking.ranked,
            [
                (0.7, false),
                (0.5, false),
                (0.5, true),
                (0.9, false),
                (0.1, true)
            ]
        );
        assert_eq!(ranking.groups, [(0..3, 1), (3..5, 1)]);
        assert_eq!(ranking.n_groups, 2);
    }
}
