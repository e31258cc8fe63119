//! Growing one tree leaf-wise over the binned training rows.
//!
//! The rows of every leaf are a contiguous segment of `indices`, kept in
//! ascending order by stable partitions. A split builds the histogram of
//! the smaller child only and gets the larger one by subtracting it from
//! the parent's, feature by feature in parallel.

use rayon::prelude::*;

use super::binning::BinnedMatrix;
use super::hist::{self, BINS, BinStat, FeatureHist, GradHess, Split};
use super::params::GbdtValidParams;
use super::tree::{Node, Tree};

/// Leaves with fewer rows build the histograms of several features per
/// parallel task.
const SMALL_LEAF_ROWS: usize = 2048;

/// Features per task in a leaf of fewer than [`SMALL_LEAF_ROWS`] rows.
const FEATURES_PER_SMALL_TASK: usize = 16;

/// A leaf while the tree grows.
#[derive(Debug, Clone)]
struct Leaf {
    start: usize,
    len: usize,
    sum: BinStat,
    depth: usize,
    /// Slot of its histogram in the pool, kept while it may be split.
    hist: Option<usize>,
    split: Option<Split>,
    /// The node pointing at it, and on which side.
    parent: Option<(usize, bool)>,
}

/// Buffers reused by every tree of a fit.
#[derive(Debug)]
pub(crate) struct Grower<'a> {
    data: &'a BinnedMatrix,
    params: &'a GbdtValidParams,
    n_bins: Vec<usize>,
    indices: Vec<u32>,
    scratch: Vec<u32>,
    ordered: Vec<GradHess>,
    pool: Vec<Vec<FeatureHist>>,
    free: Vec<usize>,
}

/// A grown tree and the training rows of each of its leaves.
#[derive(Debug)]
pub(crate) struct Grown {
    pub(crate) tree: Tree,
    /// `(start, len)` in [`Grower::rows`] of each leaf's rows.
    pub(crate) segments: Vec<(usize, usize)>,
}

impl<'a> Grower<'a> {
    pub(crate) fn new(data: &'a BinnedMatrix, params: &'a GbdtValidParams) -> Self {
        let n = data.n_rows;
        Self {
            data,
            params,
            n_bins: data.mappers.iter().map(|m| m.n_bins()).collect(),
            indices: vec![0; n],
            scratch: vec![0; n],
            ordered: vec![GradHess::default(); n],
            pool: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Training rows by leaf, as laid out by the last [`grow`](Self::grow).
    pub(crate) fn rows(&self) -> &[u32] {
        &self.indices
    }

    /// Grow a tree on the rows `bag` (all rows if `None`, else ascending),
    /// splitting only on the features marked in `used`.
    pub(crate) fn grow(&mut self, gh: &[GradHess], bag: Option<&[u32]>, used: &[bool]) -> Grown {
        let p = self.params;
        let m = match bag {
            None => {
                for (i, r) in self.indices.iter_mut().enumerate() {
                    // The row count was checked to fit in u32.
                    *r = i as u32;
                }
                self.data.n_rows
            }
            Some(rows) => {
                self.indices[..rows.len()].copy_from_slice(rows);
                rows.len()
            }
        };
        let root_sum = match bag {
            None => BinStat::sum(gh.iter().copied()),
            Some(rows) => BinStat::sum(rows.iter().map(|&r| gh[r as usize])),
        };
        let mut leaves = vec![Leaf {
            start: 0,
            len: m,
            sum: root_sum,
            depth: 0,
            hist: None,
            split: None,
            parent: None,
        }];
        let mut nodes: Vec<Node> = Vec::new();
        let mut gains: Vec<f64> = Vec::new();

        if self.can_split(&leaves[0]) {
            let slot = self.alloc();
            let mut h = std::mem::take(&mut self.pool[slot]);
            let split = if bag.is_none() {
                let data = self.data;
                let n_bins = &self.n_bins;
                let best: Vec<Option<Split>> = h
                    .par_iter_mut()
                    .enumerate()
                    .map(|(f, fh)| {
                        if !used[f] {
                            return None;
                        }
                        hist::build_all(fh, n_bins[f], data.column(f), gh);
                        hist::best_split(fh, n_bins[f], f, &root_sum, p)
                    })
                    .collect();
                pick(best)
            } else {
                self.gather(gh, 0, m);
                let (best, _) =
                    self.build_and_split(&mut h, None, 0, m, Some(root_sum), None, used);
                best
            };
            self.pool[slot] = h;
            leaves[0].split = split;
            leaves[0].hist = Some(slot);
            if leaves[0].split.is_none() {
                self.release(&mut leaves[0]);
            }
        }

        while leaves.len() < p.num_leaves {
            // The leaf whose split gains most; ties to the older leaf.
            let mut best: Option<(usize, f64)> = None;
            for (i, leaf) in leaves.iter().enumerate() {
                if let Some(s) = &leaf.split
                    && best.is_none_or(|(_, g)| s.gain > g)
                {
                    best = Some((i, s.gain));
                }
            }
            let Some((l, _)) = best else {
                break;
            };
            let Some(split) = leaves[l].split.take() else {
                break;
            };
            let (start, len) = (leaves[l].start, leaves[l].len);
            let left_len = self.partition(start, len, &split);
            debug_assert_eq!(left_len as u64, split.left.n);

            let k = nodes.len();
            let r = leaves.len();
            nodes.push(Node {
                threshold: self.data.mappers[split.feature].upper[usize::from(split.bin) - 1],
                // Features were checked to fit in u32, leaves and nodes in i32.
                feature: split.feature as u32,
                left: !(l as i32),
                right: !(r as i32),
                default_left: split.default_left,
                bin: split.bin,
            });
            gains.push(split.gain);
            if let Some((parent, is_left)) = leaves[l].parent {
                if is_left {
                    nodes[parent].left = k as i32;
                } else {
                    nodes[parent].right = k as i32;
                }
            }
            let depth = leaves[l].depth + 1;
            let parent_slot = leaves[l].hist.take();
            leaves[l] = Leaf {
                start,
                len: left_len,
                sum: split.left,
                depth,
                hist: None,
                split: None,
                parent: Some((k, true)),
            };
            leaves.push(Leaf {
                start: start + left_len,
                len: len - left_len,
                sum: split.right,
                depth,
                hist: None,
                split: None,
                parent: Some((k, false)),
            });
            let (small, large) = if leaves[l].len <= leaves[r].len {
                (l, r)
            } else {
                (r, l)
            };
            let can_small = self.can_split(&leaves[small]);
            let can_large = self.can_split(&leaves[large]);
            let Some(parent_slot) = parent_slot else {
                continue;
            };
            if !can_small && !can_large {
                self.free.push(parent_slot);
                continue;
            }
            let small_slot = self.alloc();
            let mut small_h = std::mem::take(&mut self.pool[small_slot]);
            let mut parent_h = std::mem::take(&mut self.pool[parent_slot]);
            let (s_start, s_len) = (leaves[small].start, leaves[small].len);
            self.gather(gh, s_start, s_len);
            let (small_split, large_split) = self.build_and_split(
                &mut small_h,
                can_large.then_some(&mut parent_h),
                s_start,
                s_len,
                can_small.then_some(leaves[small].sum),
                can_large.then_some(leaves[large].sum),
                used,
            );
            self.pool[small_slot] = small_h;
            self.pool[parent_slot] = parent_h;
            leaves[small].hist = Some(small_slot);
            leaves[small].split = small_split;
            leaves[large].hist = Some(parent_slot);
            leaves[large].split = large_split;
            for i in [small, large] {
                if leaves[i].split.is_none() {
                    self.release(&mut leaves[i]);
                }
            }
        }

        for leaf in &mut leaves {
            if let Some(slot) = leaf.hist.take() {
                self.free.push(slot);
            }
        }
        let lr = p.learning_rate;
        let leaf_values = leaves
            .iter()
            .map(|l| hist::leaf_output(&l.sum, p.lambda_l2) * lr)
            .collect();
        let segments = leaves.iter().map(|l| (l.start, l.len)).collect();
        Grown {
            tree: Tree {
                nodes,
                leaf_values,
                gains,
            },
            segments,
        }
    }

    fn can_split(&self, leaf: &Leaf) -> bool {
        let p = self.params;
        leaf.len >= 2 * p.min_data_in_leaf
            && leaf.sum.h >= 2.0 * p.min_sum_hessian_in_leaf
            && p.max_depth.is_none_or(|d| leaf.depth < d)
    }

    /// A free histogram slot, allocating one when none is free.
    fn alloc(&mut self) -> usize {
        match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.pool
                    .push(vec![[BinStat::default(); BINS]; self.data.mappers.len()]);
                self.pool.len() - 1
            }
        }
    }

    fn release(&mut self, leaf: &mut Leaf) {
        if let Some(slot) = leaf.hist.take() {
            self.free.push(slot);
        }
    }

    /// Gradients of the rows `indices[start..start + len]`, gathered into
    /// `ordered[..len]`.
    fn gather(&mut self, gh: &[GradHess], start: usize, len: usize) {
        const CHUNK: usize = 1 << 14;
        let rows = &self.indices[start..start + len];
        self.ordered[..len]
            .par_chunks_mut(CHUNK)
            .zip(rows.par_chunks(CHUNK))
            .for_each(|(out, rows)| {
                for (o, &r) in out.iter_mut().zip(rows) {
                    *o = gh[r as usize];
                }
            });
    }

    /// Build the histogram of the rows `indices[start..start + len]` (whose
    /// gradients are in `ordered`) into `small`; where `large` is given,
    /// subtract it from there. Returns the best split of each where its sum
    /// is given.
    #[allow(clippy::too_many_arguments)]
    fn build_and_split(
        &self,
        small: &mut [FeatureHist],
        large: Option<&mut Vec<FeatureHist>>,
        start: usize,
        len: usize,
        small_sum: Option<BinStat>,
        large_sum: Option<BinStat>,
        used: &[bool],
    ) -> (Option<Split>, Option<Split>) {
        let p = self.params;
        let data = self.data;
        let n_bins = &self.n_bins;
        let rows = &self.indices[start..start + len];
        let ordered = &self.ordered[..len];
        let one = |f: usize, sh: &mut FeatureHist, lh: Option<&mut FeatureHist>| {
            if !used[f] {
                return (None, None);
            }
            hist::build_rows(sh, n_bins[f], data.column(f), rows, ordered);
            let s = small_sum.and_then(|sum| hist::best_split(sh, n_bins[f], f, &sum, p));
            let l = match (lh, large_sum) {
                (Some(lh), Some(sum)) => {
                    hist::subtract(lh, sh, n_bins[f]);
                    hist::best_split(lh, n_bins[f], f, &sum, p)
                }
                _ => None,
            };
            (s, l)
        };
        // A small leaf's features still cost a subtraction and a scan of
        // their bins each, so they are shared out, a few per task.
        let per_task = if len >= SMALL_LEAF_ROWS {
            1
        } else {
            FEATURES_PER_SMALL_TASK
        };
        let best: Vec<(Option<Split>, Option<Split>)> = match large {
            Some(large) => small
                .par_iter_mut()
                .zip(large.par_iter_mut())
                .with_min_len(per_task)
                .enumerate()
                .map(|(f, (sh, lh))| one(f, sh, Some(lh)))
                .collect(),
            None => small
                .par_iter_mut()
                .with_min_len(per_task)
                .enumerate()
                .map(|(f, sh)| one(f, sh, None))
                .collect(),
        };
        let (s, l): (Vec<_>, Vec<_>) = best.into_iter().unzip();
        (pick(s), pick(l))
    }

    /// Stable partition of `indices[start..start + len]` by `split`;
    /// returns how many rows went left.
    ///
    /// Chunks are partitioned in parallel (lefts in place, rights to
    /// `scratch`), then the parts are joined in chunk order.
    fn partition(&mut self, start: usize, len: usize, split: &Split) -> usize {
        const CHUNK: usize = 1 << 15;
        let col = self.data.column(split.feature);
        let seg = &mut self.indices[start..start + len];
        let scratch = &mut self.scratch[..len];
        let (bin, default_left) = (split.bin, split.default_left);
        let part = |seg: &mut [u32], scratch: &mut [u32]| {
            let mut n_left = 0;
            let mut n_right = 0;
            for i in 0..seg.len() {
                let r = seg[i];
                let b = col[r as usize];
                let left = if b == 0 { default_left } else { b <= bin };
                if left {
                    seg[n_left] = r;
                    n_left += 1;
                } else {
                    scratch[n_right] = r;
                    n_right += 1;
                }
            }
            n_left
        };
        if len <= CHUNK {
            let n_left = part(seg, scratch);
            seg[n_left..].copy_from_slice(&scratch[..len - n_left]);
            return n_left;
        }
        let lefts: Vec<usize> = seg
            .par_chunks_mut(CHUNK)
            .zip(scratch.par_chunks_mut(CHUNK))
            .map(|(seg, scratch)| part(seg, scratch))
            .collect();
        let mut at = 0;
        for (k, &n_left) in lefts.iter().enumerate() {
            seg.copy_within(k * CHUNK..k * CHUNK + n_left, at);
            at += n_left;
        }
        let n_left = at;
        for (k, &n_left_k) in lefts.iter().enumerate() {
            let n_right = (len - k * CHUNK).min(CHUNK) - n_left_k;
            seg[at..at + n_right].copy_from_slice(&scratch[k * CHUNK..k * CHUNK + n_right]);
            at += n_right;
        }
        n_left
    }
}

/// The best of the features' best splits, ties to the lower feature.
fn pick(candidates: Vec<Option<Split>>) -> Option<Split> {
    let mut best: Option<Split> = None;
    for s in candidates.into_iter().flatten() {
        if s.better_than(best.as_ref()) {
            best = Some(s);
        }
    }
    best
}
