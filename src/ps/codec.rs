//! Slices on the wire: f64 by default, f32 or f16 when the job trades precision for bytes
//! (SGD), dense from an offset or sparse (index + value) when most values are zero.

use half::f16;

use super::proto::Slice;

/// Precision of the values sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Exact.
    #[default]
    F64,
    /// Half the bytes, ~7 significant digits.
    F32,
    /// A quarter of the bytes, ~3 significant digits (gradients of SGD only).
    F16,
}

impl Precision {
    /// The protocol's enum value.
    pub fn to_proto(self) -> i32 {
        use super::proto::Precision as P;
        match self {
            Precision::F64 => P::F64 as i32,
            Precision::F32 => P::F32 as i32,
            Precision::F16 => P::F16 as i32,
        }
    }

    /// From the protocol's enum value (unknown values mean f64).
    pub fn from_proto(value: i32) -> Self {
        use super::proto::Precision as P;
        match P::try_from(value) {
            Ok(P::F32) => Precision::F32,
            Ok(P::F16) => Precision::F16,
            _ => Precision::F64,
        }
    }
}

/// A dense slice of `values` starting at key `offset`.
pub fn dense(offset: usize, values: &[f64], precision: Precision) -> Slice {
    let mut slice = Slice {
        offset: offset as u64,
        ..Default::default()
    };
    put_values(&mut slice, values.iter().copied(), precision);
    slice
}

/// The non-zero entries of `values` (keys `offset + i`) as a sparse slice.
pub fn sparse(offset: usize, values: &[f64], precision: Precision) -> Slice {
    let mut slice = Slice {
        offset: offset as u64,
        ..Default::default()
    };
    let nz: Vec<(usize, f64)> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .map(|(i, v)| (i, *v))
        .collect();
    slice.indices = nz.iter().map(|(i, _)| (offset + i) as u64).collect();
    put_values(&mut slice, nz.into_iter().map(|(_, v)| v), precision);
    slice
}

/// Sparse when fewer than a third of the values are non-zero (an index costs 8 bytes too).
pub fn encode(offset: usize, values: &[f64], precision: Precision) -> Slice {
    let nonzero = values.iter().filter(|v| **v != 0.0).count();
    if values.len() >= 16 && nonzero * 3 < values.len() {
        sparse(offset, values, precision)
    } else {
        dense(offset, values, precision)
    }
}

fn put_values(slice: &mut Slice, values: impl Iterator<Item = f64>, precision: Precision) {
    match precision {
        Precision::F64 => slice.f64 = values.collect(),
        Precision::F32 => slice.f32 = values.map(|v| v as f32).collect(),
        Precision::F16 => {
            slice.f16 = values
                .flat_map(|v| f16::from_f64(v).to_le_bytes())
                .collect()
        }
    }
}

/// Why a slice cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed slice: {0}")]
pub struct SliceError(pub String);

/// The values of a slice, whichever encoding was used.
fn values(slice: &Slice) -> Result<Vec<f64>, SliceError> {
    let used = [
        !slice.f64.is_empty(),
        !slice.f32.is_empty(),
        !slice.f16.is_empty(),
    ];
    if used.iter().filter(|u| **u).count() > 1 {
        return Err(SliceError("more than one value encoding".into()));
    }
    if !slice.f32.is_empty() {
        return Ok(slice.f32.iter().map(|&v| f64::from(v)).collect());
    }
    if !slice.f16.is_empty() {
        if !slice.f16.len().is_multiple_of(2) {
            return Err(SliceError("odd number of f16 bytes".into()));
        }
        return Ok(slice
            .f16
            .chunks_exact(2)
            .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f64())
            .collect());
    }
    Ok(slice.f64.clone())
}

/// Adds the slice into `out`, which holds keys `range_start..range_start + out.len()`; a key
/// outside that range is an error (a worker and a shard disagreeing about the split).
pub fn add_into(slice: &Slice, range_start: usize, out: &mut [f64]) -> Result<(), SliceError> {
    let values = values(slice)?;
    let end = range_start + out.len();
    if slice.indices.is_empty() {
        let offset = slice.offset as usize;
        if values.is_empty() {
            return Ok(());
        }
        if offset < range_start || offset + values.len() > end {
            return Err(SliceError(format!(
                "keys {offset}..{} outside the shard's {range_start}..{end}",
                offset + values.len()
            )));
        }
        for (o, v) in out[offset - range_start..].iter_mut().zip(values) {
            *o += v;
        }
        return Ok(());
    }
    if slice.indices.len() != values.len() {
        return Err(SliceError(format!(
            "{} indices for {} values",
            slice.indices.len(),
            values.len()
        )));
    }
    for (&key, v) in slice.indices.iter().zip(values) {
        let key = key as usize;
        if key < range_start || key >= end {
            return Err(SliceError(format!(
                "key {key} outside the shard's {range_start}..{end}"
            )));
        }
        out[key - range_start] += v;
    }
    Ok(())
}

/// A dense vector of `len` keys from `range_start` read from the slice.
pub fn decode(slice: &Slice, range_start: usize, len: usize) -> Result<Vec<f64>, SliceError> {
    let mut out = vec![0.0; len];
    add_into(slice, range_start, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_and_sparse_round_trip() {
        let mut v = vec![0.0; 40];
        v[3] = 1.5;
        v[39] = -2.25;
        for precision in [Precision::F64, Precision::F32, Precision::F16] {
            let s = encode(100, &v, precision);
            assert_eq!(s.indices, vec![103, 139]);
            assert_eq!(decode(&s, 100, 40).unwrap(), v);
            let d = dense(100, &v, precision);
            assert_eq!(decode(&d, 100, 40).unwrap(), v);
        }
        let exact = dense(0, &[0.1, 1e300], Precision::F64);
        assert_eq!(decode(&exact, 0, 2).unwrap(), vec![0.1, 1e300]);
    }

    #[test]
    fn keys_outside_the_range_are_refused() {
        let s = dense(5, &[1.0, 2.0], Precision::F64);
        assert!(decode(&s, 0, 6).is_err());
        assert!(decode(&s, 6, 4).is_err());
        let mut bad = sparse(0, &[0.0; 20], Precision::F64);
        bad.indices.push(3);
        assert!(decode(&bad, 0, 20).is_err());
    }
}
