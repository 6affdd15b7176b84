//! Why a package was refused.

/// Why bytes are not a package this version can load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The magic is missing: not a `.fnpkg` at all.
    #[error("not a shipfn package (the file does not start with the .fnpkg magic)")]
    NotAPackage,
    /// The file is shorter than its header says.
    #[error("truncated package: {expected} bytes expected, {actual} present")]
    Truncated {
        /// Bytes the header calls for.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },
    /// The file is longer than its header says.
    #[error("{0} unexpected bytes after the end of the package")]
    TrailingBytes(u64),
    /// The lengths in the header overflow.
    #[error("corrupt package: section lengths overflow")]
    BadLength,
    /// A newer shipfn wrote this package.
    #[error("made by a newer shipfn (format {0}); this shipfn reads formats 1 to {FORMAT_VERSION}", FORMAT_VERSION = crate::FORMAT_VERSION)]
    NewerFormat(u32),
    /// A format version that never existed.
    #[error("unsupported package format {0}")]
    UnsupportedFormat(u32),
    /// Flags this version does not know.
    #[error("corrupt package: unknown header flags {0:#x}")]
    UnknownFlags(u32),
    /// The whole-file digest does not match: some byte changed.
    #[error("corrupt package: its SHA-256 digest does not match its contents (the file was changed or damaged)")]
    DigestMismatch,
    /// The manifest does not decode.
    #[error("corrupt package: the manifest does not decode: {0}")]
    Manifest(String),
    /// The manifest is not sensible.
    #[error("invalid manifest: {0}")]
    InvalidManifest(String),
    /// A section's hash is not the one the manifest records.
    #[error("corrupt package: the {0} does not match the hash in the manifest")]
    HashMismatch(&'static str),
    /// The signature does not verify: the package was changed after signing.
    #[error("bad signature: the package was changed after it was signed, or the signature is damaged")]
    BadSignature,
    /// A key file is not usable.
    #[error("bad key file: {0}")]
    BadKey(String),
    /// The module section is not wasm.
    #[error("corrupt package: the module section is not a WebAssembly module")]
    NotWasm,
    /// A thin package (format 2) whose module section is not empty.
    #[error("a thin package (format 2) carries a module of {0} bytes; it must name its module, not carry it")]
    ThinWithModule(u64),
}

/// `Result` with a [`FormatError`].
pub type Result<T, E = FormatError> = core::result::Result<T, E>;
