//! The guest's global allocator (feature `allocator`, on by default): std's
//! own dlmalloc, fed first with the free tail of the module's initial memory.
//!
//! Std's allocator on `wasm32-unknown-unknown` grows memory for its first
//! allocation and never uses the initial memory past the static data. In a
//! host's fresh instance that growth is most of the cost of a closure that
//! allocates at all: the pooled memory's new pages are mapped in and faulted
//! on this call and unmapped again when the instance is recycled. `shipfn
//! pack` links guests with an initial heap (`--initial-heap`), and this
//! allocator hands that out before growing memory, so small allocations never
//! grow it.
//!
//! Turn the feature off (`default-features = false`) to bring your own
//! `#[global_allocator]`.

use core::alloc::{GlobalAlloc, Layout};
use core::arch::wasm32;
use core::cell::UnsafeCell;
use core::ptr;

const PAGE: usize = 64 << 10;

unsafe extern "C" {
    /// Where the linker put the start of the heap: the first byte after the
    /// stack and the static data.
    static __heap_base: u8;
}

/// Where dlmalloc gets memory from: the initial memory's tail, then growth.
struct System {
    /// Whether the tail has been handed out.
    tail_taken: UnsafeCell<bool>,
}

// SAFETY: every method of the system allocator matches the contract of
// dlmalloc's own wasm one, except that the first region handed out is the
// tail of the initial memory (plus growth if the request needs more), which
// no one else uses and which is zero in a new instance.
unsafe impl dlmalloc::Allocator for System {
    fn alloc(&self, size: usize) -> (*mut u8, usize, u32) {
        // SAFETY: wasm32 without threads: no other access is in flight.
        let tail_taken = unsafe { &mut *self.tail_taken.get() };
        let (base, tail) = if *tail_taken {
            (0, 0)
        } else {
            *tail_taken = true;
            let base = ptr::addr_of!(__heap_base) as usize;
            let base = base.next_multiple_of(16);
            let end = wasm32::memory_size(0) * PAGE;
            (base, end.saturating_sub(base))
        };
        if tail >= size && tail > 0 {
            return (base as *mut u8, tail, 0);
        }
        // Grow for what the tail does not cover; the new pages follow the
        // tail, so the two make one region.
        let pages = (size - tail).div_ceil(PAGE);
        let previous = wasm32::memory_grow(0, pages);
        if previous == usize::MAX {
            return (ptr::null_mut(), 0, 0);
        }
        // Something else grew memory since the tail was measured: the tail
        // no longer ends where the new pages start, so leave it unused.
        let joined = tail > 0 && previous * PAGE == base + tail;
        let (start, len) = if joined { (base, tail + pages * PAGE) } else { (previous * PAGE, pages * PAGE) };
        // The very top of the address space cannot be handed out in full:
        // a pointer may not wrap to 0 (as in dlmalloc's own wasm allocator).
        if start.wrapping_add(len) == 0 {
            return (start as *mut u8, len - 16, 0);
        }
        (start as *mut u8, len, 0)
    }

    fn remap(&self, _ptr: *mut u8, _old: usize, _new: usize, _can_move: bool) -> *mut u8 {
        ptr::null_mut()
    }

    fn free_part(&self, _ptr: *mut u8, _old: usize, _new: usize) -> bool {
        false
    }

    fn free(&self, _ptr: *mut u8, _size: usize) -> bool {
        false
    }

    fn can_release_part(&self, _flags: u32) -> bool {
        false
    }

    fn allocates_zeros(&self) -> bool {
        true
    }

    fn page_size(&self) -> usize {
        PAGE
    }
}

/// dlmalloc over [`System`].
struct Heap(UnsafeCell<dlmalloc::Dlmalloc<System>>);

// SAFETY: `wasm32-unknown-unknown` without the atomics feature runs one
// thread, so the allocator is never entered twice at once.
unsafe impl Sync for Heap {}

const _: () = assert!(!cfg!(target_feature = "atomics"), "the shipfn allocator is single-threaded");

// SAFETY: dlmalloc upholds `GlobalAlloc`'s contract given exclusive access,
// which the single thread gives.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).malloc(layout.size(), layout.align()) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { (*self.0.get()).calloc(layout.size(), layout.align()) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { (*self.0.get()).free(ptr, layout.size(), layout.align()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { (*self.0.get()).realloc(ptr, layout.size(), layout.align(), new_size) }
    }
}

#[global_allocator]
static HEAP: Heap =
    Heap(UnsafeCell::new(dlmalloc::Dlmalloc::new_with_allocator(System { tail_taken: UnsafeCell::new(false) })));
