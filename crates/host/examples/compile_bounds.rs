//! How long the largest modules that pass the shape checks take to compile:
//! `cargo run --release -p shipfn-host --example compile_bounds`.
//! Each shape sits just inside one bound of `screen.rs`.

use std::time::Instant;

use wasm_encoder::{BlockType, CodeSection, Function, FunctionSection, Module, TypeSection, ValType};

/// A module with one function `() -> ()` whose body `body` writes.
fn module(locals: u32, body: impl FnOnce(&mut Function)) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut functions = FunctionSection::new();
    functions.function(0);
    let mut f = Function::new([(locals, ValType::I64)]);
    body(&mut f);
    f.instructions().end();
    let mut code = CodeSection::new();
    code.function(&f);
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&code);
    module.finish()
}

/// `loops` nested loops, each touching every local, the innermost looping.
fn nested_loops(loops: u32, locals: u32) -> Vec<u8> {
    module(locals, |f| {
        let mut i = f.instructions();
        for _ in 0..loops {
            i.loop_(BlockType::Empty);
            for l in 0..locals {
                i.local_get(l).local_get((l + 1) % locals).i64_add().local_set(l);
            }
        }
        for _ in 0..loops {
            i.local_get(0).i32_wrap_i64().br_if(0).end();
        }
    })
}

/// `depth` nested if/else, each arm touching a few locals.
fn nested_ifs(depth: u32, locals: u32) -> Vec<u8> {
    module(locals, |f| {
        let mut i = f.instructions();
        for d in 0..depth {
            i.local_get(d % locals).i32_wrap_i64().if_(BlockType::Empty);
            i.local_get(d % locals).i64_const(1).i64_add().local_set((d + 1) % locals);
            i.else_();
        }
        for _ in 0..depth {
            i.end();
        }
    })
}

/// Straight-line code of about `bytes` bytes over `locals` locals.
fn straight(bytes: usize, locals: u32) -> Vec<u8> {
    module(locals, |f| {
        let mut i = f.instructions();
        for n in 0..bytes / 8 {
            let l = (n as u32 * 7919) % locals;
            i.local_get(l).local_get((l + 1) % locals).i64_add().local_set(l);
        }
    })
}

/// The largest locals, loop nesting, locals × loops and block nesting of
/// any function of a module: how far real guests are from the bounds.
fn shape(wasm: &[u8]) -> [u64; 4] {
    use wasmparser::{Operator, Parser, Payload};
    let mut max = [0u64; 4];
    for payload in Parser::new(0).parse_all(wasm) {
        let Ok(Payload::CodeSectionEntry(body)) = payload else { continue };
        let locals: u64 = body.get_locals_reader().unwrap().into_iter().map(|g| u64::from(g.unwrap().0)).sum();
        let (mut open, mut loops) = (Vec::new(), 0u64);
        let mut reader = body.get_operators_reader().unwrap();
        max[0] = max[0].max(locals);
        while !reader.eof() {
            match reader.read().unwrap() {
                Operator::Loop { .. } => {
                    open.push(true);
                    loops += 1;
                }
                Operator::Block { .. } | Operator::If { .. } => open.push(false),
                Operator::End => loops -= u64::from(open.pop() == Some(true)),
                _ => {}
            }
            max[1] = max[1].max(loops);
            max[2] = max[2].max(loops * locals);
            max[3] = max[3].max(open.len() as u64);
        }
    }
    max
}

fn main() {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if !files.is_empty() {
        for file in files {
            let [locals, loops, product, nesting] = shape(&std::fs::read(&file).expect("a wasm file"));
            println!("{file}: locals {locals}, nested loops {loops}, locals x loops {product}, nesting {nesting}");
        }
        return;
    }
    let shapes: Vec<(&str, Vec<u8>)> = vec![
        ("100 nested loops x 100 locals", nested_loops(100, 100)),
        ("10 nested loops x 1000 locals", nested_loops(10, 1000)),
        ("past the bound: 2 nested loops x 5000 locals", nested_loops(2, 5000)),
        ("2 nested loops x 3100 locals", nested_loops(2, 3100)),
        ("1 loop x 4400 locals", nested_loops(1, 4400)),
        ("5 nested loops x 2000 locals", nested_loops(5, 2000)),
        ("20 nested loops x 500 locals", nested_loops(20, 500)),
        ("past the bound: 1 loop x 20000 locals", nested_loops(1, 20_000)),
        ("2000 nested if/else", nested_ifs(2000, 16)),
        ("2000 nested if/else x 2000 locals", nested_ifs(2000, 2000)),
        ("1 MiB straight line x 10000 locals", straight(1 << 20, 10_000)),
        ("4 MiB straight line x 64 locals", straight(4 << 20, 64)),
    ];
    for (name, wasm) in &shapes {
        let screened = shipfn_host::screen_module(wasm, &shipfn_host::Limits::default());
        for (compiler, strategy) in [("cranelift", wasmtime::Strategy::Cranelift), ("winch", wasmtime::Strategy::Winch)]
        {
            let mut config = wasmtime::Config::new();
            config.strategy(strategy).epoch_interruption(true);
            let engine = wasmtime::Engine::new(&config).expect("engine");
            let started = Instant::now();
            let compiled = wasmtime::Module::new(&engine, wasm);
            println!(
                "{name:<40} {:>9} B  screen {:<5} {compiler:<9} {:>8.2} s {}",
                wasm.len(),
                if screened.is_ok() { "pass" } else { "FAIL" },
                started.elapsed().as_secs_f64(),
                compiled.err().map(|e| format!("error: {e}")).unwrap_or_default()
            );
        }
    }
}
