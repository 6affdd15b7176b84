//! The Rust types of a typed call, checked against the package's signature:
//! postcard carries no types, so an `(u64,)` sent to a closure that takes an
//! `i64` would otherwise decode as some other number.

use serde::Serialize;
use serde::de::DeserializeOwned;
use shipfn_abi::schema::{Format, Schema};
use shipfn_abi::{Field, Signature, short_type_name};

use crate::type_names::TypeName;
use crate::{Error, Result};

/// A tuple of call arguments, `()` to `(A0, …, A7)`, whose element types
/// [`Function::call`](crate::Function::call) checks against the closure's
/// parameters.
pub trait Params: Serialize {
    /// The type of each element, whole, as `core::any::type_name` writes
    /// it (`alloc::vec::Vec<alloc::string::String>`).
    fn type_names() -> Vec<String>;

    /// Checks each element whose format is given against it; `Ok(true)` if
    /// every one checked showed its whole type. Errors name the element.
    #[doc(hidden)]
    fn conform(&self, formats: &[Option<&Format>], schema: &Schema, names: &[Field]) -> Result<bool, String>;
}

macro_rules! impl_params {
    ($($name:ident $idx:tt),*) => {
        impl<$($name: Serialize),*> Params for ($($name,)*) {
            fn type_names() -> Vec<String> {
                vec![$(core::any::type_name::<$name>().to_owned()),*]
            }

            #[allow(unused_variables, unused_mut)]
            fn conform(&self, formats: &[Option<&Format>], schema: &Schema, names: &[Field]) -> Result<bool, String> {
                let mut complete = true;
                $(
                    if let Some(Some(format)) = formats.get($idx) {
                        let name = names.get($idx).map(|f| f.name.as_str()).unwrap_or("");
                        complete &= crate::structure::conforms(&self.$idx, format, schema)
                            .map_err(|e| format!("argument {} `{name}`: {e}", $idx + 1))?;
                    }
                )*
                Ok(complete)
            }
        }
    };
}

impl_params!();
impl_params!(A0 0);
impl_params!(A0 0, A1 1);
impl_params!(A0 0, A1 1, A2 2);
impl_params!(A0 0, A1 1, A2 2, A3 3);
impl_params!(A0 0, A1 1, A2 2, A3 3, A4 4);
impl_params!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5);
impl_params!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6);
impl_params!(A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7);

/// Whether a whole type name is all std's, so that its name alone says its
/// shape (and the name check has compared it).
fn std_only(ty: &str) -> bool {
    crate::shape::Shape::of(ty).is_ok()
}

/// Compares the result type `R`, traced here, with the package's schema,
/// unless the package's result type is one of std's (checked by name).
pub(crate) fn check_result_structure<R: DeserializeOwned>(signature: &Signature, schema: &Schema) -> Result<()> {
    let ty = signature.ok.as_deref().unwrap_or(&signature.result);
    if std_only(ty) {
        return Ok(());
    }
    let mut builder = shipfn_schema::Builder::new();
    let traced = builder.trace::<R>();
    let host: Schema = postcard::from_bytes(&builder.encode(&[], &traced, &[], &[]))
        .map_err(|e| Error::internal("reading a traced type", e))?;
    crate::structure::compare((&host.result, &host.containers), (&schema.result, &schema.containers), "the result")
        .map_err(|e| {
            Error::BadArgs(format!("the result type does not match the package's {}: {e}", short_type_name(ty)))
        })
}

/// Checks the argument values against the package's schema, for every
/// parameter whose type is not one of std's; `Ok(true)` if they showed
/// their whole types.
pub(crate) fn check_args_structure<A: Params>(args: &A, signature: &Signature, schema: &Schema) -> Result<bool> {
    let formats: Vec<Option<&Format>> = signature
        .params
        .iter()
        .zip(&schema.params)
        .map(|(p, f)| if std_only(&p.ty) { None } else { Some(f) })
        .collect();
    if formats.iter().all(Option::is_none) {
        return Ok(true);
    }
    args.conform(&formats, schema, &signature.params).map_err(Error::BadArgs)
}

/// Refuses a call with arguments `A` and result `R` unless they are the
/// closure's types. A borrowed form of a parameter's type is its owned
/// type: `&str` for `String`, `&[T]` for `Vec<T>`, `&T` for `T`, as serde
/// encodes them alike.
///
/// A signature with whole type names (guest ABI 6 on) is compared part by
/// part: where either side names a std type or a primitive, both must name
/// the same one, so that a user's type called `String` never passes for
/// std's; two types of crates (the guest's own and the host's copy of it)
/// need only the same name. Older signatures have only short names, and
/// are compared by them.
pub(crate) fn check<A: Params, R>(signature: &Signature, whole: bool) -> Result<()> {
    let args = A::type_names();
    let result = core::any::type_name::<R>();
    let expected_result = signature.ok.as_deref().unwrap_or(&signature.result);
    let same = |host: &str, guest: &str| match whole {
        true => same_whole(host, guest),
        false => short_owned(host) == guest,
    };
    let params_match =
        args.len() == signature.params.len() && args.iter().zip(&signature.params).all(|(a, p)| same(a, &p.ty));
    if params_match && same(result, expected_result) {
        return Ok(());
    }
    let short = |names: Vec<&str>| names.into_iter().map(short_owned).collect::<Vec<_>>().join(", ");
    let wanted: Vec<String> = signature.params.iter().map(|p| short_type_name(&p.ty)).collect();
    let mut called = format!("({}) -> {}", short(args.iter().map(String::as_str).collect()), short(vec![result]));
    let mut takes = format!("({}) -> {}", wanted.join(", "), short_type_name(expected_result));
    if called == takes {
        // Alike once shortened: the whole names say how they differ.
        let params: Vec<&str> = signature.params.iter().map(|p| p.ty.as_str()).collect();
        called = format!("({}) -> {result}", args.join(", "));
        takes = format!("({}) -> {expected_result}", params.join(", "));
    }
    Err(Error::BadArgs(format!("called with types {called}, but the function takes {takes}")))
}

/// The short name of the owned type that the whole name `host` encodes like.
fn short_owned(host: &str) -> String {
    match TypeName::parse(host) {
        Ok(name) => short_type_name(&owned_name(name).to_string()),
        Err(_) => short_type_name(host),
    }
}

/// Whether the host's whole type name `host` is, or borrows, the guest's
/// whole type name `guest`.
fn same_whole(host: &str, guest: &str) -> bool {
    match (TypeName::parse(host), TypeName::parse(guest)) {
        (Ok(host), Ok(guest)) => same(&owned_name(host), &guest),
        _ => host == guest,
    }
}

/// The owned type a name encodes like: `&str` is `String`, `&[T]` is
/// `Vec<T>`, `&T` is `T`, at any depth.
fn owned_name(name: TypeName) -> TypeName {
    match name {
        TypeName::Ref(inner) => match *inner {
            TypeName::Path(path, args) if path == "str" && args.is_empty() => {
                TypeName::Path("alloc::string::String".into(), Vec::new())
            }
            TypeName::Slice(item) => TypeName::Path("alloc::vec::Vec".into(), vec![owned_name(*item)]),
            other => owned_name(other),
        },
        TypeName::Path(path, args) => TypeName::Path(path, args.into_iter().map(owned_name).collect()),
        TypeName::Slice(item) => TypeName::Slice(Box::new(owned_name(*item))),
        TypeName::Array(item, len) => TypeName::Array(Box::new(owned_name(*item)), len),
        TypeName::Tuple(items) => TypeName::Tuple(items.into_iter().map(owned_name).collect()),
    }
}

/// Part by part: std's types and primitives by their whole paths, other
/// crates' types by their names.
fn same(host: &TypeName, guest: &TypeName) -> bool {
    let all = |a: &[TypeName], b: &[TypeName]| a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same(a, b));
    match (host, guest) {
        (TypeName::Path(h, ha), TypeName::Path(g, ga)) => {
            let names_match = if is_std(h) || is_std(g) { h == g } else { last(h) == last(g) };
            names_match && all(ha, ga)
        }
        (TypeName::Ref(h), TypeName::Ref(g)) | (TypeName::Slice(h), TypeName::Slice(g)) => same(h, g),
        (TypeName::Array(h, hl), TypeName::Array(g, gl)) => hl == gl && same(h, g),
        (TypeName::Tuple(h), TypeName::Tuple(g)) => all(h, g),
        _ => false,
    }
}

/// A primitive (no path) or a type of `core`, `alloc` or `std`.
fn is_std(path: &str) -> bool {
    !path.contains("::") || ["core::", "alloc::", "std::"].iter().any(|p| path.starts_with(p))
}

fn last(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shipfn_abi::Field;

    fn signature(params: &[&str], result: &str) -> Signature {
        Signature {
            params: params.iter().map(|ty| Field { name: "x".into(), ty: (*ty).into() }).collect(),
            result: result.into(),
            ok: None,
            error: None,
            captures: vec![],
            globals: vec![],
        }
    }

    #[test]
    fn types_must_match_the_signature() {
        for whole in [false, true] {
            let seed = signature(&["i64"], "i64");
            check::<(i64,), i64>(&seed, whole).unwrap();
            let err = check::<(u64,), u64>(&seed, whole).unwrap_err().to_string();
            assert_eq!(err, "called with types (u64) -> u64, but the function takes (i64) -> i64");
            assert!(check::<(String,), i64>(&seed, whole).is_err());
            assert!(check::<(i64, i64), i64>(&seed, whole).is_err());
            assert!(check::<(), i64>(&seed, whole).is_err());
        }
    }

    #[test]
    fn borrowed_forms_match_their_owned_types() {
        let greeter = signature(&["String", "Vec<u8>", "Option<u32>"], "String");
        check::<(&str, &[u8], &Option<u32>), String>(&greeter, false).unwrap();
        check::<(String, Vec<u8>, Option<u32>), String>(&greeter, false).unwrap();
        let mut fallible = signature(&["i64"], "Result<i64, String>");
        fallible.ok = Some("i64".into());
        check::<(i64,), i64>(&fallible, false).unwrap();
        assert!(check::<(i64,), Result<i64, String>>(&fallible, false).is_err());

        let whole = signature(
            &["alloc::string::String", "alloc::vec::Vec<u8>", "core::option::Option<(u32, alloc::string::String)>"],
            "alloc::string::String",
        );
        check::<(&str, &[u8], &Option<(u32, &str)>), String>(&whole, true).unwrap();
        check::<(String, Vec<u8>, Option<(u32, String)>), String>(&whole, true).unwrap();
        assert!(check::<(String, Vec<u8>, Option<(u64, String)>), String>(&whole, true).is_err());
    }

    /// Host-side copies of a guest's types.
    mod guest {
        pub struct String(pub i64);
        pub struct Point;

        impl serde::Serialize for String {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.0)
            }
        }

        impl serde::Serialize for Point {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_unit_struct("Point")
            }
        }
    }

    #[test]
    fn whole_names_keep_a_users_type_apart_from_stds_of_the_same_name() {
        // A guest type `String` of the crate `lean`: std's does not pass for it.
        let impostor = signature(&["lean::mine::String"], "i64");
        let err = check::<(String,), i64>(&impostor, true).unwrap_err().to_string();
        assert_eq!(
            err,
            "called with types (alloc::string::String) -> i64, but the function takes (lean::mine::String) -> i64"
        );
        // The short names alone could not tell them apart.
        check::<(String,), i64>(&signature(&["String"], "i64"), false).unwrap();
        // A host's own copy of a guest type is the same type by name.
        check::<(guest::String,), i64>(&impostor, true).unwrap();
        let points = signature(&["alloc::vec::Vec<lean::Point>"], "i64");
        check::<(&[guest::Point],), i64>(&points, true).unwrap();
        check::<(Vec<guest::Point>,), i64>(&points, true).unwrap();
        assert!(check::<(Vec<guest::String>,), i64>(&points, true).is_err());
        assert!(check::<(guest::String,), i64>(&signature(&["alloc::string::String"], "i64"), true).is_err());
    }
}
