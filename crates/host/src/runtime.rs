//! The lowest layer: one wasmtime engine configured for shipfn guests, the
//! limits its calls run under, and the clock that enforces time limits.
//! Everything else in the crate is built on a [`Runtime`]; it knows nothing
//! of modules, packages or pools.

use std::sync::{Arc, Weak};
use std::time::Duration;

use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store, Strategy,
    WasmFeatures,
};

use crate::{Error, Limits, Result};

/// How often the epoch advances; time limits are exact to about this much.
const TICK: Duration = Duration::from_millis(5);

/// Which wasmtime compiler turns modules into native code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
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
#[non_exhaustive]
pub enum InstanceStrategy {
    /// A pool of [`Limits::max_instances`] slots reserved when the host is
    /// built and recycled between instances: a fresh instance costs a few
    /// microseconds. For hosts that make many calls. The default.
    #[default]
    Pooling,
    /// Memory mapped for each instance and unmapped after it: nothing is
    /// reserved up front, so the host starts faster, but each instance costs
    /// more. [`Limits::max_instances`] still bounds the instances alive at
    /// once. For one-shot runs such as the `shipfn` CLI.
    OnDemand,
}

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

/// Bytes of each pooled memory kept mapped between instances, when the
/// kernel can tell which of them were dirtied.
const KEEP_RESIDENT: usize = 4 << 20;

/// Bytes of each pooled table kept mapped between instances: a table of up
/// to 512 entries fits one page, which is then zeroed in place, cheaper than
/// asking the kernel which of its pages are dirty.
const TABLE_KEEP_RESIDENT: usize = 4 << 10;

/// An engine and the limits of every call on it. Cheap to clone; the epoch
/// clock stops when the last clone is dropped.
#[derive(Clone)]
pub(crate) struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    limits: Limits,
    strategy: InstanceStrategy,
}

impl Runtime {
    /// An engine for shipfn guests: only the proposals Rust guests use (the
    /// same set under both compilers, so a package that runs on one host runs
    /// on every host), epoch interruption, fuel if the limits ask for it, and
    /// instances from a pool or mapped on demand, functions compiled on
    /// several threads if `parallel`.
    pub fn new(limits: Limits, compiler: Compiler, strategy: InstanceStrategy, parallel: bool) -> Result<Runtime> {
        let mut config = Config::new();
        config.parallel_compilation(parallel);
        if compiler == Compiler::Winch {
            config.strategy(Strategy::Winch);
        }
        config.epoch_interruption(true).consume_fuel(limits.fuel.is_some()).max_wasm_stack(limits.max_stack);
        config.wasm_features(WasmFeatures::all().difference(GUEST_FEATURES), false).wasm_features(GUEST_FEATURES, true);
        if strategy == InstanceStrategy::Pooling {
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(&limits)));
        }
        let engine = Engine::new(&config).map_err(|e| Error::internal("cannot configure wasmtime", e))?;
        let inner = Arc::new(Inner { engine, limits, strategy });
        spawn_ticker(Arc::downgrade(&inner))?;
        Ok(Runtime { inner })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn strategy(&self) -> InstanceStrategy {
        self.inner.strategy
    }

    /// A store for instances under `limits` (at most this runtime's).
    pub fn new_store(&self, limits: &Limits) -> Store<Limiter> {
        let mut store = Store::new(self.engine(), Limiter { max_memory: limits.max_memory, refused: None });
        store.limiter(|l| l);
        store.epoch_deadline_trap();
        store
    }
}

/// Sets the time limit and fuel of `limits` for the next call in `store`,
/// and forgets earlier refusals.
pub(crate) fn arm(store: &mut Store<Limiter>, limits: &Limits) -> Result<()> {
    // A limit past what the epoch counter can reach is no limit (not a wrap).
    let ticks =
        u64::try_from(limits.timeout.as_nanos().div_ceil(TICK.as_nanos())).unwrap_or(u64::MAX / 2).min(u64::MAX / 2)
            + 1;
    store.set_epoch_deadline(ticks);
    let limiter = store.data_mut();
    limiter.refused = None;
    limiter.max_memory = limits.max_memory;
    if let Some(fuel) = limits.fuel {
        store.set_fuel(fuel).map_err(|e| Error::internal("cannot set fuel", e))?;
    }
    Ok(())
}

/// Enforces the memory limit and remembers why growth was refused.
pub(crate) struct Limiter {
    max_memory: usize,
    refused: Option<usize>,
}

impl Limiter {
    /// The size a memory asked to grow to when the limit refused it, since
    /// the last [`arm`].
    pub fn refused(&self) -> Option<usize> {
        self.refused
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
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

/// Advances the engine's epoch every [`TICK`] until the last clone of the
/// runtime is gone.
fn spawn_ticker(runtime: Weak<Inner>) -> Result<()> {
    std::thread::Builder::new()
        .name("shipfn-epoch".into())
        .spawn(move || {
            loop {
                std::thread::sleep(TICK);
                match runtime.upgrade() {
                    Some(inner) => inner.engine.increment_epoch(),
                    None => break,
                }
            }
        })
        .map(drop)
        .map_err(|e| Error::internal("cannot start the epoch thread", e))
}
