//! Python values to the JSON the host converts by the closure's types, and
//! JSON results back to Python values: `int` (up to 128 bits: the host
//! checks the parameter's range), `float`, `bool`, `str`, `None`, `bytes`
//! (a `Vec<u8>`), `list` and `tuple` (sequences and tuples), `dict` (maps
//! and structs). Ranges and shapes are checked by the host against the
//! parameter's type, so an error names the parameter.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::ser::{Error as _, Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

/// Most containers nested in one another in one argument.
const MAX_DEPTH: usize = 128;

/// The JSON of a Python argument, written by serde_json; errors say what
/// could not be converted and where inside the argument.
pub fn to_json(obj: &Bound<'_, PyAny>) -> Result<Box<RawValue>, String> {
    serde_json::value::to_raw_value(&AsJson(obj.clone(), 0)).map_err(|e| e.to_string())
}

/// A Python value, `depth` containers deep in its argument, serialized as
/// the JSON of the value it stands for.
struct AsJson<'py>(Bound<'py, PyAny>, usize);

impl Serialize for AsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let AsJson(obj, depth) = self;
        let python = |e: PyErr| S::Error::custom(e);
        if *depth > MAX_DEPTH {
            return Err(S::Error::custom(format!("values are nested more than {MAX_DEPTH} deep")));
        }
        if obj.is_none() {
            s.serialize_unit()
        } else if obj.is_instance_of::<PyBool>() {
            // Before `int`: a `bool` is one.
            s.serialize_bool(obj.is_truthy().map_err(python)?)
        } else if obj.is_instance_of::<PyInt>() {
            if let Ok(i) = obj.extract::<i64>() {
                s.serialize_i64(i)
            } else if let Ok(u) = obj.extract::<u128>() {
                s.serialize_u128(u)
            } else if let Ok(i) = obj.extract::<i128>() {
                s.serialize_i128(i)
            } else {
                Err(S::Error::custom(format!(
                    "the integer {obj} is out of range for every integer type shipfn converts (up to i128 and u128)"
                )))
            }
        } else if obj.is_instance_of::<PyFloat>() {
            let f = obj.extract::<f64>().map_err(python)?;
            // serde_json would write `null` for these.
            if !f.is_finite() {
                return Err(S::Error::custom(format!("{f} has no JSON form")));
            }
            s.serialize_f64(f)
        } else if let Ok(text) = obj.cast::<PyString>() {
            s.serialize_str(&text.to_cow().map_err(python)?)
        } else if let Ok(b) = obj.cast::<PyBytes>() {
            s.serialize_bytes(b.as_bytes())
        } else if let Ok(b) = obj.cast::<PyByteArray>() {
            s.serialize_bytes(&b.to_vec())
        } else if let Ok(list) = obj.cast::<PyList>() {
            s.collect_seq(list.iter().map(|item| AsJson(item, depth + 1)))
        } else if let Ok(tuple) = obj.cast::<PyTuple>() {
            s.collect_seq(tuple.iter().map(|item| AsJson(item, depth + 1)))
        } else if let Ok(dict) = obj.cast::<PyDict>() {
            let mut map = s.serialize_map(Some(dict.len()))?;
            for (key, value) in dict.iter() {
                // A string as it is; an integer or bool as its text, which
                // serde reads a map's integer keys from.
                if !(key.is_instance_of::<PyString>() || key.is_instance_of::<PyInt>()) {
                    let ty = type_name(&key);
                    return Err(S::Error::custom(format!("a dict key must be a str or an int, not a `{ty}`")));
                }
                map.serialize_entry(&AsJson(key, 0), &AsJson(value, depth + 1))?;
            }
            map.end()
        } else {
            let ty = type_name(obj);
            Err(S::Error::custom(format!(
                "a Python `{ty}` cannot be converted (int, float, bool, str, None, bytes, list, tuple and dict can)"
            )))
        }
    }
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// The Python value of a JSON result, read by Python's own `json` module:
/// an integer keeps every digit (a `u128` result is a Python `int`).
pub fn from_json<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    // The commonest results, without a call into Python's parser.
    match text {
        "null" => return Ok(py.None().into_bound(py)),
        "true" => return Ok(PyBool::new(py, true).to_owned().into_any()),
        "false" => return Ok(PyBool::new(py, false).to_owned().into_any()),
        _ => {}
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if (1..=18).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(i) = text.parse::<i64>()
    {
        return Ok(i.into_pyobject(py)?.into_any());
    }
    static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let loads = LOADS.get_or_try_init(py, || py.import("json")?.getattr("loads").map(Bound::unbind))?;
    loads.bind(py).call1((text,))
}
