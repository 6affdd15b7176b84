//! The seed example, in Rust.
//!
//! ```python
//! global_arg = 2
//! def closure_maker(closure_arg):
//!     def closure_func(own_arg):
//!         return own_arg + closure_arg + global_arg + 1
//!     return closure_func
//! ```
//!
//! `shipfn pack examples/closure --make closure_maker --arg 3 -o closure.fnpkg`
//! then `shipfn run closure.fnpkg --arg 4` prints `10`.

use shipfn_guest::{Closure, Global, maker, ship};

/// A global the closure reads; shipped with the value it has at pack time.
pub static GLOBAL_ARG: Global<i64> = Global::new(|| 2);

/// Returns `own_arg + closure_arg + GLOBAL_ARG + 1` as a shippable closure.
#[maker]
pub fn closure_maker(closure_arg: i64) -> Closure<(i64,), i64> {
    ship!(move |own_arg: i64| own_arg + closure_arg + GLOBAL_ARG.get() + 1)
}
