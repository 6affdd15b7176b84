//! A loaded package: verified, compiled, ready to call many times.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use std::any::TypeId;
use std::sync::{Arc, OnceLock};

use shipfn_abi::{ArgError, ENVELOPE_ABI, Field, Made, Signature, StateJson, mode, short_type_name, status, word};
use shipfn_format::{Closure as FormatClosure, Hashed, Manifest, Package, Source, VerifiedPackage};

use crate::instance::{Guest, Lifetime, Placement, Reply};
use crate::json::CallShapes;
use crate::module::GuestModule;
use crate::runtime::Runtime;
use crate::stores::StorePool;
use crate::typed::Params;
use crate::{Error, Limits, Result};

/// States up to this size are decoded once at load, to refuse a package
/// whose state does not fit its closure before any call.
pub const VALIDATE_STATE_UP_TO: usize = 1 << 20;

/// A package loaded by [`Host::load`](crate::Host::load). Each call runs in a
/// fresh instance; [`warm`](Function::warm) gives an instance to reuse
/// across calls.
///
/// `Function` is `Send + Sync` and cheap to clone (clones share the package
/// and the compiled module): share one across threads and call it
/// concurrently.
#[derive(Clone)]
pub struct Function {
    inner: Arc<Inner>,
    /// What each call may use: the host's limits or tighter ones.
    limits: Limits,
}

struct Inner {
    runtime: Runtime,
    stores: Arc<StorePool>,
    module: GuestModule,
    package: VerifiedPackage,
    /// The argument and result types of the first typed call, once they
    /// were found to be the closure's: later calls with them skip the check.
    checked_types: OnceLock<(TypeId, TypeId)>,
    /// The result type found, by structure, to be the closure's.
    checked_result: OnceLock<TypeId>,
    /// For a guest without JSON, the shapes its JSON calls are converted
    /// with, once found.
    shapes: OnceLock<CallShapes>,
}

impl Function {
    /// Wraps a compiled package after checking, in a throwaway instance,
    /// that its table indices belong to its module and, for a state of up to
    /// [`VALIDATE_STATE_UP_TO`] bytes, that its state decodes as their types.
    /// A larger state is decoded by every call anyway, so it is checked by
    /// the first one (or by [`check_state`](Function::check_state)) rather
    /// than decoded twice.
    pub(crate) fn new(
        runtime: Runtime,
        stores: Arc<StorePool>,
        module: GuestModule,
        package: VerifiedPackage,
    ) -> Result<Function> {
        let limits = runtime.limits().clone();
        let m = package.manifest();
        let indices = [m.entry, m.trampoline, m.body];
        // A closure of a module validated once needs no throwaway instance
        // again: what remains to check is the state, which a guest of ABI 4
        // checks in full, captured closures included, as every call decodes it.
        let known = module.abi_version().is_some_and(|v| v >= 4) && module.validated(indices, &m.signature);
        let inner = Inner {
            runtime,
            stores,
            module,
            package,
            checked_types: OnceLock::new(),
            checked_result: OnceLock::new(),
            shapes: OnceLock::new(),
        };
        let function = Function { inner: Arc::new(inner), limits };
        if !known {
            let small = function.inner.package.state().len() <= VALIDATE_STATE_UP_TO;
            function.validate(if small { mode::VALIDATE } else { mode::VALIDATE_INDICES })?;
            if function.inner.module.abi_version().is_some_and(|v| v >= 4) {
                let m = function.manifest();
                function.inner.module.remember_validated(indices, &m.signature);
            }
        }
        Ok(function)
    }

    /// Checks, in a fresh instance, that the package's state decodes as the
    /// types of its closure, whatever its size. [`Host::load`](crate::Host::load) does this for
    /// states of up to [`VALIDATE_STATE_UP_TO`] bytes.
    pub fn check_state(&self) -> Result<()> {
        self.validate(mode::VALIDATE)
    }

    fn validate(&self, validate_mode: u32) -> Result<()> {
        let reply = self.fresh_unchecked(validate_mode, &[]);
        if validate_mode == mode::VALIDATE_INDICES && reply.as_ref().is_ok_and(|r| r.status == status::BAD_MODE) {
            // A guest from before VALIDATE_INDICES: check everything.
            return self.validate(mode::VALIDATE);
        }
        reply.and_then(|r| self.check(r)).and_then(|r| self.check_signature(&r.output)).map_err(|e| match e {
            Error::Abi(m) if m.starts_with(DOES_NOT_FIT) => Error::Abi(m),
            Error::Abi(m) | Error::Trap(m) | Error::Panic(m) => Error::Abi(format!("{DOES_NOT_FIT}: {m}")),
            other => other,
        })
    }

    /// Compares the signature that a guest of ABI 3 or later reports for
    /// the package's entry and state trampoline with the manifest's, so that
    /// a manifest cannot claim types its closure does not have (older guests
    /// report none, and their manifests are taken as they are).
    fn check_signature(&self, reported: &[u8]) -> Result<()> {
        if self.inner.module.abi_version().is_none_or(|v| v < 3) {
            return Ok(());
        }
        let seen: Signature = postcard::from_bytes(reported)
            .map_err(|e| Error::Abi(format!("the entry's signature does not decode: {e}")))?;
        let claimed = &self.manifest().signature;
        let same_params = seen.params.len() == claimed.params.len()
            && seen.params.iter().zip(&claimed.params).all(|(s, c)| s.ty == c.ty);
        if same_params
            && seen.result == claimed.result
            && seen.ok == claimed.ok
            && seen.error == claimed.error
            && seen.captures == claimed.captures
            && seen.globals == claimed.globals
        {
            return Ok(());
        }
        let types = |s: &Signature| {
            let params: Vec<String> = s.params.iter().map(|p| short_type_name(&p.ty)).collect();
            let fields = |f: &[Field]| {
                f.iter().map(|f| format!("{}: {}", f.name, short_type_name(&f.ty))).collect::<Vec<_>>().join(", ")
            };
            format!(
                "fn({}) -> {} capturing [{}] and globals [{}]",
                params.join(", "),
                short_type_name(&s.result),
                fields(&s.captures),
                fields(&s.globals)
            )
        };
        Err(Error::Abi(format!("the manifest says {}, but the module's closure is {}", types(claimed), types(&seen))))
    }

    /// Checks that `A` and `R` are the closure's types: by name, and for a
    /// package with a schema by structure. Once a pair passed, it is not
    /// checked again, unless its arguments' values did not show their whole
    /// type (see [`structure`](crate::structure)): then each call's are.
    fn check_types<A: Params, R: DeserializeOwned>(&self, args: &A) -> Result<()> {
        let key = (typeid::of::<A>(), typeid::of::<R>());
        if self.inner.checked_types.get() == Some(&key) {
            return Ok(());
        }
        // Another package of the same closure may have been called with them.
        let m = self.manifest();
        let (module, indices, schema) = (&self.inner.module, [m.entry, m.trampoline, m.body], m.schema.as_ref());
        if !module.typed_call_checked(indices, &m.signature, schema, key) {
            let whole = module.abi_version().is_some_and(|v| v >= 6);
            crate::typed::check::<A, R>(&m.signature, whole)?;
            if let Some(schema) = schema {
                if self.inner.checked_result.get() != Some(&key.1) {
                    crate::typed::check_result_structure::<R>(&m.signature, schema)?;
                    let _ = self.inner.checked_result.set(key.1);
                }
                if !crate::typed::check_args_structure(args, &m.signature, schema)? {
                    return Ok(());
                }
            }
            module.remember_typed_call(indices, &m.signature, schema, key);
        }
        let _ = self.inner.checked_types.set(key);
        Ok(())
    }

    /// The package's manifest: signature, hashes, provenance.
    pub fn manifest(&self) -> &Manifest {
        self.inner.package.manifest()
    }

    /// The closure's signature as Rust: `fn(own_arg: i64) -> i64`.
    pub fn signature_text(&self) -> String {
        self.manifest().signature_text()
    }

    /// The package this function was loaded from.
    pub fn package(&self) -> &VerifiedPackage {
        &self.inner.package
    }

    #[cfg(test)]
    pub(crate) fn guest_module(&self) -> &GuestModule {
        &self.inner.module
    }

    /// The limits each call of this function runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// This function with each call under `limits` instead of the host's:
    /// a service can give each function its own time, fuel, memory and
    /// result limits. The function and its clones share the package and
    /// the compiled module.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidLimits`] if `limits` ask for more than the host was
    /// built with: a longer stack, more memory or instances than its pool
    /// reserved, or fuel on a host that does not meter fuel.
    pub fn with_limits(mut self, limits: Limits) -> Result<Function> {
        limits.check_within(self.inner.runtime.limits())?;
        self.limits = limits;
        Ok(self)
    }

    /// A new instance with the closure's table indices set.
    fn instance(&self, lifetime: Lifetime) -> Result<Guest> {
        let inner = &*self.inner;
        let mut guest = Guest::new(&inner.runtime, &inner.stores, &inner.module, lifetime, &self.limits)?;
        let m = inner.package.manifest();
        guest.set_words(word::ENTRY, &[m.entry, m.trampoline, m.body])?;
        Ok(guest)
    }

    /// One call on a fresh instance.
    fn fresh(&self, call_mode: u32, input: &[u8]) -> Result<Reply> {
        self.check(self.fresh_unchecked(call_mode, input)?)
    }

    fn fresh_unchecked(&self, call_mode: u32, input: &[u8]) -> Result<Reply> {
        // Checking the indices alone needs no state.
        let state = if call_mode == mode::VALIDATE_INDICES { &[][..] } else { self.inner.package.state() };
        let mut guest = self.setup(state, input)?;
        let reply = guest.call(call_mode)?;
        guest.finish_fresh(&self.inner.stores);
        Ok(reply)
    }

    /// A fresh instance with the table indices, `state` and `input` in place,
    /// in the scratch buffer when they fit.
    fn setup(&self, state: &[u8], input: &[u8]) -> Result<Guest> {
        let mut guest = self.instance(Lifetime::OneCall)?;
        guest.place(Placement::Scratch, &[(word::STATE_PTR, state), (word::INPUT_PTR, input)])?;
        Ok(guest)
    }

    fn check(&self, reply: Reply) -> Result<Reply> {
        match reply.status {
            status::OK => Ok(reply),
            other => Err(self.failure(other, &reply.output)),
        }
    }

    fn failure(&self, status: u32, output: &[u8]) -> Error {
        failure(self.manifest(), status, output)
    }

    /// Whether the guest encodes JSON itself; if not, the host converts.
    /// A loaded function's module has run an instance (at this load or an
    /// earlier one), so its layout is known.
    fn guest_speaks_json(&self) -> bool {
        self.inner.module.speaks_json().unwrap_or(true)
    }

    /// Checks that JSON calls of this function can be made: its guest reads
    /// and writes JSON itself, or it was built without JSON and every
    /// parameter and the result are std types the host converts.
    ///
    /// # Errors
    ///
    /// [`Error::NoJson`] naming the first type the host cannot convert; a
    /// caller about to make many JSON calls can refuse them all up front.
    pub fn check_json(&self) -> Result<()> {
        if self.guest_speaks_json() { Ok(()) } else { self.shapes().map(|_| ()) }
    }

    /// The shapes of this closure's parameters and result, for the host's
    /// JSON conversion.
    fn shapes(&self) -> Result<&CallShapes> {
        if let Some(shapes) = self.inner.shapes.get() {
            return Ok(shapes);
        }
        let manifest = self.manifest();
        let shapes = CallShapes::of_signature(&manifest.signature, manifest.schema.as_ref())?;
        Ok(self.inner.shapes.get_or_init(|| shapes))
    }

    /// Refuses a call with `count` arguments unless that is how many
    /// parameters the closure takes.
    fn check_count(&self, count: usize) -> Result<()> {
        let params = &self.manifest().signature.params;
        if count == params.len() {
            return Ok(());
        }
        Err(Error::BadArgs(format!(
            "expected {} argument(s) for {}, got {count}",
            params.len(),
            self.manifest().signature_text(),
        )))
    }

    /// The mode and input of a call with one JSON text per parameter: the
    /// texts for a guest that speaks JSON, else postcard that the host
    /// encoded from them.
    fn json_request(&self, args: &[String]) -> Result<(u32, Vec<u8>)> {
        self.check_count(args.len())?;
        let params = &self.manifest().signature.params;
        if self.guest_speaks_json() {
            let input = postcard::to_allocvec(args).map_err(|e| Error::internal("encoding the arguments", e))?;
            Ok((mode::JSON, input))
        } else {
            Ok((mode::POSTCARD, self.shapes()?.encode_args(params, args)?))
        }
    }

    /// Calls with one JSON value per parameter and returns the result as
    /// JSON text: for a language binding, whose values are JSON by
    /// construction. Unlike [`call_json`](Function::call_json), a value is
    /// never taken as a string for being invalid JSON, and errors carry no
    /// hint about quoting on a command line. Values are raw JSON so that
    /// integers keep every digit: a `serde_json::Value` holds at most 64
    /// bits, a `u128` or `i128` parameter takes 128. A guest that reads
    /// JSON decodes the values with its own serde impls (the package's
    /// schema is the maker's word, the guest's code is not); for a guest
    /// without JSON the host converts them to postcard by the closure's
    /// types.
    ///
    /// # Errors
    ///
    /// As [`call_json`](Function::call_json).
    pub fn call_values(&self, args: &[Box<RawValue>]) -> Result<String> {
        self.check_count(args.len())?;
        let (call_mode, input) = if self.guest_speaks_json() {
            let texts: Vec<&str> = args.iter().map(|arg| arg.get()).collect();
            (mode::JSON, postcard::to_allocvec(&texts).map_err(|e| Error::internal("encoding the arguments", e))?)
        } else {
            (mode::POSTCARD, self.shapes()?.encode_values(&self.manifest().signature.params, args)?)
        };
        let reply = self.fresh(call_mode, &input)?;
        self.json_output(call_mode, reply)
    }

    /// Calls with one JSON text per parameter and returns the result as JSON.
    ///
    /// A text that is not JSON at all is taken as a string, so `hello` works
    /// for a `String` parameter.
    pub fn call_json(&self, args: &[String]) -> Result<String> {
        let (call_mode, input) = self.json_request(args)?;
        let reply = self.fresh(call_mode, &input)?;
        self.json_output(call_mode, reply)
    }

    /// [`call_json`](Function::call_json) for the last call of this
    /// function: unless a clone of it is alive, the host's copy of the state
    /// is freed as soon as it is in the instance, before the closure runs,
    /// so a one-shot run of a closure with a large state needs about one copy
    /// of it less memory.
    pub fn call_json_once(self, args: &[String]) -> Result<String> {
        // For a guest without JSON, `json_request` found the shapes.
        let (call_mode, input) = self.json_request(args)?;
        let mut guest = self.setup(self.inner.package.state(), &input)?;
        let (manifest, shapes) = match Arc::try_unwrap(self.inner) {
            Ok(inner) => (inner.package.into_manifest(), inner.shapes.into_inner()),
            Err(shared) => (shared.package.manifest().clone(), shared.shapes.get().cloned()),
        };
        let reply = guest.call(call_mode)?;
        match reply.status {
            status::OK => match (call_mode, shapes) {
                (mode::JSON, _) => guest_json(reply),
                (_, Some(shapes)) => shapes.decode_result(&manifest.signature, &reply.output),
                (_, None) => Err(Error::internal("decoding a result", "no shapes for a postcard call")),
            },
            other => Err(failure(&manifest, other, &reply.output)),
        }
    }

    /// The JSON result of a call in `call_mode`: the guest's own JSON text,
    /// or the host's conversion of a postcard one.
    fn json_output(&self, call_mode: u32, reply: Reply) -> Result<String> {
        match call_mode {
            mode::JSON => guest_json(reply),
            _ => self.shapes()?.decode_result(&self.manifest().signature, &reply.output),
        }
    }

    /// Whether the closure's result is a closure (which
    /// [`call_to_package`](Function::call_to_package) can pack).
    pub fn returns_closure(&self) -> bool {
        let signature = &self.manifest().signature;
        signature.ok.is_none() && short_type_name(&signature.result).starts_with("Closure<")
    }

    /// Calls a closure that returns a closure, with one JSON text per
    /// parameter, and packs the closure it returns: same module, its own
    /// captured state. The package is not verified here; load it to check it.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgs`] if this closure's result is not a closure, or for
    /// wrong arguments; [`Error::Abi`] for a guest older than ABI 5 (rebuild
    /// it) or a returned closure that cannot be packed (one that was not
    /// built by `ship!` during this call); then any error of the call itself.
    pub fn call_to_package(&self, args: &[String]) -> Result<Package> {
        let manifest = self.manifest();
        let result = short_type_name(&manifest.signature.result);
        if !self.returns_closure() {
            return Err(Error::BadArgs(format!(
                "the closure returns {result}, not a closure: only a returned closure can be saved as a package"
            )));
        }
        let version = self.inner.module.abi_version().unwrap_or(0);
        if version < 5 {
            return Err(Error::Abi(format!(
                "this package's guest speaks ABI {version}; returning a closure as a package needs ABI 5: \
                 rebuild it with this version of shipfn-guest"
            )));
        }
        let (call_mode, input) = self.json_request(args)?;
        let make_mode = if call_mode == mode::JSON { mode::MAKE } else { mode::MAKE_POSTCARD };
        // The instance hands the returned closure's state on, as a maker's
        // does: it must not give its pages back after the call.
        let mut guest = self.instance(Lifetime::Reused)?;
        guest.place(Placement::Scratch, &[(word::STATE_PTR, self.inner.package.state()), (word::INPUT_PTR, &input)])?;
        let made = guest.call_with(make_mode, |status, output| match status {
            status::OK => crate::pack::read_made(output, version)
                .map_err(|e| Error::Abi(format!("the returned closure does not decode: {e}"))),
            // The guest ran the closure and says why what it returned
            // cannot be made a package.
            status::BAD_MODE => Err(Error::Unshippable(String::from_utf8_lossy(output).into_owned())),
            other => Err(self.failure(other, output)),
        })??;
        let (made, schema, reached) = made;
        let package = &self.inner.package;
        let code = match (&reached, package.module()) {
            (Some(reached), Some(wasm)) if !reached.globals.is_empty() => Some(self.inner.module.code_map(wasm)?),
            _ => None,
        };
        let state = crate::pack::made_state(guest, &made, reached.as_ref(), code.as_deref(), true)?;
        let Made { entry, trampoline, body, signature, .. } = made;
        let module =
            Hashed { bytes: package.module().map(<[u8]>::to_vec).unwrap_or_default(), sha256: manifest.module_sha256 };
        let source = Source::Returned { by: Box::new(manifest.source.clone()), args: args.to_vec() };
        let closure = FormatClosure { entry, trampoline, body, signature, schema };
        let mut made = Package::new(source, closure, module, state);
        made.manifest.abi_version = version;
        Ok(made)
    }

    /// Calls with a typed argument tuple (e.g. `(4i64,)`), postcard both ways.
    ///
    /// # Errors
    ///
    /// [`Error::BadArgs`] naming both signatures if `A`'s elements or `R` are
    /// not the closure's parameter and result types (a borrowed form such
    /// as `&str` for `String` is accepted; for a fallible closure `R` is the
    /// success type). For a guest of ABI 6, std's types and primitives must
    /// be the very ones the closure takes; a type of the guest's crate is
    /// matched by its name, so the host may use its own copy of it. The
    /// check runs once for the first pair of types used.
    /// Then any error of the call itself.
    pub fn call<A: Params, R: DeserializeOwned>(&self, args: &A) -> Result<R> {
        self.check_types::<A, R>(args)?;
        with_typed_input(args, |input| {
            let mut guest = self.setup(self.inner.package.state(), input)?;
            // The result is decoded straight from guest memory.
            let result = guest.call_with(mode::POSTCARD, |status, output| match status {
                status::OK => decode_result(output),
                other => Err(self.failure(other, output)),
            })?;
            guest.finish_fresh(&self.inner.stores);
            result
        })
    }

    /// The captured state and globals as JSON, rendered by the guest's own
    /// serde impls inside the sandbox.
    pub fn describe(&self) -> Result<StateJson> {
        if !self.guest_speaks_json() {
            // Decoded by the host: the state was checked at load or is
            // checked here by a call that decodes it.
            if self.inner.package.state().len() > VALIDATE_STATE_UP_TO {
                self.check_state()?;
            }
            let manifest = self.manifest();
            let mut state = self.inner.package.state();
            if manifest.abi_version >= ENVELOPE_ABI {
                state = crate::shipped::open(state)?.state;
            }
            return crate::json::describe_state(&manifest.signature, manifest.schema.as_ref(), state);
        }
        let reply = self.fresh(mode::DESCRIBE, &[])?;
        postcard::from_bytes(&reply.output)
            .map_err(|e| Error::Abi(format!("the state description does not decode: {e}")))
    }

    /// An instance to reuse for many calls of this function.
    ///
    /// The state is written into it once. Each call still runs under the
    /// host's limits, and each call restores the closure's snapshotted
    /// globals before its body runs, so calls see the same globals. Anything
    /// else the guest keeps in its own statics (caches, counters) survives
    /// from one call to the next: use a fresh instance per call (the default)
    /// where calls must not see each other. After a call fails with a trap,
    /// timeout or limit, the instance is discarded and the next call starts a
    /// fresh one.
    ///
    /// A `Warm` holds a clone of the function, so it can be kept beside it.
    pub fn warm(&self) -> Warm {
        Warm { function: self.clone(), guest: None }
    }
}

fn typed_input<A: Serialize>(args: &A) -> Result<Vec<u8>> {
    postcard::to_allocvec(args).map_err(|e| Error::BadArgs(e.to_string()))
}

/// Runs `f` on the postcard of `args`, encoded on the stack when small.
fn with_typed_input<A: Serialize, T>(args: &A, f: impl FnOnce(&[u8]) -> Result<T>) -> Result<T> {
    let mut buffer = [0u8; 256];
    match postcard::to_slice(args, &mut buffer) {
        Ok(input) => f(input),
        Err(postcard::Error::SerializeBufferFull) => f(&typed_input(args)?),
        Err(e) => Err(Error::BadArgs(e.to_string())),
    }
}

fn typed_output<R: DeserializeOwned>(reply: Reply) -> Result<R> {
    decode_result(&reply.output)
}

fn decode_result<R: DeserializeOwned>(output: &[u8]) -> Result<R> {
    postcard::from_bytes(output)
        .map_err(|e| Error::Abi(format!("the result does not decode as the requested type: {e}")))
}

/// The guest's JSON result, which must be one JSON value: a guest's own
/// serde_json writes nothing else, and callers print or parse it as one.
fn guest_json(reply: Reply) -> Result<String> {
    let text = String::from_utf8(reply.output).map_err(|_| Error::Abi("the JSON result is not UTF-8".into()))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text)
        .map_err(|e| Error::Abi(format!("the JSON result is not one JSON value: {e}")))?;
    Ok(text)
}

/// How an error about a state or indices that do not fit the module starts.
const DOES_NOT_FIT: &str = "the package does not fit its module";

/// The error a status other than `OK` stands for.
fn failure(manifest: &Manifest, status: u32, output: &[u8]) -> Error {
    let text = || String::from_utf8_lossy(output).into_owned();
    match status {
        status::GUEST_ERROR => Error::GuestError(text()),
        status::BAD_ARGS => Error::BadArgs(describe_arg_error(manifest, output)),
        status::BAD_STATE => Error::Abi(format!("{DOES_NOT_FIT}: {}", text())),
        _ => Error::Abi(text()),
    }
}

fn describe_arg_error(manifest: &Manifest, output: &[u8]) -> String {
    let Ok(e) = postcard::from_bytes::<ArgError>(output) else {
        return "the arguments were refused".into();
    };
    match manifest.signature.params.get(e.index as usize) {
        Some(p) => format!("argument {} `{}` expects {}: {}", e.index + 1, p.name, short_type_name(&p.ty), e.message),
        None => format!("{}; the function is {}", e.message, manifest.signature_text()),
    }
}

/// A reused instance of a [`Function`]; see [`Function::warm`].
pub struct Warm {
    function: Function,
    guest: Option<Guest>,
}

impl Warm {
    fn run(&mut self, call_mode: u32, input: &[u8]) -> Result<Reply> {
        let function = &self.function;
        let guest = match &mut self.guest {
            Some(guest) => guest,
            empty => {
                let mut guest = function.instance(Lifetime::Reused)?;
                // The state lives on the guest heap: the scratch buffer is
                // reused by every call's input and output.
                guest.place(Placement::Heap, &[(word::STATE_PTR, function.inner.package.state())])?;
                empty.insert(guest)
            }
        };
        guest.arm()?;
        let result = guest.place(Placement::Scratch, &[(word::INPUT_PTR, input)]).and_then(|buffers| {
            let reply = guest.call(call_mode);
            if reply.is_ok() {
                guest.free_buffers(&buffers);
            }
            reply
        });
        if result.is_err() {
            self.guest = None;
        }
        self.function.check(result?)
    }

    /// Like [`Function::call_json`], on this instance.
    pub fn call_json(&mut self, args: &[String]) -> Result<String> {
        let (call_mode, input) = self.function.json_request(args)?;
        let reply = self.run(call_mode, &input)?;
        self.function.json_output(call_mode, reply)
    }

    /// Like [`Function::call`], on this instance.
    pub fn call<A: Params, R: DeserializeOwned>(&mut self, args: &A) -> Result<R> {
        self.function.check_types::<A, R>(args)?;
        with_typed_input(args, |input| typed_output(self.run(mode::POSTCARD, input)?))
    }
}
