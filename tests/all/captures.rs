//! What the guest SDK can ship: any serde capture, several parameters,
//! composition, recursion, globals, plain functions.

use crate::harness::*;

#[test]
fn captures_of_every_serde_kind_arrive_intact() {
    let p = pack_suite("kitchen_sink", &[r#""bob""#, "0.5"]);
    let out = ok(&p.run(&["--arg", "4"]));
    let text: String = serde_json::from_str(&out).unwrap();
    assert_eq!(
        text,
        r#"bob flag=true count=7 sum=10 a=10 one=one point=(1.5, -2) areas=9 maybe=Some("hi") nothing=None scaled=2"#
    );
    let json = p.inspect_json();
    assert_eq!(json["abi_version"], shipfn_abi::ABI_VERSION, "a fresh guest speaks the current ABI");
    let captured = &json["captured_values"];
    assert_eq!(captured["name"], "bob");
    assert_eq!(captured["table"], serde_json::json!({ "a": 10 }));
    assert_eq!(captured["ordered"], serde_json::json!({ "1": "one", "2": "two" }));
    assert_eq!(captured["shape"], serde_json::json!({ "Rect": [2.0, 3.0] }));
    assert_eq!(captured["circle"], serde_json::json!({ "Circle": { "r": 1.0 } }));
    assert_eq!(captured["nothing"], serde_json::Value::Null);
    let types = capture_types(&json);
    for expected in
        ["table: HashMap<String, i64>", "ordered: BTreeMap<u32, String>", "point: Point", "maybe: Option<String>"]
    {
        assert!(types.iter().any(|t| t == expected), "{expected} not in {types:?}");
    }
}

#[test]
fn byte_and_float_vectors_are_copied_in_bulk_and_still_read_as_json() {
    let p = pack_suite("vectors", &["[1, 2, 255]", "[0.5, -1.25]"]);
    let out: String = serde_json::from_str(&ok(&p.run(&["--arg", "1"]))).unwrap();
    assert_eq!(out, "Some(2) Some(-1.25) Some(0.25) Some(200) 11");
    let json = p.inspect_json();
    let captured = &json["captured_values"];
    assert_eq!(captured["bytes"], serde_json::json!([1, 2, 255]));
    assert_eq!(captured["floats"], serde_json::json!([0.5, -1.25]));
    assert_eq!(captured["singles"], serde_json::json!([0.5, -1.25]));
    assert_eq!(captured["words"], serde_json::json!([100, 200, 25500]));
    assert_eq!(captured["later"], serde_json::json!([]));
    let types = capture_types(&json);
    // In the order the body first names them.
    assert_eq!(
        types,
        ["singles: Vec<f32>", "later: Vec<f64>", "bytes: Vec<u8>", "floats: Vec<f64>", "words: Vec<u16>"]
    );
    ok(&shipfn_in(p.dir.path(), &["verify", p.file.to_str().unwrap()]));
}

#[test]
fn structs_go_in_and_come_out_as_json() {
    let p = pack_suite("mover", &[r#"{"x": 1, "y": 2}"#]);
    let out: serde_json::Value =
        serde_json::from_str(&ok(&p.run(&["--arg", r#"{"x":3,"y":4}"#, "--arg", "2"]))).unwrap();
    assert_eq!(out, serde_json::json!({ "x": 7.0, "y": 10.0 }));
}

#[test]
fn several_parameters_are_taken_in_order() {
    let p = pack_suite("linear", &["10"]);
    assert_eq!(ok(&p.run(&["--arg", "2", "--arg", "5", "--arg", "1"])), "24");
    assert_eq!(ok(&p.run(&["--arg", "1", "--arg", "0", "--arg", "5"])), "5");
}

#[test]
fn strings_bools_and_options_as_parameters() {
    let p = pack_suite("describe", &[]);
    assert_eq!(ok(&p.run(&["--arg", "ab", "--arg", "true", "--arg", "3"])), r#""ABABAB""#);
    assert_eq!(ok(&p.run(&["--arg", r#""a b""#, "--arg", "false", "--arg", "null"])), r#""a b""#);
}

#[test]
fn a_closure_can_capture_and_call_other_closures() {
    let p = pack_suite("compose", &["5"]);
    assert_eq!(ok(&p.run(&["--arg", "4"])), "21");
    let info = ok(&shipfn_in(p.dir.path(), &["inspect", p.file.to_str().unwrap()]));
    assert!(info.contains("scale: Closure<(i64,), i64>"), "{info}");
}

#[test]
fn recursion_runs_inside_shipped_code() {
    let p = pack_suite("fib_from", &["2"]);
    assert_eq!(ok(&p.run(&["--arg", "18"])), "6765");
}

#[test]
fn guests_have_more_shadow_stack_than_rusts_default_mebibyte() {
    // 1500 frames of over 1 KiB each: past Rust's default 1 MiB, inside the 2 MiB + 64 KiB that
    // `shipfn pack` links guests with.
    let p = pack_suite("stack_user", &[]);
    let expected: u64 = (1..=1500u64).map(|level| level % 256).sum();
    assert_eq!(ok(&p.run(&["--arg", "1500"])), expected.to_string());
    // 4000 KiB do not fit: the stack pointer runs below address 0, which the host names.
    fails(&p.run(&["--arg", "4000"]), 7, "stack overflow (the shadow stack in the guest's memory is exhausted)");
}

#[test]
fn globals_set_by_the_maker_are_snapshotted_and_unused_ones_stay_home() {
    let p = pack_suite("greeter", &["bonjour"]);
    assert_eq!(ok(&p.run(&["--arg", "world"])), r#""bonjour, world!""#);
    // BIG (1 MiB, set by the same maker) is read by no code of the closure.
    let package = read_package(&std::fs::read(&p.file).unwrap());
    assert!(package.state.len() < 256, "state is {} bytes", package.state.len());
    let inspected = p.inspect_json();
    // GREETING is named in the body, so the closure's own state carries it.
    assert_eq!(inspected["shipped_globals"], serde_json::json!([]), "{inspected}");
    assert_eq!(inspected["withheld_globals"], 1);
    let globals: Vec<&str> = package.manifest.signature.globals.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(globals, ["GREETING"], "PUNCTUATION is a const, not a Global");

    // A closure that does name BIG ships its snapshot.
    let big = pack_suite("big_user", &["100000"]);
    assert_eq!(ok(&big.run(&[])), "100000");
    let package = read_package(&std::fs::read(&big.file).unwrap());
    assert!(package.state.len() >= 100_000, "state is {} bytes", package.state.len());
}

#[test]
fn plain_exported_functions_pack_with_fn() {
    let p = pack_with(&["--fn", "add"], &[]);
    assert_eq!(ok(&p.run(&["--arg", "2", "--arg", "40"])), "42");
    let info = ok(&shipfn_in(p.dir.path(), &["inspect", p.file.to_str().unwrap()]));
    assert!(info.contains("fn(a: i64, b: i64) -> i64"), "{info}");
    assert!(info.contains("captures    (none)"), "{info}");
}

#[test]
fn a_fallible_closure_returns_its_ok_value() {
    let p = pack_suite("checked_div", &["7"]);
    assert_eq!(ok(&p.run(&["--arg", "2"])), "3");
}

#[test]
fn a_state_larger_than_the_result_limit_still_packs_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite().to_str().unwrap();
    let out = shipfn_in(
        dir.path(),
        &["pack", suite, "--make", "big_state", "--arg", "2", "--max-result", "64KiB", "-o", "big.fnpkg"],
    );
    ok(&out);
    let package = read_package(&std::fs::read(dir.path().join("big.fnpkg")).unwrap());
    assert!(package.state.len() >= 2 << 20, "state is {} bytes", package.state.len());
    let result: (usize, f64) = serde_json::from_str(&ok(&shipfn_in(dir.path(), &["run", "big.fnpkg"]))).unwrap();
    assert_eq!(result, (2 << 20, 15.0));
}

#[test]
fn a_large_forged_state_is_refused_before_the_closure_runs() {
    // Load decodes states of up to 1 MiB; a larger one is decoded by the
    // first call, and by `verify`, which both refuse one that does not fit.
    let dir = tempfile::tempdir().unwrap();
    let suite = suite().to_str().unwrap();
    ok(&shipfn_in(dir.path(), &["pack", suite, "--make", "big_state", "--arg", "2", "-o", "big.fnpkg"]));
    let mut package = read_package(&std::fs::read(dir.path().join("big.fnpkg")).unwrap());
    assert!(package.state.len() > shipfn_host::VALIDATE_STATE_UP_TO);
    let cut = package.state.len() - 1000;
    package.state.truncate(cut);
    let m = package.manifest.clone();
    let forged = shipfn_format::Package::new(m.source.clone(), m.closure(), package.module, package.state);
    std::fs::write(dir.path().join("forged.fnpkg"), forged.to_bytes()).unwrap();
    fails(&shipfn_in(dir.path(), &["run", "forged.fnpkg"]), 4, "captured state does not decode");
    fails(&shipfn_in(dir.path(), &["verify", "forged.fnpkg"]), 4, "captured state does not decode");
}

#[test]
fn a_global_the_closure_sets_itself_is_read_and_a_plain_function_reads_its_own() {
    // A global the closure sets itself may be read; a plain function has no
    // sender-side state and reads the global's own value.
    assert_eq!(ok(&pack_suite("scaled_by_itself", &[]).run(&["--arg", "5", "--arg", "3"])), "15");
    assert_eq!(ok(&pack_with(&["--fn", "scaled_plain"], &[]).run(&["--arg", "3"])), "3");
    // Named in the body, a global is also in the closure's own state.
    let p = pack_suite("scaled_by_named", &["7"]);
    assert_eq!(capture_types(&p.inspect_json()), Vec::<String>::new());
    assert_eq!(p.inspect_json()["global_values"], serde_json::json!({ "SCALE": 7 }));
}
