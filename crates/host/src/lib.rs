//! Load `.fnpkg` packages and call the closures inside them, sandboxed by
//! wasmtime; and, on the sender, run guest makers to pack closures.
//!
//! ```
//! use shipfn_host::{Host, Limits};
//! use std::time::Duration;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = Host::new(Limits::default().timeout(Duration::from_secs(2)))?;
//!
//! // Receiver: verify, compile, validate; then call, on a fresh instance each time.
//! let bytes = include_bytes!("../../../tests/golden/seed-v1.fnpkg"); // closure_maker(3)
//! let function = host.load(bytes)?;
//! assert_eq!(function.signature_text(), "fn(own_arg: i64) -> i64");
//! assert_eq!(function.call_json(&["4".into()])?, "10");
//! assert_eq!(function.call::<(i64,), i64>(&(4,))?, 10);
//!
//! // Many calls on one reused instance.
//! let mut warm = function.warm();
//! for x in 0..100 {
//!     assert_eq!(warm.call::<(i64,), i64>(&(x,))?, x + 6);
//! }
//!
//! // Errors say what class they are.
//! let err = function.call_json(&["four".into()]).unwrap_err();
//! assert_eq!(err.kind(), shipfn_host::ErrorKind::BadArgs);
//! # Ok(()) }
//! ```
//!
//! The sender's side runs a maker of a guest module in the same sandbox:
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let host = shipfn_host::Host::new(Default::default())?;
//! let wasm = std::fs::read("target/wasm32-unknown-unknown/release/closure.wasm")?;
//! let bytes = host.make(&wasm, "closure_maker", &["3".into()])?.to_bytes();
//! std::fs::write("closure.fnpkg", bytes)?;
//! # Ok(()) }
//! ```
//!
//! # Concepts
//!
//! - A [`Host`] owns one wasmtime engine configured with the [`Limits`] every
//!   call runs under: a time limit (epoch interruption), a memory limit,
//!   optional fuel, a result-size limit and a stack limit. It is cheap to clone
//!   and can be shared across threads.
//! - [`Host::builder`] also picks the compiler ([`Compiler::Cranelift`] for
//!   fast code, [`Compiler::Winch`] for fast compiles), where instances come
//!   from ([`InstanceStrategy::Pooling`] for many calls,
//!   [`InstanceStrategy::OnDemand`] for a process that makes one), and an
//!   on-disk cache of compiled modules.
//! - [`Host::load`] verifies a package (see `shipfn-format`), compiles its
//!   module and refuses any module that imports anything: shipped code gets
//!   no WASI and no host functions. It returns a [`Function`].
//! - Each call of a [`Function`] runs in a fresh instance: the closure's state
//!   is written into the instance's linear memory once, the guest finds it
//!   through the ABI block that its `SHIPFN_ABI` global points at, and the
//!   call goes through the module's function table.
//! - Every failure is an [`Error`] whose [`ErrorKind`] says what class it is
//!   (bad package, bad arguments, guest error, trap, timeout, resource limit).
//!   A guest that fails never takes the host down.
#![deny(missing_docs)]

mod cache;
mod convert;
mod error;
mod fault;
mod function;
mod host;
mod instance;
mod json;
mod limits;
mod module;
mod modules;
mod pack;
mod private;
mod reach;
mod runtime;
mod screen;
mod shape;
mod shipped;
mod slim;
mod store;
mod stores;
mod structure;
mod type_names;
mod typed;

#[cfg(test)]
mod tests;

pub use error::{Error, ErrorKind, Result, Source as ErrorSource};
pub use function::{Function, VALIDATE_STATE_UP_TO, Warm};
pub use host::{Host, HostBuilder, default_cache_dir};
pub use limits::Limits;
pub use modules::ModuleCounts;
pub use pack::{Catalog, Maker};
pub use runtime::{Compiler, InstanceStrategy};
pub use screen::screen_module;
pub use shipped::{CarriedGlobal, carried_globals};

/// The pack-time analysis of globals alone, for benchmarks: reads `wasm`'s
/// code and follows it from the table indices `roots` (every indirect call
/// by type); the number of functions reachable, and of all functions.
#[doc(hidden)]
pub fn __analyze(wasm: &[u8], roots: &[u32]) -> Result<(usize, usize)> {
    let map = reach::CodeMap::of(wasm)?;
    let reach = map.reachable(roots, None)?;
    Ok((reach.len(), map.functions()))
}
pub use shipfn_abi::schema::{Body, Container, Format, Schema};
pub use shipfn_abi::{Field, Signature, StateJson, short_type_name};
pub use shipfn_format::{
    Form, FormatError, Hash, Manifest, Package, PublicKey, SecretKey, Source, VerifiedPackage, sha256,
};
pub use slim::{Keep, slim_module};
pub use store::{DirModuleStore, ModuleStore, StoredModule};
pub use structure::type_declarations;
pub use typed::Params;

/// Entry points for the fuzzers in `crates/fuzz`. Not a public API.
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::json::PreparedArgs;
}
