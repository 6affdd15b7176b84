//! Items that macro expansions name. Not a public API.

use serde::{Deserialize, Serialize};
use shipfn_abi::Field;

use crate::Global;
use crate::args::whole_type_name;

pub use crate::closure::StateFields;
pub use crate::entry::{EntryProbe, ViaPlain, ViaResult, ViaReturns, ViaReturnsResult, made, run_maker};
pub use crate::entry::{
    ResultProbe, ViaDeserialize, ViaFallible, ViaNoTrace, ViaReturnedDeserialize, ViaReturnedFallible,
    ViaReturnedNoTrace,
};
pub use crate::entry::{ViaReturns2, ViaReturns2Result, ViaReturns3, ViaReturns3Result};
pub use crate::global::unshipped;
pub use crate::stateless::{
    CaptureProbe, Stateless, UnwrapProbe, ViaRefused, ViaRefusedValue, ViaSerde, ViaStateless, ViaStatelessValue,
    ViaValue,
};
pub use serde;
pub use shipfn_abi::Field as AbiField;
pub use shipfn_schema::{Builder, Traced};

/// Wraps whatever an upper-case name in a closure body refers to.
pub struct Probe<'a, T: ?Sized>(pub &'a T);

/// A global's snapshot.
#[derive(Serialize, Deserialize)]
#[serde(transparent)]
pub struct GlobalValue<T>(pub T);

/// The "snapshot" of an upper-case name that is not a [`Global`] (a `const`,
/// a plain `static`): nothing is shipped for it.
#[derive(Serialize, Deserialize)]
pub struct NotGlobal;

/// Snapshot of a global, or nothing.
pub trait GlobalField {
    /// The global's type, or `None` for a name that is not a global.
    fn ty() -> Option<String>;
    /// For `#[serde(skip_serializing_if)]`: omit names that are not globals.
    fn skip(&self) -> bool {
        Self::ty().is_none()
    }
}

impl<T> GlobalField for GlobalValue<T> {
    fn ty() -> Option<String> {
        Some(whole_type_name::<T>())
    }
}

impl GlobalField for NotGlobal {
    fn ty() -> Option<String> {
        None
    }
}

/// Picked for `&&Probe(&NAME)` when `NAME` is a [`Global`].
pub trait ViaGlobal {
    type Snapshot;
    fn __shipfn_snapshot(&self) -> Self::Snapshot;
    fn __shipfn_restore(&self, snapshot: Self::Snapshot);
}

impl<T: Clone> ViaGlobal for &Probe<'static, Global<T>> {
    type Snapshot = GlobalValue<T>;
    fn __shipfn_snapshot(&self) -> GlobalValue<T> {
        GlobalValue(self.0.snapshot_for_body())
    }
    fn __shipfn_restore(&self, snapshot: GlobalValue<T>) {
        self.0.set(snapshot.0)
    }
}

/// Picked for `&&Probe(&NAME)` when `NAME` is anything else.
pub trait ViaOther {
    fn __shipfn_snapshot(&self) -> NotGlobal {
        NotGlobal
    }
    fn __shipfn_restore(&self, _: NotGlobal) {}
}

impl<T: ?Sized> ViaOther for Probe<'_, T> {}

/// `#[serde(with)]` for every field of a generated captures struct.
pub mod capture {
    pub use crate::capture::{deserialize, serialize};
}

/// A field of a generated captures struct.
pub fn capture_field<T>(name: &str) -> Field {
    Field { name: name.to_owned(), ty: whole_type_name::<T>() }
}

/// The shape of a field of a generated captures struct.
pub fn capture_format<T: serde::de::DeserializeOwned>(builder: &mut Builder) -> Traced {
    builder.trace::<T>()
}

/// The shape of a field of a generated globals struct, if it is a global.
pub fn global_format<T: GlobalField + serde::de::DeserializeOwned>(builder: &mut Builder) -> Option<Traced> {
    T::ty().map(|_| builder.trace::<T>())
}

/// A field of a generated globals struct, if it is a global.
pub fn global_field<T: GlobalField>(name: &str) -> Option<Field> {
    T::ty().map(|ty| Field { name: name.to_owned(), ty })
}
