//! The fixed header at the start of every package.

use crate::{FormatError, Result};

/// The first eight bytes of every package.
pub const MAGIC: [u8; 8] = *b"\x89FNPKG\r\n";
/// The newest format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 4;
/// The format of a full package, which carries its module.
pub const FORMAT_FULL: u32 = 1;
/// The format of a thin package, which names its module by SHA-256 instead
/// of carrying it: the same layout, with an empty module section.
pub const FORMAT_THIN: u32 = 2;
/// A full package whose manifest is followed by the schema of the
/// closure's types (guest ABI 7 on).
pub const FORMAT_FULL_SCHEMA: u32 = 3;
/// A thin package whose manifest is followed by a schema.
pub const FORMAT_THIN_SCHEMA: u32 = 4;
/// Size of the fixed header: magic, version, flags, three lengths.
pub const HEADER_LEN: usize = 8 + 4 + 4 + 4 + 8 + 8;
/// Header flag: a signature block follows the digest.
pub const FLAG_SIGNED: u32 = 1;

/// Where each field of the header is.
mod at {
    pub const VERSION: usize = 8;
    pub const FLAGS: usize = 12;
    pub const MANIFEST_LEN: usize = 16;
    pub const MODULE_LEN: usize = 20;
    pub const STATE_LEN: usize = 28;
}

/// A package's header: its format version, flags and the lengths of its
/// sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Header {
    /// The format version.
    pub version: u32,
    /// Whether a signature block follows the digest ([`FLAG_SIGNED`]).
    pub signed: bool,
    /// Bytes of the postcard manifest.
    pub manifest_len: u32,
    /// Bytes of the wasm module.
    pub module_len: u64,
    /// Bytes of the postcard state.
    pub state_len: u64,
}

impl Header {
    /// The header of a full package (format 1) with these sections.
    pub fn new(signed: bool, manifest_len: u32, module_len: u64, state_len: u64) -> Header {
        Header { version: FORMAT_FULL, signed, manifest_len, module_len, state_len }
    }

    /// Whether the package is thin: its module is named, not carried.
    pub fn is_thin(&self) -> bool {
        self.version == FORMAT_THIN || self.version == FORMAT_THIN_SCHEMA
    }

    /// Whether the manifest is followed by a schema (formats 3 and 4).
    pub fn has_schema(&self) -> bool {
        self.version >= FORMAT_FULL_SCHEMA
    }

    /// The format version of a package of this form, with or without a
    /// schema.
    pub fn version_of(thin: bool, schema: bool) -> u32 {
        match (thin, schema) {
            (false, false) => FORMAT_FULL,
            (true, false) => FORMAT_THIN,
            (false, true) => FORMAT_FULL_SCHEMA,
            (true, true) => FORMAT_THIN_SCHEMA,
        }
    }

    /// The header's bytes.
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut bytes = [0u8; HEADER_LEN];
        let flags = if self.signed { FLAG_SIGNED } else { 0 };
        bytes[..at::VERSION].copy_from_slice(&MAGIC);
        bytes[at::VERSION..at::FLAGS].copy_from_slice(&self.version.to_le_bytes());
        bytes[at::FLAGS..at::MANIFEST_LEN].copy_from_slice(&flags.to_le_bytes());
        bytes[at::MANIFEST_LEN..at::MODULE_LEN].copy_from_slice(&self.manifest_len.to_le_bytes());
        bytes[at::MODULE_LEN..at::STATE_LEN].copy_from_slice(&self.module_len.to_le_bytes());
        bytes[at::STATE_LEN..HEADER_LEN].copy_from_slice(&self.state_len.to_le_bytes());
        bytes
    }

    /// Reads the header at the start of `bytes`: refuses anything that is
    /// not a package, a newer or unknown format, and unknown flags. The
    /// lengths are not checked against anything.
    pub fn decode(bytes: &[u8]) -> Result<Header> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(FormatError::NotAPackage);
        }
        let Some((header, flags)) = Header::fields(bytes) else {
            return Err(FormatError::Truncated { expected: HEADER_LEN as u64, actual: bytes.len() as u64 });
        };
        if header.version > FORMAT_VERSION {
            return Err(FormatError::NewerFormat(header.version));
        }
        if header.version == 0 {
            return Err(FormatError::UnsupportedFormat(header.version));
        }
        if flags & !FLAG_SIGNED != 0 {
            return Err(FormatError::UnknownFlags(flags));
        }
        if header.is_thin() && header.module_len != 0 {
            return Err(FormatError::ThinWithModule(header.module_len));
        }
        Ok(header)
    }

    /// The header's fields as they are, without checking the magic, the
    /// version or the flags (other flags than [`FLAG_SIGNED`] are dropped):
    /// for tools that repair or forge packages, such as a fuzzer. `None` if
    /// `bytes` is shorter than a header.
    pub fn decode_unchecked(bytes: &[u8]) -> Option<Header> {
        Header::fields(bytes).map(|(header, _)| header)
    }

    fn fields(bytes: &[u8]) -> Option<(Header, u32)> {
        let bytes = bytes.get(..HEADER_LEN)?;
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let flags = u32_at(at::FLAGS);
        let header = Header {
            version: u32_at(at::VERSION),
            signed: flags & FLAG_SIGNED != 0,
            manifest_len: u32_at(at::MANIFEST_LEN),
            module_len: u64_at(at::MODULE_LEN),
            state_len: u64_at(at::STATE_LEN),
        };
        Some((header, flags))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes() {
        for signed in [false, true] {
            let header = Header::new(signed, 7, 1 << 40, 3);
            assert_eq!(Header::decode(&header.encode()), Ok(header));
        }
    }

    #[test]
    fn refuses_other_magic_versions_and_flags() {
        let good = Header::new(false, 1, 2, 3).encode();
        assert_eq!(Header::decode(b"\0asm"), Err(FormatError::NotAPackage));
        assert!(matches!(Header::decode(&good[..HEADER_LEN - 1]), Err(FormatError::Truncated { .. })));
        let newer = Header { version: FORMAT_VERSION + 1, ..Header::new(false, 1, 2, 3) };
        assert_eq!(Header::decode(&newer.encode()), Err(FormatError::NewerFormat(FORMAT_VERSION + 1)));
        let mut flags = good;
        flags[at::FLAGS] = 2;
        assert_eq!(Header::decode(&flags), Err(FormatError::UnknownFlags(2)));
    }
}
