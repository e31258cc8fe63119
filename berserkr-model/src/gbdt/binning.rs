//! Quantile binning of the features into a column-major `u8` matrix.
//!
//! Bin 0 of every feature holds the missing values (NaN); bins `1..=n`
//! hold the values, bin `i` being those `v` with
//! `upper[i - 2] < v <= upper[i - 1]`. The last upper bound is `+inf`, so
//! that every number has a bin, and a split "bins `1..=t` go left" is the
//! raw-value test `v <= upper[t - 1]`.

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::rng::SplitMix64;
use crate::order_key::{from_order_key, order_key};

/// The bin edges of one feature.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BinMapper {
    /// Upper bounds of the value bins, ascending; the last is `+inf`.
    pub(crate) upper: Vec<f64>,
}

impl BinMapper {
    /// Edges from a sample of a feature's values, NaN included (and ignored);
    /// see [`from_keys`](Self::from_keys).
    #[cfg(test)]
    pub(crate) fn from_sample(values: Vec<f64>, max_bins: usize) -> Self {
        Self::from_keys(
            values
                .into_iter()
                .filter(|v| !v.is_nan())
                .map(order_key)
                .collect(),
            max_bins,
        )
    }

    /// Edges from a sample of a feature's values, given as their
    /// [`order_key`](crate::order_key::order_key)s, NaN left out.
    ///
    /// Few distinct values get a bin each, bounded halfway between
    /// neighbours; more get `max_bins` bins of about equal counts, a value
    /// more frequent than a bin's share taking a bin of its own.
    fn from_keys(mut keys: Vec<u64>, max_bins: usize) -> Self {
        // Sorted as integer keys: twice as fast as `f64::total_cmp` on the
        // continuous features, and the same order.
        keys.sort_unstable();
        // Distinct values and their counts; -0.0 and 0.0 are one value.
        let mut distinct: Vec<(f64, usize)> = Vec::new();
        for v in keys.into_iter().map(from_order_key) {
            match distinct.last_mut() {
                Some((last, count)) if *last == v => *count += 1,
                _ => distinct.push((v, 1)),
            }
        }
        let mut upper = Vec::new();
        if distinct.len() <= max_bins {
            for pair in distinct.windows(2) {
                upper.push(midpoint(pair[0].0, pair[1].0));
            }
        } else {
            let mut rest: usize = distinct.iter().map(|&(_, c)| c).sum();
            let mut bins_left = max_bins;
            let mut in_bin = 0;
            for (i, &(v, count)) in distinct.iter().enumerate() {
                in_bin += count;
                let Some(&(next, _)) = distinct.get(i + 1) else {
                    break;
                };
                // Close the bin once it holds its share of what is left;
                // close it early when the next value alone would overfill it.
                let share = rest as f64 / bins_left as f64;
                let next_count = distinct[i + 1].1;
                let full = in_bin as f64 >= share
                    || (in_bin as f64 + next_count as f64 > share * 1.5 && in_bin > 0);
                if full && bins_left > 1 {
                    upper.push(midpoint(v, next));
                    rest -= in_bin;
                    in_bin = 0;
                    bins_left -= 1;
                }
            }
        }
        upper.push(f64::INFINITY);
        Self { upper }
    }

    /// Bins in all, the missing-value bin included.
    pub(crate) fn n_bins(&self) -> usize {
        self.upper.len() + 1
    }

    /// The bin of a value.
    #[inline]
    pub(crate) fn bin(&self, v: f64) -> u8 {
        if v.is_nan() {
            0
        } else {
            // At most 255 value bins, so the cast cannot truncate.
            (1 + self.upper.partition_point(|&u| u < v)) as u8
        }
    }
}

/// Halfway between two sorted distinct values, or the lower one where the
/// halfway point is not finite (an infinite value).
fn midpoint(lo: f64, hi: f64) -> f64 {
    let mid = lo + (hi - lo) / 2.0;
    if mid.is_finite() && mid >= lo && mid < hi {
        mid
    } else {
        lo
    }
}

/// Features binned together: a row's values for a group share a cache line
/// or two of a row-major matrix, so a group's pass over the rows reads each
/// line once instead of once per feature.
const FEATURE_GROUP: usize = 8;

/// The training rows in bins, one contiguous column per feature.
#[derive(Debug)]
pub(crate) struct BinnedMatrix {
    pub(crate) n_rows: usize,
    pub(crate) mappers: Vec<BinMapper>,
    /// Column-major: feature `f` is `bins[f * n_rows..(f + 1) * n_rows]`.
    pub(crate) bins: Vec<u8>,
}

impl BinnedMatrix {
    /// Bin edges from up to `sample_size` rows drawn with `seed`, then every
    /// row binned. Parallel over groups of features.
    pub(crate) fn new(
        x: ArrayView2<'_, f64>,
        max_bins: usize,
        sample_size: usize,
        seed: u64,
    ) -> Self {
        let (n_rows, n_features) = x.dim();
        let sample = sample_rows(n_rows, sample_size, seed);
        let features: Vec<usize> = (0..n_features).collect();
        let mappers: Vec<BinMapper> = features
            .par_chunks(FEATURE_GROUP)
            .flat_map(|group| {
                let sampled = sample.as_ref().map_or(n_rows, Vec::len);
                let mut keys = vec![Vec::with_capacity(sampled); group.len()];
                let mut take = |r: usize| {
                    for (k, &f) in keys.iter_mut().zip(group) {
                        let v = x[[r, f]];
                        if !v.is_nan() {
                            k.push(order_key(v));
                        }
                    }
                };
                match &sample {
                    Some(rows) => rows.iter().for_each(|&r| take(r)),
                    None => (0..n_rows).for_each(take),
                }
                // Sorted one feature per task: the continuous features,
                // the slow ones, are not spread evenly over the groups.
                keys.into_par_iter()
                    .map(|k| BinMapper::from_keys(k, max_bins))
            })
            .collect();
        let bins = bin_columns(x, &mappers);
        Self {
            n_rows,
            mappers,
            bins,
        }
    }

    /// Other rows of the same features (a validation set) in these bins,
    /// column-major: feature `f` of row `r` is at `f * x.nrows() + r`.
    pub(crate) fn bin_rows(&self, x: ArrayView2<'_, f64>) -> Vec<u8> {
        bin_columns(x, &self.mappers)
    }

    /// The bins of feature `f`, one per row.
    #[inline]
    pub(crate) fn column(&self, f: usize) -> &[u8] {
        &self.bins[f * self.n_rows..(f + 1) * self.n_rows]
    }
}

/// Every row of `x` in the bins of `mappers` (one per column), column-major.
fn bin_columns(x: ArrayView2<'_, f64>, mappers: &[BinMapper]) -> Vec<u8> {
    let n_rows = x.nrows();
    let mut bins = vec![0u8; n_rows * mappers.len()];
    if n_rows > 0 {
        bins.par_chunks_mut(FEATURE_GROUP * n_rows)
            .zip(mappers.par_chunks(FEATURE_GROUP))
            .enumerate()
            .for_each(|(g, (out, group))| {
                let first = g * FEATURE_GROUP;
                for r in 0..n_rows {
                    for (k, mapper) in group.iter().enumerate() {
                        out[k * n_rows + r] = mapper.bin(x[[r, first + k]]);
                    }
                }
            });
    }
    bins
}

/// `k` of `n` row indices, ascending, by selection sampling; `None` when all
/// rows are taken.
fn sample_rows(n: usize, k: usize, seed: u64) -> Option<Vec<usize>> {
    if k >= n {
        return None;
    }
    let mut rng = SplitMix64::new(seed ^ 0x6269_6e73);
    let mut rows = Vec::with_capacity(k);
    let mut needed = k;
    for r in 0..n {
        if rng.below(n - r) < needed {
            rows.push(r);
            needed -= 1;
            if needed == 0 {
                break;
            }
        }
    }
    Some(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_values_get_a_bin_each() {
        let m = BinMapper::from_sample(vec![3.0, 1.0, f64::NAN, 2.0, 1.0], 255);
        assert_eq!(m.upper, vec![1.5, 2.5, f64::INFINITY]);
        assert_eq!(m.bin(f64::NAN), 0);
        assert_eq!(m.bin(1.0), 1);
        assert_eq!(m.bin(1.5), 1);
        assert_eq!(m.bin(2.0), 2);
        assert_eq!(m.bin(3.0), 3);
        assert_eq!(m.bin(1e300), 3);
        assert_eq!(m.bin(-1e300), 1);
    }

    #[test]
    fn many_values_get_equal_counts() {
        let values: Vec<f64> = (0..10_000).map(f64::from).collect();
        let m = BinMapper::from_sample(values.clone(), 10);
        assert_eq!(m.n_bins(), 11);
        let mut counts = [0usize; 11];
        for v in values {
            counts[m.bin(v) as usize] += 1;
        }
        assert_eq!(counts[0], 0);
        for c in &counts[1..] {
            assert!((900..=1100).contains(c), "{counts:?}");
        }
    }

    #[test]
    fn a_heavy_value_gets_its_own_bin() {
        let mut values = vec![0.0; 5_000];
        values.extend((1..=5_000).map(f64::from));
        let m = BinMapper::from_sample(values, 16);
        assert_eq!(m.bin(0.0), 1);
        assert_eq!(m.bin(1.0), 2);
        assert!(m.n_bins() <= 17);
    }

    #[test]
    fn all_missing_or_constant_has_one_value_bin() {
        assert_eq!(BinMapper::from_sample(vec![f64::NAN; 4], 255).n_bins(), 2);
        assert_eq!(BinMapper::from_sample(vec![7.0; 4], 255).n_bins(), 2);
        assert_eq!(BinMapper::from_sample(vec![], 255).n_bins(), 2);
    }

    #[test]
    fn infinities_are_ordered_values() {
        let m = BinMapper::from_sample(vec![f64::NEG_INFINITY, 0.0, f64::INFINITY], 255);
        assert!(m.bin(f64::NEG_INFINITY) < m.bin(0.0));
        assert!(m.bin(0.0) < m.bin(f64::INFINITY));
    }

    #[test]
    fn sampled_rows_are_sorted_and_distinct() {
        let rows = sample_rows(1000, 100, 7).unwrap();
        assert_eq!(rows.len(), 100);
        assert!(rows.windows(2).all(|w| w[0] < w[1]));
        assert!(sample_rows(10, 10, 7).is_none());
    }
}
