//! Errors by class, so that callers can tell a bad package from a timeout.

use std::time::Duration;

use shipfn_format::FormatError;

/// Why loading, packing or calling failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The package's bytes are not a valid package.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// The package is not signed by a trusted key.
    #[error("untrusted package: {0}")]
    Untrusted(String),
    /// The module does not validate or compile; the source says why.
    #[error("invalid WebAssembly module")]
    InvalidModule(#[source] Source),
    /// The module imports something the host does not provide.
    #[error(
        "the module imports `{module}::{name}`, which shipfn does not provide: shipped code gets no WASI and no host functions"
    )]
    ForbiddenImport {
        /// The import's module name.
        module: String,
        /// The import's field name.
        name: String,
    },
    /// A thin package names a module that this host does not have.
    #[error(
        "the package is thin: it names module sha256 {sha256}, which this host's module store does not have{}; \
         add the module with `shipfn module add FILE` (its .wasm, or a full package of it), or load a full package of it first",
        if *.damaged { " (the stored copy does not match its hash and was ignored)" } else { "" }
    )]
    ModuleMissing {
        /// The module's SHA-256, in hex.
        sha256: String,
        /// A stored copy was there but did not match the hash.
        damaged: bool,
    },
    /// The module lacks the exports of the shipfn guest ABI.
    #[error("not a shipfn guest module: {0} (is it built with the shipfn-guest crate?)")]
    NotAGuest(String),
    /// No maker or exported function by that name.
    #[error("the module has no {what} `{name}`; {}", list_available(.available))]
    NoSuchExport {
        /// "maker" or "exported function".
        what: &'static str,
        /// The name asked for.
        name: String,
        /// The names the module has.
        available: Vec<String>,
    },
    /// A closure cannot be packed: a global that it may read cannot ship.
    #[error("cannot pack the closure: {0}")]
    Unshippable(String),
    /// An argument had the wrong count, type or syntax.
    #[error("{0}")]
    BadArgs(String),
    /// A JSON call of a guest built without JSON, whose type the host cannot
    /// convert itself: one the package's schema could not describe, or any
    /// type but std's in a package without a schema (guests before ABI 7).
    #[error(
        "the host cannot convert {what} of type `{ty}` to or from JSON ({why}), and the guest was built \
         without shipfn-guest's `json` feature: build it with that feature (the default), or call it with \
         typed postcard arguments"
    )]
    NoJson {
        /// The type, whole (`my_guest::Point`).
        ty: String,
        /// Which value has it: "parameter `x`", "the result", "the capture `y`".
        what: String,
        /// Why it has no known shape.
        why: String,
    },
    /// The closure returned `Err(e)`.
    #[error("the function returned an error: {0}")]
    GuestError(String),
    /// The guest panicked.
    #[error("the guest panicked: {0}")]
    Panic(String),
    /// The guest trapped (stack overflow, unreachable, out-of-bounds access, …).
    #[error("the guest trapped: {0}")]
    Trap(String),
    /// The call ran past its time limit.
    #[error("the call ran past its time limit of {0:?} and was stopped")]
    Timeout(Duration),
    /// Compiling the module took longer than its time limit.
    #[error("compiling the module took longer than its time limit of {0:?}")]
    CompileTimeout(Duration),
    /// The module is larger or more complex than a host compiles: compiling
    /// it could take minutes or gigabytes.
    #[error("the module is too large or complex to compile safely: {0}")]
    ModuleTooComplex(String),
    /// The call used up its fuel.
    #[error("the call used up its fuel ({0} units) and was stopped")]
    OutOfFuel(u64),
    /// The guest tried to grow its memory past the limit.
    #[error("the guest tried to grow its memory to {requested} bytes, past the limit of {limit} bytes")]
    MemoryLimit {
        /// The limit.
        limit: usize,
        /// What the guest asked for.
        requested: usize,
    },
    /// The result is larger than the limit.
    #[error("the result is {len} bytes, larger than the limit of {limit} bytes")]
    ResultTooLarge {
        /// The result's size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// Limits asked for that the host cannot enforce.
    #[error("invalid limits: {0}")]
    InvalidLimits(String),
    /// Every pooled instance slot is in use.
    #[error("too many calls at once: {0}")]
    Busy(String),
    /// The guest broke the ABI contract (bad pointers, bad state, bad encoding).
    #[error("the guest broke the shipfn ABI: {0}")]
    Abi(String),
    /// A failure inside the host itself.
    #[error("host error: {context}")]
    Internal {
        /// What the host was doing.
        context: String,
        /// Why it failed.
        #[source]
        source: Source,
    },
}

/// The error underneath an [`Error`] (wasmtime's, the system's), kept as its
/// source so that a report can show the whole chain.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

impl Error {
    /// A failure of the host itself while doing `context`.
    pub(crate) fn internal(context: impl Into<String>, source: impl Into<Source>) -> Error {
        Error::Internal { context: context.into(), source: source.into() }
    }

    /// The error and its sources on one line, `a: b: c`, as a report to a
    /// person shows it (`Display` shows only the first).
    pub fn report(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}

fn list_available(names: &[String]) -> String {
    if names.is_empty() { "it has none".into() } else { format!("it has: {}", names.join(", ")) }
}

/// The class of an [`Error`]: what a caller (or an exit code) acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The package or module is corrupt, hostile, or not a shipfn guest.
    BadPackage,
    /// The package is not signed by a trusted key.
    Untrusted,
    /// The caller's arguments are wrong.
    BadArgs,
    /// The function returned an error value.
    GuestError,
    /// The guest panicked or trapped.
    Trap,
    /// The time limit or fuel ran out.
    Timeout,
    /// The memory or result-size limit was hit.
    ResourceLimit,
    /// The host failed.
    Internal,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 8] = [
        ErrorKind::BadPackage,
        ErrorKind::Untrusted,
        ErrorKind::BadArgs,
        ErrorKind::GuestError,
        ErrorKind::Trap,
        ErrorKind::Timeout,
        ErrorKind::ResourceLimit,
        ErrorKind::Internal,
    ];

    /// The kind's stable name in snake case (`bad_args`, `guest_error`, …),
    /// as written in JSON results.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadPackage => "bad_package",
            ErrorKind::Untrusted => "untrusted",
            ErrorKind::BadArgs => "bad_args",
            ErrorKind::GuestError => "guest_error",
            ErrorKind::Trap => "trap",
            ErrorKind::Timeout => "timeout",
            ErrorKind::ResourceLimit => "resource_limit",
            ErrorKind::Internal => "internal",
        }
    }

    /// The kind named `name` (see [`name`](ErrorKind::name)).
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Error {
    /// The class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Format(_)
            | Error::InvalidModule(_)
            | Error::ForbiddenImport { .. }
            | Error::NotAGuest(_)
            | Error::ModuleMissing { .. }
            | Error::NoSuchExport { .. }
            | Error::Abi(_)
            | Error::Unshippable(_) => ErrorKind::BadPackage,
            Error::Untrusted(_) => ErrorKind::Untrusted,
            Error::BadArgs(_) | Error::InvalidLimits(_) | Error::NoJson { .. } => ErrorKind::BadArgs,
            Error::GuestError(_) => ErrorKind::GuestError,
            Error::Panic(_) | Error::Trap(_) => ErrorKind::Trap,
            Error::Timeout(_) | Error::CompileTimeout(_) | Error::OutOfFuel(_) => ErrorKind::Timeout,
            Error::MemoryLimit { .. } | Error::ResultTooLarge { .. } | Error::Busy(_) | Error::ModuleTooComplex(_) => {
                ErrorKind::ResourceLimit
            }
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }
}

/// `Result` with an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
