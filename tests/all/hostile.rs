//! What a hostile package or neighbour tries, and what the CLI does with
//! hostile text: modules that take long to compile, WebAssembly proposals
//! shipfn does not run, a poisoned cache directory, terminal escapes, a
//! closed pipe, absurd limits.

use std::os::unix::fs::PermissionsExt;

use wasm_encoder::{BlockType, CodeSection, Function, FunctionSection, MemorySection, MemoryType, Module, ValType};

use crate::harness::*;

/// A package around `wasm` that claims a plain `fn() -> u8`.
fn package_around(wasm: Vec<u8>) -> Vec<u8> {
    let signature = fn_returning_u8();
    let source = shipfn_format::Source::Function { name: "f".into() };
    shipfn_format::Package::new(source, closure_at(1, 1, 1, signature), wasm, vec![]).to_bytes()
}

/// A module of `functions` functions, each with `locals` i64 locals that it
/// updates inside `loops` nested loops.
fn looping_module(functions: u32, loops: u32, locals: u32) -> Vec<u8> {
    let mut types = wasm_encoder::TypeSection::new();
    types.ty().function([], []);
    let mut declared = FunctionSection::new();
    let mut code = CodeSection::new();
    for _ in 0..functions {
        declared.function(0);
        let mut f = Function::new([(locals, ValType::I64)]);
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
        i.end();
        code.function(&f);
    }
    let mut module = Module::new();
    module.section(&types).section(&declared).section(&code);
    module.finish()
}

fn write(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    std::fs::write(dir.join(name), bytes).unwrap();
    name.to_owned()
}

#[test]
fn a_module_past_the_shape_bounds_is_refused_before_it_is_compiled() {
    // One loop over 20 000 live locals takes Cranelift about 8 s here.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "loops.fnpkg", &package_around(looping_module(1, 1, 20_000)));
    let err = fails(
        &shipfn_in(dir.path(), &["run", &file, "--compiler", "cranelift", "--no-cache"]),
        9,
        "too large or complex to compile safely",
    );
    assert!(err.contains("function 0 declares more than 10000 locals"), "{err}");
    let file = write(dir.path(), "nested.fnpkg", &package_around(looping_module(1, 150, 2)));
    fails(&shipfn_in(dir.path(), &["run", &file, "--no-cache"]), 9, "nests more than 100 loops");
    let mut module = Module::new();
    module.section(&wasm_encoder::CustomSection { name: "padding".into(), data: vec![0; 33 << 20].into() });
    let file = write(dir.path(), "big.fnpkg", &package_around(module.finish()));
    fails(&shipfn_in(dir.path(), &["run", &file, "--no-cache"]), 9, "more than the limit of 33554432 bytes");
}

#[test]
fn a_module_that_compiles_too_long_hits_the_compile_deadline() {
    // Within the shape bounds, but several seconds of Cranelift's time.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "slow.fnpkg", &package_around(looping_module(8, 2, 3000)));
    let started = std::time::Instant::now();
    let out =
        shipfn_in(dir.path(), &["run", &file, "--compiler", "cranelift", "--no-cache", "--compile-timeout", "300ms"]);
    fails(&out, 8, "compiling the module took longer than its time limit of 300ms");
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
}

#[test]
fn proposals_rust_guests_do_not_use_are_refused_under_both_compilers() {
    let dir = tempfile::tempdir().unwrap();
    // Two memories: the memory limit would apply to each.
    let mut memories = MemorySection::new();
    let memory = MemoryType { minimum: 1, maximum: None, memory64: false, shared: false, page_size_log2: None };
    memories.memory(memory).memory(memory);
    let mut module = Module::new();
    module.section(&memories);
    let two_memories = write(dir.path(), "memories.fnpkg", &package_around(module.finish()));
    // A SIMD instruction: Winch compiles only part of SIMD.
    let mut types = wasm_encoder::TypeSection::new();
    types.ty().function([], []);
    let mut declared = FunctionSection::new();
    declared.function(0);
    let mut f = Function::new([]);
    f.instructions().v128_const(0).drop().end();
    let mut code = CodeSection::new();
    code.function(&f);
    let mut module = Module::new();
    module.section(&types).section(&declared).section(&code);
    let simd = write(dir.path(), "simd.fnpkg", &package_around(module.finish()));
    for compiler in ["cranelift", "winch"] {
        for (file, needle) in [(&two_memories, "multiple memories"), (&simd, "SIMD")] {
            let out = shipfn_in(dir.path(), &["run", file, "--compiler", compiler, "--no-cache"]);
            fails(&out, 4, "invalid WebAssembly module");
            assert!(stderr(&out).contains(needle), "{compiler}, {file}: {}", stderr(&out));
        }
    }
}

#[test]
fn a_cache_directory_or_key_others_control_is_not_used() {
    let seed = repo().join("tests/golden/seed-v1.fnpkg");
    let seed = seed.to_str().unwrap();
    let run_with_cache = |cache: &std::path::Path| {
        let out = shipfn().args(["run", seed, "--arg", "4", "--cache-dir", cache.to_str().unwrap()]).output().unwrap();
        assert_eq!(ok(&out), "10");
        stderr(&out)
    };
    let compiled = |cache: &std::path::Path| {
        std::fs::read_dir(cache).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some()).count()
    };

    // A directory a neighbour made first, writable by everyone, with a key
    // the neighbour knows.
    let root = tempfile::tempdir().unwrap();
    let open = root.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(open.join("key"), [7u8; 32]).unwrap();
    let err = run_with_cache(&open);
    assert!(
        err.contains("warning: not caching compiled modules") && err.contains("lets other users change it"),
        "{err}"
    );
    assert_eq!(compiled(&open), 0, "code was cached in a directory others can write");

    // A private directory whose key others can read, or that is a link.
    let private = root.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(private.join("key"), [7u8; 32]).unwrap();
    std::fs::set_permissions(private.join("key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(run_with_cache(&private).contains("lets other users read or change it"));
    std::fs::remove_file(private.join("key")).unwrap();
    std::fs::write(root.path().join("their-key"), [7u8; 32]).unwrap();
    std::fs::set_permissions(root.path().join("their-key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(root.path().join("their-key"), private.join("key")).unwrap();
    assert!(run_with_cache(&private).contains("not caching compiled modules"));
    assert_eq!(compiled(&private), 0);

    // A directory of our own is used, quietly.
    let fresh = root.path().join("fresh");
    assert_eq!(run_with_cache(&fresh), "");
    assert_eq!(compiled(&fresh), 1);
    let mode = std::fs::metadata(fresh.join("key")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn guest_text_reaches_the_terminal_with_control_characters_escaped() {
    let escape = r#""\u001b]0;pwned\u0007\nok: 10\u009b""#;
    let p = pack_suite("echo_error", &[escape]);
    let out = p.run(&[]);
    fails(&out, 6, r"the function returned an error: \u{1b}]0;pwned\u{7}\u{a}ok: 10\u{9b}");
    let inspected = shipfn_in(p.dir.path(), &["inspect", p.file.to_str().unwrap()]);
    let text = ok(&inspected);
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}') && !text.contains('\u{9b}'), "{text}");
    assert!(text.contains(r#"captured    {"message":"\u001b]0;pwned\u0007\nok: 10\u{9b}"}"#), "{text}");
    let json = ok(&shipfn_in(p.dir.path(), &["inspect", "--json", p.file.to_str().unwrap()]));
    assert!(!json.contains('\u{9b}'), "{json}");
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["captured_values"]["message"], "\u{1b}]0;pwned\u{7}\nok: 10\u{9b}");
}

#[test]
fn keygen_force_writes_a_fresh_private_secret_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("k"), "old").unwrap();
    std::fs::set_permissions(dir.path().join("k"), std::fs::Permissions::from_mode(0o644)).unwrap();
    fails(&shipfn_in(dir.path(), &["keygen", "-o", "k"]), 2, "exists; pass --force");
    ok(&shipfn_in(dir.path(), &["keygen", "-o", "k", "--force"]));
    let mode = |name: &str| std::fs::metadata(dir.path().join(name)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("k"), 0o600);
    assert_eq!(mode("k.pub"), 0o644);
    assert!(std::fs::read_to_string(dir.path().join("k")).unwrap() != "old");
}

#[test]
fn every_subcommand_writing_into_a_closed_pipe_ends_quietly() {
    let p = pack_suite("greeter", &["hi"]);
    let file = p.file.to_str().unwrap();
    let long = "x".repeat(100_000);
    let cases: [&[&str]; 4] =
        [&["run", file, "--arg", &long], &["inspect", file], &["inspect", "--json", file], &["verify", file]];
    for args in cases {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = shipfn().current_dir(p.dir.path()).args(args).stdout(writer).output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{:?}: {err}", &args[..2]);
        assert!(!err.contains("panicked"), "{:?}: {err}", &args[..2]);
    }
}

#[test]
fn absurd_limits_are_usage_errors_not_panics() {
    let seed = repo().join("tests/golden/seed-v1.fnpkg");
    let seed = seed.to_str().unwrap();
    for timeout in ["1e20", "100000000000s", "-1", "0", "NaN"] {
        let out = shipfn().args(["run", seed, "--arg", "4", &format!("--timeout={timeout}")]).output().unwrap();
        fails(&out, 2, "--timeout");
    }
    let out = shipfn().args(["run", seed, "--arg", "4", "--compile-timeout", "1e20"]).output().unwrap();
    fails(&out, 2, "must be at most 30days");
}
