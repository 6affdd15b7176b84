//! What one call may use.

use std::time::Duration;

/// Limits applied to every call (and to every maker run when packing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock time for one call, enforced by epoch interruption.
    pub timeout: Duration,
    /// Most bytes of linear memory an instance may have.
    pub max_memory: usize,
    /// Fuel (roughly, wasm instructions) per call; `None` for no fuel metering.
    pub fuel: Option<u64>,
    /// Most bytes a result may take.
    pub max_result: usize,
    /// Most bytes of native stack wasm code may use.
    pub max_stack: usize,
    /// Most instances alive at once (calls in flight, warm instances, and
    /// one per load while it validates): the size of the instance pool
    /// ([`InstanceStrategy::Pooling`](crate::InstanceStrategy::Pooling) only).
    /// A few finished fresh instances may wait for their store to be reused
    /// (at most a quarter of the pool); they give their slots back as soon as
    /// the pool is otherwise full, so they never make a call fail as busy.
    pub max_instances: u32,
    /// Most bytes a module may have; a larger one is refused before it is
    /// compiled.
    pub max_module_size: usize,
    /// Wall-clock time for compiling one module. A module that is not
    /// compiled by then is refused with [`Error::CompileTimeout`](crate::Error::CompileTimeout);
    /// the compiler's thread finishes in the background (compiling cannot be
    /// interrupted), which the shape checks made before compiling keep short.
    pub compile_timeout: Duration,
}

impl Default for Limits {
    /// 10 s, 1 GiB of memory, no fuel, 64 MiB results, 1 MiB of stack,
    /// 128 instances at once, 32 MiB modules compiled within 30 s.
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            max_memory: 1 << 30,
            fuel: None,
            max_result: 64 << 20,
            max_stack: 1 << 20,
            max_instances: 128,
            max_module_size: 32 << 20,
            compile_timeout: Duration::from_secs(30),
        }
    }
}
