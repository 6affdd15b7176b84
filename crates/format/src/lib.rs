//! The `.fnpkg` file format.
//!
//! A package is one file: a fixed header, a postcard [`Manifest`], the wasm
//! module, the closure's postcard state, and a SHA-256 digest of everything
//! before it. The same inputs always give the same bytes. The layout is
//! specified in `docs/fnpkg.md`.
//!
//! ```
//! use shipfn_format::{Manifest, Package, Source};
//! use shipfn_abi::Signature;
//!
//! let signature = Signature {
//!     params: vec![], result: "i64".into(), ok: None, error: None,
//!     captures: vec![], globals: vec![],
//! };
//! let module = b"\0asm\x01\0\0\0".to_vec();
//! let package = Package::new(Source::Function { name: "answer".into() }, 1, 2, 3, signature, module, vec![]);
//! let bytes = package.to_bytes();
//! assert_eq!(Package::from_bytes(&bytes)?, package);
//! assert_eq!(bytes, package.to_bytes()); // deterministic
//! # Ok::<(), shipfn_format::FormatError>(())
//! ```
#![deny(missing_docs)]

mod error;
mod manifest;
mod sign;

pub use error::{FormatError, Result};
pub use manifest::{MAX_PARAMS, Manifest, Source};
pub use sign::{PublicKey, SIGNATURE_BLOCK_LEN, SecretKey};

use sha2::{Digest, Sha256};
use shipfn_abi::Signature;

/// The first eight bytes of every package.
pub const MAGIC: [u8; 8] = *b"\x89FNPKG\r\n";
/// The format version this crate writes.
pub const FORMAT_VERSION: u32 = 1;
/// Size of the fixed header: magic, version, flags, three lengths.
pub const HEADER_LEN: usize = 8 + 4 + 4 + 4 + 8 + 8;
/// Size of the trailing digest.
pub const DIGEST_LEN: usize = 32;
/// Header flag: a signature block follows the digest.
pub const FLAG_SIGNED: u32 = 1;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// Bytes with their SHA-256: a package's module or state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// SHA-256 of `bytes`.
    pub sha256: Hash,
}

impl From<Vec<u8>> for Hashed {
    /// Hashes `bytes`.
    fn from(bytes: Vec<u8>) -> Hashed {
        Hashed { sha256: sha256(&bytes), bytes }
    }
}

/// A decoded, verified package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// What the package holds and how to call it.
    pub manifest: Manifest,
    /// The wasm module the closure's code lives in.
    pub module: Vec<u8>,
    /// The closure's captured state, postcard-encoded.
    pub state: Vec<u8>,
    /// Who signed the package, if it is signed (the signature was verified).
    pub signer: Option<PublicKey>,
}

impl Package {
    /// Assembles a package, computing the hashes.
    pub fn new(
        source: Source,
        entry: u32,
        tramp: u32,
        func: u32,
        signature: Signature,
        module: Vec<u8>,
        state: Vec<u8>,
    ) -> Package {
        Package::with_hashes(source, entry, tramp, func, signature, module.into(), state.into())
    }

    /// [`new`](Package::new) for a module and state whose SHA-256 the caller
    /// already has: a packer hashed the module to look up its compiled form,
    /// and hashes a large state as it copies it out of the guest. A wrong
    /// hash makes a package that every reader refuses.
    pub fn with_hashes(
        source: Source,
        entry: u32,
        tramp: u32,
        func: u32,
        signature: Signature,
        module: Hashed,
        state: Hashed,
    ) -> Package {
        let manifest = Manifest {
            created_by: concat!("shipfn ", env!("CARGO_PKG_VERSION")).into(),
            abi_version: shipfn_abi::ABI_VERSION,
            source,
            entry,
            tramp,
            func,
            signature,
            module_sha256: module.sha256,
            state_sha256: state.sha256,
        };
        Package { manifest, module: module.bytes, state: state.bytes, signer: None }
    }

    /// Encodes the package, unsigned.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode(None)
    }

    /// Encodes the package and signs it with `key`.
    pub fn to_signed_bytes(&self, key: &SecretKey) -> Vec<u8> {
        self.encode(Some(key))
    }

    fn encode(&self, key: Option<&SecretKey>) -> Vec<u8> {
        let manifest = self.manifest_bytes();
        let mut out = Vec::with_capacity(self.len_with(&manifest, key.is_some()));
        self.write_parts(&manifest, &mut out, key).expect("writing to a Vec cannot fail");
        out
    }

    /// Size in bytes of the encoded package, signed or not.
    pub fn encoded_len(&self, signed: bool) -> usize {
        self.len_with(&self.manifest_bytes(), signed)
    }

    /// Writes the encoded package (signed with `key`, if given) to `out`: the
    /// same bytes as [`to_bytes`](Package::to_bytes) or
    /// [`to_signed_bytes`](Package::to_signed_bytes), without assembling
    /// them in memory first. A large state is hashed on a second thread while
    /// it is written.
    pub fn write_to(&self, out: &mut impl std::io::Write, key: Option<&SecretKey>) -> std::io::Result<()> {
        self.write_parts(&self.manifest_bytes(), out, key)
    }

    fn manifest_bytes(&self) -> Vec<u8> {
        postcard::to_allocvec(&self.manifest).expect("a manifest always serializes")
    }

    fn len_with(&self, manifest: &[u8], signed: bool) -> usize {
        let signature = if signed { SIGNATURE_BLOCK_LEN } else { 0 };
        HEADER_LEN + manifest.len() + self.module.len() + self.state.len() + DIGEST_LEN + signature
    }

    fn write_parts(
        &self,
        manifest: &[u8],
        out: &mut impl std::io::Write,
        key: Option<&SecretKey>,
    ) -> std::io::Result<()> {
        let flags = if key.is_some() { FLAG_SIGNED } else { 0 };
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(&MAGIC);
        header[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        header[12..16].copy_from_slice(&flags.to_le_bytes());
        header[16..20].copy_from_slice(&(manifest.len() as u32).to_le_bytes());
        header[20..28].copy_from_slice(&(self.module.len() as u64).to_le_bytes());
        header[28..36].copy_from_slice(&(self.state.len() as u64).to_le_bytes());
        let parts = [&header[..], manifest, &self.module, &self.state];
        let digest_of = || {
            let mut hasher = Sha256::new();
            parts.iter().for_each(|part| hasher.update(part));
            Hash::from(hasher.finalize())
        };
        let write_all = |out: &mut dyn std::io::Write| parts.iter().try_for_each(|part| out.write_all(part));
        let digest = if self.state.len() >= PARALLEL_HASH_FROM {
            std::thread::scope(|s| {
                let digest = s.spawn(digest_of);
                write_all(out)?;
                Ok::<_, std::io::Error>(digest.join().expect("hashing does not panic"))
            })?
        } else {
            write_all(out)?;
            digest_of()
        };
        out.write_all(&digest)?;
        if let Some(key) = key {
            out.write_all(&key.sign_block(&digest))?;
        }
        Ok(())
    }

    /// Decodes and verifies a package: magic, version, lengths against the
    /// input's size, the whole-file digest, the signature if there is one,
    /// the manifest and the hashes it records. Never allocates more than the
    /// input's size.
    pub fn from_bytes(bytes: &[u8]) -> Result<Package> {
        let (manifest, sections) = verify(bytes)?;
        Ok(Package {
            manifest,
            module: bytes[sections.module].to_vec(),
            state: bytes[sections.state].to_vec(),
            signer: sections.signer,
        })
    }

    /// [`from_bytes`](Package::from_bytes) for a buffer the caller gives
    /// up: the state stays in it instead of being copied, so a package with
    /// a large state takes about its size in memory, not twice that.
    pub fn from_vec(mut bytes: Vec<u8>) -> Result<Package> {
        let (manifest, sections) = verify(&bytes)?;
        let module = bytes[sections.module].to_vec();
        bytes.truncate(sections.state.end);
        bytes.drain(..sections.state.start);
        Ok(Package { manifest, module, state: bytes, signer: sections.signer })
    }
}

/// Checks everything [`Package::from_bytes`] promises and returns the
/// manifest and where the module and state are.
fn verify(bytes: &[u8]) -> Result<(Manifest, Sections)> {
    let (sections, state_hash) = split(bytes)?;
    let manifest: Manifest = match postcard::take_from_bytes(&bytes[sections.manifest.clone()]) {
        Ok((manifest, [])) => manifest,
        Ok((_, rest)) => {
            return Err(FormatError::Manifest(format!("{} unexpected trailing bytes", rest.len())));
        }
        Err(e) => return Err(FormatError::Manifest(e.to_string())),
    };
    manifest.check()?;
    let module = &bytes[sections.module.clone()];
    if sha256(module) != manifest.module_sha256 {
        return Err(FormatError::HashMismatch("module"));
    }
    if state_hash.unwrap_or_else(|| sha256(&bytes[sections.state.clone()])) != manifest.state_sha256 {
        return Err(FormatError::HashMismatch("state"));
    }
    if !module.starts_with(b"\0asm") {
        return Err(FormatError::NotWasm);
    }
    Ok((manifest, sections))
}

/// Where the sections of an encoded package are, checked against its size
/// and digest.
struct Sections {
    manifest: std::ops::Range<usize>,
    module: std::ops::Range<usize>,
    state: std::ops::Range<usize>,
    signer: Option<PublicKey>,
}

/// From this size of state on, a reader hashes the state on a second thread
/// while it computes the digest, and a writer hashes while it writes.
const PARALLEL_HASH_FROM: usize = 1 << 20;

fn split(bytes: &[u8]) -> Result<(Sections, Option<Hash>)> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(FormatError::NotAPackage);
    }
    if bytes.len() < HEADER_LEN + DIGEST_LEN {
        return Err(FormatError::Truncated { expected: (HEADER_LEN + DIGEST_LEN) as u64, actual: bytes.len() as u64 });
    }
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let version = u32_at(8);
    if version > FORMAT_VERSION {
        return Err(FormatError::NewerFormat(version));
    }
    if version == 0 {
        return Err(FormatError::UnsupportedFormat(version));
    }
    let flags = u32_at(12);
    if flags & !FLAG_SIGNED != 0 {
        return Err(FormatError::UnknownFlags(flags));
    }
    let signature_len = if flags & FLAG_SIGNED != 0 { SIGNATURE_BLOCK_LEN } else { 0 };
    let (manifest_len, module_len, state_len) = (u64::from(u32_at(16)), u64_at(20), u64_at(28));
    let expected = [manifest_len, module_len, state_len, (HEADER_LEN + DIGEST_LEN + signature_len) as u64]
        .into_iter()
        .try_fold(0u64, u64::checked_add)
        .ok_or(FormatError::BadLength)?;
    let actual = bytes.len() as u64;
    if expected > actual {
        return Err(FormatError::Truncated { expected, actual });
    }
    if expected < actual {
        return Err(FormatError::TrailingBytes(actual - expected));
    }
    let digest_end = bytes.len() - signature_len;
    let body_end = digest_end - DIGEST_LEN;
    let state = &bytes[body_end - state_len as usize..body_end];
    let (digest, state_hash) = if bytes.len() >= PARALLEL_HASH_FROM {
        std::thread::scope(|s| {
            let state_hash = s.spawn(|| sha256(state));
            let digest = sha256(&bytes[..body_end]);
            (digest, state_hash.join().ok())
        })
    } else {
        (sha256(&bytes[..body_end]), None)
    };
    if digest[..] != bytes[body_end..digest_end] {
        return Err(FormatError::DigestMismatch);
    }
    let signer = match signature_len {
        0 => None,
        _ => Some(sign::verify_block(&bytes[digest_end..], &digest)?),
    };
    // Every length now fits in the input, so these casts are exact.
    let module_start = HEADER_LEN + manifest_len as usize;
    let state_start = module_start + module_len as usize;
    let sections = Sections {
        manifest: HEADER_LEN..module_start,
        module: module_start..state_start,
        state: state_start..body_end,
        signer,
    };
    Ok((sections, state_hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Package {
        let signature = Signature {
            params: vec![shipfn_abi::Field { name: "own_arg".into(), ty: "i64".into() }],
            result: "i64".into(),
            ok: None,
            error: None,
            captures: vec![shipfn_abi::Field { name: "closure_arg".into(), ty: "i64".into() }],
            globals: vec![],
        };
        Package::new(
            Source::Maker { name: "m".into(), args: vec!["3".into()] },
            1,
            2,
            3,
            signature,
            b"\0asm\x01\0\0\0".to_vec(),
            vec![6],
        )
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let p = sample();
        let bytes = p.to_bytes();
        assert_eq!(bytes, sample().to_bytes());
        assert_eq!(Package::from_bytes(&bytes).unwrap(), p);
    }

    #[test]
    fn streaming_and_owned_buffers_agree_with_the_byte_api_for_small_and_large_states() {
        let key = SecretKey::from_seed([9; 32]);
        for state_len in [1, PARALLEL_HASH_FROM + 12_345] {
            let mut p = sample();
            p.state = (0..state_len).map(|i| (i * 7 % 251) as u8).collect();
            p.manifest.state_sha256 = sha256(&p.state);
            for key in [None, Some(&key)] {
                let bytes = key.map_or_else(|| p.to_bytes(), |k| p.to_signed_bytes(k));
                let mut streamed = Vec::new();
                p.write_to(&mut streamed, key).unwrap();
                assert_eq!(streamed, bytes, "write_to, state of {state_len} bytes, signed: {}", key.is_some());
                assert_eq!(p.encoded_len(key.is_some()), bytes.len());
                let read = Package::from_bytes(&bytes).unwrap();
                assert_eq!(Package::from_vec(bytes.clone()).unwrap(), read);
                assert_eq!((read.module.as_slice(), read.state.as_slice()), (&p.module[..], &p.state[..]));
                let mut flipped = bytes.clone();
                let middle = HEADER_LEN + (bytes.len() - HEADER_LEN) / 2;
                flipped[middle] ^= 1;
                assert!(Package::from_vec(flipped).is_err());
            }
        }
    }

    #[test]
    fn every_truncation_and_flip_is_refused() {
        let bytes = sample().to_bytes();
        for len in 0..bytes.len() {
            assert!(Package::from_bytes(&bytes[..len]).is_err(), "truncated to {len}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(Package::from_bytes(&b).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn signed_packages_name_their_signer_and_refuse_every_flip() {
        let key = SecretKey::from_seed([7; 32]);
        let bytes = sample().to_signed_bytes(&key);
        assert_eq!(bytes, sample().to_signed_bytes(&key), "signing is deterministic");
        let p = Package::from_bytes(&bytes).unwrap();
        assert_eq!(p.signer, Some(key.public()));
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x80;
            assert!(Package::from_bytes(&b).is_err(), "flip at {i}");
        }
        // Stripping the signature (and its flag) breaks the digest.
        let mut stripped = bytes[..bytes.len() - SIGNATURE_BLOCK_LEN].to_vec();
        stripped[12] = 0;
        assert_eq!(Package::from_bytes(&stripped), Err(FormatError::DigestMismatch));
    }

    #[test]
    fn key_files_round_trip_and_are_not_confused() {
        let key = SecretKey::from_seed([9; 32]);
        let secret = key.to_file_text();
        let public = key.public().to_file_text();
        assert_eq!(SecretKey::from_file_text(&secret).unwrap().public(), key.public());
        assert_eq!(PublicKey::from_file_text(&public).unwrap(), key.public());
        assert!(SecretKey::from_file_text(&public).unwrap_err().to_string().contains("this is a public key"));
        assert!(PublicKey::from_file_text(&secret).unwrap_err().to_string().contains("this is a secret key"));
        assert!(PublicKey::from_file_text("hello").is_err());
    }

    #[test]
    fn newer_formats_are_named() {
        let mut bytes = sample().to_bytes();
        bytes[8] = 9;
        let err = Package::from_bytes(&bytes).unwrap_err();
        assert_eq!(err.to_string(), "made by a newer shipfn (format 9); this shipfn reads format 1");
    }

    #[test]
    fn every_guest_abi_from_the_first_is_read_and_a_newer_one_is_named() {
        for version in shipfn_abi::MIN_ABI_VERSION..=shipfn_abi::ABI_VERSION {
            let mut p = sample();
            p.manifest.abi_version = version;
            assert_eq!(Package::from_bytes(&p.to_bytes()).unwrap().manifest.abi_version, version);
        }
        let mut p = sample();
        p.manifest.abi_version = shipfn_abi::ABI_VERSION + 1;
        let err = Package::from_bytes(&p.to_bytes()).unwrap_err().to_string();
        assert!(err.contains(&format!("guest ABI {} is not supported", shipfn_abi::ABI_VERSION + 1)), "{err}");
    }

    #[test]
    fn huge_lengths_do_not_allocate() {
        let mut bytes = sample().to_bytes();
        bytes[20..28].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(Package::from_bytes(&bytes), Err(FormatError::BadLength)));
        bytes[20..28].copy_from_slice(&(1u64 << 40).to_le_bytes());
        assert!(matches!(Package::from_bytes(&bytes), Err(FormatError::Truncated { .. })));
    }
}
