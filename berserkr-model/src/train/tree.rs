//! A decision tree and a random forest, each tree grown by linfa-trees and
//! kept as flat arrays with a probability in every leaf.
//!
//! linfa-trees grows the tree (weighted Gini or entropy, exact splits at the
//! midpoints between sorted values) but predicts classes only, and merges
//! sibling leaves that predict the same class. The tree it returns is
//! flattened here into nodes and leaves, and the training rows are routed
//! down it once more to give each leaf the weighted share of positives
//! among them, the probability scikit-learn's trees give.
//!
//! linfa-ensemble's bagging is not used for the forest: its random number
//! generator is rand 0.8's, which this crate cannot seed without depending
//! on rand 0.8, it fits its trees one after the other, drops sample weights
//! from its bootstrap samples, draws each tree's features with replacement
//! and predicts by majority vote. The forest here draws its samples with its
//! own seeded generator, fits its trees in parallel with rayon, keeps the
//! weights and averages the leaf probabilities.

use linfa::ParamGuard;
use linfa::traits::Fit;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{
    ClassWeight, Classifier, Model, Trainer, TrainingData, check_class_weight, check_columns,
    corrupt, invalid, predict_rows, upstream,
};
use crate::error::{Error, Result};

pub(super) const TREE_NAME: &str = "decision_tree";
pub(super) const FOREST_NAME: &str = "random_forest";

/// How linfa-trees measures the impurity of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SplitQuality {
    /// The Gini index `1 − Σ pₖ²`.
    #[default]
    Gini,
    /// The entropy `−Σ pₖ log₂ pₖ`.
    Entropy,
}

/// The settings of one tree, shared by the decision tree and the forest.
#[derive(Debug, Clone, PartialEq)]
struct TreeSettings {
    max_depth: Option<usize>,
    min_rows_split: usize,
    min_weight_leaf: f64,
    min_impurity_decrease: f64,
    split_quality: SplitQuality,
    class_weight: ClassWeight,
}

impl TreeSettings {
    fn check(&self) -> Result<()> {
        if self.max_depth == Some(0) {
            return Err(invalid("max_depth", "must be at least 1"));
        }
        if self.min_rows_split < 2 {
            return Err(invalid(
                "min_rows_split",
                format!("must be at least 2, got {}", self.min_rows_split),
            ));
        }
        if !(self.min_weight_leaf.is_finite() && self.min_weight_leaf >= 0.0) {
            return Err(invalid(
                "min_weight_leaf",
                format!("must be finite and >= 0, got {}", self.min_weight_leaf),
            ));
        }
        if !(self.min_impurity_decrease.is_finite() && self.min_impurity_decrease > 0.0) {
            return Err(invalid(
                "min_impurity_decrease",
                format!(
                    "must be finite and above 0 (linfa-trees' condition), got {}",
                    self.min_impurity_decrease
                ),
            ));
        }
        check_class_weight(self.class_weight)
    }

    fn linfa(&self) -> Result<linfa_trees::DecisionTreeValidParams<f64, bool>> {
        linfa_trees::DecisionTree::<f64, bool>::params()
            .max_depth(self.max_depth)
            .min_weight_split(self.min_rows_split as f32)
            .min_weight_leaf(self.min_weight_leaf as f32)
            .min_impurity_decrease(self.min_impurity_decrease)
            .split_quality(match self.split_quality {
                SplitQuality::Gini => linfa_trees::SplitQuality::Gini,
                SplitQuality::Entropy => linfa_trees::SplitQuality::Entropy,
            })
            .check()
            .map_err(|e| upstream("linfa-trees", e))
    }
}

/// Checked hyperparameters of a [`DecisionTree`].
///
/// Made by [`DecisionTreeParams::check`]; the getters return the values
/// documented there.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTreeValidParams(TreeSettings);

/// Unchecked hyperparameters of a [`DecisionTree`].
///
/// | Name | Default | Purpose | Range |
/// | --- | --- | --- | --- |
/// | `max_depth` | 8 | depth of the tree at most; `None` for no limit | `>= 1` |
/// | `min_rows_split` | 2 | rows a node needs to be split (linfa's `min_weight_split`, which counts rows) | `>= 2` |
/// | `min_weight_leaf` | 10 | weight each side of a split must keep; a negative row weighs 1 and a positive row the class weight (times their sample weights, scaled to a mean of 1) | `>= 0` |
/// | `min_impurity_decrease` | 1e-5 | impurity decrease a split must bring | `> 0` |
/// | `split_quality` | [`SplitQuality::Gini`] | impurity measure | see [`SplitQuality`] |
/// | `class_weight` | [`ClassWeight::Balanced`] | weight of the positive class | see [`ClassWeight`] |
///
/// The default depth is limited because linfa-trees scans every training
/// row at every node, so a node costs as much as the root, and a deep tree
/// on many rows takes long. The classes are balanced by default because
/// linfa-trees merges sibling leaves that predict the same class: with rare
/// positives and equal weights most leaves predict "not bought" and are
/// merged, so the tree keeps far fewer leaves (43 against 75 on the tests'
/// problem with 12% positives) and ranks worse, where balanced weights
/// keep leaves of high and low purchase rates apart.
///
/// linfa-trees keeps weights in f32: they reach it rounded to a grid on
/// which all its sums are exact (otherwise its running sums drift on large
/// weighted data until it panics), and positive rows weigh a hair more
/// (1/64 of a row at 200,000 rows) so that no node's classes tie exactly,
/// a tie linfa-trees would break at random. The leaf probabilities use the
/// weights unrounded. A tree takes fewer than 2^24 rows.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionTreeParams(TreeSettings);

impl Default for DecisionTreeParams {
    fn default() -> Self {
        Self::new()
    }
}

impl DecisionTreeParams {
    /// The defaults of the table above.
    pub fn new() -> Self {
        Self(TreeSettings {
            max_depth: Some(8),
            min_rows_split: 2,
            min_weight_leaf: 10.0,
            min_impurity_decrease: 1e-5,
            split_quality: SplitQuality::Gini,
            class_weight: ClassWeight::Balanced,
        })
    }

    /// Depth of the tree at most (default 8; `None` for no limit).
    pub fn with_max_depth(mut self, max_depth: Option<usize>) -> Self {
        self.0.max_depth = max_depth;
        self
    }

    /// Rows a node needs to be split (default 2).
    pub fn with_min_rows_split(mut self, min_rows_split: usize) -> Self {
        self.0.min_rows_split = min_rows_split;
        self
    }

    /// Weight each side of a split must keep (default 10).
    pub fn with_min_weight_leaf(mut self, min_weight_leaf: f64) -> Self {
        self.0.min_weight_leaf = min_weight_leaf;
        self
    }

    /// Impurity decrease a split must bring (default 1e-5).
    pub fn with_min_impurity_decrease(mut self, min_impurity_decrease: f64) -> Self {
        self.0.min_impurity_decrease = min_impurity_decrease;
        self
    }

    /// Impurity measure (default [`SplitQuality::Gini`]).
    pub fn with_split_quality(mut self, split_quality: SplitQuality) -> Self {
        self.0.split_quality = split_quality;
        self
    }

    /// Weight of the positive class (default [`ClassWeight::Balanced`]).
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
    pub fn check(self) -> Result<DecisionTreeValidParams> {
        self.0.check()?;
        Ok(DecisionTreeValidParams(self.0))
    }
}

macro_rules! tree_getters {
    ($t:ty) => {
        impl $t {
            /// Depth of a tree at most.
            pub fn max_depth(&self) -> Option<usize> {
                self.settings().max_depth
            }

            /// Rows a node needs to be split.
            pub fn min_rows_split(&self) -> usize {
                self.settings().min_rows_split
            }

            /// Weight each side of a split must keep.
            pub fn min_weight_leaf(&self) -> f64 {
                self.settings().min_weight_leaf
            }

            /// Impurity decrease a split must bring.
            pub fn min_impurity_decrease(&self) -> f64 {
                self.settings().min_impurity_decrease
            }

            /// Impurity measure.
            pub fn split_quality(&self) -> SplitQuality {
                self.settings().split_quality
            }

            /// Weight of the positive class.
            pub fn class_weight(&self) -> ClassWeight {
                self.settings().class_weight
            }
        }
    };
}

tree_getters!(DecisionTreeValidParams);
tree_getters!(RandomForestValidParams);

impl DecisionTreeValidParams {
    fn settings(&self) -> &TreeSettings {
        &self.0
    }

    /// Grow a tree on `train` with linfa-trees.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) for an
    /// infinite feature value; [`Error::Undefined`](crate::Error::Undefined)
    /// if the labels, by weight, hold one class only.
    pub fn fit(&self, train: &TrainingData<'_>) -> Result<DecisionTree> {
        let weights = train.row_weights(self.0.class_weight)?;
        train.check_no_infinity(TREE_NAME)?;
        let rows: Vec<usize> = (0..train.n_rows()).filter(|&i| weights[i] > 0.0).collect();
        let missing = missing_values(train.x(), &rows);
        let features: Vec<usize> = (0..train.n_features()).collect();
        let tree = grow(
            train,
            &weights,
            &missing,
            &rows,
            &features,
            &self.0.linfa()?,
        )?;
        Ok(DecisionTree {
            feature_names: train.feature_names().to_vec(),
            missing_values: missing,
            tree,
        })
    }
}

impl Trainer for DecisionTreeValidParams {
    fn name(&self) -> &'static str {
        TREE_NAME
    }

    fn train(&self, train: &TrainingData<'_>, _: Option<&TrainingData<'_>>) -> Result<Model> {
        self.fit(train).map(Model::from)
    }
}

/// Checked hyperparameters of a [`RandomForest`].
///
/// Made by [`RandomForestParams::check`]; the getters return the values
/// documented there.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForestValidParams {
    tree: TreeSettings,
    n_trees: usize,
    bootstrap_proportion: f64,
    feature_fraction: f64,
    seed: u64,
}

/// Unchecked hyperparameters of a [`RandomForest`].
///
/// | Name | Default | Purpose | Range |
/// | --- | --- | --- | --- |
/// | `n_trees` | 100 | trees in the forest | `>= 1` |
/// | `bootstrap_proportion` | 1 | rows drawn with replacement for each tree, as a share of the training rows | `(0, 1]` |
/// | `feature_fraction` | 0.5 | features drawn without replacement for each tree (not each split, as in linfa-ensemble) | `(0, 1]` |
/// | `seed` | 0 | seed of the row and feature draws | any |
/// | `max_depth` | 8 | depth of each tree at most; `None` for no limit | `>= 1` |
/// | `min_rows_split` | 2 | rows a node needs to be split | `>= 2` |
/// | `min_weight_leaf` | 10 | weight each side of a split must keep; a negative row weighs 1 and a positive row the class weight (times their sample weights, scaled to a mean of 1) | `>= 0` |
/// | `min_impurity_decrease` | 1e-5 | impurity decrease a split must bring | `> 0` |
/// | `split_quality` | [`SplitQuality::Gini`] | impurity measure | see [`SplitQuality`] |
/// | `class_weight` | [`ClassWeight::Balanced`] | weight of the positive class | see [`ClassWeight`] |
///
/// The tree settings and their defaults are those of
/// [`DecisionTreeParams`], for the same reasons. linfa-trees' cost grows
/// with nodes × rows × features: the default forest took about 9 minutes
/// on 200,000 × 50 on two cores (a single default tree 10 to 15 seconds,
/// boosted trees 4); lower `bootstrap_proportion` or `max_depth` for large
/// data. Each tree's features are
/// `max(1, round(feature_fraction × features))`, drawn afresh for each tree.
/// The forest is the same for the same seed whatever the number of threads.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomForestParams(RandomForestValidParams);

impl Default for RandomForestParams {
    fn default() -> Self {
        Self::new()
    }
}

impl RandomForestParams {
    /// The defaults of the table above.
    pub fn new() -> Self {
        Self(RandomForestValidParams {
            tree: DecisionTreeParams::new().0,
            n_trees: 100,
            bootstrap_proportion: 1.0,
            feature_fraction: 0.5,
            seed: 0,
        })
    }

    /// Trees in the forest (default 100).
    pub fn with_n_trees(mut self, n_trees: usize) -> Self {
        self.0.n_trees = n_trees;
        self
    }

    /// Rows drawn with replacement for each tree, as a share of the
    /// training rows (default 1).
    pub fn with_bootstrap_proportion(mut self, proportion: f64) -> Self {
        self.0.bootstrap_proportion = proportion;
        self
    }

    /// Share of the features drawn for each tree (default 0.5).
    pub fn with_feature_fraction(mut self, fraction: f64) -> Self {
        self.0.feature_fraction = fraction;
        self
    }

    /// Seed of the row and feature draws (default 0).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// Depth of each tree at most (default 8; `None` for no limit).
    pub fn with_max_depth(mut self, max_depth: Option<usize>) -> Self {
        self.0.tree.max_depth = max_depth;
        self
    }

    /// Rows a node needs to be split (default 2).
    pub fn with_min_rows_split(mut self, min_rows_split: usize) -> Self {
        self.0.tree.min_rows_split = min_rows_split;
        self
    }

    /// Weight each side of a split must keep (default 10).
    pub fn with_min_weight_leaf(mut self, min_weight_leaf: f64) -> Self {
        self.0.tree.min_weight_leaf = min_weight_leaf;
        self
    }

    /// Impurity decrease a split must bring (default 1e-5).
    pub fn with_min_impurity_decrease(mut self, min_impurity_decrease: f64) -> Self {
        self.0.tree.min_impurity_decrease = min_impurity_decrease;
        self
    }

    /// Impurity measure (default [`SplitQuality::Gini`]).
    pub fn with_split_quality(mut self, split_quality: SplitQuality) -> Self {
        self.0.tree.split_quality = split_quality;
        self
    }

    /// Weight of the positive class (default [`ClassWeight::Balanced`]).
    pub fn with_class_weight(mut self, class_weight: ClassWeight) -> Self {
        self.0.tree.class_weight = class_weight;
        self
    }

    /// Check every value once, returning the parameters that can be fitted.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`](crate::Error::InvalidParameter) naming
    /// the first value out of its range.
    pub fn check(self) -> Result<RandomForestValidParams> {
        let p = &self.0;
        if p.n_trees == 0 {
            return Err(invalid("n_trees", "must be at least 1"));
        }
        if !(p.bootstrap_proportion > 0.0 && p.bootstrap_proportion <= 1.0) {
            return Err(invalid(
                "bootstrap_proportion",
                format!("must be in (0, 1], got {}", p.bootstrap_proportion),
            ));
        }
        if !(p.feature_fraction > 0.0 && p.feature_fraction <= 1.0) {
            return Err(invalid(
                "feature_fraction",
                format!("must be in (0, 1], got {}", p.feature_fraction),
            ));
        }
        p.tree.check()?;
        Ok(self.0)
    }
}

impl RandomForestValidParams {
    fn settings(&self) -> &TreeSettings {
        &self.tree
    }

    /// Trees in the forest.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// Rows drawn for each tree, as a share of the training rows.
    pub fn bootstrap_proportion(&self) -> f64 {
        self.bootstrap_proportion
    }

    /// Share of the features drawn for each tree.
    pub fn feature_fraction(&self) -> f64 {
        self.feature_fraction
    }

    /// Seed of the row and feature draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Grow the forest's trees on `train`, in parallel.
    ///
    /// # Errors
    ///
    /// As [`DecisionTreeValidParams::fit`].
    pub fn fit(&self, train: &TrainingData<'_>) -> Result<RandomForest> {
        let weights = train.row_weights(self.tree.class_weight)?;
        train.check_no_infinity(FOREST_NAME)?;
        let linfa = self.tree.linfa()?;
        let candidates: Vec<usize> = (0..train.n_rows()).filter(|&i| weights[i] > 0.0).collect();
        let missing = missing_values(train.x(), &candidates);
        let n_rows = ((candidates.len() as f64 * self.bootstrap_proportion).ceil() as usize).max(1);
        let p = train.n_features();
        let n_features = ((self.feature_fraction * p as f64).round() as usize).clamp(1, p.max(1));

        let trees = (0..self.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = SplitMix64::new(self.seed, t as u64);
                let mut rows: Vec<usize> = (0..n_rows)
                    .map(|_| candidates[rng.below(candidates.len())])
                    .collect();
                rows.sort_unstable();
                let mut features: Vec<usize> = (0..p).collect();
                for i in 0..n_features.min(p) {
                    let j = i + rng.below(p - i);
                    features.swap(i, j);
                }
                features.truncate(n_features.min(p));
                features.sort_unstable();
                grow(train, &weights, &missing, &rows, &features, &linfa)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RandomForest {
            feature_names: train.feature_names().to_vec(),
            missing_values: missing,
            trees,
        })
    }
}

impl Trainer for RandomForestValidParams {
    fn name(&self) -> &'static str {
        FOREST_NAME
    }

    fn train(&self, train: &TrainingData<'_>, _: Option<&TrainingData<'_>>) -> Result<Model> {
        self.fit(train).map(Model::from)
    }
}

/// A fitted decision tree whose leaves hold the share of positives among
/// the training rows that reach them (by weight, class weight included).
///
/// Made by [`DecisionTreeValidParams::fit`]. A row goes left at a node when
/// its value is at most the node's threshold. A missing value (NaN) is
/// replaced by the feature's *missing value*, a number below every value
/// the feature took in training (`min − max(range, |min|, 1)`), so missing
/// values are one more value a split can send apart, always with the
/// smallest ones.
///
/// # Example
///
/// ```
/// use berserkr_model::train::{Classifier, DecisionTree, TrainingData};
/// use ndarray::Array2;
///
/// // Bought when the first feature is missing or above 50.
/// let x = Array2::from_shape_fn((300, 1), |(i, _)| if i % 7 == 0 { f64::NAN } else { (i % 100) as f64 });
/// let y: Vec<bool> = x.iter().map(|v| v.is_nan() || *v > 50.0).collect();
/// let names = vec!["basket_value".to_string()];
/// let tree = DecisionTree::params().check()?.fit(&TrainingData::new(x.view(), &y, &names)?)?;
/// let p = tree.predict_proba(x.view())?;
/// assert_eq!((p[0], p[1], p[60]), (1.0, 0.0, 1.0));
/// assert_eq!(tree.n_leaves(), 3);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DecisionTreeParts")]
pub struct DecisionTree {
    feature_names: Vec<String>,
    #[serde(with = "super::float_text::many")]
    missing_values: Vec<f64>,
    tree: FlatTree,
}

/// [`DecisionTree`] as read, checked before use.
#[derive(Deserialize)]
struct DecisionTreeParts {
    feature_names: Vec<String>,
    #[serde(with = "super::float_text::many")]
    missing_values: Vec<f64>,
    tree: FlatTree,
}

impl TryFrom<DecisionTreeParts> for DecisionTree {
    type Error = Error;

    fn try_from(p: DecisionTreeParts) -> Result<Self> {
        let model = Self {
            feature_names: p.feature_names,
            missing_values: p.missing_values,
            tree: p.tree,
        };
        model.validate()?;
        Ok(model)
    }
}

impl DecisionTree {
    /// The default hyperparameters, to set and check.
    pub fn params() -> DecisionTreeParams {
        DecisionTreeParams::new()
    }

    /// Leaves in the tree.
    pub fn n_leaves(&self) -> usize {
        self.tree.leaves.len()
    }

    /// Depth of the tree: splits from the root to the deepest leaf.
    pub fn depth(&self) -> usize {
        self.tree.depth()
    }

    /// The value that stands for a missing value of each feature.
    pub fn missing_values(&self) -> &[f64] {
        &self.missing_values
    }

    pub(super) fn validate(&self) -> Result<()> {
        validate_trees(&self.feature_names, &self.missing_values, [&self.tree])
    }
}

impl Classifier for DecisionTree {
    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_columns(x, self.feature_names.len())?;
        Ok(predict_rows(x, |row| {
            self.tree
                .predict(|f| impute(row[f], self.missing_values[f]))
        }))
    }
}

/// A fitted random forest: the mean over its trees of the leaf
/// probabilities (scikit-learn's `predict_proba`, rather than a vote).
///
/// Made by [`RandomForestValidParams::fit`]. Each tree is fitted on a
/// bootstrap sample of the rows and a draw of the features, and its leaves
/// hold the weighted share of positives among the sampled rows that reach
/// them. Missing values are handled as in [`DecisionTree`].
///
/// # Example
///
/// ```
/// use berserkr_model::train::{Classifier, RandomForest, TrainingData};
/// use ndarray::Array2;
///
/// let x = Array2::from_shape_fn((500, 3), |(i, j)| ((i * (5 + 2 * j)) % 97) as f64);
/// let y: Vec<bool> = x.rows().into_iter().map(|r| r[0] + r[1] > 100.0).collect();
/// let names: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
/// let forest = RandomForest::params()
///     .with_n_trees(25)
///     .with_feature_fraction(0.7)
///     .with_seed(7)
///     .check()?
///     .fit(&TrainingData::new(x.view(), &y, &names)?)?;
/// assert_eq!(forest.n_trees(), 25);
/// let p = forest.predict_proba(x.view())?;
/// assert!(p.iter().all(|p| (0.0..=1.0).contains(p)));
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RandomForestParts")]
pub struct RandomForest {
    feature_names: Vec<String>,
    #[serde(with = "super::float_text::many")]
    missing_values: Vec<f64>,
    trees: Vec<FlatTree>,
}

/// [`RandomForest`] as read, checked before use.
#[derive(Deserialize)]
struct RandomForestParts {
    feature_names: Vec<String>,
    #[serde(with = "super::float_text::many")]
    missing_values: Vec<f64>,
    trees: Vec<FlatTree>,
}

impl TryFrom<RandomForestParts> for RandomForest {
    type Error = Error;

    fn try_from(p: RandomForestParts) -> Result<Self> {
        let model = Self {
            feature_names: p.feature_names,
            missing_values: p.missing_values,
            trees: p.trees,
        };
        model.validate()?;
        Ok(model)
    }
}

impl RandomForest {
    /// The default hyperparameters, to set and check.
    pub fn params() -> RandomForestParams {
        RandomForestParams::new()
    }

    /// Trees in the forest.
    pub fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// The value that stands for a missing value of each feature.
    pub fn missing_values(&self) -> &[f64] {
        &self.missing_values
    }

    pub(super) fn validate(&self) -> Result<()> {
        if self.trees.is_empty() {
            return Err(corrupt("trees", "a forest needs at least one tree"));
        }
        validate_trees(&self.feature_names, &self.missing_values, &self.trees)
    }
}

impl Classifier for RandomForest {
    fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    fn predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array1<f64>> {
        check_columns(x, self.feature_names.len())?;
        let n = self.trees.len() as f64;
        Ok(predict_rows(x, |row| {
            let value = |f: usize| impute(row[f], self.missing_values[f]);
            self.trees.iter().map(|t| t.predict(value)).sum::<f64>() / n
        }))
    }
}

/// A split: rows with `value(feature) <= threshold` go `left`. A child is
/// a node index, or `!leaf` (negative) for a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Node {
    feature: u32,
    #[serde(with = "super::float_text::one")]
    threshold: f64,
    left: i32,
    right: i32,
}

/// A tree as flat arrays: `nodes[0]` is the root, unless the tree is a
/// single leaf (`nodes` empty). Children come after their parent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct FlatTree {
    nodes: Vec<Node>,
    /// The probability of the positive class in each leaf.
    #[serde(with = "super::float_text::many")]
    leaves: Vec<f64>,
}

impl FlatTree {
    /// The leaf a row reaches, `value(f)` giving its (imputed) feature `f`.
    #[inline]
    fn leaf(&self, value: impl Fn(usize) -> f64) -> usize {
        let mut i: i32 = if self.nodes.is_empty() { -1 } else { 0 };
        while i >= 0 {
            let node = &self.nodes[i as usize];
            i = if value(node.feature as usize) <= node.threshold {
                node.left
            } else {
                node.right
            };
        }
        !i as usize
    }

    #[inline]
    fn predict(&self, value: impl Fn(usize) -> f64) -> f64 {
        self.leaves[self.leaf(value)]
    }

    fn depth(&self) -> usize {
        fn depth(tree: &FlatTree, child: i32) -> usize {
            if child < 0 {
                return 0;
            }
            let node = &tree.nodes[child as usize];
            1 + depth(tree, node.left).max(depth(tree, node.right))
        }
        depth(self, if self.nodes.is_empty() { -1 } else { 0 })
    }

    /// The nodes of a linfa tree, features mapped through `features` (the
    /// columns it was grown on), leaves still without a value.
    fn from_linfa(root: &linfa_trees::TreeNode<f64, bool>, features: &[usize]) -> Result<Self> {
        let mut tree = FlatTree {
            nodes: Vec::new(),
            leaves: Vec::new(),
        };
        tree.push(root, features)?;
        Ok(tree)
    }

    /// Append `node` and its subtree in pre-order; the child reference to it.
    fn push(&mut self, node: &linfa_trees::TreeNode<f64, bool>, features: &[usize]) -> Result<i32> {
        let children = node.children();
        let (left, right) = match (node.is_leaf(), children[0], children[1]) {
            (false, Some(left), Some(right)) => (left, right),
            _ => {
                let leaf = i32::try_from(self.leaves.len())
                    .map_err(|_| invalid("max_depth", "the tree has more than 2^31 leaves"))?;
                self.leaves.push(0.0);
                return Ok(!leaf);
            }
        };
        let (local, threshold, _) = node.split();
        let feature = features
            .get(local)
            .and_then(|&f| u32::try_from(f).ok())
            .ok_or_else(|| invalid("x", "more than 2^32 features"))?;
        let index = self.nodes.len();
        let id = i32::try_from(index)
            .map_err(|_| invalid("max_depth", "the tree has more than 2^31 nodes"))?;
        self.nodes.push(Node {
            feature,
            threshold,
            left: 0,
            right: 0,
        });
        let left = self.push(left, features)?;
        let right = self.push(right, features)?;
        self.nodes[index].left = left;
        self.nodes[index].right = right;
        Ok(id)
    }

    /// Check children point forward and inside, features exist, leaves are
    /// probabilities.
    fn validate(&self, n_features: usize) -> Result<()> {
        let n_nodes = self.nodes.len();
        let n_leaves = self.leaves.len();
        if n_leaves != n_nodes + 1 {
            return Err(corrupt(
                "trees",
                format!(
                    "{n_nodes} splits need {} leaves, got {n_leaves}",
                    n_nodes + 1
                ),
            ));
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if node.feature as usize >= n_features || !node.threshold.is_finite() {
                return Err(corrupt(
                    "trees",
                    format!(
                        "node {i} splits on feature {} of {n_features} at {}",
                        node.feature, node.threshold
                    ),
                ));
            }
            for child in [node.left, node.right] {
                let ok = if child < 0 {
                    (!child as usize) < n_leaves
                } else {
                    (child as usize) > i && (child as usize) < n_nodes
                };
                if !ok {
                    return Err(corrupt(
                        "trees",
                        format!("node {i} has a child {child} out of place"),
                    ));
                }
            }
        }
        if self.leaves.iter().any(|p| !(0.0..=1.0).contains(p)) {
            return Err(corrupt("trees", "leaf probabilities must be in [0, 1]"));
        }
        Ok(())
    }
}

fn validate_trees<'a>(
    feature_names: &[String],
    missing_values: &[f64],
    trees: impl IntoIterator<Item = &'a FlatTree>,
) -> Result<()> {
    let p = feature_names.len();
    if missing_values.len() != p || missing_values.iter().any(|v| !v.is_finite()) {
        return Err(corrupt(
            "missing_values",
            format!(
                "need {p} finite missing values, got {}",
                missing_values.len()
            ),
        ));
    }
    trees.into_iter().try_for_each(|t| t.validate(p))
}

/// Grow one tree with linfa-trees on `rows` (repeats allowed) and
/// `features` of `train`, and set each leaf to the weighted share of
/// positives among those rows.
fn grow(
    train: &TrainingData<'_>,
    weights: &[f64],
    missing: &[f64],
    rows: &[usize],
    features: &[usize],
    params: &linfa_trees::DecisionTreeValidParams<f64, bool>,
) -> Result<FlatTree> {
    let x = train.x();
    let y = train.y();
    let records = Array2::from_shape_fn((rows.len(), features.len()), |(r, c)| {
        let f = features[c];
        impute(x[[rows[r], f]], missing[f])
    });
    let targets: Array1<bool> = rows.iter().map(|&r| y[r]).collect();
    let sample_weights: Vec<f64> = rows.iter().map(|&r| weights[r]).collect();
    let w = f32_weights(&sample_weights, targets.as_slice().unwrap_or(&[]))?;
    let dataset = linfa::DatasetBase::new(records, targets).with_weights(Array1::from(w.clone()));
    let fitted = params
        .fit(&dataset)
        .map_err(|e| upstream("linfa-trees", e))?;

    let mut tree = FlatTree::from_linfa(fitted.root_node(), features)?;
    let mut totals = vec![(0.0_f64, 0.0_f64); tree.leaves.len()];
    // The leaves count the weights themselves, not linfa's rounded ones.
    for (&r, &w) in rows.iter().zip(&sample_weights) {
        let row: ArrayView1<'_, f64> = x.row(r);
        let leaf = tree.leaf(|f| impute(row[f], missing[f]));
        totals[leaf].1 += w;
        if y[r] {
            totals[leaf].0 += w;
        }
    }
    // A leaf no row reaches (not expected) gets the sample's rate.
    let (pos, all) = totals
        .iter()
        .fold((0.0, 0.0), |(p, a), &(lp, la)| (p + lp, a + la));
    let fallback = if all > 0.0 { pos / all } else { 0.0 };
    for (value, &(pos, all)) in tree.leaves.iter_mut().zip(&totals) {
        *value = if all > 0.0 { pos / all } else { fallback };
    }
    Ok(tree)
}

/// The largest total of weight units whose sums f32 holds exactly.
const F32_EXACT: f64 = (1_u32 << 24) as f64;

/// The weights of rows (each above 0, `positive` saying which rows are
/// positives) as linfa-trees takes them: f32 on a grid on which every sum
/// is exact, positives a hair heavier so that no node's classes tie.
///
/// linfa-trees keeps weights in f32 and finds splits by adding them to the
/// left side and subtracting them from the right, row by row. At hundreds
/// of thousands of rows of fractional weight the rounding drifts apart
/// between the running total and the per-class totals, until a side it
/// believes heavy enough holds a class total at or below zero, and its
/// Gini computation panics. Weights that are whole multiples of a power of
/// two, `units / q` with the units summing to at most 2^24, add up exactly
/// in any order. `q` is the coarsest power of two on which every weight is
/// exact (1 for unit weights) if the total allows it, else the finest the
/// total allows, each row keeping at least one unit; rounding then moves a
/// weight by at most `total / (2^24 − n)`.
///
/// linfa-trees also labels each node with its heavier class, breaking an
/// exact tie by the iteration order of a `HashMap`, which is random; as it
/// merges sibling leaves of the same label, an exact tie makes the tree
/// differ from run to run (with unit weights, almost always). So when the
/// total leaves room for `t >= 2` units per unit, every weight is counted
/// in units of `1 / (q t)` and each positive row gets one such unit more:
/// classes then tie only when a node holds a multiple of `t` positives
/// whose weight is matched exactly, `t` being 2^14 for 1,000 rows of unit
/// weight and 64 for 200,000.
fn f32_weights(weights: &[f64], positive: &[bool]) -> Result<Vec<f32>> {
    let n = weights.len();
    let total: f64 = weights.iter().sum();
    let room = F32_EXACT - n as f64;
    if !(room > 0.0 && total > 0.0) {
        return Err(Error::ShapeMismatch(format!(
            "{n} rows: linfa-trees sums weights in f32, which counts up to 2^24 exactly; \
             fit on fewer rows"
        )));
    }
    let finest = (room / total).log2().floor() as i32;
    // The coarsest grid 2^-k (k >= 0) holding every weight exactly.
    let exact = (0..=finest.max(-1)).find(|&k| {
        let q = 2_f64.powi(k);
        weights.iter().all(|w| (w * q).fract() == 0.0)
    });
    let q = 2_f64.powi(exact.unwrap_or(finest));
    let units: Vec<f64> = weights.iter().map(|w| (w * q).round().max(1.0)).collect();
    let sum: f64 = units.iter().sum();
    let positives = positive.iter().filter(|&&p| p).count() as f64;
    let spare = ((F32_EXACT - positives) / sum).log2().floor() as i32;
    Ok(if spare >= 1 {
        let t = 2_f64.powi(spare);
        units
            .iter()
            .zip(positive)
            .map(|(u, &p)| ((u * t + f64::from(u8::from(p))) / (q * t)) as f32)
            .collect()
    } else {
        units.iter().map(|u| (u / q) as f32).collect()
    })
}

/// `v`, or the feature's missing value if `v` is NaN.
#[inline]
fn impute(v: f64, missing: f64) -> f64 {
    if v.is_nan() { missing } else { v }
}

/// For each column, a value below its values in `rows`: `min − max(max −
/// min, |min|, 1)`, or 0 for a column with no value.
fn missing_values(x: ArrayView2<'_, f64>, rows: &[usize]) -> Vec<f64> {
    (0..x.ncols())
        .into_par_iter()
        .map(|j| {
            let column = x.column(j);
            let (lo, hi) = rows
                .iter()
                .map(|&i| column[i])
                .filter(|v| v.is_finite())
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                    (lo.min(v), hi.max(v))
                });
            if lo > hi {
                0.0
            } else {
                lo - (hi - lo).max(lo.abs()).max(1.0)
            }
        })
        .collect()
}

/// SplitMix64 (Steele, Lea and Flood 2014), one stream per tree.
struct SplitMix64(u64);

impl SplitMix64 {
    /// The stream of tree `stream` of a forest seeded with `seed`.
    fn new(seed: u64, stream: u64) -> Self {
        let mut s = Self(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        // Decorrelate neighbouring streams.
        s.next_u64();
        s
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (Lemire's multiply-shift; bias below 2^-32 for the
    /// sizes here).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn missing_values_lie_below_the_column() {
        let x = array![
            [1.0, f64::NAN, -5.0],
            [3.0, f64::NAN, -4.0],
            [f64::NAN, f64::NAN, -4.5]
        ];
        assert_eq!(missing_values(x.view(), &[0, 1, 2]), vec![-1.0, 0.0, -10.0]);
        assert_eq!(missing_values(x.view(), &[1]), vec![0.0, 0.0, -8.0]);
    }

    #[test]
    fn single_leaf_tree_predicts_its_leaf() {
        let tree = FlatTree {
            nodes: vec![],
            leaves: vec![0.25],
        };
        assert_eq!(tree.predict(|_| 1.0), 0.25);
        assert_eq!(tree.depth(), 0);
        assert!(tree.validate(0).is_ok());
    }

    #[test]
    fn validation_catches_children_out_of_place() {
        let node = |left, right| Node {
            feature: 0,
            threshold: 0.5,
            left,
            right,
        };
        let ok = FlatTree {
            nodes: vec![node(!0, !1)],
            leaves: vec![0.0, 1.0],
        };
        assert!(ok.validate(1).is_ok());
        assert!(ok.validate(0).is_err());
        let cycle = FlatTree {
            nodes: vec![node(0, !1)],
            leaves: vec![0.0, 1.0],
        };
        assert!(cycle.validate(1).is_err());
        let outside = FlatTree {
            nodes: vec![node(!5, !1)],
            leaves: vec![0.0, 1.0],
        };
        assert!(outside.validate(1).is_err());
    }

    #[test]
    fn f32_weights_sum_exactly() {
        // 300,000 rows of weight 5/9 and 5: f32 running sums drift, the
        // rounded weights do not.
        let n = 300_000;
        let positive: Vec<bool> = (0..n).map(|i| i % 10 == 0).collect();
        let w: Vec<f64> = positive
            .iter()
            .map(|&p| if p { 5.0 } else { 5.0 / 9.0 })
            .collect();
        let w32 = f32_weights(&w, &positive).unwrap();
        let (mut up, mut exact) = (0.0_f32, 0.0_f64);
        for &v in &w32 {
            up += v;
            exact += f64::from(v);
        }
        assert_eq!(f64::from(up), exact);
        let mut down = up;
        for &v in &w32 {
            down -= v;
        }
        assert_eq!(down, 0.0);
        // Rounding moves each weight by at most total / (2^24 - n).
        let bound = w.iter().sum::<f64>() / (F32_EXACT - n as f64);
        for (a, b) in w.iter().zip(&w32) {
            assert!((a - f64::from(*b)).abs() <= bound, "{a} {b}");
        }
        // Tiny weights keep one unit.
        assert!(f32_weights(&[1e-30, 1.0], &[false, true]).unwrap()[0] > 0.0);
    }

    #[test]
    fn f32_weights_keep_whole_weights_and_break_ties() {
        // Unit weights: negatives exactly 1, positives 1 + 1/t.
        let positive: Vec<bool> = (0..1_000).map(|i| i % 3 == 0).collect();
        let w32 = f32_weights(&[1.0; 1_000], &positive).unwrap();
        let t = 2_f32.powi(14);
        for (v, p) in w32.iter().zip(&positive) {
            assert_eq!(*v, if *p { 1.0 + 1.0 / t } else { 1.0 });
        }
        // A class weight of 9.25 stays exact before the tie-breaking unit.
        let n = 200_000;
        let positive: Vec<bool> = (0..n).map(|i| i % 10 == 0).collect();
        let w: Vec<f64> = positive
            .iter()
            .map(|&p| if p { 9.25 } else { 1.0 })
            .collect();
        let w32 = f32_weights(&w, &positive).unwrap();
        let total: f64 = w.iter().sum();
        let bound = 2.0 * total / (F32_EXACT - (n / 10) as f64);
        for ((a, b), p) in w.iter().zip(&w32).zip(&positive) {
            let extra = f64::from(*b) - a;
            if *p {
                assert!(extra > 0.0 && extra <= bound, "{a} {b}");
            } else {
                assert_eq!(extra, 0.0);
            }
        }
    }

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = (0..4).map(|_| SplitMix64::new(1, 0).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            SplitMix64::new(1, 0).next_u64(),
            SplitMix64::new(1, 1).next_u64()
        );
        let mut r = SplitMix64::new(3, 4);
        assert!((0..1000).all(|_| r.below(7) < 7));
    }
}
