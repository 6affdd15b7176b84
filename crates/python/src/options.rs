//! What `load` and `make` take besides the package: limits and trusted
//! keys, kept with a function so that it pickles with them.

use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};
use shipfn_host::{Limits, PublicKey};

use crate::errors::bad_args;

/// Limits and trusted keys of a function; `None` takes the default.
#[derive(Clone, Default)]
pub struct Options {
    /// Seconds per call.
    pub timeout: Option<f64>,
    pub max_memory: Option<usize>,
    pub fuel: Option<u64>,
    /// Keys one of which must have signed the package; empty: any package.
    pub trust: Vec<PublicKey>,
}

impl Options {
    /// From the keyword arguments of `load` or `make`.
    pub fn new(
        trust: Option<&Bound<'_, PyAny>>,
        timeout: Option<f64>,
        max_memory: Option<usize>,
        fuel: Option<u64>,
    ) -> PyResult<Options> {
        if let Some(t) = timeout
            && !(t.is_finite() && t > 0.0)
        {
            return Err(bad_args(format!("timeout must be a positive number of seconds, not {t}")));
        }
        let trust = match trust {
            None => Vec::new(),
            Some(keys) => keys.try_iter()?.map(|key| public_key(&key?)).collect::<PyResult<_>>()?,
        };
        Ok(Options { timeout, max_memory, fuel, trust })
    }

    /// The limits each call runs under.
    pub fn limits(&self) -> Limits {
        let mut limits = Limits::default().fuel(self.fuel);
        if let Some(t) = self.timeout {
            limits = limits.timeout(Duration::from_secs_f64(t.min(30.0 * 24.0 * 3600.0)));
        }
        if let Some(m) = self.max_memory {
            limits = limits.max_memory(m);
        }
        limits
    }

    /// The trusted keys' 32 bytes each, for pickling.
    pub fn trust_bytes(&self) -> Vec<Vec<u8>> {
        self.trust.iter().map(|k| k.as_bytes().to_vec()).collect()
    }
}

/// A trusted key: a `.pub` file written by `shipfn keygen` (its path, or
/// its text), or the key's 32 bytes.
fn public_key(key: &Bound<'_, PyAny>) -> PyResult<PublicKey> {
    if let Ok(bytes) = key.cast::<PyBytes>() {
        let raw: [u8; 32] = bytes
            .as_bytes()
            .try_into()
            .map_err(|_| bad_args(format!("a key as bytes has 32 of them, not {}", bytes.as_bytes().len())))?;
        return PublicKey::from_bytes(&raw).ok_or_else(|| bad_args("these 32 bytes are not an Ed25519 public key"));
    }
    let given = if key.is_instance_of::<PyString>() { Some(key.extract::<String>()?) } else { None };
    let text = match given {
        Some(text) if text.starts_with("shipfn-ed25519-public-key") => text,
        _ => {
            let path: std::path::PathBuf = key
                .extract()
                .map_err(|_| bad_args("a trusted key is the path of a .pub file, its text, or the key's 32 bytes"))?;
            std::fs::read_to_string(&path)
                .map_err(|e| bad_args(format!("cannot read the key {}: {e}", path.display())))?
        }
    };
    PublicKey::from_file_text(&text).map_err(|e| bad_args(format!("not a shipfn public key: {e}")))
}
