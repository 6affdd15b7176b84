//! Modules: compile a guest module under the limits, check that it is a
//! shipfn guest, and make it ready to instantiate quickly.
//!
//! A [`GuestModule`] can only be made by [`GuestModule::new`], which checks
//! the exports the ABI relies on; code holding one may call those exports
//! without checking their types again.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use shipfn_abi::schema::Schema;
use shipfn_abi::{ABI_BLOCK_EXPORT, ALLOC_EXPORT, CALL_EXPORT, Signature};
use wasmtime::{ExternType, InstancePre, Linker, Module, ModuleExport, ValType};

use crate::reach::CodeMap;
use crate::runtime::{Limiter, Runtime};
use crate::{Error, Result};

/// The shadow stack pointer's export name.
const STACK_POINTER_EXPORT: &str = "__stack_pointer";
/// The guest's optional export for giving back `shipfn_alloc` buffers.
const FREE_EXPORT: &str = "shipfn_free";

/// A compiled module that imports nothing and exports what the guest ABI
/// needs, with the types it needs: a 32-bit `memory`, the i32 global
/// `SHIPFN_ABI`, and `shipfn_alloc` and `shipfn_call` of type
/// `(i32) -> i32`. Cheap to clone.
#[derive(Clone)]
pub(crate) struct GuestModule {
    inner: Arc<Inner>,
}

struct Inner {
    module: Module,
    pre: InstancePre<Limiter>,
    exports: Exports,
    /// Where the ABI block and scratch buffer are and which ABI the guest
    /// speaks: the same in every fresh instance of a module (a constant
    /// global and the initial memory image), so read from the first one.
    layout: OnceLock<Layout>,
    /// Closures of this module that a load has validated (guests of ABI 4
    /// and later only), by table indices: what load validation checks
    /// depends on nothing but the module, the indices, the signature and the
    /// state, which each call checks.
    validated: Mutex<HashMap<[u32; 3], Vec<Validated>>>,
    /// What the pack-time analysis of globals reads of the code, read once
    /// (by the first pack that needs it).
    code: OnceLock<Arc<CodeMap>>,
}

/// A validated closure's signature, and the Rust types that typed calls of
/// it were found to match.
struct Validated {
    signature: Signature,
    /// With the schema they were checked against (packages of the same
    /// closure carry the same one; a forged one must not borrow a check).
    typed_calls: Vec<((TypeId, TypeId), Option<Schema>)>,
}

/// Most validated closures remembered per module; past it, the record
/// starts over.
const MAX_VALIDATED: usize = 4096;

/// The exports an instance of a guest module uses, found once per module.
#[derive(Clone, Copy)]
pub(crate) struct Exports {
    pub memory: ModuleExport,
    pub block: ModuleExport,
    /// `shipfn_alloc(len) -> ptr`, type-checked.
    pub alloc: ModuleExport,
    /// `shipfn_call(mode) -> status`, type-checked.
    pub call: ModuleExport,
    /// `shipfn_free(ptr, len)`, if the guest has it (its type is checked
    /// when it is first used).
    pub free: Option<ModuleExport>,
    /// `__stack_pointer`, which guests built by `shipfn pack` export.
    pub stack_pointer: Option<ModuleExport>,
}

/// Where an instance's ABI block and scratch buffer are, and its ABI.
#[derive(Clone, Copy, Default)]
pub(crate) struct Layout {
    pub block: usize,
    pub scratch: (usize, usize),
    pub version: u32,
    /// The guest's [`feature`](shipfn_abi::feature) bits.
    pub features: u32,
}

impl GuestModule {
    /// Bytes of its compiled image in memory: what keeping it costs.
    pub fn image_bytes(&self) -> usize {
        let range = self.inner.module.image_range();
        (range.end as usize).saturating_sub(range.start as usize)
    }

    /// Checks that `module` is a shipfn guest and prepares it for
    /// instantiation.
    pub fn new(runtime: &Runtime, module: Module) -> Result<GuestModule> {
        if let Some(import) = module.imports().next() {
            return Err(Error::ForbiddenImport { module: import.module().into(), name: import.name().into() });
        }
        check_abi_exports(&module)?;
        let pre = Linker::new(runtime.engine())
            .instantiate_pre(&module)
            .map_err(|e| Error::NotAGuest(format!("cannot prepare the module: {e}")))?;
        let export = |name: &str| {
            module.get_export_index(name).ok_or_else(|| Error::NotAGuest(format!("it has no export `{name}`")))
        };
        let exports = Exports {
            memory: export("memory")?,
            block: export(ABI_BLOCK_EXPORT)?,
            alloc: export(ALLOC_EXPORT)?,
            call: export(CALL_EXPORT)?,
            free: module.get_export_index(FREE_EXPORT),
            stack_pointer: module.get_export_index(STACK_POINTER_EXPORT),
        };
        Ok(GuestModule {
            inner: Arc::new(Inner {
                module,
                pre,
                exports,
                layout: OnceLock::new(),
                validated: Mutex::new(HashMap::new()),
                code: OnceLock::new(),
            }),
        })
    }

    pub fn pre(&self) -> &InstancePre<Limiter> {
        &self.inner.pre
    }

    pub fn exports(&self) -> &Exports {
        &self.inner.exports
    }

    /// Whether both are the same prepared module.
    #[cfg(test)]
    pub fn same_as(&self, other: &GuestModule) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The layout, once an instance has read it.
    pub fn layout(&self) -> Option<Layout> {
        self.inner.layout.get().copied()
    }

    /// Records the layout that the first instance read.
    pub fn set_layout(&self, layout: Layout) -> Layout {
        *self.inner.layout.get_or_init(|| layout)
    }

    /// Runs `f` on the record of the closure at `indices` with `signature`,
    /// if a load has validated it.
    fn with_validated<T>(
        &self,
        indices: [u32; 3],
        signature: &Signature,
        f: impl FnOnce(&mut Validated) -> T,
    ) -> Option<T> {
        let mut validated = self.inner.validated.lock().unwrap_or_else(|e| e.into_inner());
        validated.get_mut(&indices)?.iter_mut().find(|v| v.signature == *signature).map(f)
    }

    /// Whether a load has validated this closure of the module.
    pub fn validated(&self, indices: [u32; 3], signature: &Signature) -> bool {
        self.with_validated(indices, signature, |_| ()).is_some()
    }

    /// Remembers that a load validated this closure of the module.
    pub fn remember_validated(&self, indices: [u32; 3], signature: &Signature) {
        let mut validated = self.inner.validated.lock().unwrap_or_else(|e| e.into_inner());
        if validated.values().map(Vec::len).sum::<usize>() >= MAX_VALIDATED {
            validated.clear();
        }
        let closures = validated.entry(indices).or_default();
        if !closures.iter().any(|v| v.signature == *signature) {
            closures.push(Validated { signature: signature.clone(), typed_calls: Vec::new() });
        }
    }

    /// Whether typed calls with `types` were found to match this validated
    /// closure's signature.
    pub fn typed_call_checked(
        &self,
        indices: [u32; 3],
        signature: &Signature,
        schema: Option<&Schema>,
        types: (TypeId, TypeId),
    ) -> bool {
        self.with_validated(indices, signature, |v| {
            v.typed_calls.iter().any(|(t, s)| *t == types && s.as_ref() == schema)
        })
        .unwrap_or(false)
    }

    /// Remembers that typed calls with `types` match this validated closure.
    pub fn remember_typed_call(
        &self,
        indices: [u32; 3],
        signature: &Signature,
        schema: Option<&Schema>,
        types: (TypeId, TypeId),
    ) {
        self.with_validated(indices, signature, |v| {
            if v.typed_calls.len() < 16 && !v.typed_calls.iter().any(|(t, s)| *t == types && s.as_ref() == schema) {
                v.typed_calls.push((types, schema.cloned()));
            }
        });
    }

    /// The module's [`CodeMap`], read from `wasm` (this module's bytes) the
    /// first time it is asked for.
    pub fn code_map(&self, wasm: &[u8]) -> Result<Arc<CodeMap>> {
        if let Some(map) = self.inner.code.get() {
            return Ok(map.clone());
        }
        let map = Arc::new(CodeMap::of(wasm)?);
        Ok(self.inner.code.get_or_init(|| map).clone())
    }

    /// The guest ABI the module speaks, once an instance of it has run.
    pub fn abi_version(&self) -> Option<u32> {
        self.layout().map(|l| l.version)
    }

    /// Whether the guest decodes and encodes JSON itself (every guest
    /// before ABI 6 does), once an instance of it has run.
    pub fn speaks_json(&self) -> Option<bool> {
        self.layout().map(|l| l.features & shipfn_abi::feature::JSON != 0)
    }

    /// Whether `name` is an export of type `() -> i32`: a maker or an
    /// exported function.
    pub fn has_entry(&self, name: &str) -> bool {
        matches!(self.inner.module.get_export(name), Some(ExternType::Func(f))
            if f.params().len() == 0 && f.results().map(|r| matches!(r, ValType::I32)).eq([true]))
    }

    /// The names of exports that start with `prefix`, without it, sorted.
    pub fn names_with_prefix(&self, prefix: &str) -> Vec<String> {
        let exports = self.inner.module.exports();
        let mut names: Vec<String> = exports.filter_map(|e| e.name().strip_prefix(prefix).map(str::to_owned)).collect();
        names.sort();
        names
    }
}

fn check_abi_exports(module: &Module) -> Result<()> {
    let missing = |what: String| Err(Error::NotAGuest(what));
    match module.get_export("memory") {
        Some(ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
        _ => return missing("it exports no 32-bit `memory`".into()),
    }
    match module.get_export(ABI_BLOCK_EXPORT) {
        Some(ExternType::Global(g)) if matches!(g.content(), ValType::I32) => {}
        _ => return missing(format!("it exports no i32 global `{ABI_BLOCK_EXPORT}`")),
    }
    for name in [ALLOC_EXPORT, CALL_EXPORT] {
        match module.get_export(name) {
            Some(ExternType::Func(f))
                if f.params().map(|p| matches!(p, ValType::I32)).eq([true])
                    && f.results().map(|p| matches!(p, ValType::I32)).eq([true]) => {}
            _ => return missing(format!("it exports no function `{name}(i32) -> i32`")),
        }
    }
    Ok(())
}

/// Compiles `wasm` after screening its shape, on a thread of its own, and
/// waits for it at most [`Limits::compile_timeout`](crate::Limits::compile_timeout).
/// Compiling cannot be interrupted: past the deadline the thread is left to
/// finish in the background, its result dropped; the screening keeps that
/// short.
pub(crate) fn compile(runtime: &Runtime, wasm: &[u8]) -> Result<Module> {
    crate::screen::screen_module(wasm, runtime.limits())?;
    let (engine, bytes) = (runtime.engine().clone(), wasm.to_vec());
    let (done, result) = std::sync::mpsc::sync_channel(1);
    std::thread::Builder::new()
        .name("shipfn-compile".into())
        .spawn(move || {
            let _ = done.send(Module::new(&engine, &bytes).map_err(|e| Error::InvalidModule(e.into())));
        })
        .map_err(|e| Error::internal("cannot start a compiler thread", e))?;
    let timeout = runtime.limits().compile_timeout;
    match result.recv_timeout(timeout) {
        Ok(module) => module,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(Error::CompileTimeout(timeout)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            Err(Error::internal("compiling a module", "the compiler thread panicked"))
        }
    }
}
