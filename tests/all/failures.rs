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
    assert!(err.contains("it has: adder, big_state, big_user, by_name, bytes, checked_div, compose,"), "{err}");
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
    let signature = fn_returning_u8();
    let module = std::fs::read(&wasm).unwrap();
    let source = shipfn_format::Source::Function { name: "lucky".into() };
    let package = shipfn_format::Package::new(source, closure_at(1, 1, 1, signature), module, vec![]);
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
    let limits = shipfn_host::Limits::default().timeout(std::time::Duration::from_millis(200)).max_memory(32 << 20);
    let host = shipfn_host::Host::new(limits).unwrap();
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
    let real = read_package(&golden);
    let m = &real.manifest;
    let reseal = |entry, trampoline, body, state: Vec<u8>| {
        let closure = closure_at(entry, trampoline, body, m.signature.clone());
        shipfn_format::Package::new(m.source.clone(), closure, real.module.clone(), state).to_bytes()
    };
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("swapped-indices", reseal(m.trampoline, m.entry, m.body, real.state.clone())),
        ("index-past-the-table", reseal(m.entry, 100_000, m.body, real.state.clone())),
        ("state-of-another-type", reseal(m.entry, m.trampoline, m.body, vec![0xff; 3])),
    ];
    for (name, bytes) in cases {
        let file = format!("{name}.fnpkg");
        std::fs::write(dir.path().join(&file), bytes).unwrap();
        fails(&shipfn_in(dir.path(), &["run", &file, "--arg", "4"]), 4, "the package does not fit its module");
    }
}

#[test]
fn a_huge_argument_hits_the_memory_limit_not_the_host() {
    let host = shipfn_host::Host::new(shipfn_host::Limits::default().max_memory(32 << 20)).unwrap();
    let wasm = std::fs::read(suite()).unwrap();
    let greeter = host.load(&host.make(&wasm, "greeter", &["hi".into()]).unwrap().to_bytes()).unwrap();
    let huge = format!("\"{}\"", "x".repeat(64 << 20));
    let err = greeter.call_json(&[huge]).unwrap_err();
    assert_eq!(err.kind(), shipfn_host::ErrorKind::ResourceLimit, "{err}");
    assert_eq!(greeter.call_json(&["\"you\"".into()]).unwrap(), "\"hi, you!\"");
}

/// `compose(3)` and `linear(1)` made from the suite module, for forging.
fn compose_and_linear() -> (shipfn_format::Package, shipfn_format::Package) {
    let host = shipfn_host::Host::new(Default::default()).unwrap();
    let wasm = std::fs::read(suite()).unwrap();
    (host.make(&wasm, "compose", &["3".into()]).unwrap(), host.make(&wasm, "linear", &["1".into()]).unwrap())
}

fn reseal(
    real: &shipfn_format::Package,
    trampoline: u32,
    signature: shipfn_host::Signature,
    state: Vec<u8>,
) -> Vec<u8> {
    let m = &real.manifest;
    let closure = closure_at(m.entry, trampoline, m.body, signature);
    shipfn_format::Package::new(m.source.clone(), closure, real.module.clone(), state).to_bytes()
}

#[test]
fn another_closures_trampoline_behind_a_valid_seal_is_refused_by_load_and_verify() {
    let (compose, linear) = compose_and_linear();
    let forged =
        reseal(&compose, linear.manifest.trampoline, compose.manifest.signature.clone(), compose.state.clone());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("forged.fnpkg"), forged).unwrap();
    let wrong = "not one for this closure's argument and result types";
    fails(&shipfn_in(dir.path(), &["verify", "forged.fnpkg"]), 4, wrong);
    fails(&shipfn_in(dir.path(), &["run", "forged.fnpkg", "--arg", "4"]), 4, wrong);
}

#[test]
fn a_manifest_that_claims_other_types_than_its_closure_is_refused() {
    let (compose, _) = compose_and_linear();
    let dir = tempfile::tempdir().unwrap();
    let mut claims_u64 = compose.manifest.signature.clone();
    claims_u64.params[0].ty = "u64".into();
    let mut hides_a_capture = compose.manifest.signature.clone();
    hides_a_capture.captures.pop();
    for (name, signature) in [("u64", claims_u64), ("capture", hides_a_capture)] {
        let file = format!("{name}.fnpkg");
        std::fs::write(
            dir.path().join(&file),
            reseal(&compose, compose.manifest.trampoline, signature, compose.state.clone()),
        )
        .unwrap();
        let err = fails(&shipfn_in(dir.path(), &["verify", &file]), 4, "the manifest says fn(");
        assert!(err.contains("but the module's closure is fn(i64) -> i64"), "{err}");
    }
}

#[test]
fn a_captured_closure_with_a_forged_trampoline_is_refused_at_load() {
    // The state starts with the first captured closure: its trampoline's
    // index as a postcard varint. Put linear's trampoline there.
    let (compose, linear) = compose_and_linear();
    let varint = |mut n: u32| {
        let mut out = vec![];
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    };
    let first = shipfn_host::short_type_name(&compose.manifest.signature.captures[0].ty);
    assert!(first.starts_with("Closure<"), "{:?}", compose.manifest.signature);
    let inner = closure_state(&compose.state);
    let first_len = inner.iter().position(|b| b & 0x80 == 0).unwrap() + 1;
    let mut state = varint(linear.manifest.trampoline);
    state.extend_from_slice(&inner[first_len..]);
    let state = enveloped(&state);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("forged.fnpkg"),
        reseal(&compose, compose.manifest.trampoline, compose.manifest.signature.clone(), state),
    )
    .unwrap();
    fails(
        &shipfn_in(dir.path(), &["run", "forged.fnpkg", "--arg", "4"]),
        4,
        "a captured closure: the state trampoline",
    );
    // Bytes left over after the state mean it was made for other types.
    let mut longer = compose.state.clone();
    longer.push(0);
    std::fs::write(
        dir.path().join("longer.fnpkg"),
        reseal(&compose, compose.manifest.trampoline, compose.manifest.signature.clone(), longer),
    )
    .unwrap();
    fails(&shipfn_in(dir.path(), &["run", "longer.fnpkg", "--arg", "4"]), 4, "1 bytes are left over");
}
