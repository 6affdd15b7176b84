//! The host: a runtime, its stores and its modules, and the entry points
//! that load packages onto them.

use std::path::PathBuf;
use std::sync::Arc;

use shipfn_format::{PublicKey, VerifiedPackage};

use crate::cache::DiskCache;
use crate::function::Function;
use crate::module::GuestModule;
use crate::modules::Modules;
use crate::runtime::{Compiler, InstanceStrategy, Runtime};
use crate::stores::StorePool;
use crate::{Error, Limits, Result};

/// Loads and runs packages. Configure once, share across threads; clones
/// share one engine, one pool and one module cache.
///
/// ```no_run
/// # fn main() -> shipfn_host::Result<()> {
/// let host = shipfn_host::Host::new(shipfn_host::Limits::default())?;
/// let bytes = std::fs::read("closure.fnpkg").unwrap();
/// let function = host.load(&bytes)?;
/// assert_eq!(function.call_json(&["4".into()])?, "10");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    runtime: Runtime,
    stores: Arc<StorePool>,
    modules: Modules,
}

/// Configures a [`Host`]: its limits, compiler, instance strategy and
/// on-disk cache.
#[derive(Debug, Clone, Default)]
pub struct HostBuilder {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    compiler: Compiler,
    instances: InstanceStrategy,
}

impl HostBuilder {
    /// The limits every call runs under.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keep compiled modules in `dir` too, so that another process with the
    /// same settings loads them without compiling. Only artifacts written by a
    /// host that holds the directory's secret key are ever loaded.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Compile modules with `compiler` (default: Cranelift). Compiled code is
    /// cached per compiler.
    pub fn compiler(mut self, compiler: Compiler) -> Self {
        self.compiler = compiler;
        self
    }

    /// Get instances' memories and tables by `strategy` (default: a pool).
    pub fn instances(mut self, strategy: InstanceStrategy) -> Self {
        self.instances = strategy;
        self
    }

    /// Builds the host.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] if wasmtime refuses the configuration (a pool
    /// larger than the address space can hold), a thread cannot be started,
    /// or the cache directory cannot be used safely (see
    /// [`cache_dir`](HostBuilder::cache_dir)).
    pub fn build(self) -> Result<Host> {
        let HostBuilder { limits, cache_dir, compiler, instances } = self;
        let runtime = Runtime::new(limits, compiler, instances)?;
        let disk = match cache_dir {
            Some(dir) => Some(
                DiskCache::open(&dir, runtime.engine())
                    .map_err(|e| Error::internal(format!("cannot use the cache directory {}", dir.display()), e))?,
            ),
            None => None,
        };
        let stores = Arc::new(StorePool::new(&runtime));
        Ok(Host { inner: Arc::new(Inner { runtime, stores, modules: Modules::new(disk) }) })
    }
}

impl Host {
    /// A host whose calls run under `limits`, with the defaults otherwise:
    /// Cranelift, pooled instances, an in-memory module cache only.
    pub fn new(limits: Limits) -> Result<Host> {
        Host::builder().limits(limits).build()
    }

    /// Configures a host: limits, compiler, instances, an on-disk cache.
    pub fn builder() -> HostBuilder {
        HostBuilder::default()
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        self.inner.runtime.limits()
    }

    pub(crate) fn runtime(&self) -> &Runtime {
        &self.inner.runtime
    }

    pub(crate) fn stores(&self) -> &StorePool {
        &self.inner.stores
    }

    /// Verifies a package and compiles its module, ready to call.
    ///
    /// A signed package's signature is verified too, but any signer (or
    /// none) is accepted; see [`load_trusted`](Host::load_trusted).
    ///
    /// # Errors
    ///
    /// A [`FormatError`](crate::FormatError) for bytes that are not a valid
    /// package; [`Error::ModuleTooComplex`], [`Error::CompileTimeout`],
    /// [`Error::InvalidModule`], [`Error::ForbiddenImport`] or
    /// [`Error::NotAGuest`] for its module; [`Error::Abi`] if its closure
    /// does not fit its module.
    pub fn load(&self, bytes: &[u8]) -> Result<Function> {
        self.load_package(VerifiedPackage::from_bytes(bytes)?)
    }

    /// Like [`load`](Host::load), but refuses, before compiling anything, a
    /// package that is not signed by one of `trusted`.
    ///
    /// # Errors
    ///
    /// [`Error::Untrusted`] for a package that is unsigned or signed by
    /// another key; otherwise as [`load`](Host::load).
    pub fn load_trusted(&self, bytes: &[u8], trusted: &[PublicKey]) -> Result<Function> {
        self.load_trusted_package(VerifiedPackage::from_bytes(bytes)?, trusted)
    }

    /// [`load`](Host::load) for a package already read and verified, e.g.
    /// by [`VerifiedPackage::from_vec`], which keeps a large state in the
    /// file's own buffer instead of copying it.
    pub fn load_package(&self, package: VerifiedPackage) -> Result<Function> {
        let module = self.module(package.module(), package.manifest().module_sha256)?;
        Function::new(self.inner.runtime.clone(), self.inner.stores.clone(), module, package)
    }

    /// [`load_trusted`](Host::load_trusted) for a package already read and verified.
    pub fn load_trusted_package(&self, package: VerifiedPackage, trusted: &[PublicKey]) -> Result<Function> {
        match package.signer() {
            None => return Err(Error::Untrusted("the package is not signed".into())),
            Some(key) if !trusted.contains(key) => {
                return Err(Error::Untrusted(format!("the package is signed by {key}, which is not a trusted key")));
            }
            Some(_) => {}
        }
        self.load_package(package)
    }

    /// The checked guest module for `wasm`, whose SHA-256 is `sha256`:
    /// compiled once per host (or taken from the disk cache).
    pub(crate) fn module(&self, wasm: &[u8], sha256: shipfn_format::Hash) -> Result<GuestModule> {
        self.inner.modules.get(&self.inner.runtime, wasm, sha256)
    }
}
