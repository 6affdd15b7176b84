//! The host: one wasmtime engine, its limits, and the clock that enforces
//! time limits.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use shipfn_abi::{ABI_BLOCK_EXPORT, ALLOC_EXPORT, CALL_EXPORT};
use shipfn_format::{Hash, Package, PublicKey, sha256};
use wasmtime::{
    Config, Enabled, Engine, ExternType, InstanceAllocationStrategy, Module, PoolingAllocationConfig, Store, Strategy,
    ValType, WasmFeatures,
};

use crate::cache::DiskCache;
use crate::function::Function;
use crate::instance::Limiter;
use crate::{Error, Limits, Result};

/// How often the epoch advances; time limits are exact to about this much.
pub(crate) const TICK: Duration = Duration::from_millis(5);

/// Loads and runs packages. Configure once, share across threads; clones
/// share one engine.
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
    engine: Engine,
    limits: Limits,
    /// Compiled modules by the SHA-256 of their bytes.
    modules: Mutex<HashMap<Hash, Module>>,
    /// Compiled modules on disk, if configured.
    disk: Option<DiskCache>,
    /// Stores whose instances have all finished, kept to host the next fresh
    /// instances (pooled hosts only); see [`Host::spare_store`].
    spares: Mutex<Vec<Spare>>,
    /// At most this many spare stores are kept.
    max_spares: usize,
    /// A store hosts at most this many instances before it is dropped.
    instances_per_store: u32,
}

/// A store whose `hosted` instances have all finished.
pub(crate) struct Spare {
    pub store: Store<Limiter>,
    pub hosted: u32,
}

/// Which wasmtime compiler turns modules into native code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compiler {
    /// Cranelift, the optimizing compiler: the fastest code, for hosts that
    /// call a module many times. The default.
    #[default]
    Cranelift,
    /// Winch, the baseline compiler: compiles several times faster and runs
    /// slower code. For one-shot runs (the `shipfn` CLI on x86-64), where
    /// compiling dominates. x86-64 only.
    Winch,
}

impl Compiler {
    /// The compiler for one-shot runs here: Winch where it is available,
    /// Cranelift elsewhere.
    pub fn quick_start() -> Compiler {
        if cfg!(target_arch = "x86_64") { Compiler::Winch } else { Compiler::Cranelift }
    }
}

/// Where instances' memories and tables come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InstanceStrategy {
    /// A pool of [`Limits::max_instances`] slots reserved when the host is
    /// built and recycled between instances: a fresh instance costs a few
    /// microseconds. For hosts that make many calls. The default.
    #[default]
    Pooling,
    /// Memory mapped for each instance and unmapped after it: nothing is
    /// reserved up front, so the host starts faster, but each instance costs
    /// more, and [`Limits::max_instances`] does not apply. For one-shot runs
    /// such as the `shipfn` CLI.
    OnDemand,
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
    pub fn build(self) -> Result<Host> {
        Host::build(self)
    }
}

/// Bytes of each pooled memory kept mapped between instances, when the
/// kernel can tell which of them were dirtied.
const KEEP_RESIDENT: usize = 4 << 20;

/// Bytes of each pooled table kept mapped between instances: a table of up
/// to 512 entries fits one page, which is then zeroed in place, cheaper than
/// asking the kernel which of its pages are dirty.
const TABLE_KEEP_RESIDENT: usize = 4 << 10;

/// Fresh instances one store hosts before it is dropped, on a pool large
/// enough: reusing a store spreads its setup and teardown over several
/// instances; more than a few gains no more and holds more pool slots.
const INSTANCES_PER_STORE: u32 = 4;

/// The WebAssembly proposals a module may use: those of WebAssembly 2.0
/// that Rust's `wasm32-unknown-unknown` target uses. Refused: several
/// memories (the memory limit is per memory), SIMD (Winch compiles only part
/// of it, so a package could run under one compiler and not the other),
/// relaxed SIMD (its results differ between machines), `externref` (Winch
/// has no GC types), threads, memory64, tail calls, GC, exceptions and the
/// other post-2.0 proposals.
const GUEST_FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::FLOATS)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::BULK_MEMORY_OPT)
    .union(WasmFeatures::CALL_INDIRECT_OVERLONG)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::MULTI_VALUE);

/// Most compiled modules kept in memory; past it, one is dropped per insert.
const MODULE_CACHE_CAPACITY: usize = 64;

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

    fn build(HostBuilder { limits, cache_dir, compiler, instances }: HostBuilder) -> Result<Host> {
        let mut config = Config::new();
        if compiler == Compiler::Winch {
            config.strategy(Strategy::Winch);
        }
        config.epoch_interruption(true).consume_fuel(limits.fuel.is_some()).max_wasm_stack(limits.max_stack);
        // Only the proposals Rust guests use, and the same set under both
        // compilers, so a package that runs on one host runs on every host.
        config.wasm_features(WasmFeatures::all().difference(GUEST_FEATURES), false).wasm_features(GUEST_FEATURES, true);
        if instances == InstanceStrategy::Pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(&limits)));
        }
        let engine = Engine::new(&config).map_err(|e| Error::Internal(format!("cannot configure wasmtime: {e}")))?;
        let disk = match cache_dir {
            Some(dir) => Some(
                DiskCache::open(&dir, &engine)
                    .map_err(|e| Error::Internal(format!("cannot use the cache directory {}: {e}", dir.display())))?,
            ),
            None => None,
        };
        // Store reuse holds finished instances' pool slots until their store
        // is dropped: keep that to a quarter of the pool at most.
        let max_spares = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 16);
        let instances_per_store = match instances {
            InstanceStrategy::Pooling => {
                (limits.max_instances as usize / (4 * max_spares)).clamp(1, INSTANCES_PER_STORE as usize) as u32
            }
            // An on-demand instance's memory is unmapped only when its store
            // is dropped: one instance per store.
            InstanceStrategy::OnDemand => 1,
        };
        let inner = Arc::new(Inner {
            engine,
            limits,
            modules: Mutex::new(HashMap::new()),
            disk,
            spares: Mutex::new(Vec::new()),
            max_spares,
            instances_per_store,
        });
        spawn_ticker(Arc::downgrade(&inner))?;
        Ok(Host { inner })
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub(crate) fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// A store to host a fresh instance: a spare one if there is one.
    ///
    /// Instances of one store are as isolated from each other as instances
    /// of different stores (each has its own memory, table and globals); what
    /// a store adds is setup, module registration and teardown, which reuse
    /// spreads over several instances. Finished instances keep their pool
    /// slots until their store is dropped, so reuse is bounded by
    /// `instances_per_store` and `max_spares`.
    pub(crate) fn spare_store(&self) -> Option<Spare> {
        self.inner.spares.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Keeps `store`, whose instances have all finished, for the next fresh
    /// instance, unless it has hosted its share or enough stores are kept.
    pub(crate) fn keep_spare(&self, spare: Spare) {
        if spare.hosted >= self.inner.instances_per_store {
            return;
        }
        let mut spares = self.inner.spares.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() < self.inner.max_spares {
            spares.push(spare);
        }
    }

    /// Drops every spare store, giving their finished instances' slots back
    /// to the pool; whether there were any.
    pub(crate) fn drop_spares(&self) -> bool {
        let spares = std::mem::take(&mut *self.inner.spares.lock().unwrap_or_else(|e| e.into_inner()));
        !spares.is_empty()
    }

    /// Verifies a package and compiles its module, ready to call.
    ///
    /// A signed package's signature is verified too, but any signer (or
    /// none) is accepted; see [`load_trusted`](Host::load_trusted).
    pub fn load(&self, bytes: &[u8]) -> Result<Function> {
        self.load_package(Package::from_bytes(bytes)?)
    }

    /// Like [`load`](Host::load), but refuses, before compiling anything, a
    /// package that is not signed by one of `trusted`.
    pub fn load_trusted(&self, bytes: &[u8], trusted: &[PublicKey]) -> Result<Function> {
        self.load_trusted_package(Package::from_bytes(bytes)?, trusted)
    }

    /// [`load`](Host::load) for a package already read and verified, e.g.
    /// by [`Package::from_vec`], which keeps a large state in the file's own
    /// buffer instead of copying it.
    pub fn load_package(&self, package: Package) -> Result<Function> {
        let module = self.compile_hashed(&package.module, package.manifest.module_sha256)?;
        Function::new(self.clone(), &module, package)
    }

    /// [`load_trusted`](Host::load_trusted) for a package already read and verified.
    pub fn load_trusted_package(&self, package: Package, trusted: &[PublicKey]) -> Result<Function> {
        match &package.signer {
            None => return Err(Error::Untrusted("the package is not signed".into())),
            Some(key) if !trusted.contains(key) => {
                return Err(Error::Untrusted(format!("the package is signed by {key}, which is not a trusted key")));
            }
            Some(_) => {}
        }
        self.load_package(package)
    }

    /// Compiles a module and checks that it is a shipfn guest that imports nothing.
    pub(crate) fn compile(&self, wasm: &[u8]) -> Result<Module> {
        self.compile_hashed(wasm, sha256(wasm))
    }

    /// [`compile`](Host::compile) for bytes whose SHA-256 is known, once per
    /// distinct module: later calls get the cached module.
    pub(crate) fn compile_hashed(&self, wasm: &[u8], hash: Hash) -> Result<Module> {
        let cache = || self.inner.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(module) = cache().get(&hash) {
            return Ok(module.clone());
        }
        let disk = self.inner.disk.as_ref();
        let module = match disk.and_then(|d| d.get(self.engine(), &hash)) {
            Some(module) => module,
            None => {
                crate::screen::screen_module(wasm, self.limits())?;
                let module = self.compile_with_deadline(wasm)?;
                if let Some(disk) = disk {
                    disk.put(&hash, &module);
                }
                module
            }
        };
        if let Some(import) = module.imports().next() {
            return Err(Error::ForbiddenImport { module: import.module().into(), name: import.name().into() });
        }
        check_abi_exports(&module)?;
        let mut cache = cache();
        if cache.len() >= MODULE_CACHE_CAPACITY {
            let victim = *cache.keys().next().expect("the cache is not empty");
            cache.remove(&victim);
        }
        cache.insert(hash, module.clone());
        Ok(module)
    }
}

impl Host {
    /// Compiles `wasm` on a thread of its own and waits for it at most
    /// [`Limits::compile_timeout`]. Compiling cannot be interrupted: past the
    /// deadline the thread is left to finish in the background, its result
    /// dropped; the shape checks made before compiling keep that short.
    fn compile_with_deadline(&self, wasm: &[u8]) -> Result<Module> {
        let (engine, bytes) = (self.engine().clone(), wasm.to_vec());
        let (done, result) = std::sync::mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("shipfn-compile".into())
            .spawn(move || {
                let module = Module::new(&engine, &bytes).map_err(|e| Error::InvalidModule(format!("{e:#}")));
                let _ = done.send(module);
            })
            .map_err(|e| Error::Internal(format!("cannot start a compiler thread: {e}")))?;
        let timeout = self.limits().compile_timeout;
        match result.recv_timeout(timeout) {
            Ok(module) => module,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::CompileTimeout(timeout)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                Err(Error::Internal("the compiler thread panicked".into()))
            }
        }
    }
}

/// The pool: instantiation is a few page-table operations, and memories
/// start from the module's copy-on-write image. On reuse, a slot's dirty
/// pages (found with PAGEMAP_SCAN where the kernel has it) are reset in place
/// instead of being unmapped, so the next instance does not fault them back
/// in. Without PAGEMAP_SCAN, keeping memory resident means a memset of all of
/// it per instance, so keep little.
fn pool_config(limits: &Limits) -> PoolingAllocationConfig {
    let keep_resident = if PoolingAllocationConfig::is_pagemap_scan_available() { KEEP_RESIDENT } else { 64 << 10 };
    let mut pool = PoolingAllocationConfig::new();
    pool.total_core_instances(limits.max_instances)
        .total_memories(limits.max_instances)
        .total_tables(limits.max_instances)
        .max_memory_size(limits.max_memory)
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(keep_resident)
        .table_keep_resident(TABLE_KEEP_RESIDENT);
    pool
}

fn check_abi_exports(module: &Module) -> Result<()> {
    let missing = |what: String| Err(Error::NotAGuest(what));
    match module.get_export("memory") {
        Some(ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
        _ => return missing("it exports no 32-bit `memory`".into()),
    }
    match module.get_export(ABI_BLOCK_EXPORT) {
        Some(ExternType::Global(g)) if matches!(g.content(), ValType::I32) => {}
        _ => return missing(format!("it exports no i32 global `{ABI_BLOCK_EXPORT}`")),
    }
    for name in [ALLOC_EXPORT, CALL_EXPORT] {
        match module.get_export(name) {
            Some(ExternType::Func(f))
                if f.params().map(|p| matches!(p, ValType::I32)).eq([true])
                    && f.results().map(|p| matches!(p, ValType::I32)).eq([true]) => {}
            _ => return missing(format!("it exports no function `{name}(i32) -> i32`")),
        }
    }
    Ok(())
}

/// Advances the engine's epoch every [`TICK`] until the last clone of the
/// host (and every function loaded from it) is gone.
fn spawn_ticker(host: Weak<Inner>) -> Result<()> {
    std::thread::Builder::new()
        .name("shipfn-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match host.upgrade() {
                    Some(inner) => inner.engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::Internal(format!("cannot start the epoch thread: {e}")))
}
