//! One host per process (two: one meters fuel), made on first use, with
//! the same on-disk cache of compiled modules as the `shipfn` command: a
//! module is compiled once per process, or once per machine. Each function
//! then runs under its own limits.
//!
//! Per process means per process after a fork too. A forked child inherits
//! its parent's hosts without their threads: no epoch clock (a loop would
//! never time out) and a compile pool whose threads are gone (a compile
//! would never finish). The package's `__init__` calls [`_forked`] in every
//! child (`os.register_at_fork`); the child's first use then builds hosts of
//! its own, compiling on the calling thread, and each [`Function`] loads
//! itself again on them.
//!
//! [`Function`]: crate::function::Function

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use pyo3::prelude::*;
use shipfn_host::{Host, Limits};

use crate::errors;

/// The most memory any function of this process may be given: all of
/// wasm32's.
const MAX_MEMORY: usize = 4 << 30;

/// How many forks lie between the first process that imported shipfn and
/// this one.
static FORKS: AtomicU64 = AtomicU64::new(0);

/// The hosts of this process, and the fork generation they were made in.
static HOSTS: Mutex<Hosts> = Mutex::new(Hosts { generation: 0, plain: None, metered: None });

struct Hosts {
    generation: u64,
    plain: Option<Host>,
    metered: Option<Host>,
}

/// Called in the child after every fork: the hosts inherited from the
/// parent are no longer this process's.
#[pyfunction]
pub fn _forked() {
    FORKS.fetch_add(1, Ordering::Relaxed);
}

/// This process's fork generation: a host or function made in another one
/// must be made again before use.
pub fn generation() -> u64 {
    FORKS.load(Ordering::Relaxed)
}

/// The process's host for functions with fuel (`metered`) or without.
///
/// Taking the GIL (`_py`) keeps the lock fork-safe: a fork needs the GIL
/// too, so no other thread holds the lock when one happens.
pub fn host(_py: Python<'_>, metered: bool) -> PyResult<Host> {
    let mut hosts = HOSTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let generation = generation();
    if hosts.generation != generation {
        // The parent's hosts: dropped once no function of theirs is left.
        *hosts = Hosts { generation, plain: None, metered: None };
    }
    let slot = if metered { &mut hosts.metered } else { &mut hosts.plain };
    if let Some(host) = slot {
        return Ok(host.clone());
    }
    let limits = Limits::default().max_memory(MAX_MEMORY).fuel(metered.then_some(u64::MAX));
    let builder = Host::builder().limits(limits).parallel_compilation(generation == 0);
    // The cache is a convenience: without a usable directory, go on without it.
    let host = match shipfn_host::default_cache_dir().map(|dir| builder.clone().cache_dir(dir).build()) {
        Some(Ok(host)) => host,
        _ => builder.build().map_err(errors::from_host)?,
    };
    Ok(slot.insert(host).clone())
}
