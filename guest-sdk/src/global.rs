//! Globals: values that sender-side code sets and shipped closures read.

use std::sync::Mutex;

/// A global value that a shipped closure can read.
///
/// Declare it as a `static`; code running on the sender (a maker, say) may
/// change it with [`set`](Global::set). When [`ship!`](crate::ship) builds a
/// closure whose body names the global, the global's value at that moment is
/// snapshotted into the closure's state, and restored on the receiver before
/// the body runs. A global the closure does not name is not shipped.
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
}

impl<T> Global<T> {
    /// A global whose first read yields `init()`.
    pub const fn new(init: fn() -> T) -> Self {
        Global { value: Mutex::new(None), init }
    }

    /// Runs `f` on the current value. `f` must not touch this same global.
    pub fn with<U>(&self, f: impl FnOnce(&T) -> U) -> U {
        let mut guard = self.value.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(self.init))
    }

    /// Changes the current value in place. `f` must not touch this same global.
    pub fn update(&self, f: impl FnOnce(&mut T)) {
        let mut guard = self.value.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(self.init))
    }

    /// Replaces the current value.
    pub fn set(&self, value: T) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
    }
}

impl<T: Clone> Global<T> {
    /// A copy of the current value.
    pub fn get(&self) -> T {
        self.with(T::clone)
    }
}
