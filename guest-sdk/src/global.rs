//! Globals: values that sender-side code sets and shipped closures read.

use core::panic::Location;
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

/// A global value that a shipped closure can read.
///
/// Declare it as a `static`; code running on the sender (a maker, say) may
/// change it with [`set`](Global::set). When [`ship!`](crate::ship) builds a
/// closure whose body names the global, the global's value at that moment is
/// snapshotted into the closure's state, and restored on the receiver before
/// the body runs. A global the closure does not name is not shipped.
///
/// On the receiver, reading a global that was not shipped with the closure
/// (one read only inside a helper function, say) panics, naming where the
/// global is declared and where it was read, rather than answering with
/// whatever value the receiver happens to have: name the global in the
/// `ship!` body (`let _ = &SCALE;` is enough) to ship it. A global the
/// closure itself sets on the receiver may be read afterwards.
///
/// ```
/// use shipfn_guest::Global;
/// static GLOBAL_ARG: Global<i64> = Global::new(|| 2);
/// assert_eq!(GLOBAL_ARG.get(), 2);
/// GLOBAL_ARG.set(5);
/// assert_eq!(GLOBAL_ARG.with(|v| v * 2), 10);
/// ```
pub struct Global<T> {
    value: Mutex<Option<T>>,
    init: fn() -> T,
    /// The shipped call in which this global was last restored or set.
    stamp: AtomicU32,
    declared: &'static Location<'static>,
}

impl<T> Global<T> {
    /// A global whose first read yields `init()`.
    #[track_caller]
    pub const fn new(init: fn() -> T) -> Self {
        Global { value: Mutex::new(None), init, stamp: AtomicU32::new(0), declared: Location::caller() }
    }

    /// Runs `f` on the current value. `f` must not touch this same global.
    ///
    /// # Panics
    ///
    /// In a shipped call on the receiver, if the global was not shipped with
    /// the closure (nor set by it): see [`Global`].
    #[track_caller]
    pub fn with<U>(&self, f: impl FnOnce(&T) -> U) -> U {
        self.check_shipped();
        let mut guard = self.value.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(self.init))
    }

    /// Changes the current value in place. `f` must not touch this same global.
    ///
    /// # Panics
    ///
    /// As [`with`](Global::with) does.
    #[track_caller]
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        self.check_shipped();
        let mut guard = self.value.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(self.init))
    }

    /// Replaces the current value.
    pub fn set(&self, value: T) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
        self.stamp.store(shipped_call(), Ordering::Relaxed);
    }

    #[track_caller]
    fn check_shipped(&self) {
        let call = shipped_call();
        if call != 0 && self.stamp.load(Ordering::Relaxed) != call {
            panic!(
                "shipfn: the global `Global<{}>` declared at {} was read by shipped code, but it was not shipped \
                 with the closure, so its value here need not be the sender's: name it in the ship! body \
                 (`let _ = &NAME;` is enough) to ship its value",
                crate::args::whole_type_name::<T>(),
                self.declared
            );
        }
    }
}

impl<T: Clone> Global<T> {
    /// A copy of the current value.
    ///
    /// # Panics
    ///
    /// As [`with`](Global::with) does.
    #[track_caller]
    pub fn get(&self) -> T {
        self.with(T::clone)
    }
}

/// The shipped call running now on the receiver, or 0 outside one (on the
/// sender, in a maker, in an exported plain function). Each call gets a
/// number no earlier call of this instance had, so a warm instance restores
/// its globals for every call.
static SHIPPED_CALL: AtomicU32 = AtomicU32::new(0);
static NEXT_CALL: AtomicU32 = AtomicU32::new(1);

fn shipped_call() -> u32 {
    SHIPPED_CALL.load(Ordering::Relaxed)
}

/// Marks a shipped call on the receiver while it lives: globals read in it
/// must have been restored from the closure's snapshot, or set by it.
pub(crate) struct ShippedCall {
    outer: u32,
}

impl ShippedCall {
    pub fn enter() -> ShippedCall {
        let mut call = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
        if call == 0 {
            call = NEXT_CALL.fetch_add(1, Ordering::Relaxed);
        }
        ShippedCall { outer: SHIPPED_CALL.swap(call, Ordering::Relaxed) }
    }

    /// Code that reads globals at their own values: an exported plain
    /// function has no sender-side state, so whatever a global holds is
    /// what it would hold anywhere.
    pub fn leave() -> ShippedCall {
        ShippedCall { outer: SHIPPED_CALL.swap(0, Ordering::Relaxed) }
    }
}

impl Drop for ShippedCall {
    fn drop(&mut self) {
        SHIPPED_CALL.store(self.outer, Ordering::Relaxed);
    }
}

/// Runs an exported plain function's body outside any shipped call.
#[doc(hidden)]
pub fn unshipped<R>(body: impl FnOnce() -> R) -> R {
    let _outside = ShippedCall::leave();
    body()
}
