//! Uploaded packages, kept up to a byte budget: the least recently used
//! ones are dropped first, so uploads cannot grow the service's memory
//! without bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shipfn_host::Function;

/// Loaded packages by id, within `budget` bytes of package.
pub struct Store {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    bytes: usize,
    /// Advances on every use; an entry's `used` is when it was last used.
    clock: u64,
}

struct Entry {
    function: Arc<Function>,
    size: usize,
    used: u64,
}

impl Store {
    pub fn new(budget: usize) -> Store {
        Store { budget, inner: Mutex::default() }
    }

    /// The package `id`, marked as just used.
    pub fn get(&self, id: &str) -> Option<Arc<Function>> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let entry = inner.entries.get_mut(id)?;
        entry.used = now;
        Some(entry.function.clone())
    }

    /// Keeps `function` (whose package has `size` bytes) under `id`, dropping
    /// the least recently used packages until the rest fit the budget.
    /// Returns false, keeping nothing, for a package larger than the budget.
    pub fn insert(&self, id: String, function: Arc<Function>, size: usize) -> bool {
        if size > self.budget {
            return false;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.clock += 1;
        let used = inner.clock;
        if let Some(old) = inner.entries.insert(id, Entry { function, size, used }) {
            inner.bytes -= old.size;
        }
        inner.bytes += size;
        while inner.bytes > self.budget {
            let oldest = inner.entries.iter().min_by_key(|(_, e)| e.used).map(|(id, _)| id.clone());
            let Some(oldest) = oldest else { break };
            let dropped = inner.entries.remove(&oldest).expect("the oldest entry is there");
            inner.bytes -= dropped.size;
        }
        true
    }
}
