//! Gradient-boosted decision trees for binary classification, with
//! histogram binning, in the manner of LightGBM.
//!
//! - Features are binned once by quantiles (up to 255 bins each, edges
//!   placed on a sample of rows); missing values (NaN) get a bin of their
//!   own, and every split learns which side they go to.
//! - Trees grow leaf-wise (the split with the most gain first) up to
//!   `num_leaves`, with Newton-step leaf values on the binary log loss.
//! - Histograms are built for the smaller child of a split only, the larger
//!   one being the parent's minus it, in parallel over features with rayon.
//! - Early stopping on the log loss of a validation set, class weights,
//!   sample weights, and row and feature subsampling.
//! - The fitted model is the same bit for bit whatever the number of
//!   threads.
//!
//! Parameters are set on [`GbdtParams`], checked once into
//! [`GbdtValidParams`], and fitted into a [`Gbdt`], a model apart from
//! its parameters.
//!
//! # Basic usage
//!
//! ```
//! use berserkr_model::gbdt::{GbdtParams, Samples};
//! use ndarray::Array2;
//!
//! // Two features; the label is set when both are large, or the first is
//! // missing.
//! let x = Array2::from_shape_fn((2_000, 2), |(i, j)| {
//!     if j == 0 && i % 10 == 0 { f64::NAN } else { ((i * (7 + 5 * j)) % 100) as f64 }
//! });
//! let y: Vec<bool> = x
//!     .rows()
//!     .into_iter()
//!     .map(|r| r[0].is_nan() || (r[0] > 50.0 && r[1] > 50.0))
//!     .collect();
//!
//! let model = GbdtParams::new()
//!     .with_n_trees(50)
//!     .with_num_leaves(8)
//!     .check()?
//!     .fit(&Samples::new(x.view(), &y)?)?;
//!
//! let p = model.predict_proba(x.view())?;
//! assert!(p[0] > 0.9); // row 0 has a missing first feature
//! assert!(p[1] < 0.1);
//! # Ok::<(), berserkr_model::Error>(())
//! ```

mod binning;
mod grower;
mod hist;
mod params;
mod rng;
mod tree;

use std::ops::Range;

use ndarray::{Array1, ArrayView2, Axis, Slice};
use rayon::prelude::*;

use crate::error::{Error, Result};
use binning::BinnedMatrix;
use grower::Grower;
use hist::GradHess;
use rng::SplitMix64;
use tree::{Lockstep, Tree};

pub use params::{ClassWeight, GbdtParams, GbdtValidParams};

/// Rows per parallel task in prediction and in per-row updates. Sums are
/// taken per chunk and then in chunk order, so they do not depend on the
/// number of threads.
const ROW_CHUNK: usize = 4096;

/// Rows scored together, tree by tree.
const PREDICT_BLOCK: usize = 64;

/// Rows to fit on or to validate with: features, labels and optional
/// sample weights.
///
/// Features are rows by columns, NaN standing for a missing value.
#[derive(Debug, Clone, Copy)]
pub struct Samples<'a> {
    x: ArrayView2<'a, f64>,
    y: &'a [bool],
    weights: Option<&'a [f64]>,
}

impl<'a> Samples<'a> {
    /// Features `x` (one row per sample) and their labels `y`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if `x` and `y` differ in rows.
    pub fn new(x: ArrayView2<'a, f64>, y: &'a [bool]) -> Result<Self> {
        if x.nrows() != y.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} rows of features but {} labels",
                x.nrows(),
                y.len()
            )));
        }
        Ok(Self {
            x,
            y,
            weights: None,
        })
    }

    /// Weight of each row in the loss (default: 1 for every row).
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if there is not one weight per row,
    /// [`Error::InvalidParameter`] if a weight is negative or not finite.
    pub fn with_weights(mut self, weights: &'a [f64]) -> Result<Self> {
        if weights.len() != self.y.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} weights for {} rows",
                weights.len(),
                self.y.len()
            )));
        }
        if let Some((row, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(Error::InvalidParameter {
                name: "weights",
                reason: format!("weight {w} of row {row} is negative or not finite"),
            });
        }
        self.weights = Some(weights);
        Ok(self)
    }

    /// The features, rows by columns.
    pub fn x(&self) -> ArrayView2<'a, f64> {
        self.x
    }

    /// The labels, one per row.
    pub fn y(&self) -> &'a [bool] {
        self.y
    }

    /// The sample weights, if any.
    pub fn weights(&self) -> Option<&'a [f64]> {
        self.weights
    }

    /// Rows in the set.
    pub fn n_rows(&self) -> usize {
        self.y.len()
    }

    /// Features per row.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    fn weight(&self, row: usize) -> f64 {
        self.weights.map_or(1.0, |w| w[row])
    }
}

/// A fitted ensemble of boosted trees.
///
/// Made by [`GbdtValidParams::fit`]. Its nodes and leaves are plain
/// vectors of plain structs, and it serializes with serde; its numbers are
/// written as strings in Rust's shortest round-trip form (`"-0.0123"`,
/// `"inf"`), so that a JSON model file reads back to the same model bit
/// for bit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Gbdt {
    n_features: usize,
    #[serde(with = "crate::train::float_text::one")]
    base_score: f64,
    trees: Vec<Tree>,
    best_iteration: Option<usize>,
    #[serde(with = "crate::train::float_text::many")]
    validation_loss: Vec<f64>,
}

impl GbdtValidParams {
    /// Fit on `train` for `n_trees` rounds.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] if early stopping is set (it needs
    /// [`fit_with_validation`](Self::fit_with_validation)) or the pool of
    /// `n_threads` cannot be made; [`Error::Undefined`] if the labels, by
    /// weight, hold one class only; [`Error::ShapeMismatch`] if there are
    /// more rows or features than 32-bit indices address.
    pub fn fit(&self, train: &Samples<'_>) -> Result<Gbdt> {
        if self.early_stopping_rounds.is_some() {
            return Err(Error::InvalidParameter {
                name: "early_stopping_rounds",
                reason: "early stopping needs a validation set (fit_with_validation)".into(),
            });
        }
        self.in_pool(|| fit(self, train, None))
    }

    /// Fit on `train`, tracking the log loss on `valid` after each round
    /// (sample weights of `valid` apply, class weights do not). With
    /// `early_stopping_rounds`, stop once it has not decreased for that many
    /// rounds and keep the trees up to the best round.
    ///
    /// # Errors
    ///
    /// As [`fit`](Self::fit), and [`Error::ShapeMismatch`] if `valid` has
    /// another number of features than `train`.
    pub fn fit_with_validation(&self, train: &Samples<'_>, valid: &Samples<'_>) -> Result<Gbdt> {
        if valid.n_features() != train.n_features() {
            return Err(Error::ShapeMismatch(format!(
                "{} features to train on but {} to validate with",
                train.n_features(),
                valid.n_features()
            )));
        }
        self.in_pool(|| fit(self, train, Some(valid)))
    }

    fn in_pool<T: Send>(&self, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
        match self.n_threads {
            // On a thread of the global pool, so that each parallel step is
            // shared with the other workers directly instead of being sent
            // to the pool and waited for from outside.
            None => rayon::scope(|_| f()),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::InvalidParameter {
                    name: "n_threads",
                    reason: format!("cannot make a pool of {n} threads: {e}"),
                })?
                .install(f),
        }
    }
}

fn fit(p: &GbdtValidParams, train: &Samples<'_>, valid: Option<&Samples<'_>>) -> Result<Gbdt> {
    let n = train.n_rows();
    let n_features = train.n_features();
    if u32::try_from(n).is_err() || i32::try_from(n_features).is_err() {
        return Err(Error::ShapeMismatch(format!(
            "{n} rows of {n_features} features: at most 2^32 - 1 rows and 2^31 - 1 features"
        )));
    }

    // Row weights, class weight applied.
    let (mut pos, mut neg) = (0.0, 0.0);
    for (i, &y) in train.y.iter().enumerate() {
        if y {
            pos += train.weight(i);
        } else {
            neg += train.weight(i);
        }
    }
    if !(pos > 0.0 && neg > 0.0) {
        return Err(Error::Undefined(format!(
            "the training labels need both classes, with weight: positives weigh {pos}, negatives {neg}"
        )));
    }
    let pos_factor = match p.class_weight {
        ClassWeight::Positive(w) => w,
        ClassWeight::Balanced => neg / pos,
        ClassWeight::Unit => 1.0,
    };
    let weights: Vec<f64> = (0..n)
        .map(|i| train.weight(i) * if train.y[i] { pos_factor } else { 1.0 })
        .collect();
    let base_score = (pos * pos_factor / neg).ln();

    let data = BinnedMatrix::new(train.x, p.max_bins, p.bin_sample_size, p.seed);
    let mut grower = Grower::new(&data, p);
    let mut rng = SplitMix64::new(p.seed);
    let mut scores = vec![base_score; n];
    let mut gh = vec![GradHess::default(); n];
    let mut valid_scores = valid.map(|v| vec![base_score; v.n_rows()]);
    // The validation rows in the training bins: a split's test on a bin is
    // its test on the value, and a tree walks a column of bytes in cache
    // faster than rows of doubles.
    let valid_bins = valid.map(|v| data.bin_rows(v.x)).unwrap_or_default();
    let mut used = vec![true; n_features];
    let mut bag: Vec<u32> = Vec::new();
    let mut out_of_bag: Vec<u32> = Vec::new();
    let mut out_of_bag_outputs: Vec<f64> = Vec::new();
    let mut trees = Vec::new();
    let mut validation_loss = Vec::new();
    let mut best: Option<(usize, f64)> = None;

    for iteration in 0..p.n_trees {
        gradients(&scores, train.y, &weights, &mut gh);
        if p.feature_fraction < 1.0 {
            draw_features(&mut used, p.feature_fraction, &mut rng);
        }
        let warm = (iteration as f64) < 1.0 / p.learning_rate;
        let bagged = match p.goss {
            Some((top_rate, other_rate)) if !warm => {
                goss(&mut gh, top_rate, other_rate, &mut rng, &mut bag);
                true
            }
            Some(_) => false,
            None if p.bagging_fraction < 1.0 => {
                // Every row is written and the count advances only for the
                // kept ones: a coin flip per row is no branch to mispredict.
                bag.resize(n, 0);
                out_of_bag.resize(n, 0);
                let mut kept = 0;
                for r in 0..n {
                    // `n` fits in u32, checked above. Row `r` is the
                    // `r - kept`-th left out, unless it is kept.
                    bag[kept] = r as u32;
                    out_of_bag[r - kept] = r as u32;
                    kept += usize::from(rng.next_f64() < p.bagging_fraction);
                }
                bag.truncate(kept);
                out_of_bag.truncate(n - kept);
                true
            }
            None => false,
        };
        let grown = grower.grow(&gh, bagged.then_some(bag.as_slice()), &used);
        let tree = grown.tree;

        let lockstep = Lockstep::new(&tree);
        // GOSS keeps no list of the rows it left out: every row walks.
        if p.goss.is_some() && bagged {
            scores
                .par_chunks_mut(ROW_CHUNK)
                .enumerate()
                .for_each(|(c, chunk)| {
                    tree.add_binned(&lockstep, &data.bins, n, c * ROW_CHUNK, chunk);
                });
        } else {
            // The rows the tree grew on are already laid out by leaf; only
            // those left out of the bag walk it.
            let rows = grower.rows();
            for (&(start, len), &value) in grown.segments.iter().zip(&tree.leaf_values) {
                for &r in &rows[start..start + len] {
                    scores[r as usize] += value;
                }
            }
            if bagged {
                out_of_bag_outputs.clear();
                out_of_bag_outputs.resize(out_of_bag.len(), 0.0);
                out_of_bag_outputs
                    .par_chunks_mut(ROW_CHUNK)
                    .zip(out_of_bag.par_chunks(ROW_CHUNK))
                    .for_each(|(out, rows)| {
                        tree.add_binned_rows(&lockstep, &data.bins, n, rows, out);
                    });
                for (&r, &output) in out_of_bag.iter().zip(&out_of_bag_outputs) {
                    scores[r as usize] += output;
                }
            }
        }

        if let (Some(v), Some(vs)) = (valid, valid_scores.as_mut()) {
            vs.par_chunks_mut(ROW_CHUNK)
                .enumerate()
                .for_each(|(c, chunk)| {
                    tree.add_binned(&lockstep, &valid_bins, v.n_rows(), c * ROW_CHUNK, chunk);
                });
            let loss = log_loss(vs, v);
            validation_loss.push(loss);
            trees.push(tree);
            if best.is_none_or(|(_, b)| loss < b) {
                best = Some((iteration, loss));
            }
            if let (Some(rounds), Some((b, _))) = (p.early_stopping_rounds, best)
                && iteration - b >= rounds
            {
                break;
            }
        } else {
            trees.push(tree);
        }
    }

    let best_iteration = match (p.early_stopping_rounds, best) {
        (Some(_), Some((b, _))) => {
            trees.truncate(b + 1);
            Some(b + 1)
        }
        _ => None,
    };
    Ok(Gbdt {
        n_features,
        base_score,
        trees,
        best_iteration,
        validation_loss,
    })
}

/// The rows `rows` of `x` as one row-major slice: `x`'s own memory when it
/// is laid out so, else a copy in `buf`.
fn row_major<'x: 'b, 'b>(
    x: ArrayView2<'x, f64>,
    rows: Range<usize>,
    buf: &'b mut Vec<f64>,
) -> &'b [f64] {
    let rows = x.slice_axis_move(Axis(0), Slice::from(rows));
    match rows.to_slice() {
        Some(flat) => flat,
        None => {
            buf.clear();
            buf.extend(rows.iter().copied());
            buf
        }
    }
}

/// Gradient and hessian of the weighted log loss at the current scores.
fn gradients(scores: &[f64], y: &[bool], weights: &[f64], gh: &mut [GradHess]) {
    gh.par_chunks_mut(ROW_CHUNK)
        .zip(scores.par_chunks(ROW_CHUNK))
        .zip(y.par_chunks(ROW_CHUNK))
        .zip(weights.par_chunks(ROW_CHUNK))
        .for_each(|(((gh, s), y), w)| {
            for (((gh, &s), &y), &w) in gh.iter_mut().zip(s).zip(y).zip(w) {
                let p = sigmoid(s);
                gh.g = ((p - f64::from(u8::from(y))) * w) as f32;
                gh.h = (p * (1.0 - p) * w) as f32;
            }
        });
}

/// Gradient-based one-side sampling: puts into `bag` the `top_rate` share
/// of rows with the largest `|g × h|` (ties: the first rows) and each other
/// row with probability `other_rate / (1 − top_rate)`, scaling the
/// gradients of the latter by its inverse.
fn goss(
    gh: &mut [GradHess],
    top_rate: f64,
    other_rate: f64,
    rng: &mut SplitMix64,
    bag: &mut Vec<u32>,
) {
    let n = gh.len();
    bag.clear();
    if n == 0 {
        return;
    }
    let size = |gh: &GradHess| (f64::from(gh.g) * f64::from(gh.h)).abs();
    let top = ((top_rate * n as f64).ceil() as usize).clamp(1, n);
    let mut sizes: Vec<f64> = gh.iter().map(size).collect();
    let (_, &mut threshold, _) = sizes.select_nth_unstable_by(top - 1, |a, b| b.total_cmp(a));
    let above = gh.iter().filter(|x| size(x) > threshold).count();
    let mut at_threshold = top - above;
    let keep = other_rate / (1.0 - top_rate);
    let scale = (1.0 / keep) as f32;
    for (r, x) in gh.iter_mut().enumerate() {
        let s = size(x);
        let in_top = s > threshold || (s == threshold && at_threshold > 0);
        if in_top {
            if s == threshold {
                at_threshold -= 1;
            }
            // `n` fits in u32, checked by the caller.
            bag.push(r as u32);
        } else if rng.next_f64() < keep {
            x.g *= scale;
            x.h *= scale;
            bag.push(r as u32);
        }
    }
}

/// Mark `round(fraction * n)` features (at least one) as used, at random.
fn draw_features(used: &mut [bool], fraction: f64, rng: &mut SplitMix64) {
    let n = used.len();
    let k = ((fraction * n as f64).round() as usize).clamp(1, n.max(1));
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..k.min(n) {
        let j = i + rng.below(n - i);
        order.swap(i, j);
    }
    used.fill(false);
    for &f in &order[..k.min(n)] {
        used[f] = true;
    }
}

fn sigmoid(s: f64) -> f64 {
    1.0 / (1.0 + (-s).exp())
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// Mean log loss, by sample weight, of raw scores on `set`.
fn log_loss(scores: &[f64], set: &Samples<'_>) -> f64 {
    let parts: Vec<(f64, f64)> = scores
        .par_chunks(ROW_CHUNK)
        .enumerate()
        .map(|(c, chunk)| {
            let mut loss = 0.0;
            let mut weight = 0.0;
            for (i, &s) in chunk.iter().enumerate() {
                let row = c * ROW_CHUNK + i;
                let w = set.weight(row);
                loss += w * softplus(if set.y[row] { -s } else { s });
                weight += w;
            }
            (loss, weight)
        })
        .collect();
    let (loss, weight) = parts
        .iter()
        .fold((0.0, 0.0), |(l, w), &(pl, pw)| (l + pl, w + pw));
    if weight > 0.0 {
        loss / weight
    } else {
        f64::NAN
    }
}

impl Gbdt {
    /// Checks that a model read from a file is well formed: every split
    /// names an existing feature, every child an existing later node or an
    /// existing leaf (so that prediction always ends, and never indexes out
    /// of bounds). [`Gbdt`]s fitted here always are.
    pub fn validate(&self) -> Result<()> {
        let broken = |t: usize, reason: String| Error::InvalidParameter {
            name: "model",
            reason: format!("tree {t}: {reason}"),
        };
        if !self.base_score.is_finite() {
            return Err(broken(0, "the base score is not finite".into()));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            if tree.nodes.is_empty() && tree.leaf_values.len() != 1 {
                return Err(broken(
                    t,
                    "a single-leaf tree needs exactly one leaf value".into(),
                ));
            }
            for (i, node) in tree.nodes.iter().enumerate() {
                if node.feature as usize >= self.n_features {
                    return Err(broken(
                        t,
                        format!(
                            "node {i} splits on feature {} of {}",
                            node.feature, self.n_features
                        ),
                    ));
                }
                for child in [node.left, node.right] {
                    let ok = if child >= 0 {
                        (child as usize) > i && (child as usize) < tree.nodes.len()
                    } else {
                        ((!child) as usize) < tree.leaf_values.len()
                    };
                    if !ok {
                        return Err(broken(t, format!("node {i} has no child {child}")));
                    }
                }
            }
        }
        Ok(())
    }

    /// Probability of the positive class for each row of `x` (rows by
    /// features, NaN for missing). Parallel over rows.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if `x` has another number of features than
    /// the model was fitted on.
    pub fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        let mut out = self.predict_raw(x)?;
        out.mapv_inplace(sigmoid);
        Ok(out)
    }

    /// Raw scores (log-odds of the positive class) for each row of `x`.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if `x` has another number of features than
    /// the model was fitted on.
    pub fn predict_raw(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        if x.ncols() != self.n_features {
            return Err(Error::ShapeMismatch(format!(
                "the model takes {} features, got {}",
                self.n_features,
                x.ncols()
            )));
        }
        let mut out = vec![self.base_score; x.nrows()];
        let n_features = self.n_features;
        if n_features == 0 {
            // Every tree is a single leaf.
            let sum: f64 = self.trees.iter().map(|t| t.leaf_values[0]).sum();
            out.iter_mut().for_each(|o| *o += sum);
            return Ok(Array1::from_vec(out));
        }
        let lockstep: Vec<Lockstep> = self.trees.iter().map(Lockstep::new).collect();
        out.par_chunks_mut(ROW_CHUNK)
            .enumerate()
            .for_each(|(c, chunk)| {
                let mut buf = Vec::new();
                for (b, block) in chunk.chunks_mut(PREDICT_BLOCK).enumerate() {
                    // A block of rows, tree by tree: the rows and the tree
                    // stay in cache, and the rows' traversals overlap.
                    let start = c * ROW_CHUNK + b * PREDICT_BLOCK;
                    let flat = row_major(x, start..start + block.len(), &mut buf);
                    for (tree, lockstep) in self.trees.iter().zip(&lockstep) {
                        tree.add_block(lockstep, flat, n_features, block);
                    }
                }
            });
        Ok(Array1::from_vec(out))
    }

    /// Total loss reduction of the splits on each feature, by feature index.
    pub fn feature_importance(&self) -> Vec<f64> {
        let mut gain = vec![0.0; self.n_features];
        for tree in &self.trees {
            for (node, g) in tree.nodes.iter().zip(&tree.gains) {
                gain[node.feature as usize] += g;
            }
        }
        gain
    }

    /// Number of splits on each feature, by feature index.
    pub fn feature_split_counts(&self) -> Vec<usize> {
        let mut count = vec![0; self.n_features];
        for tree in &self.trees {
            for node in &tree.nodes {
                count[node.feature as usize] += 1;
            }
        }
        count
    }

    /// With early stopping, the number of rounds kept (the round of the
    /// lowest validation loss, counting from 1); `None` without it.
    pub fn best_iteration(&self) -> Option<usize> {
        self.best_iteration
    }

    /// Validation log loss after each round trained, the rounds past
    /// [`best_iteration`](Self::best_iteration) included; empty without a
    /// validation set.
    pub fn validation_loss(&self) -> &[f64] {
        &self.validation_loss
    }

    /// Trees in the model.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// Features the model takes.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// The raw score before any tree: the log-odds of the (weighted)
    /// positive rate of the training set.
    pub fn base_score(&self) -> f64 {
        self.base_score
    }
}
