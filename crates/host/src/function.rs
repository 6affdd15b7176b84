//! A loaded package: verified, compiled, ready to call many times.

use serde::Serialize;
use serde::de::DeserializeOwned;
use shipfn_abi::{ArgError, StateJson, mode, status, word};
use shipfn_format::{Manifest, Package};
use wasmtime::Module;

use crate::instance::{Guest, Reply};
use crate::{Error, Host, Result};

/// A package loaded by [`Host::load`]. Each call runs in a fresh instance.
pub struct Function {
    host: Host,
    module: Module,
    package: Package,
}

impl Function {
    /// Wraps a compiled package after checking, in a throwaway instance,
    /// that its table indices belong to its module and that its state
    /// decodes as their types.
    pub(crate) fn new(host: Host, module: Module, package: Package) -> Result<Function> {
        let function = Function { host, module, package };
        function.run(mode::VALIDATE, &[]).map_err(|e| match e {
            Error::Abi(m) => Error::Abi(format!("the package does not fit its module: {m}")),
            Error::Trap(m) | Error::Panic(m) => Error::Abi(format!("the package does not fit its module: {m}")),
            other => other,
        })?;
        Ok(function)
    }

    /// The package's manifest: signature, hashes, provenance.
    pub fn manifest(&self) -> &Manifest {
        &self.package.manifest
    }

    /// The package this function was loaded from.
    pub fn package(&self) -> &Package {
        &self.package
    }

    /// A fresh instance with the closure's state written into its memory.
    fn instance(&self) -> Result<Guest> {
        let host = &self.host;
        let mut guest = Guest::new(host, &self.module)?;
        let m = &self.package.manifest;
        guest.set_word(word::ENTRY, m.entry)?;
        guest.set_word(word::TRAMP, m.tramp)?;
        guest.set_word(word::FUNC, m.func)?;
        guest.put(host, (word::STATE_PTR, word::STATE_LEN), &self.package.state)?;
        Ok(guest)
    }

    fn run(&self, call_mode: u32, input: &[u8]) -> Result<Reply> {
        let mut guest = self.instance()?;
        guest.put(&self.host, (word::INPUT_PTR, word::INPUT_LEN), input)?;
        let reply = guest.call(&self.host, call_mode)?;
        match reply.status {
            status::OK => Ok(reply),
            status::GUEST_ERROR => Err(Error::GuestError(String::from_utf8_lossy(&reply.output).into_owned())),
            status::BAD_ARGS => Err(Error::BadArgs(self.describe_arg_error(&reply.output))),
            _ => Err(Error::Abi(String::from_utf8_lossy(&reply.output).into_owned())),
        }
    }

    fn describe_arg_error(&self, output: &[u8]) -> String {
        let Ok(e) = postcard::from_bytes::<ArgError>(output) else {
            return "the arguments were refused".into();
        };
        match self.manifest().signature.params.get(e.index as usize) {
            Some(p) => format!("argument {} `{}` expects {}: {}", e.index + 1, p.name, p.ty, e.message),
            None => format!("{}; the function is {}", e.message, self.manifest().signature_text()),
        }
    }

    /// Calls with one JSON text per parameter and returns the result as JSON.
    ///
    /// A text that is not JSON at all is taken as a string, so `hello` works
    /// for a `String` parameter.
    pub fn call_json(&self, args: &[String]) -> Result<String> {
        let params = &self.manifest().signature.params;
        if args.len() != params.len() {
            return Err(Error::BadArgs(format!(
                "expected {} argument(s) for {}, got {}",
                params.len(),
                self.manifest().signature_text(),
                args.len()
            )));
        }
        let input = postcard::to_allocvec(args).map_err(|e| Error::Internal(e.to_string()))?;
        let reply = self.run(mode::JSON, &input)?;
        String::from_utf8(reply.output).map_err(|_| Error::Abi("the JSON result is not UTF-8".into()))
    }

    /// Calls with a typed argument tuple (e.g. `(4i64,)`), postcard both ways.
    ///
    /// The types must match the closure's parameter and result types; a
    /// mismatch is reported as [`Error::BadArgs`] or [`Error::Abi`].
    pub fn call<A: Serialize, R: DeserializeOwned>(&self, args: &A) -> Result<R> {
        let input = postcard::to_allocvec(args).map_err(|e| Error::BadArgs(e.to_string()))?;
        let reply = self.run(mode::POSTCARD, &input)?;
        postcard::from_bytes(&reply.output)
            .map_err(|e| Error::Abi(format!("the result does not decode as the requested type: {e}")))
    }

    /// The captured state and globals as JSON, rendered by the guest's own
    /// serde impls inside the sandbox.
    pub fn describe(&self) -> Result<StateJson> {
        let reply = self.run(mode::DESCRIBE, &[])?;
        postcard::from_bytes(&reply.output)
            .map_err(|e| Error::Abi(format!("the state description does not decode: {e}")))
    }
}
