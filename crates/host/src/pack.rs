//! The sender's side: run a maker inside the sandbox and pack the closure
//! it returns.

use shipfn_abi::{ArgError, FN_PREFIX, MAKER_PREFIX, Made, status, word};
use shipfn_format::{Closure, Hashed, Package, Source, sha256};

use crate::instance::{Guest, Lifetime, Placement};
use crate::{Error, Host, Result};

impl Host {
    /// Runs the maker `name` of a guest module with one JSON text per
    /// parameter, inside the sandbox and under this host's limits, and packs
    /// the closure it returns together with the module.
    pub fn make(&self, wasm: &[u8], name: &str, args: &[String]) -> Result<Package> {
        let source = Source::Maker { name: name.into(), args: args.to_vec() };
        self.pack(wasm, ("maker", MAKER_PREFIX, name), args, source)
    }

    /// Packs the plain function `name` (marked `#[export]` in the guest).
    pub fn pack_function(&self, wasm: &[u8], name: &str) -> Result<Package> {
        self.pack(wasm, ("exported function", FN_PREFIX, name), &[], Source::Function { name: name.into() })
    }

    /// The makers and exported functions a guest module offers.
    pub fn catalog(&self, wasm: &[u8]) -> Result<Catalog> {
        let module = self.module(wasm, sha256(wasm))?;
        Ok(Catalog { makers: module.names_with_prefix(MAKER_PREFIX), functions: module.names_with_prefix(FN_PREFIX) })
    }

    fn pack(
        &self,
        wasm: &[u8],
        (what, prefix, name): (&'static str, &str, &str),
        args: &[String],
        source: Source,
    ) -> Result<Package> {
        let module_sha256 = sha256(wasm);
        let module = self.module(wasm, module_sha256)?;
        let export = format!("{prefix}{name}");
        if !module.has_entry(&export) {
            return Err(Error::NoSuchExport { what, name: name.into(), available: module.names_with_prefix(prefix) });
        }
        // The maker's instance hands its state on, so it lives on its own.
        let mut guest = Guest::new(self.runtime(), self.stores(), &module, Lifetime::Reused, self.limits())?;
        let input = postcard::to_allocvec(args).map_err(|e| Error::internal("encoding the arguments", e))?;
        guest.place(Placement::Scratch, &[(word::INPUT_PTR, &input)])?;
        let made = guest.invoke(&export, |status, output| match status {
            status::OK => postcard::from_bytes::<Made>(output)
                .map_err(|e| Error::Abi(format!("the {what} answered something that does not decode: {e}"))),
            status::BAD_ARGS => {
                let message = postcard::from_bytes::<ArgError>(output)
                    .map(|e| e.message)
                    .unwrap_or_else(|_| "the arguments were refused".into());
                Err(Error::BadArgs(format!("{what} `{name}`: {message}")))
            }
            _ => Err(Error::Abi(format!("{what} `{name}`: {}", String::from_utf8_lossy(output)))),
        })??;
        let version = guest.abi_version();
        let Made { entry, trampoline, body, signature, state } = made;
        let state = if version >= 2 && state.is_empty() {
            guest.take_hashed(word::STATE_PTR, word::STATE_LEN)?
        } else {
            drop(guest);
            state.into()
        };
        let module = Hashed { bytes: wasm.to_vec(), sha256: module_sha256 };
        let mut package = Package::new(source, Closure { entry, trampoline, body, signature }, module, state);
        package.manifest.abi_version = version;
        Ok(package)
    }
}

/// What a guest module offers to `shipfn pack`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// Names usable with `--make`.
    pub makers: Vec<String>,
    /// Names usable with `--fn`.
    pub functions: Vec<String>,
}
