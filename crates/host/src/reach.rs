//! Which memory a closure's code can name: the module read once at pack
//! time, so that a `Global` the sender changed ships exactly when code the
//! closure can run names its address.
//!
//! The pipeline has three stages:
//! 1. [`CodeMap::of`] reads each function's direct calls, the wasm types of
//!    its indirect calls and every address-like constant in it: `i32.const`
//!    values and the static offsets of memory instructions (LLVM folds a
//!    static's address into either). It also reads the function table and
//!    the words of the data segments.
//! 2. [`CodeMap::reachable`] follows calls from the closure's table entries:
//!    direct calls exactly, and an indirect call to every function in the
//!    table of the same wasm type (which is all `call_indirect` can reach).
//! 3. [`Reach::names`] says whether reachable code names an address in a
//!    range, and [`CodeMap::data_points_into`] whether a data word holds
//!    one: such a pointer can be loaded and followed by code that never
//!    names the range, so the caller cannot rule that range out.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use wasmparser::{DataKind, ElementItems, ElementKind, FuncType, MemArg, Operator, Parser, Payload, TypeRef, ValType};

use crate::{Error, Result};

/// What the pack-time analysis needs of a module, read once per module.
#[derive(Debug, Default)]
pub(crate) struct CodeMap {
    /// The canonical type of each function, imported ones first.
    func_types: Vec<u32>,
    /// How many functions are imported (they have no code here).
    imported: u32,
    /// Facts of each defined function.
    funcs: Vec<Facts>,
    /// Table 0: the function at each index.
    table: Vec<Option<u32>>,
    /// Functions in table 0 by canonical type.
    table_by_type: HashMap<u32, Vec<u32>>,
    /// Every aligned 32-bit word of the active data segments, sorted.
    data_words: Vec<u32>,
    /// What [`reachable`](CodeMap::reachable) found, by its arguments: a
    /// prepared maker packs the same closure again and again.
    reached: Mutex<HashMap<ReachKey, Arc<Reach>>>,
}

/// The arguments of [`CodeMap::reachable`].
type ReachKey = (Vec<u32>, Option<Vec<u32>>);

/// At most this many results are kept per module.
const REACH_CACHE: usize = 256;

/// What one function's code does that matters here.
#[derive(Debug, Default)]
struct Facts {
    calls: Vec<u32>,
    /// Canonical types of its `call_indirect`s.
    indirect: Vec<u32>,
    /// It calls through a function reference (`call_ref`) or takes one
    /// (`ref.func`), which this analysis does not follow.
    opaque: bool,
    /// Address-like constants, sorted and without repeats.
    addresses: Vec<u32>,
}

impl CodeMap {
    /// Reads `wasm` (which the host has already validated).
    pub fn of(wasm: &[u8]) -> Result<CodeMap> {
        let invalid = |e: wasmparser::BinaryReaderError| Error::InvalidModule(e.into());
        let mut map = CodeMap::default();
        let mut canonical: Vec<u32> = Vec::new();
        let mut distinct: HashMap<(Vec<ValType>, Vec<ValType>), u32> = HashMap::new();
        let mut canonical_of = |ty: &FuncType| {
            let key = (ty.params().to_vec(), ty.results().to_vec());
            let next = distinct.len() as u32;
            *distinct.entry(key).or_insert(next)
        };
        let mut elements: Vec<(u32, Vec<u32>)> = Vec::new();
        for payload in Parser::new(0).parse_all(wasm) {
            match payload.map_err(invalid)? {
                Payload::TypeSection(reader) => {
                    for ty in reader.into_iter_err_on_gc_types() {
                        canonical.push(canonical_of(&ty.map_err(invalid)?));
                    }
                }
                Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        if let TypeRef::Func(ty) = import.map_err(invalid)?.ty {
                            map.func_types.push(type_of(&canonical, ty)?);
                            map.imported += 1;
                        }
                    }
                }
                Payload::FunctionSection(reader) => {
                    for ty in reader {
                        map.func_types.push(type_of(&canonical, ty.map_err(invalid)?)?);
                    }
                }
                Payload::ElementSection(reader) => {
                    for element in reader {
                        let element = element.map_err(invalid)?;
                        let ElementKind::Active { table_index: None | Some(0), offset_expr } = element.kind else {
                            continue;
                        };
                        let Some(offset) = const_i32(offset_expr.get_operators_reader()) else {
                            return Err(unsupported("a table element segment whose offset is not a constant"));
                        };
                        let ElementItems::Functions(items) = element.items else {
                            return Err(unsupported("a table element segment of expressions"));
                        };
                        let items = items.into_iter().collect::<std::result::Result<Vec<u32>, _>>().map_err(invalid)?;
                        elements.push((offset, items));
                    }
                }
                Payload::DataSection(reader) => {
                    for data in reader {
                        let data = data.map_err(invalid)?;
                        let DataKind::Active { offset_expr, .. } = data.kind else { continue };
                        let Some(offset) = const_i32(offset_expr.get_operators_reader()) else {
                            return Err(unsupported("a data segment whose offset is not a constant"));
                        };
                        // Words at 4-aligned addresses: where a Rust static keeps a pointer.
                        let skip = (4 - offset % 4) % 4;
                        for word in data.data.get(skip as usize..).unwrap_or_default().chunks_exact(4) {
                            map.data_words.push(u32::from_le_bytes(word.try_into().expect("four bytes")));
                        }
                    }
                }
                Payload::CodeSectionEntry(body) => {
                    let mut facts = Facts::default();
                    let mut reader = body.get_operators_reader().map_err(invalid)?;
                    while !reader.eof() {
                        facts.note(reader.read().map_err(invalid)?, &canonical)?;
                    }
                    facts.addresses.sort_unstable();
                    facts.addresses.dedup();
                    map.funcs.push(facts);
                }
                _ => {}
            }
        }
        for (offset, items) in elements {
            for (i, function) in items.into_iter().enumerate() {
                let at = offset as usize + i;
                if map.table.len() <= at {
                    map.table.resize(at + 1, None);
                }
                map.table[at] = Some(function);
            }
        }
        for function in map.table.iter().flatten() {
            let ty =
                *map.func_types.get(*function as usize).ok_or_else(|| unsupported("a table entry out of range"))?;
            map.table_by_type.entry(ty).or_default().push(*function);
        }
        map.data_words.sort_unstable();
        map.data_words.dedup();
        Ok(map)
    }

    /// The function at table index `index`.
    fn table_entry(&self, index: u32) -> Result<u32> {
        self.table
            .get(index as usize)
            .copied()
            .flatten()
            .ok_or_else(|| Error::Abi(format!("table index {index} names no function")))
    }

    /// The functions that code starting at the table indices `roots` can
    /// run. Where `known` names table entries (the state trampolines of a
    /// closure and of the closures in its state), an indirect call of their
    /// wasm type runs one of them, not any function of that type. Computed
    /// once per arguments.
    pub fn reachable(&self, roots: &[u32], known: Option<&[u32]>) -> Result<Arc<Reach>> {
        let key = (roots.to_vec(), known.map(<[u32]>::to_vec));
        if let Some(reach) = self.reached.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(reach.clone());
        }
        let reach = Arc::new(self.follow(roots, known)?);
        let mut reached = self.reached.lock().unwrap_or_else(|e| e.into_inner());
        if reached.len() >= REACH_CACHE {
            reached.clear();
        }
        reached.insert(key, reach.clone());
        Ok(reach)
    }

    fn follow(&self, roots: &[u32], known: Option<&[u32]>) -> Result<Reach> {
        let mut seen = vec![false; self.func_types.len()];
        let mut stack = Vec::new();
        for root in roots {
            stack.push(self.table_entry(*root)?);
        }
        let mut precise: HashMap<u32, Vec<u32>> = HashMap::new();
        for index in known.into_iter().flatten() {
            let function = self.table_entry(*index)?;
            precise.entry(self.func_types[function as usize]).or_default().push(function);
        }
        let mut everything = false;
        while let Some(function) = stack.pop() {
            let Some(was) = seen.get_mut(function as usize) else { continue };
            if std::mem::replace(was, true) {
                continue;
            }
            let Some(facts) = self.facts(function) else { continue };
            everything |= facts.opaque;
            stack.extend(&facts.calls);
            for ty in &facts.indirect {
                let targets = precise.get(ty).or_else(|| self.table_by_type.get(ty));
                stack.extend(targets.into_iter().flatten());
            }
        }
        if everything {
            seen.iter_mut().for_each(|s| *s = true);
        }
        let mut addresses: Vec<u32> = (0..seen.len() as u32)
            .filter(|f| seen[*f as usize])
            .filter_map(|f| self.facts(f))
            .flat_map(|facts| facts.addresses.iter().copied())
            .collect();
        addresses.sort_unstable();
        addresses.dedup();
        Ok(Reach { seen, addresses })
    }

    /// The facts of a function defined here (not imported).
    fn facts(&self, function: u32) -> Option<&Facts> {
        function.checked_sub(self.imported).and_then(|i| self.funcs.get(i as usize))
    }

    /// Whether the code of the function at table index `index` names an
    /// address in `range` (not counting the functions it calls).
    pub fn function_names(&self, index: u32, range: Range<u32>) -> Result<bool> {
        let function = self.table_entry(index)?;
        Ok(self.facts(function).is_some_and(|facts| sorted_has_in(&facts.addresses, range)))
    }

    /// How many functions the module has, imported ones included.
    pub fn functions(&self) -> usize {
        self.func_types.len()
    }

    /// Whether a data word holds an address in `range`.
    pub fn data_points_into(&self, range: Range<u32>) -> bool {
        sorted_has_in(&self.data_words, range)
    }
}

/// The functions some code can run, and the addresses their code names.
#[derive(Debug)]
pub(crate) struct Reach {
    seen: Vec<bool>,
    /// Every address-like constant of the reachable functions, sorted.
    addresses: Vec<u32>,
}

impl Reach {
    /// Whether a reachable function names an address in `range`.
    pub fn names(&self, range: Range<u32>) -> bool {
        sorted_has_in(&self.addresses, range)
    }

    /// Whether the function `function` is reachable.
    #[cfg(test)]
    pub fn has_function(&self, function: u32) -> bool {
        self.seen.get(function as usize).copied().unwrap_or(false)
    }

    /// How many functions are reachable.
    pub fn len(&self) -> usize {
        self.seen.iter().filter(|s| **s).count()
    }
}

fn sorted_has_in(sorted: &[u32], range: Range<u32>) -> bool {
    let at = sorted.partition_point(|v| *v < range.start);
    sorted.get(at).is_some_and(|v| *v < range.end)
}

impl Facts {
    fn note(&mut self, op: Operator<'_>, canonical: &[u32]) -> Result<()> {
        match op {
            Operator::I32Const { value } => self.addresses.push(value as u32),
            Operator::Call { function_index } | Operator::ReturnCall { function_index } => {
                self.calls.push(function_index)
            }
            Operator::CallIndirect { type_index, table_index }
            | Operator::ReturnCallIndirect { type_index, table_index } => {
                if table_index != 0 {
                    return Err(unsupported("an indirect call through a second table"));
                }
                self.indirect.push(type_of(canonical, type_index)?);
            }
            Operator::CallRef { .. } | Operator::ReturnCallRef { .. } | Operator::RefFunc { .. } => self.opaque = true,
            op => {
                if let Some(offset) = memarg_offset(&op) {
                    // A static offset past 4 GiB names no 32-bit address.
                    if let Ok(offset) = u32::try_from(offset) {
                        self.addresses.push(offset);
                    }
                }
            }
        }
        Ok(())
    }
}

fn type_of(canonical: &[u32], ty: u32) -> Result<u32> {
    canonical.get(ty as usize).copied().ok_or_else(|| unsupported("a type index out of range"))
}

/// The value of a constant expression that is a single `i32.const`.
fn const_i32(mut reader: wasmparser::OperatorsReader<'_>) -> Option<u32> {
    match (reader.read().ok()?, reader.read().ok()?) {
        (Operator::I32Const { value }, Operator::End) => Some(value as u32),
        _ => None,
    }
}

fn unsupported(what: &str) -> Error {
    Error::Abi(format!("the module has {what}, which the pack-time analysis of globals does not follow"))
}

/// Picks the `MemArg` out of an instruction's immediates, whatever their
/// types (autoref specialization, resolved where each type is concrete).
struct Immediate<'x, T>(&'x T);

trait IsMemArg {
    fn offset(&self) -> Option<u64>;
}

impl IsMemArg for &Immediate<'_, MemArg> {
    fn offset(&self) -> Option<u64> {
        Some(self.0.offset)
    }
}

trait NotMemArg {
    fn offset(&self) -> Option<u64> {
        None
    }
}

impl<T> NotMemArg for Immediate<'_, T> {}

macro_rules! define_memarg_offset {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        /// The static offset of a memory instruction.
        #[allow(unused_variables, unreachable_patterns, clippy::needless_borrow)]
        fn memarg_offset(op: &Operator<'_>) -> Option<u64> {
            match op {
                $(
                    Operator::$op $({ $($arg),* })? => {
                        $($(
                            if let Some(offset) = (&&Immediate($arg)).offset() {
                                return Some(offset);
                            }
                        )*)?
                        None
                    }
                )*
                _ => None,
            }
        }
    };
}
wasmparser::for_each_operator!(define_memarg_offset);

#[cfg(test)]
mod tests {
    use wasm_encoder::{
        CodeSection, ConstExpr, DataSection, ElementSection, Elements, Function, FunctionSection, MemArg,
        MemorySection, MemoryType, Module, RefType, TableSection, TableType, TypeSection, ValType,
    };

    use super::CodeMap;

    /// A module whose functions name addresses in known ways:
    /// - f0 `() -> ()` calls f1; in the table at 4;
    /// - f1 `() -> ()` names 1000 with `i32.const`;
    /// - f2 `(i32) -> i32` loads at offset 2000; in the table at 2;
    /// - f3 `() -> ()` calls through the table as `(i32) -> i32`; at 1;
    /// - f4 `() -> ()` names 3000; at 3, but nothing calls its type indirectly;
    /// - f5 `(i32) -> i32` names 4000, and is not in the table.
    ///
    /// A data word at 5000 holds 6000.
    fn module() -> Vec<u8> {
        let mut types = TypeSection::new();
        types.ty().function([], []);
        types.ty().function([ValType::I32], [ValType::I32]);
        let mut functions = FunctionSection::new();
        for ty in [0, 0, 1, 0, 0, 1] {
            functions.function(ty);
        }
        let mut table = TableSection::new();
        table.table(TableType {
            element_type: RefType::FUNCREF,
            table64: false,
            minimum: 5,
            maximum: None,
            shared: false,
        });
        let mut memory = MemorySection::new();
        memory.memory(MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None });
        let mut elements = ElementSection::new();
        elements.active(None, &ConstExpr::i32_const(1), Elements::Functions(vec![3, 2, 4, 0].into()));
        let mut code = CodeSection::new();
        let mem = |offset| MemArg { offset, align: 2, memory_index: 0 };
        let mut body = |f: &dyn Fn(&mut wasm_encoder::InstructionSink<'_>)| {
            let mut function = Function::new([]);
            f(&mut function.instructions());
            function.instructions().end();
            code.function(&function);
        };
        body(&|i| {
            i.call(1);
        });
        body(&|i| {
            i.i32_const(1000).drop();
        });
        body(&|i| {
            i.local_get(0).i32_load(mem(2000));
        });
        body(&|i| {
            i.i32_const(7).i32_const(1).call_indirect(0, 1).drop();
        });
        body(&|i| {
            i.i32_const(3000).drop();
        });
        body(&|i| {
            i.i32_const(4000);
        });
        let mut data = DataSection::new();
        data.active(0, &ConstExpr::i32_const(5000), 6000u32.to_le_bytes());
        let mut module = Module::new();
        module.section(&types).section(&functions).section(&table).section(&memory);
        module.section(&elements).section(&code).section(&data);
        module.finish()
    }

    #[test]
    fn reach_follows_direct_calls_and_indirect_calls_by_type() {
        let wasm = module();
        wasmparser::validate(&wasm).expect("the test module is valid");
        let map = CodeMap::of(&wasm).unwrap();

        let from_f3 = map.reachable(&[1], None).unwrap();
        assert_eq!(from_f3.len(), 2, "f3, and f2 through the table");
        assert!(from_f3.names(2000..2004), "a load offset names its address");
        assert!(from_f3.names(1999..2001) && !from_f3.names(2001..2100), "ranges are half-open");
        assert!(!from_f3.names(3000..3004), "f4 has another type than the indirect call");
        assert!(!from_f3.names(4000..4004), "f5 is not in the table");
        assert!(!from_f3.names(1000..1004), "f1 is called only by f0");

        let from_f0 = map.reachable(&[4], None).unwrap();
        assert!(from_f0.names(1000..1001) && !from_f0.names(2000..2004));
        assert!(map.reachable(&[0], None).is_err(), "table index 0 is empty");
        assert!(map.reachable(&[9], None).is_err(), "past the table");

        assert!(map.data_points_into(6000..6001));
        assert!(!map.data_points_into(5000..5004), "a data word's own address is not its value");
    }

    /// On a real guest (rustc's output, in a golden package): the closure's
    /// entry and state trampoline reach its body, and not the whole module.
    #[test]
    fn a_real_closure_reaches_its_body_and_not_everything() {
        let bytes = include_bytes!("../../../tests/golden/seed-abi7-v3.fnpkg");
        let package = crate::VerifiedPackage::from_bytes(bytes).unwrap();
        let manifest = package.manifest();
        let started = std::time::Instant::now();
        let map = CodeMap::of(package.module().expect("a full package")).unwrap();
        let reach = map.reachable(&[manifest.entry, manifest.trampoline], None).unwrap();
        eprintln!(
            "analysis of the seed module: {:?}; {} of {} functions reachable",
            started.elapsed(),
            reach.len(),
            map.func_types.len()
        );
        assert!(reach.has_function(map.table_entry(manifest.body).unwrap()));
        assert!(reach.len() < map.func_types.len());
    }
}
