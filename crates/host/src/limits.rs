//! What one call may use.

use std::time::Duration;

/// Limits applied to every call (and to every maker run when packing).
///
/// Start from [`Limits::default`] and change what you need; new limits may
/// be added in later versions, each with a default.
///
/// ```
/// use shipfn_host::Limits;
/// use std::time::Duration;
///
/// let limits = Limits::default().timeout(Duration::from_secs(2)).max_memory(64 << 20);
/// assert_eq!(limits.timeout, Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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
    /// one per load while it validates); one more fails with
    /// [`Error::Busy`](crate::Error::Busy). With
    /// [`InstanceStrategy::Pooling`](crate::InstanceStrategy::Pooling) it is
    /// the size of the pool, and a few finished fresh instances may wait for
    /// their store to be reused (at most a quarter of the pool); they give
    /// their slots back as soon as the pool is otherwise full, so they never
    /// make a call fail as busy.
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

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident: $ty:ty),* $(,)?) => {
        impl Limits {
            $(
                $(#[$doc])*
                #[must_use]
                pub fn $name(mut self, $name: $ty) -> Self {
                    self.$name = $name;
                    self
                }
            )*
        }
    };
}

setters! {
    /// Sets [`timeout`](Limits#structfield.timeout).
    timeout: Duration,
    /// Sets [`max_memory`](Limits#structfield.max_memory).
    max_memory: usize,
    /// Sets [`fuel`](Limits#structfield.fuel).
    fuel: Option<u64>,
    /// Sets [`max_result`](Limits#structfield.max_result).
    max_result: usize,
    /// Sets [`max_stack`](Limits#structfield.max_stack).
    max_stack: usize,
    /// Sets [`max_instances`](Limits#structfield.max_instances).
    max_instances: u32,
    /// Sets [`max_module_size`](Limits#structfield.max_module_size).
    max_module_size: usize,
    /// Sets [`compile_timeout`](Limits#structfield.compile_timeout).
    compile_timeout: Duration,
}

impl Limits {
    /// Refuses limits for one function that a host built with `host`
    /// cannot enforce: the stack, memory and instance limits are fixed when
    /// the host's engine and pool are made, and so is whether fuel is
    /// metered.
    pub(crate) fn check_within(&self, host: &Limits) -> crate::Result<()> {
        let refuse = |what: String| Err(crate::Error::InvalidLimits(what));
        if self.max_memory > host.max_memory {
            return refuse(format!("max_memory {} is above the host's {}", self.max_memory, host.max_memory));
        }
        if self.max_stack != host.max_stack {
            return refuse(format!("max_stack is fixed by the host ({})", host.max_stack));
        }
        if self.max_instances != host.max_instances {
            return refuse(format!("max_instances is fixed by the host ({})", host.max_instances));
        }
        if self.fuel.is_some() != host.fuel.is_some() {
            let host_fuel = if host.fuel.is_some() { "meters fuel" } else { "does not meter fuel" };
            return refuse(format!("a function meters fuel exactly when its host does, and this host {host_fuel}"));
        }
        Ok(())
    }
}
