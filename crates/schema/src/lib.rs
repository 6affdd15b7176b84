//! Traces the serde shape of a type through its `Deserialize` impl: the
//! formats, struct fields in order, and enum variants that postcard's bytes
//! of it mean.
//!
//! serde has no schema of its own, but a type's `Deserialize` asks its
//! deserializer for what it expects (`deserialize_struct("Reading",
//! ["sensor", "celsius"], …)`). A tracer answers each request with a sample
//! value and writes down what was asked. An enum is explored one unexplored
//! variant per pass until every variant is known. Inside a recursive type
//! (a container met again within itself), options are `None`, sequences and
//! maps empty, and enums take a variant already known, so that tracing ends.
//!
//! The guest SDK traces a closure's types when a maker runs; the host traces
//! the Rust types of a typed call with the same code, so that equal types
//! give equal shapes. A type that cannot be traced (one that needs a
//! self-describing format, or refuses the samples) is
//! [`Format::Untraced`], with the reason.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
pub use shipfn_abi::schema::{Body, Container, Format, MAX_FORMAT_DEPTH, Schema};

/// Most containers one traced type may name.
const MAX_CONTAINERS: usize = 256;
/// Most containers nested in one another while tracing.
const MAX_DEPTH: usize = 64;
/// Most passes over one type (one per enum variant explored, and retries).
const MAX_PASSES: usize = 512;
/// Longest tuple traced.
const MAX_TUPLE: usize = 64;

/// The postcard variant indices of [`Format`], [`Body`] and [`Container`]:
/// the tracer writes their encoding directly (a guest then carries no
/// encoder for the schema types, only these bytes).
mod tag {
    pub const UNIT: u8 = 0;
    pub const BOOL: u8 = 1;
    pub const I8: u8 = 2;
    pub const I16: u8 = 3;
    pub const I32: u8 = 4;
    pub const I64: u8 = 5;
    pub const I128: u8 = 6;
    pub const U8: u8 = 7;
    pub const U16: u8 = 8;
    pub const U32: u8 = 9;
    pub const U64: u8 = 10;
    pub const U128: u8 = 11;
    pub const F32: u8 = 12;
    pub const F64: u8 = 13;
    pub const CHAR: u8 = 14;
    pub const STR: u8 = 15;
    pub const BYTES: u8 = 16;
    pub const OPTION: u8 = 17;
    pub const SEQ: u8 = 18;
    pub const MAP: u8 = 19;
    pub const TUPLE: u8 = 20;
    pub const NAMED: u8 = 21;
    pub const UNTRACED: u8 = 22;
    /// [`Body`](super::Body)'s variants.
    pub const BODY_UNIT: u8 = 0;
    pub const BODY_NEWTYPE: u8 = 1;
    pub const BODY_TUPLE: u8 = 2;
    pub const BODY_STRUCT: u8 = 3;
    /// [`Container`](super::Container)'s variants.
    pub const STRUCT: u8 = 0;
    pub const ENUM: u8 = 1;
}

use shipfn_abi::wire::varint;

fn string(out: &mut Vec<u8>, s: &str) {
    shipfn_abi::wire::bytes(out, s.as_bytes());
}

/// One traced format: postcard bytes of a [`Format`].
pub struct Traced(Vec<u8>);

/// Traces several types into one list of containers, and encodes a
/// [`Schema`] of them.
#[derive(Default)]
pub struct Builder {
    tracer: Tracer,
}

impl Builder {
    /// An empty builder.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// The format of `T`; the containers it names are added to this
    /// builder's (a type traced apart from the others keeps its own, so
    /// that a generic type may have different shapes in two of them).
    pub fn trace<T: DeserializeOwned>(&mut self) -> Traced {
        self.tracer.root(|tracing| T::deserialize(tracing).map(drop))
    }

    /// Postcard bytes of the [`Schema`] of these formats.
    pub fn encode(self, params: &[Traced], result: &Traced, captures: &[Traced], globals: &[Traced]) -> Vec<u8> {
        let mut out = Vec::new();
        let entries = self.tracer.entries;
        varint(&mut out, entries.len());
        for entry in &entries {
            string(&mut out, entry.name);
            match &entry.kind {
                Kind::Struct(body) => {
                    out.push(tag::STRUCT);
                    out.extend_from_slice(body.as_deref().unwrap_or(&[tag::BODY_UNIT]));
                }
                Kind::Enum { names, bodies, .. } => {
                    out.push(tag::ENUM);
                    varint(&mut out, names.len());
                    for (name, body) in names.iter().zip(bodies) {
                        string(&mut out, name);
                        out.extend_from_slice(body.as_deref().unwrap_or(&[tag::BODY_UNIT]));
                    }
                }
            }
        }
        let list = |out: &mut Vec<u8>, formats: &[Traced]| {
            varint(out, formats.len());
            formats.iter().for_each(|f| out.extend_from_slice(&f.0));
        };
        list(&mut out, params);
        out.extend_from_slice(&result.0);
        list(&mut out, captures);
        list(&mut out, globals);
        out
    }
}

/// A format that says why a type could not be traced.
pub fn untraced(why: &str) -> Traced {
    let mut out = vec![tag::UNTRACED];
    string(&mut out, why);
    Traced(out)
}

/// A struct or enum met while tracing one type.
struct Entry {
    name: &'static str,
    /// The field or variant names' slice: with the name, what tells two
    /// containers apart.
    key: usize,
    kind: Kind,
}

/// A container's body or variants' bodies, as postcard bytes of [`Body`],
/// once traced.
enum Kind {
    Struct(Option<Vec<u8>>),
    Enum { names: &'static [&'static str], bodies: Vec<Option<Vec<u8>>>, deferred: Vec<bool> },
}

#[derive(Default)]
struct Tracer {
    entries: Vec<Entry>,
    /// The first entry of the type being traced.
    first: usize,
    /// Where the format being traced is written.
    out: Vec<u8>,
    /// Containers being traced, outermost first.
    stack: Vec<u32>,
    /// How many of `stack` were already below them: inside a recursion
    /// while positive, and then nothing is recorded or written.
    repeats: usize,
    /// How deeply the formats being written nest.
    depth: usize,
    /// Variants first explored in this pass.
    choices: Vec<(u32, usize)>,
    progress: bool,
}

type Deserialize = fn(Tracing<'_>) -> Result<(), Error>;

impl Tracer {
    /// Traces one type, whose containers are its own.
    fn root(&mut self, deserialize: Deserialize) -> Traced {
        self.first = self.entries.len();
        match self.run(deserialize) {
            Ok(format) => Traced(format),
            Err(why) => {
                self.entries.truncate(self.first);
                untraced(why)
            }
        }
    }

    fn run(&mut self, deserialize: Deserialize) -> Result<Vec<u8>, &'static str> {
        let mut resets = 0;
        for _ in 0..MAX_PASSES {
            self.stack.clear();
            self.out.clear();
            self.repeats = 0;
            self.depth = 0;
            self.choices.clear();
            self.progress = false;
            match deserialize(Tracing { tracer: self }) {
                Ok(()) => {}
                Err(Error { recursion: true, .. }) if !self.choices.is_empty() => {
                    for &(id, variant) in &self.choices {
                        if let Kind::Enum { deferred, .. } = &mut self.entries[id as usize].kind {
                            deferred[variant] = true;
                        }
                    }
                    continue;
                }
                Err(e) => return Err(e.message),
            }
            if self.complete() {
                return Ok(core::mem::take(&mut self.out));
            }
            if !self.progress {
                // Only deferred variants are left: try them again, now that
                // their enums have variants to end a recursion with.
                resets += 1;
                if resets > 4 {
                    break;
                }
                for entry in &mut self.entries[self.first..] {
                    if let Kind::Enum { deferred, .. } = &mut entry.kind {
                        deferred.iter_mut().for_each(|d| *d = false);
                    }
                }
            }
        }
        Err("an enum whose variants could not all be reached")
    }

    fn complete(&self) -> bool {
        self.entries[self.first..].iter().all(|e| match &e.kind {
            Kind::Struct(body) => body.is_some(),
            Kind::Enum { bodies, .. } => bodies.iter().all(Option::is_some),
        })
    }

    fn recursing(&self) -> bool {
        self.repeats > 0
    }

    /// Writes bytes of the format being traced (nothing inside a recursion).
    fn put(&mut self, bytes: &[u8]) {
        if !self.recursing() {
            self.out.extend_from_slice(bytes);
        }
    }

    fn put_len(&mut self, len: usize) {
        if !self.recursing() {
            varint(&mut self.out, len);
        }
    }

    /// Enters a nested format (an option's, a sequence's, …).
    fn nest(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_FORMAT_DEPTH {
            return Err(Error::new("types nested more deeply than a schema may describe"));
        }
        Ok(())
    }

    /// Enters the container `name`: writes its reference, and starts its
    /// body. Returns its id and the output it interrupted.
    fn enter(
        &mut self,
        name: &'static str,
        names: &'static [&'static str],
        is_enum: bool,
    ) -> Result<(u32, Vec<u8>, usize), Error> {
        let key = names.as_ptr() as usize;
        let found = self.entries[self.first..].iter().position(|e| e.name == name && e.key == key);
        let id = match found {
            Some(i) => (self.first + i) as u32,
            None => {
                if self.entries.len() - self.first == MAX_CONTAINERS {
                    return Err(Error::new("the type names too many structs and enums"));
                }
                let kind = match is_enum {
                    true => Kind::Enum { names, bodies: vec![None; names.len()], deferred: vec![false; names.len()] },
                    false => Kind::Struct(None),
                };
                self.entries.push(Entry { name, key, kind });
                (self.entries.len() - 1) as u32
            }
        };
        if self.stack.len() == MAX_DEPTH {
            return Err(Error { recursion: true, message: "types nested too deeply" });
        }
        self.put(&[tag::NAMED]);
        self.put_len(id as usize);
        if self.stack.contains(&id) {
            self.repeats += 1;
        }
        self.stack.push(id);
        let depth = core::mem::replace(&mut self.depth, 0);
        Ok((id, core::mem::take(&mut self.out), depth))
    }

    /// Leaves container `id`: the body written since [`enter`], and the
    /// output and depth it interrupted restored.
    fn leave(&mut self, id: u32, (out, depth): (Vec<u8>, usize)) -> Vec<u8> {
        self.stack.pop();
        let recursing = self.recursing();
        if self.stack.contains(&id) {
            self.repeats -= 1;
        }
        self.depth = depth;
        let body = core::mem::replace(&mut self.out, out);
        if recursing { Vec::new() } else { body }
    }

    fn record_struct(&mut self, id: u32, body: Vec<u8>, recorded: bool) -> Result<(), Error> {
        if !recorded {
            return Ok(());
        }
        let entry = &mut self.entries[id as usize];
        match &mut entry.kind {
            Kind::Struct(slot @ None) => {
                *slot = Some(body);
                self.progress = true;
                Ok(())
            }
            Kind::Struct(Some(known)) if *known == body => Ok(()),
            _ => Err(Error::new(CONFLICT)),
        }
    }

    fn record_variant(&mut self, id: u32, variant: usize, body: Vec<u8>, recorded: bool) -> Result<(), Error> {
        if !recorded {
            return Ok(());
        }
        let Kind::Enum { bodies, .. } = &mut self.entries[id as usize].kind else { return Err(Error::new(CONFLICT)) };
        match &bodies[variant] {
            None => {
                bodies[variant] = Some(body);
                self.progress = true;
                Ok(())
            }
            Some(known) if *known == body => Ok(()),
            Some(_) => Err(Error::new(CONFLICT)),
        }
    }

    /// The variant to take of enum `id`: the first one not yet explored,
    /// or inside a recursion one that is known (a unit variant first).
    fn choose(&mut self, id: u32) -> usize {
        let recursing = self.recursing();
        let Kind::Enum { bodies, deferred, .. } = &self.entries[id as usize].kind else { return 0 };
        if !recursing && let Some(v) = (0..bodies.len()).find(|&v| bodies[v].is_none() && !deferred[v]) {
            self.choices.push((id, v));
            return v;
        }
        let unit = (0..bodies.len()).find(|&v| matches!(&bodies[v], Some(b) if b[..] == [tag::BODY_UNIT]));
        unit.or_else(|| (0..bodies.len()).find(|&v| bodies[v].is_some())).unwrap_or(0)
    }
}

const CONFLICT: &str = "a type has two different shapes here (a generic type used with different parameters)";

/// Why tracing stopped.
struct Error {
    /// Nested too deeply: another choice of variants may end it.
    recursion: bool,
    message: &'static str,
}

impl Error {
    fn new(message: &'static str) -> Error {
        Error { recursion: false, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl de::StdError for Error {}

impl de::Error for Error {
    /// The type's own message is not kept: formatting it would put
    /// `core::fmt` into every guest.
    fn custom<T: fmt::Display>(_: T) -> Self {
        Error::new("its Deserialize refused the tracer's sample values")
    }
}

const SELF_DESCRIBING: &str = "it needs a self-describing format (deserialize_any), which postcard is not";

/// The deserializer handed to a type: answers with samples, and writes the
/// format asked for.
struct Tracing<'t> {
    tracer: &'t mut Tracer,
}

macro_rules! scalar {
    ($($method:ident $visit:ident $tag:ident $sample:expr;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            self.tracer.put(&[tag::$tag]);
            visitor.$visit($sample)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Tracing<'_> {
    type Error = Error;

    scalar! {
        deserialize_bool visit_bool BOOL false;
        deserialize_i8 visit_i8 I8 0;
        deserialize_i16 visit_i16 I16 0;
        deserialize_i32 visit_i32 I32 0;
        deserialize_i64 visit_i64 I64 0;
        deserialize_i128 visit_i128 I128 0;
        deserialize_u8 visit_u8 U8 0;
        deserialize_u16 visit_u16 U16 0;
        deserialize_u32 visit_u32 U32 0;
        deserialize_u64 visit_u64 U64 0;
        deserialize_u128 visit_u128 U128 0;
        deserialize_f32 visit_f32 F32 0.0;
        deserialize_f64 visit_f64 F64 0.0;
        deserialize_char visit_char CHAR 'a';
        deserialize_str visit_str STR "";
        deserialize_string visit_str STR "";
        deserialize_bytes visit_bytes BYTES &[];
        deserialize_byte_buf visit_bytes BYTES &[];
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.tracer.put(&[tag::UNIT]);
        visitor.visit_unit()
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::new(SELF_DESCRIBING))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::new(SELF_DESCRIBING))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error::new("an identifier outside an enum"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let tracer = self.tracer;
        tracer.put(&[tag::OPTION]);
        tracer.nest()?;
        let value = if tracer.recursing() {
            visitor.visit_none()?
        } else {
            visitor.visit_some(Tracing { tracer: &mut *tracer })?
        };
        tracer.depth -= 1;
        Ok(value)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let tracer = self.tracer;
        tracer.put(&[tag::SEQ]);
        tracer.nest()?;
        let count = if tracer.recursing() { 0 } else { 1 };
        let value = visit_all(&mut *tracer, count, &[], visitor)?;
        tracer.depth -= 1;
        Ok(value)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        if len > MAX_TUPLE {
            return Err(Error::new("a tuple too long to describe"));
        }
        let tracer = self.tracer;
        tracer.put(&[tag::TUPLE]);
        tracer.put_len(len);
        tracer.nest()?;
        let value = visit_all(&mut *tracer, len, &[], visitor)?;
        tracer.depth -= 1;
        Ok(value)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let tracer = self.tracer;
        tracer.put(&[tag::MAP]);
        tracer.nest()?;
        let entries = if tracer.recursing() { 0 } else { 1 };
        let mut map = Map { tracer: &mut *tracer, entries, pending: false };
        let value = visitor.visit_map(&mut map)?;
        if map.entries != 0 || map.pending {
            return Err(Error::new("its Deserialize read fewer entries than it was given"));
        }
        tracer.depth -= 1;
        Ok(value)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        let (id, saved, depth) = self.tracer.enter(name, &[], false)?;
        self.tracer.put(&[tag::BODY_UNIT]);
        let value = visitor.visit_unit()?;
        self.finish_struct(id, (saved, depth))?;
        Ok(value)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, name: &'static str, visitor: V) -> Result<V::Value, Error> {
        let (id, saved, depth) = self.tracer.enter(name, &[], false)?;
        self.tracer.put(&[tag::BODY_NEWTYPE]);
        let value = visitor.visit_newtype_struct(Tracing { tracer: &mut *self.tracer })?;
        self.finish_struct(id, (saved, depth))?;
        Ok(value)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        if len > MAX_TUPLE {
            return Err(Error::new("a tuple struct too long to describe"));
        }
        let (id, saved, depth) = self.tracer.enter(name, &[], false)?;
        self.tracer.put(&[tag::BODY_TUPLE]);
        self.tracer.put_len(len);
        let value = visit_all(&mut *self.tracer, len, &[], visitor)?;
        self.finish_struct(id, (saved, depth))?;
        Ok(value)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (id, saved, depth) = self.tracer.enter(name, fields, false)?;
        self.tracer.put(&[tag::BODY_STRUCT]);
        self.tracer.put_len(fields.len());
        let value = visit_all(&mut *self.tracer, fields.len(), fields, visitor)?;
        self.finish_struct(id, (saved, depth))?;
        Ok(value)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if variants.is_empty() {
            return Err(Error::new("an enum without variants has no values"));
        }
        let (id, saved, depth) = self.tracer.enter(name, variants, true)?;
        let variant = self.tracer.choose(id);
        let recorded = !self.tracer.recursing();
        let value = visitor.visit_enum(Enum { tracer: &mut *self.tracer, variant })?;
        let body = self.tracer.leave(id, (saved, depth));
        self.tracer.record_variant(id, variant, body, recorded)?;
        Ok(value)
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

impl Tracing<'_> {
    fn finish_struct(self, id: u32, saved: (Vec<u8>, usize)) -> Result<(), Error> {
        // Whether this occurrence is recorded: decided before leaving it.
        let recorded = !self.tracer.recursing();
        let body = self.tracer.leave(id, saved);
        self.tracer.record_struct(id, body, recorded)
    }
}

/// The elements of a sequence, tuple or struct: `count` of them, each after
/// its field name for a struct.
struct Seq<'t> {
    tracer: &'t mut Tracer,
    count: usize,
    names: &'static [&'static str],
}

/// Visits `count` elements, all of which the visitor must read: an element
/// left unread would leave its format unwritten.
fn visit_all<'de, V: Visitor<'de>>(
    tracer: &mut Tracer,
    count: usize,
    names: &'static [&'static str],
    visitor: V,
) -> Result<V::Value, Error> {
    let mut seq = Seq { tracer, count, names };
    let value = visitor.visit_seq(&mut seq)?;
    if seq.count != 0 {
        return Err(Error::new("its Deserialize read fewer elements than it declared"));
    }
    Ok(value)
}

impl<'de> de::SeqAccess<'de> for &mut Seq<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if self.count == 0 {
            return Ok(None);
        }
        self.count -= 1;
        if let Some((name, rest)) = self.names.split_first() {
            if !self.tracer.recursing() {
                string(&mut self.tracer.out, name);
            }
            self.names = rest;
        }
        seed.deserialize(Tracing { tracer: &mut *self.tracer }).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.count)
    }
}

/// A map of `entries` (0 or 1) entries. With none, the key and value
/// formats are not written: only inside a recursion, where nothing is.
struct Map<'t> {
    tracer: &'t mut Tracer,
    entries: usize,
    /// A key was read, its value not yet.
    pending: bool,
}

impl<'de> de::MapAccess<'de> for &mut Map<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.entries == 0 {
            return Ok(None);
        }
        self.entries -= 1;
        self.pending = true;
        seed.deserialize(Tracing { tracer: &mut *self.tracer }).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.pending = false;
        seed.deserialize(Tracing { tracer: &mut *self.tracer })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries)
    }
}

/// The chosen variant of an enum; its body is written as it is read.
struct Enum<'t> {
    tracer: &'t mut Tracer,
    variant: usize,
}

impl<'de, 't> de::EnumAccess<'de> for Enum<'t> {
    type Error = Error;
    type Variant = Enum<'t>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Enum<'t>), Error> {
        let index: de::value::U32Deserializer<Error> = (self.variant as u32).into_deserializer();
        Ok((seed.deserialize(index)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Enum<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        self.tracer.put(&[tag::BODY_UNIT]);
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        self.tracer.put(&[tag::BODY_NEWTYPE]);
        seed.deserialize(Tracing { tracer: self.tracer })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        if len > MAX_TUPLE {
            return Err(Error::new("a tuple variant too long to describe"));
        }
        self.tracer.put(&[tag::BODY_TUPLE]);
        self.tracer.put_len(len);
        visit_all(self.tracer, len, &[], visitor)
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Error> {
        self.tracer.put(&[tag::BODY_STRUCT]);
        self.tracer.put_len(fields.len());
        visit_all(self.tracer, fields.len(), fields, visitor)
    }
}

#[cfg(test)]
mod tests;
