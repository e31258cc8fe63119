//! A fitted tree as flat arrays of nodes and leaf values.

/// A split node. Children are node indices, or `!leaf` (negative) for a
/// leaf.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Node {
    /// Rows with `x[feature] <= threshold` go left.
    #[serde(with = "crate::train::float_text::one")]
    pub(crate) threshold: f64,
    pub(crate) feature: u32,
    pub(crate) left: i32,
    pub(crate) right: i32,
    /// Where a missing value (NaN) goes.
    pub(crate) default_left: bool,
    /// The same test on binned training rows: bins `1..=bin` go left.
    pub(crate) bin: u8,
}

/// One tree: `nodes[0]` is the root, unless the tree is a single leaf
/// (`nodes` empty, one leaf value).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
    /// Leaf outputs, learning rate applied.
    #[serde(with = "crate::train::float_text::many")]
    pub(crate) leaf_values: Vec<f64>,
    /// Loss reduction of each node's split, for feature importance.
    #[serde(with = "crate::train::float_text::many")]
    pub(crate) gains: Vec<f64>,
}

impl Tree {
    /// Adds the output of each row of `rows` (row-major, `n_features`
    /// values each) to `out`; see [`Lockstep`].
    pub(crate) fn add_block(
        &self,
        lockstep: &Lockstep,
        rows: &[f64],
        n_features: usize,
        out: &mut [f64],
    ) {
        self.add_lockstep(lockstep, out, |row, node| {
            let v = rows[row * n_features + node.feature as usize];
            (v <= node.threshold) | (v.is_nan() & node.default_left)
        });
    }

    /// Adds the output of training rows `start..start + out.len()` to
    /// `out`, from the binned columns (`bins[feature * n_rows + row]`).
    pub(crate) fn add_binned(
        &self,
        lockstep: &Lockstep,
        bins: &[u8],
        n_rows: usize,
        start: usize,
        out: &mut [f64],
    ) {
        self.add_lockstep(lockstep, out, |row, node| {
            let bin = bins[node.feature as usize * n_rows + start + row];
            // Bin 0 holds the missing values.
            (bin != 0 && bin <= node.bin) | (bin == 0 && node.default_left)
        });
    }

    /// Adds the output of training row `rows[i]` to `out[i]`, from the
    /// binned columns (`bins[feature * n_rows + row]`).
    pub(crate) fn add_binned_rows(
        &self,
        lockstep: &Lockstep,
        bins: &[u8],
        n_rows: usize,
        rows: &[u32],
        out: &mut [f64],
    ) {
        self.add_lockstep(lockstep, out, |i, node| {
            let bin = bins[node.feature as usize * n_rows + rows[i] as usize];
            (bin != 0 && bin <= node.bin) | (bin == 0 && node.default_left)
        });
    }

    /// Adds the output of rows `0..out.len()` to `out`, advancing a block
    /// of rows together one level at a time; `goes_left(row, node)` is the
    /// test of a split node on a row.
    #[inline(always)]
    fn add_lockstep(
        &self,
        lockstep: &Lockstep,
        out: &mut [f64],
        goes_left: impl Fn(usize, &LockstepNode) -> bool,
    ) {
        let mut at = [0u32; LOCKSTEP_ROWS];
        for (b, out) in out.chunks_mut(LOCKSTEP_ROWS).enumerate() {
            let first = b * LOCKSTEP_ROWS;
            let at = &mut at[..out.len()];
            at.fill(0);
            for level in 0..lockstep.depth {
                // Most rows end in the shallow leaves: once every row of
                // the block is in a leaf, the remaining levels are skipped.
                if level >= lockstep.shallowest_leaf
                    && at.iter().all(|&i| i as usize >= lockstep.first_leaf)
                {
                    break;
                }
                for (r, i) in at.iter_mut().enumerate() {
                    let node = &lockstep.nodes[*i as usize];
                    *i = if goes_left(first + r, node) {
                        node.left
                    } else {
                        node.right
                    };
                }
            }
            for (o, &i) in out.iter_mut().zip(at.iter()) {
                *o += self.leaf_values[i as usize - lockstep.first_leaf];
            }
        }
    }
}

/// Rows a [`Lockstep`] traversal advances together.
pub(crate) const LOCKSTEP_ROWS: usize = 64;

/// A tree laid out for traversing many rows at once: every leaf is a node
/// whose children are itself, so that each row takes exactly `depth`
/// steps. With no exit test per row, the steps of different rows do not
/// wait on each other and no branch is mispredicted.
#[derive(Debug, Clone)]
pub(crate) struct Lockstep {
    nodes: Vec<LockstepNode>,
    /// Index in `nodes` of leaf 0.
    first_leaf: usize,
    depth: usize,
    /// Depth of the shallowest leaf: no row is in a leaf before it.
    shallowest_leaf: usize,
}

#[derive(Debug, Clone, Copy)]
struct LockstepNode {
    threshold: f64,
    feature: u32,
    left: u32,
    right: u32,
    default_left: bool,
    bin: u8,
}

impl Lockstep {
    pub(crate) fn new(tree: &Tree) -> Self {
        let first_leaf = tree.nodes.len();
        let index = |child: i32| -> u32 {
            // Nodes and leaves were checked to fit in i32 when grown.
            if child < 0 {
                (first_leaf + !child as usize) as u32
            } else {
                child as u32
            }
        };
        let mut nodes: Vec<LockstepNode> = tree
            .nodes
            .iter()
            .map(|n| LockstepNode {
                threshold: n.threshold,
                feature: n.feature,
                left: index(n.left),
                right: index(n.right),
                default_left: n.default_left,
                bin: n.bin,
            })
            .collect();
        nodes.extend((0..tree.leaf_values.len()).map(|leaf| {
            let me = (first_leaf + leaf) as u32;
            LockstepNode {
                threshold: 0.0,
                feature: 0,
                left: me,
                right: me,
                default_left: false,
                bin: 0,
            }
        }));
        // Depth of the deepest leaf. Children come after their parents, in
        // grown trees and in every model that passed `Gbdt::validate`.
        let mut depth_of = vec![0usize; nodes.len()];
        let mut depth = 0;
        for (i, n) in tree.nodes.iter().enumerate() {
            for child in [n.left, n.right] {
                let c = index(child) as usize;
                depth_of[c] = depth_of[i] + 1;
                depth = depth.max(depth_of[c]);
            }
        }
        let shallowest_leaf = depth_of[first_leaf..].iter().copied().min().unwrap_or(0);
        Self {
            nodes,
            first_leaf,
            depth,
            shallowest_leaf,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain traversal, one row at a time: the reference.
    fn leaf(tree: &Tree, value: impl Fn(usize) -> Option<u8>) -> usize {
        let mut i: i32 = if tree.nodes.is_empty() { -1 } else { 0 };
        while i >= 0 {
            let node = &tree.nodes[i as usize];
            let left = match value(node.feature as usize) {
                None => node.default_left,
                Some(b) => b <= node.bin,
            };
            i = if left { node.left } else { node.right };
        }
        !i as usize
    }

    /// Bins 1..=10 stand for the values 1.0..=10.0, bin 0 for NaN.
    fn node(feature: u32, bin: u8, left: i32, right: i32, default_left: bool) -> Node {
        Node {
            threshold: f64::from(bin),
            feature,
            left,
            right,
            default_left,
            bin,
        }
    }

    /// A lopsided tree: leaves at depths 1, 2, 4, 4 and 3.
    fn lopsided() -> Tree {
        Tree {
            nodes: vec![
                node(0, 5, !0, 1, false),
                node(1, 3, 2, !1, true),
                node(0, 8, 3, !2, false),
                node(1, 7, !3, !4, true),
            ],
            leaf_values: vec![1.0, 2.0, 3.0, 4.0, 5.0],
            gains: vec![1.0; 4],
        }
    }

    #[test]
    fn lockstep_traversals_agree_with_the_plain_one() {
        let single = Tree {
            nodes: Vec::new(),
            leaf_values: vec![0.25],
            gains: Vec::new(),
        };
        for tree in [lopsided(), single] {
            let lockstep = Lockstep::new(&tree);
            // Every pair of bins, missing included, and a row count that
            // leaves a partial block.
            let mut bins: Vec<[u8; 2]> = Vec::new();
            for a in 0..=10u8 {
                for b in 0..=10u8 {
                    bins.push([a, b]);
                }
            }
            let n = bins.len();
            assert!(!n.is_multiple_of(LOCKSTEP_ROWS));
            let raw: Vec<f64> = bins
                .iter()
                .flat_map(|r| r.map(|b| if b == 0 { f64::NAN } else { f64::from(b) }))
                .collect();
            let columns: Vec<u8> = (0..2)
                .flat_map(|f| bins.iter().map(move |r| r[f]))
                .collect();
            let expected: Vec<f64> = bins
                .iter()
                .map(|r| 0.5 + tree.leaf_values[leaf(&tree, |f| Some(r[f]).filter(|&b| b != 0))])
                .collect();

            let mut from_raw = vec![0.5; n];
            tree.add_block(&lockstep, &raw, 2, &mut from_raw);
            assert_eq!(from_raw, expected);

            let mut from_bins = vec![0.5; n];
            let (head, tail) = from_bins.split_at_mut(40);
            tree.add_binned(&lockstep, &columns, n, 0, head);
            tree.add_binned(&lockstep, &columns, n, 40, tail);
            assert_eq!(from_bins, expected);

            // Every third row, backwards, as a list.
            let rows: Vec<u32> = (0..n as u32).rev().step_by(3).collect();
            let mut listed = vec![0.5; rows.len()];
            tree.add_binned_rows(&lockstep, &columns, n, &rows, &mut listed);
            let expected_listed: Vec<f64> = rows.iter().map(|&r| expected[r as usize]).collect();
            assert_eq!(listed, expected_listed);
        }
    }
}
