//! JSON calls of a guest built without JSON: the host encodes the
//! arguments, and decodes the result and the captured state, from the
//! whole type names of the closure's signature.

use serde::Serialize;
use shipfn_abi::{Field, Signature, StateJson, short_type_name};

use crate::convert::{Value, from_postcard, json_arg, take_postcard};
use crate::shape::Shape;
use crate::{Error, Result};

/// The shape of `ty`, or the error that names the type the host cannot
/// convert and what it is.
fn shape(ty: &str, what: &str, of: fn(&str) -> Result<Shape, crate::shape::Unknown>) -> Result<Shape> {
    // The whole name: a user's `String` must not read as std's.
    of(ty).map_err(|unknown| Error::NoJson { ty: unknown.0, what: what.to_owned() })
}

/// The shapes of a closure's (or a maker's) parameters and result, found
/// once and kept with the loaded function.
#[derive(Clone)]
pub(crate) struct CallShapes {
    params: Vec<Shape>,
    /// The result's (for a fallible closure, the success type's); none for
    /// a maker.
    result: Option<Shape>,
}

impl CallShapes {
    /// The shapes of `params`, or the error naming the first type the host
    /// cannot convert.
    pub fn of_params(params: &[Field]) -> Result<CallShapes> {
        let params = params
            .iter()
            .map(|p| shape(&p.ty, &format!("parameter `{}`", p.name), Shape::of))
            .collect::<Result<_>>()?;
        Ok(CallShapes { params, result: None })
    }

    /// The shapes of a closure's parameters and result.
    pub fn of_signature(signature: &Signature) -> Result<CallShapes> {
        let ty = signature.ok.as_deref().unwrap_or(&signature.result);
        let result = shape(ty, "the result", Shape::of)?;
        Ok(CallShapes { result: Some(result), ..CallShapes::of_params(&signature.params)? })
    }

    /// Postcard of the argument tuple for `params` (the fields these
    /// shapes were made from), from one JSON text each. The count was
    /// checked by the caller.
    pub fn encode_args(&self, params: &[Field], args: &[impl AsRef<str>]) -> Result<Vec<u8>> {
        let mut values = Vec::with_capacity(params.len());
        for (i, ((param, shape), raw)) in params.iter().zip(&self.params).zip(args).enumerate() {
            let value = json_arg(shape, raw.as_ref()).map_err(|message| {
                Error::BadArgs(format!(
                    "argument {} `{}` expects {}: {message}",
                    i + 1,
                    param.name,
                    short_type_name(&param.ty)
                ))
            })?;
            values.push(value);
        }
        postcard::to_allocvec(&Value::Tuple(values)).map_err(|e| Error::internal("encoding the arguments", e))
    }

    /// The JSON text of a postcard result of `signature`'s closure (the one
    /// these shapes were made from).
    pub fn decode_result(&self, signature: &Signature, bytes: &[u8]) -> Result<String> {
        let shape = self.result.as_ref().ok_or_else(|| Error::internal("decoding a result", "no result shape"))?;
        let value = from_postcard(shape, bytes).map_err(|e| {
            let ty = signature.ok.as_deref().unwrap_or(&signature.result);
            Error::Abi(format!("the result does not decode as {}: {e}", short_type_name(ty)))
        })?;
        to_json(&value)
    }
}

/// Postcard of the argument tuple of whole type names `types`, from one
/// JSON text each, as a JSON call of a guest without JSON encodes it; `None`
/// if a type is not one the host converts. For fuzzing the conversion
/// against the guest SDK's own decoding.
#[doc(hidden)]
pub fn json_args_to_postcard(types: &[&str], raw: &[&str]) -> Option<Result<Vec<u8>, String>> {
    let params: Vec<Field> = types.iter().map(|ty| Field { name: "arg".into(), ty: (*ty).into() }).collect();
    let shapes = CallShapes::of_params(&params).ok()?;
    if params.len() != raw.len() {
        return Some(Err(format!("expected {} argument(s), got {}", params.len(), raw.len())));
    }
    Some(shapes.encode_args(&params, raw).map_err(|e| e.to_string()))
}

/// The captured values and globals of `state` as JSON objects.
pub(crate) fn describe_state(signature: &Signature, state: &[u8]) -> Result<StateJson> {
    let captures = &signature.captures;
    let mut shapes = Vec::with_capacity(captures.len() + signature.globals.len());
    for field in captures {
        shapes.push(shape(&field.ty, &format!("the capture `{}`", field.name), Shape::of_capture)?);
    }
    for field in &signature.globals {
        shapes.push(shape(&field.ty, &format!("the global `{}`", field.name), Shape::of)?);
    }
    let bad = |e: String| Error::Abi(format!("the captured state does not decode as the signature's types: {e}"));
    let (mut values, rest) = take_postcard(&shapes, state).map_err(bad)?;
    if !rest.is_empty() {
        return Err(bad(format!("{} bytes are left over", rest.len())));
    }
    let globals = values.split_off(captures.len());
    // Fields in the order the closure declares them, as the guest's serde writes a struct.
    let object = |fields: &[Field], values: Vec<Value>| -> Result<String> {
        let members: Vec<String> = fields
            .iter()
            .zip(values)
            .map(|(f, v)| Ok(format!("{}:{}", to_json(&f.name)?, to_json(&v)?)))
            .collect::<Result<_>>()?;
        Ok(format!("{{{}}}", members.join(",")))
    };
    Ok(StateJson { captures: object(captures, values)?, globals: object(&signature.globals, globals)? })
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(json_error)
}

/// A value the guest's serde could not have written to JSON either (a map
/// whose keys are not strings or numbers).
fn json_error(e: serde_json::Error) -> Error {
    Error::BadArgs(format!("the value has no JSON form: {e}"))
}
