//! Write Rust closures that shipfn can pack into a `.fnpkg` and run on
//! another machine.
//!
//! A guest crate is a `cdylib` that depends on this crate and is built for
//! `wasm32-unknown-unknown` (`shipfn pack` builds it). It holds *makers*:
//! functions that run on the sender, inside wasmtime, and return a closure.
//!
//! ```
//! use shipfn_guest::{Closure, Global, maker, ship};
//!
//! static GLOBAL_ARG: Global<i64> = Global::new(|| 2);
//!
//! #[maker]
//! pub fn closure_maker(closure_arg: i64) -> Closure<(i64,), i64> {
//!     ship!(move |own_arg: i64| own_arg + closure_arg + GLOBAL_ARG.get() + 1)
//! }
//!
//! // `shipfn pack . --make closure_maker --arg 3 -o f.fnpkg` runs the maker
//! // on the sender; `shipfn run f.fnpkg --arg 4` prints 10 on the receiver.
//! // In-process, the closure can be called directly too:
//! assert_eq!(closure_maker(3).call(4), 10);
//! ```
//!
//! # Concepts
//!
//! - [`ship!`] rewrites a closure into a function that does not capture, plus
//!   a generated struct of what it captured. Captures are found from the
//!   syntax of the body: every snake_case name that the closure does not bind
//!   itself is moved into the struct, which derives serde's traits, so any
//!   serde type can be captured without naming its type. A name in call
//!   position (`helper(x)`) is taken to be a function. A captured `Vec<u8>`,
//!   `Vec<f32>` or `Vec<f64>` is copied in bulk rather than element by
//!   element, so that large buffers pack and load at memory speed.
//! - A [`Closure<A, R>`](Closure) is a table index for that function plus the
//!   postcard bytes of its captures. It is itself serde, so a closure can
//!   capture another one and [`call`](Closure::call) it.
//! - A [`Global`] is a `static` that sender-side code may change. A closure
//!   carries the globals that the sender gave a value and that code the
//!   closure can run reads (its body, its helpers at any depth, the closures
//!   it captured), found in the compiled module when it is packed; they are
//!   restored on the receiver before each call.
//!   A SCREAMING_CASE name must be an item (a `Global`, a `const` or a
//!   `static`): a local variable named so is refused at compile time with
//!   "can't capture dynamic environment in a fn item" pointing at it; rename
//!   it to snake_case so that it is captured.
//! - [`#[maker]`](maker) exports a function `fn(..) -> Closure<A, R>` for
//!   `shipfn pack --make NAME --arg …`; [`#[export]`](export) exports a plain
//!   function for `shipfn pack --fn NAME`. Their parameters are decoded from
//!   the JSON `--arg`s.
//! - A closure whose result is `Result<T, E>` with `E: Display` is *fallible*:
//!   `Ok(t)` is the result, `Err(e)` is reported by the host as an error
//!   carrying `e.to_string()`. A panic is reported with its message and location.
//!
//! # Features
//!
//! - `allocator` (on by default) makes Talc the guest's global
//!   allocator, fed first with the free heap that `shipfn pack` links into
//!   the initial memory (64 KiB or more), so a call that allocates a little
//!   does not grow a fresh instance's memory (std's own allocator grows it
//!   for the first allocation, which costs a pooled host more than a small
//!   call). Turn it off to bring your own `#[global_allocator]`.
//! - `json` (on by default) puts serde_json in the module: the guest reads
//!   `--arg` texts and writes results as JSON with its own serde impls, so
//!   any serde type works with `shipfn run`, `shipfn map` and `inspect`.
//!   Without it the module is about 87 KB smaller (the seed's is 45 KiB
//!   instead of 131 KiB), and the host converts JSON to and from postcard
//!   itself, by the schema of the closure's types (below): your own
//!   structs and enums too, as serde_json writes them. A type the tracer
//!   cannot describe cannot be called from JSON then; `shipfn pack` warns.
//!
//! # The schema of a closure's types
//!
//! When a maker runs, the SDK traces the serde shape of each parameter, the
//! result, each capture and each global through their `Deserialize` impls
//! (fields in order, variants, formats down to std types) and hands it to
//! the host, which records it in the package. A host compares its own types
//! with it before a typed call, and converts JSON by it. A type that cannot
//! be traced (its `Deserialize` needs a self-describing format, or refuses
//! the tracer's sample values, like `NonZeroU32`; a result type without
//! `Deserialize`) is recorded as untraced, with the reason.
#![deny(missing_docs)]

mod abi;
mod args;
mod capture;
mod closure;
mod entry;
mod global;
#[cfg(all(target_arch = "wasm32", feature = "allocator"))]
mod heap;
mod stateless;

pub use args::{Args, type_name};
pub use closure::Closure;
pub use global::Global;
pub use shipfn_guest_macros::{export, maker, ship};

#[doc(hidden)]
pub mod __private;
