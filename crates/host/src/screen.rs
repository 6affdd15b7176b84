//! Screens a module's bytes before compiling them: compile time and memory
//! grow faster than a module's size for some shapes of code (deep nesting,
//! many locals live across many loops), so a small hostile module could
//! otherwise stall a host for minutes or exhaust its memory while it is
//! compiled. The bounds are far above what Rust guests need.

use wasmparser::{Operator, Parser, Payload};

use crate::{Error, Limits, Result};

/// Most functions a module may define.
const MAX_FUNCTIONS: u32 = 200_000;
/// Most locals one function may declare.
const MAX_LOCALS: u64 = 10_000;
/// Deepest nesting of blocks, loops and ifs in one function.
const MAX_NESTING: u32 = 2_000;
/// Most loops nested around one another in one function.
const MAX_LOOP_NESTING: u32 = 100;
/// Most locals × nested loops in one function: every local live across a
/// loop is a value that the optimizing compiler carries through each loop
/// around it.
const MAX_LOCALS_TIMES_LOOPS: u64 = 10_000;
/// Most locals² × nested loops in one function: register allocation over
/// the values carried through loops grows with about the square of their
/// number (measured by `examples/compile_bounds.rs`).
const MAX_LOCALS_SQUARED_TIMES_LOOPS: u64 = 20_000_000;
/// Most tables a module may have (Rust guests have one).
const MAX_TABLES: u32 = 4;

/// Refuses a module whose size or shape is past the bounds that keep
/// compiling it cheap, naming the bound: more than
/// [`Limits::max_module_size`] bytes, more than 200 000 functions or 4
/// tables, or a function with more than 10 000 locals, blocks nested more
/// than 2 000 deep, loops nested more than 100 deep, or more than 10 000
/// locals × nested loops or 20 000 000 locals² × nested loops. [`Host`](crate::Host) screens every module before
/// compiling it; a service can screen an upload before storing it.
///
/// # Errors
///
/// [`Error::ModuleTooComplex`] naming the bound, or
/// [`Error::InvalidModule`] for bytes that do not parse.
pub fn screen_module(wasm: &[u8], limits: &Limits) -> Result<()> {
    if wasm.len() > limits.max_module_size {
        return Err(too_complex(format!(
            "the module is {} bytes, more than the limit of {} bytes",
            wasm.len(),
            limits.max_module_size
        )));
    }
    let invalid = |e: wasmparser::BinaryReaderError| Error::InvalidModule(e.into());
    let mut function = 0u32;
    let mut tables = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::FunctionSection(section) if section.count() > MAX_FUNCTIONS => {
                return Err(too_complex(format!(
                    "it defines {} functions, more than {MAX_FUNCTIONS}",
                    section.count()
                )));
            }
            Payload::TableSection(section) => tables += section.count(),
            Payload::CodeSectionEntry(body) => {
                screen_function(&body).map_err(|e| match e {
                    Screened::Invalid(e) => invalid(e),
                    Screened::TooComplex(what) => too_complex(format!("function {function} {what}")),
                })?;
                function += 1;
            }
            _ => {}
        }
    }
    if tables > MAX_TABLES {
        return Err(too_complex(format!("it has {tables} tables, more than {MAX_TABLES}")));
    }
    Ok(())
}

enum Screened {
    Invalid(wasmparser::BinaryReaderError),
    TooComplex(String),
}

impl From<wasmparser::BinaryReaderError> for Screened {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        Screened::Invalid(e)
    }
}

fn screen_function(body: &wasmparser::FunctionBody<'_>) -> Result<(), Screened> {
    let mut locals = 0u64;
    for group in body.get_locals_reader()? {
        let (count, _) = group?;
        locals += u64::from(count);
        if locals > MAX_LOCALS {
            return Err(Screened::TooComplex(format!("declares more than {MAX_LOCALS} locals")));
        }
    }
    // The innermost open construct is last; whether each is a loop.
    let mut open: Vec<bool> = Vec::new();
    let mut loops = 0u32;
    let mut reader = body.get_operators_reader()?;
    while !reader.eof() {
        match reader.read()? {
            Operator::Block { .. } | Operator::If { .. } | Operator::TryTable { .. } | Operator::Try { .. } => {
                open.push(false)
            }
            Operator::Loop { .. } => {
                open.push(true);
                loops += 1;
                if loops > MAX_LOOP_NESTING {
                    return Err(Screened::TooComplex(format!("nests more than {MAX_LOOP_NESTING} loops")));
                }
                if locals * u64::from(loops) > MAX_LOCALS_TIMES_LOOPS
                    || locals * locals * u64::from(loops) > MAX_LOCALS_SQUARED_TIMES_LOOPS
                {
                    return Err(Screened::TooComplex(format!(
                        "has {locals} locals live across {loops} nested loops, more than an optimizing compiler \
                         handles quickly"
                    )));
                }
            }
            Operator::End => loops -= u32::from(open.pop() == Some(true)),
            _ => {}
        }
        if open.len() > MAX_NESTING as usize {
            return Err(Screened::TooComplex(format!("nests blocks more than {MAX_NESTING} deep")));
        }
    }
    Ok(())
}

fn too_complex(what: String) -> Error {
    Error::ModuleTooComplex(what)
}
