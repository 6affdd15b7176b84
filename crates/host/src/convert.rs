//! JSON to and from postcard on the host, for guests built without JSON
//! (ABI 6, no [`feature::JSON`](shipfn_abi::feature::JSON)): a value of a
//! known [`Shape`] is read from one encoding into a [`Value`] that keeps its
//! exact type, and written to the other with the same serde calls that the
//! type's own impls make, so that the bytes and text are what the guest's
//! serde would have produced.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, SerializeTuple, Serializer};
use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::shape::{BodyShape, NamedKind, Registry, Shape};

/// The fields of a variant.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum VariantValue {
    Unit,
    Newtype(Value),
    Tuple(Vec<Value>),
    Struct(Vec<(Arc<str>, Value)>),
}

/// Most values nested in one another that a conversion reads: a recursive
/// type's values may nest without bound in hostile input.
const MAX_VALUE_DEPTH: usize = 128;

/// A struct's fields: an object in a readable format, else a tuple.
struct Fields<'a>(&'a [(Arc<str>, Value)]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            let mut map = s.serialize_map(Some(self.0.len()))?;
            self.0.iter().try_for_each(|(k, v)| map.serialize_entry(&**k, v))?;
            map.end()
        } else {
            let mut tuple = s.serialize_tuple(self.0.len())?;
            self.0.iter().try_for_each(|(_, v)| tuple.serialize_element(v))?;
            tuple.end()
        }
    }
}

/// A value of a known shape.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Unit,
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    I128(i128),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    U128(u128),
    F32(f32),
    F64(f64),
    Char(char),
    Str(String),
    Bytes(Vec<u8>),
    Option(Option<Box<Value>>),
    Seq(Vec<Value>),
    Map(Vec<(Value, Value)>),
    Tuple(Vec<Value>),
    /// `Ok` (0) or `Err` (1).
    Result(u32, Box<Value>),
    /// A struct with named fields: a JSON object, a postcard tuple.
    Struct(Vec<(Arc<str>, Value)>),
    /// An enum's variant: its index, name and fields.
    Variant(u32, Arc<str>, Box<VariantValue>),
    /// A shipped closure, as its summary: its signature and state size.
    Closure {
        signature: String,
        state_len: usize,
    },
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Unit => s.serialize_unit(),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::I8(v) => s.serialize_i8(*v),
            Value::I16(v) => s.serialize_i16(*v),
            Value::I32(v) => s.serialize_i32(*v),
            Value::I64(v) => s.serialize_i64(*v),
            Value::I128(v) => s.serialize_i128(*v),
            Value::U8(v) => s.serialize_u8(*v),
            Value::U16(v) => s.serialize_u16(*v),
            Value::U32(v) => s.serialize_u32(*v),
            Value::U64(v) => s.serialize_u64(*v),
            Value::U128(v) => s.serialize_u128(*v),
            Value::F32(v) => s.serialize_f32(*v),
            Value::F64(v) => s.serialize_f64(*v),
            Value::Char(v) => s.serialize_char(*v),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(v) => s.serialize_bytes(v),
            Value::Option(None) => s.serialize_none(),
            Value::Option(Some(v)) => s.serialize_some(v),
            Value::Seq(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                items.iter().try_for_each(|item| seq.serialize_element(item))?;
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = s.serialize_map(Some(entries.len()))?;
                entries.iter().try_for_each(|(k, v)| map.serialize_entry(k, v))?;
                map.end()
            }
            Value::Tuple(items) => {
                let mut tuple = s.serialize_tuple(items.len())?;
                items.iter().try_for_each(|item| tuple.serialize_element(item))?;
                tuple.end()
            }
            Value::Result(index, v) => {
                let variant = if *index == 0 { "Ok" } else { "Err" };
                s.serialize_newtype_variant("Result", *index, variant, v)
            }
            Value::Struct(fields) => Fields(fields).serialize(s),
            Value::Variant(index, name, body) => {
                if s.is_human_readable() {
                    // Externally tagged, as serde_json writes an enum.
                    if let VariantValue::Unit = **body {
                        return s.serialize_str(name);
                    }
                    let mut map = s.serialize_map(Some(1))?;
                    match &**body {
                        VariantValue::Newtype(v) => map.serialize_entry(&**name, v)?,
                        VariantValue::Tuple(items) => map.serialize_entry(&**name, &Value::Tuple(items.clone()))?,
                        VariantValue::Struct(fields) => map.serialize_entry(&**name, &Fields(fields))?,
                        VariantValue::Unit => unreachable!("written above"),
                    }
                    return map.end();
                }
                // Postcard: the variant's index, then its fields.
                let fields: Vec<&Value> = match &**body {
                    VariantValue::Unit => vec![],
                    VariantValue::Newtype(v) => vec![v],
                    VariantValue::Tuple(items) => items.iter().collect(),
                    VariantValue::Struct(fields) => fields.iter().map(|(_, v)| v).collect(),
                };
                let mut tuple = s.serialize_tuple(1 + fields.len())?;
                tuple.serialize_element(index)?;
                fields.iter().try_for_each(|v| tuple.serialize_element(v))?;
                tuple.end()
            }
            Value::Closure { signature, state_len } => {
                use serde::ser::{Error, SerializeStruct};
                if !s.is_human_readable() {
                    return Err(S::Error::custom("a closure's summary has no postcard form"));
                }
                let mut st = s.serialize_struct("Closure", 2)?;
                st.serialize_field("closure", signature)?;
                st.serialize_field("state_len", state_len)?;
                st.end()
            }
        }
    }
}

/// Reads a [`Value`] of a shape from any serde format: the shape, the
/// structs and enums it may name, and how deep in a value it is.
#[derive(Clone, Copy)]
pub(crate) struct Seed<'a> {
    pub shape: &'a Shape,
    pub registry: &'a Registry,
    depth: usize,
}

impl<'a> Seed<'a> {
    pub fn new(shape: &'a Shape, registry: &'a Registry) -> Seed<'a> {
        Seed { shape, registry, depth: 0 }
    }

    /// A part of this value.
    fn part(self, shape: &'a Shape) -> Seed<'a> {
        Seed { shape, registry: self.registry, depth: self.depth + 1 }
    }
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        if self.depth > MAX_VALUE_DEPTH {
            return Err(de::Error::custom(format!("values nested more than {MAX_VALUE_DEPTH} deep")));
        }
        // Scalars go through the std types' own impls: the same checks and
        // messages as the guest's serde.
        Ok(match self.shape {
            Shape::Unit => <()>::deserialize(d).map(|()| Value::Unit)?,
            Shape::Bool => Value::Bool(bool::deserialize(d)?),
            Shape::I8 => Value::I8(i8::deserialize(d)?),
            Shape::I16 => Value::I16(i16::deserialize(d)?),
            Shape::I32 => Value::I32(i32::deserialize(d)?),
            Shape::I64 => Value::I64(i64::deserialize(d)?),
            Shape::I128 => Value::I128(i128::deserialize(d)?),
            Shape::U8 => Value::U8(u8::deserialize(d)?),
            Shape::U16 => Value::U16(u16::deserialize(d)?),
            Shape::U32 => Value::U32(u32::deserialize(d)?),
            Shape::U64 => Value::U64(u64::deserialize(d)?),
            Shape::U128 => Value::U128(u128::deserialize(d)?),
            Shape::F32 => Value::F32(f32::deserialize(d)?),
            Shape::F64 => Value::F64(f64::deserialize(d)?),
            Shape::Char => Value::Char(char::deserialize(d)?),
            Shape::Str => Value::Str(String::deserialize(d)?),
            Shape::Bytes => Value::Bytes(serde_bytes::ByteBuf::deserialize(d)?.into_vec()),
            Shape::Option(inner) => d.deserialize_option(Compound(self, inner))?,
            Shape::Seq(inner) => d.deserialize_seq(Compound(self, inner))?,
            Shape::Map(key, _) => d.deserialize_map(Compound(self, key))?,
            Shape::Tuple(items) => d.deserialize_tuple(items.len(), Compound(self, self.shape))?,
            Shape::Result(..) => d.deserialize_enum("Result", &["Ok", "Err"], Compound(self, self.shape))?,
            Shape::Named(id) => {
                let named =
                    self.registry.get(*id).ok_or_else(|| de::Error::custom("a type the schema does not have"))?;
                // The names serde passes here are for messages; neither
                // postcard nor serde_json reads them.
                match &named.kind {
                    NamedKind::Struct(body) => {
                        let visitor = BodyVisitor { seed: self, name: &named.name, body };
                        match body {
                            BodyShape::Unit => d.deserialize_unit_struct("", visitor)?,
                            BodyShape::Newtype(_) => d.deserialize_newtype_struct("", visitor)?,
                            BodyShape::Tuple(items) => d.deserialize_tuple_struct("", items.len(), visitor)?,
                            BodyShape::Struct(fields) => d.deserialize_struct("", names(fields.len())?, visitor)?,
                        }
                    }
                    NamedKind::Enum(variants) => {
                        d.deserialize_enum("", &[], EnumVisitor { seed: self, name: &named.name, variants })?
                    }
                }
            }
            Shape::BulkFloats { f64 } => {
                let bytes = serde_bytes::ByteBuf::deserialize(d)?;
                let width = if *f64 { 8 } else { 4 };
                if bytes.len() % width != 0 {
                    return Err(de::Error::custom(format!("{} bytes are not a whole number of floats", bytes.len())));
                }
                let floats: Vec<Value> = if *f64 {
                    bytes
                        .chunks_exact(8)
                        .map(|b| Value::F64(f64::from_le_bytes(b.try_into().expect("8 bytes"))))
                        .collect()
                } else {
                    bytes
                        .chunks_exact(4)
                        .map(|b| Value::F32(f32::from_le_bytes(b.try_into().expect("4 bytes"))))
                        .collect()
                };
                Value::Seq(floats)
            }
            Shape::Closure { signature } => {
                if d.is_human_readable() {
                    return Err(de::Error::custom(format!("a closure ({signature}) cannot be given as JSON")));
                }
                // Postcard: (trampoline, body, state as bytes).
                let (_, _, state) = <(u32, u32, serde_bytes::ByteBuf)>::deserialize(d)?;
                Value::Closure { signature: signature.clone(), state_len: state.len() }
            }
        })
    }
}

/// The visitor of a compound shape: the whole value's seed, and its first part.
struct Compound<'a>(Seed<'a>, &'a Shape);

impl<'de> Visitor<'de> for Compound<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.shape {
            Shape::Option(_) => f.write_str("an option"),
            Shape::Seq(_) => f.write_str("a sequence"),
            Shape::Map(..) => f.write_str("a map"),
            Shape::Tuple(items) => write!(f, "a tuple of size {}", items.len()),
            Shape::Result(..) => f.write_str("enum Result"),
            _ => f.write_str("a value"),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Option(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Option(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Ok(Value::Option(Some(Box::new(self.0.part(self.1).deserialize(d)?))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let seed = self.0;
        match seed.shape {
            Shape::Tuple(items) => Ok(Value::Tuple(read_items(seed, items, &mut seq, &self)?)),
            _ => {
                // A length from the input is not trusted for more than a little.
                let mut values = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                let zero_sized = self.1.zero_sized(seed.registry);
                while let Some(value) = seq.next_element_seed(seed.part(self.1))? {
                    values.push(value);
                    if values.len() > MAX_ZERO_SIZED && zero_sized {
                        return Err(too_many());
                    }
                }
                Ok(Value::Seq(values))
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let seed = self.0;
        let Shape::Map(key, value) = seed.shape else {
            return Err(de::Error::invalid_type(de::Unexpected::Map, &self));
        };
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        let zero_sized = key.zero_sized(seed.registry) && value.zero_sized(seed.registry);
        while let Some(k) = map.next_key_seed(seed.part(key))? {
            entries.push((k, map.next_value_seed(seed.part(value))?));
            if entries.len() > MAX_ZERO_SIZED && zero_sized {
                return Err(too_many());
            }
        }
        Ok(Value::Map(entries))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let Shape::Result(ok, err) = self.0.shape else {
            return Err(de::Error::invalid_type(de::Unexpected::Enum, &self));
        };
        let (index, variant) = data.variant::<ResultVariant>()?;
        let inner = if index.0 == 0 { ok } else { err };
        Ok(Value::Result(index.0, Box::new(variant.newtype_variant_seed(self.0.part(inner))?)))
    }
}

/// Field names to hand serde for a struct of `count` fields: postcard reads
/// only how many there are, serde_json not even that.
fn names<E: de::Error>(count: usize) -> Result<&'static [&'static str], E> {
    const NAMES: [&str; 256] = [""; 256];
    NAMES.get(..count).ok_or_else(|| E::custom(format!("a struct of {count} fields")))
}

/// Exactly `items.len()` elements of a sequence.
fn read_items<'de, A: SeqAccess<'de>>(
    seed: Seed<'_>,
    items: &[Shape],
    seq: &mut A,
    expected: &dyn de::Expected,
) -> Result<Vec<Value>, A::Error> {
    let mut values = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match seq.next_element_seed(seed.part(item))? {
            Some(value) => values.push(value),
            None => return Err(de::Error::invalid_length(i, expected)),
        }
    }
    Ok(values)
}

/// A struct's fields from a sequence (postcard, or a JSON array) or a map
/// (a JSON object), as serde's derived impls read them: in a map, unknown
/// fields are skipped, a repeated one is refused, and a missing `Option`
/// is `None`.
fn read_fields<'de, A: MapAccess<'de>>(
    seed: Seed<'_>,
    fields: &[(Arc<str>, Shape)],
    map: &mut A,
) -> Result<Vec<(Arc<str>, Value)>, A::Error> {
    let mut values: Vec<Option<Value>> = vec![None; fields.len()];
    while let Some(key) = map.next_key::<String>()? {
        match fields.iter().position(|(name, _)| **name == *key) {
            Some(i) if values[i].is_some() => {
                return Err(de::Error::custom(format!("duplicate field `{key}`")));
            }
            Some(i) => values[i] = Some(map.next_value_seed(seed.part(&fields[i].1))?),
            None => {
                map.next_value::<de::IgnoredAny>()?;
            }
        }
    }
    fields
        .iter()
        .zip(values)
        .map(|((name, shape), value)| match (value, shape) {
            (Some(value), _) => Ok((name.clone(), value)),
            (None, Shape::Option(_)) => Ok((name.clone(), Value::Option(None))),
            (None, _) => Err(de::Error::custom(format!("missing field `{name}`"))),
        })
        .collect()
}

/// A struct's (or a variant's) fields, by its body's shape.
struct BodyVisitor<'a> {
    seed: Seed<'a>,
    name: &'a Arc<str>,
    body: &'a BodyShape,
}

impl<'de> Visitor<'de> for BodyVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.body {
            BodyShape::Unit => write!(f, "unit struct {}", self.name),
            BodyShape::Newtype(_) => write!(f, "tuple struct {}", self.name),
            BodyShape::Tuple(items) => write!(f, "tuple struct {} with {} elements", self.name, items.len()),
            BodyShape::Struct(fields) => write!(f, "struct {} with {} elements", self.name, fields.len()),
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        match self.body {
            BodyShape::Unit => Ok(Value::Unit),
            _ => Err(de::Error::invalid_type(de::Unexpected::Unit, &self)),
        }
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.body {
            BodyShape::Newtype(inner) => self.seed.part(inner).deserialize(d),
            _ => Err(de::Error::invalid_type(de::Unexpected::NewtypeStruct, &self)),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        match self.body {
            BodyShape::Tuple(items) => Ok(Value::Tuple(read_items(self.seed, items, &mut seq, &self)?)),
            BodyShape::Struct(fields) => {
                let shapes: Vec<Shape> = fields.iter().map(|(_, s)| s.clone()).collect();
                let values = read_items(self.seed, &shapes, &mut seq, &self)?;
                Ok(Value::Struct(fields.iter().map(|(n, _)| n.clone()).zip(values).collect()))
            }
            _ => Err(de::Error::invalid_type(de::Unexpected::Seq, &self)),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        match self.body {
            BodyShape::Struct(fields) => Ok(Value::Struct(read_fields(self.seed, fields, &mut map)?)),
            _ => Err(de::Error::invalid_type(de::Unexpected::Map, &self)),
        }
    }
}

/// An enum of the schema.
struct EnumVisitor<'a> {
    seed: Seed<'a>,
    name: &'a Arc<str>,
    variants: &'a [(Arc<str>, BodyShape)],
}

impl<'de> Visitor<'de> for EnumVisitor<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "enum {}", self.name)
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (index, variant) = data.variant_seed(VariantName(self.variants))?;
        let (name, body) = &self.variants[index as usize];
        let value = match body {
            BodyShape::Unit => {
                variant.unit_variant()?;
                VariantValue::Unit
            }
            BodyShape::Newtype(inner) => VariantValue::Newtype(variant.newtype_variant_seed(self.seed.part(inner))?),
            BodyShape::Tuple(items) => {
                let visitor = BodyVisitor { seed: self.seed, name, body };
                match variant.tuple_variant(items.len(), visitor)? {
                    Value::Tuple(items) => VariantValue::Tuple(items),
                    _ => return Err(de::Error::custom("a tuple variant read as something else")),
                }
            }
            BodyShape::Struct(fields) => {
                let visitor = BodyVisitor { seed: self.seed, name, body };
                match variant.struct_variant(names(fields.len())?, visitor)? {
                    Value::Struct(fields) => VariantValue::Struct(fields),
                    _ => return Err(de::Error::custom("a struct variant read as something else")),
                }
            }
        };
        Ok(Value::Variant(index, name.clone(), Box::new(value)))
    }
}

/// A variant's index, from its name (JSON) or its index (postcard).
struct VariantName<'a>(&'a [(Arc<str>, BodyShape)]);

impl<'de> DeserializeSeed<'de> for VariantName<'_> {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<u32, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl Visitor<'_> for VariantName<'_> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("variant identifier")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u32, E> {
        match usize::try_from(v) {
            Ok(i) if i < self.0.len() => Ok(i as u32),
            _ => Err(E::invalid_value(
                de::Unexpected::Unsigned(v),
                &format!("variant index 0 <= i < {}", self.0.len()).as_str(),
            )),
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u32, E> {
        match self.0.iter().position(|(name, _)| **name == *v) {
            Some(i) => Ok(i as u32),
            None => {
                let names: Vec<String> = self.0.iter().map(|(n, _)| format!("`{n}`")).collect();
                Err(E::custom(match names.len() {
                    0 => format!("unknown variant `{v}`, there are no variants"),
                    1 => format!("unknown variant `{v}`, expected {}", names[0]),
                    _ => format!("unknown variant `{v}`, expected one of {}", names.join(", ")),
                }))
            }
        }
    }
}

/// Most elements of a sequence (or entries of a map) whose values take no
/// bytes: postcard's length bounds any other sequence by the input's size,
/// but a count of `()`s is bounded only by the 32-bit length.
const MAX_ZERO_SIZED: usize = 1 << 20;

fn too_many<E: de::Error>() -> E {
    E::custom(format!("more than {MAX_ZERO_SIZED} elements that take no bytes"))
}

/// `Ok` or `Err`, by name (JSON) or index (postcard).
struct ResultVariant(u32);

impl<'de> Deserialize<'de> for ResultVariant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Id;
        impl Visitor<'_> for Id {
            type Value = ResultVariant;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`Ok` or `Err`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResultVariant, E> {
                match v {
                    0 | 1 => Ok(ResultVariant(v as u32)),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResultVariant, E> {
                match v {
                    "Ok" => Ok(ResultVariant(0)),
                    "Err" => Ok(ResultVariant(1)),
                    _ => Err(E::unknown_variant(v, &["Ok", "Err"])),
                }
            }
        }
        d.deserialize_identifier(Id)
    }
}

/// Postcard of a value of `shape` given as JSON text, read as the guest's
/// SDK reads a JSON argument: a text that is not JSON at all is taken as a
/// string, so `hello` works for a `String`. Errors are the SDK's.
pub(crate) fn json_arg(shape: &Shape, registry: &Registry, raw: &str) -> Result<Value, String> {
    let as_string = || Seed::new(shape, registry).deserialize(serde_json::Value::String(raw.to_owned()));
    match parse_json(shape, registry, raw) {
        Ok(value) => Ok(value),
        Err(err) if err.is_syntax() || err.is_eof() => {
            as_string().map_err(|_| format!("`{}` is not valid JSON ({err})", shorten(raw)))
        }
        // `--arg 5` for a string: the text is JSON, but not a string.
        Err(err) if as_string().is_ok() => {
            let quoted = serde_json::Value::String(raw.to_owned()).to_string();
            Err(format!(
                "{err} (to pass the text `{}` as a string, quote it as JSON: '{}')",
                shorten(raw),
                shorten(&quoted)
            ))
        }
        Err(err) => Err(err.to_string()),
    }
}

/// A value of `shape` given as JSON text, taken strictly as JSON: for a
/// binding, whose values are JSON by construction.
pub(crate) fn json_value(shape: &Shape, registry: &Registry, raw: &str) -> Result<Value, String> {
    parse_json(shape, registry, raw).map_err(|e| e.to_string())
}

fn parse_json(shape: &Shape, registry: &Registry, raw: &str) -> serde_json::Result<Value> {
    let mut reader = serde_json::Deserializer::from_str(raw);
    Seed::new(shape, registry).deserialize(&mut reader).and_then(|value| reader.end().map(|()| value))
}

fn shorten(raw: &str) -> String {
    const MAX: usize = 60;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

/// The value of `shape` that `bytes` hold in postcard, all of them.
pub(crate) fn from_postcard(shape: &Shape, registry: &Registry, bytes: &[u8]) -> Result<Value, String> {
    let mut reader = postcard::Deserializer::from_bytes(bytes);
    let value = Seed::new(shape, registry).deserialize(&mut reader).map_err(|e| e.to_string())?;
    match reader.finalize() {
        Ok([]) => Ok(value),
        Ok(rest) => Err(format!("{} bytes are left over", rest.len())),
        Err(e) => Err(e.to_string()),
    }
}

/// Reads values of `shapes` one after another from the front of `bytes`,
/// returning them and the bytes left.
pub(crate) fn take_postcard<'b>(
    shapes: &[Shape],
    registry: &Registry,
    bytes: &'b [u8],
) -> Result<(Vec<Value>, &'b [u8]), String> {
    let mut reader = postcard::Deserializer::from_bytes(bytes);
    let values = shapes
        .iter()
        .map(|shape| Seed::new(shape, registry).deserialize(&mut reader))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let rest = reader.finalize().map_err(|e| e.to_string())?;
    Ok((values, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::any::type_name;
    use std::collections::{BTreeMap, HashMap};

    /// Both directions agree with serde's own impls for `T`.
    fn agrees<T: Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug>(json: &str) {
        let shape = Shape::of(type_name::<T>()).unwrap();
        let typed: T = serde_json::from_str(json).unwrap();
        let value = json_arg(&shape, &Registry::default(), json).unwrap();
        // Compared decoded: a map's entries keep the JSON's order, which
        // the guest's decoding puts in its own.
        assert_eq!(postcard::from_bytes::<T>(&postcard::to_allocvec(&value).unwrap()).unwrap(), typed, "{json}");
        let back = from_postcard(&shape, &Registry::default(), &postcard::to_allocvec(&typed).unwrap()).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&typed).unwrap(), "{json}");
    }

    #[test]
    fn conversions_agree_with_serde() {
        agrees::<i64>("-5");
        agrees::<u8>("255");
        agrees::<i128>("-170141183460469231731687303715884105728");
        agrees::<f32>("0.1");
        agrees::<f64>("1e300");
        agrees::<char>("\"é\"");
        agrees::<String>("\"a \\\"quoted\\\" line\\n\"");
        agrees::<()>("null");
        agrees::<Option<Option<i32>>>("null");
        agrees::<Option<i32>>("7");
        agrees::<Vec<(String, bool)>>("[[\"a\", true], [\"b\", false]]");
        agrees::<[u16; 3]>("[1, 2, 3]");
        agrees::<BTreeMap<i64, Vec<f64>>>("{\"3\": [1.5], \"-1\": []}");
        agrees::<HashMap<String, u32>>("{\"x\": 1}");
        agrees::<Result<i64, String>>("{\"Ok\": 4}");
        agrees::<Result<i64, String>>("{\"Err\": \"no\"}");
        agrees::<Box<[u8]>>("[1, 2]");
    }

    #[test]
    fn a_closure_is_shown_by_its_summary_and_never_read_from_json() {
        let shape = Shape::Closure { signature: "fn(i64,) -> i64".into() };
        let value = from_postcard(&shape, &Registry::default(), &[3, 4, 2, 7, 9]).unwrap();
        assert_eq!(serde_json::to_string(&value).unwrap(), r#"{"closure":"fn(i64,) -> i64","state_len":2}"#);
        assert!(postcard::to_allocvec(&value).is_err());
        assert!(
            json_arg(&shape, &Registry::default(), "[3, 4, [7, 9]]").unwrap_err().contains("cannot be given as JSON")
        );
    }

    #[test]
    fn json_args_are_read_as_the_sdk_reads_them() {
        let shape = Shape::of("alloc::string::String").unwrap();
        assert_eq!(json_arg(&shape, &Registry::default(), "hello"), Ok(Value::Str("hello".into())));
        let err = json_arg(&shape, &Registry::default(), "5").unwrap_err();
        assert!(err.contains("quote it as JSON: '\"5\"'"), "{err}");
        let err = json_arg(&Shape::I64, &Registry::default(), "four").unwrap_err();
        assert!(err.contains("not valid JSON"), "{err}");
        let err = json_arg(&Shape::U8, &Registry::default(), "300").unwrap_err();
        assert!(err.contains("u8"), "{err}");
        assert!(json_arg(&Shape::Tuple(vec![Shape::I64; 2]), &Registry::default(), "[1, 2, 3]").is_err());
        assert!(json_arg(&Shape::Tuple(vec![Shape::I64; 2]), &Registry::default(), "[1]").is_err());
        assert!(json_arg(&Shape::I64, &Registry::default(), "1 2").is_err());
    }

    #[test]
    fn a_count_of_values_that_take_no_bytes_is_bounded() {
        // Postcard: a varint count of 2^32 - 1, then nothing.
        let units = [0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(from_postcard(&Shape::Seq(Box::new(Shape::Unit)), &Registry::default(), &units).is_err());
        let map = Shape::Map(Box::new(Shape::Unit), Box::new(Shape::Tuple(vec![])));
        assert!(from_postcard(&map, &Registry::default(), &units).is_err());
        assert_eq!(
            from_postcard(&Shape::Seq(Box::new(Shape::Unit)), &Registry::default(), &[2]),
            Ok(Value::Seq(vec![Value::Unit; 2]))
        );
    }

    #[test]
    fn postcard_must_be_whole() {
        assert_eq!(from_postcard(&Shape::I64, &Registry::default(), &[8]), Ok(Value::I64(4)));
        assert!(from_postcard(&Shape::I64, &Registry::default(), &[8, 0]).unwrap_err().contains("left over"));
        assert!(from_postcard(&Shape::Str, &Registry::default(), &[5, b'a']).is_err());
        let floats = [8u8, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40];
        let bulk = from_postcard(&Shape::BulkFloats { f64: false }, &Registry::default(), &floats).unwrap();
        assert_eq!(bulk, Value::Seq(vec![Value::F32(1.0), Value::F32(2.0)]));
        let one_f32 = [4u8, 0, 0, 0x80, 0x3f];
        assert!(from_postcard(&Shape::BulkFloats { f64: true }, &Registry::default(), &one_f32).is_err());
    }
}
