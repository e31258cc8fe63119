//! `f64`s that survive a JSON model file exactly.
//!
//! Written as strings in Rust's shortest round-trip form (`"0.1"`,
//! `"-3.2e-7"`, `"inf"`) and parsed with `str::parse`: serde_json without
//! its `float_roundtrip` feature reads about one long number in six an ulp
//! off, enough to move a threshold across a value or a probability by a
//! bit. Plain JSON numbers are read too. Every model of the crate (the
//! boosted trees too) writes its numbers this way.

use serde::{Deserialize, Deserializer, Serializer};

/// A number as read: a JSON number or a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Number(f64),
    Text(String),
}

impl Repr {
    fn value<E: serde::de::Error>(self) -> Result<f64, E> {
        match self {
            Self::Number(v) => Ok(v),
            Self::Text(t) => t
                .parse()
                .map_err(|_| E::custom(format!("{t:?} is not a number"))),
        }
    }
}

/// One `f64`, for `#[serde(with = "float_text::one")]`.
pub(crate) mod one {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:?}"))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Repr::deserialize(d)?.value()
    }
}

/// A `Vec<f64>`, for `#[serde(with = "float_text::many")]`.
pub(crate) mod many {
    use serde::ser::SerializeSeq;

    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&format!("{x:?}"))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Repr>::deserialize(d)?
            .into_iter()
            .map(Repr::value)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct T {
        #[serde(with = "super::one")]
        a: f64,
        #[serde(with = "super::many")]
        b: Vec<f64>,
    }

    #[test]
    fn every_bit_survives() {
        let mut state = 1_u64;
        let values: Vec<f64> = (0..10_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                f64::from_bits(state >> 2) - 0.5
            })
            .chain([f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MIN_POSITIVE])
            .collect();
        let t = T {
            a: 0.1 + 0.2,
            b: values,
        };
        let json = serde_json::to_string(&t).unwrap();
        let back: T = serde_json::from_str(&json).unwrap();
        assert_eq!(back.a.to_bits(), t.a.to_bits());
        assert!(
            back.b
                .iter()
                .zip(&t.b)
                .all(|(x, y)| x.to_bits() == y.to_bits())
        );
        assert!(json.starts_with(r#"{"a":"0.30000000000000004","b":["#));
        // Plain numbers are read too.
        let plain: T = serde_json::from_str(r#"{"a": 0.5, "b": [1, "2.5"]}"#).unwrap();
        assert_eq!(
            plain,
            T {
                a: 0.5,
                b: vec![1.0, 2.5]
            }
        );
        assert!(serde_json::from_str::<T>(r#"{"a": "x", "b": []}"#).is_err());
    }
}
