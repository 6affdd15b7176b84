//! Reading a package: every check that the bytes allow, before anything
//! in them is used. The result is a [`VerifiedPackage`], which nothing else
//! can make.

use std::ops::Range;

use crate::header::{HEADER_LEN, Header};
use crate::manifest::Manifest;
use crate::sign::{self, PublicKey, SIGNATURE_BLOCK_LEN};
use crate::write::{Form, Package};
use crate::{DIGEST_LEN, FormatError, Hash, PARALLEL_HASH_FROM, Result, sha256};

/// A package read from bytes and verified: its header, the lengths against
/// the input's size, the whole-file digest, the signature if there is one,
/// the manifest and the hashes it records of the module (if it carries it)
/// and state, and that the module is wasm. Only
/// [`from_bytes`](VerifiedPackage::from_bytes),
/// [`from_vec`](VerifiedPackage::from_vec) and
/// [`with_module`](VerifiedPackage::with_module) make one, so holding one
/// means all of that was checked, and [`signer`](VerifiedPackage::signer) is
/// the key whose signature was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPackage {
    package: Package,
    form: Form,
    signer: Option<PublicKey>,
}

impl VerifiedPackage {
    /// Decodes and verifies a package. Never allocates more than the
    /// input's size.
    ///
    /// # Errors
    ///
    /// A [`FormatError`] naming the first check that failed.
    pub fn from_bytes(bytes: &[u8]) -> Result<VerifiedPackage> {
        let (manifest, sections) = verify(bytes)?;
        let package =
            Package { manifest, module: bytes[sections.module].to_vec(), state: bytes[sections.state].to_vec() };
        Ok(VerifiedPackage { package, form: sections.form, signer: sections.signer })
    }

    /// [`from_bytes`](VerifiedPackage::from_bytes) for a buffer the caller
    /// gives up: the state stays in it instead of being copied, so a package
    /// with a large state takes about its size in memory, not twice that.
    pub fn from_vec(mut bytes: Vec<u8>) -> Result<VerifiedPackage> {
        let (manifest, sections) = verify(&bytes)?;
        let module = bytes[sections.module].to_vec();
        bytes.truncate(sections.state.end);
        bytes.drain(..sections.state.start);
        let package = Package { manifest, module, state: bytes };
        Ok(VerifiedPackage { package, form: sections.form, signer: sections.signer })
    }

    /// A thin package made whole with its module, which must be the one its
    /// manifest names. A full package is returned as it is.
    ///
    /// # Errors
    ///
    /// [`FormatError::HashMismatch`] if `module` is not the named module,
    /// [`FormatError::NotWasm`] if it is not wasm.
    pub fn with_module(mut self, module: Vec<u8>) -> Result<VerifiedPackage> {
        if self.form == Form::Full {
            return Ok(self);
        }
        if sha256(&module) != self.package.manifest.module_sha256 {
            return Err(FormatError::HashMismatch("module"));
        }
        if !module.starts_with(b"\0asm") {
            return Err(FormatError::NotWasm);
        }
        self.package.module = module;
        self.form = Form::Full;
        Ok(self)
    }

    /// Whether the package carried its module ([`Form::Full`]) or named it
    /// ([`Form::Thin`]).
    pub fn form(&self) -> Form {
        self.form
    }

    /// What the package holds and how to call it.
    pub fn manifest(&self) -> &Manifest {
        &self.package.manifest
    }

    /// The wasm module, whose SHA-256 is the manifest's `module_sha256`;
    /// `None` for a thin package, which only names it.
    pub fn module(&self) -> Option<&[u8]> {
        match self.form {
            Form::Full => Some(&self.package.module),
            Form::Thin => None,
        }
    }

    /// The closure's postcard state, whose SHA-256 is the manifest's
    /// `state_sha256`.
    pub fn state(&self) -> &[u8] {
        &self.package.state
    }

    /// The key whose signature over the package was verified, if it is
    /// signed.
    pub fn signer(&self) -> Option<&PublicKey> {
        self.signer.as_ref()
    }

    /// The package, to re-encode or change (a change makes it unverified).
    /// A thin package's module is empty.
    pub fn into_package(self) -> Package {
        self.package
    }

    /// The manifest alone, dropping the module and state.
    pub fn into_manifest(self) -> Manifest {
        self.package.manifest
    }
}

/// Checks everything [`VerifiedPackage::from_bytes`] promises and returns
/// the manifest and where the module and state are.
fn verify(bytes: &[u8]) -> Result<(Manifest, Sections)> {
    let (sections, state_hash) = locate_sections(bytes)?;
    let (mut manifest, rest) = postcard::take_from_bytes::<Manifest>(&bytes[sections.manifest.clone()])
        .map_err(|e| FormatError::Manifest(e.to_string()))?;
    let rest = match sections.schema {
        true => {
            let (schema, rest) =
                postcard::take_from_bytes(rest).map_err(|e| FormatError::Manifest(format!("the schema: {e}")))?;
            manifest.schema = Some(schema);
            rest
        }
        false => rest,
    };
    if !rest.is_empty() {
        return Err(FormatError::Manifest(format!("{} unexpected trailing bytes", rest.len())));
    }
    manifest.check()?;
    if state_hash.unwrap_or_else(|| sha256(&bytes[sections.state.clone()])) != manifest.state_sha256 {
        return Err(FormatError::HashMismatch("state"));
    }
    if sections.form == Form::Full {
        let module = &bytes[sections.module.clone()];
        if sha256(module) != manifest.module_sha256 {
            return Err(FormatError::HashMismatch("module"));
        }
        if !module.starts_with(b"\0asm") {
            return Err(FormatError::NotWasm);
        }
    }
    Ok((manifest, sections))
}

/// Where the sections of an encoded package are, checked against its size
/// and digest.
struct Sections {
    manifest: Range<usize>,
    module: Range<usize>,
    state: Range<usize>,
    form: Form,
    /// Whether the manifest is followed by a schema.
    schema: bool,
    signer: Option<PublicKey>,
}

/// Reads the header, checks the lengths against the input's size and the
/// digest (and signature) against the contents, and returns where each
/// section is; and the state's SHA-256 if it was computed on the way.
fn locate_sections(bytes: &[u8]) -> Result<(Sections, Option<Hash>)> {
    let header = Header::decode(bytes)?;
    if bytes.len() < HEADER_LEN + DIGEST_LEN {
        return Err(FormatError::Truncated { expected: (HEADER_LEN + DIGEST_LEN) as u64, actual: bytes.len() as u64 });
    }
    let signature_len = if header.signed { SIGNATURE_BLOCK_LEN } else { 0 };
    let (manifest_len, module_len, state_len) = (u64::from(header.manifest_len), header.module_len, header.state_len);
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
        form: if header.is_thin() { Form::Thin } else { Form::Full },
        schema: header.has_schema(),
        signer,
    };
    Ok((sections, state_hash))
}
