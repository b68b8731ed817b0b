//! Slices on the wire: f64 by default, f32 or f16 when the job trades precision for bytes
//! (SGD), dense from an offset or sparse (index + value) when most values are zero.
//!
//! Values travel as packed little-endian bytes. A received f64 slice is kept as the `Bytes` it
//! arrived in ([`F64s`]) and read in place, so a shard stores, sums and returns a 10M-float
//! vector without decoding or copying it element by element.

use bytes::Bytes;
use half::f16;

use crate::rpc::proto::Slice;

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
        use crate::rpc::proto::Precision as P;
        match self {
            Precision::F64 => P::F64 as i32,
            Precision::F32 => P::F32 as i32,
            Precision::F16 => P::F16 as i32,
        }
    }

    /// From the protocol's enum value (unknown values mean f64).
    pub fn from_proto(value: i32) -> Self {
        use crate::rpc::proto::Precision as P;
        match P::try_from(value) {
            Ok(P::F32) => Precision::F32,
            Ok(P::F16) => Precision::F16,
            _ => Precision::F64,
        }
    }
}

/// A dense run of f64 values held as their little-endian bytes, shared without copying.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct F64s(Bytes);

/// Owns a `Vec<f64>` and lends it out as bytes (little-endian targets: no copy).
struct LeBytes(Vec<f64>);

impl AsRef<[u8]> for LeBytes {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

impl F64s {
    /// Takes ownership of `values`; on little-endian targets their memory becomes the bytes.
    pub fn from_vec(values: Vec<f64>) -> Self {
        if cfg!(target_endian = "little") {
            F64s(Bytes::from_owner(LeBytes(values)))
        } else {
            F64s(values.iter().flat_map(|v| v.to_le_bytes()).collect())
        }
    }

    /// Wraps little-endian bytes; their length must be a multiple of 8.
    fn from_bytes(bytes: Bytes) -> Result<Self, SliceError> {
        if !bytes.len().is_multiple_of(8) {
            return Err(SliceError(format!(
                "{} f64 bytes is not a whole number of values",
                bytes.len()
            )));
        }
        Ok(F64s(bytes))
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len() / 8
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The values in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = f64> + '_ {
        self.chunks().iter().map(|b| f64::from_le_bytes(*b))
    }

    /// The values as a vector.
    pub fn to_vec(&self) -> Vec<f64> {
        self.iter().collect()
    }

    /// Adds the values element-wise into `out` (as long as the shorter of the two).
    pub fn add_to(&self, out: &mut [f64]) {
        add_chunks(self.chunks(), out, |b| f64::from_le_bytes(*b));
    }

    fn chunks(&self) -> &[[u8; 8]] {
        self.0.as_chunks().0
    }
}

/// A dense slice of `values` starting at key `offset`.
pub fn dense(offset: usize, values: &[f64], precision: Precision) -> Slice {
    match precision {
        Precision::F64 => dense_f64s(offset, F64s::from_vec(values.to_vec()), precision),
        _ => encoded(offset, Vec::new(), values.iter().copied(), precision),
    }
}

/// A dense slice of already-encoded values starting at key `offset` (f64: no copy).
pub fn dense_f64s(offset: usize, values: F64s, precision: Precision) -> Slice {
    match precision {
        Precision::F64 => Slice {
            offset: offset as u64,
            f64: values.0,
            ..Default::default()
        },
        _ => encoded(offset, Vec::new(), values.iter(), precision),
    }
}

/// The non-zero entries of `values` (keys `offset + i`) as a sparse slice.
pub fn sparse(offset: usize, values: &[f64], precision: Precision) -> Slice {
    let (indices, nonzero): (Vec<u64>, Vec<f64>) = values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v != 0.0)
        .map(|(i, v)| ((offset + i) as u64, *v))
        .unzip();
    encoded(offset, indices, nonzero.into_iter(), precision)
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

fn encoded(
    offset: usize,
    indices: Vec<u64>,
    values: impl Iterator<Item = f64>,
    precision: Precision,
) -> Slice {
    let mut slice = Slice {
        offset: offset as u64,
        indices,
        ..Default::default()
    };
    match precision {
        Precision::F64 => slice.f64 = F64s::from_vec(values.collect()).0,
        Precision::F32 => slice.f32 = values.flat_map(|v| (v as f32).to_le_bytes()).collect(),
        Precision::F16 => {
            slice.f16 = values
                .flat_map(|v| f16::from_f64(v).to_le_bytes())
                .collect()
        }
    }
    slice
}

/// Why a slice cannot be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("malformed slice: {0}")]
pub struct SliceError(pub String);

/// A slice's values in whichever encoding was used, viewed in place.
enum Values<'a> {
    F64(&'a [[u8; 8]]),
    F32(&'a [[u8; 4]]),
    F16(&'a [[u8; 2]]),
}

impl Values<'_> {
    fn len(&self) -> usize {
        match self {
            Values::F64(c) => c.len(),
            Values::F32(c) => c.len(),
            Values::F16(c) => c.len(),
        }
    }

    /// Adds value `i` into `out[i]`.
    fn add_dense(&self, out: &mut [f64]) {
        match self {
            Values::F64(c) => add_chunks(c, out, |b| f64::from_le_bytes(*b)),
            Values::F32(c) => add_chunks(c, out, |b| f64::from(f32::from_le_bytes(*b))),
            Values::F16(c) => add_chunks(c, out, |b| f16::from_le_bytes(*b).to_f64()),
        }
    }

    fn get(&self, i: usize) -> f64 {
        match self {
            Values::F64(c) => f64::from_le_bytes(c[i]),
            Values::F32(c) => f64::from(f32::from_le_bytes(c[i])),
            Values::F16(c) => f16::from_le_bytes(c[i]).to_f64(),
        }
    }
}

/// `out[i] += read(chunks[i])`: one tight loop per encoding.
fn add_chunks<const N: usize>(chunks: &[[u8; N]], out: &mut [f64], read: impl Fn(&[u8; N]) -> f64) {
    for (o, b) in out.iter_mut().zip(chunks) {
        *o += read(b);
    }
}

/// The slice's values, after checking that exactly one whole encoding is used.
fn values(slice: &Slice) -> Result<Values<'_>, SliceError> {
    let used = [&slice.f64, &slice.f32, &slice.f16]
        .iter()
        .filter(|b| !b.is_empty())
        .count();
    if used > 1 {
        return Err(SliceError("more than one value encoding".into()));
    }
    fn whole<'a, const N: usize>(bytes: &'a [u8], name: &str) -> Result<&'a [[u8; N]], SliceError> {
        match bytes.as_chunks::<N>() {
            (chunks, []) => Ok(chunks),
            _ => Err(SliceError(format!(
                "{} {name} bytes is not a whole number of values",
                bytes.len()
            ))),
        }
    }
    if !slice.f32.is_empty() {
        return Ok(Values::F32(whole(&slice.f32, "f32")?));
    }
    if !slice.f16.is_empty() {
        return Ok(Values::F16(whole(&slice.f16, "f16")?));
    }
    Ok(Values::F64(whole(&slice.f64, "f64")?))
}

/// Adds the slice into `out`, which holds keys `range_start..range_start + out.len()`; a key
/// outside that range is an error (a worker and a shard disagreeing about the split).
pub fn add_into(slice: &Slice, range_start: usize, out: &mut [f64]) -> Result<(), SliceError> {
    let values = values(slice)?;
    let end = range_start + out.len();
    if slice.indices.is_empty() {
        let offset = slice.offset as usize;
        if values.len() == 0 {
            return Ok(());
        }
        if offset < range_start || offset + values.len() > end {
            return Err(SliceError(format!(
                "keys {offset}..{} outside the shard's {range_start}..{end}",
                offset + values.len()
            )));
        }
        values.add_dense(&mut out[offset - range_start..]);
        return Ok(());
    }
    if slice.indices.len() != values.len() {
        return Err(SliceError(format!(
            "{} indices for {} values",
            slice.indices.len(),
            values.len()
        )));
    }
    for (i, &key) in slice.indices.iter().enumerate() {
        let key = key as usize;
        if key < range_start || key >= end {
            return Err(SliceError(format!(
                "key {key} outside the shard's {range_start}..{end}"
            )));
        }
        out[key - range_start] += values.get(i);
    }
    Ok(())
}

/// The dense values of keys `range_start..range_start + len` read from the slice: the received
/// bytes themselves when the slice is f64 covering exactly that range, a decoded copy otherwise.
pub fn decode(slice: &Slice, range_start: usize, len: usize) -> Result<F64s, SliceError> {
    let whole_range = slice.indices.is_empty()
        && slice.offset as usize == range_start
        && slice.f64.len() == len * 8
        && slice.f32.is_empty()
        && slice.f16.is_empty();
    if whole_range {
        return F64s::from_bytes(slice.f64.clone());
    }
    let mut out = vec![0.0; len];
    add_into(slice, range_start, &mut out)?;
    Ok(F64s::from_vec(out))
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
            assert_eq!(decode(&s, 100, 40).unwrap().to_vec(), v);
            let d = dense(100, &v, precision);
            assert_eq!(decode(&d, 100, 40).unwrap().to_vec(), v);
        }
        let exact = dense(0, &[0.1, 1e300], Precision::F64);
        assert_eq!(decode(&exact, 0, 2).unwrap().to_vec(), vec![0.1, 1e300]);
    }

    #[test]
    fn f64_slices_are_little_endian_and_read_in_place() {
        let s = dense(0, &[1.0, -0.5], Precision::F64);
        let mut expected = 1.0f64.to_le_bytes().to_vec();
        expected.extend((-0.5f64).to_le_bytes());
        assert_eq!(&s.f64[..], &expected[..]);
        let decoded = decode(&s, 0, 2).unwrap();
        assert_eq!(decoded.0.as_ptr(), s.f64.as_ptr(), "no copy");
        let mut sum = vec![10.0, 10.0];
        decoded.add_to(&mut sum);
        assert_eq!(sum, vec![11.0, 9.5]);
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

    #[test]
    fn torn_or_mixed_encodings_are_refused() {
        let mut torn = dense(0, &[1.0, 2.0], Precision::F64);
        torn.f64.truncate(12);
        assert!(decode(&torn, 0, 2).is_err());
        let mut mixed = dense(0, &[1.0], Precision::F64);
        mixed.f32 = dense(0, &[1.0], Precision::F32).f32;
        assert!(decode(&mixed, 0, 1).is_err());
        let mut odd = dense(0, &[1.0], Precision::F16);
        odd.f16.truncate(1);
        assert!(decode(&odd, 0, 1).is_err());
    }
}
