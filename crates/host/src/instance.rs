//! One sandboxed instance of a guest module and the host half of the ABI:
//! buffers in, `shipfn_call` or a maker export, buffers out.

use shipfn_abi::{ABI_BLOCK_EXPORT, ABI_VERSION, ALLOC_EXPORT, CALL_EXPORT, word};
use wasmtime::{Instance, Memory, Module, ResourceLimiter, Store, Trap, TypedFunc};

use crate::host::TICK;
use crate::{Error, Host, Result};

/// Enforces the memory limit and remembers why growth was refused.
pub(crate) struct Limiter {
    max_memory: usize,
    refused: Option<usize>,
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

/// A fresh instance, its memory, and the ABI block's address.
pub(crate) struct Guest {
    store: Store<Limiter>,
    instance: Instance,
    memory: Memory,
    block: usize,
    alloc: TypedFunc<u32, u32>,
}

/// An answer from the guest: a status and its output bytes.
pub(crate) struct Reply {
    pub status: u32,
    pub output: Vec<u8>,
}

impl Guest {
    pub fn new(host: &Host, module: &Module) -> Result<Guest> {
        let limits = host.limits();
        let mut store = Store::new(host.engine(), Limiter { max_memory: limits.max_memory, refused: None });
        store.limiter(|l| l);
        let ticks = limits.timeout.as_nanos().div_ceil(TICK.as_nanos()) as u64 + 1;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
        if let Some(fuel) = limits.fuel {
            store.set_fuel(fuel).map_err(|e| Error::Internal(e.to_string()))?;
        }
        let instance = match Instance::new(&mut store, module, &[]) {
            Ok(instance) => instance,
            Err(e) => return Err(classify(host, &mut store, None, e)),
        };
        let memory = instance.get_memory(&mut store, "memory").ok_or_else(|| Error::NotAGuest("no memory".into()))?;
        let block = instance
            .get_global(&mut store, ABI_BLOCK_EXPORT)
            .and_then(|g| g.get(&mut store).i32())
            .ok_or_else(|| Error::NotAGuest(format!("no `{ABI_BLOCK_EXPORT}` global")))? as u32
            as usize;
        let alloc = typed(&instance, &mut store, ALLOC_EXPORT)?;
        let guest = Guest { store, instance, memory, block, alloc };
        let version = guest.word(word::VERSION)?;
        if version != ABI_VERSION {
            return Err(Error::NotAGuest(format!("it speaks guest ABI {version}, this shipfn speaks {ABI_VERSION}")));
        }
        Ok(guest)
    }

    fn word(&self, index: usize) -> Result<u32> {
        let at = self.block + index * 4;
        let bytes = self
            .memory
            .data(&self.store)
            .get(at..at + 4)
            .ok_or_else(|| Error::Abi("the ABI block lies outside memory".into()))?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    pub fn set_word(&mut self, index: usize, value: u32) -> Result<()> {
        let at = self.block + index * 4;
        self.memory
            .write(&mut self.store, at, &value.to_le_bytes())
            .map_err(|_| Error::Abi("the ABI block lies outside memory".into()))
    }

    /// Copies `bytes` into a fresh guest buffer and records it in the block.
    pub fn put(&mut self, host: &Host, (ptr_word, len_word): (usize, usize), bytes: &[u8]) -> Result<()> {
        let len = u32::try_from(bytes.len())
            .map_err(|_| Error::MemoryLimit { limit: host.limits().max_memory, requested: bytes.len() })?;
        let ptr = match self.alloc.call(&mut self.store, len) {
            Ok(ptr) => ptr,
            Err(e) => {
                return Err(classify(host, &mut self.store, Some((&self.memory, self.block)), e));
            }
        };
        if ptr == 0 {
            let requested = self.store.data().refused.unwrap_or(bytes.len());
            return Err(Error::MemoryLimit { limit: host.limits().max_memory, requested });
        }
        self.memory
            .write(&mut self.store, ptr as usize, bytes)
            .map_err(|_| Error::Abi("shipfn_alloc returned a buffer outside memory".into()))?;
        self.set_word(ptr_word, ptr)?;
        self.set_word(len_word, len)
    }

    /// Calls `export(arg) -> status` (or `export() -> status` when `arg` is
    /// `None`) and collects the output.
    pub fn invoke(&mut self, host: &Host, export: &str, arg: Option<u32>) -> Result<Reply> {
        let status = match arg {
            Some(arg) => {
                let f: TypedFunc<u32, u32> = typed(&self.instance, &mut self.store, export)?;
                f.call(&mut self.store, arg)
            }
            None => {
                let f: TypedFunc<(), u32> = typed(&self.instance, &mut self.store, export)?;
                f.call(&mut self.store, ())
            }
        };
        let status = match status {
            Ok(status) => status,
            Err(e) => {
                return Err(classify(host, &mut self.store, Some((&self.memory, self.block)), e));
            }
        };
        let (ptr, len) = (self.word(word::OUTPUT_PTR)? as usize, self.word(word::OUTPUT_LEN)? as usize);
        if len > host.limits().max_result {
            return Err(Error::ResultTooLarge { len, limit: host.limits().max_result });
        }
        let output = self
            .memory
            .data(&self.store)
            .get(ptr..ptr + len)
            .ok_or_else(|| Error::Abi("the output lies outside memory".into()))?
            .to_vec();
        Ok(Reply { status, output })
    }

    /// Calls `shipfn_call(mode)`.
    pub fn call(&mut self, host: &Host, mode: u32) -> Result<Reply> {
        self.invoke(host, CALL_EXPORT, Some(mode))
    }
}

fn typed<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    instance: &Instance,
    store: &mut Store<Limiter>,
    name: &str,
) -> Result<TypedFunc<P, R>> {
    instance.get_typed_func::<P, R>(store, name).map_err(|e| Error::NotAGuest(format!("export `{name}`: {e}")))
}

/// Turns a failed wasm call into the error class that explains it best.
fn classify(host: &Host, store: &mut Store<Limiter>, abi: Option<(&Memory, usize)>, error: wasmtime::Error) -> Error {
    if let Some(requested) = store.data().refused {
        return Error::MemoryLimit { limit: host.limits().max_memory, requested };
    }
    let trap = error.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::Interrupt) => return Error::Timeout(host.limits().timeout),
        Some(Trap::OutOfFuel) => return Error::OutOfFuel(host.limits().fuel.unwrap_or(0)),
        _ => {}
    }
    if let Some(message) = abi.and_then(|(memory, block)| panic_message(memory, store, block)) {
        return Error::Panic(message);
    }
    match trap {
        Some(Trap::StackOverflow) => Error::Trap("stack overflow (call stack exhausted)".into()),
        Some(trap) => Error::Trap(trap.to_string()),
        None => Error::Trap(format!("{error:#}")),
    }
}

/// The panic message the guest's hook left in the block, if any.
fn panic_message(memory: &Memory, store: &Store<Limiter>, block: usize) -> Option<String> {
    let data = memory.data(store);
    let word = |i: usize| {
        data.get(block + i * 4..block + i * 4 + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
    };
    let (ptr, len) = (word(word::PANIC_PTR)?, word(word::PANIC_LEN)?);
    if len == 0 {
        return None;
    }
    let bytes = data.get(ptr..ptr.checked_add(len.min(64 << 10))?)?;
    Some(String::from_utf8_lossy(bytes).replace('\n', " "))
}
