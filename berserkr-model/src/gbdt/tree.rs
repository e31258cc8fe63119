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
    /// The leaf a raw row (one value per feature) falls into.
    ///
    /// Branch-free steps (a select, not a jump, picks the child), so that
    /// the traversals of several rows overlap.
    #[inline]
    pub(crate) fn leaf(&self, row: &[f64]) -> usize {
        let mut i: i32 = if self.nodes.is_empty() { -1 } else { 0 };
        while i >= 0 {
            let node = &self.nodes[i as usize];
            let v = row[node.feature as usize];
            let left = (v <= node.threshold) | (v.is_nan() & node.default_left);
            i = if left { node.left } else { node.right };
        }
        !i as usize
    }

    /// The output of a raw row.
    #[inline]
    pub(crate) fn predict_row(&self, row: &[f64]) -> f64 {
        self.leaf_values[self.leaf(row)]
    }

    /// The leaf of training row `row`, from the binned columns.
    pub(crate) fn leaf_binned(&self, bins: &[u8], n_rows: usize, row: usize) -> usize {
        if self.nodes.is_empty() {
            return 0;
        }
        let mut i = 0usize;
        loop {
            let node = &self.nodes[i];
            let b = bins[node.feature as usize * n_rows + row];
            let go_left = if b == 0 {
                node.default_left
            } else {
                b <= node.bin
            };
            let next = if go_left { node.left } else { node.right };
            if next < 0 {
                return !next as usize;
            }
            i = next as usize;
        }
    }
}
