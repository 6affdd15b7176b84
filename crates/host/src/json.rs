//! JSON calls of a guest built without JSON: the host encodes the
//! arguments, and decodes the result and the captured state, from the
//! whole type names of the closure's signature.

use serde::Serialize;
use serde_json::value::RawValue;
use shipfn_abi::{Field, Signature, StateJson, short_type_name};

use std::sync::Arc;

use shipfn_abi::schema::{Format, Schema};

use crate::convert::{Value, from_postcard, json_arg, json_value, take_postcard};
use crate::shape::{Registry, Shape, Unknown};
use crate::{Error, Result};

/// The shape of a value of type `ty` (whole) whose traced format is
/// `format` (packages of guest ABI 7 on), or the error naming the type and
/// why the host cannot convert it. A std type is known by its whole name (a
/// user's `String` never reads as std's); any other by its format.
fn shape(ty: &str, format: Option<&Format>, what: &str, of: fn(&str) -> Result<Shape, Unknown>) -> Result<Shape> {
    let no_json = |ty: String, why: String| Error::NoJson { ty, what: what.to_owned(), why };
    match (of(ty), format) {
        (Ok(shape), _) => Ok(shape),
        (Err(_), Some(format)) => Shape::of_format(format).map_err(|unknown| no_json(ty.to_owned(), unknown.0)),
        (Err(unknown), None) => Err(no_json(unknown.0, "it is not a std type, and no schema describes it".into())),
    }
}

/// The shapes of a closure's (or a maker's) parameters and result, found
/// once and kept with the loaded function.
#[derive(Clone)]
pub(crate) struct CallShapes {
    params: Vec<Shape>,
    /// The parameters' short type names, for errors.
    short: Vec<String>,
    /// The result's (for a fallible closure, the success type's); none for
    /// a maker.
    result: Option<Shape>,
    /// The structs and enums those name.
    registry: Arc<Registry>,
}

impl CallShapes {
    /// The shapes of `params` (std types only: a maker's), or the error
    /// naming the first type the host cannot convert.
    pub fn of_params(fields: &[Field]) -> Result<CallShapes> {
        let params = fields
            .iter()
            .map(|p| shape(&p.ty, None, &format!("parameter `{}`", p.name), Shape::of))
            .collect::<Result<_>>()?;
        Ok(CallShapes { params, short: short_names(fields), result: None, registry: Arc::default() })
    }

    /// The shapes of a closure's parameters and result.
    pub fn of_signature(signature: &Signature, schema: Option<&Schema>) -> Result<CallShapes> {
        let registry = registry(schema)?;
        let formats = |i: usize| schema.and_then(|s| s.params.get(i));
        let params = signature
            .params
            .iter()
            .enumerate()
            .map(|(i, p)| shape(&p.ty, formats(i), &format!("parameter `{}`", p.name), Shape::of))
            .collect::<Result<_>>()?;
        let ty = signature.ok.as_deref().unwrap_or(&signature.result);
        let result = shape(ty, schema.map(|s| &s.result), "the result", Shape::of)?;
        let short = short_names(&signature.params);
        Ok(CallShapes { params, short, result: Some(result), registry })
    }

    /// Postcard of the argument tuple for `params` (the fields these
    /// shapes were made from), from one JSON text each. The count was
    /// checked by the caller.
    pub fn encode_args(&self, params: &[Field], args: &[impl AsRef<str>]) -> Result<Vec<u8>> {
        self.encode_with(params, args, |shape, raw| json_arg(shape, &self.registry, raw.as_ref()))
    }

    /// Postcard of the argument tuple for `params`, from one JSON value
    /// each, taken strictly as JSON. The count was checked by the caller.
    pub fn encode_values(&self, params: &[Field], args: &[Box<RawValue>]) -> Result<Vec<u8>> {
        self.encode_with(params, args, |shape, raw| json_value(shape, &self.registry, raw.get()))
    }

    fn encode_with<T>(
        &self,
        params: &[Field],
        args: &[T],
        read: impl Fn(&Shape, &T) -> Result<Value, String>,
    ) -> Result<Vec<u8>> {
        let mut values = Vec::with_capacity(params.len());
        for (i, ((param, (shape, short)), arg)) in
            params.iter().zip(self.params.iter().zip(&self.short)).zip(args).enumerate()
        {
            let value = read(shape, arg).map_err(|message| {
                Error::BadArgs(format!("argument {} `{}` expects {short}: {message}", i + 1, param.name))
            })?;
            values.push(value);
        }
        postcard::to_allocvec(&Value::Tuple(values)).map_err(|e| Error::internal("encoding the arguments", e))
    }

    /// The JSON text of a postcard result of `signature`'s closure (the one
    /// these shapes were made from).
    pub fn decode_result(&self, signature: &Signature, bytes: &[u8]) -> Result<String> {
        let shape = self.result.as_ref().ok_or_else(|| Error::internal("decoding a result", "no result shape"))?;
        let value = from_postcard(shape, &self.registry, bytes).map_err(|e| {
            let ty = signature.ok.as_deref().unwrap_or(&signature.result);
            Error::Abi(format!("the result does not decode as {}: {e}", short_type_name(ty)))
        })?;
        to_json(&value)
    }
}

fn short_names(params: &[Field]) -> Vec<String> {
    params.iter().map(|p| short_type_name(&p.ty)).collect()
}

/// The structs and enums of a schema, as shapes.
fn registry(schema: Option<&Schema>) -> Result<Arc<Registry>> {
    match schema {
        Some(schema) => Registry::of(schema)
            .map(Arc::new)
            .map_err(|e| Error::Abi(format!("the package's schema names a type it cannot describe: {}", e.0))),
        None => Ok(Arc::default()),
    }
}

/// The host's JSON conversion of one argument list, prepared once: the
/// parameters' shapes, as a JSON call of a guest without JSON finds them.
/// For fuzzing the conversion against the guest SDK's own decoding, where
/// preparing once per type (not per input) keeps the rate up.
#[doc(hidden)]
pub struct PreparedArgs {
    params: Vec<Field>,
    shapes: CallShapes,
}

impl PreparedArgs {
    /// Parameters of whole type names `types`; `None` if a type is not one
    /// the host converts by name.
    pub fn by_names(types: &[&str]) -> Option<PreparedArgs> {
        let params = unnamed(types);
        let shapes = CallShapes::of_params(&params).ok()?;
        Some(PreparedArgs { params, shapes })
    }

    /// Parameters whose formats `schema` gives (its `params`), as for a
    /// guest of ABI 7 without JSON; the error names what the host cannot
    /// convert.
    pub fn by_schema(types: &[&str], schema: &Schema) -> Result<PreparedArgs, String> {
        let params = unnamed(types);
        let signature =
            Signature { params, result: "()".into(), ok: None, error: None, captures: vec![], globals: vec![] };
        let shapes = CallShapes::of_signature(&signature, Some(schema)).map_err(|e| e.to_string())?;
        Ok(PreparedArgs { params: signature.params, shapes })
    }

    /// Postcard of the argument tuple, from one JSON text each.
    pub fn encode(&self, raw: &[&str]) -> Result<Vec<u8>, String> {
        if self.params.len() != raw.len() {
            return Err(format!("expected {} argument(s), got {}", self.params.len(), raw.len()));
        }
        self.shapes.encode_args(&self.params, raw).map_err(|e| e.to_string())
    }
}

fn unnamed(types: &[&str]) -> Vec<Field> {
    types.iter().map(|ty| Field { name: "arg".into(), ty: (*ty).into() }).collect()
}

/// The captured values and globals of `state` as JSON objects.
pub(crate) fn describe_state(signature: &Signature, schema: Option<&Schema>, state: &[u8]) -> Result<StateJson> {
    let captures = &signature.captures;
    let registry = registry(schema)?;
    let mut shapes = Vec::with_capacity(captures.len() + signature.globals.len());
    for (i, field) in captures.iter().enumerate() {
        let format = schema.and_then(|s| s.captures.get(i));
        shapes.push(shape(&field.ty, format, &format!("the capture `{}`", field.name), Shape::of_capture)?);
    }
    for (i, field) in signature.globals.iter().enumerate() {
        let format = schema.and_then(|s| s.globals.get(i));
        shapes.push(shape(&field.ty, format, &format!("the global `{}`", field.name), Shape::of)?);
    }
    let bad = |e: String| Error::Abi(format!("the captured state does not decode as the signature's types: {e}"));
    let (mut values, rest) = take_postcard(&shapes, &registry, state).map_err(bad)?;
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
