//! Scoring (customer, item) pairs with a fitted model, ranking the items of
//! each customer, and model files.
//!
//! A [`Scorer`] is a fitted [`Model`], an optional [`Calibration`] fitted on
//! held-out rows, and optionally the definitions of the features it was
//! trained on (the JSON of a `berserkr_features` feature set, kept as a
//! string). It knows its features by name: the feature matrix it scores may
//! hold them in any order, among others, and a feature it needs that is
//! missing is an error naming it.
//!
//! [`Scorer::score`] returns one row per pair, in the order given:
//!
//! | Column | Type | |
//! |---|---|---|
//! | `CustomerID` | `Int64` | the customer (any integer type is read) |
//! | `StockCode` | `Utf8` | the item (any string type or a dictionary of strings is read) |
//! | `probability` | `Float64` | the calibrated probability that the customer buys the item |
//! | `rank` | `UInt32` | 1 for the customer's most likely item; ties by `StockCode`, ascending |
//!
//! [`top_n`] keeps the first `n` of each customer. Prediction runs in
//! parallel over chunks of rows, ranking in parallel over customers.
//!
//! # Model files
//!
//! [`Scorer::save`] writes JSON, with a format version that
//! [`Scorer::load`] checks before anything else:
//!
//! ```json
//! {
//!   "format": "berserkr-model/1",
//!   "trainer": "random_forest",
//!   "feature_names": ["recency", "frequency"],
//!   "model": { "...": "the fitted model's own fields" },
//!   "calibration": { "method": "platt", "a": "0.93", "b": "-0.11" },
//!   "definitions": "{ ...berserkr-features JSON... }"
//! }
//! ```
//!
//! `calibration` and `definitions` are `null` when absent. Numbers are
//! written as strings in Rust's shortest round-trip form (`"0.1"`,
//! `"-3.2e-7"`), so that a loaded model gives the same probabilities bit
//! for bit; plain JSON numbers are read too. A file of
//! another format, or of a later version of this one, is refused with an
//! error saying which it is; a damaged model (a tree child out of place, a
//! coefficient missing) is refused on loading rather than failing later.
//!
//! # Basic usage
//!
//! ```
//! use std::sync::Arc;
//!
//! use arrow::array::{Int64Array, StringArray, UInt32Array};
//! use arrow::datatypes::{DataType, Field, Schema};
//! use arrow::record_batch::RecordBatch;
//! use berserkr_model::score::{Scorer, top_n};
//! use berserkr_model::train::{LogisticRegression, TrainingData};
//! use ndarray::{Array2, array};
//!
//! // Train on one feature: bought when it is large.
//! let x = Array2::from_shape_fn((200, 1), |(i, _)| (i % 50) as f64);
//! let y: Vec<bool> = (0..200).map(|i| (i * 37) % 50 < i % 50).collect();
//! let names = vec!["spend".to_string()];
//! let model = LogisticRegression::params().check()?.fit(&TrainingData::new(x.view(), &y, &names)?)?;
//! let scorer = Scorer::new(model);
//!
//! // Two customers, three candidate items each, and their feature.
//! let pairs = RecordBatch::try_new(
//!     Arc::new(Schema::new(vec![
//!         Field::new("CustomerID", DataType::Int64, false),
//!         Field::new("StockCode", DataType::Utf8, false),
//!     ])),
//!     vec![
//!         Arc::new(Int64Array::from(vec![7, 7, 7, 9, 9, 9])),
//!         Arc::new(StringArray::from(vec!["A", "B", "C", "A", "B", "C"])),
//!     ],
//! )?;
//! let features = array![[10.0], [40.0], [25.0], [5.0], [5.0], [45.0]];
//!
//! let scored = scorer.score(&pairs, features.view(), &names)?;
//! let rank = scored.column_by_name("rank").unwrap();
//! // Customer 7 likes B, then C; customer 9 likes C, then A before B (a tie).
//! assert_eq!(rank.as_ref(), &UInt32Array::from(vec![3, 1, 2, 2, 3, 1]));
//! assert_eq!(top_n(&scored, 1)?.num_rows(), 2);
//!
//! // Save, load, score again.
//! let mut file = Vec::new();
//! scorer.save(&mut file)?;
//! let loaded = Scorer::load(file.as_slice())?;
//! assert_eq!(loaded.score(&pairs, features.view(), &names)?, scored);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, StringArray, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use ndarray::{Array1, ArrayView2, Axis, CowArray, Ix2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::calibration::{Calibration, CalibrationMethod};
use crate::error::{Error, Result};
use crate::train::{
    BoostedTrees, Classifier, DecisionTree, LogisticRegression, Model, RandomForest,
};

/// The customer column of the pairs and of the scores.
pub const CUSTOMER_ID: &str = "CustomerID";
/// The item column of the pairs and of the scores.
pub const STOCK_CODE: &str = "StockCode";
/// The probability column of the scores.
pub const PROBABILITY: &str = "probability";
/// The rank column of the scores.
pub const RANK: &str = "rank";
/// The format a model file is written in, and the only one read.
pub const FORMAT: &str = "berserkr-model/1";

/// The family of model file formats; a later version is `berserkr-model/2`.
const FORMAT_FAMILY: &str = "berserkr-model/";

/// A fitted model ready to score: the model, an optional calibration of its
/// probabilities, and the definitions of its features.
#[derive(Debug, Clone)]
pub struct Scorer {
    model: Model,
    calibration: Option<Calibration>,
    definitions: Option<String>,
}

impl Scorer {
    /// A scorer of `model`'s probabilities, uncalibrated.
    pub fn new(model: impl Into<Model>) -> Self {
        Self {
            model: model.into(),
            calibration: None,
            definitions: None,
        }
    }

    /// Calibrate the model's probabilities with `calibration` (default
    /// none).
    pub fn with_calibration(mut self, calibration: Calibration) -> Self {
        self.calibration = Some(calibration);
        self
    }

    /// Keep the definitions of the features, saved and loaded with the
    /// model (default none): the JSON of the `berserkr_features` feature set
    /// whose matrix the model was trained on, so that the same features can
    /// be computed on later data.
    pub fn with_definitions(mut self, definitions: impl Into<String>) -> Self {
        self.definitions = Some(definitions.into());
        self
    }

    /// Fit a calibration of `method` on held-out rows `x` (columns named by
    /// `feature_names`) and their `labels`, replacing any calibration.
    ///
    /// # Errors
    ///
    /// Those of [`Scorer::predict_proba`] and [`Calibration::fit`].
    pub fn calibrate(
        mut self,
        method: CalibrationMethod,
        x: ArrayView2<'_, f64>,
        feature_names: &[String],
        labels: &[bool],
        weights: Option<&[f64]>,
    ) -> Result<Self> {
        let x = self.align(x, feature_names)?;
        let p = self.model.predict_proba(x.view())?;
        let p = p.as_slice().map_or_else(|| p.to_vec(), <[f64]>::to_vec);
        self.calibration = Some(Calibration::fit(method, &p, labels, weights)?);
        Ok(self)
    }

    /// The fitted model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The calibration, if any.
    pub fn calibration(&self) -> Option<&Calibration> {
        self.calibration.as_ref()
    }

    /// The feature definitions, if any.
    pub fn definitions(&self) -> Option<&str> {
        self.definitions.as_deref()
    }

    /// The features the model needs.
    pub fn feature_names(&self) -> &[String] {
        self.model.feature_names()
    }

    /// The calibrated probability of each row of `x`, whose columns are
    /// named by `feature_names`: the model's features in any order, among
    /// others.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the features the model needs that
    /// `feature_names` lacks, or a name that repeats;
    /// [`Error::ShapeMismatch`] if `x` does not have one column per name.
    pub fn predict_proba(
        &self,
        x: ArrayView2<'_, f64>,
        feature_names: &[String],
    ) -> Result<Array1<f64>> {
        let x = self.align(x, feature_names)?;
        let mut p = self.model.predict_proba(x.view())?;
        if let Some(c) = &self.calibration {
            match p.as_slice_mut() {
                Some(s) => c.calibrate_all(s),
                None => p.mapv_inplace(|v| c.calibrate(v)),
            }
        }
        Ok(p)
    }

    /// Score every (customer, item) pair of `pairs` from its row of
    /// `features` (columns named by `feature_names`), and rank the items of
    /// each customer.
    ///
    /// `pairs` needs a `CustomerID` column of integers and a `StockCode`
    /// column of strings, without nulls; other columns are ignored. Row `i`
    /// of `features` is the pair in row `i`. The result has the columns of
    /// the [module documentation](self), one row per pair in the same order.
    ///
    /// # Errors
    ///
    /// Those of [`predict_proba`](Self::predict_proba);
    /// [`Error::ShapeMismatch`] if `pairs` and `features` differ in rows;
    /// [`Error::Arrow`] if a column is missing, of another type, or has a
    /// null.
    pub fn score(
        &self,
        pairs: &RecordBatch,
        features: ArrayView2<'_, f64>,
        feature_names: &[String],
    ) -> Result<RecordBatch> {
        if pairs.num_rows() != features.nrows() {
            return Err(Error::ShapeMismatch(format!(
                "{} pairs but {} rows of features",
                pairs.num_rows(),
                features.nrows()
            )));
        }
        let customers = int64_column(pairs, CUSTOMER_ID)?;
        let items = utf8_column(pairs, STOCK_CODE)?;
        let p = self.predict_proba(features, feature_names)?;
        let p = p.to_vec();
        let ranks = rank_within_customers(customers.values(), &items, &p)?;
        let batch = RecordBatch::try_new(
            scored_schema(),
            vec![
                Arc::new(customers) as ArrayRef,
                Arc::new(items),
                Arc::new(Float64Array::from(p)),
                Arc::new(UInt32Array::from(ranks)),
            ],
        )?;
        Ok(batch)
    }

    /// The model's features, found by name among the columns of `x`.
    fn align<'a>(
        &self,
        x: ArrayView2<'a, f64>,
        feature_names: &[String],
    ) -> Result<CowArray<'a, f64, Ix2>> {
        let needed = self.model.feature_names();
        if x.ncols() != feature_names.len() {
            return Err(Error::ShapeMismatch(format!(
                "{} columns of features but {} feature names",
                x.ncols(),
                feature_names.len()
            )));
        }
        if feature_names == needed {
            return Ok(CowArray::from(x));
        }
        let mut index = HashMap::with_capacity(feature_names.len());
        for (j, name) in feature_names.iter().enumerate() {
            if index.insert(name.as_str(), j).is_some() {
                return Err(Error::InvalidParameter {
                    name: "feature_names",
                    reason: format!("feature {name:?} appears more than once"),
                });
            }
        }
        let missing: Vec<&str> = needed
            .iter()
            .map(String::as_str)
            .filter(|n| !index.contains_key(n))
            .collect();
        if !missing.is_empty() {
            return Err(missing_features(&missing, needed.len()));
        }
        let columns: Vec<usize> = needed.iter().map(|n| index[n.as_str()]).collect();
        Ok(CowArray::from(x.select(Axis(1), &columns)))
    }

    /// Write the scorer as a model file (JSON, format [`FORMAT`]).
    ///
    /// # Errors
    ///
    /// [`Error::Arrow`] wrapping the I/O or JSON error.
    pub fn save(&self, writer: impl Write) -> Result<()> {
        let file = FileRef {
            format: FORMAT,
            trainer: self.model.trainer(),
            feature_names: self.model.feature_names(),
            model: match &self.model {
                Model::LogisticRegression(m) => ModelRef::LogisticRegression(m),
                Model::DecisionTree(m) => ModelRef::DecisionTree(m),
                Model::RandomForest(m) => ModelRef::RandomForest(m),
                Model::BoostedTrees(m) => ModelRef::BoostedTrees(m),
            },
            calibration: self.calibration.as_ref(),
            definitions: self.definitions.as_deref(),
        };
        let mut writer = writer;
        serde_json::to_writer(&mut writer, &file).map_err(json_error)?;
        writer
            .flush()
            .map_err(|e| Error::Arrow(ArrowError::IoError("writing a model file".into(), e)))
    }

    /// Write the scorer to a model file at `path`, replacing it.
    ///
    /// # Errors
    ///
    /// As [`save`](Self::save), and [`Error::Arrow`] wrapping the error of
    /// creating the file.
    pub fn save_to_path(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| {
            Error::Arrow(ArrowError::IoError(
                format!("creating {}", path.display()),
                e,
            ))
        })?;
        self.save(BufWriter::new(file))
    }

    /// Read a scorer from a model file.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming `format` if the file is not a
    /// model file or is of another version, `trainer` for an unknown
    /// trainer, or what is damaged in the model; [`Error::Arrow`] wrapping
    /// the I/O or JSON error.
    pub fn load(reader: impl Read) -> Result<Self> {
        let value: serde_json::Value = serde_json::from_reader(reader).map_err(json_error)?;
        match value.get("format").and_then(serde_json::Value::as_str) {
            Some(FORMAT) => {}
            Some(other) if other.starts_with(FORMAT_FAMILY) => {
                return Err(file_error(
                    "format",
                    format!("the model file is in format {other}, this build reads {FORMAT} only"),
                ));
            }
            Some(other) => {
                return Err(file_error(
                    "format",
                    format!("not a berserkr model file: format {other:?}, expected {FORMAT}"),
                ));
            }
            None => {
                return Err(file_error(
                    "format",
                    format!("not a berserkr model file: no \"format\" field (expected {FORMAT})"),
                ));
            }
        }
        let file: FileV1 = serde_json::from_value(value).map_err(json_error)?;
        let model = match file.trainer.as_str() {
            "logistic_regression" => Model::from(parse::<LogisticRegression>(file.model)?),
            "decision_tree" => Model::from(parse::<DecisionTree>(file.model)?),
            "random_forest" => Model::from(parse::<RandomForest>(file.model)?),
            "boosted_trees" => Model::from(parse::<BoostedTrees>(file.model)?),
            other => {
                return Err(file_error(
                    "trainer",
                    format!(
                        "unknown trainer {other:?}; this build knows logistic_regression, \
                         decision_tree, random_forest and boosted_trees"
                    ),
                ));
            }
        };
        model.validate()?;
        if model.feature_names() != file.feature_names.as_slice() {
            return Err(file_error(
                "feature_names",
                "the file's feature_names differ from its model's",
            ));
        }
        Ok(Self {
            model,
            calibration: file.calibration,
            definitions: file.definitions,
        })
    }

    /// Read a scorer from the model file at `path`.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load), and [`Error::Arrow`] wrapping the error of
    /// opening the file.
    pub fn load_from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| {
            Error::Arrow(ArrowError::IoError(
                format!("opening {}", path.display()),
                e,
            ))
        })?;
        Self::load(BufReader::new(file))
    }
}

/// The schema of [`Scorer::score`]'s result.
pub fn scored_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new(CUSTOMER_ID, DataType::Int64, false),
        Field::new(STOCK_CODE, DataType::Utf8, false),
        Field::new(PROBABILITY, DataType::Float64, false),
        Field::new(RANK, DataType::UInt32, false),
    ]))
}

/// The rows of `scored` (the result of [`Scorer::score`], or any batch with
/// `CustomerID` and `rank` columns) ranked `n` or better, ordered by
/// customer, ascending, then rank.
///
/// # Errors
///
/// [`Error::InvalidParameter`] if `n` is 0; [`Error::Arrow`] if a column is
/// missing, of another type, or has a null.
///
/// # Example
///
/// ```
/// use std::sync::Arc;
///
/// use arrow::array::{Float64Array, Int64Array, StringArray, UInt32Array};
/// use arrow::record_batch::RecordBatch;
/// use berserkr_model::score::{scored_schema, top_n};
///
/// let scored = RecordBatch::try_new(
///     scored_schema(),
///     vec![
///         Arc::new(Int64Array::from(vec![9, 7, 9, 7])),
///         Arc::new(StringArray::from(vec!["A", "A", "B", "B"])),
///         Arc::new(Float64Array::from(vec![0.1, 0.8, 0.6, 0.3])),
///         Arc::new(UInt32Array::from(vec![2, 1, 1, 2])),
///     ],
/// )?;
/// let top = top_n(&scored, 1)?;
/// assert_eq!(top.column(0).as_ref(), &Int64Array::from(vec![7, 9]));
/// assert_eq!(top.column(1).as_ref(), &StringArray::from(vec!["A", "B"]));
/// # Ok::<(), berserkr_model::Error>(())
/// ```
pub fn top_n(scored: &RecordBatch, n: usize) -> Result<RecordBatch> {
    if n == 0 {
        return Err(Error::InvalidParameter {
            name: "n",
            reason: "must be at least 1".into(),
        });
    }
    let customers = int64_column(scored, CUSTOMER_ID)?;
    let rank = column(scored, RANK)?;
    let rank = cast(rank, &DataType::UInt32)?;
    let rank = rank
        .as_any()
        .downcast_ref::<UInt32Array>()
        .ok_or_else(|| ArrowError::SchemaError(format!("column {RANK} is not UInt32")))?;
    no_nulls(rank, RANK)?;
    let limit = u32::try_from(n).unwrap_or(u32::MAX);
    let (customers, ranks) = (customers.values(), rank.values());
    let mut keep: Vec<u32> = (0..scored.num_rows())
        .filter(|&i| ranks[i] <= limit)
        .map(|i| i as u32)
        .collect();
    keep.par_sort_unstable_by_key(|&i| (customers[i as usize], ranks[i as usize], i));
    Ok(take_record_batch(scored, &UInt32Array::from(keep))?)
}

/// Rank each row among the rows of its customer: by probability,
/// descending (NaN last), then item, ascending, then row.
fn rank_within_customers(customers: &[i64], items: &StringArray, p: &[f64]) -> Result<Vec<u32>> {
    if u32::try_from(customers.len()).is_err() {
        return Err(Error::ShapeMismatch(format!(
            "{} pairs: at most 2^32 - 1 are ranked at once",
            customers.len()
        )));
    }
    let mut groups: HashMap<i64, Vec<u32>> = HashMap::new();
    for (i, &c) in customers.iter().enumerate() {
        groups.entry(c).or_default().push(i as u32);
    }
    let key = |i: u32| {
        let v = p[i as usize];
        if v.is_nan() { f64::NEG_INFINITY } else { v }
    };
    let ranked: Vec<Vec<u32>> = groups
        .into_par_iter()
        .map(|(_, mut rows)| {
            rows.sort_unstable_by(|&a, &b| {
                key(b)
                    .total_cmp(&key(a))
                    .then_with(|| items.value(a as usize).cmp(items.value(b as usize)))
                    .then(a.cmp(&b))
            });
            rows
        })
        .collect();
    let mut ranks = vec![0_u32; customers.len()];
    for rows in ranked {
        for (r, &i) in rows.iter().enumerate() {
            // Fewer rows than 2^32, checked above.
            ranks[i as usize] = r as u32 + 1;
        }
    }
    Ok(ranks)
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch.column_by_name(name).ok_or_else(|| {
        Error::Arrow(ArrowError::SchemaError(format!(
            "no column {name} among {:?}",
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
        )))
    })
}

fn no_nulls(array: &dyn Array, name: &str) -> Result<()> {
    match array
        .nulls()
        .and_then(|n| (0..n.len()).find(|&i| n.is_null(i)))
    {
        None => Ok(()),
        Some(row) => Err(Error::Arrow(ArrowError::InvalidArgumentError(format!(
            "column {name} is null in row {row}"
        )))),
    }
}

/// Column `name` as Int64, cast from any integer type.
fn int64_column(batch: &RecordBatch, name: &str) -> Result<Int64Array> {
    let array = column(batch, name)?;
    if !array.data_type().is_integer() {
        return Err(Error::Arrow(ArrowError::SchemaError(format!(
            "column {name} must be of integers, got {}",
            array.data_type()
        ))));
    }
    let array = cast(array, &DataType::Int64)?;
    no_nulls(&array, name)?;
    array
        .as_any()
        .downcast_ref::<Int64Array>()
        .cloned()
        .ok_or_else(|| Error::Arrow(ArrowError::SchemaError(format!("column {name}: cast"))))
}

/// Column `name` as Utf8, cast from any string type or dictionary of
/// strings.
fn utf8_column(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    let array = column(batch, name)?;
    let is_string =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let ok = match array.data_type() {
        DataType::Dictionary(_, value) => is_string(value),
        t => is_string(t),
    };
    if !ok {
        return Err(Error::Arrow(ArrowError::SchemaError(format!(
            "column {name} must be of strings, got {}",
            array.data_type()
        ))));
    }
    let array = cast(array, &DataType::Utf8)?;
    no_nulls(&array, name)?;
    array
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| Error::Arrow(ArrowError::SchemaError(format!("column {name}: cast"))))
}

/// The error for features the model needs that the data lacks.
fn missing_features(missing: &[&str], needed: usize) -> Error {
    const SHOWN: usize = 20;
    let mut list = missing
        .iter()
        .take(SHOWN)
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    if missing.len() > SHOWN {
        list.push_str(&format!(" and {} more", missing.len() - SHOWN));
    }
    Error::InvalidParameter {
        name: "feature_names",
        reason: format!(
            "the data lacks {} of the model's {needed} features: {list}",
            missing.len()
        ),
    }
}

/// A model file that is not what it should be.
fn file_error(what: &'static str, reason: impl Into<String>) -> Error {
    Error::InvalidParameter {
        name: what,
        reason: reason.into(),
    }
}

/// A JSON (or underlying I/O) error of a model file, its source kept.
fn json_error(e: serde_json::Error) -> Error {
    Error::Arrow(ArrowError::ExternalError(Box::new(e)))
}

fn parse<T: serde::de::DeserializeOwned>(model: serde_json::Value) -> Result<T> {
    serde_json::from_value(model).map_err(json_error)
}

#[derive(Serialize)]
struct FileRef<'a> {
    format: &'static str,
    trainer: &'static str,
    feature_names: &'a [String],
    model: ModelRef<'a>,
    calibration: Option<&'a Calibration>,
    definitions: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum ModelRef<'a> {
    LogisticRegression(&'a LogisticRegression),
    DecisionTree(&'a DecisionTree),
    RandomForest(&'a RandomForest),
    BoostedTrees(&'a BoostedTrees),
}

#[derive(Deserialize)]
struct FileV1 {
    trainer: String,
    feature_names: Vec<String>,
    model: serde_json::Value,
    #[serde(default)]
    calibration: Option<Calibration>,
    #[serde(default)]
    definitions: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_break_ties_by_item_then_row() {
        let customers = [1, 2, 1, 1, 2, 1];
        let items = StringArray::from(vec!["b", "x", "a", "c", "y", "a"]);
        let p = [0.5, 0.1, 0.5, 0.9, f64::NAN, 0.5];
        let ranks = rank_within_customers(&customers, &items, &p).unwrap();
        // Customer 1: c (0.9), then a (row 2), a (row 5), b tied at 0.5.
        // Customer 2: x, then y whose NaN ranks last.
        assert_eq!(ranks, vec![4, 1, 2, 1, 2, 3]);
    }

    #[test]
    fn missing_features_are_listed() {
        let e = missing_features(&["a", "b"], 5);
        assert!(
            e.to_string()
                .contains("lacks 2 of the model's 5 features: \"a\", \"b\""),
            "{e}"
        );
        let many: Vec<String> = (0..25).map(|i| format!("f{i}")).collect();
        let refs: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(
            missing_features(&refs, 30)
                .to_string()
                .ends_with("and 5 more")
        );
    }
}
