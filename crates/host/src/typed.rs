//! The Rust types of a typed call, checked against the package's signature:
//! postcard carries no types, so an `(u64,)` sent to a closure that takes an
//! `i64` would otherwise decode as some other number.

use serde::Serialize;
use shipfn_abi::{Signature, short_type_name, type_name};

use crate::{Error, Result};

/// A tuple of call arguments, `()` to `(A0, …, A7)`, whose element types
/// [`Function::call`](crate::Function::call) checks against the closure's
/// parameters.
pub trait Params: Serialize {
    /// The type of each element, without module paths (`Vec<String>`).
    fn type_names() -> Vec<String>;
}

macro_rules! impl_params {
    ($($name:ident),*) => {
        impl<$($name: Serialize),*> Params for ($($name,)*) {
            fn type_names() -> Vec<String> {
                vec![$(type_name::<$name>()),*]
            }
        }
    };
}

impl_params!();
impl_params!(A0);
impl_params!(A0, A1);
impl_params!(A0, A1, A2);
impl_params!(A0, A1, A2, A3);
impl_params!(A0, A1, A2, A3, A4);
impl_params!(A0, A1, A2, A3, A4, A5);
impl_params!(A0, A1, A2, A3, A4, A5, A6);
impl_params!(A0, A1, A2, A3, A4, A5, A6, A7);

/// Refuses a call with arguments `A` and result `R` unless they are the
/// closure's types. A borrowed form of a parameter's type is its owned
/// type: `&str` for `String`, `&[T]` for `Vec<T>`, `&T` for `T`, as serde
/// encodes them alike.
pub(crate) fn check<A: Params, R>(signature: &Signature) -> Result<()> {
    let args: Vec<String> = A::type_names().into_iter().map(owned).collect();
    let result = owned(type_name::<R>());
    // Guests of ABI 6 name types whole; the short forms are compared.
    let expected_result = short_type_name(signature.ok.as_deref().unwrap_or(&signature.result));
    let wanted: Vec<String> = signature.params.iter().map(|p| short_type_name(&p.ty)).collect();
    if args == wanted && result == expected_result {
        return Ok(());
    }
    Err(Error::BadArgs(format!(
        "called with types ({}) -> {result}, but the function takes ({}) -> {expected_result}",
        args.join(", "),
        wanted.join(", "),
    )))
}

/// The owned type that a borrowed one encodes like.
fn owned(name: String) -> String {
    let Some(inner) = name.strip_prefix('&') else { return name };
    let inner = inner.strip_prefix("mut ").unwrap_or(inner);
    match inner {
        "str" => "String".into(),
        slice if slice.starts_with('[') && slice.ends_with(']') && !slice.contains(';') => {
            format!("Vec<{}>", owned(slice[1..slice.len() - 1].to_owned()))
        }
        other => owned(other.to_owned()),
    }
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
        let seed = signature(&["i64"], "i64");
        check::<(i64,), i64>(&seed).unwrap();
        let err = check::<(u64,), u64>(&seed).unwrap_err().to_string();
        assert_eq!(err, "called with types (u64) -> u64, but the function takes (i64) -> i64");
        assert!(check::<(String,), i64>(&seed).is_err());
        assert!(check::<(i64, i64), i64>(&seed).is_err());
        assert!(check::<(), i64>(&seed).is_err());
    }

    #[test]
    fn borrowed_forms_match_their_owned_types() {
        let greeter = signature(&["String", "Vec<u8>", "Option<u32>"], "String");
        check::<(&str, &[u8], &Option<u32>), String>(&greeter).unwrap();
        check::<(String, Vec<u8>, Option<u32>), String>(&greeter).unwrap();
        let mut fallible = signature(&["i64"], "Result<i64, String>");
        fallible.ok = Some("i64".into());
        check::<(i64,), i64>(&fallible).unwrap();
        assert!(check::<(i64,), Result<i64, String>>(&fallible).is_err());
    }
}
