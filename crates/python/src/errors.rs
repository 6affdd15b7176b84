//! Host errors as the `shipfn` package's exception classes, which its
//! `__init__.py` defines (`BadArgs` is also a `TypeError`, which a native
//! exception type cannot be as well as a `shipfn.Error`).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;
use shipfn_host::ErrorKind;

/// The class of `kind` in the `shipfn` package.
fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::BadPackage => "BadPackage",
        ErrorKind::Untrusted => "Untrusted",
        ErrorKind::BadArgs => "BadArgs",
        ErrorKind::GuestError => "GuestError",
        ErrorKind::Trap => "Trap",
        ErrorKind::Timeout => "Timeout",
        ErrorKind::ResourceLimit => "ResourceLimit",
        _ => "Error",
    }
}

/// An exception of `kind`'s class with `message`.
pub fn raise(kind: ErrorKind, message: String) -> PyErr {
    Python::attach(|py| {
        let class = py
            .import("shipfn")
            .and_then(|m| m.getattr(class_name(kind)))
            .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
        match class {
            Ok(class) => PyErr::from_type(class, message),
            // Only if the package itself is broken.
            Err(_) => PyRuntimeError::new_err(message),
        }
    })
}

/// A host error as its exception.
pub fn from_host(error: shipfn_host::Error) -> PyErr {
    raise(error.kind(), error.report())
}

/// Wrong arguments: `shipfn.BadArgs`, a `TypeError`.
pub fn bad_args(message: impl Into<String>) -> PyErr {
    raise(ErrorKind::BadArgs, message.into())
}

/// A map failure (which carries its host error's kind) as its exception.
pub fn from_cluster(error: shipfn_cluster::Error) -> PyErr {
    match error {
        shipfn_cluster::Error::Host(e) => from_host(e),
        other => raise(ErrorKind::Internal, other.to_string()),
    }
}
