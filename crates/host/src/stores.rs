//! Stores for instances: spare stores kept for the next fresh instances,
//! and the count of instances alive at once.
//!
//! Instances of one store are as isolated from each other as instances of
//! different stores (each has its own memory, table and globals); what a
//! store adds is setup, module registration and teardown, which reusing it
//! spreads over several instances. A finished instance keeps its pool slot
//! until its store is dropped, so reuse is bounded: a store hosts at most
//! `instances_per_store` instances, and at most `max_spares` are kept.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use wasmtime::Store;

use crate::runtime::{InstanceStrategy, Limiter, Runtime};
use crate::{Error, Result};

/// Fresh instances one store hosts before it is dropped, on a pool large
/// enough: more than a few gains no more and holds more pool slots.
const INSTANCES_PER_STORE: u32 = 4;

pub(crate) struct StorePool {
    spares: Mutex<Vec<Spare>>,
    max_spares: usize,
    instances_per_store: u32,
    /// Instances alive, counted where wasmtime's pool does not count them
    /// (on-demand instances); `None` on a pooled runtime.
    live: Option<Arc<AtomicU32>>,
    max_instances: u32,
}

/// A store whose `hosted` instances have all finished.
pub(crate) struct Spare {
    pub store: Store<Limiter>,
    pub hosted: u32,
}

/// One instance's place in the count of instances alive; given back when
/// dropped.
pub(crate) struct Slot {
    live: Option<Arc<AtomicU32>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(live) = &self.live {
            live.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl StorePool {
    pub fn new(runtime: &Runtime) -> StorePool {
        let max_instances = runtime.limits().max_instances;
        // Store reuse holds finished instances' pool slots until their store
        // is dropped: keep that to a quarter of the pool at most.
        let max_spares = std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 16);
        let (instances_per_store, live) = match runtime.strategy() {
            InstanceStrategy::Pooling => {
                let per_store = (max_instances as usize / (4 * max_spares)).clamp(1, INSTANCES_PER_STORE as usize);
                (per_store as u32, None)
            }
            // An on-demand instance's memory is unmapped only when its store
            // is dropped: one instance per store.
            InstanceStrategy::OnDemand => (1, Some(Arc::new(AtomicU32::new(0)))),
        };
        StorePool { spares: Mutex::new(Vec::new()), max_spares, instances_per_store, live, max_instances }
    }

    /// A place for one more instance, unless [`Limits::max_instances`](crate::Limits::max_instances)
    /// are alive (on a pooled runtime, wasmtime's pool counts them).
    pub fn slot(&self) -> Result<Slot> {
        if let Some(live) = &self.live {
            let taken =
                live.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < self.max_instances).then_some(n + 1));
            if taken.is_err() {
                return Err(Error::Busy(format!("{} instances are alive, the most allowed", self.max_instances)));
            }
        }
        Ok(Slot { live: self.live.clone() })
    }

    /// A spare store, if there is one.
    pub fn take(&self) -> Option<Spare> {
        self.spares.lock().unwrap_or_else(|e| e.into_inner()).pop()
    }

    /// Keeps `spare`, whose instances have all finished, for the next fresh
    /// instance, unless it has hosted its share or enough stores are kept.
    pub fn keep(&self, spare: Spare) {
        if spare.hosted >= self.instances_per_store {
            return;
        }
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        if spares.len() < self.max_spares {
            spares.push(spare);
        }
    }

    /// Drops every spare store, giving their finished instances' slots back
    /// to the pool; whether there were any.
    pub fn clear(&self) -> bool {
        let spares = std::mem::take(&mut *self.spares.lock().unwrap_or_else(|e| e.into_inner()));
        !spares.is_empty()
    }
}
