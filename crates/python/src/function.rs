//! `shipfn.Function`, and `load` and `make`, which return one.

use std::sync::{PoisonError, RwLock};

use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyDict, PyList, PyTuple};
use serde_json::value::RawValue;
use shipfn_cluster::Local;
use shipfn_host::{Form, Keep, VerifiedPackage};

use crate::convert;
use crate::errors::{self, bad_args};
use crate::hosts;
use crate::options::Options;

/// A shipped closure, loaded and checked, ready to call.
///
/// Each call runs on a fresh instance of its WebAssembly module, sandboxed
/// and under the limits it was loaded with; calls release the GIL, and one
/// `Function` may be called from many threads at once. It pickles as its
/// package's bytes (with its limits and trusted keys).
#[pyclass(frozen, name = "Function", module = "shipfn")]
pub struct Function {
    /// The function loaded, and the fork generation of the host it is on.
    loaded: RwLock<(u64, shipfn_host::Function)>,
    /// The package's bytes, as loaded.
    bytes: Py<PyBytes>,
    options: Options,
}

impl Function {
    /// Loads `bytes` under `options`.
    fn load(py: Python<'_>, bytes: Py<PyBytes>, options: Options) -> PyResult<Function> {
        let generation = hosts::generation();
        let function = load_on_host(py, bytes.as_bytes(py), &options)?;
        Ok(Function { loaded: RwLock::new((generation, function)), bytes, options })
    }

    /// The function on this process's host, to call: after a fork, the
    /// first call in the child loads it again there.
    ///
    /// The lock is taken only with the GIL held and never across loading,
    /// so a fork in another thread never leaves it locked in the child.
    fn current(&self, py: Python<'_>) -> PyResult<shipfn_host::Function> {
        let generation = hosts::generation();
        {
            let loaded = self.loaded.read().unwrap_or_else(PoisonError::into_inner);
            if loaded.0 == generation {
                return Ok(loaded.1.clone());
            }
        }
        let function = load_on_host(py, self.bytes.as_bytes(py), &self.options)?;
        *self.loaded.write().unwrap_or_else(PoisonError::into_inner) = (generation, function.clone());
        Ok(function)
    }

    /// The function as loaded, on whichever host: for its manifest and
    /// package, which are the same on every host (anything that runs the
    /// guest takes [`current`](Self::current)).
    fn as_loaded(&self) -> shipfn_host::Function {
        self.loaded.read().unwrap_or_else(PoisonError::into_inner).1.clone()
    }

    /// The parameters' names, for errors.
    fn param(&self, index: usize) -> String {
        let function = self.as_loaded();
        let params = &function.manifest().signature.params;
        params.get(index).map(|p| format!("argument {} `{}`", index + 1, p.name)).unwrap_or_default()
    }

    /// One call's arguments as JSON.
    fn values(&self, args: &Bound<'_, PyTuple>) -> PyResult<Vec<Box<RawValue>>> {
        let function = self.as_loaded();
        let expected = function.manifest().signature.params.len();
        if args.len() != expected {
            return Err(bad_args(format!(
                "{} takes {expected} argument(s), got {}",
                function.signature_text(),
                args.len()
            )));
        }
        args.iter()
            .enumerate()
            .map(|(i, arg)| convert::to_json(&arg).map_err(|e| bad_args(format!("{}: {e}", self.param(i)))))
            .collect()
    }
}

#[pymethods]
impl Function {
    /// Calls the closure with one Python value per parameter and returns its
    /// result as a Python value.
    #[pyo3(signature = (*args))]
    fn __call__(&self, py: Python<'_>, args: &Bound<'_, PyTuple>) -> PyResult<Py<PyAny>> {
        let values = self.values(args)?;
        let function = self.current(py)?;
        let result = py.detach(|| function.call_values(&values)).map_err(errors::from_host)?;
        Ok(convert::from_json(py, &result)?.unbind())
    }

    /// Calls the closure once per input, on every core (or `jobs` threads),
    /// and returns the results in input order. An input is the argument of
    /// a one-parameter closure, else a tuple of the arguments. The first
    /// input that fails raises its exception, naming the input.
    #[pyo3(signature = (inputs, *, jobs = None))]
    fn map(&self, py: Python<'_>, inputs: &Bound<'_, PyAny>, jobs: Option<usize>) -> PyResult<Py<PyList>> {
        let single = self.as_loaded().manifest().signature.params.len() == 1;
        let mut lines = Vec::new();
        for (n, item) in inputs.try_iter()?.enumerate() {
            let item = item?;
            let args = if single {
                PyTuple::new(py, [item])?
            } else {
                item.cast_into::<PyTuple>().map_err(|_| {
                    bad_args(format!("input {n}: a closure of several parameters takes a tuple of them"))
                })?
            };
            let values = self.values(&args).map_err(|e| bad_args(format!("input {n}: {}", e.value(py))))?;
            let texts: Vec<&str> = values.iter().map(|v| v.get()).collect();
            lines.push(format!("[{}]", texts.join(",")));
        }
        let function = self.current(py)?;
        let host = hosts::host(py, self.options.fuel.is_some())?;
        let local = match jobs {
            Some(jobs) => Local::new(host).jobs(jobs),
            None => Local::new(host),
        };
        let outcomes = py
            .detach(move || {
                local.map_function(function, Box::new(lines.into_iter())).map(|outcomes| outcomes.collect::<Vec<_>>())
            })
            .map_err(errors::from_cluster)?;
        let mut results = Vec::with_capacity(outcomes.len());
        for (n, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(text) => results.push(convert::from_json(py, &text)?),
                Err(failure) => return Err(errors::raise(failure.kind, format!("input {n}: {}", failure.message))),
            }
        }
        Ok(PyList::new(py, results)?.unbind())
    }

    /// The closure's signature, as Rust writes it: `fn(own_arg: i64) -> i64`.
    #[getter]
    fn signature(&self) -> String {
        self.as_loaded().signature_text()
    }

    /// Who made the closure: `closure_maker(3)`, or `adder(3)(4)` for a
    /// returned closure.
    #[getter]
    fn made_by(&self) -> String {
        self.as_loaded().manifest().source.to_string()
    }

    /// The captured state and globals, as Python values:
    /// `{"captures": {...}, "globals": {...}}`.
    fn describe<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let function = self.current(py)?;
        let state = py.detach(|| function.describe()).map_err(errors::from_host)?;
        let described = PyDict::new(py);
        described.set_item("captures", convert::from_json(py, &state.captures)?)?;
        described.set_item("globals", convert::from_json(py, &state.globals)?)?;
        Ok(described.into_any())
    }

    /// The package's bytes: the full package (its module inside), or with
    /// `thin=True` one that names its module by SHA-256, for receivers that
    /// already have it.
    #[pyo3(signature = (*, thin = false))]
    fn package<'py>(&self, py: Python<'py>, thin: bool) -> PyResult<Bound<'py, PyBytes>> {
        let function = self.as_loaded();
        let verified = function.package();
        let wanted = if thin { Form::Thin } else { Form::Full };
        if verified.form() == wanted && verified.signer().is_none() {
            return Ok(self.bytes.bind(py).clone());
        }
        if !thin && verified.module().is_none() {
            return Err(bad_args("this function was loaded from a thin package: its full package needs its module"));
        }
        let package = VerifiedPackage::from_bytes(self.bytes.as_bytes(py)).map_err(|e| errors::from_host(e.into()))?;
        Ok(PyBytes::new(py, &package.into_package().encode_as(wanted, None)))
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let restore = py.import("shipfn._shipfn")?.getattr("_restore")?;
        let o = &self.options;
        let trust: Vec<Bound<'py, PyBytes>> = o.trust_bytes().iter().map(|k| PyBytes::new(py, k)).collect();
        let args = (self.bytes.bind(py), o.timeout, o.max_memory, o.fuel, trust).into_pyobject(py)?;
        Ok((restore, args))
    }

    fn __repr__(&self) -> String {
        format!("<shipfn.Function {} made by {}>", self.as_loaded().signature_text(), self.made_by())
    }
}

/// Loads `bytes` under `options` on this process's host, without the GIL.
fn load_on_host(py: Python<'_>, bytes: &[u8], options: &Options) -> PyResult<shipfn_host::Function> {
    let host = hosts::host(py, options.fuel.is_some())?;
    py.detach(|| {
        let loaded = if options.trust.is_empty() { host.load(bytes) } else { host.load_trusted(bytes, &options.trust) };
        loaded.and_then(|f| f.with_limits(options.limits()))
    })
    .map_err(errors::from_host)
}

/// The bytes of a package or module given as a path or as bytes.
fn read_source(py: Python<'_>, source: &Bound<'_, PyAny>, what: &str) -> PyResult<Py<PyBytes>> {
    if let Ok(b) = source.cast::<PyBytes>() {
        return Ok(b.clone().unbind());
    }
    if let Ok(b) = source.cast::<PyByteArray>() {
        return Ok(PyBytes::new(py, &b.to_vec()).unbind());
    }
    let path: std::path::PathBuf =
        source.extract().map_err(|_| bad_args(format!("{what} is a path or bytes, not {}", source.get_type())))?;
    let data = std::fs::read(&path)?;
    Ok(PyBytes::new(py, &data).unbind())
}

/// Loads a package (a path or its bytes): checks it, compiles its module
/// (once per process, or once per machine through the disk cache) and
/// returns the function.
#[pyfunction]
#[pyo3(signature = (source, *, trust = None, timeout = None, max_memory = None, fuel = None))]
pub fn load(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    trust: Option<&Bound<'_, PyAny>>,
    timeout: Option<f64>,
    max_memory: Option<usize>,
    fuel: Option<u64>,
) -> PyResult<Function> {
    let options = Options::new(trust, timeout, max_memory, fuel)?;
    Function::load(py, read_source(py, source, "a package")?, options)
}

/// Runs the maker `maker` of a guest module (a path or its bytes) with
/// Python arguments, as `shipfn pack --make` does, and returns the closure
/// it made.
#[pyfunction]
#[pyo3(signature = (module, maker, *args, timeout = None, max_memory = None, fuel = None))]
pub fn make(
    py: Python<'_>,
    module: &Bound<'_, PyAny>,
    maker: &str,
    args: &Bound<'_, PyTuple>,
    timeout: Option<f64>,
    max_memory: Option<usize>,
    fuel: Option<u64>,
) -> PyResult<Function> {
    let options = Options::new(None, timeout, max_memory, fuel)?;
    let wasm = read_source(py, module, "a module")?.as_bytes(py).to_vec();
    let texts = args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            convert::to_json(&a)
                .map(|v| v.get().to_owned())
                .map_err(|e| bad_args(format!("maker argument {}: {e}", i + 1)))
        })
        .collect::<PyResult<Vec<_>>>()?;
    let host = hosts::host(py, options.fuel.is_some())?;
    let bytes = py
        .detach(|| {
            let slim = shipfn_host::slim_module(&wasm, Keep::Nothing)?;
            let package = host.make(&slim, maker, &texts)?;
            // A thin package of it can be loaded here: the store keeps the module.
            if host.module_store().is_some() {
                host.add_module(&package.module)?;
            }
            Ok::<_, shipfn_host::Error>(package.to_bytes())
        })
        .map_err(errors::from_host)?;
    Function::load(py, PyBytes::new(py, &bytes).unbind(), options)
}

/// Unpickles a function: `Function.__reduce__` names it.
#[pyfunction]
pub fn _restore(
    py: Python<'_>,
    bytes: Py<PyBytes>,
    timeout: Option<f64>,
    max_memory: Option<usize>,
    fuel: Option<u64>,
    trust: Vec<Vec<u8>>,
) -> PyResult<Function> {
    let keys = PyList::new(py, trust.iter().map(|k| PyBytes::new(py, k)))?;
    let options = Options::new(Some(keys.as_any()), timeout, max_memory, fuel)?;
    Function::load(py, bytes, options)
}
