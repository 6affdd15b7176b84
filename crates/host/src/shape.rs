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
    /// A type this host does not know, by its whole name: only while
    /// parsing ([`Shape::of`] never returns one).
    Other(String),
}

/// Why a type name has no known shape: the type it stops at, whole.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unknown(pub String);

impl Shape {
    /// The shape of the type `name` (whole, as `core::any::type_name`
    /// writes it on wasm32), or the part of it that is not a known type.
    pub fn of(name: &str) -> Result<Shape, Unknown> {
        let mut parser = Parser { rest: name.trim(), depth: 0 };
        let shape = parser.ty()?;
        if !parser.rest.is_empty() {
            return Err(Unknown(name.into()));
        }
        match shape.first_other() {
            Some(other) => Err(Unknown(other.into())),
            None => Ok(shape),
        }
    }

    /// Whether a value of this shape takes no bytes in postcard, so that a
    /// sequence's length does not bound its count by the input's size.
    pub fn zero_sized(&self) -> bool {
        match self {
            Shape::Unit => true,
            Shape::Tuple(items) => items.iter().all(Shape::zero_sized),
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

    /// The first type in this shape that is not known.
    fn first_other(&self) -> Option<&str> {
        match self {
            Shape::Other(name) => Some(name),
            Shape::Option(inner) | Shape::Seq(inner) => inner.first_other(),
            Shape::Map(a, b) | Shape::Result(a, b) => a.first_other().or_else(|| b.first_other()),
            Shape::Tuple(items) => items.iter().find_map(Shape::first_other),
            _ => None,
        }
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
}

/// How deeply types may nest: a name comes from a package, which may be
/// hostile, and real types nest far less.
const MAX_DEPTH: usize = 32;

/// The longest array serde (de)serializes, and so the longest a host converts.
const MAX_ARRAY: usize = 32;

/// The longest tuple serde (de)serializes.
const MAX_TUPLE: usize = 16;

/// Most parts in one shape: arrays of arrays multiply.
const MAX_PARTS: usize = 1024;

struct Parser<'a> {
    rest: &'a str,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn eat(&mut self, token: &str) -> bool {
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest.trim_start();
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, token: &str) -> Result<(), Unknown> {
        if self.eat(token) { Ok(()) } else { Err(self.unknown()) }
    }

    fn unknown(&self) -> Unknown {
        Unknown(self.rest.into())
    }

    /// A path: `alloc::vec::Vec`, `i64`. Syntax errors are [`Unknown`] too.
    fn path(&mut self) -> &'a str {
        let end = self.rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).unwrap_or(self.rest.len());
        let (path, rest) = self.rest.split_at(end);
        self.rest = rest.trim_start();
        path
    }

    /// `<A, B>` after a path, as a list, with the text of each.
    fn generics(&mut self) -> Result<Vec<(Shape, &'a str)>, Unknown> {
        let mut args = Vec::new();
        if !self.eat("<") {
            return Ok(args);
        }
        loop {
            let before = self.rest;
            let shape = self.ty()?;
            args.push((shape, before[..before.len() - self.rest.len()].trim_end()));
            if self.eat(">") {
                return Ok(args);
            }
            self.expect(",")?;
        }
    }

    /// One type: at most [`MAX_DEPTH`] deep and [`MAX_PARTS`] parts.
    fn ty(&mut self) -> Result<Shape, Unknown> {
        if self.depth == MAX_DEPTH {
            return Err(Unknown(format!("a type nested more than {MAX_DEPTH} deep")));
        }
        self.depth += 1;
        let shape = self.one_ty();
        self.depth -= 1;
        match shape {
            Ok(shape) if shape.parts() > MAX_PARTS => {
                Ok(Shape::Other(format!("a type of more than {MAX_PARTS} parts")))
            }
            other => other,
        }
    }

    fn one_ty(&mut self) -> Result<Shape, Unknown> {
        let start = self.rest;
        if self.eat("&") {
            self.eat("mut ");
            return self.ty();
        }
        if self.eat("(") {
            let mut items = Vec::new();
            while !self.eat(")") {
                items.push(self.ty()?);
                if !self.eat(",") {
                    self.expect(")")?;
                    break;
                }
            }
            return Ok(match items.len() {
                0 => Shape::Unit,
                n if n > MAX_TUPLE => Shape::Other(format!("a tuple of {n} elements")),
                _ => Shape::Tuple(items),
            });
        }
        if self.eat("[") {
            let item = self.ty()?;
            if self.eat("]") {
                // A slice, behind a reference or a `Box`.
                return Ok(Shape::Seq(Box::new(item)));
            }
            self.expect(";")?;
            let digits = self.path();
            let len: usize = digits.parse().map_err(|_| Unknown(start.into()))?;
            self.expect("]")?;
            if len > MAX_ARRAY {
                return Ok(Shape::Other(format!("an array of {len} elements")));
            }
            if item.parts() * len > MAX_PARTS {
                return Ok(Shape::Other(format!("a type of more than {MAX_PARTS} parts")));
            }
            return Ok(Shape::Tuple(vec![item; len]));
        }
        let path = self.path();
        if path.is_empty() {
            return Err(self.unknown());
        }
        let generics = self.generics()?;
        let texts: Vec<&str> = generics.iter().map(|(_, text)| *text).collect();
        let mut args: Vec<Shape> = generics.into_iter().map(|(shape, _)| shape).collect();
        let whole = |p: &Parser<'_>| Shape::Other(start[..start.len() - p.rest.len()].trim_end().into());
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
            ("core::option::Option", 1) => Shape::Option(Box::new(args.swap_remove(0))),
            (
                "alloc::vec::Vec"
                | "alloc::collections::vec_deque::VecDeque"
                | "alloc::collections::linked_list::LinkedList"
                | "alloc::collections::btree::set::BTreeSet",
                1,
            )
            | ("std::collections::hash::set::HashSet", 1 | 2) => Shape::Seq(Box::new(args.swap_remove(0))),
            ("alloc::collections::btree::map::BTreeMap", 2) | ("std::collections::hash::map::HashMap", 2 | 3) => {
                let value = args.swap_remove(1);
                Shape::Map(Box::new(args.swap_remove(0)), Box::new(value))
            }
            ("alloc::boxed::Box" | "alloc::rc::Rc" | "alloc::sync::Arc", 1) => args.swap_remove(0),
            ("core::result::Result", 2) => {
                let err = args.swap_remove(1);
                Shape::Result(Box::new(args.swap_remove(0)), Box::new(err))
            }
            ("shipfn_guest::closure::Closure", 2) => {
                let short = |text: &str| shipfn_abi::short_type_name(text);
                Shape::Closure { signature: format!("fn{} -> {}", short(texts[0]), short(texts[1])) }
            }
            _ => whole(self),
        };
        Ok(shape)
    }
}

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
        assert!(Shape::of(type_name::<[(); 32]>()).unwrap().zero_sized());
        let cube = "[[[[[[u8; 32]; 32]; 32]; 32]; 32]; 32]";
        assert_eq!(Shape::of(cube), Err(Unknown("a type of more than 1024 parts".into())));
        assert!(Shape::of(type_name::<[[u8; 32]; 31]>()).is_ok());
    }
}
