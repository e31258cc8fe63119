//! Floating-point numbers as integer sort keys.
//!
//! Sorting `u64`s is about twice as fast as sorting `f64`s with
//! `f64::total_cmp`, in the same order; the bin edges of the boosted trees
//! and the curves of the metrics sort hundreds of thousands of values.

/// A key whose unsigned order is the order of `f64::total_cmp`.
pub(crate) fn order_key(v: f64) -> u64 {
    let bits = v.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

/// The value of an [`order_key`].
pub(crate) fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_as_total_cmp_and_round_trip() {
        let mut values = vec![
            3.5,
            -0.0,
            f64::NEG_INFINITY,
            0.0,
            -2.25,
            f64::INFINITY,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            1e300,
        ];
        let mut keys: Vec<u64> = values.iter().copied().map(order_key).collect();
        keys.sort_unstable();
        values.sort_unstable_by(f64::total_cmp);
        let back: Vec<f64> = keys.into_iter().map(from_order_key).collect();
        assert_eq!(
            back.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            values.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
        );
    }
}
