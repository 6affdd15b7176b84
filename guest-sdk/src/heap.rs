//! The guest's global allocator (feature `allocator`, on by default):
//! Talc, fed first with the free tail of the module's initial memory.
//!
//! Std's allocator on `wasm32-unknown-unknown` grows memory for its first
//! allocation and never uses the initial memory past the static data. In a
//! host's fresh instance that growth is most of the cost of a closure that
//! allocates at all: the pooled memory's new pages are mapped in and faulted
//! on this call and unmapped again when the instance is recycled. `shipfn
//! pack` links guests with an initial heap (`--initial-heap`), and this
//! allocator hands that out before growing memory, so small allocations never
//! grow it. Talc takes 1.9 KB of a module where std's dlmalloc took 6.7 KB.
//!
//! Turn the feature off (`default-features = false`) to bring your own
//! `#[global_allocator]`.

use core::alloc::Layout;
use core::arch::wasm32;
use core::ptr::NonNull;

use talc::base::Talc;
use talc::base::binning::Binning;
use talc::cell::TalcSyncCell;
use talc::wasm::WasmBinning;

const PAGE: usize = 64 << 10;

/// What a heap holds beyond an allocation's bytes, at most: Talc's chunk
/// headers and the heap's own bookkeeping, and padding to the alignment.
const OVERHEAD: usize = 256;

unsafe extern "C" {
    /// Where the linker put the start of the heap: the first byte after the
    /// stack and the static data.
    static __heap_base: u8;
}

/// Where Talc gets memory from: the initial memory's tail, then growth,
/// each growth extending the heap when it follows it.
#[derive(Debug)]
struct TailThenGrow {
    /// Whether the tail has been claimed.
    tail_taken: bool,
    /// The end of the heap last claimed or extended.
    end: Option<NonNull<u8>>,
}

// SAFETY: claims only memory no one else uses (the tail past the static data
// and the stack, and pages it grew), and never allocates.
unsafe impl talc::source::Source for TailThenGrow {
    fn acquire<B: Binning>(talc: &mut Talc<Self, B>, layout: Layout) -> Result<(), ()> {
        if !talc.source.tail_taken {
            talc.source.tail_taken = true;
            let base = (&raw const __heap_base as usize).next_multiple_of(16);
            let end = wasm32::memory_size(0) * PAGE;
            if end > base + OVERHEAD {
                // SAFETY: the tail is unused and in bounds.
                talc.source.end = unsafe { talc.claim(base as *mut u8, end - base) };
                if talc.source.end.is_some() {
                    // Talc asks again if the tail is too small.
                    return Ok(());
                }
            }
        }
        let needed = layout.size().checked_add(layout.align() + OVERHEAD).ok_or(())?;
        let pages = needed.div_ceil(PAGE);
        let previous = wasm32::memory_grow(0, pages);
        if previous == usize::MAX {
            return Err(());
        }
        let (start, len) = (previous * PAGE, pages * PAGE);
        let new_end = start.wrapping_add(len) as *mut u8;
        talc.source.end = match talc.source.end.take() {
            // SAFETY: the new pages follow the heap's end.
            Some(end) if end.as_ptr() as usize == start => Some(unsafe { talc.extend(end, new_end) }),
            // SAFETY: the new pages are unused.
            _ => unsafe { talc.claim(start as *mut u8, len) },
        };
        if talc.source.end.is_some() { Ok(()) } else { Err(()) }
    }
}

const _: () = assert!(!cfg!(target_feature = "atomics"), "the shipfn allocator is single-threaded");

#[global_allocator]
static HEAP: TalcSyncCell<TailThenGrow, WasmBinning> =
    TalcSyncCell::new_wasm(TailThenGrow { tail_taken: false, end: None });
