//! Unchecked and checked hyperparameters of the boosted trees.

use crate::error::{Error, Result};

/// How the two classes are weighted in the training loss.
///
/// The weight multiplies each row's gradient and hessian (and the sample
/// weight, where one is given). It shifts the predicted probabilities
/// towards the weighted class, as LightGBM's `scale_pos_weight` and
/// `is_unbalance` do.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum ClassWeight {
    /// Every row counts once.
    #[default]
    Unit,
    /// Positive rows count this many times; must be finite and above 0.
    Positive(f64),
    /// Positive rows count `negatives / positives` times (by sample weight),
    /// so that both classes weigh the same in total.
    Balanced,
}

/// Checked hyperparameters of gradient-boosted trees.
///
/// Made by [`GbdtParams::check`]; only a checked set can be fitted, so a
/// value out of range is reported once, before any work is done. The
/// getters return the values documented on [`GbdtParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct GbdtValidParams {
    pub(crate) n_trees: usize,
    pub(crate) learning_rate: f64,
    pub(crate) num_leaves: usize,
    pub(crate) max_depth: Option<usize>,
    pub(crate) min_data_in_leaf: usize,
    pub(crate) min_sum_hessian_in_leaf: f64,
    pub(crate) lambda_l2: f64,
    pub(crate) min_gain_to_split: f64,
    pub(crate) max_bins: usize,
    pub(crate) bin_sample_size: usize,
    pub(crate) feature_fraction: f64,
    pub(crate) bagging_fraction: f64,
    pub(crate) goss: Option<(f64, f64)>,
    pub(crate) early_stopping_rounds: Option<usize>,
    pub(crate) class_weight: ClassWeight,
    pub(crate) seed: u64,
    pub(crate) n_threads: Option<usize>,
}

/// Unchecked hyperparameters of gradient-boosted trees for binary
/// classification.
///
/// Set options with the consuming `with_*` methods, then call
/// [`check`](Self::check) to get a [`GbdtValidParams`] that can be fitted.
/// Names and defaults follow LightGBM where it has the same setting.
///
/// | Name | Default | Purpose | Range |
/// | --- | --- | --- | --- |
/// | `n_trees` | 100 | boosting rounds at most | `>= 1` |
/// | `learning_rate` | 0.1 | shrinkage of each tree's output | `> 0` |
/// | `num_leaves` | 31 | leaves per tree (trees grow leaf-wise, best gain first) | `2..=65536` |
/// | `max_depth` | `None` | depth limit on top of `num_leaves` | `>= 1` |
/// | `min_data_in_leaf` | 20 | rows a leaf must keep | `>= 1` |
/// | `min_sum_hessian_in_leaf` | 1e-3 | hessian a leaf must keep | `>= 0` |
/// | `lambda_l2` | 0 | L2 penalty on leaf values | `>= 0` |
/// | `min_gain_to_split` | 0 | loss reduction a split must give | `>= 0` |
/// | `max_bins` | 255 | histogram bins per feature, besides the missing-value bin | `2..=255` |
/// | `bin_sample_size` | 200,000 | rows sampled to place the bin edges | `>= 1` |
/// | `feature_fraction` | 1 | share of features drawn for each tree | `(0, 1]` |
/// | `bagging_fraction` | 1 | share of rows drawn for each tree | `(0, 1]` |
/// | `goss` | `None` | gradient-based one-side sampling: `(top_rate, other_rate)` | each in `(0, 1)`, sum `<= 1`, no bagging |
/// | `early_stopping_rounds` | `None` | stop when the validation log loss has not improved for this many rounds | `>= 1` |
/// | `class_weight` | [`ClassWeight::Unit`] | weight of the positive class | see [`ClassWeight`] |
/// | `seed` | 0 | seed of the row, feature and bin samples | any |
/// | `n_threads` | `None` (rayon's current pool) | threads of a pool made for the fit | `>= 1` |
///
/// The fitted model is the same bit for bit whatever the number of threads.
#[derive(Debug, Clone, PartialEq)]
pub struct GbdtParams(GbdtValidParams);

impl Default for GbdtParams {
    fn default() -> Self {
        Self::new()
    }
}

impl GbdtParams {
    /// The defaults of the table above.
    pub fn new() -> Self {
        Self(GbdtValidParams {
            n_trees: 100,
            learning_rate: 0.1,
            num_leaves: 31,
            max_depth: None,
            min_data_in_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            lambda_l2: 0.0,
            min_gain_to_split: 0.0,
            max_bins: 255,
            bin_sample_size: 200_000,
            feature_fraction: 1.0,
            bagging_fraction: 1.0,
            goss: None,
            early_stopping_rounds: None,
            class_weight: ClassWeight::Unit,
            seed: 0,
            n_threads: None,
        })
    }

    /// Boosting rounds at most (default 100); fewer are kept when early
    /// stopping triggers.
    pub fn with_n_trees(mut self, n_trees: usize) -> Self {
        self.0.n_trees = n_trees;
        self
    }

    /// Shrinkage applied to every tree's output (default 0.1).
    pub fn with_learning_rate(mut self, learning_rate: f64) -> Self {
        self.0.learning_rate = learning_rate;
        self
    }

    /// Leaves per tree (default 31).
    pub fn with_num_leaves(mut self, num_leaves: usize) -> Self {
        self.0.num_leaves = num_leaves;
        self
    }

    /// Depth limit of the trees (default none: only `num_leaves` limits
    /// them).
    pub fn with_max_depth(mut self, max_depth: Option<usize>) -> Self {
        self.0.max_depth = max_depth;
        self
    }

    /// Rows each leaf must keep (default 20).
    pub fn with_min_data_in_leaf(mut self, min_data_in_leaf: usize) -> Self {
        self.0.min_data_in_leaf = min_data_in_leaf;
        self
    }

    /// Sum of hessians each leaf must keep (default 1e-3).
    pub fn with_min_sum_hessian_in_leaf(mut self, min_sum_hessian_in_leaf: f64) -> Self {
        self.0.min_sum_hessian_in_leaf = min_sum_hessian_in_leaf;
        self
    }

    /// L2 penalty on the leaf values (default 0).
    pub fn with_lambda_l2(mut self, lambda_l2: f64) -> Self {
        self.0.lambda_l2 = lambda_l2;
        self
    }

    /// Loss reduction a split must bring (default 0).
    pub fn with_min_gain_to_split(mut self, min_gain_to_split: f64) -> Self {
        self.0.min_gain_to_split = min_gain_to_split;
        self
    }

    /// Histogram bins per feature for its values (default 255); missing
    /// values always have one more bin of their own.
    pub fn with_max_bins(mut self, max_bins: usize) -> Self {
        self.0.max_bins = max_bins;
        self
    }

    /// Rows drawn to place the bin edges when the training set is larger
    /// (default 200,000).
    pub fn with_bin_sample_size(mut self, bin_sample_size: usize) -> Self {
        self.0.bin_sample_size = bin_sample_size;
        self
    }

    /// Share of the features drawn at random for each tree (default 1).
    pub fn with_feature_fraction(mut self, feature_fraction: f64) -> Self {
        self.0.feature_fraction = feature_fraction;
        self
    }

    /// Share of the rows drawn at random for each tree (default 1).
    pub fn with_bagging_fraction(mut self, bagging_fraction: f64) -> Self {
        self.0.bagging_fraction = bagging_fraction;
        self
    }

    /// Gradient-based one-side sampling (default off), LightGBM's
    /// `data_sample_strategy = "goss"` with its `top_rate` and
    /// `other_rate`: each tree is grown on the `top_rate` share of rows
    /// with the largest `|gradient × hessian|` and an `other_rate` share
    /// drawn from the rest, whose gradients are scaled up by
    /// `(1 − top_rate) / other_rate` so that the sums stay unbiased. As in
    /// LightGBM, the first `1 / learning_rate` trees see every row.
    ///
    /// The rows that teach a tree least are the ones left out, so a tree
    /// costs about `top_rate + other_rate` of one grown on every row.
    pub fn with_goss(mut self, top_rate: f64, other_rate: f64) -> Self {
        self.0.goss = Some((top_rate, other_rate));
        self
    }

    /// Stop after this many rounds without a lower validation log loss, and
    /// keep the trees up to the best round (default none). Needs a
    /// validation set, see [`GbdtValidParams::fit_with_validation`].
    pub fn with_early_stopping_rounds(mut self, rounds: Option<usize>) -> Self {
        self.0.early_stopping_rounds = rounds;
        self
    }

    /// Weight of the classes in the loss (default [`ClassWeight::Unit`]).
    pub fn with_class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.0.class_weight = class_weight;
        self
    }

    /// Shorthand for `with_class_weight(ClassWeight::Positive(weight))`.
    pub fn with_positive_weight(self, weight: f64) -> Self {
        self.with_class_weight(ClassWeight::Positive(weight))
    }

    /// Shorthand for `with_class_weight(ClassWeight::Balanced)`.
    pub fn with_balanced_classes(self) -> Self {
        self.with_class_weight(ClassWeight::Balanced)
    }

    /// Seed of the row, feature and bin-edge samples (default 0).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// Fit in a pool of this many threads made for the fit (default none:
    /// the current rayon pool). The model does not depend on it.
    pub fn with_n_threads(mut self, n_threads: Option<usize>) -> Self {
        self.0.n_threads = n_threads;
        self
    }

    /// Check every value once, returning the parameters that can be fitted.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first value out of its range.
    pub fn check(self) -> Result<GbdtValidParams> {
        self.check_ref()?;
        Ok(self.0)
    }

    /// Check every value once without consuming the parameters.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the first value out of its range.
    pub fn check_ref(&self) -> Result<&GbdtValidParams> {
        let p = &self.0;
        if p.n_trees == 0 {
            return Err(invalid("n_trees", "must be at least 1"));
        }
        if !(p.learning_rate.is_finite() && p.learning_rate > 0.0) {
            return Err(invalid(
                "learning_rate",
                format!("must be finite and above 0, got {}", p.learning_rate),
            ));
        }
        if !(2..=MAX_LEAVES).contains(&p.num_leaves) {
            return Err(invalid(
                "num_leaves",
                format!("must be in 2..={MAX_LEAVES}, got {}", p.num_leaves),
            ));
        }
        if p.max_depth == Some(0) {
            return Err(invalid("max_depth", "must be at least 1"));
        }
        if p.min_data_in_leaf == 0 {
            return Err(invalid("min_data_in_leaf", "must be at least 1"));
        }
        non_negative("min_sum_hessian_in_leaf", p.min_sum_hessian_in_leaf)?;
        non_negative("lambda_l2", p.lambda_l2)?;
        non_negative("min_gain_to_split", p.min_gain_to_split)?;
        if !(2..=255).contains(&p.max_bins) {
            return Err(invalid(
                "max_bins",
                format!("must be in 2..=255, got {}", p.max_bins),
            ));
        }
        if p.bin_sample_size == 0 {
            return Err(invalid("bin_sample_size", "must be at least 1"));
        }
        fraction("feature_fraction", p.feature_fraction)?;
        fraction("bagging_fraction", p.bagging_fraction)?;
        if let Some((top, other)) = p.goss {
            let open = |r: f64| r > 0.0 && r < 1.0;
            if !(open(top) && open(other) && top + other <= 1.0) {
                return Err(invalid(
                    "goss",
                    format!(
                        "top_rate and other_rate must be in (0, 1) with a sum of at most 1, got {top} and {other}"
                    ),
                ));
            }
            if p.bagging_fraction < 1.0 {
                return Err(invalid(
                    "goss",
                    "samples the rows itself: bagging_fraction must stay 1",
                ));
            }
        }
        if p.early_stopping_rounds == Some(0) {
            return Err(invalid("early_stopping_rounds", "must be at least 1"));
        }
        if let ClassWeight::Positive(w) = p.class_weight
            && !(w.is_finite() && w > 0.0)
        {
            return Err(invalid(
                "class_weight",
                format!("the positive weight must be finite and above 0, got {w}"),
            ));
        }
        if p.n_threads == Some(0) {
            return Err(invalid("n_threads", "must be at least 1"));
        }
        Ok(p)
    }
}

/// LightGBM's limit on `num_leaves` is 131072; half of it keeps leaf indices
/// and histogram pools within reason.
const MAX_LEAVES: usize = 1 << 16;

impl GbdtValidParams {
    /// Boosting rounds at most.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// Shrinkage of each tree's output.
    pub fn learning_rate(&self) -> f64 {
        self.learning_rate
    }

    /// Leaves per tree.
    pub fn num_leaves(&self) -> usize {
        self.num_leaves
    }

    /// Depth limit, if any.
    pub fn max_depth(&self) -> Option<usize> {
        self.max_depth
    }

    /// Rows each leaf must keep.
    pub fn min_data_in_leaf(&self) -> usize {
        self.min_data_in_leaf
    }

    /// Hessian each leaf must keep.
    pub fn min_sum_hessian_in_leaf(&self) -> f64 {
        self.min_sum_hessian_in_leaf
    }

    /// L2 penalty on leaf values.
    pub fn lambda_l2(&self) -> f64 {
        self.lambda_l2
    }

    /// Loss reduction a split must bring.
    pub fn min_gain_to_split(&self) -> f64 {
        self.min_gain_to_split
    }

    /// Value bins per feature.
    pub fn max_bins(&self) -> usize {
        self.max_bins
    }

    /// Rows sampled to place bin edges.
    pub fn bin_sample_size(&self) -> usize {
        self.bin_sample_size
    }

    /// Share of features drawn per tree.
    pub fn feature_fraction(&self) -> f64 {
        self.feature_fraction
    }

    /// Share of rows drawn per tree.
    pub fn bagging_fraction(&self) -> f64 {
        self.bagging_fraction
    }

    /// Gradient-based one-side sampling's `(top_rate, other_rate)`, if on.
    pub fn goss(&self) -> Option<(f64, f64)> {
        self.goss
    }

    /// Rounds without improvement before stopping, if early stopping is on.
    pub fn early_stopping_rounds(&self) -> Option<usize> {
        self.early_stopping_rounds
    }

    /// Weight of the classes.
    pub fn class_weight(&self) -> ClassWeight {
        self.class_weight
    }

    /// Seed of the random draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Threads of the pool made for the fit, if any.
    pub fn n_threads(&self) -> Option<usize> {
        self.n_threads
    }
}

fn invalid(name: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name,
        reason: reason.into(),
    }
}

fn non_negative(name: &'static str, v: f64) -> Result<()> {
    if v.is_finite() && v >= 0.0 {
        Ok(())
    } else {
        Err(invalid(name, format!("must be finite and >= 0, got {v}")))
    }
}

fn fraction(name: &'static str, v: f64) -> Result<()> {
    if v > 0.0 && v <= 1.0 {
        Ok(())
    } else {
        Err(invalid(name, format!("must be in (0, 1], got {v}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let p = GbdtParams::new().check().unwrap();
        assert_eq!(p.num_leaves(), 31);
        assert_eq!(p.max_bins(), 255);
    }

    #[test]
    fn out_of_range_values_are_named() {
        let cases: Vec<(GbdtParams, &str)> = vec![
            (GbdtParams::new().with_n_trees(0), "n_trees"),
            (GbdtParams::new().with_learning_rate(0.0), "learning_rate"),
            (
                GbdtParams::new().with_learning_rate(f64::NAN),
                "learning_rate",
            ),
            (GbdtParams::new().with_num_leaves(1), "num_leaves"),
            (GbdtParams::new().with_max_depth(Some(0)), "max_depth"),
            (
                GbdtParams::new().with_min_data_in_leaf(0),
                "min_data_in_leaf",
            ),
            (GbdtParams::new().with_lambda_l2(-1.0), "lambda_l2"),
            (GbdtParams::new().with_max_bins(256), "max_bins"),
            (GbdtParams::new().with_max_bins(1), "max_bins"),
            (
                GbdtParams::new().with_feature_fraction(0.0),
                "feature_fraction",
            ),
            (
                GbdtParams::new().with_bagging_fraction(1.5),
                "bagging_fraction",
            ),
            (
                GbdtParams::new().with_early_stopping_rounds(Some(0)),
                "early_stopping_rounds",
            ),
            (GbdtParams::new().with_positive_weight(-2.0), "class_weight"),
            (GbdtParams::new().with_n_threads(Some(0)), "n_threads"),
        ];
        for (params, expected) in cases {
            match params.check() {
                Err(Error::InvalidParameter { name, .. }) => assert_eq!(name, expected),
                other => panic!("{expected}: expected InvalidParameter, got {other:?}"),
            }
        }
    }
}
