//! Standardisation of features: the mean and standard deviation of each
//! column, missing values counted as the mean.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{ROW_CHUNK, check_columns, corrupt};
use crate::error::{Error, Result};

/// The mean and scale of each feature, mapping `v` to `(v − mean) / scale`
/// and a missing value (NaN) to 0, the standardised mean.
///
/// Fitted on the training rows as scikit-learn's `StandardScaler` is
/// (population standard deviation), over the values that are not missing.
/// A feature that is constant, or missing in every row, has scale 1 (and
/// mean 0 when always missing), so it maps to 0 or a constant.
///
/// # Example
///
/// ```
/// use berserkr_model::train::Standardizer;
/// use ndarray::array;
///
/// let x = array![[1.0, 5.0], [3.0, 5.0], [f64::NAN, 5.0]];
/// let s = Standardizer::fit(x.view())?;
/// assert_eq!(s.means(), &[2.0, 5.0]);
/// assert_eq!(s.scales(), &[1.0, 1.0]); // 5.0 is constant
/// assert_eq!(s.transform(x.view())?, array![[-1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]);
/// # Ok::<(), berserkr_model::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    #[serde(with = "super::float_text::many")]
    means: Vec<f64>,
    #[serde(with = "super::float_text::many")]
    scales: Vec<f64>,
}

impl Standardizer {
    /// The mean and standard deviation of each column of `x`, NaN left out.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] if a value is infinite.
    pub fn fit(x: ArrayView2<'_, f64>) -> Result<Self> {
        let stats: Vec<Result<(f64, f64)>> = (0..x.ncols())
            .into_par_iter()
            .map(|j| {
                let col = x.column(j);
                let (mut n, mut sum) = (0_usize, 0.0);
                for (i, &v) in col.iter().enumerate() {
                    if v.is_infinite() {
                        return Err(Error::InvalidParameter {
                            name: "x",
                            reason: format!("value {v} in row {i}, column {j} is infinite"),
                        });
                    }
                    if !v.is_nan() {
                        n += 1;
                        sum += v;
                    }
                }
                if n == 0 {
                    return Ok((0.0, 1.0));
                }
                let mean = sum / n as f64;
                let ss: f64 = col
                    .iter()
                    .filter(|v| !v.is_nan())
                    .map(|v| (v - mean) * (v - mean))
                    .sum();
                let std = (ss / n as f64).sqrt();
                Ok((
                    mean,
                    if std > 0.0 && std.is_finite() {
                        std
                    } else {
                        1.0
                    },
                ))
            })
            .collect();
        let mut means = Vec::with_capacity(stats.len());
        let mut scales = Vec::with_capacity(stats.len());
        for s in stats {
            let (mean, scale) = s?;
            means.push(mean);
            scales.push(scale);
        }
        Ok(Self { means, scales })
    }

    /// The mean of each feature.
    pub fn means(&self) -> &[f64] {
        &self.means
    }

    /// The scale (standard deviation, or 1) of each feature.
    pub fn scales(&self) -> &[f64] {
        &self.scales
    }

    /// The standardised value of `v` in feature `j`.
    ///
    /// # Panics
    ///
    /// If `j` is not below the number of features.
    #[inline]
    pub fn standardize(&self, j: usize, v: f64) -> f64 {
        if v.is_nan() {
            0.0
        } else {
            (v - self.means[j]) / self.scales[j]
        }
    }

    /// Every value of `x` standardised, in parallel over rows.
    ///
    /// # Errors
    ///
    /// [`Error::ShapeMismatch`] if `x` has another number of columns than
    /// the standardizer was fitted on.
    pub fn transform(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>> {
        let p = self.means.len();
        check_columns(x, p)?;
        let mut out = vec![0.0; x.nrows() * p];
        if p > 0 {
            out.par_chunks_mut(ROW_CHUNK * p)
                .enumerate()
                .for_each(|(c, chunk)| {
                    for (i, row) in chunk.chunks_mut(p).enumerate() {
                        let src = x.row(c * ROW_CHUNK + i);
                        for (j, (o, &v)) in row.iter_mut().zip(src.iter()).enumerate() {
                            *o = self.standardize(j, v);
                        }
                    }
                });
        }
        Array2::from_shape_vec((x.nrows(), p), out).map_err(|e| Error::ShapeMismatch(e.to_string()))
    }

    /// One mean and one positive finite scale per feature.
    pub(crate) fn validate(&self, n_features: usize) -> Result<()> {
        if self.means.len() != n_features || self.scales.len() != n_features {
            return Err(corrupt(
                "standardizer",
                format!(
                    "{} means and {} scales for {n_features} features",
                    self.means.len(),
                    self.scales.len()
                ),
            ));
        }
        if self.means.iter().any(|m| !m.is_finite())
            || self.scales.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return Err(corrupt(
                "standardizer",
                "means must be finite and scales finite and above 0",
            ));
        }
        Ok(())
    }
}
