//! The generator's randomness: ChaCha8 words turned into numbers by code
//! of our own, so that a seed gives the same data whatever versions of
//! `rand` and `rand_distr` are about (their conversions and samplers are
//! free to change between releases; ChaCha8's stream is not).

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// The independent streams of one seed, one per concern, so that turning
/// one knob (the malformed rate, say) leaves the rest of the data as it was.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// The catalogue: codes, descriptions, prices, popularity.
    Catalogue = 1,
    /// The customers: who they are, when they come and go.
    Customers = 2,
    /// The daily profile's noise.
    Calendar = 3,
    /// Everything that happens day by day.
    Days = 4,
    /// Which rows are written malformed, and how.
    Malformed = 5,
}

/// A seeded source of numbers; see the module docs.
#[derive(Debug, Clone)]
pub(crate) struct Rng(ChaCha8Rng);

impl Rng {
    /// The stream `stream` of `seed`.
    pub(crate) fn new(seed: u64, stream: Stream) -> Self {
        // SplitMix64 spreads the seed over ChaCha's 32-byte key: fixed here
        // rather than left to `seed_from_u64`'s default.
        let mut state = seed;
        let mut key = [0u8; 32];
        for chunk in key.chunks_exact_mut(8) {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            chunk.copy_from_slice(&(z ^ (z >> 31)).to_le_bytes());
        }
        let mut rng = ChaCha8Rng::from_seed(key);
        rng.set_stream(stream as u64);
        Self(rng)
    }

    /// 64 random bits.
    #[inline]
    pub(crate) fn u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    #[inline]
    pub(crate) fn f64(&mut self) -> f64 {
        (self.u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `0..n` (`n > 0`; the bias of the multiply-shift is below
    /// 2^-32 for the small `n` used here).
    #[inline]
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    #[inline]
    pub(crate) fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `p`.
    #[inline]
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// Standard normal (Box–Muller, one of the pair).
    pub(crate) fn normal(&mut self) -> f64 {
        let u = 1.0 - self.f64(); // (0, 1]
        let v = self.f64();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    /// Log-normal with the given median and log-scale spread.
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// Exponential with mean 1.
    pub(crate) fn exp1(&mut self) -> f64 {
        -(1.0 - self.f64()).ln()
    }

    /// `x` rounded down or up at random so that the mean is `x` (`x >= 0`).
    pub(crate) fn dither(&mut self, x: f64) -> u64 {
        let whole = x.floor();
        whole as u64 + u64::from(self.chance(x - whole))
    }

    /// An index into `weights`, chosen in proportion to them (a short
    /// table; the last entry takes any rounding).
    pub(crate) fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.f64() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    /// A value from a short table of `(value, weight)`.
    pub(crate) fn pick<T: Copy>(&mut self, table: &[(T, f64)]) -> T {
        let total: f64 = table.iter().map(|(_, w)| w).sum();
        let mut x = self.f64() * total;
        for (value, w) in table {
            if x < *w {
                return *value;
            }
            x -= w;
        }
        table[table.len() - 1].0
    }

    /// Rows until the next event of probability `p` per row (geometric,
    /// counting from 0); `u64::MAX` when `p` is 0.
    pub(crate) fn gap(&mut self, p: f64) -> u64 {
        if p <= 0.0 {
            return u64::MAX;
        }
        if p >= 1.0 {
            return 0;
        }
        let u = 1.0 - self.f64();
        (u.ln() / (1.0 - p).ln()).floor().min(u64::MAX as f64 / 2.0) as u64
    }
}

/// Walker's alias table (Vose's construction): O(1) draws from a fixed
/// discrete distribution, one random word per draw.
#[derive(Debug, Clone, Default)]
pub(crate) struct Alias {
    /// Chance, out of 2^32, of keeping the column rather than its alias.
    keep: Vec<u32>,
    alias: Vec<u32>,
    small: Vec<u32>,
    large: Vec<u32>,
    scaled: Vec<f64>,
}

impl Alias {
    /// Rebuilds the table for `weights` (non-negative). False when they sum
    /// to zero: the table is then empty and [`sample`](Self::sample) gives
    /// `None`.
    pub(crate) fn rebuild(&mut self, weights: &[f64]) -> bool {
        let n = weights.len();
        self.keep.clear();
        self.alias.clear();
        let total: f64 = weights.iter().sum();
        if n == 0 || total <= 0.0 || !total.is_finite() {
            return false;
        }
        self.keep.resize(n, 0);
        self.alias.extend(0..n as u32);
        self.scaled.clear();
        self.scaled
            .extend(weights.iter().map(|w| w * n as f64 / total));
        self.small.clear();
        self.large.clear();
        for (i, &p) in self.scaled.iter().enumerate() {
            if p < 1.0 {
                self.small.push(i as u32);
            } else {
                self.large.push(i as u32);
            }
        }
        const ONE: f64 = 4_294_967_296.0;
        while let (Some(&s), Some(&l)) = (self.small.last(), self.large.last()) {
            self.small.pop();
            self.keep[s as usize] = (self.scaled[s as usize] * ONE) as u32;
            self.alias[s as usize] = l;
            let rest = self.scaled[l as usize] + self.scaled[s as usize] - 1.0;
            self.scaled[l as usize] = rest;
            if rest < 1.0 {
                self.large.pop();
                self.small.push(l);
            }
        }
        // What is left is 1 up to rounding: always keep.
        for &i in self.small.iter().chain(&self.large) {
            self.keep[i as usize] = u32::MAX;
            self.alias[i as usize] = i;
        }
        true
    }

    /// A draw, or `None` from an empty table.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut Rng) -> Option<usize> {
        let n = self.keep.len() as u64;
        if n == 0 {
            return None;
        }
        let x = rng.u64();
        let column = (((x & 0xFFFF_FFFF) * n) >> 32) as usize;
        let coin = (x >> 32) as u32;
        Some(
            if coin < self.keep[column] || self.keep[column] == u32::MAX {
                column
            } else {
                self.alias[column] as usize
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7, Stream::Days);
            (0..4).map(|_| r.u64()).collect()
        };
        let b: Vec<u64> = {
            let mut r = Rng::new(7, Stream::Days);
            (0..4).map(|_| r.u64()).collect()
        };
        let c: Vec<u64> = {
            let mut r = Rng::new(7, Stream::Malformed);
            (0..4).map(|_| r.u64()).collect()
        };
        assert_eq!(a, b);
        assert_ne!(a, c);
        // Pinned: a change here changes every generated byte.
        assert_eq!(Rng::new(42, Stream::Catalogue).u64(), PINNED_FIRST_WORD);
    }

    const PINNED_FIRST_WORD: u64 = 0xca78_5f2b_fa2c_d62e;

    #[test]
    fn distributions_have_their_moments() {
        let mut r = Rng::new(1, Stream::Days);
        let n = 200_000;
        let mean = |f: &mut dyn FnMut() -> f64| (0..n).map(|_| f()).sum::<f64>() / n as f64;
        assert!((mean(&mut || r.f64()) - 0.5).abs() < 0.01);
        let mut r = Rng::new(2, Stream::Days);
        assert!((mean(&mut || r.normal()) - 0.0).abs() < 0.01);
        let mut r = Rng::new(3, Stream::Days);
        assert!((mean(&mut || r.exp1()) - 1.0).abs() < 0.01);
        let mut r = Rng::new(4, Stream::Days);
        assert!((mean(&mut || r.dither(2.3) as f64) - 2.3).abs() < 0.01);
        let mut r = Rng::new(5, Stream::Days);
        assert!((mean(&mut || r.gap(0.1) as f64) - 9.0).abs() < 0.2);
        let mut r = Rng::new(6, Stream::Days);
        assert!((0..n).all(|_| r.between(3, 5) >= 3 && r.between(3, 5) <= 5));
        assert_eq!(r.gap(0.0), u64::MAX);
    }

    #[test]
    fn alias_draws_follow_the_weights() {
        let weights = [1.0, 0.0, 3.0, 6.0];
        let mut alias = Alias::default();
        assert!(alias.rebuild(&weights));
        let mut rng = Rng::new(9, Stream::Days);
        let mut counts = [0u32; 4];
        let n = 100_000;
        for _ in 0..n {
            counts[alias.sample(&mut rng).unwrap()] += 1;
        }
        assert_eq!(counts[1], 0);
        for (count, w) in counts.iter().zip(weights) {
            assert!((f64::from(*count) / f64::from(n) - w / 10.0).abs() < 0.01);
        }
        assert!(!alias.rebuild(&[0.0, 0.0]));
        assert_eq!(alias.sample(&mut rng), None);
    }
}
