//! Argument tuples: decoding from JSON text, and type names.

#[cfg(feature = "json")]
use core::fmt;

use serde::Serialize;
use serde::de::DeserializeOwned;
#[cfg(feature = "json")]
use serde::de::{SeqAccess, Visitor};
#[cfg(feature = "json")]
use serde::{Deserialize, Deserializer};
pub use shipfn_abi::type_name;
#[cfg(feature = "json")]
use shipfn_abi::{ArgError, MAX_PARAMS};

/// The whole name of `T`, as the ABI reports it (`alloc::string::String`):
/// the host tells std's types from a user's by it, and shortens it to show.
pub(crate) fn whole_type_name<T: ?Sized>() -> String {
    core::any::type_name::<T>().into()
}

/// A tuple of call arguments, `()` to `(A0, …, A7)`.
///
/// Implemented for tuples of up to eight serde types; the host sends either
/// postcard of the whole tuple or (with the `json` feature) one JSON text
/// per element.
pub trait Args: Sized + Serialize + DeserializeOwned {
    /// How many arguments the tuple holds.
    const COUNT: usize;
    /// The whole type name of each element (`alloc::string::String`).
    fn type_names() -> Vec<String>;
    /// The serde shape of each element, traced into `builder`.
    #[doc(hidden)]
    fn formats(builder: &mut shipfn_schema::Builder) -> Vec<shipfn_schema::Traced>;
    /// Decodes one JSON text per element; errors name the element.
    #[cfg(feature = "json")]
    fn from_json(raw: &[&str]) -> Result<Self, shipfn_abi::ArgError>;
}

#[cfg(feature = "json")]
/// The JSON texts of a call's arguments, borrowed from the host's input:
/// framing them allocates nothing, so a JSON call of a closure whose
/// arguments need no heap (numbers, booleans) does not grow a fresh
/// instance's memory.
///
/// One text more than [`MAX_PARAMS`] is kept, so that too many arguments are
/// reported as a wrong count; further ones are dropped.
pub(crate) struct RawArgs<'a> {
    texts: [&'a str; MAX_PARAMS + 1],
    len: usize,
}

#[cfg(feature = "json")]
impl<'a> RawArgs<'a> {
    /// Decodes the postcard `Vec<String>` the host sends.
    pub fn decode(input: &'a [u8]) -> Result<Self, postcard::Error> {
        postcard::from_bytes(input)
    }

    pub fn texts(&self) -> &[&'a str] {
        &self.texts[..self.len]
    }
}

#[cfg(feature = "json")]
impl<'de> Deserialize<'de> for RawArgs<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Texts;
        impl<'de> Visitor<'de> for Texts {
            type Value = RawArgs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a sequence of argument texts")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<RawArgs<'de>, S::Error> {
                let mut args = RawArgs { texts: [""; MAX_PARAMS + 1], len: 0 };
                while let Some(text) = seq.next_element::<&'de str>()? {
                    if let Some(slot) = args.texts.get_mut(args.len) {
                        *slot = text;
                        args.len += 1;
                    }
                }
                Ok(args)
            }
        }
        deserializer.deserialize_seq(Texts)
    }
}

#[cfg(feature = "json")]
/// Decodes one argument from JSON text. A text that is not JSON at all is
/// tried once more as a JSON string, so `--arg hello` works for a `String`.
pub(crate) fn parse_arg<T: DeserializeOwned>(index: usize, raw: &str) -> Result<T, ArgError> {
    let fail = |message: String| ArgError { index: index as u32, message };
    match serde_json::from_str::<T>(raw) {
        Ok(value) => Ok(value),
        Err(err) if err.is_syntax() || err.is_eof() => {
            serde_json::from_value::<T>(serde_json::Value::String(raw.to_owned()))
                .map_err(|_| fail(format!("`{}` is not valid JSON ({err})", shorten(raw))))
        }
        // `--arg 5` for a string: the text is JSON, but not a string.
        Err(err) if serde_json::from_value::<T>(serde_json::Value::String(raw.to_owned())).is_ok() => {
            let quoted = serde_json::Value::String(raw.to_owned()).to_string();
            Err(fail(format!(
                "{err} (to pass the text `{}` as a string, quote it as JSON: '{}')",
                shorten(raw),
                shorten(&quoted)
            )))
        }
        Err(err) => Err(fail(err.to_string())),
    }
}

#[cfg(feature = "json")]
fn shorten(raw: &str) -> String {
    const MAX: usize = 60;
    match raw.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &raw[..cut]),
        None => raw.to_owned(),
    }
}

macro_rules! impl_args {
    ($count:expr; $($name:ident $idx:tt),*) => {
        impl<$($name: Serialize + DeserializeOwned),*> Args for ($($name,)*) {
            const COUNT: usize = $count;
            fn type_names() -> Vec<String> {
                vec![$(whole_type_name::<$name>()),*]
            }
            #[allow(unused_variables)]
            fn formats(builder: &mut shipfn_schema::Builder) -> Vec<shipfn_schema::Traced> {
                vec![$(builder.trace::<$name>()),*]
            }
            #[cfg(feature = "json")]
            #[allow(unused_variables)]
            fn from_json(raw: &[&str]) -> Result<Self, ArgError> {
                if raw.len() != $count {
                    return Err(ArgError {
                        index: u32::MAX,
                        message: match raw.len() {
                            n if n > MAX_PARAMS => format!("expected {} argument(s), got more than {MAX_PARAMS}", $count),
                            n => format!("expected {} argument(s), got {n}", $count),
                        },
                    });
                }
                Ok(($(parse_arg::<$name>($idx, raw[$idx])?,)*))
            }
        }
    };
}

impl_args!(0;);
impl_args!(1; A0 0);
impl_args!(2; A0 0, A1 1);
impl_args!(3; A0 0, A1 1, A2 2);
impl_args!(4; A0 0, A1 1, A2 2, A3 3);
impl_args!(5; A0 0, A1 1, A2 2, A3 3, A4 4);
impl_args!(6; A0 0, A1 1, A2 2, A3 3, A4 4, A5 5);
impl_args!(7; A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6);
impl_args!(8; A0 0, A1 1, A2 2, A3 3, A4 4, A5 5, A6 6, A7 7);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn type_names_drop_paths() {
        assert_eq!(type_name::<i64>(), "i64");
        assert_eq!(type_name::<Vec<String>>(), "Vec<String>");
        assert_eq!(type_name::<HashMap<String, Option<u8>>>(), "HashMap<String, Option<u8>>");
        assert_eq!(type_name::<(i64, &str)>(), "(i64, &str)");
        let unicode = "my_crate::modé::Straße<alloc::vec::Vec<my_crate::Ü>, [u8; 4]>";
        assert_eq!(shipfn_abi::short_type_name(unicode), "Straße<Vec<Ü>, [u8; 4]>");
    }

    #[test]
    fn args_report_whole_type_names() {
        assert_eq!(<(i64, String)>::type_names(), ["i64", "alloc::string::String"]);
    }

    #[cfg(feature = "json")]
    #[test]
    fn json_args_name_the_failing_position() {
        assert_eq!(<(i64, String)>::from_json(&["4", "hi"]).unwrap(), (4, "hi".into()));
        let err = <(i64, u8)>::from_json(&["4", "300"]).unwrap_err();
        assert_eq!(err.index, 1);
        assert!(err.message.contains("u8"), "{}", err.message);
        let err = <(i64,)>::from_json(&["four"]).unwrap_err();
        assert!(err.message.contains("not valid JSON"), "{}", err.message);
        let nine = postcard::to_allocvec(&vec!["1"; 9]).unwrap();
        let raw = RawArgs::decode(&nine).unwrap();
        let err = <(i64,)>::from_json(raw.texts()).unwrap_err();
        assert_eq!(err.message, "expected 1 argument(s), got more than 8");
        let two = postcard::to_allocvec(&vec![String::from("4"), String::from("\"hi\"")]).unwrap();
        assert_eq!(<(i64, String)>::from_json(RawArgs::decode(&two).unwrap().texts()).unwrap(), (4, "hi".into()));
        let err = <(i64,)>::from_json(&[]).unwrap_err();
        assert_eq!(err.index, u32::MAX);
    }
}
