//! Run one shipfn closure over many inputs, in input order: on every core of
//! this machine ([`Local`]), or on many machines through a NATS JetStream
//! server ([`Nats`] to submit, [`Worker`] to run).
//!
//! Inputs and outcomes are JSON: an input is the text of a JSON array of the
//! closure's arguments (`[4]`, `[1, "x"]`, `[]`), an outcome is the result as
//! JSON text or a [`Failure`]. One bad input is one failed outcome; the rest of
//! the batch goes on. Both pools stream: they hold a bounded window of inputs
//! and outcomes, however many there are.
//!
//! ```no_run
//! use shipfn_cluster::{Local, Pool};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let host = shipfn_host::Host::new(Default::default())?;
//! let package = std::fs::read("closure.fnpkg")?;
//! let inputs = (0..1000).map(|x| format!("[{x}]"));
//! for outcome in Local::new(host).map(package, Box::new(inputs))? {
//!     println!("{}", shipfn_cluster::line(&outcome));
//! }
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod error;
mod local;
mod nats;
mod outcome;
mod pace;

pub use error::{Error, Result};
pub use local::Local;
pub use nats::{Auth, Ended, JobStats, Namespace, Nats, NatsConfig, Tls, Worker, WorkerMetrics};
pub use outcome::{Failure, Outcome, line, parse_line};

/// For the fuzz targets in `crates/fuzz`; not a stable API.
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::nats::fuzz::{edited_result, hostile_message};
}

/// The inputs of a map: one JSON array of arguments per item.
pub type Inputs = Box<dyn Iterator<Item = String> + Send>;

/// The outcomes of a map, one per input, in input order.
pub type Outcomes = Box<dyn Iterator<Item = Outcome> + Send>;

/// Somewhere to run a closure over many inputs.
pub trait Pool {
    /// Runs the closure in `package` (the bytes of a `.fnpkg`) once per
    /// input and yields the outcomes in input order, pulling inputs as it
    /// goes: at most a bounded window of them is held at once.
    ///
    /// # Errors
    ///
    /// What stops the whole map before it starts: a package that cannot be
    /// read or loaded (for a pool that loads it here), a server that cannot
    /// be reached. Everything about one input is that input's outcome.
    fn map(&self, package: Vec<u8>, inputs: Inputs) -> Result<Outcomes>;
}
