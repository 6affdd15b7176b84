//! The sender's side: run a maker inside the sandbox and pack the closure
//! it returns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use shipfn_abi::schema::Schema;
use shipfn_abi::{ArgError, ENVELOPE_ABI, FN_PREFIX, Field, MAKER_PREFIX, Made, Reached, maker_mode, status, word};
use shipfn_format::{Closure, Hash, Hashed, Package, SCHEMA_ABI, Source};

use crate::instance::{Guest, Lifetime, Placement};
use crate::json::CallShapes;
use crate::module::GuestModule;
use crate::reach::CodeMap;
use crate::shipped::{Carried, Roots};
use crate::{Error, Host, Result};

impl Host {
    /// Prepares `wasm` for packing many closures: it is hashed, compiled
    /// and checked once, and each [`Maker::make`] then only runs the maker.
    ///
    /// # Errors
    ///
    /// As for a package's module in [`Host::load`].
    pub fn maker(&self, wasm: &[u8]) -> Result<Maker> {
        let wasm = Hashed::from(wasm.to_vec());
        let module = self.module(&wasm.bytes, wasm.sha256)?;
        Ok(Maker { host: self.clone(), module, wasm: Arc::new(wasm), params: Arc::default() })
    }

    /// Runs the maker `name` of a guest module with one JSON text per
    /// parameter, inside the sandbox and under this host's limits, and packs
    /// the closure it returns together with the module. To pack many
    /// closures of one module, prepare it once with [`maker`](Host::maker).
    pub fn make(&self, wasm: &[u8], name: &str, args: &[String]) -> Result<Package> {
        self.maker(wasm)?.make(name, args)
    }

    /// Packs the plain function `name` (marked `#[export]` in the guest).
    pub fn pack_function(&self, wasm: &[u8], name: &str) -> Result<Package> {
        self.maker(wasm)?.pack_function(name)
    }

    /// The makers and exported functions a guest module offers.
    pub fn catalog(&self, wasm: &[u8]) -> Result<Catalog> {
        Ok(self.maker(wasm)?.catalog())
    }
}

/// A guest module prepared for packing: hashed, compiled and checked once.
/// Cheap to clone.
#[derive(Clone)]
pub struct Maker {
    host: Host,
    module: GuestModule,
    wasm: Arc<Hashed>,
    /// The parameters of each maker asked so far, and their shapes, for
    /// guests without JSON, whose arguments the host encodes.
    params: Arc<Mutex<HashMap<String, Arc<MakerParams>>>>,
}

impl Maker {
    /// Runs the maker `name` with one JSON text per parameter, inside the
    /// sandbox and under the host's limits, and packs the closure it returns
    /// together with the module.
    ///
    /// # Errors
    ///
    /// [`Error::NoSuchExport`] naming the makers there are, [`Error::BadArgs`]
    /// for arguments the maker refuses, and any failure of the maker's run.
    pub fn make(&self, name: &str, args: &[String]) -> Result<Package> {
        let source = Source::Maker { name: name.into(), args: args.to_vec() };
        self.pack(("maker", MAKER_PREFIX, name), args, source)
    }

    /// Packs the plain function `name` (marked `#[export]` in the guest).
    pub fn pack_function(&self, name: &str) -> Result<Package> {
        self.pack(("exported function", FN_PREFIX, name), &[], Source::Function { name: name.into() })
    }

    /// The makers and exported functions the module offers.
    pub fn catalog(&self) -> Catalog {
        let module = &self.module;
        Catalog { makers: module.names_with_prefix(MAKER_PREFIX), functions: module.names_with_prefix(FN_PREFIX) }
    }

    /// SHA-256 of the module.
    pub fn module_sha256(&self) -> &Hash {
        &self.wasm.sha256
    }

    fn pack(
        &self,
        (what, prefix, name): (&'static str, &str, &str),
        args: &[String],
        source: Source,
    ) -> Result<Package> {
        let (host, module) = (&self.host, &self.module);
        let export = format!("{prefix}{name}");
        if !module.has_entry(&export) {
            return Err(Error::NoSuchExport { what, name: name.into(), available: module.names_with_prefix(prefix) });
        }
        // The maker's instance hands its state on, so it lives on its own.
        let mut guest = Guest::new(host.runtime(), host.stores(), module, Lifetime::Reused, host.limits())?;
        let (input, mode) = if guest.speaks_json() {
            let input = postcard::to_allocvec(args).map_err(|e| Error::internal("encoding the arguments", e))?;
            (input, maker_mode::JSON)
        } else {
            let (params, shapes) = &*self.params_of(&export)?;
            if args.len() != params.len() {
                let list: Vec<String> =
                    params.iter().map(|p| format!("{}: {}", p.name, shipfn_abi::short_type_name(&p.ty))).collect();
                return Err(Error::BadArgs(format!(
                    "{what} `{name}`: expected {} argument(s), got {} (the {what} takes ({}))",
                    params.len(),
                    args.len(),
                    list.join(", ")
                )));
            }
            let input = shapes.encode_args(params, args).map_err(|e| prefixed(e, &format!("{what} `{name}`")))?;
            (input, maker_mode::POSTCARD)
        };
        if mode != maker_mode::JSON {
            guest.set_words(word::ENTRY, &[mode])?;
        }
        guest.place(Placement::Scratch, &[(word::INPUT_PTR, &input)])?;
        let version = guest.abi_version();
        let made = guest.invoke(&export, |status, output| match status {
            status::OK => read_made(output, version)
                .map_err(|e| Error::Abi(format!("the {what} answered something that does not decode: {e}"))),
            status::BAD_ARGS => {
                let message = postcard::from_bytes::<ArgError>(output)
                    .map(|e| e.message)
                    .unwrap_or_else(|_| "the arguments were refused".into());
                Err(Error::BadArgs(format!("{what} `{name}`: {message}")))
            }
            _ => Err(Error::Abi(format!("{what} `{name}`: {}", String::from_utf8_lossy(output)))),
        })??;
        let (made, schema, reached) = made;
        let code = match &reached {
            Some(reached) if !reached.globals.is_empty() => Some(module.code_map(&self.wasm.bytes)?),
            _ => None,
        };
        let state = made_state(guest, &made, reached.as_ref(), code.as_deref(), version >= 2)?;
        let Made { entry, trampoline, body, signature, .. } = made;
        let module = Hashed::clone(&self.wasm);
        let closure = Closure { entry, trampoline, body, signature, schema };
        let mut package = Package::new(source, closure, module, state);
        package.manifest.abi_version = version;
        Ok(package)
    }
}

impl Maker {
    /// The parameters of the maker export `export` and their shapes, asked
    /// of the guest once (ABI 6, [`maker_mode::PARAMS`]).
    fn params_of(&self, export: &str) -> Result<Arc<MakerParams>> {
        if let Some(params) = self.params.lock().unwrap_or_else(|e| e.into_inner()).get(export) {
            return Ok(params.clone());
        }
        let (host, module) = (&self.host, &self.module);
        let mut guest = Guest::new(host.runtime(), host.stores(), module, Lifetime::OneCall, host.limits())?;
        guest.set_words(word::ENTRY, &[maker_mode::PARAMS])?;
        let params = guest.invoke(export, |status, output| match status {
            status::OK => postcard::from_bytes::<Vec<Field>>(output).map_err(|e| {
                Error::Abi(format!("`{export}` named its parameters in a form that does not decode: {e}"))
            }),
            _ => {
                Err(Error::Abi(format!("`{export}` did not name its parameters: {}", String::from_utf8_lossy(output))))
            }
        })??;
        let shapes = CallShapes::of_params(&params)?;
        let params = Arc::new((params, shapes));
        let mut known = self.params.lock().unwrap_or_else(|e| e.into_inner());
        if known.len() < 1024 {
            known.insert(export.to_owned(), params.clone());
        }
        Ok(params)
    }
}

/// A closure made by a guest: postcard of its [`Made`], followed from guest
/// ABI 7 on by postcard of the [`Schema`] of its types, and from ABI 8 on by
/// postcard of what it [`Reached`].
pub(crate) fn read_made(output: &[u8], version: u32) -> std::result::Result<MadeParts, String> {
    let (made, rest) = postcard::take_from_bytes::<Made>(output).map_err(|e| e.to_string())?;
    let (schema, rest) = match version >= SCHEMA_ABI {
        true => {
            let (schema, rest) = postcard::take_from_bytes::<Schema>(rest).map_err(|e| format!("its schema: {e}"))?;
            (Some(schema), rest)
        }
        false => (None, rest),
    };
    let (reached, rest) = match version >= ENVELOPE_ABI {
        true => {
            let (reached, rest) =
                postcard::take_from_bytes::<Reached>(rest).map_err(|e| format!("its globals: {e}"))?;
            (Some(reached), rest)
        }
        false => (None, rest),
    };
    if !rest.is_empty() {
        return Err(format!("{} bytes are left over", rest.len()));
    }
    Ok((made, schema, reached))
}

/// What a guest reports of a closure it made.
pub(crate) type MadeParts = (Made, Option<Schema>, Option<Reached>);

/// The state of a closure that `guest` made: handed over in the block (ABI
/// 2 on, when `made.state` is empty), and from ABI 8 on in an envelope with
/// the globals the closure carries, decided from `code` (see
/// [`Carried::decide`]).
pub(crate) fn made_state(
    guest: Guest,
    made: &Made,
    reached: Option<&Reached>,
    code: Option<&CodeMap>,
    in_block: bool,
) -> Result<Hashed> {
    let carried = match reached {
        Some(reached) => {
            let roots = Roots { entry: made.entry, trampoline: made.trampoline, body: made.body };
            Some(Carried::decide(reached, roots, code)?)
        }
        None => None,
    };
    let head = |len: usize| carried.as_ref().map(|c| c.head(len)).unwrap_or_default();
    if in_block && made.state.is_empty() {
        return guest.take_hashed(word::STATE_PTR, word::STATE_LEN, head);
    }
    drop(guest);
    let mut bytes = head(made.state.len());
    bytes.extend_from_slice(&made.state);
    Ok(bytes.into())
}

/// A maker's parameters, and the shapes its JSON arguments are encoded with.
type MakerParams = (Vec<Field>, CallShapes);

/// `error` with `context` before its message, where it has one of its own.
fn prefixed(error: Error, context: &str) -> Error {
    match error {
        Error::BadArgs(message) => Error::BadArgs(format!("{context}: {message}")),
        other => other,
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
