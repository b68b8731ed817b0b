//! Exact float persistence: `f64` values are saved as their shortest round-trip text
//! ("0.1", "inf", "NaN"), so a loaded pipeline reproduces every bit, including ±∞ split points.

use serde::{Deserialize, Deserializer, Serializer};

fn parse<E: serde::de::Error>(text: &str) -> Result<f64, E> {
    text.parse::<f64>()
        .map_err(|_| E::custom(format!("'{text}' is not a number")))
}

/// One `f64`.
pub(crate) mod real {
    use super::*;

    /// Writes the value as text.
    pub(crate) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:?}"))
    }

    /// Reads the value from text.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        parse(&String::deserialize(d)?)
    }
}

/// An optional `f64`.
pub(crate) mod real_opt {
    use super::*;

    /// Writes the value as text or null.
    pub(crate) fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.serialize_some(&format!("{v:?}")),
            None => s.serialize_none(),
        }
    }

    /// Reads the value from text or null.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| parse(&t))
            .transpose()
    }
}

/// An optional pair of `f64` (a column's extremes).
pub(crate) mod real_pair_opt {
    use super::*;

    /// Writes the pair as two texts, or null.
    pub(crate) fn serialize<S: Serializer>(
        v: &Option<(f64, f64)>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some((a, b)) => s.serialize_some(&(format!("{a:?}"), format!("{b:?}"))),
            None => s.serialize_none(),
        }
    }

    /// Reads the pair from two texts, or null.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<(f64, f64)>, D::Error> {
        Option::<(String, String)>::deserialize(d)?
            .map(|(a, b)| Ok((parse(&a)?, parse(&b)?)))
            .transpose()
    }
}

/// A list of `f64`.
pub(crate) mod reals {
    use super::*;
    use serde::ser::SerializeSeq;

    /// Writes the values as text.
    pub(crate) fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for x in v {
            seq.serialize_element(&format!("{x:?}"))?;
        }
        seq.end()
    }

    /// Reads the values from text.
    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|t| parse(t))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct T {
        #[serde(with = "super::real")]
        a: f64,
        #[serde(with = "super::reals")]
        b: Vec<f64>,
        #[serde(with = "super::real_opt")]
        c: Option<f64>,
    }

    #[test]
    fn floats_round_trip_bit_for_bit() {
        let t = T {
            a: 0.1 + 0.2,
            b: vec![f64::NEG_INFINITY, 1e-310, 2.0 / 3.0, f64::INFINITY],
            c: Some(-7.25e300),
        };
        let back: T = serde_json::from_str(&serde_json::to_string(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        assert_eq!(back.a.to_bits(), t.a.to_bits());
        let nan: T = serde_json::from_str(r#"{"a":"NaN","b":[],"c":null}"#).unwrap();
        assert!(nan.a.is_nan() && nan.c.is_none());
        assert!(serde_json::from_str::<T>(r#"{"a":"x","b":[],"c":null}"#).is_err());
    }
}
