//! The guest half of the ABI: the exported block, buffers, `shipfn_call`
//! and the panic hook.

use core::cell::UnsafeCell;
use std::sync::{Mutex, Once};

use shipfn_abi::{ABI_VERSION, status, word};

use crate::closure::fn_from_index;

/// The ABI block. `wasm-ld` exports this data symbol as a wasm global whose
/// value is the block's address in linear memory.
#[repr(C, align(8))]
pub struct Block(UnsafeCell<[u32; word::COUNT]>);

// SAFETY: a wasm32-unknown-unknown module runs on one thread; the host only
// touches the block between calls.
unsafe impl Sync for Block {}

/// The block the host locates through the `SHIPFN_ABI` global.
#[doc(hidden)]
#[unsafe(no_mangle)]
pub static SHIPFN_ABI: Block = Block(UnsafeCell::new(initial_words()));

const fn initial_words() -> [u32; word::COUNT] {
    let mut words = [0; word::COUNT];
    words[word::VERSION] = ABI_VERSION;
    words
}

pub(crate) fn get(index: usize) -> u32 {
    assert!(index < word::COUNT);
    // SAFETY: in bounds; volatile because the host writes between calls.
    unsafe { SHIPFN_ABI.0.get().cast::<u32>().add(index).read_volatile() }
}

fn set(index: usize, value: u32) {
    assert!(index < word::COUNT);
    // SAFETY: in bounds; the module is single-threaded.
    unsafe { SHIPFN_ABI.0.get().cast::<u32>().add(index).write_volatile(value) }
}

/// The bytes the host wrote at (`ptr_word`, `len_word`).
pub(crate) fn host_bytes(ptr_word: usize, len_word: usize) -> &'static [u8] {
    let (ptr, len) = (get(ptr_word), get(len_word));
    if len == 0 {
        return &[];
    }
    // SAFETY: the host wrote `len` bytes at `ptr`, in a buffer from
    // `shipfn_alloc` that is never freed while a call runs. A lying host
    // only hurts this sandboxed instance.
    unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
}

/// The last output, kept so that the next call can free it.
static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Stores `output` for the host and returns `status`.
pub(crate) fn reply(status: u32, output: Vec<u8>) -> u32 {
    let mut slot = OUTPUT.lock().unwrap_or_else(|e| e.into_inner());
    *slot = output;
    set(word::OUTPUT_PTR, slot.as_ptr() as usize as u32);
    set(word::OUTPUT_LEN, slot.len() as u32);
    status
}

/// Records panic messages (with their location) in the block before the
/// module aborts, so that the host can report them.
pub(crate) fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message: &'static str = Box::leak(info.to_string().into_boxed_str());
            set(word::PANIC_PTR, message.as_ptr() as usize as u32);
            set(word::PANIC_LEN, message.len() as u32);
        }));
    });
}

/// `shipfn_alloc(len)`: a buffer of `len` bytes that the host fills.
#[doc(hidden)]
#[unsafe(no_mangle)]
pub extern "C" fn shipfn_alloc(len: u32) -> u32 {
    let layout = match std::alloc::Layout::from_size_align(len.max(1) as usize, 8) {
        Ok(layout) => layout,
        Err(_) => return 0,
    };
    // SAFETY: the layout has a non-zero size.
    unsafe { std::alloc::alloc(layout) as usize as u32 }
}

/// `shipfn_free(ptr, len)`: gives back a buffer from `shipfn_alloc`.
#[doc(hidden)]
#[unsafe(no_mangle)]
pub extern "C" fn shipfn_free(ptr: u32, len: u32) {
    if ptr == 0 {
        return;
    }
    if let Ok(layout) = std::alloc::Layout::from_size_align(len.max(1) as usize, 8) {
        // SAFETY: the host passes back a pointer and length from `shipfn_alloc`.
        unsafe { std::alloc::dealloc(ptr as usize as *mut u8, layout) }
    }
}

/// A request from the host, read out of the block.
pub(crate) struct Call {
    pub mode: u32,
    pub tramp: usize,
    pub func: usize,
    pub state: &'static [u8],
    pub input: &'static [u8],
}

/// A host-level entry trampoline: `entry_plain::<A, R>` or `entry_result::<A, T, E>`.
pub(crate) type EntryFn = fn(&Call) -> (u32, Vec<u8>);

/// `shipfn_call(mode)`: runs the closure that the block describes.
#[doc(hidden)]
#[unsafe(no_mangle)]
pub extern "C" fn shipfn_call(mode: u32) -> u32 {
    install_panic_hook();
    let call = Call {
        mode,
        tramp: get(word::TRAMP) as usize,
        func: get(word::FUNC) as usize,
        state: host_bytes(word::STATE_PTR, word::STATE_LEN),
        input: host_bytes(word::INPUT_PTR, word::INPUT_LEN),
    };
    // SAFETY: the entry index comes from the maker that made this closure in
    // this very module (the package pins the module's hash); a forged index
    // traps in `call_indirect`.
    match unsafe { fn_from_index::<EntryFn>(get(word::ENTRY) as usize) } {
        Ok(entry) => {
            let (status, output) = entry(&call);
            reply(status, output)
        }
        Err(e) => reply(status::BAD_STATE, format!("bad entry: {e}").into_bytes()),
    }
}
