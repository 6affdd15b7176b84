//! The on-disk cache of compiled modules.
//!
//! Loading precompiled code is `unsafe` in wasmtime: native code from a file
//! runs as is. So the cache loads only artifacts that a host holding the
//! cache's secret key wrote: each file ends with an HMAC-SHA256, under a
//! random key kept in the cache directory (mode 0600), of the module's hash,
//! the engine's compatibility tag and the artifact. A file that fails the
//! check is ignored and replaced.
//!
//! The key is only secret if nobody else can read or replace it: a cache
//! directory that another user owns or may write to (one made first by a
//! hostile neighbour, with a key they know), or a key file that is a link,
//! not a regular file, or readable by others, is refused.

use std::hash::{Hash as _, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use shipfn_format::Hash;
use wasmtime::{Engine, Module};

use crate::private::{Private, check_private, create_private_dir};

const KEY_FILE: &str = "key";
const MAC_LEN: usize = 32;

pub(crate) struct DiskCache {
    dir: PathBuf,
    key: [u8; 32],
    /// wasmtime's version and every setting that affects compiled code.
    engine_tag: String,
}

impl DiskCache {
    /// Opens (creating if needed) the cache in `dir` for `engine`.
    pub fn open(dir: &Path, engine: &Engine) -> std::io::Result<DiskCache> {
        create_private_dir(dir)?;
        check_private(dir, &std::fs::metadata(dir)?, Private::Directory)?;
        let key = load_or_make_key(&dir.join(KEY_FILE))?;
        let mut hasher = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_tag = format!("{:016x}", hasher.finish());
        Ok(DiskCache { dir: dir.to_owned(), key, engine_tag })
    }

    fn path(&self, module: &Hash) -> PathBuf {
        self.dir.join(format!("{}-{}.cwasm", hex::encode(module), self.engine_tag))
    }

    fn mac(&self, module: &Hash, artifact: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("any key length works");
        mac.update(module);
        mac.update(self.engine_tag.as_bytes());
        mac.update(artifact);
        mac
    }

    /// The compiled module for `module`, if this cache holds one it wrote.
    pub fn get(&self, engine: &Engine, module: &Hash) -> Option<Module> {
        let bytes = std::fs::read(self.path(module)).ok()?;
        let split = bytes.len().checked_sub(MAC_LEN)?;
        let (artifact, tag) = bytes.split_at(split);
        self.mac(module, artifact).verify_slice(tag).ok()?;
        // SAFETY: the HMAC proves that a host holding this cache's secret key
        // wrote these bytes with `Module::serialize`, for this engine's
        // settings; wasmtime also checks the version and settings itself.
        unsafe { Module::deserialize(engine, artifact) }.ok()
    }

    /// Stores `compiled`; failures only cost a recompile later.
    pub fn put(&self, module: &Hash, compiled: &Module) {
        let Ok(artifact) = compiled.serialize() else { return };
        let tag = self.mac(module, &artifact).finalize().into_bytes();
        let Ok(mut file) = tempfile::NamedTempFile::new_in(&self.dir) else { return };
        if file.write_all(&artifact).and_then(|()| file.write_all(&tag)).is_ok() {
            let _ = file.persist(self.path(module));
        }
    }
}

fn load_or_make_key(path: &Path) -> std::io::Result<[u8; 32]> {
    let read = |path: &Path| -> std::io::Result<[u8; 32]> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        let mut file = options.open(path)?;
        check_private(path, &file.metadata()?, Private::File)?;
        let mut key = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut key)?;
        key.try_into()
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "the cache key is not 32 bytes"))
    };
    match read(path) {
        Ok(key) => return Ok(key),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        Err(_) => {}
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(&key)?;
            Ok(key)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(path),
        Err(e) => Err(e),
    }
}
