//! Items bought by the same customers: each item's nearest neighbours by
//! the cosine similarity of their sets of buyers, the item-to-item
//! collaborative filter behind "customers who bought this also bought".
//!
//! The problem's `pair.similarity_*` features score a candidate item by
//! how close its neighbours are to what the customer already bought, which
//! is what tells apart, among the popular items a customer never bought,
//! those that fit their habits.

use rayon::prelude::*;

/// Each item's `k` most similar items, with their similarity, most similar
/// first (ties: the smaller item id first).
#[derive(Debug, Clone, Default)]
pub(crate) struct ItemNeighbours {
    /// `neighbours[offsets[i]..offsets[i + 1]]` are item `i`'s.
    offsets: Vec<usize>,
    neighbours: Vec<(u32, f32)>,
}

impl ItemNeighbours {
    /// The neighbours of items `0..items` from `baskets`: for each customer,
    /// the distinct items it bought, ascending. Two items' similarity is
    /// `both / sqrt(bought_i × bought_j)`, over customers.
    ///
    /// The work is `Σ basket²` over customers, spread over items, each
    /// computed on its own, so the result is the same on any number of
    /// threads.
    pub(crate) fn new<B: AsRef<[u32]> + Sync>(items: usize, baskets: &[B], k: usize) -> Self {
        // Buyers of each item (a transposition of the baskets).
        let mut buyer_offsets = vec![0usize; items + 1];
        for basket in baskets {
            for &item in basket.as_ref() {
                buyer_offsets[item as usize + 1] += 1;
            }
        }
        for i in 0..items {
            buyer_offsets[i + 1] += buyer_offsets[i];
        }
        let mut buyers = vec![0u32; buyer_offsets[items]];
        let mut next = buyer_offsets.clone();
        for (customer, basket) in baskets.iter().enumerate() {
            for &item in basket.as_ref() {
                buyers[next[item as usize]] = customer as u32;
                next[item as usize] += 1;
            }
        }
        let bought = |item: usize| (buyer_offsets[item + 1] - buyer_offsets[item]) as f32;

        let per_item: Vec<Vec<(u32, f32)>> = (0..items)
            .into_par_iter()
            .map_init(
                || (vec![0u32; items], Vec::new()),
                |(together, touched), item| {
                    for &customer in &buyers[buyer_offsets[item]..buyer_offsets[item + 1]] {
                        for &other in baskets[customer as usize].as_ref() {
                            let slot = &mut together[other as usize];
                            if *slot == 0 {
                                touched.push(other);
                            }
                            *slot += 1;
                        }
                    }
                    let own = bought(item);
                    let mut near: Vec<(u32, f32)> = touched
                        .iter()
                        .filter(|&&other| other as usize != item)
                        .map(|&other| {
                            let both = together[other as usize] as f32;
                            (other, both / (own * bought(other as usize)).sqrt())
                        })
                        .collect();
                    for &other in touched.iter() {
                        together[other as usize] = 0;
                    }
                    touched.clear();
                    let order =
                        |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
                    if near.len() > k {
                        near.select_nth_unstable_by(k, order);
                        near.truncate(k);
                    }
                    near.sort_unstable_by(order);
                    // Held for every item: only the kept ones take memory.
                    near.shrink_to_fit();
                    near
                },
            )
            .collect();
        let mut offsets = Vec::with_capacity(items + 1);
        offsets.push(0);
        let mut neighbours = Vec::with_capacity(per_item.iter().map(Vec::len).sum());
        for near in per_item {
            neighbours.extend(near);
            offsets.push(neighbours.len());
        }
        Self {
            offsets,
            neighbours,
        }
    }

    /// The neighbours of `item` (none for an item out of range).
    pub(crate) fn of(&self, item: u32) -> &[(u32, f32)] {
        let i = item as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&start), Some(&end)) => &self.neighbours[start..end],
            _ => &[],
        }
    }

    /// How `item` fits `basket` (ascending item ids): the sum and the
    /// largest of the similarities of its neighbours in the basket, and how
    /// many of them are there.
    pub(crate) fn fit(&self, item: u32, basket: &[u32]) -> BasketFit {
        let mut fit = BasketFit::default();
        for &(other, similarity) in self.of(item) {
            if basket.binary_search(&other).is_ok() {
                let similarity = f64::from(similarity);
                fit.sum += similarity;
                fit.max = fit.max.max(similarity);
                fit.count += 1.0;
            }
        }
        fit
    }
}

/// See [`ItemNeighbours::fit`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct BasketFit {
    pub(crate) sum: f64,
    pub(crate) max: f64,
    pub(crate) count: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neighbours_are_items_bought_by_the_same_customers() {
        // Items 0 and 1 always go together; 2 once with 0; 3 alone.
        let baskets = vec![vec![0, 1], vec![0, 1, 2], vec![0, 1], vec![3]];
        let near = ItemNeighbours::new(4, &baskets, 10);
        let of_0 = near.of(0);
        assert_eq!(of_0.len(), 2);
        assert_eq!(of_0[0].0, 1);
        assert!((of_0[0].1 - 1.0).abs() < 1e-6);
        assert_eq!(of_0[1].0, 2);
        assert!((of_0[1].1 - 1.0 / 3f32.sqrt()).abs() < 1e-6);
        assert!(near.of(3).is_empty());
        assert!(near.of(99).is_empty());

        let fit = near.fit(2, &[0, 1, 3]);
        assert_eq!(fit.count, 2.0);
        assert!((fit.sum - 2.0 / 3f64.sqrt()).abs() < 1e-6);
        assert!((fit.max - 1.0 / 3f64.sqrt()).abs() < 1e-6);
        assert_eq!(near.fit(3, &[0, 1]), BasketFit::default());
    }

    #[test]
    fn only_the_k_most_similar_are_kept_in_order() {
        let baskets = vec![vec![0, 1, 2], vec![0, 1], vec![0, 2], vec![0, 1], vec![2]];
        let near = ItemNeighbours::new(3, &baskets, 1);
        assert_eq!(near.of(0).len(), 1);
        assert_eq!(near.of(0)[0].0, 1);
        let all = ItemNeighbours::new(3, &baskets, 5);
        let sims: Vec<f32> = all.of(0).iter().map(|n| n.1).collect();
        assert!(sims.windows(2).all(|w| w[0] >= w[1]));
    }

    #[test]
    fn the_same_on_any_number_of_threads() {
        let baskets: Vec<Vec<u32>> = (0..200u32)
            .map(|c| {
                let mut b: Vec<u32> = (0..50).filter(|i| (c * 7 + i * 13) % 5 < 2).collect();
                b.dedup();
                b
            })
            .collect();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| ItemNeighbours::new(50, &baskets, 8));
        let many = ItemNeighbours::new(50, &baskets, 8);
        assert_eq!(one.offsets, many.offsets);
        assert_eq!(one.neighbours, many.neighbours);
    }
}
