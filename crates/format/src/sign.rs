//! Ed25519 signatures over a package's digest, and key files.

use std::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::{FormatError, Hash, Result};

/// Size of the signature block: public key, then signature.
pub const SIGNATURE_BLOCK_LEN: usize = 32 + 64;

/// What is signed: this context string, then the package's digest.
const CONTEXT: &[u8] = b"shipfn .fnpkg signature v1\0";

const SECRET_TAG: &str = "shipfn-ed25519-secret-key";
const PUBLIC_TAG: &str = "shipfn-ed25519-public-key";

/// The key a package was signed with.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub(crate) VerifyingKey);

/// A key that signs packages.
pub struct SecretKey(SigningKey);

fn message(digest: &Hash) -> Vec<u8> {
    [CONTEXT, digest.as_slice()].concat()
}

impl SecretKey {
    /// A new key from 32 random bytes.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The signature block for a package whose digest is `digest`.
    pub(crate) fn sign_block(&self, digest: &Hash) -> [u8; SIGNATURE_BLOCK_LEN] {
        let signature = self.0.sign(&message(digest));
        let mut block = [0; SIGNATURE_BLOCK_LEN];
        block[..32].copy_from_slice(self.0.verifying_key().as_bytes());
        block[32..].copy_from_slice(&signature.to_bytes());
        block
    }

    /// An Ed25519 signature of `context` followed by `message`. Each kind of
    /// signed thing has its own context (a NUL-terminated text), so that a
    /// signature of one kind never verifies as another; `context` must not
    /// be this crate's package context.
    pub fn sign_with_context(&self, context: &[u8], message: &[u8]) -> [u8; 64] {
        assert_ne!(context, CONTEXT, "package signatures are made by the package writer");
        self.0.sign(&[context, message].concat()).to_bytes()
    }

    /// The key file's text: `shipfn-ed25519-secret-key <64 hex digits>`.
    pub fn to_file_text(&self) -> String {
        format!("{SECRET_TAG} {}\n", hex::encode(self.0.to_bytes()))
    }

    /// Reads a key file written by [`to_file_text`](SecretKey::to_file_text).
    pub fn from_file_text(text: &str) -> Result<SecretKey> {
        Ok(SecretKey::from_seed(parse_key(text, SECRET_TAG)?))
    }
}

impl PublicKey {
    /// The key file's text: `shipfn-ed25519-public-key <64 hex digits>`.
    pub fn to_file_text(&self) -> String {
        format!("{PUBLIC_TAG} {self}\n")
    }

    /// Reads a key file written by [`to_file_text`](PublicKey::to_file_text).
    pub fn from_file_text(text: &str) -> Result<PublicKey> {
        let bytes = parse_key(text, PUBLIC_TAG)?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| FormatError::BadKey("not a valid Ed25519 public key".into()))
    }

    /// The key's 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// The key with these 32 bytes, if they are a valid Ed25519 public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Option<PublicKey> {
        VerifyingKey::from_bytes(bytes).ok().map(PublicKey)
    }

    /// Whether `signature` is this key's (strict) signature of `context`
    /// followed by `message`, as [`SecretKey::sign_with_context`] makes it.
    pub fn verify_with_context(&self, context: &[u8], message: &[u8], signature: &[u8; 64]) -> bool {
        context != CONTEXT
            && self
                .0
                .verify_strict(&[context, message].concat(), &ed25519_dalek::Signature::from_bytes(signature))
                .is_ok()
    }
}

/// Hex of the key's bytes.
impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0.as_bytes()))
    }
}

/// Shows only the public half.
impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public {})", self.public())
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

fn parse_key(text: &str, tag: &str) -> Result<[u8; 32]> {
    let bad = |m: &str| FormatError::BadKey(m.into());
    let mut words = text.split_whitespace();
    match words.next() {
        Some(t) if t == tag => {}
        Some(t) if t == SECRET_TAG || t == PUBLIC_TAG => {
            return Err(bad(if tag == SECRET_TAG {
                "this is a public key; signing needs the secret key file"
            } else {
                "this is a secret key; give the .pub file"
            }));
        }
        _ => return Err(bad("not a shipfn key file")),
    }
    let hex = words.next().ok_or_else(|| bad("the key is missing"))?;
    if words.next().is_some() {
        return Err(bad("unexpected text after the key"));
    }
    let mut bytes = [0; 32];
    hex::decode_to_slice(hex, &mut bytes).map_err(|_| bad("the key is not 64 hex digits"))?;
    Ok(bytes)
}

/// Checks a signature block against `digest`; returns the signer.
pub(crate) fn verify_block(block: &[u8], digest: &Hash) -> Result<PublicKey> {
    let key: [u8; 32] = block[..32].try_into().expect("32 bytes");
    let signature: [u8; 64] = block[32..SIGNATURE_BLOCK_LEN].try_into().expect("64 bytes");
    let key = VerifyingKey::from_bytes(&key).map_err(|_| FormatError::BadSignature)?;
    key.verify_strict(&message(digest), &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| FormatError::BadSignature)?;
    Ok(PublicKey(key))
}
