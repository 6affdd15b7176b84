//! Captures without bytes: a function passed by name (`map(double)`) or a
//! closure that captures nothing.
//!
//! `ship!` cannot tell from syntax whether a snake_case name is a variable
//! or a function, so it captures every such name. Where it builds the
//! captures, `(&&&CaptureProbe::of(&x)).__shipfn_wrap()` picks how: a serde
//! value as it is; otherwise a zero-sized `Copy` value (a function item, a
//! closure without captures) as a [`Stateless`], which is written as nothing
//! and made anew on the receiver; anything else is refused at compile time
//! with a message naming its type. In the body,
//! `(&&UnwrapProbe::of(&x)).__shipfn_unwrap()` hands the value back.

use core::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A zero-sized captured value: no bytes in the state.
#[doc(hidden)]
pub struct Stateless<F>(F);

impl<F: Copy + 'static> Stateless<F> {
    fn new(f: F) -> Self {
        const {
            assert!(
                size_of::<F>() == 0,
                "ship! cannot capture a value that neither implements serde's Serialize and Deserialize nor is a \
                 function or a closure that captures nothing"
            )
        };
        Stateless(f)
    }
}

impl<F> Serialize for Stateless<F> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit()
    }
}

impl<'de, F: Copy + 'static> Deserialize<'de> for Stateless<F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <()>::deserialize(deserializer)?;
        const { assert!(size_of::<F>() == 0) };
        // SAFETY: `F` has no bytes, so there is nothing to initialize, and it
        // is `Copy`: the sender held a value of it, and every value of a
        // zero-sized `Copy` type is that same value. These are the types of
        // functions and of closures without captures, whose code is in this
        // very module.
        Ok(Stateless(unsafe { core::mem::zeroed() }))
    }
}

/// Picks how a captured value is stored; see the module docs.
#[doc(hidden)]
pub struct CaptureProbe<C>(PhantomData<fn() -> C>);

impl<C> CaptureProbe<C> {
    pub fn of(_: &C) -> Self {
        CaptureProbe(PhantomData)
    }
}

/// A serde value: stored as it is.
#[doc(hidden)]
pub trait ViaSerde {
    type Out;
    fn __shipfn_wrap(&self) -> fn(Self::Out) -> Self::Out;
}

impl<C: Serialize + DeserializeOwned> ViaSerde for &&CaptureProbe<C> {
    type Out = C;
    fn __shipfn_wrap(&self) -> fn(C) -> C {
        core::convert::identity
    }
}

/// A zero-sized `Copy` value: stored as a [`Stateless`].
#[doc(hidden)]
pub trait ViaStateless {
    type In;
    fn __shipfn_wrap(&self) -> fn(Self::In) -> Stateless<Self::In>;
}

impl<C: Copy + 'static> ViaStateless for &CaptureProbe<C> {
    type In = C;
    fn __shipfn_wrap(&self) -> fn(C) -> Stateless<C> {
        Stateless::new
    }
}

/// Anything else: a compile error naming the type.
#[doc(hidden)]
pub trait ViaRefused {
    type In;
    fn __shipfn_wrap(&self) -> fn(Self::In) -> Refused<Self::In>
    where
        Self::In: Uncapturable;
}

impl<C> ViaRefused for CaptureProbe<C> {
    type In = C;
    fn __shipfn_wrap(&self) -> fn(C) -> Refused<C>
    where
        C: Uncapturable,
    {
        Refused
    }
}

/// A refused capture. Its only use is to keep the compile error to the one
/// [`Uncapturable`] names: it fits the captures struct's serde bounds.
#[doc(hidden)]
pub struct Refused<C>(C);

impl<C> Serialize for Refused<C> {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("a refused capture"))
    }
}

impl<'de, C> Deserialize<'de> for Refused<C> {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("a refused capture"))
    }
}

/// Implemented by no type: the bound that explains a refused capture.
#[diagnostic::on_unimplemented(
    message = "`ship!` cannot capture a value of type `{Self}`",
    label = "captured here",
    note = "a captured value travels in the closure's state: it needs serde's `Serialize` and `Deserialize` \
            (derive them for your own types)",
    note = "a function passed by name, or a closure that captures nothing, is captured without bytes; a closure \
            that captures values must be built with `ship!` itself"
)]
#[doc(hidden)]
pub trait Uncapturable {}

/// Hands a captured value back to the body.
#[doc(hidden)]
pub struct UnwrapProbe<C>(PhantomData<fn() -> C>);

impl<C> UnwrapProbe<C> {
    pub fn of(_: &C) -> Self {
        UnwrapProbe(PhantomData)
    }
}

/// A [`Stateless`] capture: its value.
#[doc(hidden)]
pub trait ViaStatelessValue {
    type Out;
    fn __shipfn_unwrap(&self) -> fn(Stateless<Self::Out>) -> Self::Out;
}

impl<F> ViaStatelessValue for &UnwrapProbe<Stateless<F>> {
    type Out = F;
    fn __shipfn_unwrap(&self) -> fn(Stateless<F>) -> F {
        |s| s.0
    }
}

/// A [`Refused`] capture: its value, for type checking only.
#[doc(hidden)]
pub trait ViaRefusedValue {
    type Out;
    fn __shipfn_unwrap(&self) -> fn(Refused<Self::Out>) -> Self::Out;
}

impl<C> ViaRefusedValue for &UnwrapProbe<Refused<C>> {
    type Out = C;
    fn __shipfn_unwrap(&self) -> fn(Refused<C>) -> C {
        |r| r.0
    }
}

/// Any other capture: as it is.
#[doc(hidden)]
pub trait ViaValue {
    type Out;
    fn __shipfn_unwrap(&self) -> fn(Self::Out) -> Self::Out;
}

impl<C> ViaValue for UnwrapProbe<C> {
    type Out = C;
    fn __shipfn_unwrap(&self) -> fn(C) -> C {
        core::convert::identity
    }
}
