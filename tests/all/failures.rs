//! Guests that fail, arguments that are wrong, packages that are bad: each
//! is a clear message and its own exit code, never a crash.

use crate::harness::*;

#[test]
fn an_err_result_is_reported_with_its_message() {
    let p = pack_suite("checked_div", &["7"]);
    fails(&p.run(&["--arg", "0"]), 6, "the function returned an error: cannot divide 7 by zero");
}

#[test]
fn a_panic_is_reported_with_message_and_location() {
    let p = pack_suite("panicky", &[]);
    let err = fails(&p.run(&["--arg", "3"]), 7, "the guest panicked");
    assert!(err.contains("x was 3"), "{err}");
    assert!(err.contains("src/lib.rs:"), "no location: {err}");
    assert_eq!(ok(&p.run(&["--arg", "-3"])), "-3");
}

#[test]
fn an_endless_loop_hits_the_time_limit() {
    let p = pack_suite("spin", &[]);
    fails(&p.run(&["--timeout", "300ms"]), 8, "time limit of 300ms");
}

#[test]
fn fuel_stops_an_endless_loop_too() {
    let p = pack_suite("spin", &[]);
    fails(&p.run(&["--fuel", "1000000"]), 8, "used up its fuel");
}

#[test]
fn a_memory_bomb_hits_the_memory_limit() {
    let p = pack_suite("memory_bomb", &[]);
    fails(&p.run(&["--max-memory", "64MiB"]), 9, "past the limit of 67108864 bytes");
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let p = pack_suite("deep", &[]);
    fails(&p.run(&["--arg", "100000000"]), 7, "stack overflow");
    assert_eq!(ok(&p.run(&["--arg", "100"])), "100");
}

#[test]
fn a_result_over_the_limit_is_refused() {
    let p = pack_suite("bytes", &[]);
    fails(&p.run(&["--arg", "2000000", "--max-result", "1MiB"]), 9, "larger than the limit");
    assert_eq!(ok(&p.run(&["--arg", "3"])), "[0,0,0]");
}

#[test]
fn wrong_argument_count_names_the_signature() {
    let p = pack_suite("linear", &["1"]);
    fails(&p.run(&["--arg", "1"]), 5, "expected 3 argument(s) for fn(x: i64, y: i64, z: i64) -> i64, got 1");
}

#[test]
fn wrong_argument_type_names_the_parameter_and_type() {
    let p = pack_suite("linear", &["1"]);
    fails(&p.run(&["--arg", "1", "--arg", r#""two""#, "--arg", "3"]), 5, "argument 2 `y` expects i64");
    fails(&p.run(&["--arg", "1", "--arg", "2", "--arg", "{oops"]), 5, "argument 3 `z` expects i64");
    fails(&p.run(&["--arg", "1.5", "--arg", "2", "--arg", "3"]), 5, "argument 1 `x` expects i64");
    let p = pack_suite("bytes", &[]);
    fails(&p.run(&["--arg", "-1"]), 5, "argument 1 `len` expects usize");
}

#[test]
fn wrong_maker_arguments_are_named_at_pack_time() {
    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", suite().to_str().unwrap(), "--make", "linear", "--arg", "ten"]);
    fails(&out, 5, "`a: i64`");
    let out = shipfn_in(dir.path(), &["pack", suite().to_str().unwrap(), "--make", "linear"]);
    fails(&out, 5, "expected 1 argument(s), got 0");
    assert!(!dir.path().join("linear.fnpkg").exists(), "a failed pack wrote a file");
}

#[test]
fn an_unknown_maker_lists_the_ones_there_are() {
    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", suite().to_str().unwrap(), "--make", "nope"]);
    let err = fails(&out, 4, "has no maker `nope`");
    assert!(err.contains("closure") || err.contains("kitchen_sink"), "{err}");
    let out = shipfn_in(dir.path(), &["pack", suite().to_str().unwrap(), "--fn", "nope"]);
    fails(&out, 4, "has no exported function `nope`; it has: add");
}

#[test]
fn a_module_with_imports_is_refused_when_packing_and_when_running() {
    let wasm = build_guest("tests/guests/importer");
    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", wasm.to_str().unwrap(), "--make", "lucky"]);
    fails(&out, 4, "imports `wasi_snapshot_preview1::random_get`");

    // A package made some other way that carries the same module.
    let signature = shipfn_host::Signature {
        params: vec![],
        result: "u8".into(),
        ok: None,
        error: None,
        captures: vec![],
        globals: vec![],
    };
    let module = std::fs::read(&wasm).unwrap();
    let package = shipfn_format::Package::new(
        shipfn_format::Source::Function { name: "lucky".into() },
        1,
        1,
        1,
        signature,
        module,
        vec![],
    );
    std::fs::write(dir.path().join("hostile.fnpkg"), package.to_bytes()).unwrap();
    fails(&shipfn_in(dir.path(), &["run", "hostile.fnpkg"]), 4, "imports `wasi_snapshot_preview1::random_get`");
}

#[test]
fn corrupt_and_missing_packages_are_refused() {
    let p = pack_suite("linear", &["1"]);
    let mut bytes = std::fs::read(&p.file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let bad = p.dir.path().join("bad.fnpkg");
    std::fs::write(&bad, &bytes).unwrap();
    fails(&shipfn_in(p.dir.path(), &["run", "bad.fnpkg"]), 4, "digest does not match");
    fails(&shipfn_in(p.dir.path(), &["inspect", "bad.fnpkg"]), 4, "digest does not match");

    std::fs::write(&bad, &bytes[..bytes.len() / 3]).unwrap();
    fails(&shipfn_in(p.dir.path(), &["run", "bad.fnpkg"]), 4, "truncated package");

    std::fs::write(&bad, b"print('hello')").unwrap();
    fails(&shipfn_in(p.dir.path(), &["run", "bad.fnpkg"]), 4, "not a shipfn package");

    fails(&shipfn_in(p.dir.path(), &["run", "missing.fnpkg"]), 3, "cannot read missing.fnpkg");
}

#[test]
fn after_a_guest_fails_the_same_host_serves_the_next_call() {
    let host = shipfn_host::Host::new(shipfn_host::Limits {
        timeout: std::time::Duration::from_millis(200),
        max_memory: 32 << 20,
        ..Default::default()
    })
    .unwrap();
    let wasm = std::fs::read(suite()).unwrap();
    let good = host.load(&host.make(&wasm, "linear", &["2".into()]).unwrap().to_bytes()).unwrap();
    let cases: [(&str, &[&str]); 5] =
        [("spin", &[]), ("memory_bomb", &[]), ("panicky", &["1"]), ("deep", &["100000000"]), ("bytes", &["100000000"])];
    for (maker, args) in cases {
        let bad = host.load(&host.make(&wasm, maker, &[]).unwrap().to_bytes()).unwrap();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let err = bad.call_json(&args).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                shipfn_host::ErrorKind::Timeout | shipfn_host::ErrorKind::ResourceLimit | shipfn_host::ErrorKind::Trap
            ),
            "{maker}: {err}"
        );
        assert_eq!(good.call::<(i64, i64, i64), i64>(&(3, 4, 5)).unwrap(), 5, "after {maker}");
    }
}

#[test]
fn a_forged_package_behind_a_valid_seal_is_refused_at_load() {
    let golden = std::fs::read(repo().join("tests/golden/seed-v1.fnpkg")).unwrap();
    let real = shipfn_format::Package::from_bytes(&golden).unwrap();
    let m = &real.manifest;
    let reseal = |entry, tramp, func, state: Vec<u8>| {
        shipfn_format::Package::new(
            m.source.clone(),
            entry,
            tramp,
            func,
            m.signature.clone(),
            real.module.clone(),
            state,
        )
        .to_bytes()
    };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("swapped-indices", reseal(m.tramp, m.entry, m.func, real.state.clone())),
        ("index-past-the-table", reseal(m.entry, 100_000, m.func, real.state.clone())),
        ("state-of-another-type", reseal(m.entry, m.tramp, m.func, vec![0xff; 3])),
    ];
    for (name, bytes) in cases {
        let file = format!("{name}.fnpkg");
        std::fs::write(dir.path().join(&file), bytes).unwrap();
        fails(&shipfn_in(dir.path(), &["run", &file, "--arg", "4"]), 4, "the package does not fit its module");
    }
}

#[test]
fn a_huge_argument_hits_the_memory_limit_not_the_host() {
    let host = shipfn_host::Host::new(shipfn_host::Limits { max_memory: 32 << 20, ..Default::default() }).unwrap();
    let wasm = std::fs::read(suite()).unwrap();
    let greeter = host.load(&host.make(&wasm, "greeter", &["hi".into()]).unwrap().to_bytes()).unwrap();
    let huge = format!("\"{}\"", "x".repeat(64 << 20));
    let err = greeter.call_json(&[huge]).unwrap_err();
    assert_eq!(err.kind(), shipfn_host::ErrorKind::ResourceLimit, "{err}");
    assert_eq!(greeter.call_json(&["\"you\"".into()]).unwrap(), "\"hi, you!\"");
}
