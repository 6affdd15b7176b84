//! The contract between a shipfn guest module and the shipfn host.
//!
//! Both sides of a call depend on this crate: the guest SDK (compiled to
//! `wasm32-unknown-unknown`) and the host (native). It is `no_std` + `alloc`
//! and holds no logic, only names, numbers and the serde types that cross the
//! boundary, each encoded with postcard.
//!
//! # How a call crosses the boundary
//!
//! The guest exports a data symbol, [`ABI_BLOCK_EXPORT`], which `wasm-ld`
//! turns into an exported wasm global holding the linear-memory address of a
//! small block of little-endian `u32` words (see [`word`]). The host locates
//! the block through that global, asks the guest for buffers with
//! [`ALLOC_EXPORT`] (or uses the guest's static scratch buffer when they fit),
//! writes the closure's captured state and the call's input into them, stores
//! their addresses in the block and calls [`CALL_EXPORT`] with a [`mode`]. The
//! guest answers with a [`status`] and leaves its output in a buffer (the
//! scratch buffer when it fits) whose address it stores back in the block.
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod schema;
pub mod wire;

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// Version of this contract; stored by the guest in [`word::VERSION`].
///
/// - 1: the first version.
/// - 2: adds [`mode::VALIDATE_INDICES`], and makers hand their state over
///   in `STATE_PTR`/`STATE_LEN`, leaving [`Made::state`] empty. A host that
///   speaks only 1 would pack an empty state from such a maker, so the
///   version says it.
/// - 3: [`mode::VALIDATE`] and [`mode::VALIDATE_INDICES`] answer with the
///   closure's [`Signature`] as the module's entry and state trampoline see
///   it, which the host compares with the manifest's; a state trampoline
///   refuses a call whose argument and result types are not its own (a
///   forged trampoline index), and validation checks the closures captured
///   in the state too.
/// - 4: a call checks the state as [`mode::VALIDATE`] does, the closures
///   captured in it included, so a host that has validated a closure of a
///   module once may leave the state of later packages of that closure to
///   their first call.
/// - 5: [`mode::MAKE`]: a closure whose result is a closure answers with the
///   returned closure as a maker does, so that the host can pack it.
/// - 6: type names are whole (`alloc::string::String`, as
///   `core::any::type_name` writes them), so that a host can tell std's
///   types from a user's of the same name; the block has a
///   [`word::FEATURES`] word, and a guest may leave JSON out
///   ([`feature::JSON`]): the host then converts JSON to and from postcard
///   itself, for the types it knows. [`mode::MAKE_POSTCARD`] and the maker
///   modes in [`maker_mode`] exist.
/// - 7: a maker's [`Made`] (and a returned closure's, in [`mode::MAKE`]) is
///   followed in the same output by the postcard [`Schema`](schema::Schema)
///   of the closure's types, traced by the guest, which the host records in
///   the manifest.
/// - 8: globals follow the code. After the schema, a [`Made`] is followed by
///   postcard [`Reached`]: the table indices of the closures captured in the
///   state (at any depth) and every global the guest gave a value
///   ([`TouchedGlobal`]), with its address and value. The host decides from
///   the module's code which of them ship, and hands a closure's state over
///   as postcard [`Envelope`]: the guest restores the shipped globals before
///   each call, refuses a read of a withheld one, and starts every other
///   global from its initializer.
pub const ABI_VERSION: u32 = 8;

/// The first ABI whose closures' states are [`Envelope`]s.
pub const ENVELOPE_ABI: u32 = 8;

/// Most parameters a shipped closure (or a maker) takes.
pub const MAX_PARAMS: usize = 8;

/// The oldest guest ABI this host still runs: every package ever written
/// keeps loading.
pub const MIN_ABI_VERSION: u32 = 1;

/// Name of the exported global that holds the address of the ABI block.
pub const ABI_BLOCK_EXPORT: &str = "SHIPFN_ABI";
/// `shipfn_alloc(len: u32) -> u32`: a guest buffer of `len` bytes.
pub const ALLOC_EXPORT: &str = "shipfn_alloc";
/// `shipfn_call(mode: u32) -> u32`: run the closure described by the block.
pub const CALL_EXPORT: &str = "shipfn_call";
/// Prefix of the export generated for each `#[maker]` function.
pub const MAKER_PREFIX: &str = "shipfn_maker_";
/// Prefix of the export generated for each `#[export]` function.
pub const FN_PREFIX: &str = "shipfn_fn_";

/// Word indices in the ABI block. Each word is a little-endian `u32`.
pub mod word {
    /// [`ABI_VERSION`](super::ABI_VERSION), set by the guest.
    pub const VERSION: usize = 0;
    /// Table index of the host-level entry trampoline (host writes).
    pub const ENTRY: usize = 1;
    /// Table index of the closure's state trampoline (host writes).
    pub const TRAMPOLINE: usize = 2;
    /// Table index of the closure's body function (host writes).
    pub const BODY: usize = 3;
    /// Address of the captured state (host writes).
    pub const STATE_PTR: usize = 4;
    /// Length of the captured state (host writes).
    pub const STATE_LEN: usize = 5;
    /// Address of the call's input (host writes).
    pub const INPUT_PTR: usize = 6;
    /// Length of the call's input (host writes).
    pub const INPUT_LEN: usize = 7;
    /// Address of the call's output (guest writes).
    pub const OUTPUT_PTR: usize = 8;
    /// Length of the call's output (guest writes).
    pub const OUTPUT_LEN: usize = 9;
    /// Address of the last panic message, 0 if none (guest writes).
    pub const PANIC_PTR: usize = 10;
    /// Length of the last panic message (guest writes).
    pub const PANIC_LEN: usize = 11;
    /// Address of the guest's scratch buffer, set statically by the guest.
    /// The host may place state and input there instead of calling
    /// `shipfn_alloc`; the guest may place its output there.
    pub const SCRATCH_PTR: usize = 12;
    /// Length of the scratch buffer (guest sets).
    pub const SCRATCH_LEN: usize = 13;
    /// (ABI 6) What the guest can do: the bits of [`feature`](super::feature),
    /// set statically by the guest. Absent before ABI 6.
    pub const FEATURES: usize = 14;
    /// Number of words in the block (ABI 6; 14 before).
    pub const COUNT: usize = 15;
}

/// Bits of the [`word::FEATURES`] word.
pub mod feature {
    /// The guest decodes and encodes JSON itself: it answers [`mode::JSON`](super::mode::JSON),
    /// [`mode::MAKE`](super::mode::MAKE) and [`mode::DESCRIBE`](super::mode::DESCRIBE), and its makers take
    /// [`maker_mode::JSON`](super::maker_mode::JSON). Guests before ABI 6 all do.
    pub const JSON: u32 = 1;
}

/// (ABI 6) What a maker export is asked to do, written by the host in
/// [`word::ENTRY`] before it calls the maker (a maker has no entry of its
/// own). Guests before ABI 6 take every maker call as [`JSON`](maker_mode::JSON).
pub mod maker_mode {
    /// Input: as [`mode::JSON`](super::mode::JSON). Output: postcard [`Made`](super::Made).
    pub const JSON: u32 = 0;
    /// Input: postcard of the maker's argument tuple. Output: as `JSON`.
    pub const POSTCARD: u32 = 1;
    /// No input. Output: postcard `Vec<Field>`: the maker's parameters
    /// (names and whole type names), for a host to encode them.
    pub const PARAMS: u32 = 2;
}

/// What `shipfn_call` is asked to do.
pub mod mode {
    /// Input: postcard of the argument tuple. Output: postcard of the result.
    pub const POSTCARD: u32 = 0;
    /// Input: postcard `Vec<String>`, one JSON text per argument.
    /// Output: the result as JSON text.
    pub const JSON: u32 = 1;
    /// No input. Output: postcard [`StateJson`](super::StateJson).
    pub const DESCRIBE: u32 = 2;
    /// No input: check that the entry and state trampoline indices are the
    /// module's and that the state decodes as their types (with the closures
    /// captured in it). Output (ABI 3): postcard [`Signature`](super::Signature)
    /// with unnamed parameters, as the entry and trampoline see it; nothing
    /// before ABI 3.
    pub const VALIDATE: u32 = 3;
    /// As [`VALIDATE`], without decoding the state. Guests older than this
    /// mode (ABI 1) answer [`BAD_MODE`](super::status::BAD_MODE); use
    /// `VALIDATE` with them.
    pub const VALIDATE_INDICES: u32 = 4;
    /// Input: as [`JSON`]. Output (ABI 5): postcard [`Made`](super::Made) of
    /// the closure that the call returned, its state handed over in the
    /// block's `STATE_PTR`/`STATE_LEN` words as a maker's is; a result that
    /// is not one closure built in this call is [`BAD_MODE`](super::status::BAD_MODE)
    /// with a message. Older guests answer `BAD_MODE` ("unknown mode").
    pub const MAKE: u32 = 5;
    /// (ABI 6) As [`MAKE`], with the input as in [`POSTCARD`].
    pub const MAKE_POSTCARD: u32 = 6;
}

/// What `shipfn_call` and the maker exports return.
pub mod status {
    /// Success; the output holds the answer.
    pub const OK: u32 = 0;
    /// The closure returned `Err(e)`; the output holds `e.to_string()`.
    pub const GUEST_ERROR: u32 = 1;
    /// An argument did not decode; the output holds a postcard [`ArgError`](super::ArgError).
    pub const BAD_ARGS: u32 = 2;
    /// The captured state or the block did not decode; the output holds a message.
    pub const BAD_STATE: u32 = 3;
    /// The mode is unknown; the output holds a message.
    pub const BAD_MODE: u32 = 4;
}

/// A named, typed slot: a parameter, a captured value or a global.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Field {
    /// The Rust name as written in the source.
    pub name: String,
    /// The Rust type: whole, as `core::any::type_name` writes it, from
    /// guests of ABI 6 on (`alloc::vec::Vec<alloc::string::String>`); with
    /// module paths removed before (`Vec<String>`). [`short_type_name`]
    /// gives the short form of either.
    pub ty: String,
}

/// The types a closure takes, returns and carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Signature {
    /// Parameters, in call order.
    pub params: Vec<Field>,
    /// The result type as written (`Result<i64, String>` for a fallible closure).
    pub result: String,
    /// For a fallible closure, the type of the value on success.
    pub ok: Option<String>,
    /// For a fallible closure, the error type whose message an `Err` reports.
    pub error: Option<String>,
    /// Values the closure captured from its environment.
    pub captures: Vec<Field>,
    /// Globals the closure reads, snapshotted when it was made.
    pub globals: Vec<Field>,
}

/// What a maker export answers: everything the host needs to pack a closure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    /// Table index of the host-level entry trampoline.
    pub entry: u32,
    /// Table index of the closure's state trampoline.
    pub trampoline: u32,
    /// Table index of the closure's body.
    pub body: u32,
    /// The captured state: postcard of (captures, globals). Empty when the
    /// maker hands the state over in the block's `STATE_PTR`/`STATE_LEN`
    /// words instead, as this SDK does (no copy of a large state inside the
    /// guest); a host reads those words when this is empty. Encoded as
    /// bytes (one copy, not one call per byte); the same wire format as a
    /// `Vec<u8>`.
    #[serde(with = "serde_bytes")]
    pub state: Vec<u8>,
    /// The closure's types.
    pub signature: Signature,
}

/// (ABI 8) What a guest reports after a [`Made`] and its schema: what the
/// host needs to tell which globals the closure's code can read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Reached {
    /// Table indices of the state trampolines of the closures captured in
    /// the state, at any depth: the indirect calls that run them are
    /// resolved to these. `None` when the guest does not know them all (a
    /// closure captured a closure it decoded from a state): then those
    /// calls may run any trampoline of the module.
    pub trampolines: Option<Vec<u32>>,
    /// Every global that has a value in the guest (set, updated or read)
    /// when the closure was made.
    pub globals: Vec<TouchedGlobal>,
}

/// (ABI 8) A global that has a value on the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TouchedGlobal {
    /// Linear-memory address of the `Global` static.
    pub addr: u32,
    /// Its size in bytes: code that names an address in `addr..addr + size`
    /// names the global.
    pub size: u32,
    /// The value's whole type name.
    pub ty: String,
    /// Where the global is declared, `file:line:column`.
    pub declared: String,
    /// Postcard of the value; `None` for a global whose type has no serde
    /// impls (`Global::local`), or that is `withheld`.
    #[serde(with = "serde_bytes")]
    pub value: Option<Vec<u8>>,
    /// The package that this call (a `MAKE` on the receiver) runs withheld
    /// the global: its value is not here, and a closure made now that can
    /// read it cannot be packed.
    pub withheld: bool,
}

/// (ABI 8) The state of a closure as the host hands it to the guest: the
/// closure's own state, the globals shipped with it and those withheld.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope<'a> {
    /// Globals restored before each call.
    #[serde(borrow)]
    pub globals: Vec<ShippedGlobal<'a>>,
    /// Addresses of globals the sender gave a value but that no code of the
    /// closure can read: reading one is refused, naming it.
    pub withheld: Vec<u32>,
    /// Postcard of the closure's (captures, globals named in its body).
    /// Last, so that a host can write the envelope's other fields in front
    /// of a large state as it copies it.
    #[serde(borrow, with = "serde_bytes")]
    pub state: &'a [u8],
}

/// (ABI 8) A global's value, shipped in an [`Envelope`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippedGlobal<'a> {
    /// Linear-memory address of the `Global` static.
    pub addr: u32,
    /// The value's whole type name, UTF-8, for tools (bytes: the guest
    /// skips it without checking it).
    #[serde(borrow, with = "serde_bytes")]
    pub ty: &'a [u8],
    /// Where the global is declared, UTF-8, for tools.
    #[serde(borrow, with = "serde_bytes")]
    pub declared: &'a [u8],
    /// Whether the body's compiled code names it (a helper inlined into
    /// the body counts as the body); else code the closure calls does. For
    /// tools.
    pub by_body: bool,
    /// Postcard of the value.
    #[serde(borrow, with = "serde_bytes")]
    pub value: &'a [u8],
}

/// An argument that did not decode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgError {
    /// Zero-based position of the argument, or `u32::MAX` for a wrong count.
    pub index: u32,
    /// What went wrong, in the decoder's words.
    pub message: String,
}

/// The captured state rendered as JSON by the guest's own serde impls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateJson {
    /// A JSON object: capture name to value.
    pub captures: String,
    /// A JSON object: global name to value.
    pub globals: String,
}

/// `core::any::type_name` without module paths: `Vec<String>`, not
/// `alloc::vec::Vec<alloc::string::String>`.
pub fn type_name<T: ?Sized>() -> String {
    short_type_name(core::any::type_name::<T>())
}

/// A whole type name without module paths (`Vec<String>` for
/// `alloc::vec::Vec<alloc::string::String>`), and without the hasher of a
/// `HashMap` or `HashSet` that uses the default one. A name that is short
/// already is returned as it is.
pub fn short_type_name(full: &str) -> String {
    let mut out = String::with_capacity(full.len());
    let mut segment_start = 0;
    let mut rest = full;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("::") {
            // Drop the path written so far in this segment.
            out.truncate(segment_start);
            rest = after;
            continue;
        }
        out.push(c);
        // Separators are ASCII; identifiers may hold any other character
        // (and asking Unicode's tables would put them in every guest).
        if !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()) {
            segment_start = out.len();
        }
        rest = &rest[c.len_utf8()..];
    }
    out.replace(", RandomState", "")
}
