//! One sandboxed instance of a guest module and the host half of the ABI:
//! buffers in, `shipfn_call` or a maker export, buffers out.
//!
//! An instance is a pooled instantiation of a [`GuestModule`] plus a few
//! memory writes. Small states and inputs go into the guest's static scratch
//! buffer, so a call on a fresh instance needs no guest allocation.

use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use shipfn_abi::{ABI_BLOCK_EXPORT, ABI_VERSION, ALLOC_EXPORT, CALL_EXPORT, MIN_ABI_VERSION, feature, word};
use wasmtime::{Instance, Memory, Store, TypedFunc};

use shipfn_format::Hashed;

use crate::fault::{RanInstance, classify, is_busy};
use crate::module::{Exports, GuestModule, Layout};
use crate::runtime::{Limiter, Runtime, arm};
use crate::stores::{Slot, Spare, StorePool};
use crate::{Error, Limits, Result};

/// How long an instance lives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifetime {
    /// It ends with its call ([`Guest::finish_fresh`]): it may be put in a
    /// spare store, and its memory is released after a heavy call.
    OneCall,
    /// It serves many calls, or hands its memory on (a maker): it gets a
    /// store of its own, so that it holds no finished instances.
    Reused,
}

/// Where [`Guest::place`] puts buffers.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// In the guest's scratch buffer if they all fit, else on its heap.
    Scratch,
    /// On the guest's heap (`shipfn_alloc`), where they stay while the
    /// scratch buffer serves later calls.
    Heap,
}

/// An instance, its memory, and where its ABI block and scratch buffer are.
pub(crate) struct Guest {
    store: Store<Limiter>,
    /// Instances the store has hosted, this one included.
    hosted: u32,
    /// The memory's size when the instance started.
    initial_size: usize,
    lifetime: Lifetime,
    /// What this instance's calls may use.
    limits: Limits,
    /// Its place in the count of instances alive.
    _slot: Slot,
    /// Keeps the epoch clock, which enforces its time limit, running for as
    /// long as the instance may run.
    _clock: Runtime,
    instance: Instance,
    memory: Memory,
    layout: Layout,
    call: TypedFunc<u32, u32>,
    /// `shipfn_alloc` and `shipfn_free`, looked up when first needed: most
    /// calls fit the scratch buffer and need neither.
    alloc: Option<TypedFunc<u32, u32>>,
    free: Option<Option<TypedFunc<(u32, u32), ()>>>,
    exports: Exports,
}

/// An answer from the guest: a status and its output bytes.
pub(crate) struct Reply {
    pub status: u32,
    pub output: Vec<u8>,
}

/// A buffer to hand to the guest: the block word for its address (its
/// length goes in the next word) and its bytes.
pub(crate) type Buffer<'a> = (usize, &'a [u8]);

impl Guest {
    /// A new instance of `module` under `limits` (at most the runtime's);
    /// for [`Lifetime::OneCall`], in a spare store if there is one.
    pub fn new(
        runtime: &Runtime,
        stores: &StorePool,
        module: &GuestModule,
        lifetime: Lifetime,
        limits: &Limits,
    ) -> Result<Guest> {
        let slot = stores.slot()?;
        let spare = if lifetime == Lifetime::OneCall { stores.take() } else { None };
        let (mut store, mut hosted) = match spare {
            Some(spare) => (spare.store, spare.hosted),
            None => (runtime.new_store(limits), 0),
        };
        arm(&mut store, limits)?;
        let mut instantiated = module.pre().instantiate(&mut store);
        // Finished instances in spare stores (this one too, if it is reused)
        // hold pool slots: give them back and try once more in a new store.
        if instantiated.as_ref().is_err_and(is_busy) && (stores.clear() | (hosted > 0)) {
            (store, hosted) = (runtime.new_store(limits), 0);
            arm(&mut store, limits)?;
            instantiated = module.pre().instantiate(&mut store);
        }
        let instance = instantiated.map_err(|e| classify(limits, &mut store, None, e))?;
        let exports = *module.exports();
        let not_a_guest = |what: &str| Error::NotAGuest(format!("export `{what}` has the wrong kind or type"));
        let memory = instance
            .get_module_export(&mut store, &exports.memory)
            .and_then(|e| e.into_memory())
            .ok_or_else(|| not_a_guest("memory"))?;
        let call = instance
            .get_module_export(&mut store, &exports.call)
            .and_then(|e| e.into_func())
            .ok_or_else(|| not_a_guest(CALL_EXPORT))?;
        // SAFETY: a `GuestModule` is only made after checking that
        // `shipfn_call` is `(i32) -> i32`; skipping the per-instance type
        // check saves building its type on every call.
        let call = unsafe { TypedFunc::new_unchecked(&store, call) };
        let initial_size = memory.data_size(&store);
        let mut guest = Guest {
            store,
            hosted: hosted + 1,
            initial_size,
            lifetime,
            limits: limits.clone(),
            _slot: slot,
            _clock: runtime.clone(),
            instance,
            memory,
            layout: Layout::default(),
            call,
            alloc: None,
            free: None,
            exports,
        };
        guest.layout = match module.layout() {
            Some(layout) => layout,
            None => module.set_layout(guest.read_layout()?),
        };
        Ok(guest)
    }

    /// Ends an instance whose call returned (with any status): its store is
    /// kept to host a later fresh instance if the instance's memory did not
    /// grow, so that a finished instance waiting for its store to be dropped
    /// holds little memory.
    pub fn finish_fresh(self, stores: &StorePool) {
        if self.memory.data_size(&self.store) == self.initial_size {
            stores.keep(Spare { store: self.store, hosted: self.hosted });
        }
    }

    /// Reads where the block and scratch buffer are, and checks the version.
    fn read_layout(&mut self) -> Result<Layout> {
        self.layout.block = self
            .instance
            .get_module_export(&mut self.store, &self.exports.block)
            .and_then(|e| e.into_global())
            .and_then(|g| g.get(&mut self.store).i32())
            .ok_or_else(|| Error::NotAGuest(format!("export `{ABI_BLOCK_EXPORT}` has the wrong kind or type")))?
            as u32 as usize;
        let version = self.word(word::VERSION)?;
        if !(MIN_ABI_VERSION..=ABI_VERSION).contains(&version) {
            return Err(Error::NotAGuest(format!(
                "it speaks guest ABI {version}, this shipfn speaks {MIN_ABI_VERSION} to {ABI_VERSION}"
            )));
        }
        let mut scratch = (self.word(word::SCRATCH_PTR)? as usize, self.word(word::SCRATCH_LEN)? as usize);
        if self.memory.data(&self.store).get(scratch.0..scratch.0.saturating_add(scratch.1)).is_none() {
            scratch = (0, 0);
        }
        // Guests before ABI 6 have no FEATURES word, and all speak JSON.
        let features = if version >= 6 { self.word(word::FEATURES)? } else { feature::JSON };
        Ok(Layout { block: self.layout.block, scratch, version, features })
    }

    /// The guest ABI the module speaks.
    pub fn abi_version(&self) -> u32 {
        self.layout.version
    }

    /// Whether the guest reads and writes JSON itself.
    pub fn speaks_json(&self) -> bool {
        self.layout.features & feature::JSON != 0
    }

    /// Arms the time limit and fuel for one more call on this instance.
    pub fn arm(&mut self) -> Result<()> {
        arm(&mut self.store, &self.limits)
    }

    fn word(&self, index: usize) -> Result<u32> {
        let at = self.layout.block + index * 4;
        let bytes = self
            .memory
            .data(&self.store)
            .get(at..at + 4)
            .ok_or_else(|| Error::Abi("the ABI block lies outside memory".into()))?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }

    /// Moves a guest buffer out, ending the guest, and hashes it, after the
    /// bytes that `head` writes for the buffer's length: the bytes are
    /// copied in chunks, each copied chunk of guest memory is given back to
    /// the system (so a large buffer, a maker's state, is not resident
    /// twice), and a second thread hashes the copy as it grows.
    pub fn take_hashed(
        mut self,
        ptr_word: usize,
        len_word: usize,
        head: impl FnOnce(usize) -> Vec<u8>,
    ) -> Result<Hashed> {
        const CHUNK: usize = 4 << 20;
        let (ptr, len) = (self.word(ptr_word)? as usize, self.word(len_word)? as usize);
        let memory = self.memory.data_mut(&mut self.store);
        let buffer = memory.get_mut(ptr..ptr.saturating_add(len));
        let buffer = buffer.ok_or_else(|| Error::Abi("a guest buffer lies outside memory".into()))?;
        let head = head(len);
        let start = head.len();
        if len < CHUNK {
            let mut bytes = head;
            bytes.extend_from_slice(buffer);
            return Ok(bytes.into());
        }
        // Zeroed by the system, so its pages become resident only as the
        // copy reaches them, while the guest's are given back (writing the
        // zeros here would make the whole copy resident first).
        let mut bytes = vec![0; start + len];
        bytes[..start].copy_from_slice(&head);
        let sha256 = std::thread::scope(|s| {
            let (copied, to_hash) = std::sync::mpsc::channel::<&[u8]>();
            let hasher = s.spawn(move || {
                let mut hasher = Sha256::new();
                to_hash.iter().for_each(|chunk| hasher.update(chunk));
                hasher.finalize().into()
            });
            let (head, body) = bytes.split_at_mut(start);
            copied.send(head).expect("the hasher runs until the sender is dropped");
            for (from, to) in buffer.chunks_mut(CHUNK).zip(body.chunks_mut(CHUNK)) {
                to.copy_from_slice(from);
                release_pages(from);
                copied.send(to).expect("the hasher runs until the sender is dropped");
            }
            drop(copied);
            hasher.join().expect("hashing does not panic")
        });
        Ok(Hashed { bytes, sha256 })
    }

    /// Writes consecutive words starting at `first`.
    pub fn set_words(&mut self, first: usize, values: &[u32]) -> Result<()> {
        let mut bytes = [0u8; 4 * word::COUNT];
        for (chunk, value) in bytes.chunks_exact_mut(4).zip(values) {
            chunk.copy_from_slice(&value.to_le_bytes());
        }
        self.memory
            .write(&mut self.store, self.layout.block + first * 4, &bytes[..values.len() * 4])
            .map_err(|_| Error::Abi("the ABI block lies outside memory".into()))
    }

    /// Copies each buffer into the guest, as `placement` says, and records
    /// where in the block. Returns the buffers allocated on the guest's heap.
    pub fn place(&mut self, placement: Placement, buffers: &[Buffer<'_>]) -> Result<Vec<(u32, u32)>> {
        let total: usize = buffers.iter().map(|(_, b)| b.len()).sum();
        let (scratch, scratch_len) = self.layout.scratch;
        let in_scratch = placement == Placement::Scratch && total <= scratch_len;
        let mut allocated = Vec::new();
        let mut at = scratch;
        for &(ptr_word, bytes) in buffers {
            let ptr = if in_scratch {
                at += bytes.len();
                (at - bytes.len()) as u32
            } else {
                let ptr = self.alloc(bytes.len())?;
                allocated.push((ptr, bytes.len() as u32));
                ptr
            };
            self.write(ptr as usize, bytes)?;
            self.set_words(ptr_word, &[ptr, bytes.len() as u32])?;
        }
        Ok(allocated)
    }

    /// Gives back heap buffers from [`place`](Guest::place), if the guest can.
    pub fn free_buffers(&mut self, buffers: &[(u32, u32)]) {
        if buffers.is_empty() {
            return;
        }
        let free = match &self.free {
            Some(free) => free.clone(),
            None => {
                let free = self.exports.free.as_ref().and_then(|export| {
                    let func = self.instance.get_module_export(&mut self.store, export)?.into_func()?;
                    func.typed::<(u32, u32), ()>(&self.store).ok()
                });
                self.free.insert(free).clone()
            }
        };
        if let Some(free) = free {
            for &(ptr, len) in buffers {
                let _ = free.call(&mut self.store, (ptr, len));
            }
        }
    }

    fn write(&mut self, at: usize, bytes: &[u8]) -> Result<()> {
        self.memory
            .write(&mut self.store, at, bytes)
            .map_err(|_| Error::Abi("a guest buffer lies outside memory".into()))
    }

    fn alloc(&mut self, len: usize) -> Result<u32> {
        let limit = self.limits.max_memory;
        let len32 = u32::try_from(len).map_err(|_| Error::MemoryLimit { limit, requested: len })?;
        let alloc = match &self.alloc {
            Some(alloc) => alloc.clone(),
            None => {
                let func = self
                    .instance
                    .get_module_export(&mut self.store, &self.exports.alloc)
                    .and_then(|e| e.into_func())
                    .ok_or_else(|| Error::NotAGuest(format!("export `{ALLOC_EXPORT}` is not a function")))?;
                // SAFETY: a `GuestModule` is only made after checking that
                // `shipfn_alloc` is `(i32) -> i32`.
                self.alloc.insert(unsafe { TypedFunc::new_unchecked(&self.store, func) }).clone()
            }
        };
        let ptr = match alloc.call(&mut self.store, len32) {
            Ok(ptr) => ptr,
            Err(e) => return Err(self.failed(e)),
        };
        if ptr == 0 {
            let requested = self.store.data().refused().unwrap_or(len);
            return Err(Error::MemoryLimit { limit, requested });
        }
        Ok(ptr)
    }

    /// Calls `export() -> status` and hands the status and the output, read
    /// in place from guest memory, to `read`. Used for makers, whose output
    /// holds the captured state: it is bounded by the memory limit, not the
    /// result limit, and not copied before it is decoded.
    pub fn invoke<T>(&mut self, export: &str, read: impl FnOnce(u32, &[u8]) -> T) -> Result<T> {
        let f: TypedFunc<(), u32> = self
            .instance
            .get_typed_func(&mut self.store, export)
            .map_err(|e| Error::NotAGuest(format!("export `{export}`: {e}")))?;
        let status = f.call(&mut self.store, ());
        self.finish(status, self.limits.max_memory, read)
    }

    /// Calls `shipfn_call(mode)`.
    pub fn call(&mut self, mode: u32) -> Result<Reply> {
        self.call_with(mode, |status, output| Reply { status, output: output.to_vec() })
    }

    /// Calls `shipfn_call(mode)` and hands the status and the output, read
    /// in place from guest memory, to `read`.
    pub fn call_with<T>(&mut self, mode: u32, read: impl FnOnce(u32, &[u8]) -> T) -> Result<T> {
        let started = (self.lifetime == Lifetime::OneCall).then(Instant::now);
        let status = self.call.call(&mut self.store, mode);
        let heavy = started.is_some_and(|t| t.elapsed() >= HEAVY_CALL);
        let result = self.finish(status, self.limits.max_result, read);
        if heavy {
            // The pool keeps an instance's dirtied pages mapped for the next
            // instance in its slot and resets every one of them for each
            // later instance, forever: a call that touched megabytes (a deep
            // recursion, a large buffer) would make every later small call
            // in that slot pay for resetting them. A long call may have
            // touched many pages, and releasing them costs it little, so it
            // gives them all back; they read as the module's image again.
            release_pages(self.memory.data_mut(&mut self.store));
        }
        result
    }

    /// The error a failed wasm call on this instance stands for.
    fn failed(&mut self, error: wasmtime::Error) -> Error {
        let out_of_bounds = error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::MemoryOutOfBounds);
        let overflow = out_of_bounds && self.shadow_stack_overflowed();
        let ran = RanInstance { memory: &self.memory, block: self.layout.block, overflow };
        classify(&self.limits, &mut self.store, Some(ran), error)
    }

    /// Whether the shadow stack pointer has run below address 0 (it wraps),
    /// which is how a shadow-stack overflow shows: as an out-of-bounds store.
    fn shadow_stack_overflowed(&mut self) -> bool {
        let Some(export) = &self.exports.stack_pointer else {
            return false;
        };
        let global = self.instance.get_module_export(&mut self.store, export).and_then(|e| e.into_global());
        let sp = global.and_then(|g| g.get(&mut self.store).i32());
        sp.is_some_and(|sp| sp as u32 as usize > self.memory.data_size(&self.store))
    }

    fn finish<T>(
        &mut self,
        status: wasmtime::Result<u32>,
        max_output: usize,
        read: impl FnOnce(u32, &[u8]) -> T,
    ) -> Result<T> {
        let status = match status {
            Ok(status) => status,
            Err(e) => return Err(self.failed(e)),
        };
        let (ptr, len) = (self.word(word::OUTPUT_PTR)? as usize, self.word(word::OUTPUT_LEN)? as usize);
        if len > max_output {
            return Err(Error::ResultTooLarge { len, limit: max_output });
        }
        let output = self
            .memory
            .data(&self.store)
            .get(ptr..ptr + len)
            .ok_or_else(|| Error::Abi("the output lies outside memory".into()))?;
        Ok(read(status, output))
    }
}

/// A fresh instance's call that runs this long gives its memory's pages
/// back to the system when it ends (see [`Guest::call_with`]); releasing
/// them costs a few microseconds.
const HEAVY_CALL: Duration = Duration::from_micros(50);

/// Gives the whole pages inside `bytes` back to the system; they read as
/// zeros (or as the module's initial image) afterwards. Only for guest
/// memory that will not be used again. Elsewhere than Linux, `MADV_DONTNEED`
/// does not promise that, so nothing is released.
#[cfg(target_os = "linux")]
fn release_pages(bytes: &mut [u8]) {
    const PAGE: usize = 4096; // the smallest page size; madvise rounds nothing
    let start = (bytes.as_mut_ptr() as usize).next_multiple_of(PAGE);
    let end = (bytes.as_mut_ptr() as usize + bytes.len()) / PAGE * PAGE;
    if end > start {
        // SAFETY: the range lies inside `bytes`, which we borrow mutably; for
        // the private mappings that hold wasm memory, MADV_DONTNEED only makes
        // the pages read as zeros (or as the module's initial image) again,
        // which is a write our exclusive borrow allows. Failure is harmless.
        let advice = rustix::mm::Advice::LinuxDontNeed;
        let _ = unsafe { rustix::mm::madvise(start as *mut std::ffi::c_void, end - start, advice) };
    }
}

#[cfg(not(target_os = "linux"))]
fn release_pages(_: &mut [u8]) {}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn released_pages_read_as_zeros() {
        const PAGE: usize = 4096;
        let mut bytes = vec![7u8; 6 * PAGE];
        super::release_pages(&mut bytes);
        // Every whole page inside the buffer is zero again; the partial
        // pages at its ends (if it is not page-aligned) are left alone.
        let whole = (bytes.as_ptr() as usize).next_multiple_of(PAGE) - bytes.as_ptr() as usize;
        assert!(bytes[whole..whole + 4 * PAGE].iter().all(|&b| b == 0));
        assert!(bytes[..whole].iter().all(|&b| b == 7));
    }
}
