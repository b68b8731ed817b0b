//! Serde for metric values the way MLflow sends them: NaN and ±infinity as strings.

use serde::{Deserialize, Deserializer, Serializer};

/// Writes a finite value as a JSON number and NaN/±inf as `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_nan() {
        serializer.serialize_str("NaN")
    } else if value.is_infinite() {
        serializer.serialize_str(if *value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        })
    } else {
        serializer.serialize_f64(*value)
    }
}

/// Reads a JSON number, or one of the strings `"NaN"`, `"Infinity"`, `"-Infinity"` or a numeric string.
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(f64),
        Text(String),
    }
    match Raw::deserialize(deserializer)? {
        Raw::Number(v) => Ok(v),
        Raw::Text(s) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("invalid metric value '{other}'"))),
        },
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug)]
    struct V(#[serde(with = "super")] f64);

    #[test]
    fn round_trips_non_finite() {
        let text =
            serde_json::to_string(&[V(f64::NAN), V(f64::INFINITY), V(f64::NEG_INFINITY), V(1.5)])
                .expect("serializes");
        assert_eq!(text, r#"["NaN","Infinity","-Infinity",1.5]"#);
        let back: Vec<V> = serde_json::from_str(&text).expect("parses");
        assert!(back[0].0.is_nan());
        assert_eq!(back[1].0, f64::INFINITY);
        assert_eq!(back[2].0, f64::NEG_INFINITY);
        assert_eq!(back[3].0, 1.5);
        let v: V = serde_json::from_str(r#""2.5""#).expect("numeric string");
        assert_eq!(v.0, 2.5);
        assert!(serde_json::from_str::<V>(r#""abc""#).is_err());
    }
}
