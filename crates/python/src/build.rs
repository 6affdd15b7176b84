//! `shipfn.build`: a guest crate built for wasm32 as `shipfn pack` builds
//! it (the same toolchain search and link settings), for the sender's side.

use std::path::PathBuf;

use pyo3::prelude::*;
use shipfn_build::{BuildOptions, Toolchain};

use crate::errors;

/// Builds the guest crate in `crate_dir` for wasm32, as `shipfn pack` does,
/// and returns the path of its module. Needs Rust and a wasm32 toolchain
/// (`scripts/setup.sh` installs one); `target_dir` is cargo's.
#[pyfunction]
#[pyo3(signature = (crate_dir, *, target_dir = None))]
pub fn build(py: Python<'_>, crate_dir: PathBuf, target_dir: Option<PathBuf>) -> PyResult<PathBuf> {
    let failed = |e: shipfn_build::BuildError| errors::raise(shipfn_host::ErrorKind::Internal, e.to_string());
    py.detach(|| {
        let toolchain = Toolchain::detect().map_err(failed)?;
        let options = BuildOptions { target_dir, quiet: true, ..Default::default() };
        shipfn_build::build(&crate_dir, &toolchain, &options).map_err(failed)
    })
}
