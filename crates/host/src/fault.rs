//! Why a wasm call failed: a failed call of an instance becomes the error
//! class that explains it best (a limit, a panic with its message, a trap).

use wasmtime::{Memory, Store, Trap};

use shipfn_abi::word;

use crate::runtime::Limiter;
use crate::{Error, Limits};

/// What [`classify`] may read of an instance that ran.
pub(crate) struct RanInstance<'a> {
    pub memory: &'a Memory,
    pub block: usize,
    /// The shadow stack pointer had run below address 0.
    pub overflow: bool,
}

/// The error that a failed instantiation or call in `store`, running under
/// `limits`, stands for.
pub(crate) fn classify(
    limits: &Limits,
    store: &mut Store<Limiter>,
    ran: Option<RanInstance<'_>>,
    error: wasmtime::Error,
) -> Error {
    if let Some(requested) = store.data().refused() {
        return Error::MemoryLimit { limit: limits.max_memory, requested };
    }
    let trap = error.downcast_ref::<Trap>().copied();
    match trap {
        Some(Trap::Interrupt) => return Error::Timeout(limits.timeout),
        Some(Trap::OutOfFuel) => return Error::OutOfFuel(limits.fuel.unwrap_or(0)),
        _ => {}
    }
    if is_busy(&error) {
        return Error::Busy(format!("{error:#}"));
    }
    if let Some(message) = ran.as_ref().and_then(|ran| panic_message(ran.memory, store, ran.block)) {
        return Error::Panic(message);
    }
    let overflow = ran.is_some_and(|ran| ran.overflow);
    match trap {
        Some(Trap::StackOverflow) => Error::Trap("stack overflow (call stack exhausted)".into()),
        Some(Trap::MemoryOutOfBounds) if overflow => {
            Error::Trap("stack overflow (the shadow stack in the guest's memory is exhausted)".into())
        }
        Some(trap) => Error::Trap(trap.to_string()),
        None => Error::Trap(format!("{error:#}")),
    }
}

/// Whether `error` says that every pooled instance slot is taken.
pub(crate) fn is_busy(error: &wasmtime::Error) -> bool {
    error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some()
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
