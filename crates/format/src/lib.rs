//! The `.fnpkg` file format.
//!
//! A package is one file: a fixed [`Header`], a postcard [`Manifest`], the
//! wasm module, the closure's postcard state, and a SHA-256 digest of
//! everything before it, optionally followed by a signature. The same inputs
//! always give the same bytes. The layout is specified in `docs/fnpkg.md`.
//!
//! A writer assembles a [`Package`]; a reader gets a [`VerifiedPackage`],
//! which only the verifying reader can make.
//!
//! ```
//! use shipfn_format::{Closure, Package, Source, VerifiedPackage};
//! use shipfn_abi::Signature;
//! use shipfn_abi::schema::{Format, Schema};
//!
//! let signature = Signature {
//!     params: vec![], result: "i64".into(), ok: None, error: None,
//!     captures: vec![], globals: vec![],
//! };
//! let schema = Schema { result: Format::I64, ..Schema::default() };
//! let closure = Closure { entry: 1, trampoline: 2, body: 3, signature, schema: Some(schema) };
//! let module = b"\0asm\x01\0\0\0".to_vec();
//! let package = Package::new(Source::Function { name: "answer".into() }, closure, module, vec![]);
//! let bytes = package.to_bytes();
//! let read = VerifiedPackage::from_bytes(&bytes)?;
//! assert_eq!(read.manifest(), &package.manifest);
//! assert_eq!(read.signer(), None);
//! assert_eq!(bytes, package.to_bytes()); // deterministic
//! # Ok::<(), shipfn_format::FormatError>(())
//! ```
#![deny(missing_docs)]

mod error;
mod header;
mod manifest;
mod read;
mod sign;
mod write;

pub use error::{FormatError, Result};
pub use header::{
    FLAG_SIGNED, FORMAT_FULL, FORMAT_FULL_SCHEMA, FORMAT_THIN, FORMAT_THIN_SCHEMA, FORMAT_VERSION, HEADER_LEN, Header,
    MAGIC,
};
pub use manifest::{MAX_PARAMS, Manifest, SCHEMA_ABI, Source};
pub use read::VerifiedPackage;
pub use sign::{PublicKey, SIGNATURE_BLOCK_LEN, SecretKey};
pub use write::{Closure, Form, Package};

use sha2::{Digest, Sha256};

/// Size of the trailing digest.
pub const DIGEST_LEN: usize = 32;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// SHA-256 of `bytes`.
pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

/// From this size of state on, a reader hashes the state on a second thread
/// while it computes the digest, and a writer hashes while it writes.
const PARALLEL_HASH_FROM: usize = 1 << 20;

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

#[cfg(test)]
mod tests {
    use super::*;
    use shipfn_abi::Signature;
    use shipfn_abi::schema::{Format, Schema};

    fn sample() -> Package {
        let signature = Signature {
            params: vec![shipfn_abi::Field { name: "own_arg".into(), ty: "i64".into() }],
            result: "i64".into(),
            ok: None,
            error: None,
            captures: vec![shipfn_abi::Field { name: "closure_arg".into(), ty: "i64".into() }],
            globals: vec![],
        };
        let schema =
            Schema { params: vec![Format::I64], result: Format::I64, captures: vec![Format::I64], ..Schema::default() };
        let closure = Closure { entry: 1, trampoline: 2, body: 3, signature, schema: Some(schema) };
        let source = Source::Maker { name: "m".into(), args: vec!["3".into()] };
        Package::new(source, closure, b"\0asm\x01\0\0\0".to_vec(), vec![6])
    }

    #[test]
    fn a_schema_goes_with_guest_abi_7_and_formats_3_and_4() {
        let p = sample();
        assert_eq!(Header::decode(&p.to_bytes()).unwrap().version, FORMAT_FULL_SCHEMA);
        assert_eq!(Header::decode(&p.encode_as(Form::Thin, None)).unwrap().version, FORMAT_THIN_SCHEMA);
        let read = VerifiedPackage::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(read.manifest().schema, p.manifest.schema);
        let mut old = sample();
        old.manifest.schema = None;
        let err = VerifiedPackage::from_bytes(&old.to_bytes()).unwrap_err().to_string();
        let expected = format!("a package of guest ABI {} must carry a schema", shipfn_abi::ABI_VERSION);
        assert!(err.contains(&expected), "{err}");
        old.manifest.abi_version = 6;
        assert_eq!(Header::decode(&old.to_bytes()).unwrap().version, FORMAT_FULL);
        VerifiedPackage::from_bytes(&old.to_bytes()).unwrap();
        let mut wrong = sample();
        wrong.manifest.schema.as_mut().unwrap().params.clear();
        let err = VerifiedPackage::from_bytes(&wrong.to_bytes()).unwrap_err().to_string();
        assert!(err.contains("the schema describes 0 parameters, the signature has 1"), "{err}");
        let mut dangling = sample();
        dangling.manifest.schema.as_mut().unwrap().result = Format::Named(3);
        let err = VerifiedPackage::from_bytes(&dangling.to_bytes()).unwrap_err().to_string();
        assert!(err.contains("names a type it does not have"), "{err}");
        // A schema nested without bound is refused, not a stack overflow.
        let mut deep = Format::I64;
        for _ in 0..100_000 {
            deep = Format::Option(Box::new(deep));
        }
        let bytes = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                let mut p = sample();
                p.manifest.schema.as_mut().unwrap().result = deep;
                p.to_bytes()
            })
            .unwrap()
            .join()
            .unwrap();
        let refused = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || VerifiedPackage::from_bytes(&bytes).unwrap_err().to_string())
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert!(refused.contains("the schema"), "{refused}");
    }

    #[test]
    fn round_trips_and_is_deterministic() {
        let p = sample();
        let bytes = p.to_bytes();
        assert_eq!(bytes, sample().to_bytes());
        assert_eq!(VerifiedPackage::from_bytes(&bytes).unwrap().into_package(), p);
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
                let read = VerifiedPackage::from_bytes(&bytes).unwrap();
                assert_eq!(VerifiedPackage::from_vec(bytes.clone()).unwrap(), read);
                assert_eq!((read.module(), read.state()), (Some(&p.module[..]), &p.state[..]));
                let mut flipped = bytes.clone();
                let middle = HEADER_LEN + (bytes.len() - HEADER_LEN) / 2;
                flipped[middle] ^= 1;
                assert!(VerifiedPackage::from_vec(flipped).is_err());
            }
        }
    }

    #[test]
    fn every_truncation_and_flip_is_refused() {
        let bytes = sample().to_bytes();
        for len in 0..bytes.len() {
            assert!(VerifiedPackage::from_bytes(&bytes[..len]).is_err(), "truncated to {len}");
        }
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(VerifiedPackage::from_bytes(&b).is_err(), "flip at {i}");
        }
    }

    #[test]
    fn signed_packages_name_their_signer_and_refuse_every_flip() {
        let key = SecretKey::from_seed([7; 32]);
        let bytes = sample().to_signed_bytes(&key);
        assert_eq!(bytes, sample().to_signed_bytes(&key), "signing is deterministic");
        let p = VerifiedPackage::from_bytes(&bytes).unwrap();
        assert_eq!(p.signer(), Some(&key.public()));
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x80;
            assert!(VerifiedPackage::from_bytes(&b).is_err(), "flip at {i}");
        }
        // Stripping the signature (and its flag) breaks the digest.
        let mut stripped = bytes[..bytes.len() - SIGNATURE_BLOCK_LEN].to_vec();
        let mut header = Header::decode(&stripped).unwrap();
        header.signed = false;
        stripped[..HEADER_LEN].copy_from_slice(&header.encode());
        assert_eq!(VerifiedPackage::from_bytes(&stripped), Err(FormatError::DigestMismatch));
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
        let mut header = Header::decode(&bytes).unwrap();
        header.version = 9;
        bytes[..HEADER_LEN].copy_from_slice(&header.encode());
        let err = VerifiedPackage::from_bytes(&bytes).unwrap_err();
        assert_eq!(err.to_string(), "made by a newer shipfn (format 9); this shipfn reads formats 1 to 4");
    }

    #[test]
    fn every_guest_abi_from_the_first_is_read_and_a_newer_one_is_named() {
        for version in shipfn_abi::MIN_ABI_VERSION..=shipfn_abi::ABI_VERSION {
            let mut p = sample();
            p.manifest.abi_version = version;
            if version < SCHEMA_ABI {
                p.manifest.schema = None;
            }
            assert_eq!(VerifiedPackage::from_bytes(&p.to_bytes()).unwrap().manifest().abi_version, version);
        }
        let mut p = sample();
        p.manifest.abi_version = shipfn_abi::ABI_VERSION + 1;
        let err = VerifiedPackage::from_bytes(&p.to_bytes()).unwrap_err().to_string();
        assert!(err.contains(&format!("guest ABI {} is not supported", shipfn_abi::ABI_VERSION + 1)), "{err}");
    }

    #[test]
    fn thin_packages_name_their_module_and_take_it_back_only_if_it_matches() {
        let p = sample();
        let key = SecretKey::from_seed([5; 32]);
        for key in [None, Some(&key)] {
            let bytes = p.encode_as(Form::Thin, key);
            assert_eq!(bytes.len(), p.encoded_len_as(Form::Thin, key.is_some()));
            assert_eq!(bytes.len(), p.encoded_len(key.is_some()) - p.module.len());
            assert_eq!(Header::decode(&bytes).unwrap().version, FORMAT_THIN_SCHEMA);
            let thin = VerifiedPackage::from_bytes(&bytes).unwrap();
            assert_eq!((thin.form(), thin.module()), (Form::Thin, None));
            assert_eq!(thin.signer(), key.map(|k| k.public()).as_ref());
            assert_eq!(thin.manifest(), &p.manifest);
            let mut wrong = p.module.clone();
            wrong.push(0);
            assert_eq!(thin.clone().with_module(wrong), Err(FormatError::HashMismatch("module")));
            let whole = thin.with_module(p.module.clone()).unwrap();
            assert_eq!((whole.form(), whole.module()), (Form::Full, Some(&p.module[..])));
            assert_eq!(whole.into_package(), p);
            for i in 0..bytes.len() {
                let mut b = bytes.clone();
                b[i] ^= 0x01;
                assert!(VerifiedPackage::from_bytes(&b).is_err(), "flip at {i}");
            }
        }
        // A thin header over a full body is refused by its header alone.
        let mut bytes = p.to_bytes();
        let mut header = Header::decode(&bytes).unwrap();
        header.version = FORMAT_THIN_SCHEMA;
        bytes[..HEADER_LEN].copy_from_slice(&header.encode());
        assert_eq!(VerifiedPackage::from_bytes(&bytes), Err(FormatError::ThinWithModule(p.module.len() as u64)));
    }

    #[test]
    fn huge_lengths_do_not_allocate() {
        let mut bytes = sample().to_bytes();
        let mut header = Header::decode(&bytes).unwrap();
        header.module_len = u64::MAX;
        bytes[..HEADER_LEN].copy_from_slice(&header.encode());
        assert!(matches!(VerifiedPackage::from_bytes(&bytes), Err(FormatError::BadLength)));
        header.module_len = 1 << 40;
        bytes[..HEADER_LEN].copy_from_slice(&header.encode());
        assert!(matches!(VerifiedPackage::from_bytes(&bytes), Err(FormatError::Truncated { .. })));
    }
}
