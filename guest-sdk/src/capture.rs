//! How each captured value is written into a closure's state.
//!
//! A capture goes through serde as it is ([`Plain`]), except a `Vec<u8>`,
//! `Vec<f32>` or `Vec<f64>` ([`Bulk`]): that one is written as a single
//! postcard byte string and copied in bulk, instead of one element at a time
//! through serde's sequence machinery. For a capture of tens of megabytes
//! inside wasm this is most of the cost of packing and of the first call:
//! element by element, serde also grows the decoded vector from 1 MiB by
//! doubling, so it copies the data again and leaves the old blocks resident.
//!
//! The choice is made where `ship!` is written, where each capture's type is
//! concrete, by autoref specialization: `(&&CaptureProbe::of(&x))` finds
//! [`ViaBulk`] for the bulk types and falls back to [`ViaSerde`].
//!
//! Wire form: a `Vec<u8>` is the very bytes postcard writes for it (a varint
//! length, then the bytes). A float vector is a byte string of the
//! little-endian bytes postcard writes for each element; only its length
//! prefix counts bytes rather than elements. The state is produced and read
//! by the same module, so that is a private choice of the guest. Readable
//! formats (the JSON of `shipfn inspect`) see an ordinary sequence.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A capture written by serde as it is.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct Plain<T>(pub T);

/// A captured vector of [`BulkElem`]s, written as one byte string.
pub struct Bulk<E>(pub Vec<E>);

/// Element types whose vectors are copied in bulk: every bit pattern of
/// their little-endian bytes is a value, as postcard writes them.
pub trait BulkElem: Copy + Serialize + DeserializeOwned + 'static {
    /// Bytes per element.
    const SIZE: usize;
    /// The element from exactly [`SIZE`](Self::SIZE) little-endian bytes.
    fn from_le(bytes: &[u8]) -> Self;
    /// Appends the element's little-endian bytes.
    fn push_le(self, out: &mut Vec<u8>);
    /// A vector from whole little-endian elements.
    fn vec_from_le(bytes: &[u8]) -> Vec<Self> {
        bytes.chunks_exact(Self::SIZE).map(Self::from_le).collect()
    }
}

impl BulkElem for u8 {
    const SIZE: usize = 1;
    fn from_le(bytes: &[u8]) -> u8 {
        bytes[0]
    }
    fn push_le(self, out: &mut Vec<u8>) {
        out.push(self);
    }
    fn vec_from_le(bytes: &[u8]) -> Vec<u8> {
        bytes.to_vec()
    }
}

macro_rules! float_elem {
    ($($t:ty),*) => {$(
        impl BulkElem for $t {
            const SIZE: usize = size_of::<$t>();
            fn from_le(bytes: &[u8]) -> $t {
                <$t>::from_le_bytes(bytes.try_into().expect("a whole element"))
            }
            fn push_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
float_elem!(f32, f64);

/// Borrowed bulk elements, serialized as [`Bulk`] is.
pub(crate) struct BulkSlice<'a, E>(pub &'a [E]);

impl<E: BulkElem> Serialize for BulkSlice<'_, E> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            return self.0.serialize(s);
        }
        #[cfg(target_endian = "little")]
        {
            // SAFETY: `E` is `u8`, `f32` or `f64`: no padding, every byte is
            // initialized, and `u8` needs no alignment. On a little-endian
            // target these are exactly the bytes `push_le` would write.
            let bytes = unsafe { core::slice::from_raw_parts(self.0.as_ptr().cast::<u8>(), size_of_val(self.0)) };
            s.serialize_bytes(bytes)
        }
        #[cfg(not(target_endian = "little"))]
        {
            let mut bytes = Vec::with_capacity(size_of_val(self.0));
            self.0.iter().for_each(|e| e.push_le(&mut bytes));
            s.serialize_bytes(&bytes)
        }
    }
}

impl<E: BulkElem> Serialize for Bulk<E> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        BulkSlice(&self.0).serialize(s)
    }
}

impl<'de, E: BulkElem> Deserialize<'de> for Bulk<E> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            return Vec::deserialize(d).map(Bulk);
        }
        struct Elems<E>(PhantomData<E>);
        impl<E: BulkElem> Visitor<'_> for Elems<E> {
            type Value = Bulk<E>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a byte string of whole {}-byte elements", E::SIZE)
            }
            fn visit_bytes<Er: de::Error>(self, bytes: &[u8]) -> Result<Bulk<E>, Er> {
                if !bytes.len().is_multiple_of(E::SIZE) {
                    return Err(Er::invalid_length(bytes.len(), &self));
                }
                Ok(Bulk(E::vec_from_le(bytes)))
            }
        }
        d.deserialize_byte_buf(Elems(PhantomData))
    }
}

/// What a capture wrapper holds, for the type names in the manifest.
pub trait CaptureValue {
    /// The captured value's own type.
    type Value;
}

impl<T> CaptureValue for Plain<T> {
    type Value = T;
}

impl<E> CaptureValue for Bulk<E> {
    type Value = Vec<E>;
}

/// Names a capture's type without holding on to the capture.
pub struct CaptureProbe<T>(PhantomData<T>);

impl<T> CaptureProbe<T> {
    /// The probe for `value`'s type.
    pub fn of(_value: &T) -> Self {
        CaptureProbe(PhantomData)
    }
}

/// Picked for `&&CaptureProbe::of(&x)` when `x` is a `Vec<u8>`, `Vec<f32>` or `Vec<f64>`.
pub trait ViaBulk {
    /// The element type.
    type Elem;
    /// Wraps the capture for bulk copying.
    fn __shipfn_wrap(&self, value: Vec<Self::Elem>) -> Bulk<Self::Elem>;
}

impl<E: BulkElem> ViaBulk for &CaptureProbe<Vec<E>> {
    type Elem = E;
    fn __shipfn_wrap(&self, value: Vec<E>) -> Bulk<E> {
        Bulk(value)
    }
}

/// Picked for `&&CaptureProbe::of(&x)` for every other capture.
pub trait ViaSerde {
    /// The capture's type.
    type Value;
    /// Wraps the capture to go through serde as it is.
    fn __shipfn_wrap(&self, value: Self::Value) -> Plain<Self::Value>;
}

impl<T> ViaSerde for CaptureProbe<T> {
    type Value = T;
    fn __shipfn_wrap(&self, value: T) -> Plain<T> {
        Plain(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip<E: BulkElem + PartialEq + fmt::Debug>(values: Vec<E>) {
        let bytes = postcard::to_allocvec(&Bulk(values.clone())).unwrap();
        let back: Bulk<E> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.0, values);
        let json = serde_json::to_string(&Bulk(values.clone())).unwrap();
        assert_eq!(json, serde_json::to_string(&values).unwrap());
    }

    #[test]
    fn bulk_vectors_roundtrip() {
        roundtrip::<u8>(vec![]);
        roundtrip::<u8>((0..=255).collect());
        roundtrip::<f32>(vec![1.5, -0.0, f32::INFINITY]);
        roundtrip::<f64>(vec![0.5, f64::MIN_POSITIVE, -3.25e300]);
    }

    #[test]
    fn bytes_keep_postcards_wire_form() {
        let data: Vec<u8> = (0..200).map(|i| (i * 7) as u8).collect();
        assert_eq!(postcard::to_allocvec(&Bulk(data.clone())).unwrap(), postcard::to_allocvec(&data).unwrap());
    }

    #[test]
    fn floats_are_postcards_element_bytes_counted_in_bytes() {
        let data = vec![0.5f64, -2.0];
        let plain = postcard::to_allocvec(&data).unwrap();
        let bulk = postcard::to_allocvec(&Bulk(data)).unwrap();
        assert_eq!((plain[0], bulk[0]), (2, 16));
        assert_eq!(plain[1..], bulk[1..]);
    }

    #[test]
    fn a_partial_element_is_refused() {
        let bytes = postcard::to_allocvec(&Bulk(vec![1u8, 2, 3])).unwrap();
        let err = postcard::from_bytes::<Bulk<f32>>(&bytes).err().expect("3 bytes are not an f32");
        assert!(matches!(err, postcard::Error::SerdeDeCustom), "{err:?}");
    }

    #[test]
    #[allow(clippy::needless_borrow)] // written as `ship!` writes them
    fn probes_pick_bulk_only_for_bulk_vectors() {
        let bytes: Vec<u8> = vec![1, 2];
        let words: Vec<u16> = vec![1, 2];
        let text = String::from("x");
        let b = (&&CaptureProbe::of(&bytes)).__shipfn_wrap(bytes);
        let w = (&&CaptureProbe::of(&words)).__shipfn_wrap(words);
        let t = (&&CaptureProbe::of(&text)).__shipfn_wrap(text);
        let _: (Bulk<u8>, Plain<Vec<u16>>, Plain<String>) = (b, w, t);
    }
}
