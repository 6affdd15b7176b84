//! One host per process (two: one meters fuel), made on first use, with
//! the same on-disk cache of compiled modules as the `shipfn` command: a
//! module is compiled once per process, or once per machine. Each function
//! then runs under its own limits.

use std::sync::OnceLock;

use pyo3::PyResult;
use shipfn_host::{Host, Limits};

use crate::errors;

/// The most memory any function of this process may be given: all of
/// wasm32's.
const MAX_MEMORY: usize = 4 << 30;

static PLAIN: OnceLock<Host> = OnceLock::new();
static METERED: OnceLock<Host> = OnceLock::new();

/// The process's host for functions with fuel (`metered`) or without.
pub fn host(metered: bool) -> PyResult<&'static Host> {
    let cell = if metered { &METERED } else { &PLAIN };
    if let Some(host) = cell.get() {
        return Ok(host);
    }
    let limits = Limits::default().max_memory(MAX_MEMORY).fuel(metered.then_some(u64::MAX));
    let builder = Host::builder().limits(limits);
    // The cache is a convenience: without a usable directory, go on without it.
    let host = match shipfn_host::default_cache_dir().map(|dir| builder.clone().cache_dir(dir).build()) {
        Some(Ok(host)) => host,
        _ => builder.build().map_err(errors::from_host)?,
    };
    Ok(cell.get_or_init(|| host))
}
