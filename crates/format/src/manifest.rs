//! The manifest: what a package holds and how to call it.

use serde::{Deserialize, Serialize};
use shipfn_abi::schema::{Body, Container, Format, Schema};
use shipfn_abi::{ABI_VERSION, Field, MIN_ABI_VERSION, Signature, short_type_name};

use crate::{FormatError, Hash, Result};

/// How the closure in a package was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// `shipfn pack --make NAME --arg …`: a maker ran on the sender.
    Maker {
        /// The maker's name.
        name: String,
        /// The maker's arguments, as given (JSON text).
        args: Vec<String>,
    },
    /// `shipfn pack --fn NAME`: a plain exported function.
    Function {
        /// The function's name.
        name: String,
    },
    /// `shipfn run PACKAGE --arg … -o FILE`: the closure that a packaged
    /// closure returned when called with these arguments.
    Returned {
        /// How the closure that returned this one was made.
        #[serde(deserialize_with = "nested::deserialize")]
        by: Box<Source>,
        /// The arguments it was called with (JSON text).
        args: Vec<String>,
    },
}

impl std::fmt::Display for Source {
    /// `maker(3)`, `name`, or `maker(3)(4)` for a returned closure.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Maker { name, args } => write!(f, "{name}({})", args.join(", ")),
            Source::Function { name } => f.write_str(name),
            Source::Returned { by, args } => write!(f, "{by}({})", args.join(", ")),
        }
    }
}

/// What a package holds and how to call it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The tool that wrote the package (`shipfn 0.1.0`).
    pub created_by: String,
    /// The guest ABI the module speaks.
    pub abi_version: u32,
    /// How the closure was made.
    pub source: Source,
    /// Table index of the host-level entry trampoline.
    pub entry: u32,
    /// Table index of the closure's state trampoline.
    pub trampoline: u32,
    /// Table index of the closure's body.
    pub body: u32,
    /// Parameter, result, capture and global types.
    pub signature: Signature,
    /// The serde shapes of those types, which guests record from ABI 7 on.
    /// Not part of the postcard `Manifest`: written after it, in formats 3
    /// and 4.
    #[serde(skip)]
    pub schema: Option<Schema>,
    /// SHA-256 of the module section.
    pub module_sha256: Hash,
    /// SHA-256 of the state section.
    pub state_sha256: Hash,
}

pub use shipfn_abi::MAX_PARAMS;

/// How deep [`Source::Returned`] may nest in a manifest that is read: a
/// closure returned by a closure returned by … this many levels. Reading is
/// recursive, so a hostile manifest nested without bound would overflow the
/// reader's stack.
pub const MAX_SOURCE_DEPTH: usize = 64;

/// Reading a nested source, counting the depth on this thread.
mod nested {
    use std::cell::Cell;

    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer};

    use super::{MAX_SOURCE_DEPTH, Source};

    thread_local! {
        static DEPTH: Cell<usize> = const { Cell::new(0) };
    }

    /// Gives the level back however reading it ends.
    struct Level;

    impl Drop for Level {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Box<Source>, D::Error> {
        let depth = DEPTH.with(|d| {
            d.set(d.get() + 1);
            d.get()
        });
        let _level = Level;
        if depth > MAX_SOURCE_DEPTH {
            return Err(D::Error::custom(format!(
                "the source nests returned closures more than {MAX_SOURCE_DEPTH} levels deep"
            )));
        }
        Source::deserialize(deserializer).map(Box::new)
    }
}

impl Manifest {
    /// Checks what can be checked without the module.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(FormatError::InvalidManifest(m));
        if !(MIN_ABI_VERSION..=ABI_VERSION).contains(&self.abi_version) {
            return bad(format!(
                "guest ABI {} is not supported (this shipfn speaks ABI {MIN_ABI_VERSION} to {ABI_VERSION})",
                self.abi_version
            ));
        }
        if self.entry == 0 || self.trampoline == 0 || self.body == 0 {
            return bad("a function index is null".into());
        }
        let sig = &self.signature;
        if sig.params.len() > MAX_PARAMS {
            return bad(format!("{} parameters (at most {MAX_PARAMS})", sig.params.len()));
        }
        if sig.ok.is_some() != sig.error.is_some() {
            return bad("a fallible result needs both its ok and error types".into());
        }
        let fields = sig.params.iter().chain(&sig.captures).chain(&sig.globals);
        if let Some(f) = fields.clone().find(|f: &&Field| f.name.is_empty() || f.ty.is_empty()) {
            return bad(format!("a field has an empty name or type ({:?}: {:?})", f.name, f.ty));
        }
        match (&self.schema, self.abi_version >= SCHEMA_ABI) {
            (Some(schema), true) => check_schema(schema, sig).map_err(FormatError::InvalidManifest),
            (None, false) => Ok(()),
            (None, true) => bad(format!("a package of guest ABI {} must carry a schema", self.abi_version)),
            (Some(_), false) => bad(format!("a package of guest ABI {} cannot carry a schema", self.abi_version)),
        }
    }

    /// The closure: its table indices and signature.
    pub fn closure(&self) -> crate::Closure {
        let (signature, schema) = (self.signature.clone(), self.schema.clone());
        crate::Closure { entry: self.entry, trampoline: self.trampoline, body: self.body, signature, schema }
    }

    /// The closure's signature as Rust, without module paths:
    /// `fn(own_arg: i64) -> i64`.
    pub fn signature_text(&self) -> String {
        let sig = &self.signature;
        let params: Vec<String> =
            sig.params.iter().map(|p| format!("{}: {}", p.name, short_type_name(&p.ty))).collect();
        format!("fn({}) -> {}", params.join(", "), short_type_name(&sig.result))
    }
}

/// The first guest ABI whose packages carry a schema.
pub const SCHEMA_ABI: u32 = 7;

/// A schema fits its signature: a format per parameter, capture and global,
/// and every named type one of its containers.
fn check_schema(schema: &Schema, sig: &Signature) -> std::result::Result<(), String> {
    let counts = [
        ("parameters", schema.params.len(), sig.params.len()),
        ("captures", schema.captures.len(), sig.captures.len()),
        ("globals", schema.globals.len(), sig.globals.len()),
    ];
    for (what, formats, fields) in counts {
        if formats != fields {
            return Err(format!("the schema describes {formats} {what}, the signature has {fields}"));
        }
    }
    let count = schema.containers.len();
    let named_ok = |f: &Format| names_within(f, count);
    let bodies_ok = |body: &Body| match body {
        Body::Unit => true,
        Body::Newtype(f) => named_ok(f),
        Body::Tuple(items) => items.iter().all(named_ok),
        Body::Struct(fields) => fields.iter().all(|(_, f)| named_ok(f)),
    };
    let containers_ok = schema.containers.iter().all(|(_, c)| match c {
        Container::Struct(body) => bodies_ok(body),
        Container::Enum(variants) => variants.iter().all(|(_, b)| bodies_ok(b)),
    });
    let formats = schema.params.iter().chain([&schema.result]).chain(&schema.captures).chain(&schema.globals);
    if !containers_ok || !formats.clone().all(named_ok) {
        return Err(format!("the schema names a type it does not have (it has {count})"));
    }
    Ok(())
}

/// Whether every [`Format::Named`] in `format` is below `count`.
fn names_within(format: &Format, count: usize) -> bool {
    match format {
        Format::Named(id) => (*id as usize) < count,
        Format::Option(inner) | Format::Seq(inner) => names_within(inner, count),
        Format::Map(k, v) => names_within(k, count) && names_within(v, count),
        Format::Tuple(items) => items.iter().all(|f| names_within(f, count)),
        _ => true,
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    fn nested(depth: usize) -> Source {
        let mut source = Source::Function { name: "f".into() };
        for _ in 0..depth {
            source = Source::Returned { by: Box::new(source), args: vec![] };
        }
        source
    }

    #[test]
    fn sources_nested_deeper_than_the_bound_are_refused_not_a_stack_overflow() {
        let ok = postcard::to_allocvec(&nested(MAX_SOURCE_DEPTH)).unwrap();
        assert_eq!(postcard::from_bytes::<Source>(&ok).unwrap(), nested(MAX_SOURCE_DEPTH));
        // Written by hand: a `Returned` tag per level (no encoder is needed
        // to forge it), 100 000 deep.
        let returned = postcard::to_allocvec(&Source::Returned { by: Box::new(nested(0)), args: vec![] }).unwrap();
        let tag = returned[0];
        let mut hostile = vec![tag; 100_000];
        hostile.extend(postcard::to_allocvec(&nested(0)).unwrap());
        let error = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || postcard::from_bytes::<Source>(&hostile).is_err())
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(error);
    }
}
