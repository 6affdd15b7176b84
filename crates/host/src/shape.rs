//! The serde shapes of the std types a host can convert without the
//! guest's help, read from the whole type names that guests of ABI 6
//! report (`alloc::vec::Vec<alloc::string::String>`).
//!
//! A name is matched by its whole path, so a user's type that happens to be
//! called `String` is never taken for std's: it is unknown, and the caller
//! refuses to convert it.

/// How a value of a known type is laid out in serde's data model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Shape {
    Unit,
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str,
    /// A byte string (`serde_bytes`).
    Bytes,
    /// A struct or enum of the package's schema: an index into its
    /// [`Registry`].
    Named(u32),
    Option(Box<Shape>),
    Seq(Box<Shape>),
    Map(Box<Shape>, Box<Shape>),
    /// A tuple or an array of fixed length.
    Tuple(Vec<Shape>),
    /// `Result<T, E>`: serde's enum `Ok(T)` / `Err(E)`.
    Result(Box<Shape>, Box<Shape>),
    /// A captured `Vec<f32>` or `Vec<f64>` in a state: postcard bytes, counted
    /// in bytes, of the elements' little-endian bytes (the SDK's bulk form).
    BulkFloats {
        f64: bool,
    },
    /// A shipped closure (`shipfn_guest::closure::Closure<A, R>`): in JSON,
    /// the summary the guest's serde writes, `{"closure": "fn(i64,) -> i64",
    /// "state_len": 2}`; it has no JSON form to read.
    Closure {
        signature: String,
    },
}

use std::sync::Arc;

use shipfn_abi::schema::{Body, Container, Format, Schema};
use shipfn_abi::short_type_name;

use crate::type_names::TypeName;

/// The structs and enums a schema names, as shapes.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Registry {
    pub containers: Vec<Named>,
}

/// A struct or an enum.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Named {
    pub name: Arc<str>,
    pub kind: NamedKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NamedKind {
    Struct(BodyShape),
    /// Variants by index: name and body.
    Enum(Vec<(Arc<str>, BodyShape)>),
}

/// A struct's or a variant's fields.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum BodyShape {
    Unit,
    Newtype(Shape),
    Tuple(Vec<Shape>),
    Struct(Vec<(Arc<str>, Shape)>),
}

impl Registry {
    /// The containers of `schema` (checked by the format crate: every
    /// index is in range).
    pub fn of(schema: &Schema) -> Result<Registry, Unknown> {
        let body = |body: &Body| -> Result<BodyShape, Unknown> {
            Ok(match body {
                Body::Unit => BodyShape::Unit,
                Body::Newtype(f) => BodyShape::Newtype(Shape::of_format(f)?),
                Body::Tuple(items) => BodyShape::Tuple(items.iter().map(Shape::of_format).collect::<Result<_, _>>()?),
                Body::Struct(fields) => BodyShape::Struct(
                    fields
                        .iter()
                        .map(|(n, f)| Ok((Arc::from(n.as_str()), Shape::of_format(f)?)))
                        .collect::<Result<_, _>>()?,
                ),
            })
        };
        let containers = schema
            .containers
            .iter()
            .map(|(name, container)| {
                let kind = match container {
                    Container::Struct(b) => NamedKind::Struct(body(b)?),
                    Container::Enum(variants) => NamedKind::Enum(
                        variants
                            .iter()
                            .map(|(n, b)| Ok((Arc::from(n.as_str()), body(b)?)))
                            .collect::<Result<_, _>>()?,
                    ),
                };
                Ok(Named { name: Arc::from(name.as_str()), kind })
            })
            .collect::<Result<_, _>>()?;
        Ok(Registry { containers })
    }

    pub fn get(&self, id: u32) -> Option<&Named> {
        self.containers.get(id as usize)
    }
}

/// Why a type name has no known shape: the type it stops at, whole.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unknown(pub String);

impl Shape {
    /// The shape of the type `name` (whole, as `core::any::type_name`
    /// writes it on wasm32), or the part of it that is not a known type.
    pub fn of(name: &str) -> Result<Shape, Unknown> {
        Shape::of_name(&TypeName::parse(name).map_err(Unknown)?)
    }

    /// The shape of a captured value in a state: as [`of`](Shape::of), but
    /// a `Vec<f32>` or `Vec<f64>` is in the SDK's bulk form.
    pub fn of_capture(name: &str) -> Result<Shape, Unknown> {
        match name {
            "alloc::vec::Vec<f32>" => Ok(Shape::BulkFloats { f64: false }),
            "alloc::vec::Vec<f64>" => Ok(Shape::BulkFloats { f64: true }),
            other => Shape::of(other),
        }
    }

    /// The shape of a traced format; an untraced one is unknown, with the
    /// tracer's reason.
    pub fn of_format(format: &Format) -> Result<Shape, Unknown> {
        let boxed = |f: &Format| Shape::of_format(f).map(Box::new);
        Ok(match format {
            Format::Unit => Shape::Unit,
            Format::Bool => Shape::Bool,
            Format::I8 => Shape::I8,
            Format::I16 => Shape::I16,
            Format::I32 => Shape::I32,
            Format::I64 => Shape::I64,
            Format::I128 => Shape::I128,
            Format::U8 => Shape::U8,
            Format::U16 => Shape::U16,
            Format::U32 => Shape::U32,
            Format::U64 => Shape::U64,
            Format::U128 => Shape::U128,
            Format::F32 => Shape::F32,
            Format::F64 => Shape::F64,
            Format::Char => Shape::Char,
            Format::Str => Shape::Str,
            Format::Bytes => Shape::Bytes,
            Format::Option(inner) => Shape::Option(boxed(inner)?),
            Format::Seq(inner) => Shape::Seq(boxed(inner)?),
            Format::Map(k, v) => Shape::Map(boxed(k)?, boxed(v)?),
            Format::Tuple(items) => Shape::Tuple(items.iter().map(Shape::of_format).collect::<Result<_, _>>()?),
            Format::Named(id) => Shape::Named(*id),
            Format::Untraced(reason) => return Err(Unknown(reason.clone())),
        })
    }

    /// The shape of a read name: at most [`MAX_PARTS`] parts.
    fn of_name(name: &TypeName) -> Result<Shape, Unknown> {
        let shape = Shape::of_one(name)?;
        if shape.parts() > MAX_PARTS {
            return Err(Unknown(format!("a type of more than {MAX_PARTS} parts")));
        }
        Ok(shape)
    }

    fn of_one(name: &TypeName) -> Result<Shape, Unknown> {
        let (path, args) = match name {
            TypeName::Ref(inner) => return Shape::of_name(inner),
            // A slice, behind a reference or a `Box`.
            TypeName::Slice(item) => return Ok(Shape::Seq(Box::new(Shape::of_name(item)?))),
            TypeName::Tuple(items) => {
                return match items.len() {
                    0 => Ok(Shape::Unit),
                    n if n > MAX_TUPLE => Err(Unknown(format!("a tuple of {n} elements"))),
                    _ => Ok(Shape::Tuple(items.iter().map(Shape::of_name).collect::<Result<_, _>>()?)),
                };
            }
            TypeName::Array(item, len) => {
                let len: usize = len.parse().map_err(|_| Unknown(name.to_string()))?;
                if len > MAX_ARRAY {
                    return Err(Unknown(format!("an array of {len} elements")));
                }
                let item = Shape::of_name(item)?;
                if item.parts() * len > MAX_PARTS {
                    return Err(Unknown(format!("a type of more than {MAX_PARTS} parts")));
                }
                return Ok(Shape::Tuple(vec![item; len]));
            }
            TypeName::Path(path, args) => (path.as_str(), args.as_slice()),
        };
        let arg = |i: usize| Shape::of_name(&args[i]).map(Box::new);
        let shape = match (path, args.len()) {
            ("bool", 0) => Shape::Bool,
            ("char", 0) => Shape::Char,
            ("i8", 0) => Shape::I8,
            ("i16", 0) => Shape::I16,
            // wasm32's `isize` and `usize` are 32 bits; serde writes them as
            // 64-bit integers, whose postcard varints are the same bytes.
            ("i32" | "isize", 0) => Shape::I32,
            ("i64", 0) => Shape::I64,
            ("i128", 0) => Shape::I128,
            ("u8", 0) => Shape::U8,
            ("u16", 0) => Shape::U16,
            ("u32" | "usize", 0) => Shape::U32,
            ("u64", 0) => Shape::U64,
            ("u128", 0) => Shape::U128,
            ("f32", 0) => Shape::F32,
            ("f64", 0) => Shape::F64,
            ("str" | "alloc::string::String", 0) => Shape::Str,
            ("core::option::Option", 1) => Shape::Option(arg(0)?),
            (
                "alloc::vec::Vec"
                | "alloc::collections::vec_deque::VecDeque"
                | "alloc::collections::linked_list::LinkedList"
                | "alloc::collections::btree::set::BTreeSet",
                1,
            )
            // A hash collection's hasher does not change how it is encoded.
            | ("std::collections::hash::set::HashSet", 1 | 2) => Shape::Seq(arg(0)?),
            ("alloc::collections::btree::map::BTreeMap", 2) | ("std::collections::hash::map::HashMap", 2 | 3) => {
                Shape::Map(arg(0)?, arg(1)?)
            }
            ("alloc::boxed::Box" | "alloc::rc::Rc" | "alloc::sync::Arc", 1) => *arg(0)?,
            ("core::result::Result", 2) => Shape::Result(arg(0)?, arg(1)?),
            ("shipfn_guest::closure::Closure", 2) => {
                let short = |name: &TypeName| short_type_name(&name.to_string());
                Shape::Closure { signature: format!("fn{} -> {}", short(&args[0]), short(&args[1])) }
            }
            _ => return Err(Unknown(name.to_string())),
        };
        Ok(shape)
    }

    /// Whether a value of this shape may take no bytes in postcard, so that
    /// a sequence's length does not bound its count by the input's size.
    pub fn zero_sized(&self, registry: &Registry) -> bool {
        self.zero_sized_within(registry, 0)
    }

    fn zero_sized_within(&self, registry: &Registry, depth: usize) -> bool {
        if depth > 16 {
            // Said of a deep type, "maybe" keeps its count bounded.
            return true;
        }
        let all = |items: &mut dyn Iterator<Item = &Shape>| {
            for item in items {
                if !item.zero_sized_within(registry, depth + 1) {
                    return false;
                }
            }
            true
        };
        match self {
            Shape::Unit => true,
            Shape::Tuple(items) => all(&mut items.iter()),
            Shape::Named(id) => match registry.get(*id).map(|n| &n.kind) {
                Some(NamedKind::Struct(BodyShape::Unit)) => true,
                Some(NamedKind::Struct(BodyShape::Newtype(inner))) => all(&mut std::iter::once(inner)),
                Some(NamedKind::Struct(BodyShape::Tuple(items))) => all(&mut items.iter()),
                Some(NamedKind::Struct(BodyShape::Struct(fields))) => all(&mut fields.iter().map(|(_, s)| s)),
                // A variant's index takes a byte.
                Some(NamedKind::Enum(_)) | None => false,
            },
            _ => false,
        }
    }

    /// How many parts the shape has (itself and those inside it).
    fn parts(&self) -> usize {
        1 + match self {
            Shape::Option(inner) | Shape::Seq(inner) => inner.parts(),
            Shape::Map(a, b) | Shape::Result(a, b) => a.parts() + b.parts(),
            Shape::Tuple(items) => items.iter().map(Shape::parts).sum(),
            _ => 0,
        }
    }
}

/// The longest array serde (de)serializes, and so the longest a host converts.
const MAX_ARRAY: usize = 32;

/// The longest tuple serde (de)serializes.
const MAX_TUPLE: usize = 16;

/// Most parts in one shape: arrays of arrays multiply.
const MAX_PARTS: usize = 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use std::any::type_name;
    use std::collections::{BTreeMap, HashMap, HashSet};

    #[test]
    fn std_types_have_shapes() {
        assert_eq!(Shape::of(type_name::<i64>()), Ok(Shape::I64));
        assert_eq!(Shape::of(type_name::<()>()), Ok(Shape::Unit));
        assert_eq!(Shape::of(type_name::<String>()), Ok(Shape::Str));
        assert_eq!(
            Shape::of(type_name::<Vec<Option<u8>>>()),
            Ok(Shape::Seq(Box::new(Shape::Option(Box::new(Shape::U8)))))
        );
        assert_eq!(Shape::of(type_name::<(i64,)>()), Ok(Shape::Tuple(vec![Shape::I64])));
        assert_eq!(Shape::of(type_name::<[u16; 3]>()), Ok(Shape::Tuple(vec![Shape::U16; 3])));
        assert_eq!(
            Shape::of(type_name::<HashMap<String, Vec<f64>>>()),
            Ok(Shape::Map(Box::new(Shape::Str), Box::new(Shape::Seq(Box::new(Shape::F64)))))
        );
        assert!(Shape::of(type_name::<BTreeMap<i32, bool>>()).is_ok());
        assert!(Shape::of(type_name::<HashSet<char>>()).is_ok());
        assert!(Shape::of(type_name::<Box<[u8]>>()).is_ok());
        assert!(Shape::of(type_name::<Result<i64, String>>()).is_ok());
        assert!(Shape::of(type_name::<&str>()).is_ok());
        let closure = "shipfn_guest::closure::Closure<(i64,), core::result::Result<i64, alloc::string::String>>";
        assert_eq!(Shape::of(closure), Ok(Shape::Closure { signature: "fn(i64,) -> Result<i64, String>".into() }));
    }

    #[test]
    fn other_types_are_unknown_by_their_whole_name() {
        #[allow(dead_code)]
        struct String;
        let mine = type_name::<String>();
        assert_eq!(Shape::of(mine), Err(Unknown(mine.into())));
        let nested = type_name::<Vec<(i64, String)>>();
        assert_eq!(Shape::of(nested), Err(Unknown(mine.into())));
        assert!(Shape::of(type_name::<std::time::Duration>()).is_err());
        assert!(Shape::of("alloc::vec::Vec<i64").is_err());
        assert!(Shape::of("alloc::vec::Vec<i64, i64>").is_err());
        assert!(Shape::of("i64 i64").is_err());
        assert!(Shape::of("").is_err());
    }

    #[test]
    fn hostile_names_are_refused_without_deep_recursion_or_large_allocations() {
        let deep = format!("{}i64{}", "alloc::vec::Vec<".repeat(100_000), ">".repeat(100_000));
        assert!(Shape::of(&deep).unwrap_err().0.contains("nested more than"));
        assert!(Shape::of(&"&".repeat(100_000)).is_err());
        assert!(Shape::of(&format!("{}i64{}", "(".repeat(100_000), ",)".repeat(100_000))).is_err());
        assert_eq!(Shape::of("[u8; 99999999999]"), Err(Unknown("an array of 99999999999 elements".into())));
        assert!(Shape::of("[u8; 99999999999999999999999]").is_err());
        let wide = format!("({})", vec!["u8"; 17].join(", "));
        assert_eq!(Shape::of(&wide), Err(Unknown("a tuple of 17 elements".into())));
        assert!(Shape::of(type_name::<[(); 32]>()).unwrap().zero_sized(&Registry::default()));
        let cube = "[[[[[[u8; 32]; 32]; 32]; 32]; 32]; 32]";
        assert_eq!(Shape::of(cube), Err(Unknown("a type of more than 1024 parts".into())));
        assert!(Shape::of(type_name::<[[u8; 32]; 31]>()).is_ok());
    }
}
