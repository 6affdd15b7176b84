//! (ABI 7) The serde shapes of a closure's types, traced by the guest when a
//! maker runs and recorded in the manifest: what postcard's bytes mean for
//! each parameter, the result, each capture and each global.
//!
//! Postcard carries no types; two types whose names agree may still differ
//! in their fields' order or types. A host compares its own types with these
//! shapes before a typed call, and converts JSON to and from postcard by them
//! for a guest built without JSON.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// How one value is laid out in serde's data model.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
pub enum Format {
    /// `()`.
    #[default]
    Unit,
    /// `bool`.
    Bool,
    /// `i8`.
    I8,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64` (and `isize`).
    I64,
    /// `i128`.
    I128,
    /// `u8`.
    U8,
    /// `u16`.
    U16,
    /// `u32`.
    U32,
    /// `u64` (and `usize`).
    U64,
    /// `u128`.
    U128,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `char`.
    Char,
    /// A string.
    Str,
    /// A byte string (`serde_bytes`).
    Bytes,
    /// `Option<T>`.
    Option(Box<Format>),
    /// A sequence of any length: `Vec<T>`, sets, …
    Seq(Box<Format>),
    /// A map: key, value.
    Map(Box<Format>, Box<Format>),
    /// A tuple or an array of fixed length.
    Tuple(Vec<Format>),
    /// A struct or enum: an index into [`Schema::containers`].
    Named(u32),
    /// A type the tracer could not describe, and why.
    Untraced(String),
}

/// How deeply formats may nest in one another (a [`Format::Named`] starts
/// again at 0). A reader refuses deeper ones (with the `std` feature, which
/// counts the depth on each thread), so that a hostile manifest cannot
/// overflow its stack.
pub const MAX_FORMAT_DEPTH: usize = 48;

#[derive(Deserialize)]
#[serde(remote = "Format")]
enum FormatDef {
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
    Bytes,
    Option(Box<Format>),
    Seq(Box<Format>),
    Map(Box<Format>, Box<Format>),
    Tuple(Vec<Format>),
    Named(u32),
    Untraced(String),
}

impl<'de> Deserialize<'de> for Format {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Format, D::Error> {
        #[cfg(feature = "std")]
        let _level = depth::Level::enter().map_err(<D::Error as serde::de::Error>::custom)?;
        FormatDef::deserialize(deserializer)
    }
}

/// The nesting depth of formats being read on this thread.
#[cfg(feature = "std")]
mod depth {
    use core::cell::Cell;

    use super::MAX_FORMAT_DEPTH;

    std::thread_local! {
        static DEPTH: Cell<usize> = const { Cell::new(0) };
    }

    /// One level, given back however reading it ends.
    pub struct Level;

    impl Level {
        pub fn enter() -> Result<Level, &'static str> {
            let depth = DEPTH.with(|d| {
                d.set(d.get() + 1);
                d.get()
            });
            let level = Level;
            if depth > MAX_FORMAT_DEPTH {
                return Err("types nested more deeply than a schema may describe");
            }
            Ok(level)
        }
    }

    impl Drop for Level {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }
}

/// A struct's or a variant's fields, or a tuple struct's elements.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Body {
    /// `struct Unit;` or `Variant`.
    Unit,
    /// `struct Meters(f64);` or `Variant(f64)`.
    Newtype(Format),
    /// `struct Pair(i64, i64);` or `Variant(i64, i64)`.
    Tuple(Vec<Format>),
    /// `struct Point { x: i64, y: i64 }` or `Variant { x: i64 }`: names and
    /// formats in declaration order.
    Struct(Vec<(String, Format)>),
}

/// A named type: a struct, or an enum with its variants in order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Container {
    /// A struct of any kind.
    Struct(Body),
    /// An enum: each variant's name and body, by index.
    Enum(Vec<(String, Body)>),
}

/// The formats of a closure's types.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Schema {
    /// Named types, each with its serde name (`Reading`), which
    /// [`Format::Named`] indexes.
    pub containers: Vec<(String, Container)>,
    /// One per parameter, in order.
    pub params: Vec<Format>,
    /// The result: for a fallible closure, its `Ok` type's.
    pub result: Format,
    /// One per capture, in order.
    pub captures: Vec<Format>,
    /// One per global, in order.
    pub globals: Vec<Format>,
}
