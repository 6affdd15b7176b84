//! The host: a runtime, its stores and its modules, and the entry points
//! that load packages onto them.

use std::path::PathBuf;
use std::sync::Arc;

use shipfn_format::{Hash, PublicKey, VerifiedPackage, sha256};

use crate::cache::DiskCache;
use crate::function::Function;
use crate::module::GuestModule;
use crate::modules::{DEFAULT_BYTES, DEFAULT_CAPACITY, Modules};
use crate::runtime::{Compiler, InstanceStrategy, Runtime};
use crate::store::{DirModuleStore, ModuleStore};
use crate::stores::StorePool;
use crate::{Error, Limits, Result};

/// Loads and runs packages. Configure once, share across threads; clones
/// share one engine, one pool and one module cache.
///
/// A host belongs to the process that built it: a child forked from that
/// process has none of its threads (no epoch clock, so no timeouts), and
/// builds a host of its own, with
/// [`parallel_compilation(false)`](HostBuilder::parallel_compilation).
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
    /// Where the modules of thin packages come from, and where the modules
    /// of full packages are kept for them.
    module_store: Option<Arc<dyn ModuleStore>>,
}

/// Configures a [`Host`]: its limits, compiler, instance strategy and
/// on-disk cache.
#[derive(Clone)]
pub struct HostBuilder {
    limits: Limits,
    cache_dir: Option<PathBuf>,
    module_store: Option<Arc<dyn ModuleStore>>,
    compiler: Compiler,
    instances: InstanceStrategy,
    max_modules: usize,
    max_module_bytes: usize,
    parallel_compilation: bool,
}

impl Default for HostBuilder {
    fn default() -> Self {
        HostBuilder {
            limits: Limits::default(),
            cache_dir: None,
            module_store: None,
            compiler: Compiler::default(),
            instances: InstanceStrategy::default(),
            max_modules: DEFAULT_CAPACITY,
            max_module_bytes: DEFAULT_BYTES,
            parallel_compilation: true,
        }
    }
}

impl std::fmt::Debug for HostBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostBuilder")
            .field("limits", &self.limits)
            .field("cache_dir", &self.cache_dir)
            .field("module_store", &self.module_store.as_ref().map(|_| "dyn ModuleStore"))
            .field("compiler", &self.compiler)
            .field("instances", &self.instances)
            .field("max_modules", &self.max_modules)
            .field("max_module_bytes", &self.max_module_bytes)
            .field("parallel_compilation", &self.parallel_compilation)
            .finish()
    }
}

impl HostBuilder {
    /// The limits every call runs under.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Keep compiled modules in `dir` too, so that another process with the
    /// same settings loads them without compiling. Only artifacts written by a
    /// host that holds the directory's secret key are ever loaded. Unless
    /// [`module_store`](HostBuilder::module_store) says otherwise, modules
    /// are also kept by SHA-256 in `dir/modules` (a [`DirModuleStore`]), for
    /// thin packages.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Find the modules of thin packages in `store`, and keep there the
    /// module of every full package loaded.
    pub fn module_store(mut self, store: Arc<dyn ModuleStore>) -> Self {
        self.module_store = Some(store);
        self
    }

    /// Compile modules with `compiler` (default: Cranelift). Compiled code is
    /// cached per compiler.
    pub fn compiler(mut self, compiler: Compiler) -> Self {
        self.compiler = compiler;
        self
    }

    /// Keep at most `n` compiled modules in memory (default 64; at least
    /// one): past it, the least recently used is dropped (and compiled again,
    /// or read from the disk cache, if it is needed again). Functions already
    /// loaded keep their module alive.
    pub fn max_modules(mut self, n: usize) -> Self {
        self.max_modules = n;
        self
    }

    /// Keep at most `bytes` of compiled module images in memory (default
    /// 512 MiB), the least recently used dropped first, as with
    /// [`max_modules`](Self::max_modules).
    pub fn max_module_bytes(mut self, bytes: usize) -> Self {
        self.max_module_bytes = bytes;
        self
    }

    /// Get instances' memories and tables by `strategy` (default: a pool).
    pub fn instances(mut self, strategy: InstanceStrategy) -> Self {
        self.instances = strategy;
        self
    }

    /// Compile a module's functions on several threads (default: yes),
    /// through the process's shared thread pool. A process forked after that
    /// pool started (Python's `multiprocessing` on Linux, say) inherits it
    /// without its threads, where a parallel compile would never finish:
    /// there, build the host with `false`.
    pub fn parallel_compilation(mut self, parallel: bool) -> Self {
        self.parallel_compilation = parallel;
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
        let HostBuilder {
            limits,
            cache_dir,
            mut module_store,
            compiler,
            instances,
            max_modules,
            max_module_bytes,
            parallel_compilation,
        } = self;
        let runtime = Runtime::new(limits, compiler, instances, parallel_compilation)?;
        let refused =
            |dir: &std::path::Path, e| Error::internal(format!("cannot use the cache directory {}", dir.display()), e);
        let disk = match &cache_dir {
            Some(dir) => Some(DiskCache::open(dir, runtime.engine()).map_err(|e| refused(dir, e))?),
            None => None,
        };
        if let (None, Some(dir)) = (&module_store, &cache_dir) {
            let store = DirModuleStore::open(dir.join("modules")).map_err(|e| refused(dir, e))?;
            module_store = Some(Arc::new(store));
        }
        let stores = Arc::new(StorePool::new(&runtime));
        Ok(Host {
            inner: Arc::new(Inner {
                runtime,
                stores,
                modules: Modules::new(disk, max_modules, max_module_bytes),
                module_store,
            }),
        })
    }
}

/// Where a host keeps compiled modules unless told otherwise (the `shipfn`
/// command's and the Python package's default): `$SHIPFN_CACHE_DIR`, else
/// `shipfn` in the user's cache directory (`$XDG_CACHE_HOME` or `~/.cache`).
pub fn default_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("SHIPFN_CACHE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => Some(dir.into()),
        None => dirs::cache_dir().map(|d| d.join("shipfn")),
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
    ///
    /// A full package's module is kept in the module store, if the host has
    /// one; a thin package's module is taken from memory or from the store.
    ///
    /// # Errors
    ///
    /// As [`load`](Host::load); [`Error::ModuleMissing`] for a thin package
    /// whose module the host does not have.
    pub fn load_package(&self, package: VerifiedPackage) -> Result<Function> {
        let sha256 = package.manifest().module_sha256;
        let module = match (self.inner.modules.cached(&sha256), package.module()) {
            (Some(module), _) => module,
            (None, Some(wasm)) => {
                self.keep_module(&sha256, wasm);
                self.module(wasm, sha256)?
            }
            (None, None) => self.named_module(&sha256)?,
        };
        Function::new(self.inner.runtime.clone(), self.inner.stores.clone(), module, package)
    }

    /// Checks that `wasm` is a shipfn guest module (compiling it, so that
    /// later loads find it compiled) and keeps it in the module store, so
    /// that thin packages naming it load. Returns its SHA-256.
    ///
    /// # Errors
    ///
    /// As for the module of a package in [`load`](Host::load);
    /// [`Error::Internal`] if the host has no module store or the store
    /// fails.
    pub fn add_module(&self, wasm: &[u8]) -> Result<Hash> {
        let sha256 = sha256(wasm);
        self.module(wasm, sha256)?;
        let store =
            self.module_store().ok_or_else(|| Error::internal("adding a module", "the host has no module store"))?;
        store.put(&sha256, wasm).map_err(|e| Error::internal("writing to the module store", e))?;
        Ok(sha256)
    }

    /// How many modules this host has compiled, and read from its disk
    /// cache, since it was made.
    pub fn module_counts(&self) -> crate::ModuleCounts {
        self.inner.modules.counts()
    }

    /// How many compiled modules the host keeps in memory now.
    pub fn cached_modules(&self) -> usize {
        self.inner.modules.len()
    }

    /// Bytes of the compiled modules the host keeps in memory now.
    pub fn cached_module_bytes(&self) -> usize {
        self.inner.modules.bytes()
    }

    /// The module store, if the host has one.
    pub fn module_store(&self) -> Option<&dyn ModuleStore> {
        self.inner.module_store.as_deref()
    }

    /// Keeps a full package's module in the store, unless it is there:
    /// best effort, since the store only saves later thin loads a miss.
    fn keep_module(&self, sha256: &Hash, wasm: &[u8]) {
        if let Some(store) = self.module_store()
            && !store.contains(sha256).unwrap_or(true)
        {
            let _ = store.put(sha256, wasm);
        }
    }

    /// The module a thin package names, which is not in memory: read from
    /// the store and checked against its hash.
    fn named_module(&self, sha256: &Hash) -> Result<GuestModule> {
        let missing = |damaged| Error::ModuleMissing { sha256: hex::encode(sha256), damaged };
        let Some(store) = self.module_store() else { return Err(missing(false)) };
        let wasm = store.get(sha256).map_err(|e| Error::internal("reading the module store", e))?;
        let wasm = wasm.ok_or_else(|| missing(false))?;
        if shipfn_format::sha256(&wasm) != *sha256 {
            return Err(missing(true));
        }
        self.module(&wasm, *sha256)
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
