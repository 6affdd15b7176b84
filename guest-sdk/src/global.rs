//! Globals: values that sender-side code sets and shipped closures read.
//!
//! A global that has a value on the sender (set, updated or read there)
//! registers its address. When a closure is made, the SDK reports every
//! registered global with its value ([`touched`]); the host reads the
//! module's code and ships those that code the closure can run names. On
//! the receiver each call restores the shipped globals ([`restore`]),
//! refuses a read of a withheld one, and starts every other global from
//! its initializer, as the sender would have.

use core::panic::Location;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;
use shipfn_abi::{ShippedGlobal, wire};

/// A global value that a shipped closure can read.
///
/// Declare it as a `static`; code running on the sender (a maker, say) may
/// change it with [`set`](Global::set) or [`update`](Global::update). A
/// closure made there carries the global's value (as it is when the maker
/// returns; for a global the `ship!` body names, as it was when the closure
/// was built) whenever code the closure can run reads the global: its body,
/// the helpers it calls at any depth, and the closures it captured. Which
/// code that is, is read from the compiled module when the closure is
/// packed. A global that the sender never gave a value is not shipped: its
/// initializer computes the same value on the receiver.
///
/// The value's type must have serde impls, to travel; a global of another
/// type is declared with [`Global::local`] and refused at pack time if a
/// shipped closure can read it after the sender gave it a value.
///
/// On the receiver, every call starts from the shipped values: what one
/// call sets is not seen by the next.
///
/// ```
/// use shipfn_guest::Global;
/// static GLOBAL_ARG: Global<i64> = Global::new(|| 2);
/// assert_eq!(GLOBAL_ARG.get(), 2);
/// GLOBAL_ARG.set(5);
/// assert_eq!(GLOBAL_ARG.with(|v| v * 2), 10);
/// ```
// `repr(C)`: the header is first, so the SDK finds it at the global's
// address, whatever `T` is.
#[repr(C)]
pub struct Global<T> {
    header: Header,
    value: Mutex<Option<T>>,
    init: fn() -> T,
    /// The shipped call in which this global was last restored or set.
    stamp: AtomicU32,
}

/// What the SDK reads of a global through its address alone.
#[repr(C)]
struct Header {
    magic: u32,
    size: u32,
    declared: &'static Location<'static>,
    ty: fn() -> String,
    snapshot: Option<SnapshotFn>,
    restore: Option<RestoreFn>,
    registered: AtomicBool,
}

/// Postcard of a global's value, through its header.
type SnapshotFn = unsafe fn(*const Header) -> Result<Vec<u8>, String>;

/// Sets a global from postcard bytes, through its header.
type RestoreFn = unsafe fn(*const Header, &[u8]) -> Result<(), String>;

/// Marks a [`Header`]: an address a package names must hold one.
const MAGIC: u32 = 0x5348_474c;

impl<T: Serialize + DeserializeOwned + 'static> Global<T> {
    /// A global whose first read yields `init()`.
    #[track_caller]
    pub const fn new(init: fn() -> T) -> Self {
        Self::with_ops(init, Some(snapshot_of::<T>), Some(restore_of::<T>))
    }
}

impl<T> Global<T> {
    /// A global whose type cannot be shipped (it has no serde impls). It
    /// works as any other on the sender and in code that never leaves it;
    /// packing a closure that can read it after the sender gave it a value
    /// is refused, naming it.
    #[track_caller]
    pub const fn local(init: fn() -> T) -> Self {
        Self::with_ops(init, None, None)
    }

    #[track_caller]
    const fn with_ops(init: fn() -> T, snapshot: Option<SnapshotFn>, restore: Option<RestoreFn>) -> Self {
        Global {
            header: Header {
                magic: MAGIC,
                size: size_of::<Self>() as u32,
                declared: Location::caller(),
                ty: crate::args::whole_type_name::<T>,
                snapshot,
                restore,
                registered: AtomicBool::new(false),
            },
            value: Mutex::new(None),
            init,
            stamp: AtomicU32::new(0),
        }
    }

    /// Runs `f` on the current value. `f` must not touch this same global.
    ///
    /// # Panics
    ///
    /// In a shipped call on the receiver, if the global was withheld from
    /// the closure: see [`Global`].
    #[track_caller]
    pub fn with<U>(&'static self, f: impl FnOnce(&T) -> U) -> U {
        self.check_shipped();
        let mut guard = self.value.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            self.register();
        }
        f(guard.get_or_insert_with(self.init))
    }

    /// Changes the current value in place. `f` must not touch this same global.
    ///
    /// # Panics
    ///
    /// As [`with`](Global::with) does.
    #[track_caller]
    pub fn update(&'static self, f: impl FnOnce(&mut T)) {
        self.check_shipped();
        self.register();
        let mut guard = self.value.lock().unwrap_or_else(|e| e.into_inner());
        f(guard.get_or_insert_with(self.init))
    }

    /// Replaces the current value.
    pub fn set(&'static self, value: T) {
        self.register();
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
        self.stamp.store(shipped_call(), Ordering::Relaxed);
    }

    fn register(&'static self) {
        if !self.header.registered.swap(true, Ordering::Relaxed) {
            lock(&REGISTERED).push(&self.header);
        }
    }

    #[track_caller]
    fn check_shipped(&self) {
        let call = shipped_call();
        if call == 0 || self.stamp.load(Ordering::Relaxed) == call {
            return;
        }
        if lock(&WITHHELD).contains(&(self as *const Self as usize as u32)) {
            panic!(
                "shipfn: the global `Global<{}>` declared at {} was read by shipped code, but it was not shipped \
                 with the closure: when the closure was packed, no code it can run was found to read it, so its \
                 value here need not be the sender's (name it in the ship! body, `let _ = &NAME;`, to ship it)",
                (self.header.ty)(),
                self.header.declared
            );
        }
        // Not given a value on the sender: it starts from its initializer,
        // in every call, as it did there.
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.stamp.store(call, Ordering::Relaxed);
    }
}

impl<T: Clone> Global<T> {
    /// The value that a `ship!` body naming this global carries in its own
    /// state, noted for the closure being built ([`take_named`]): it is
    /// restored by that closure's state trampoline, so it need not travel
    /// again. Reading it does not give the global a value.
    pub(crate) fn snapshot_for_body(&'static self) -> T {
        lock(&NAMED).push(self as *const Self as usize as u32);
        let value = self.value.lock().unwrap_or_else(|e| e.into_inner());
        value.clone().unwrap_or_else(self.init)
    }

    /// A copy of the current value.
    ///
    /// # Panics
    ///
    /// As [`with`](Global::with) does.
    #[track_caller]
    pub fn get(&'static self) -> T {
        self.with(T::clone)
    }
}

/// Postcard of the value of the `Global<T>` whose header is at `header`.
///
/// # Safety
/// `header` is the header of a live `Global<T>`.
unsafe fn snapshot_of<T: Serialize>(header: *const Header) -> Result<Vec<u8>, String> {
    // SAFETY: the caller's promise; the header is the global's first field.
    let global = unsafe { &*header.cast::<Global<T>>() };
    let value = global.value.lock().unwrap_or_else(|e| e.into_inner());
    match value.as_ref() {
        Some(value) => postcard::to_allocvec(value).map_err(|e| e.to_string()),
        None => postcard::to_allocvec(&(global.init)()).map_err(|e| e.to_string()),
    }
}

/// Sets the `Global<T>` whose header is at `header` from postcard bytes.
///
/// # Safety
/// `header` is the header of a `Global<T>` that lives for the program.
unsafe fn restore_of<T: DeserializeOwned + 'static>(header: *const Header, bytes: &[u8]) -> Result<(), String> {
    // SAFETY: the caller's promise.
    let global: &'static Global<T> = unsafe { &*header.cast::<Global<T>>() };
    let value = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
    global.set(value);
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The headers of the globals that have a value in this instance.
static REGISTERED: Mutex<Vec<&'static Header>> = Mutex::new(Vec::new());

/// The globals that the `ship!` body being built names (see
/// [`Global::snapshot_for_body`]).
static NAMED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// The globals the `ship!` body just built names.
pub(crate) fn take_named() -> Vec<u32> {
    core::mem::take(&mut *lock(&NAMED))
}

/// The addresses of the globals the running call's package withheld.
static WITHHELD: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Every global that has a value here, with its value (ABI 8): what the
/// host needs to decide which ones a closure made now carries. Appends one
/// [`TouchedGlobal`](shipfn_abi::TouchedGlobal)'s postcard for each to
/// `out` and returns how many.
/// Leaves out the globals in `named`, which the closure's own state carries.
/// In a shipped call, the globals its package withheld are reported too,
/// without a value.
pub(crate) fn touched(named: &[u32], out: &mut Vec<u8>) -> Result<usize, String> {
    let report = |out: &mut Vec<u8>, header: &Header, value: Option<&[u8]>, withheld| {
        let addr = header as *const Header as usize as u32;
        let declared = header.declared.to_string();
        wire::touched_global(out, addr, header.size, &(header.ty)(), &declared, value, withheld);
    };
    let mut count = 0;
    for header in lock(&REGISTERED).clone() {
        if named.contains(&(header as *const Header as usize as u32)) {
            continue;
        }
        let value = match header.snapshot {
            // SAFETY: a registered header is one of a `static` global.
            Some(snapshot) => Some(unsafe { snapshot(header) }.map_err(|e| {
                format!(
                    "the global `Global<{}>` declared at {} does not serialize: {e}",
                    (header.ty)(),
                    header.declared
                )
            })?),
            None => None,
        };
        report(out, header, value.as_deref(), false);
        count += 1;
    }
    if shipped_call() != 0 {
        for addr in lock(&WITHHELD).iter() {
            let header = header_at(*addr).ok_or("a withheld global's address holds no global")?;
            report(out, header, None, true);
            count += 1;
        }
    }
    Ok(count)
}

/// Restores a package's shipped globals for the call just entered, and
/// notes its withheld ones.
pub(crate) fn restore(shipped: &[ShippedGlobal<'_>], withheld: Vec<u32>) -> Result<(), String> {
    *lock(&WITHHELD) = withheld;
    for global in shipped {
        let header = header_at(global.addr).ok_or_else(|| {
            format!("the package names a global at address {}, where this module has none", global.addr)
        })?;
        let restore = header.restore.ok_or_else(|| {
            format!("the global `Global<{}>` declared at {} cannot be shipped", (header.ty)(), header.declared)
        })?;
        // SAFETY: `header_at` found a global's header at the address.
        unsafe { restore(header, global.value) }.map_err(|e| {
            format!("the shipped value of `Global<{}>` declared at {}: {e}", (header.ty)(), header.declared)
        })?;
    }
    Ok(())
}

/// The header of the global at `addr`, if one is there (its magic word,
/// in memory this instance has). A package names globals by address: the
/// module's statics are at the same addresses in every instance of it.
fn header_at(addr: u32) -> Option<&'static Header> {
    let addr = addr as usize;
    let fits = addr.checked_add(size_of::<Header>()).is_some_and(|end| end <= memory_size());
    if addr == 0 || !addr.is_multiple_of(align_of::<Header>()) || !fits {
        return None;
    }
    // SAFETY: the words are inside the instance's memory and aligned; a
    // header begins with its magic word.
    let magic = unsafe { core::ptr::read_volatile(addr as *const u32) };
    // SAFETY: the magic word says a header is there.
    (magic == MAGIC).then(|| unsafe { &*(addr as *const Header) })
}

#[cfg(target_arch = "wasm32")]
fn memory_size() -> usize {
    core::arch::wasm32::memory_size(0) * 65536
}

/// Natively (the SDK's own tests) no package names an address.
#[cfg(not(target_arch = "wasm32"))]
fn memory_size() -> usize {
    0
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
