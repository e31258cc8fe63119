//! Gradient histograms and the best split of one feature's histogram.

use super::params::GbdtValidParams;

/// Bins reserved per feature: every `u8` has a slot, so a bin index needs
/// no bounds check.
pub(crate) const BINS: usize = 256;

/// Gradient and hessian of one row, weights applied.
///
/// Single precision, as LightGBM stores them: half the memory traffic per
/// row; the sums are taken in double precision.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GradHess {
    pub(crate) g: f32,
    pub(crate) h: f32,
}

/// Sums over the rows of a bin, a leaf or a child.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct BinStat {
    pub(crate) g: f64,
    pub(crate) h: f64,
    pub(crate) n: u64,
}

impl BinStat {
    #[inline]
    fn add(&mut self, gh: GradHess) {
        self.g += f64::from(gh.g);
        self.h += f64::from(gh.h);
        self.n += 1;
    }

    #[inline]
    fn plus(self, o: Self) -> Self {
        Self {
            g: self.g + o.g,
            h: self.h + o.h,
            n: self.n + o.n,
        }
    }

    #[inline]
    pub(crate) fn minus(self, o: Self) -> Self {
        Self {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }

    pub(crate) fn sum(items: impl IntoIterator<Item = GradHess>) -> Self {
        let mut s = Self::default();
        for gh in items {
            s.add(gh);
        }
        s
    }
}

/// One feature's histogram.
pub(crate) type FeatureHist = [BinStat; BINS];

/// Rows below which one histogram copy is enough (see [`build_rows`]).
const INTERLEAVE_MIN_ROWS: usize = 2048;

/// Histogram of every row: `col` and `gh` are indexed by row. Only the
/// first `n_bins` bins (those the feature has) are written.
pub(crate) fn build_all(hist: &mut FeatureHist, n_bins: usize, col: &[u8], gh: &[GradHess]) {
    let n = col.len().min(gh.len());
    let (col, gh) = (&col[..n], &gh[..n]);
    hist[..n_bins].fill(BinStat::default());
    if n < INTERLEAVE_MIN_ROWS {
        for (&b, &g) in col.iter().zip(gh) {
            hist[usize::from(b)].add(g);
        }
        return;
    }
    let mut extra = [[BinStat::default(); BINS]; 3];
    let [e1, e2, e3] = &mut extra;
    let (bins4, gh4) = (col.chunks_exact(4), gh.chunks_exact(4));
    let (bins_rest, gh_rest) = (bins4.remainder(), gh4.remainder());
    for (b, g) in bins4.zip(gh4) {
        hist[usize::from(b[0])].add(g[0]);
        e1[usize::from(b[1])].add(g[1]);
        e2[usize::from(b[2])].add(g[2]);
        e3[usize::from(b[3])].add(g[3]);
    }
    for (&b, &g) in bins_rest.iter().zip(gh_rest) {
        hist[usize::from(b)].add(g);
    }
    merge(hist, &extra, n_bins);
}

/// Histogram of the rows `rows`, whose gradients were gathered into
/// `ordered` (`ordered[i]` is the gradient of row `rows[i]`). Only the
/// first `n_bins` bins are written.
///
/// Consecutive rows often share a bin (missing values, small counts,
/// codes), and each add must then wait for the previous one to be stored.
/// Large sets go round-robin into four copies, summed at the end in a
/// fixed order, so four chains run at once. The loops walk exact chunks of
/// four so that only the gather from `col` keeps a bounds check.
pub(crate) fn build_rows(
    hist: &mut FeatureHist,
    n_bins: usize,
    col: &[u8],
    rows: &[u32],
    ordered: &[GradHess],
) {
    let n = rows.len().min(ordered.len());
    let (rows, ordered) = (&rows[..n], &ordered[..n]);
    hist[..n_bins].fill(BinStat::default());
    if n < INTERLEAVE_MIN_ROWS {
        for (&r, &g) in rows.iter().zip(ordered) {
            hist[usize::from(col[r as usize])].add(g);
        }
        return;
    }
    // The copies are zeroed whole: a constant length compiles to a plain
    // memset, and large sets make it cheap.
    let mut extra = [[BinStat::default(); BINS]; 3];
    let [e1, e2, e3] = &mut extra;
    let (rows4, gh4) = (rows.chunks_exact(4), ordered.chunks_exact(4));
    let (rows_rest, gh_rest) = (rows4.remainder(), gh4.remainder());
    for (r, g) in rows4.zip(gh4) {
        let (b0, b1, b2, b3) = (
            col[r[0] as usize],
            col[r[1] as usize],
            col[r[2] as usize],
            col[r[3] as usize],
        );
        hist[usize::from(b0)].add(g[0]);
        e1[usize::from(b1)].add(g[1]);
        e2[usize::from(b2)].add(g[2]);
        e3[usize::from(b3)].add(g[3]);
    }
    for (&r, &g) in rows_rest.iter().zip(gh_rest) {
        hist[usize::from(col[r as usize])].add(g);
    }
    merge(hist, &extra, n_bins);
}

/// Add the three extra copies into `hist`, in a fixed order.
fn merge(hist: &mut FeatureHist, extra: &[FeatureHist; 3], n_bins: usize) {
    let [e1, e2, e3] = extra;
    for (((h, a), b), c) in hist[..n_bins]
        .iter_mut()
        .zip(e1.iter())
        .zip(e2.iter())
        .zip(e3.iter())
    {
        *h = h.plus(*a).plus(*b).plus(*c);
    }
}

/// `parent -= child`, over the first `n_bins` bins.
pub(crate) fn subtract(parent: &mut FeatureHist, child: &FeatureHist, n_bins: usize) {
    for (p, c) in parent[..n_bins].iter_mut().zip(&child[..n_bins]) {
        *p = p.minus(*c);
    }
}

/// A split of a leaf: the rows of `feature` in bins `1..=bin` go left,
/// missing values (bin 0) go left if `default_left`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Split {
    pub(crate) feature: usize,
    pub(crate) bin: u8,
    pub(crate) default_left: bool,
    pub(crate) gain: f64,
    pub(crate) left: BinStat,
    pub(crate) right: BinStat,
}

impl Split {
    /// Whether `self` is better than `other`: more gain, ties to the lower
    /// feature (scanning features in order), so the choice is deterministic.
    pub(crate) fn better_than(&self, other: Option<&Split>) -> bool {
        match other {
            None => true,
            Some(o) => self.gain > o.gain || (self.gain == o.gain && self.feature < o.feature),
        }
    }
}

/// The regularised score `G^2 / (H + lambda)` of a set of rows.
#[inline]
fn score(s: &BinStat, lambda: f64) -> f64 {
    s.g * s.g / (s.h + lambda)
}

/// Newton step `-G / (H + lambda)`.
pub(crate) fn leaf_output(s: &BinStat, lambda: f64) -> f64 {
    let denom = s.h + lambda;
    if denom > 0.0 { -s.g / denom } else { 0.0 }
}

/// The best split of one feature's histogram, trying missing values on
/// either side, or `None` when no split satisfies the constraints.
pub(crate) fn best_split(
    hist: &FeatureHist,
    n_bins: usize,
    feature: usize,
    total: &BinStat,
    p: &GbdtValidParams,
) -> Option<Split> {
    let lambda = p.lambda_l2;
    let min_n = p.min_data_in_leaf as u64;
    let min_h = p.min_sum_hessian_in_leaf;
    let parent_score = score(total, lambda);
    let min_gain = p.min_gain_to_split;
    let missing = hist[0];
    let n_values = n_bins - 1;
    let mut best: Option<Split> = None;

    let consider = |left: BinStat, bin: usize, default_left: bool, best: &mut Option<Split>| {
        let right = total.minus(left);
        if left.n < min_n || right.n < min_n || left.h < min_h || right.h < min_h {
            return;
        }
        let gain = score(&left, lambda) + score(&right, lambda) - parent_score;
        if gain > min_gain && best.as_ref().is_none_or(|b| gain > b.gain) {
            *best = Some(Split {
                feature,
                // `bin < BINS`, so the cast cannot truncate.
                bin: bin as u8,
                default_left,
                gain,
                left,
                right,
            });
        }
    };

    // Missing values right: bins 1..=t left. `t == n_values` (every value
    // left) isolates the missing values, if there are any.
    let mut left = BinStat::default();
    let last = if missing.n > 0 {
        n_values
    } else {
        n_values - 1
    };
    for (t, stat) in hist.iter().enumerate().take(last + 1).skip(1) {
        left = left.plus(*stat);
        if left.n < min_n {
            continue;
        }
        if total.n - left.n < min_n {
            break;
        }
        consider(left, t, false, &mut best);
    }
    if missing.n > 0 {
        // Missing values left: bin 0 and bins 1..=t left.
        let mut left = missing;
        for (t, stat) in hist.iter().enumerate().take(n_values).skip(1) {
            left = left.plus(*stat);
            if left.n < min_n {
                continue;
            }
            if total.n - left.n < min_n {
                break;
            }
            consider(left, t, true, &mut best);
        }
    } else if let Some(b) = best.as_mut() {
        // No missing value was seen here: send unseen ones to the larger side.
        b.default_left = b.left.n >= b.right.n;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gbdt::GbdtParams;

    fn hist_of(bins: &[u8], gh: &[GradHess]) -> Box<FeatureHist> {
        let mut h = Box::new([BinStat::default(); BINS]);
        build_all(&mut h, BINS, bins, gh);
        h
    }

    fn unit(g: f32) -> GradHess {
        GradHess { g, h: 1.0 }
    }

    #[test]
    fn splits_where_gradients_change_sign() {
        let p = GbdtParams::new().with_min_data_in_leaf(1).check().unwrap();
        let bins = [1, 1, 2, 2, 3, 3];
        let gh: Vec<_> = [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0].map(unit).to_vec();
        let h = hist_of(&bins, &gh);
        let total = BinStat::sum(gh.iter().copied());
        let s = best_split(&h, 4, 0, &total, &p).unwrap();
        // bins 1..=1 left gives 4/2 + 4/4 - 0 = 3; bins 1..=2 gives 9/4 + 1 ... ties broken by first
        assert_eq!(s.left.n + s.right.n, 6);
        assert!(s.gain > 0.0);
    }

    #[test]
    fn missing_values_can_be_isolated() {
        let p = GbdtParams::new().with_min_data_in_leaf(1).check().unwrap();
        // One value bin; the missing rows alone carry the signal.
        let bins = [0, 0, 1, 1, 1, 1];
        let gh: Vec<_> = [1.0, 1.0, -0.5, -0.5, -0.5, -0.5].map(unit).to_vec();
        let h = hist_of(&bins, &gh);
        let total = BinStat::sum(gh.iter().copied());
        let s = best_split(&h, 2, 0, &total, &p).unwrap();
        assert_eq!((s.bin, s.default_left), (1, false));
        assert_eq!(s.right.n, 2);
    }

    #[test]
    fn respects_min_data_in_leaf() {
        let p = GbdtParams::new().with_min_data_in_leaf(4).check().unwrap();
        let bins = [1, 2, 2, 2, 2, 2];
        let gh: Vec<_> = [5.0, -1.0, -1.0, -1.0, -1.0, -1.0].map(unit).to_vec();
        let h = hist_of(&bins, &gh);
        let total = BinStat::sum(gh.iter().copied());
        assert!(best_split(&h, 3, 0, &total, &p).is_none());
    }
}
