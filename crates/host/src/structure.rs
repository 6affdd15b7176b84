//! Typed calls checked by structure (packages of guest ABI 7 on): the
//! caller's Rust types against the schema the guest traced, so that a host's
//! copy of a guest struct with its fields in another order, or of another
//! type, is refused rather than decoded into garbage.
//!
//! The result type is traced with the guest's own tracer and compared with
//! the package's format, once per pair of types. The arguments implement
//! only `Serialize` (a `&str` may stand for a `String`), so their values are
//! checked as they would be written: every struct, field, variant and
//! format they show. A value that shows every part of its type (no `None`,
//! no empty sequence or map, no enum) proves the type; until one does, each
//! call's arguments are checked.

use std::fmt::{self, Display};

use serde::ser::{self, Serialize};
use shipfn_abi::schema::{Body, Container, Format, Schema};

/// A package's named types.
pub(crate) type Containers = [(String, Container)];

/// A format, written as Rust: `Vec<(i64, String)>`, `Reading`.
pub(crate) struct Shown<'a>(pub &'a Format, pub &'a Containers);

impl<'a> Display for Shown<'a> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |format: &'a Format| Shown(format, self.1);
        match self.0 {
            Format::Unit => f.write_str("()"),
            Format::Bool => f.write_str("bool"),
            Format::I8 => f.write_str("i8"),
            Format::I16 => f.write_str("i16"),
            Format::I32 => f.write_str("i32"),
            Format::I64 => f.write_str("i64"),
            Format::I128 => f.write_str("i128"),
            Format::U8 => f.write_str("u8"),
            Format::U16 => f.write_str("u16"),
            Format::U32 => f.write_str("u32"),
            Format::U64 => f.write_str("u64"),
            Format::U128 => f.write_str("u128"),
            Format::F32 => f.write_str("f32"),
            Format::F64 => f.write_str("f64"),
            Format::Char => f.write_str("char"),
            Format::Str => f.write_str("String"),
            Format::Bytes => f.write_str("bytes"),
            Format::Option(inner) => write!(f, "Option<{}>", show(inner)),
            Format::Seq(inner) => write!(f, "Vec<{}>", show(inner)),
            Format::Map(k, v) => write!(f, "Map<{}, {}>", show(k), show(v)),
            Format::Tuple(items) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", show(item))?;
                }
                f.write_str(if items.len() == 1 { ",)" } else { ")" })
            }
            Format::Named(id) => match self.1.get(*id as usize) {
                Some((name, _)) => f.write_str(name),
                None => f.write_str("?"),
            },
            Format::Untraced(_) => f.write_str("(untraced)"),
        }
    }
}

impl<'a> Shown<'a> {
    fn body(body: &'a Body, containers: &'a Containers) -> String {
        let list = |items: &'a [Format]| items.iter().map(|i| Shown(i, containers).to_string()).collect::<Vec<_>>();
        match body {
            Body::Unit => String::new(),
            Body::Newtype(inner) => format!("({})", Shown(inner, containers)),
            Body::Tuple(items) => format!("({})", list(items).join(", ")),
            Body::Struct(fields) => {
                let fields: Vec<String> =
                    fields.iter().map(|(n, f)| format!("{n}: {}", Shown(f, containers))).collect();
                format!(" {{ {} }}", fields.join(", "))
            }
        }
    }
}

/// A named type as a short Rust declaration:
/// `struct Reading { sensor: String, celsius: f64 }`.
pub(crate) fn declaration(name: &str, container: &Container, containers: &Containers) -> String {
    match container {
        Container::Struct(body @ (Body::Unit | Body::Newtype(_) | Body::Tuple(_))) => {
            format!("struct {name}{};", Shown::body(body, containers))
        }
        Container::Struct(body) => format!("struct {name}{}", Shown::body(body, containers)),
        Container::Enum(variants) => {
            let variants: Vec<String> =
                variants.iter().map(|(n, b)| format!("{n}{}", Shown::body(b, containers))).collect();
            format!("enum {name} {{ {} }}", variants.join(", "))
        }
    }
}

/// Each struct and enum of a schema as a short Rust declaration, in the
/// order the schema lists them, each once (as `shipfn inspect` shows them).
pub fn type_declarations(schema: &Schema) -> Vec<String> {
    let mut seen = Vec::new();
    for (name, c) in &schema.containers {
        let declaration = declaration(name, c, &schema.containers);
        if !seen.contains(&declaration) {
            seen.push(declaration);
        }
    }
    seen
}

/// Compares the caller's type (`host`, traced on the host) with the
/// package's (`guest`): the same formats, structs with the same fields in
/// the same order, enums with the same variants. The error names the first
/// difference, under `path`.
pub(crate) fn compare(host: (&Format, &Containers), guest: (&Format, &Containers), path: &str) -> Result<(), String> {
    Compare { host: host.1, guest: guest.1, seen: Vec::new() }.formats(host.0, guest.0, path)
}

struct Compare<'a> {
    host: &'a Containers,
    guest: &'a Containers,
    /// Pairs of containers being compared: met again, they are taken as
    /// equal (a recursive type).
    seen: Vec<(u32, u32)>,
}

impl Compare<'_> {
    fn differ(&self, path: &str, host: &Format, guest: &Format) -> String {
        format!("{path}: the package has {}, the caller has {}", Shown(guest, self.guest), Shown(host, self.host))
    }

    fn formats(&mut self, host: &Format, guest: &Format, path: &str) -> Result<(), String> {
        match (host, guest) {
            (_, Format::Untraced(why)) => Err(format!("{path}: the package's type could not be traced ({why})")),
            (Format::Untraced(why), _) => Err(format!("{path}: the caller's type could not be traced ({why})")),
            (Format::Option(h), Format::Option(g)) | (Format::Seq(h), Format::Seq(g)) => self.formats(h, g, path),
            (Format::Bytes, Format::Seq(g)) if **g == Format::U8 => Ok(()),
            (Format::Seq(h), Format::Bytes) if **h == Format::U8 => Ok(()),
            (Format::Map(hk, hv), Format::Map(gk, gv)) => {
                self.formats(hk, gk, &format!("{path} (key)"))?;
                self.formats(hv, gv, &format!("{path} (value)"))
            }
            (Format::Tuple(h), Format::Tuple(g)) if h.len() == g.len() => {
                h.iter().zip(g).enumerate().try_for_each(|(i, (h, g))| self.formats(h, g, &format!("{path}.{i}")))
            }
            (Format::Named(h), Format::Named(g)) => self.containers(*h, *g, path),
            _ if host == guest && !matches!(host, Format::Tuple(_)) => Ok(()),
            _ => Err(self.differ(path, host, guest)),
        }
    }

    fn containers(&mut self, h: u32, g: u32, path: &str) -> Result<(), String> {
        if self.seen.contains(&(h, g)) {
            return Ok(());
        }
        let (Some((hname, host)), Some((gname, guest))) = (self.host.get(h as usize), self.guest.get(g as usize))
        else {
            return Err(format!("{path}: a type the schema does not have"));
        };
        if hname != gname {
            return Err(format!("{path}: the package has {gname}, the caller has {hname}"));
        }
        self.seen.push((h, g));
        let path = if path.is_empty() { gname.clone() } else { format!("{path}: {gname}") };
        match (host, guest) {
            (Container::Struct(h), Container::Struct(g)) => self.bodies(h, g, &path),
            (Container::Enum(h), Container::Enum(g)) => {
                let names = |v: &[(String, Body)]| v.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
                if h.len() != g.len() || h.iter().zip(g).any(|((hn, _), (gn, _))| hn != gn) {
                    return Err(format!(
                        "{path}: the package has the variants ({}), the caller has ({})",
                        names(g),
                        names(h)
                    ));
                }
                h.iter().zip(g).try_for_each(|((name, h), (_, g))| self.bodies(h, g, &format!("{path}::{name}")))
            }
            (Container::Struct(_), Container::Enum(_)) => {
                Err(format!("{path}: the package has an enum, the caller has a struct"))
            }
            (Container::Enum(_), Container::Struct(_)) => {
                Err(format!("{path}: the package has a struct, the caller has an enum"))
            }
        }
    }

    fn bodies(&mut self, host: &Body, guest: &Body, path: &str) -> Result<(), String> {
        match (host, guest) {
            (Body::Unit, Body::Unit) => Ok(()),
            (Body::Newtype(h), Body::Newtype(g)) => self.formats(h, g, path),
            (Body::Tuple(h), Body::Tuple(g)) if h.len() == g.len() => {
                h.iter().zip(g).enumerate().try_for_each(|(i, (h, g))| self.formats(h, g, &format!("{path}.{i}")))
            }
            (Body::Struct(h), Body::Struct(g)) => {
                for (i, ((hn, hf), (gn, gf))) in h.iter().zip(g).enumerate() {
                    if hn != gn {
                        return Err(format!(
                            "{path}: the package has `{gn}` at field {}, the caller has `{hn}`",
                            i + 1
                        ));
                    }
                    if let Err(e) = self.formats(hf, gf, &format!("{path}.{gn}")) {
                        return Err(match (hf, gf) {
                            (Format::Named(_) | Format::Tuple(_), _) | (_, Format::Named(_) | Format::Tuple(_)) => e,
                            _ => format!(
                                "{path}.{gn}: the package has {} at field {}, the caller has {}",
                                Shown(gf, self.guest),
                                i + 1,
                                Shown(hf, self.host)
                            ),
                        });
                    }
                }
                if h.len() != g.len() {
                    let names =
                        |v: &[(String, Format)]| v.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
                    return Err(format!(
                        "{path}: the package has {} fields ({}), the caller has {} ({})",
                        g.len(),
                        names(g),
                        h.len(),
                        names(h)
                    ));
                }
                Ok(())
            }
            _ => Err(format!("{path}: the package has {}, the caller has {}", kind(guest), kind(host))),
        }
    }
}

fn kind(body: &Body) -> String {
    match body {
        Body::Unit => "no fields".into(),
        Body::Newtype(_) => "one unnamed field".into(),
        Body::Tuple(items) => format!("{} unnamed fields", items.len()),
        Body::Struct(fields) => format!("{} named fields", fields.len()),
    }
}

/// Checks that `value` serializes as a value of `format` (in `schema`'s
/// containers). `Ok(true)` if the value showed every part of its type.
pub(crate) fn conforms<T: Serialize + ?Sized>(value: &T, format: &Format, schema: &Schema) -> Result<bool, String> {
    let mut complete = true;
    value
        .serialize(Conform { format, containers: &schema.containers, complete: &mut complete })
        .map_err(Mismatch::message)?;
    Ok(complete)
}

/// Why a value does not conform: the difference, and the path to it
/// (innermost first, gathered as the error unwinds).
#[derive(Debug)]
pub(crate) struct Mismatch {
    what: String,
    path: Vec<String>,
}

impl Mismatch {
    fn new(what: String) -> Mismatch {
        Mismatch { what, path: Vec::new() }
    }

    fn at(mut self, segment: impl FnOnce() -> String) -> Mismatch {
        self.path.push(segment());
        self
    }

    fn message(self) -> String {
        let path: String = self.path.into_iter().rev().collect();
        if path.is_empty() { self.what } else { format!("{path}: {}", self.what) }
    }
}

impl Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)
    }
}

impl std::error::Error for Mismatch {}

impl ser::Error for Mismatch {
    fn custom<T: Display>(msg: T) -> Self {
        Mismatch::new(msg.to_string())
    }
}

/// A serializer that writes nothing and checks each call against a format.
struct Conform<'a> {
    format: &'a Format,
    containers: &'a Containers,
    complete: &'a mut bool,
}

impl<'a> Conform<'a> {
    fn wrong(&self, caller: &str) -> Mismatch {
        if let Format::Untraced(why) = self.format {
            return Mismatch::new(format!("the package's type could not be traced ({why}), so it cannot be checked"));
        }
        Mismatch::new(format!("the package has {}, the caller has {caller}", Shown(self.format, self.containers)))
    }

    fn scalar(self, expected: Format, caller: &str) -> Result<(), Mismatch> {
        if *self.format == expected { Ok(()) } else { Err(self.wrong(caller)) }
    }

    /// The container the format names, if it is `name`.
    fn named(&self, name: &str, caller: &str) -> Result<&'a Container, Mismatch> {
        let Format::Named(id) = self.format else { return Err(self.wrong(caller)) };
        match self.containers.get(*id as usize) {
            Some((n, container)) if n == name => Ok(container),
            _ => Err(self.wrong(name)),
        }
    }

    fn struct_body(&self, name: &str, caller: &str) -> Result<&'a Body, Mismatch> {
        match self.named(name, caller)? {
            Container::Struct(body) => Ok(body),
            Container::Enum(_) => Err(self.wrong(&format!("struct {name}"))),
        }
    }

    /// The body of variant `index`, if it is `variant`; the value's type
    /// is an enum, so its other variants are not seen.
    fn variant(&mut self, name: &str, index: u32, variant: &str) -> Result<&'a Body, Mismatch> {
        *self.complete = false;
        let Container::Enum(variants) = self.named(name, &format!("enum {name}"))? else {
            return Err(self.wrong(&format!("enum {name}")));
        };
        match variants.get(index as usize) {
            Some((n, body)) if n == variant => Ok(body),
            Some((n, _)) => Err(Mismatch::new(format!(
                "the package has `{n}` at variant {index} of {name}, the caller has `{variant}`"
            ))),
            None => Err(Mismatch::new(format!(
                "the package's {name} has {} variants, the caller's has `{variant}` at {index}",
                variants.len()
            ))),
        }
    }

    fn part(&mut self, format: &'a Format) -> Conform<'_> {
        Conform { format, containers: self.containers, complete: self.complete }
    }

    fn compound(self, formats: Parts<'a>) -> Compound<'a> {
        Compound { containers: self.containers, complete: self.complete, formats, seen: 0, name: "" }
    }

    fn fields(self, name: &'static str, fields: &'a [(String, Format)]) -> Compound<'a> {
        Compound { name, ..self.compound(Parts::Fields(fields)) }
    }
}

/// What the elements of a compound value must be.
#[derive(Clone, Copy)]
enum Parts<'a> {
    /// Each element is one of these (a sequence, or the bytes of one).
    Each(&'a Format),
    /// The elements in order (a tuple).
    List(&'a [Format]),
    /// Named fields in order.
    Fields(&'a [(String, Format)]),
    /// A map's keys and values.
    Map(&'a Format, &'a Format),
}

struct Compound<'a> {
    containers: &'a Containers,
    complete: &'a mut bool,
    formats: Parts<'a>,
    seen: usize,
    /// The struct or variant whose fields these are.
    name: &'static str,
}

impl Compound<'_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        let i = self.seen;
        self.seen += 1;
        let format = match self.formats {
            Parts::Each(format) => format,
            Parts::List(items) => items
                .get(i)
                .ok_or_else(|| Mismatch::new(format!("the caller has more than {} elements", items.len())))?,
            Parts::Fields(_) | Parts::Map(..) => {
                return Err(Mismatch::new("an element where fields were expected".into()));
            }
        };
        value.serialize(Conform { format, containers: self.containers, complete: self.complete }).map_err(|e| {
            e.at(|| match self.formats {
                Parts::Each(_) => format!("[{i}]"),
                _ => format!(".{i}"),
            })
        })
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Mismatch> {
        let i = self.seen;
        self.seen += 1;
        let Parts::Fields(fields) = self.formats else {
            return Err(Mismatch::new(format!("a field `{key}` where none was expected")));
        };
        let Some((name, format)) = fields.get(i) else {
            return Err(Mismatch::new(format!(
                "the package's {} has {} fields, the caller's has `{key}` too",
                self.name,
                fields.len()
            )));
        };
        if name != key {
            return Err(Mismatch::new(format!(
                "the package's {} has `{name}` at field {}, the caller's has `{key}`",
                self.name,
                i + 1
            )));
        }
        value
            .serialize(Conform { format, containers: self.containers, complete: self.complete })
            .map_err(|e| e.at(|| format!(".{key}")))
    }

    fn end(self) -> Result<(), Mismatch> {
        let expected = match self.formats {
            Parts::List(items) => items.len(),
            Parts::Fields(fields) => fields.len(),
            Parts::Each(_) | Parts::Map(..) => {
                if self.seen == 0 {
                    *self.complete = false;
                }
                return Ok(());
            }
        };
        if self.seen != expected {
            let what = if self.name.is_empty() { "the value" } else { self.name };
            return Err(Mismatch::new(format!(
                "the package's {what} has {expected} fields or elements, the caller's has {}",
                self.seen
            )));
        }
        Ok(())
    }
}

macro_rules! conform_scalars {
    ($($method:ident $ty:ty => $format:ident $caller:literal;)*) => {$(
        fn $method(self, _: $ty) -> Result<(), Mismatch> {
            self.scalar(Format::$format, $caller)
        }
    )*};
}

impl<'a> ser::Serializer for Conform<'a> {
    type Ok = ();
    type Error = Mismatch;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    conform_scalars! {
        serialize_bool bool => Bool "bool";
        serialize_i8 i8 => I8 "i8";
        serialize_i16 i16 => I16 "i16";
        serialize_i32 i32 => I32 "i32";
        serialize_i64 i64 => I64 "i64";
        serialize_i128 i128 => I128 "i128";
        serialize_u8 u8 => U8 "u8";
        serialize_u16 u16 => U16 "u16";
        serialize_u32 u32 => U32 "u32";
        serialize_u64 u64 => U64 "u64";
        serialize_u128 u128 => U128 "u128";
        serialize_f32 f32 => F32 "f32";
        serialize_f64 f64 => F64 "f64";
        serialize_char char => Char "char";
        serialize_str &str => Str "String";
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Mismatch> {
        match self.format {
            Format::Bytes => Ok(()),
            Format::Seq(inner) if **inner == Format::U8 => Ok(()),
            _ => Err(self.wrong("bytes")),
        }
    }

    fn serialize_none(self) -> Result<(), Mismatch> {
        match self.format {
            Format::Option(_) => {
                *self.complete = false;
                Ok(())
            }
            _ => Err(self.wrong("an Option")),
        }
    }

    fn serialize_some<T: Serialize + ?Sized>(mut self, value: &T) -> Result<(), Mismatch> {
        match self.format {
            Format::Option(inner) => value.serialize(self.part(inner)),
            _ => Err(self.wrong("an Option")),
        }
    }

    fn serialize_unit(self) -> Result<(), Mismatch> {
        self.scalar(Format::Unit, "()")
    }

    fn serialize_unit_struct(self, name: &'static str) -> Result<(), Mismatch> {
        match self.struct_body(name, name)? {
            Body::Unit => Ok(()),
            other => Err(Mismatch::new(format!("{name}: the package has {}, the caller has no fields", kind(other)))),
        }
    }

    fn serialize_unit_variant(mut self, name: &'static str, index: u32, variant: &'static str) -> Result<(), Mismatch> {
        match self.variant(name, index, variant)? {
            Body::Unit => Ok(()),
            other => {
                Err(Mismatch::new(format!("{name}::{variant}: the package has {}, the caller has none", kind(other))))
            }
        }
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Mismatch> {
        match self.struct_body(name, name)? {
            Body::Newtype(inner) => value.serialize(self.part(inner)).map_err(|e| e.at(|| format!("{name}.0"))),
            other => {
                Err(Mismatch::new(format!("{name}: the package has {}, the caller has one unnamed field", kind(other))))
            }
        }
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        mut self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Mismatch> {
        match self.variant(name, index, variant)? {
            Body::Newtype(inner) => {
                value.serialize(self.part(inner)).map_err(|e| e.at(|| format!("{name}::{variant}")))
            }
            other => Err(Mismatch::new(format!(
                "{name}::{variant}: the package has {}, the caller has one unnamed field",
                kind(other)
            ))),
        }
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Mismatch> {
        match self.format {
            Format::Seq(inner) => Ok(self.compound(Parts::Each(inner))),
            Format::Bytes => Ok(self.compound(Parts::Each(&Format::U8))),
            _ => Err(self.wrong("a sequence")),
        }
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a>, Mismatch> {
        match self.format {
            Format::Tuple(items) if items.len() == len => Ok(self.compound(Parts::List(items))),
            _ => Err(self.wrong(&format!("a tuple of {len}"))),
        }
    }

    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<Compound<'a>, Mismatch> {
        match self.struct_body(name, name)? {
            Body::Tuple(items) if items.len() == len => Ok(self.compound(Parts::List(items))),
            other => Err(Mismatch::new(format!(
                "{name}: the package has {}, the caller has {len} unnamed fields",
                kind(other)
            ))),
        }
    }

    fn serialize_tuple_variant(
        mut self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Mismatch> {
        match self.variant(name, index, variant)? {
            Body::Tuple(items) if items.len() == len => Ok(self.compound(Parts::List(items))),
            other => Err(Mismatch::new(format!(
                "{name}::{variant}: the package has {}, the caller has {len} unnamed fields",
                kind(other)
            ))),
        }
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Mismatch> {
        match self.format {
            Format::Map(k, v) => Ok(self.compound(Parts::Map(k, v))),
            _ => Err(self.wrong("a map")),
        }
    }

    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Compound<'a>, Mismatch> {
        match self.struct_body(name, name)? {
            Body::Struct(fields) => Ok(self.fields(name, fields)),
            other => Err(Mismatch::new(format!(
                "{name}: the package has {}, the caller has {len} named fields",
                kind(other)
            ))),
        }
    }

    fn serialize_struct_variant(
        mut self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'a>, Mismatch> {
        match self.variant(name, index, variant)? {
            Body::Struct(fields) => Ok(self.fields(variant, fields)),
            other => Err(Mismatch::new(format!(
                "{name}::{variant}: the package has {}, the caller has {len} named fields",
                kind(other)
            ))),
        }
    }

    fn is_human_readable(&self) -> bool {
        false
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        self.element(value)
    }
    fn end(self) -> Result<(), Mismatch> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        self.element(value)
    }
    fn end(self) -> Result<(), Mismatch> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        self.element(value)
    }
    fn end(self) -> Result<(), Mismatch> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        self.element(value)
    }
    fn end(self) -> Result<(), Mismatch> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Mismatch> {
        let Parts::Map(k, _) = self.formats else { return Err(Mismatch::new("a map where none was expected".into())) };
        self.seen += 1;
        key.serialize(Conform { format: k, containers: self.containers, complete: self.complete })
            .map_err(|e| e.at(|| " (a key)".into()))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        let Parts::Map(_, v) = self.formats else { return Err(Mismatch::new("a map where none was expected".into())) };
        value
            .serialize(Conform { format: v, containers: self.containers, complete: self.complete })
            .map_err(|e| e.at(|| " (a value)".into()))
    }
    fn end(self) -> Result<(), Mismatch> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Mismatch> {
        self.field(key, value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), Mismatch> {
        Err(Mismatch::new(format!("the caller's type skips the field `{key}`, which postcard cannot carry")))
    }
    fn end(self) -> Result<(), Mismatch> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Mismatch> {
        self.field(key, value)
    }
    fn skip_field(&mut self, key: &'static str) -> Result<(), Mismatch> {
        Err(Mismatch::new(format!("the caller's type skips the field `{key}`, which postcard cannot carry")))
    }
    fn end(self) -> Result<(), Mismatch> {
        Compound::end(self)
    }
}
