//! Shippable closures: a table index for the body plus postcard bytes of
//! what it captured.

use core::fmt;
use core::marker::PhantomData;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shipfn_abi::Field;
use shipfn_schema::{Builder, Traced};

use crate::args::{Args, type_name};
use crate::capture::{Bulk, BulkSlice};

/// The captured values of one closure, as a struct the macro generates.
#[doc(hidden)]
pub trait StateFields: Serialize + DeserializeOwned {
    /// Name and type of each field that is shipped.
    fn fields() -> Vec<Field>;
    /// The serde shape of each field that is shipped, traced into `builder`.
    fn formats(builder: &mut Builder) -> Vec<Traced>;
}

/// What a state trampoline is asked to do.
#[doc(hidden)]
pub enum Request<A, R> {
    /// Decode the state and call the body.
    Call { args: Option<A>, result: Option<R> },
    /// Decode the state and render it as JSON: (captures, globals).
    #[cfg(feature = "json")]
    Describe { json: Option<(String, String)> },
    /// Decode the state (checking the closures nested in it too), and name
    /// the captures and globals.
    Validate { fields: Option<(Vec<Field>, Vec<Field>)> },
    /// Name the captures and globals without decoding the state.
    Fields { fields: Option<(Vec<Field>, Vec<Field>)> },
}

/// `state_trampoline::<B, C, G, A, R>`, seen through a type that does not name B, C and
/// G. Its first argument is the [`TypeKey`] of the `A` and `R` its caller
/// expects; its last two are [`MARK`].
pub(crate) type TrampolineFn<A, R> = fn(TypeKey, usize, &[u8], &mut Request<A, R>, f64, f32) -> Result<(), String>;

/// Passed to every state trampoline, and unused: the two parameters give
/// the trampolines a wasm type that no other function of a module is
/// likely to have, so that the host's pack-time analysis can resolve the
/// indirect calls of that type to the trampolines a closure's state names
/// rather than to every trampoline in the module.
pub(crate) const MARK: (f64, f32) = (0.0, 0.0);

/// Identifies the argument and result types of a call through a function
/// index that a package (and so, possibly, a forger) chose: every function
/// the index could name has the same wasm type, so `call_indirect` cannot
/// tell a trampoline for other Rust types from the right one.
pub(crate) type TypeKey = core::any::TypeId;

/// The key of a call taking `A` and returning `R`.
pub(crate) fn type_key<A, R>() -> TypeKey {
    typeid::of::<(A, R)>()
}

/// The error of a trampoline called with another key than its own.
pub(crate) const WRONG_TRAMPOLINE: &str =
    "the state trampoline is not one for this closure's argument and result types (a forged or corrupt package)";

/// The state trampoline: the one place that knows the capture types, and
/// the body's own type `B`, so the body is called directly (inlined), not
/// through the function table: a fresh instance initializes one table entry
/// fewer per call. `body` is the body's table index, kept in the format for
/// tools; it is not called.
fn state_trampoline<B, C, G, A, R>(
    key: TypeKey,
    _body: usize,
    state: &[u8],
    request: &mut Request<A, R>,
    _mark_f64: f64,
    _mark_f32: f32,
) -> Result<(), String>
where
    B: Fn(C, G, A) -> R + Copy,
    C: StateFields,
    G: StateFields,
{
    if key != type_key::<A, R>() {
        return Err(WRONG_TRAMPOLINE.into());
    }
    if let Request::Fields { fields } = request {
        *fields = Some((C::fields(), G::fields()));
        return Ok(());
    }
    // Every request checks the closures captured in the state as they are
    // decoded: a host may leave a state's check to its first call (ABI 4).
    let (captures, globals): (C, G) = validating(|| decode_state(state))?;
    match request {
        Request::Call { args, result } => {
            let args = args.take().ok_or("closure called without arguments")?;
            *result = Some(body::<B, C, G, A, R>(captures, globals, args));
        }
        #[cfg(feature = "json")]
        Request::Describe { json } => {
            *json = Some((to_json(&captures)?, to_json(&globals)?));
        }
        Request::Validate { fields } => *fields = Some((C::fields(), G::fields())),
        Request::Fields { .. } => {}
    }
    Ok(())
}

/// Decodes a state that must be exactly one `T`: bytes left over mean that
/// it was made for other types.
fn decode_state<T: DeserializeOwned>(state: &[u8]) -> Result<T, String> {
    match postcard::take_from_bytes(state) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("captured state does not decode: {} bytes are left over", rest.len())),
        Err(e) => match NESTED_ERROR.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(nested) => Err(format!("a captured closure: {nested}")),
            None => Err(format!("captured state does not decode: {e}")),
        },
    }
}

/// Why a captured closure was refused while its outer state was being
/// validated: postcard's errors do not carry a message of their own.
static NESTED_ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Whether a state is being validated now: then the closures nested in it
/// are checked as they are decoded (their trampolines, their states).
static VALIDATING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn validating<T>(decode: impl FnOnce() -> T) -> T {
    use core::sync::atomic::Ordering;
    let outer = VALIDATING.swap(true, Ordering::Relaxed);
    let decoded = decode();
    VALIDATING.store(outer, Ordering::Relaxed);
    decoded
}

/// The body as a function of its own: `body` records it, and the trampoline
/// calls it directly, not through the function table.
fn body<B: Fn(C, G, A) -> R + Copy, C, G, A, R>(captures: C, globals: G, args: A) -> R {
    conjure::<B>()(captures, globals, args)
}

/// The value of a closure type that captures nothing.
fn conjure<B: Copy>() -> B {
    const {
        assert!(
            core::mem::size_of::<B>() == 0,
            "a ship! body captured a value that ship! did not see as a capture (a local closure called by name, \
             which ship! takes for a function, or a name the macro could not read): bind it to a snake_case local \
             named in the body, or build the closure with ship!"
        )
    };
    // SAFETY: `B` has no bytes, so there is nothing to initialize. It is the
    // type of the closure `ship!` wrote, which holds no captures (they are
    // its parameters), so a value of it is just a name for its code.
    unsafe { core::mem::zeroed() }
}

#[cfg(feature = "json")]
fn to_json<T: Serialize>(value: &T) -> Result<String, String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// Postcard of `value` in a buffer of exactly its size: measuring first is
/// cheaper than growing (and copying) the buffer, which matters for large
/// captures. The buffer is not zeroed first (wasm's allocator would).
fn encode_state<T: Serialize>(value: &T) -> postcard::Result<Vec<u8>> {
    let buffer = Presized(Vec::with_capacity(postcard::experimental::serialized_size(value)?));
    postcard::serialize_with_flavor(value, buffer)
}

/// A postcard output that appends to a vector sized beforehand.
struct Presized(Vec<u8>);

impl postcard::ser_flavors::Flavor for Presized {
    type Output = Vec<u8>;

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<Vec<u8>> {
        Ok(self.0)
    }
}

/// Turns a function-table index back into a function pointer.
///
/// # Safety
/// `index` must have come from a function pointer of type `F` in this module.
pub(crate) unsafe fn fn_from_index<F: Copy>(index: usize) -> Result<F, String> {
    const { assert!(size_of::<F>() == size_of::<usize>()) };
    if index == 0 {
        return Err("null function index".into());
    }
    // SAFETY: the caller promises `index` is a function of type `F`; on wasm32 a
    // function pointer is its table index.
    Ok(unsafe { core::mem::transmute_copy::<usize, F>(&index) })
}

/// A closure that can be shipped: its code is a function in this module, its
/// captured values are postcard bytes.
///
/// Build one with [`ship!`](crate::ship); return it from a
/// [`#[maker]`](crate::maker) to pack it, or capture it in another shipped
/// closure and [`call`](Closure::call) it there. `A` is the tuple of
/// parameter types and `R` the result type.
pub struct Closure<A, R> {
    /// Table index of the state trampoline.
    trampoline: usize,
    /// Table index of the body.
    body: usize,
    state: Vec<u8>,
    meta: Option<MetaSource>,
    /// The state trampolines of the closures captured in `state`, at any
    /// depth; `None` where they are not known (a closure decoded from a
    /// state, whose own captures were not recorded).
    nested: Option<Vec<u32>>,
    /// The globals the body names, which its state carries: known where the
    /// closure was built.
    named: Vec<u32>,
    _types: PhantomData<fn(A) -> R>,
}

/// While a closure's state is encoded: the state trampolines of the
/// closures encoded into it so far, or `None` once one of unknown contents
/// was. `None` outside an encoding.
static NESTED: Mutex<Option<Option<Vec<u32>>>> = Mutex::new(None);

fn nested() -> std::sync::MutexGuard<'static, Option<Option<Vec<u32>>>> {
    NESTED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `encode`, noting the closures it encodes.
fn noting_nested<T>(encode: impl FnOnce() -> T) -> (T, Option<Vec<u32>>) {
    let outer = nested().replace(Some(Vec::new()));
    let encoded = encode();
    (encoded, core::mem::replace(&mut *nested(), outer).flatten())
}

/// How to compute a closure's [`Meta`]: its types, and its parameter names.
type MetaSource = (fn() -> Meta, &'static [&'static str]);

/// Names and types known where the closure was written, and their shapes
/// (traced into `builder`).
#[doc(hidden)]
pub struct Meta {
    pub params: Vec<Field>,
    pub captures: Vec<Field>,
    pub globals: Vec<Field>,
    pub builder: Builder,
    pub param_formats: Vec<Traced>,
    pub capture_formats: Vec<Traced>,
    pub global_formats: Vec<Traced>,
}

impl<A: Args, R> Closure<A, R> {
    /// Used by `ship!`: pairs a body that captures nothing with the values
    /// it needs.
    #[doc(hidden)]
    pub fn __new<B, C, G>(_body: B, captures: C, globals: G, param_names: &'static [&'static str]) -> Self
    where
        B: Fn(C, G, A) -> R + Copy,
        C: StateFields,
        G: StateFields,
    {
        let named = crate::global::take_named();
        let (state, nested) = noting_nested(|| encode_state(&(&captures, &globals)));
        let state = state.unwrap_or_else(|e| panic!("shipfn: captured state does not serialize: {e}"));
        Closure {
            trampoline: state_trampoline::<B, C, G, A, R> as TrampolineFn<A, R> as usize,
            body: body::<B, C, G, A, R> as fn(C, G, A) -> R as usize,
            state,
            meta: Some((meta::<C, G, A>, param_names)),
            nested,
            named,
            _types: PhantomData,
        }
    }

    /// Runs the closure here, in this module.
    pub fn invoke(&self, args: A) -> R {
        match self.request(Request::Call { args: Some(args), result: None }) {
            Ok(Request::Call { result: Some(result), .. }) => result,
            Ok(_) => unreachable!("a call request is answered with a result"),
            Err(e) => panic!("shipfn: {e}"),
        }
    }

    /// Rebuilds a closure from the parts a package carries.
    #[doc(hidden)]
    pub fn __from_parts(trampoline: usize, body: usize, state: Vec<u8>) -> Self {
        Closure { trampoline, body, state, meta: None, nested: None, named: Vec::new(), _types: PhantomData }
    }

    /// The state trampolines of the closures captured in the state, at any
    /// depth, where they are known.
    #[doc(hidden)]
    pub fn __nested(&self) -> Option<Vec<u32>> {
        self.nested.clone()
    }

    /// The globals the body names, which the state carries.
    #[doc(hidden)]
    pub fn __named(&self) -> &[u32] {
        &self.named
    }

    /// The parts a package carries: (state trampoline, body, state).
    #[doc(hidden)]
    pub fn __into_parts(self) -> (usize, usize, Vec<u8>) {
        (self.trampoline, self.body, self.state)
    }

    /// Names and types, when the closure was built in this run.
    #[doc(hidden)]
    pub fn __meta(&self) -> Option<Meta> {
        let (meta, names) = self.meta?;
        let mut meta = meta();
        for (param, name) in meta.params.iter_mut().zip(names) {
            param.name = (*name).to_owned();
        }
        Some(meta)
    }

    /// Size of the captured state in bytes.
    pub fn state_len(&self) -> usize {
        self.state.len()
    }
}

impl<A, R> Closure<A, R> {
    pub(crate) fn request(&self, mut request: Request<A, R>) -> Result<Request<A, R>, String> {
        // SAFETY: `trampoline` was made by `__new` for these `A` and `R`, or decoded
        // from state that a forged package controls: then a function of
        // another wasm type traps in `call_indirect`, and a trampoline for
        // other Rust types refuses the key.
        let trampoline: TrampolineFn<A, R> = unsafe { fn_from_index(self.trampoline) }?;
        trampoline(type_key::<A, R>(), self.body, &self.state, &mut request, MARK.0, MARK.1)?;
        Ok(request)
    }
}

fn meta<C: StateFields, G: StateFields, A: Args>() -> Meta {
    let mut builder = Builder::new();
    let param_formats = A::formats(&mut builder);
    let capture_formats = C::formats(&mut builder);
    let global_formats = G::formats(&mut builder);
    Meta {
        params: A::type_names().into_iter().enumerate().map(|(i, ty)| Field { name: format!("arg{i}"), ty }).collect(),
        captures: C::fields(),
        globals: G::fields(),
        builder,
        param_formats,
        capture_formats,
        global_formats,
    }
}

macro_rules! impl_call {
    ($($name:ident $arg:ident),*) => {
        impl<$($name,)* R> Closure<($($name,)*), R>
        where ($($name,)*): Args
        {
            /// Calls the closure with its arguments.
            #[allow(clippy::too_many_arguments)]
            pub fn call(&self $(, $arg: $name)*) -> R {
                self.invoke(($($arg,)*))
            }
        }
    };
}
impl_call!();
impl_call!(A0 a0);
impl_call!(A0 a0, A1 a1);
impl_call!(A0 a0, A1 a1, A2 a2);
impl_call!(A0 a0, A1 a1, A2 a2, A3 a3);
impl_call!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4);
impl_call!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
impl_call!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
impl_call!(A0 a0, A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);

impl<A, R> fmt::Debug for Closure<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closure")
            .field("signature", &format_args!("fn{} -> {}", type_name::<A>(), type_name::<R>()))
            .field("state_len", &self.state.len())
            .finish()
    }
}

impl<A, R> Clone for Closure<A, R> {
    fn clone(&self) -> Self {
        let (trampoline, body, state) = (self.trampoline, self.body, self.state.clone());
        let (nested, named) = (self.nested.clone(), self.named.clone());
        Closure { trampoline, body, state, meta: self.meta, nested, named, _types: PhantomData }
    }
}

/// Postcard: (trampoline, body, state as a byte string). Human-readable formats (the JSON of
/// `shipfn inspect`) get a summary instead of table indices.
impl<A, R> Serialize for Closure<A, R> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[cfg(feature = "json")]
        if s.is_human_readable() {
            use serde::ser::SerializeStruct;
            let mut st = s.serialize_struct("Closure", 2)?;
            st.serialize_field("closure", &format!("fn{} -> {}", type_name::<A>(), type_name::<R>()))?;
            st.serialize_field("state_len", &self.state.len())?;
            return st.end();
        }
        if let Some(noted) = nested().as_mut() {
            match (noted.as_mut(), &self.nested) {
                // Few, and noted twice (postcard measures, then writes): a
                // scan keeps them unique without a sort in every guest.
                (Some(found), Some(inner)) => {
                    for index in core::iter::once(self.trampoline as u32).chain(inner.iter().copied()) {
                        if !found.contains(&index) {
                            found.push(index);
                        }
                    }
                }
                _ => *noted = None,
            }
        }
        (self.trampoline as u32, self.body as u32, BulkSlice(&self.state)).serialize(s)
    }
}

impl<'de, A, R> Deserialize<'de> for Closure<A, R> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (trampoline, body, Bulk(state)): (u32, u32, Bulk<u8>) = Deserialize::deserialize(d)?;
        let (trampoline, body) = (trampoline as usize, body as usize);
        let closure =
            Closure { trampoline, body, state, meta: None, nested: None, named: Vec::new(), _types: PhantomData };
        if VALIDATING.load(core::sync::atomic::Ordering::Relaxed)
            && let Err(e) = closure.request(Request::Validate { fields: None })
        {
            *NESTED_ERROR.lock().unwrap_or_else(|e| e.into_inner()) = Some(e);
            return Err(serde::de::Error::custom("a captured closure was refused"));
        }
        Ok(closure)
    }
}
