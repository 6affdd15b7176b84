//! The host's modules by SHA-256: checked guest modules in memory (the
//! least recently used dropped past a bound), their compiled code on disk
//! if configured. A module is compiled and checked once per host, however
//! many packages carry it, while it stays in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use shipfn_format::Hash;

use crate::Result;
use crate::cache::DiskCache;
use crate::module::{GuestModule, compile};
use crate::runtime::Runtime;

/// Modules kept in memory unless the builder says otherwise.
pub(crate) const DEFAULT_CAPACITY: usize = 64;
/// Bytes of compiled modules kept in memory unless the builder says otherwise.
pub(crate) const DEFAULT_BYTES: usize = 512 << 20;

pub(crate) struct Modules {
    memory: Mutex<Lru>,
    disk: Option<DiskCache>,
    compiled: AtomicU64,
    from_disk: AtomicU64,
}

/// How a host came by its modules since it was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleCounts {
    /// Modules compiled from their wasm.
    pub compiled: u64,
    /// Modules whose compiled code was read from the disk cache.
    pub from_disk: u64,
}

/// Modules by hash, each with the tick of its last use, within a count and
/// a byte budget (of compiled images).
struct Lru {
    entries: HashMap<Hash, (GuestModule, u64)>,
    tick: u64,
    capacity: usize,
    budget: usize,
    bytes: usize,
}

impl Lru {
    fn get(&mut self, sha256: &Hash) -> Option<GuestModule> {
        self.tick += 1;
        let (module, used) = self.entries.get_mut(sha256)?;
        *used = self.tick;
        Some(module.clone())
    }

    /// Keeps `module`, dropping the least recently used to stay within
    /// the count and the bytes. A module larger than the whole budget is
    /// not kept (its functions still hold it while they live).
    fn insert(&mut self, sha256: Hash, module: GuestModule) {
        self.tick += 1;
        let size = module.image_bytes();
        if let Some((old, _)) = self.entries.remove(&sha256) {
            self.bytes -= old.image_bytes();
        }
        if size > self.budget {
            return;
        }
        while !self.entries.is_empty() && (self.entries.len() >= self.capacity || self.bytes + size > self.budget) {
            let oldest = self.entries.iter().min_by_key(|(_, (_, used))| *used).map(|(hash, _)| *hash);
            if let Some((old, _)) = oldest.and_then(|hash| self.entries.remove(&hash)) {
                self.bytes -= old.image_bytes();
            }
        }
        self.bytes += size;
        self.entries.insert(sha256, (module, self.tick));
    }
}

impl Modules {
    /// Keeps up to `capacity` (at least one) checked modules in memory,
    /// whose compiled images take at most `budget` bytes.
    pub fn new(disk: Option<DiskCache>, capacity: usize, budget: usize) -> Modules {
        let lru = Lru { entries: HashMap::new(), tick: 0, capacity: capacity.max(1), budget, bytes: 0 };
        Modules { memory: Mutex::new(lru), disk, compiled: AtomicU64::new(0), from_disk: AtomicU64::new(0) }
    }

    /// How many modules were compiled, and read from disk, so far.
    pub fn counts(&self) -> ModuleCounts {
        ModuleCounts {
            compiled: self.compiled.load(Ordering::Relaxed),
            from_disk: self.from_disk.load(Ordering::Relaxed),
        }
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The checked module with this SHA-256, if it is in memory.
    pub fn cached(&self, sha256: &Hash) -> Option<GuestModule> {
        self.memory().get(sha256)
    }

    /// How many modules are in memory.
    pub fn len(&self) -> usize {
        self.memory().entries.len()
    }

    /// Bytes of the compiled images of the modules in memory.
    pub fn bytes(&self) -> usize {
        self.memory().bytes
    }

    /// The checked module for `wasm`, whose SHA-256 is `sha256`: from memory,
    /// from the disk cache, or compiled now (and then kept in both).
    pub fn get(&self, runtime: &Runtime, wasm: &[u8], sha256: Hash) -> Result<GuestModule> {
        if let Some(module) = self.cached(&sha256) {
            return Ok(module);
        }
        let compiled = match self.disk.as_ref().and_then(|d| d.get(runtime.engine(), &sha256)) {
            Some(compiled) => {
                self.from_disk.fetch_add(1, Ordering::Relaxed);
                compiled
            }
            None => {
                let compiled = compile(runtime, wasm)?;
                self.compiled.fetch_add(1, Ordering::Relaxed);
                if let Some(disk) = &self.disk {
                    disk.put(&sha256, &compiled);
                }
                compiled
            }
        };
        let module = GuestModule::new(runtime, compiled)?;
        self.memory().insert(sha256, module.clone());
        Ok(module)
    }
}
