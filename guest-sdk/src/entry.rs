//! Host-level entry trampolines and the maker runner: where postcard and
//! JSON meet the closure's own types.

use core::fmt::Display;
use core::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
#[cfg(feature = "json")]
use shipfn_abi::StateJson;
use shipfn_abi::{ArgError, Envelope, Field, Made, Signature, maker_mode, mode, status, wire, word};
use shipfn_schema::{Builder, Traced, untraced};

use crate::abi::{Call, EntryFn, Output, get, host_bytes, install_panic_hook, into_scratch, reply, reply_state};
#[cfg(feature = "json")]
use crate::args::RawArgs;
use crate::args::{Args, whole_type_name};
use crate::closure::{Closure, MARK, Request, TrampolineFn, fn_from_index, type_key};
use crate::global::{self, ShippedCall};

type Reply = (u32, Output);

fn fail(status: u32, message: impl Display) -> Reply {
    (status, message.to_string().into_bytes().into())
}

fn bad_args(error: ArgError) -> Reply {
    (status::BAD_ARGS, error.encode().into())
}

/// The success and error types of a fallible entry's result, or `None`s.
type Outcome = fn() -> (Option<String>, Option<String>);

/// Decodes the arguments, calls through the state trampoline, and hands the
/// result to `finish`, which encodes it for `mode`. The validating modes
/// answer with the closure's [`Signature`] as this entry and trampoline see
/// it (parameters unnamed), for the host to compare with the manifest.
/// The state comes in an [`Envelope`] with the globals shipped with it.
fn dispatch<A: Args, R>(call: &Call, outcome: Outcome, finish: impl FnOnce(R, u32) -> Reply) -> Reply {
    // An empty state: the host checks the indices alone (`VALIDATE_INDICES`).
    let envelope = match call.state {
        [] => Envelope { globals: Vec::new(), withheld: Vec::new(), state: &[] },
        bytes => match Envelope::decode(bytes) {
            Ok((envelope, [])) => envelope,
            Ok((_, rest)) => {
                let message = format!("captured state does not decode: {} bytes are left over", rest.len());
                return fail(status::BAD_STATE, message);
            }
            Err(e) => {
                let message = format!("captured state does not decode: not a shipfn envelope: {e}");
                return fail(status::BAD_STATE, message);
            }
        },
    };
    let state = envelope.state;
    // SAFETY: the state trampoline index was made for these `A` and `R` by the
    // same maker that chose this entry; see `fn_from_index`.
    let trampoline: TrampolineFn<A, R> = match unsafe { fn_from_index(call.trampoline) } {
        Ok(t) => t,
        Err(e) => return fail(status::BAD_STATE, format!("bad state trampoline: {e}")),
    };
    let args = match call.mode {
        mode::POSTCARD | mode::MAKE_POSTCARD => match decode_args::<A>(call.input) {
            Ok(args) => args,
            Err(e) => return bad_args(e),
        },
        #[cfg(feature = "json")]
        mode::JSON | mode::MAKE => {
            let raw = match RawArgs::decode(call.input) {
                Ok(raw) => raw,
                Err(e) => {
                    return fail(status::BAD_MODE, format!("JSON arguments are not framed: {e}"));
                }
            };
            match A::from_json(raw.texts()) {
                Ok(args) => args,
                Err(e) => return bad_args(e),
            }
        }
        #[cfg(feature = "json")]
        mode::DESCRIBE => {
            let mut request = Request::Describe { json: None };
            return match trampoline(type_key::<A, R>(), call.body, state, &mut request, MARK.0, MARK.1) {
                Ok(()) => match request {
                    Request::Describe { json: Some((captures, globals)) } => {
                        (status::OK, postcard::to_allocvec(&StateJson { captures, globals }).unwrap_or_default().into())
                    }
                    _ => fail(status::BAD_STATE, "state was not described"),
                },
                Err(e) => fail(status::BAD_STATE, e),
            };
        }
        mode::VALIDATE | mode::VALIDATE_INDICES => {
            let mut request = match call.mode {
                mode::VALIDATE => Request::Validate { fields: None },
                _ => Request::Fields { fields: None },
            };
            if let Err(e) = trampoline(type_key::<A, R>(), call.body, state, &mut request, MARK.0, MARK.1) {
                return fail(status::BAD_STATE, e);
            }
            let (Request::Validate { fields: Some((captures, globals)) }
            | Request::Fields { fields: Some((captures, globals)) }) = request
            else {
                return fail(status::BAD_STATE, "the state trampoline named no fields");
            };
            let (ok, error) = outcome();
            let params = A::type_names().into_iter().map(|ty| Field { name: String::new(), ty }).collect();
            let signature = Signature { params, result: whole_type_name::<R>(), ok, error, captures, globals };
            let mut bytes = Vec::new();
            signature.encode_into(&mut bytes);
            return (status::OK, bytes.into());
        }
        other => return fail(status::BAD_MODE, unknown_mode(other)),
    };
    let mut request = Request::Call { args: Some(args), result: None };
    let _shipped = ShippedCall::enter();
    if let Err(e) = global::restore(&envelope.globals, envelope.withheld) {
        return fail(status::BAD_STATE, e);
    }
    match trampoline(type_key::<A, R>(), call.body, state, &mut request, MARK.0, MARK.1) {
        Ok(()) => match request {
            Request::Call { result: Some(result), .. } => finish(result, call.mode),
            _ => fail(status::BAD_STATE, "closure returned no result"),
        },
        Err(e) => fail(status::BAD_STATE, e),
    }
}

/// Why a mode is refused: unknown, or JSON in a guest built without it.
fn unknown_mode(mode: u32) -> String {
    match mode {
        mode::JSON | mode::MAKE | mode::DESCRIBE => {
            format!("mode {mode} needs JSON, and this guest was built without shipfn-guest's `json` feature")
        }
        _ => format!("unknown mode {mode}"),
    }
}

/// Decodes a postcard argument tuple.
fn decode_args<A: Args>(input: &[u8]) -> Result<A, ArgError> {
    postcard::from_bytes::<A>(input)
        .map_err(|e| ArgError { index: u32::MAX, message: format!("arguments do not decode: {e}") })
}

/// Whether `mode` asks for the returned closure.
fn makes(mode: u32) -> bool {
    mode == mode::MAKE || mode == mode::MAKE_POSTCARD
}

/// Encodes a result, in the scratch buffer when it fits.
fn encode<T: Serialize>(value: &T, mode: u32) -> Reply {
    if makes(mode) {
        let ty = whole_type_name::<T>();
        if ty.starts_with("shipfn_guest::closure::Closure<") {
            // The maker's entry follows four levels of closures: see `EntryProbe`.
            return fail(
                status::BAD_MODE,
                "this closure is the fourth level below its maker's, the deepest that can be saved as a \
                 package: the closure it returns can be run here but not saved",
            );
        }
        return fail(status::BAD_MODE, format!("the result is a {ty}, not a closure"));
    }
    // SAFETY: `encode` runs after the closure returned; the call's state and
    // input are not read again (see `dispatch`).
    let in_scratch = unsafe {
        into_scratch(|buffer| {
            #[cfg(feature = "json")]
            if mode == mode::JSON {
                let mut cursor = std::io::Cursor::new(buffer);
                return serde_json::to_writer(&mut cursor, value).ok().map(|()| cursor.position() as usize);
            }
            postcard::to_slice(value, buffer).ok().map(|used| used.len())
        })
    };
    if let Some(output) = in_scratch {
        return (status::OK, output);
    }
    #[cfg(feature = "json")]
    let bytes = if mode == mode::JSON {
        serde_json::to_vec(value).map_err(|e| e.to_string())
    } else {
        postcard::to_allocvec(value).map_err(|e| e.to_string())
    };
    #[cfg(not(feature = "json"))]
    let bytes = postcard::to_allocvec(value).map_err(|e| e.to_string());
    match bytes {
        Ok(bytes) => (status::OK, bytes.into()),
        Err(e) => fail(status::GUEST_ERROR, format!("result does not serialize: {e}")),
    }
}

fn entry_plain<A: Args, R: Serialize>(call: &Call) -> Reply {
    dispatch::<A, R>(call, || (None, None), |r, mode| encode(&r, mode))
}

fn entry_result<A: Args, T: Serialize, E: Display>(call: &Call) -> Reply {
    let outcome = || (Some(whole_type_name::<T>()), Some(whole_type_name::<E>()));
    dispatch::<A, Result<T, E>>(call, outcome, |r, mode| match r {
        Ok(value) => encode(&value, mode),
        Err(e) => fail(status::GUEST_ERROR, e),
    })
}

/// The entry of a closure that returns a closure whose own entry is
/// `inner`: in [`mode::MAKE`] it answers with the returned closure, as a
/// maker does, for the host to pack; otherwise as [`entry_plain`].
fn entry_returning<A: Args, A2: Args, R2>(call: &Call, inner: fn() -> EntryInfo) -> Reply
where
    Closure<A2, R2>: Serialize,
{
    dispatch::<A, Closure<A2, R2>>(
        call,
        || (None, None),
        |closure, mode| match mode {
            m if makes(m) => match made(closure, inner()) {
                Ok(made) => answer_made(made),
                Err(e) => fail(status::BAD_MODE, format!("the returned closure cannot be packed: {e}")),
            },
            _ => encode(&closure, mode),
        },
    )
}

fn entry_returning_plain<A: Args, A2: Args, R2: Serialize, S: TraceResult>(call: &Call) -> Reply {
    entry_returning::<A, A2, R2>(call, || EntryInfo {
        index: entry_plain::<A2, R2> as EntryFn as usize,
        ok: None,
        error: None,
        result: S::trace,
    })
}

fn entry_returning_result<A: Args, A2: Args, T: Serialize, E: Display, S: TraceResult>(call: &Call) -> Reply {
    entry_returning::<A, A2, Result<T, E>>(call, || EntryInfo {
        index: entry_result::<A2, T, E> as EntryFn as usize,
        ok: Some(whole_type_name::<T>()),
        error: Some(whole_type_name::<E>()),
        result: S::trace,
    })
}

/// The entry of a closure that returns a closure that returns a closure
/// (`R3`): both returned closures can be saved as packages in turn.
fn entry_returning_2<A: Args, A2: Args, A3: Args, R3: Serialize + DeserializeOwned>(call: &Call) -> Reply {
    entry_returning::<A, A2, Closure<A3, R3>>(call, || EntryInfo {
        index: entry_returning_plain::<A2, A3, R3, TraceType<R3>> as EntryFn as usize,
        ok: None,
        error: None,
        result: closure_result,
    })
}

/// As [`entry_returning_2`], for a fallible innermost closure.
fn entry_returning_2_result<A: Args, A2: Args, A3: Args, T: Serialize + DeserializeOwned, E: Display>(
    call: &Call,
) -> Reply {
    entry_returning::<A, A2, Closure<A3, Result<T, E>>>(call, || EntryInfo {
        index: entry_returning_result::<A2, A3, T, E, TraceType<T>> as EntryFn as usize,
        ok: None,
        error: None,
        result: closure_result,
    })
}

/// Three closures down, each of which can be saved as a package.
fn entry_returning_3<A: Args, A2: Args, A3: Args, A4: Args, R4: Serialize + DeserializeOwned>(call: &Call) -> Reply {
    entry_returning::<A, A2, Closure<A3, Closure<A4, R4>>>(call, || EntryInfo {
        index: entry_returning_2::<A2, A3, A4, R4> as EntryFn as usize,
        ok: None,
        error: None,
        result: closure_result,
    })
}

/// As [`entry_returning_3`], for a fallible innermost closure.
fn entry_returning_3_result<A: Args, A2: Args, A3: Args, A4: Args, T: Serialize + DeserializeOwned, E: Display>(
    call: &Call,
) -> Reply {
    entry_returning::<A, A2, Closure<A3, Closure<A4, Result<T, E>>>>(call, || EntryInfo {
        index: entry_returning_2_result::<A2, A3, A4, T, E> as EntryFn as usize,
        ok: None,
        error: None,
        result: closure_result,
    })
}

/// Which entry a closure needs, chosen where its result type is concrete.
#[doc(hidden)]
pub struct EntryInfo {
    index: usize,
    ok: Option<String>,
    error: Option<String>,
    /// Traces the type the entry encodes as the result.
    result: fn(&mut Builder) -> Traced,
}

/// How the type a closure's entry encodes as its result is traced: the
/// result's `Deserialize` impl, if it has one. Chosen where the types are
/// concrete by [`ResultProbe`], and carried by the entries of closures that
/// return closures as a type parameter, for the closure they return.
#[doc(hidden)]
pub trait TraceResult {
    fn trace(builder: &mut Builder) -> Traced;
}

#[doc(hidden)]
pub struct TraceType<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned> TraceResult for TraceType<T> {
    fn trace(builder: &mut Builder) -> Traced {
        builder.trace::<T>()
    }
}

/// A result type without `Deserialize`.
#[doc(hidden)]
pub struct NoTrace;

impl TraceResult for NoTrace {
    fn trace(_: &mut Builder) -> Traced {
        untraced("the result type does not implement Deserialize")
    }
}

/// The result of a closure that returns a closure: shown by its summary.
fn closure_result(_: &mut Builder) -> Traced {
    untraced("a closure, shown by its summary")
}

/// Autoref-specialization probe: `(&&&&&&ResultProbe::of(&c)).__shipfn_result()`
/// picks how the result is traced, for the closure `c` or, if it returns a
/// closure, for that one: the `Ok` type of a fallible result, else the
/// result, if it implements `Deserialize`.
#[doc(hidden)]
pub struct ResultProbe<R>(PhantomData<fn() -> R>);

impl<R> ResultProbe<R> {
    pub fn of<A>(_: &Closure<A, R>) -> Self {
        ResultProbe(PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaReturnedFallible {
    type T;
    fn __shipfn_result(&self) -> TraceType<Self::T>;
}

impl<A2, T: DeserializeOwned, E: Display> ViaReturnedFallible for &&&&&ResultProbe<Closure<A2, Result<T, E>>> {
    type T = T;
    fn __shipfn_result(&self) -> TraceType<T> {
        TraceType(PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaReturnedDeserialize {
    type T;
    fn __shipfn_result(&self) -> TraceType<Self::T>;
}

impl<A2, R2: DeserializeOwned> ViaReturnedDeserialize for &&&&ResultProbe<Closure<A2, R2>> {
    type T = R2;
    fn __shipfn_result(&self) -> TraceType<R2> {
        TraceType(PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaReturnedNoTrace {
    fn __shipfn_result(&self) -> NoTrace;
}

impl<A2, R2> ViaReturnedNoTrace for &&&ResultProbe<Closure<A2, R2>> {
    fn __shipfn_result(&self) -> NoTrace {
        NoTrace
    }
}

#[doc(hidden)]
pub trait ViaFallible {
    type T;
    fn __shipfn_result(&self) -> TraceType<Self::T>;
}

impl<T: DeserializeOwned, E: Display> ViaFallible for &&ResultProbe<Result<T, E>> {
    type T = T;
    fn __shipfn_result(&self) -> TraceType<T> {
        TraceType(PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaDeserialize {
    type T;
    fn __shipfn_result(&self) -> TraceType<Self::T>;
}

impl<R: DeserializeOwned> ViaDeserialize for &ResultProbe<R> {
    type T = R;
    fn __shipfn_result(&self) -> TraceType<R> {
        TraceType(PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaNoTrace {
    fn __shipfn_result(&self) -> NoTrace;
}

impl<R> ViaNoTrace for ResultProbe<R> {
    fn __shipfn_result(&self) -> NoTrace {
        NoTrace
    }
}

/// Autoref-specialization probe: `(&&&&&&&EntryProbe::of(&c, s)).__shipfn_entry()`
/// picks, where the closure's types are concrete (a maker's signature), the
/// entry of a closure that returns closures three levels down, then two
/// (fallible innermost first: each returned closure can be saved as a
/// package in turn), then of one that returns a fallible closure, then of one that
/// returns any other closure (both can hand the returned closure to the
/// host to pack), then the fallible entry for `Result<T, E: Display>`, then
/// the plain one for every other serde result. `S` traces the result (of
/// the returned closure, for a closure that returns one).
#[doc(hidden)]
pub struct EntryProbe<A, R, S>(PhantomData<fn(A, S) -> R>);

impl<A, R, S: TraceResult> EntryProbe<A, R, S> {
    pub fn of(_: &Closure<A, R>, _: S) -> Self {
        EntryProbe(PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaReturns3Result {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, A2: Args, A3: Args, A4: Args, T: Serialize + DeserializeOwned, E: Display, S: TraceResult>
    ViaReturns3Result for &&&&&&&EntryProbe<A, Closure<A2, Closure<A3, Closure<A4, Result<T, E>>>>, S>
{
    fn __shipfn_entry(&self) -> EntryInfo {
        let index = entry_returning_3_result::<A, A2, A3, A4, T, E> as EntryFn as usize;
        EntryInfo { index, ok: None, error: None, result: closure_result }
    }
}

#[doc(hidden)]
pub trait ViaReturns3 {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, A2: Args, A3: Args, A4: Args, R4: Serialize + DeserializeOwned, S: TraceResult> ViaReturns3
    for &&&&&&EntryProbe<A, Closure<A2, Closure<A3, Closure<A4, R4>>>, S>
{
    fn __shipfn_entry(&self) -> EntryInfo {
        let index = entry_returning_3::<A, A2, A3, A4, R4> as EntryFn as usize;
        EntryInfo { index, ok: None, error: None, result: closure_result }
    }
}

#[doc(hidden)]
pub trait ViaReturns2Result {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, A2: Args, A3: Args, T: Serialize + DeserializeOwned, E: Display, S: TraceResult> ViaReturns2Result
    for &&&&&EntryProbe<A, Closure<A2, Closure<A3, Result<T, E>>>, S>
{
    fn __shipfn_entry(&self) -> EntryInfo {
        let index = entry_returning_2_result::<A, A2, A3, T, E> as EntryFn as usize;
        EntryInfo { index, ok: None, error: None, result: closure_result }
    }
}

#[doc(hidden)]
pub trait ViaReturns2 {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, A2: Args, A3: Args, R3: Serialize + DeserializeOwned, S: TraceResult> ViaReturns2
    for &&&&EntryProbe<A, Closure<A2, Closure<A3, R3>>, S>
{
    fn __shipfn_entry(&self) -> EntryInfo {
        let index = entry_returning_2::<A, A2, A3, R3> as EntryFn as usize;
        EntryInfo { index, ok: None, error: None, result: closure_result }
    }
}

#[doc(hidden)]
pub trait ViaReturnsResult {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, A2: Args, T: Serialize, E: Display, S: TraceResult> ViaReturnsResult
    for &&&EntryProbe<A, Closure<A2, Result<T, E>>, S>
{
    fn __shipfn_entry(&self) -> EntryInfo {
        let index = entry_returning_result::<A, A2, T, E, S> as EntryFn as usize;
        EntryInfo { index, ok: None, error: None, result: closure_result }
    }
}

#[doc(hidden)]
pub trait ViaReturns {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, A2: Args, R2: Serialize, S: TraceResult> ViaReturns for &&EntryProbe<A, Closure<A2, R2>, S> {
    fn __shipfn_entry(&self) -> EntryInfo {
        let index = entry_returning_plain::<A, A2, R2, S> as EntryFn as usize;
        EntryInfo { index, ok: None, error: None, result: closure_result }
    }
}

#[doc(hidden)]
pub trait ViaResult {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, T: Serialize, E: Display, S: TraceResult> ViaResult for &EntryProbe<A, Result<T, E>, S> {
    fn __shipfn_entry(&self) -> EntryInfo {
        EntryInfo {
            index: entry_result::<A, T, E> as EntryFn as usize,
            ok: Some(whole_type_name::<T>()),
            error: Some(whole_type_name::<E>()),
            result: S::trace,
        }
    }
}

#[doc(hidden)]
pub trait ViaPlain {
    fn __shipfn_entry(&self) -> EntryInfo;
}

impl<A: Args, R: Serialize, S: TraceResult> ViaPlain for EntryProbe<A, R, S> {
    fn __shipfn_entry(&self) -> EntryInfo {
        EntryInfo { index: entry_plain::<A, R> as EntryFn as usize, ok: None, error: None, result: S::trace }
    }
}

/// Everything a maker export reports about the closure it made (and a
/// closure that returns a closure, about the one it returned): the
/// [`Made`], then the trailer: the [`Schema`](shipfn_abi::schema::Schema)
/// of its types and the [`Reached`] globals and closures.
#[doc(hidden)]
pub fn made<A: Args, R>(closure: Closure<A, R>, entry: EntryInfo) -> Result<(Made, Vec<u8>), String> {
    let mut meta = closure.__meta().ok_or("the closure was not built by ship! in this call")?;
    let result = (entry.result)(&mut meta.builder);
    let mut trailer = meta.builder.encode(&meta.param_formats, &result, &meta.capture_formats, &meta.global_formats);
    // The `Reached` report, written from its parts.
    let mut globals = Vec::new();
    let count = global::touched(closure.__named(), &mut globals)?;
    wire::trampolines(&mut trailer, closure.__nested().as_deref());
    wire::varint(&mut trailer, count);
    trailer.extend_from_slice(&globals);
    let signature = Signature {
        params: meta.params,
        result: whole_type_name::<R>(),
        ok: entry.ok,
        error: entry.error,
        captures: meta.captures,
        globals: meta.globals,
    };
    let (trampoline, body, state) = closure.__into_parts();
    let made = Made { entry: entry.index as u32, trampoline: trampoline as u32, body: body as u32, state, signature };
    Ok((made, trailer))
}

/// Answers with a closure made: its state handed over in the block, then
/// postcard of the [`Made`] followed by its trailer (see [`made`]).
fn answer_made((mut made, trailer): (Made, Vec<u8>)) -> Reply {
    reply_state(core::mem::take(&mut made.state));
    let mut bytes = made.encode();
    bytes.extend_from_slice(&trailer);
    (status::OK, bytes.into())
}

/// Body of every `#[maker]` export: decodes the maker's arguments (JSON or
/// postcard, as the host's [`maker_mode`] says), runs it, and answers with
/// a postcard [`Made`]; or names its parameters.
#[doc(hidden)]
pub fn run_maker<MA: Args>(names: &[&str], make: impl FnOnce(MA) -> Result<(Made, Vec<u8>), String>) -> u32 {
    install_panic_hook();
    // SAFETY: a maker never writes its reply into the scratch buffer, and
    // `input` is not used after this function returns.
    let input = unsafe { host_bytes(word::INPUT_PTR, word::INPUT_LEN) };
    let args = match get(word::ENTRY) {
        maker_mode::PARAMS => {
            let params: Vec<Field> =
                names.iter().zip(MA::type_names()).map(|(name, ty)| Field { name: (*name).into(), ty }).collect();
            return reply(status::OK, wire::encode_fields(&params));
        }
        maker_mode::POSTCARD => decode_args::<MA>(input),
        #[cfg(feature = "json")]
        maker_mode::JSON => json_maker_args::<MA>(names, input),
        other => {
            let message = match other {
                maker_mode::JSON => "JSON maker arguments need shipfn-guest's `json` feature, which this guest \
                                     was built without"
                    .to_owned(),
                _ => format!("unknown maker mode {other}"),
            };
            return reply(status::BAD_MODE, message.into_bytes());
        }
    };
    let args = match args {
        Ok(args) => args,
        Err(e) => {
            let (status, output) = bad_args(e);
            return reply(status, output);
        }
    };
    let (status, output) = match make(args) {
        Ok(made) => answer_made(made),
        Err(e) => fail(status::BAD_STATE, e),
    };
    reply(status, output)
}

/// A maker's arguments from one JSON text each; errors name the parameter.
#[cfg(feature = "json")]
fn json_maker_args<MA: Args>(names: &[&str], input: &[u8]) -> Result<MA, ArgError> {
    let raw = RawArgs::decode(input)
        .map_err(|e| ArgError { index: u32::MAX, message: format!("maker arguments are not framed: {e}") })?;
    MA::from_json(raw.texts()).map_err(|mut e| {
        let types: Vec<String> = MA::type_names().iter().map(|t| shipfn_abi::short_type_name(t)).collect();
        if let (Some(name), Some(ty)) = (names.get(e.index as usize), types.get(e.index as usize)) {
            e.message = format!("`{name}: {ty}`: {}", e.message);
        } else {
            let list: Vec<String> = names.iter().zip(&types).map(|(n, t)| format!("{n}: {t}")).collect();
            e.message = format!("{} (the maker takes ({}))", e.message, list.join(", "));
        }
        e
    })
}
