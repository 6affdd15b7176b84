//! Python values to the JSON values the host converts by the closure's
//! types, and JSON results back to Python values: `int`, `float`, `bool`, `str`, `None`, `bytes` (a
//! `Vec<u8>`), `list` and `tuple` (sequences and tuples), `dict` (maps and
//! structs). Ranges and shapes are checked by the host against the
//! parameter's type, so an error names the parameter.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Most containers nested in one another in one argument.
const MAX_DEPTH: usize = 128;

/// The JSON value of a Python argument; errors say what could not be
/// converted and where inside the argument.
pub fn to_value(obj: &Bound<'_, PyAny>) -> Result<Value, String> {
    to_value_at(obj, 0)
}

fn to_value_at(obj: &Bound<'_, PyAny>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("values are nested more than {MAX_DEPTH} deep"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // `bool` before `int`: it is one.
    if obj.is_instance_of::<PyBool>() {
        return Ok(Value::Bool(obj.extract::<bool>().map_err(|e| e.to_string())?));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::Number(i.into()));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::Number(u.into()));
        }
        return Err(format!("the integer {obj} is out of range for every integer type shipfn converts (i64, u64)"));
    }
    if obj.is_instance_of::<PyFloat>() {
        let f = obj.extract::<f64>().map_err(|e| e.to_string())?;
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| format!("{f} has no JSON form"));
    }
    if obj.is_instance_of::<PyString>() {
        return obj.extract::<String>().map(Value::String).map_err(|e| e.to_string());
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(bytes_value(b.as_bytes()));
    }
    if let Ok(b) = obj.cast::<PyByteArray>() {
        return Ok(bytes_value(&b.to_vec()));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list.iter().map(|item| to_value_at(&item, depth + 1)).collect::<Result<_, _>>().map(Value::Array);
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple.iter().map(|item| to_value_at(&item, depth + 1)).collect::<Result<_, _>>().map(Value::Array);
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (key, value) in dict.iter() {
            map.insert(key_text(&key)?, to_value_at(&value, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    let ty = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(format!("a Python `{ty}` cannot be converted (int, float, bool, str, None, bytes, list, tuple and dict can)"))
}

fn bytes_value(bytes: &[u8]) -> Value {
    Value::Array(bytes.iter().map(|&b| Value::Number(b.into())).collect())
}

/// A dict key as JSON writes it: strings as they are, integers and bools
/// as their text (serde reads a map's integer keys from that).
fn key_text(key: &Bound<'_, PyAny>) -> Result<String, String> {
    if key.is_instance_of::<PyString>() {
        return key.extract::<String>().map_err(|e| e.to_string());
    }
    if key.is_instance_of::<PyBool>() || key.is_instance_of::<PyInt>() {
        // Their JSON text: `1`, `true`.
        return Ok(to_value(key)?.to_string());
    }
    let ty = key.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(format!("a dict key must be a str or an int, not a `{ty}`"))
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
