//! Python values to the JSON the host converts by the closure's types, and
//! JSON results back to Python values: `int` (any size: the host checks the
//! parameter's range), `float`, `bool`, `str`, `None`, `bytes` (a
//! `Vec<u8>`), `list` and `tuple` (sequences and tuples), `dict` (maps and
//! structs). Ranges and shapes are checked by the host against the
//! parameter's type, so an error names the parameter.

use std::fmt::Write;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::value::RawValue;

/// Most containers nested in one another in one argument.
const MAX_DEPTH: usize = 128;

/// The JSON of a Python argument; errors say what could not be converted
/// and where inside the argument.
pub fn to_json(obj: &Bound<'_, PyAny>) -> Result<Box<RawValue>, String> {
    let mut text = String::new();
    write_json(obj, &mut text, 0)?;
    RawValue::from_string(text).map_err(|e| format!("shipfn wrote invalid JSON for {obj}: {e}"))
}

fn write_json(obj: &Bound<'_, PyAny>, out: &mut String, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("values are nested more than {MAX_DEPTH} deep"));
    }
    if obj.is_none() {
        out.push_str("null");
    } else if obj.is_instance_of::<PyBool>() {
        // Before `int`: a `bool` is one.
        out.push_str(if obj.is_truthy().map_err(|e| e.to_string())? { "true" } else { "false" });
    } else if obj.is_instance_of::<PyInt>() {
        write_int(obj, out)?;
    } else if obj.is_instance_of::<PyFloat>() {
        let f = obj.extract::<f64>().map_err(|e| e.to_string())?;
        let number = serde_json::Number::from_f64(f).ok_or_else(|| format!("{f} has no JSON form"))?;
        write!(out, "{number}").map_err(|e| e.to_string())?;
    } else if obj.is_instance_of::<PyString>() {
        write_str(&obj.cast::<PyString>().map_err(|e| e.to_string())?.to_cow().map_err(|e| e.to_string())?, out);
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        write_bytes(b.as_bytes(), out);
    } else if let Ok(b) = obj.cast::<PyByteArray>() {
        write_bytes(&b.to_vec(), out);
    } else if let Ok(list) = obj.cast::<PyList>() {
        write_seq(list.iter(), out, depth)?;
    } else if let Ok(tuple) = obj.cast::<PyTuple>() {
        write_seq(tuple.iter(), out, depth)?;
    } else if let Ok(dict) = obj.cast::<PyDict>() {
        out.push('{');
        for (n, (key, value)) in dict.iter().enumerate() {
            if n > 0 {
                out.push(',');
            }
            write_key(&key, out)?;
            out.push(':');
            write_json(&value, out, depth + 1)?;
        }
        out.push('}');
    } else {
        let ty = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
        return Err(format!(
            "a Python `{ty}` cannot be converted (int, float, bool, str, None, bytes, list, tuple and dict can)"
        ));
    }
    Ok(())
}

/// An integer's digits, exact at any size (an `int` subclass as its value).
fn write_int(obj: &Bound<'_, PyAny>, out: &mut String) -> Result<(), String> {
    if let Ok(i) = obj.extract::<i64>() {
        write!(out, "{i}").map_err(|e| e.to_string())
    } else {
        let exact = obj.py().get_type::<PyInt>().call1((obj,)).and_then(|i| i.str()).map_err(|e| e.to_string())?;
        out.push_str(&exact.to_cow().map_err(|e| e.to_string())?);
        Ok(())
    }
}

fn write_str(text: &str, out: &mut String) {
    out.push_str(&serde_json::Value::from(text).to_string());
}

fn write_bytes(bytes: &[u8], out: &mut String) {
    out.push('[');
    for (n, b) in bytes.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        let _ = write!(out, "{b}");
    }
    out.push(']');
}

fn write_seq<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    out: &mut String,
    depth: usize,
) -> Result<(), String> {
    out.push('[');
    for (n, item) in items.enumerate() {
        if n > 0 {
            out.push(',');
        }
        write_json(&item, out, depth + 1)?;
    }
    out.push(']');
    Ok(())
}

/// A dict key as JSON writes it: a string, an integer or bool as its text
/// (serde reads a map's integer keys from that).
fn write_key(key: &Bound<'_, PyAny>, out: &mut String) -> Result<(), String> {
    if key.is_instance_of::<PyString>() {
        return write_json(key, out, 0);
    }
    if key.is_instance_of::<PyBool>() || key.is_instance_of::<PyInt>() {
        let mut text = String::new();
        write_json(key, &mut text, 0)?;
        write_str(&text, out);
        return Ok(());
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
