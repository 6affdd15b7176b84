//! How each captured value is written into a closure's state.
//!
//! A capture goes through serde as it is, except a `Vec<u8>`, `Vec<f32>` or
//! `Vec<f64>` ([`Bulk`]): that one is written as a single postcard byte
//! string and copied in bulk, instead of one element at a time through
//! serde's sequence machinery. For a capture of tens of megabytes inside
//! wasm this is most of the cost of packing and of the first call: element
//! by element, serde also grows the decoded vector from 1 MiB by doubling,
//! so it copies the data again and leaves the old blocks resident.
//!
//! The generated captures struct puts `#[serde(with = …)]` on every field;
//! [`serialize`] and [`deserialize`] compare the field's type with the bulk
//! types (a check the compiler folds away), so it does not matter when the
//! type of a capture became known.
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

/// A captured vector of [`BulkElem`]s, read from one byte string (written
/// by [`BulkSlice`]).
pub struct Bulk<E>(pub Vec<E>);

/// Element types whose vectors are copied in bulk: every bit pattern of
/// their little-endian bytes is a value, as postcard writes them.
pub trait BulkElem: Copy + Serialize + DeserializeOwned + 'static {
    /// Bytes per element.
    const SIZE: usize;
    /// The element from exactly [`SIZE`](Self::SIZE) little-endian bytes.
    fn from_le(bytes: &[u8]) -> Self;
    /// Appends the element's little-endian bytes (big-endian targets only:
    /// elsewhere the elements' memory is already those bytes).
    #[cfg_attr(target_endian = "little", allow(dead_code))]
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

/// Borrowed bulk elements, written as one byte string.
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

/// Serializes one capture: `Vec<u8>`, `Vec<f32>` and `Vec<f64>` in bulk, the rest by serde.
pub fn serialize<T: Serialize, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    if let Some(v) = cast_ref::<T, Vec<u8>>(value) {
        BulkSlice(v).serialize(s)
    } else if let Some(v) = cast_ref::<T, Vec<f32>>(value) {
        BulkSlice(v).serialize(s)
    } else if let Some(v) = cast_ref::<T, Vec<f64>>(value) {
        BulkSlice(v).serialize(s)
    } else {
        value.serialize(s)
    }
}

/// Deserializes one capture written by [`serialize`].
pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    if same::<T, Vec<u8>>() {
        Bulk::<u8>::deserialize(d).map(|b| cast_owned(b.0))
    } else if same::<T, Vec<f32>>() {
        Bulk::<f32>::deserialize(d).map(|b| cast_owned(b.0))
    } else if same::<T, Vec<f64>>() {
        Bulk::<f64>::deserialize(d).map(|b| cast_owned(b.0))
    } else {
        T::deserialize(d)
    }
}

/// Whether `A` and `B` are one type. The bulk types have no lifetimes, so
/// `typeid`'s comparison (which ignores lifetimes) is exact for them.
fn same<A: ?Sized, B: ?Sized>() -> bool {
    typeid::of::<A>() == typeid::of::<B>()
}

/// `value` as a `U`, if `T` is `U`. Only for a `U` without lifetimes.
fn cast_ref<T, U>(value: &T) -> Option<&U> {
    // SAFETY: `T` and `U` are the same type.
    same::<T, U>().then(|| unsafe { &*(value as *const T).cast::<U>() })
}

/// Moves a `U` into a `T` that is the same type. Only for a `U` without
/// lifetimes.
fn cast_owned<U, T>(value: U) -> T {
    assert!(same::<U, T>(), "only called for one type");
    let value = core::mem::ManuallyDrop::new(value);
    // SAFETY: `T` and `U` are the same type, and `value` is not dropped.
    unsafe { core::ptr::read((&*value as *const U).cast::<T>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip<E: BulkElem + PartialEq + fmt::Debug>(values: Vec<E>) {
        let bytes = postcard::to_allocvec(&BulkSlice(&values)).unwrap();
        let back: Bulk<E> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.0, values);
        let json = serde_json::to_string(&BulkSlice(&values)).unwrap();
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
        assert_eq!(postcard::to_allocvec(&BulkSlice(&data)).unwrap(), postcard::to_allocvec(&data).unwrap());
    }

    #[test]
    fn floats_are_postcards_element_bytes_counted_in_bytes() {
        let data = vec![0.5f64, -2.0];
        let plain = postcard::to_allocvec(&data).unwrap();
        let bulk = postcard::to_allocvec(&BulkSlice(&data)).unwrap();
        assert_eq!((plain[0], bulk[0]), (2, 16));
        assert_eq!(plain[1..], bulk[1..]);
    }

    #[test]
    fn a_partial_element_is_refused() {
        let bytes = postcard::to_allocvec(&BulkSlice(&[1u8, 2, 3])).unwrap();
        let err = postcard::from_bytes::<Bulk<f32>>(&bytes).err().expect("3 bytes are not an f32");
        assert!(matches!(err, postcard::Error::SerdeDeCustom), "{err:?}");
    }

    #[derive(Serialize, Deserialize, PartialEq, Debug)]
    #[serde(bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned"))]
    struct Fields<T> {
        #[serde(with = "super")]
        bytes: Vec<u8>,
        #[serde(with = "super")]
        floats: Vec<f64>,
        #[serde(with = "super")]
        words: Vec<u16>,
        #[serde(with = "super")]
        other: T,
    }

    #[test]
    fn only_the_bulk_types_are_written_in_bulk() {
        let fields = Fields { bytes: vec![1, 2], floats: vec![0.5], words: vec![300], other: vec![2.5f32] };
        let bytes = postcard::to_allocvec(&fields).unwrap();
        let plain = postcard::to_allocvec(&(&fields.bytes, &fields.floats, &fields.words)).unwrap();
        // bytes as serde writes them; floats counted in bytes; words as varints; f32s in bulk.
        assert_eq!(bytes[..3], plain[..3]);
        assert_eq!(bytes[3], 8);
        assert_eq!(bytes[4..12], plain[4..12]);
        assert_eq!(bytes[12..15], plain[12..15]);
        assert_eq!(bytes[15..], [4, 0, 0, 0x20, 0x40]);
        assert_eq!(postcard::from_bytes::<Fields<Vec<f32>>>(&bytes).unwrap(), fields);
        let json = serde_json::to_value(&fields).unwrap();
        assert_eq!(json, serde_json::json!({"bytes": [1, 2], "floats": [0.5], "words": [300], "other": [2.5]}));
    }
}
