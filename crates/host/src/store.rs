//! Module stores: where a host finds the modules that thin packages name
//! by SHA-256. A store is a trait, so that a cluster can keep modules in a
//! shared object store; [`DirModuleStore`] keeps them in a local directory.
//! The host checks every module it reads from a store against its hash, so
//! a damaged or planted entry is never loaded.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use shipfn_format::Hash;

use crate::private::{Private, check_private, create_private_dir};

/// Where a host keeps modules by SHA-256.
pub trait ModuleStore: Send + Sync {
    /// The module whose SHA-256 is `sha256`, if the store has it. The host
    /// checks the bytes against the hash before using them.
    ///
    /// # Errors
    ///
    /// Failures of the store itself (an absent module is `Ok(None)`).
    fn get(&self, sha256: &Hash) -> io::Result<Option<Vec<u8>>>;

    /// Keeps `wasm`, whose SHA-256 is `sha256`. Keeping a module the store
    /// has already is not an error.
    fn put(&self, sha256: &Hash, wasm: &[u8]) -> io::Result<()>;

    /// Whether the store has the module, without reading it.
    fn contains(&self, sha256: &Hash) -> io::Result<bool>;

    /// Every module in the store.
    fn list(&self) -> io::Result<Vec<StoredModule>>;

    /// Removes the module; whether it was there.
    fn remove(&self, sha256: &Hash) -> io::Result<bool>;
}

/// A module in a [`ModuleStore`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredModule {
    /// SHA-256 of the module's bytes (as the store names it).
    pub sha256: Hash,
    /// Size in bytes.
    pub size: u64,
}

/// A [`ModuleStore`] in a local directory: one `<sha256>.wasm` file per
/// module. The directory must belong to this user and be writable by no
/// one else, as the compiled-code cache's must.
#[derive(Debug, Clone)]
pub struct DirModuleStore {
    dir: PathBuf,
}

impl DirModuleStore {
    /// Opens the store in `dir`, creating it (mode 0700) if needed.
    ///
    /// # Errors
    ///
    /// If `dir` cannot be made, or it belongs to another user or others may
    /// write to it.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<DirModuleStore> {
        let dir = dir.into();
        create_private_dir(&dir)?;
        check_private(&dir, &std::fs::metadata(&dir)?, Private::Directory)?;
        Ok(DirModuleStore { dir })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, sha256: &Hash) -> PathBuf {
        self.dir.join(format!("{}.wasm", hex::encode(sha256)))
    }
}

impl ModuleStore for DirModuleStore {
    fn get(&self, sha256: &Hash) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(sha256)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn put(&self, sha256: &Hash, wasm: &[u8]) -> io::Result<()> {
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        file.write_all(wasm)?;
        file.persist(self.path(sha256)).map_err(|e| e.error)?;
        Ok(())
    }

    fn contains(&self, sha256: &Hash) -> io::Result<bool> {
        self.path(sha256).try_exists()
    }

    fn list(&self) -> io::Result<Vec<StoredModule>> {
        let mut modules = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wasm")) else { continue };
            let Ok(sha256) = hex::decode(stem).map_err(drop).and_then(|h| Hash::try_from(h).map_err(drop)) else {
                continue;
            };
            modules.push(StoredModule { sha256, size: entry.metadata()?.len() });
        }
        modules.sort_by_key(|m| m.sha256);
        Ok(modules)
    }

    fn remove(&self, sha256: &Hash) -> io::Result<bool> {
        match std::fs::remove_file(self.path(sha256)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}
