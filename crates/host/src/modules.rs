//! The host's modules by SHA-256: checked guest modules in memory, their
//! compiled code on disk if configured. A module is compiled and checked
//! once per host, however many packages carry it.

use std::collections::HashMap;
use std::sync::Mutex;

use shipfn_format::Hash;

use crate::Result;
use crate::cache::DiskCache;
use crate::module::{GuestModule, compile};
use crate::runtime::Runtime;

/// Most modules kept in memory; past it, one is dropped per insert.
const CAPACITY: usize = 64;

pub(crate) struct Modules {
    memory: Mutex<HashMap<Hash, GuestModule>>,
    disk: Option<DiskCache>,
}

impl Modules {
    pub fn new(disk: Option<DiskCache>) -> Modules {
        Modules { memory: Mutex::new(HashMap::new()), disk }
    }

    /// The checked module with this SHA-256, if it is in memory.
    pub fn cached(&self, sha256: &Hash) -> Option<GuestModule> {
        self.memory.lock().unwrap_or_else(|e| e.into_inner()).get(sha256).cloned()
    }

    /// The checked module for `wasm`, whose SHA-256 is `sha256`: from memory,
    /// from the disk cache, or compiled now (and then kept in both).
    pub fn get(&self, runtime: &Runtime, wasm: &[u8], sha256: Hash) -> Result<GuestModule> {
        let memory = || self.memory.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(module) = memory().get(&sha256) {
            return Ok(module.clone());
        }
        let compiled = match self.disk.as_ref().and_then(|d| d.get(runtime.engine(), &sha256)) {
            Some(compiled) => compiled,
            None => {
                let compiled = compile(runtime, wasm)?;
                if let Some(disk) = &self.disk {
                    disk.put(&sha256, &compiled);
                }
                compiled
            }
        };
        let module = GuestModule::new(runtime, compiled)?;
        let mut memory = memory();
        if memory.len() >= CAPACITY {
            let victim = *memory.keys().next().expect("the cache is not empty");
            memory.remove(&victim);
        }
        memory.insert(sha256, module.clone());
        Ok(module)
    }
}
