//! Writing a package: assemble it from its parts, encode it, sign it.

use sha2::{Digest, Sha256};
use shipfn_abi::Signature;
use shipfn_abi::schema::Schema;

use crate::header::{HEADER_LEN, Header};
use crate::manifest::{Manifest, Source};
use crate::sign::{SIGNATURE_BLOCK_LEN, SecretKey};
use crate::{DIGEST_LEN, Hash, Hashed, PARALLEL_HASH_FROM};

/// A package as its writer assembles it. Reading one back gives a
/// [`VerifiedPackage`](crate::VerifiedPackage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// What the package holds and how to call it.
    pub manifest: Manifest,
    /// The wasm module the closure's code lives in.
    pub module: Vec<u8>,
    /// The closure's captured state, postcard-encoded.
    pub state: Vec<u8>,
}

/// Whether an encoded package carries its module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Form {
    /// Format 1: the module travels inside the package.
    #[default]
    Full,
    /// Format 2: the package names its module by SHA-256; the reader gets
    /// the module from its own store. A signature still covers the module,
    /// through its hash in the manifest.
    Thin,
}

/// The closure in a package: where its code is in the module's function
/// table, and its Rust types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    /// Table index of the host-level entry trampoline.
    pub entry: u32,
    /// Table index of the closure's state trampoline.
    pub trampoline: u32,
    /// Table index of the closure's body.
    pub body: u32,
    /// Parameter, result, capture and global types.
    pub signature: Signature,
    /// The serde shapes of those types (guest ABI 7 on).
    pub schema: Option<Schema>,
}

impl Package {
    /// Assembles a package of the current guest ABI. A module or state
    /// given as a `Vec<u8>` is hashed here; a [`Hashed`] one brings its
    /// hash (a packer hashes the module to look up its compiled form, and a
    /// large state as it copies it out of the guest). A wrong hash makes a
    /// package that every reader refuses.
    pub fn new(source: Source, closure: Closure, module: impl Into<Hashed>, state: impl Into<Hashed>) -> Package {
        let (module, state) = (module.into(), state.into());
        let Closure { entry, trampoline, body, signature, schema } = closure;
        let manifest = Manifest {
            created_by: concat!("shipfn ", env!("CARGO_PKG_VERSION")).into(),
            abi_version: shipfn_abi::ABI_VERSION,
            source,
            entry,
            trampoline,
            body,
            signature,
            schema,
            module_sha256: module.sha256,
            state_sha256: state.sha256,
        };
        Package { manifest, module: module.bytes, state: state.bytes }
    }

    /// Encodes the package, full and unsigned.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode_as(Form::Full, None)
    }

    /// Encodes the package, full, and signs it with `key`.
    pub fn to_signed_bytes(&self, key: &SecretKey) -> Vec<u8> {
        self.encode_as(Form::Full, Some(key))
    }

    /// Encodes the package in `form`, signed with `key` if given.
    pub fn encode_as(&self, form: Form, key: Option<&SecretKey>) -> Vec<u8> {
        let manifest = self.manifest_bytes();
        let mut out = Vec::with_capacity(self.len_with(&manifest, form, key.is_some()));
        self.write_parts(&manifest, &mut out, form, key).expect("writing to a Vec cannot fail");
        out
    }

    /// Size in bytes of the encoded package, full, signed or not.
    pub fn encoded_len(&self, signed: bool) -> usize {
        self.encoded_len_as(Form::Full, signed)
    }

    /// Size in bytes of the package encoded in `form`, signed or not.
    pub fn encoded_len_as(&self, form: Form, signed: bool) -> usize {
        self.len_with(&self.manifest_bytes(), form, signed)
    }

    /// Writes the encoded package (signed with `key`, if given) to `out`: the
    /// same bytes as [`to_bytes`](Package::to_bytes) or
    /// [`to_signed_bytes`](Package::to_signed_bytes), without assembling
    /// them in memory first. A large state is hashed on a second thread while
    /// it is written.
    pub fn write_to(&self, out: &mut impl std::io::Write, key: Option<&SecretKey>) -> std::io::Result<()> {
        self.write_parts(&self.manifest_bytes(), out, Form::Full, key)
    }

    /// [`write_to`](Package::write_to) in `form`.
    pub fn write_as(&self, out: &mut impl std::io::Write, form: Form, key: Option<&SecretKey>) -> std::io::Result<()> {
        self.write_parts(&self.manifest_bytes(), out, form, key)
    }

    /// The module bytes that travel in `form`.
    fn module_in(&self, form: Form) -> &[u8] {
        match form {
            Form::Full => &self.module,
            Form::Thin => &[],
        }
    }

    /// The manifest section: postcard of the manifest, then of its schema
    /// if it has one.
    fn manifest_bytes(&self) -> Vec<u8> {
        let bytes = postcard::to_allocvec(&self.manifest).expect("a manifest always serializes");
        match &self.manifest.schema {
            Some(schema) => postcard::to_extend(schema, bytes).expect("a schema always serializes"),
            None => bytes,
        }
    }

    fn len_with(&self, manifest: &[u8], form: Form, signed: bool) -> usize {
        let signature = if signed { SIGNATURE_BLOCK_LEN } else { 0 };
        HEADER_LEN + manifest.len() + self.module_in(form).len() + self.state.len() + DIGEST_LEN + signature
    }

    fn write_parts(
        &self,
        manifest: &[u8],
        out: &mut impl std::io::Write,
        form: Form,
        key: Option<&SecretKey>,
    ) -> std::io::Result<()> {
        let manifest_len = u32::try_from(manifest.len()).expect("a manifest is far smaller than 4 GiB");
        let module = self.module_in(form);
        let mut header = Header::new(key.is_some(), manifest_len, module.len() as u64, self.state.len() as u64);
        header.version = Header::version_of(form == Form::Thin, self.manifest.schema.is_some());
        let header = header.encode();
        let parts = [&header[..], manifest, module, &self.state];
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
}
