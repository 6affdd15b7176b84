//! The guest half of the ABI: the exported block, buffers, `shipfn_call`
//! and the panic hook.

use core::cell::UnsafeCell;
use std::sync::{Mutex, Once};

use shipfn_abi::{ABI_VERSION, feature, status, word};

use crate::closure::fn_from_index;

/// The ABI block. `wasm-ld` exports this data symbol as a wasm global whose
/// value is the block's address in linear memory. On wasm32 the two pointer
/// fields are the words `SCRATCH_PTR` and `SCRATCH_LEN`, and `features` is
/// the word `FEATURES`.
#[repr(C, align(8))]
pub struct Block {
    words: UnsafeCell<[u32; word::SCRATCH_PTR]>,
    scratch: *mut u8,
    scratch_len: usize,
    features: u32,
}

/// What this guest can do: the word `FEATURES`.
const FEATURES: u32 = if cfg!(feature = "json") { feature::JSON } else { 0 };

/// Size of the scratch buffer: small states, inputs and outputs live here,
/// so that a call on a fresh instance needs no allocation.
pub const SCRATCH_LEN: usize = 64 << 10;

struct Scratch(UnsafeCell<[u8; SCRATCH_LEN]>);

// SAFETY: as for `Block`.
unsafe impl Sync for Scratch {}

static SCRATCH: Scratch = Scratch(UnsafeCell::new([0; SCRATCH_LEN]));

// SAFETY: a wasm32-unknown-unknown module runs on one thread; the host only
// touches the block between calls.
unsafe impl Sync for Block {}

/// The block the host locates through the `SHIPFN_ABI` global.
#[doc(hidden)]
#[unsafe(no_mangle)]
pub static SHIPFN_ABI: Block = Block {
    words: UnsafeCell::new(initial_words()),
    scratch: SCRATCH.0.get().cast::<u8>(),
    scratch_len: SCRATCH_LEN,
    features: FEATURES,
};

const fn initial_words() -> [u32; word::SCRATCH_PTR] {
    let mut words = [0; word::SCRATCH_PTR];
    words[word::VERSION] = ABI_VERSION;
    words
}

pub(crate) fn get(index: usize) -> u32 {
    assert!(index < word::SCRATCH_PTR);
    // SAFETY: in bounds; volatile because the host writes between calls.
    unsafe { SHIPFN_ABI.words.get().cast::<u32>().add(index).read_volatile() }
}

fn set(index: usize, value: u32) {
    assert!(index < word::SCRATCH_PTR);
    // SAFETY: in bounds; the module is single-threaded.
    unsafe { SHIPFN_ABI.words.get().cast::<u32>().add(index).write_volatile(value) }
}

/// Serializes an output with `write` into the scratch buffer; `None` if it
/// does not fit (the caller then builds it on the heap).
///
/// # Safety
///
/// No slice that [`host_bytes`] returned during this call may be used
/// after this (the state and input may lie in the scratch buffer, which
/// `write` overwrites), and no other reference into the scratch buffer may
/// be alive. Entries call it once, after the closure has returned.
pub(crate) unsafe fn into_scratch(write: impl FnOnce(&mut [u8]) -> Option<usize>) -> Option<Output> {
    // SAFETY: single-threaded, and the caller promises that nothing else
    // refers to the scratch buffer now; the host reads it only after the
    // call returns.
    let buffer = unsafe { &mut *SCRATCH.0.get() };
    write(buffer).map(Output::Scratch)
}

/// Where a reply's bytes are.
pub(crate) enum Output {
    /// A heap buffer.
    Heap(Vec<u8>),
    /// The first `n` bytes of the scratch buffer.
    Scratch(usize),
}

impl From<Vec<u8>> for Output {
    fn from(bytes: Vec<u8>) -> Output {
        Output::Heap(bytes)
    }
}

/// The bytes the host wrote at (`ptr_word`, `len_word`).
///
/// # Safety
///
/// The slice is valid until the call that read it returns, and only until
/// [`into_scratch`] is called in that call: the caller must not use it
/// after either (the `'static` lifetime is not real).
pub(crate) unsafe fn host_bytes(ptr_word: usize, len_word: usize) -> &'static [u8] {
    let (ptr, len) = (get(ptr_word), get(len_word));
    if len == 0 {
        return &[];
    }
    // SAFETY: the host wrote `len` bytes at `ptr`, in the scratch buffer or
    // a buffer from `shipfn_alloc` that is not freed while a call runs; the
    // caller keeps to the lifetime above. A lying host only hurts this
    // sandboxed instance.
    unsafe { core::slice::from_raw_parts(ptr as usize as *const u8, len as usize) }
}

/// The last output, kept so that the next call can free it.
static OUTPUT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A maker's state, kept alive after it returns so that the host can copy
/// it from `STATE_PTR`/`STATE_LEN` instead of from inside the `Made` reply:
/// a large state is then never copied within the guest.
static MADE_STATE: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Keeps `bytes` in `slot` (dropping what it held) and returns where they are.
fn keep(slot: &Mutex<Vec<u8>>, bytes: Vec<u8>) -> (usize, usize) {
    let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
    *slot = bytes;
    (slot.as_ptr() as usize, slot.len())
}

/// Stores `output` for the host and returns `status`.
pub(crate) fn reply(status: u32, output: impl Into<Output>) -> u32 {
    let (ptr, len) = match output.into() {
        Output::Scratch(len) => (SCRATCH.0.get() as usize, len),
        Output::Heap(bytes) => keep(&OUTPUT, bytes),
    };
    set(word::OUTPUT_PTR, ptr as u32);
    set(word::OUTPUT_LEN, len as u32);
    status
}

/// Hands a maker's state to the host through `STATE_PTR`/`STATE_LEN`.
pub(crate) fn reply_state(state: Vec<u8>) {
    let (ptr, len) = keep(&MADE_STATE, state);
    set(word::STATE_PTR, ptr as u32);
    set(word::STATE_LEN, len as u32);
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

/// A request from the host, read out of the block. Its `state` and `input`
/// are valid only until the entry calls [`into_scratch`] (see
/// [`host_bytes`]).
pub(crate) struct Call {
    pub mode: u32,
    /// Table index of the closure's state trampoline.
    pub trampoline: usize,
    /// Table index of the closure's body.
    pub body: usize,
    pub state: &'static [u8],
    pub input: &'static [u8],
}

/// A host-level entry trampoline: `entry_plain::<A, R>` or `entry_result::<A, T, E>`.
pub(crate) type EntryFn = fn(&Call) -> (u32, Output);

/// `shipfn_call(mode)`: runs the closure that the block describes.
#[doc(hidden)]
#[unsafe(no_mangle)]
pub extern "C" fn shipfn_call(mode: u32) -> u32 {
    install_panic_hook();
    // SAFETY: `call` is dropped when this call returns, and the entries
    // read its state and input only before they call `into_scratch`.
    let (state, input) =
        unsafe { (host_bytes(word::STATE_PTR, word::STATE_LEN), host_bytes(word::INPUT_PTR, word::INPUT_LEN)) };
    let call = Call { mode, trampoline: get(word::TRAMPOLINE) as usize, body: get(word::BODY) as usize, state, input };
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
