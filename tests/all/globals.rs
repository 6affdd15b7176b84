//! Globals follow the code: a closure carries every global that code it
//! can run reads and the sender gave a value, found in the module when it
//! is packed. Each package is run in another, clean directory.

use crate::harness::*;

/// A package moved to a clean directory of its own, as a receiver gets it.
struct Received {
    dir: tempfile::TempDir,
}

impl Received {
    fn of(packed: &Packed) -> Received {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy(&packed.file, dir.path().join("g.fnpkg")).expect("copy the package");
        Received { dir }
    }

    fn shipfn(&self, args: &[&str]) -> std::process::Output {
        shipfn_in(self.dir.path(), args)
    }

    fn run(&self, args: &[&str]) -> String {
        let mut all = vec!["run", "g.fnpkg"];
        all.extend_from_slice(args);
        ok(&self.shipfn(&all))
    }
}

/// `(type, declared file, read_by)` of each global a package ships.
fn shipped(packed: &Packed) -> Vec<(String, String)> {
    let json = packed.inspect_json();
    let globals = json["shipped_globals"].as_array().expect("a shipped_globals array");
    globals
        .iter()
        .map(|g| (g["type"].as_str().unwrap().to_owned(), g["read_by"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn a_global_read_only_in_helpers_ships_by_itself() {
    // SCALE is read one helper below the body, OFFSET two.
    let one = pack_suite("scaled_by", &["7"]);
    assert_eq!(Received::of(&one).run(&["--arg", "3"]), "21");
    assert_eq!(shipped(&one), [("i64".to_owned(), "helper".to_owned())]);
    let two = pack_suite("offset_deep", &["5"]);
    assert_eq!(Received::of(&two).run(&["--arg", "1"]), "12");
    let text = ok(&shipfn_in(two.dir.path(), &["inspect", two.file.to_str().unwrap()]));
    assert!(text.contains("ships       Global<i64> declared at src/lib.rs:"), "{text}");
    assert!(text.contains("(code the closure calls reads it)"), "{text}");
    let verified = ok(&shipfn_in(two.dir.path(), &["verify", two.file.to_str().unwrap()]));
    assert!(verified.contains("ships       Global<i64> declared at src/lib.rs:"), "{verified}");
}

#[test]
fn a_function_passed_by_name_is_captured_without_bytes_and_its_globals_ship() {
    // `map(scaled)` and `map(square)`: a function and a closure without
    // captures travel as their code; `scaled` reads SCALE, which ships.
    let p = pack_suite("by_name", &["2"]);
    assert_eq!(Received::of(&p).run(&["--arg", "3"]), "56");
    assert_eq!(shipped(&p), [("i64".to_owned(), "helper".to_owned())]);
    assert_eq!(p.inspect_json()["captured_values"], serde_json::json!({ "scaled": null, "square": null }));
    let types = capture_types(&p.inspect_json());
    assert_eq!(types, ["scaled: fn scaled", "square: closure without captures"]);
}

#[test]
fn a_global_read_only_by_another_globals_initializer_ships() {
    // The closure reads DOUBLE_OFFSET, which the sender never set: it starts
    // from its initializer on the receiver, which reads OFFSET, which the
    // sender set.
    let p = pack_suite("double_offset", &["5"]);
    assert_eq!(Received::of(&p).run(&["--arg", "1"]), "11");
    assert_eq!(shipped(&p), [("i64".to_owned(), "helper".to_owned())]);
}

#[test]
fn a_global_read_by_a_helper_of_a_captured_closure_ships() {
    let p = pack_suite("scaled_inside", &["7"]);
    assert_eq!(Received::of(&p).run(&["--arg", "3"]), "22");
    assert_eq!(shipped(&p).len(), 1);
}

#[test]
fn a_global_the_sender_never_set_reads_its_initial_value_and_is_not_shipped() {
    let p = pack_suite("unset_reader", &[]);
    assert_eq!(Received::of(&p).run(&["--arg", "2"]), "42");
    assert_eq!(shipped(&p), []);
    assert_eq!(p.inspect_json()["withheld_globals"], 0);
}

#[test]
fn the_old_workaround_of_naming_the_global_in_the_body_still_works() {
    // Named in the body, the global travels in the closure's own state,
    // once.
    let p = pack_suite("scaled_by_named", &["7"]);
    assert_eq!(Received::of(&p).run(&["--arg", "3"]), "21");
    assert_eq!(shipped(&p), []);
    assert_eq!(p.inspect_json()["global_values"], serde_json::json!({ "SCALE": 7 }));
}

#[test]
fn a_global_that_must_ship_but_cannot_is_refused_at_pack_time_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let suite = suite().to_str().unwrap();
    for (maker, why) in [("local_reader", "its type has no serde impls"), ("side_reader", "data holds a pointer to it")]
    {
        let out = shipfn_in(dir.path(), &["pack", suite, "--make", maker, "--arg", "4", "-o", "x.fnpkg"]);
        let err = fails(&out, 4, "cannot pack the closure: the global `Global<");
        assert!(err.contains("declared at src/lib.rs:"), "{err}");
        assert!(err.contains(why), "{err}");
        assert!(!dir.path().join("x.fnpkg").exists(), "nothing is written");
    }
}

#[test]
fn a_warm_instance_and_a_map_see_the_shipped_value_on_every_call() {
    let host = shipfn_host::Host::new(Default::default()).unwrap();
    let wasm = std::fs::read(suite()).unwrap();
    let function = host.load(&host.make(&wasm, "offset_deep", &["5".into()]).unwrap().to_bytes()).unwrap();
    let mut warm = function.warm();
    for x in 0..4i64 {
        assert_eq!(warm.call::<(i64,), i64>(&(x,)).unwrap(), 2 * (x + 5));
    }
    let p = pack_suite("offset_deep", &["5"]);
    let received = Received::of(&p);
    let input: String = (0..500).map(|x| format!("[{x}]\n")).collect();
    std::fs::write(received.dir.path().join("in.jsonl"), input).unwrap();
    let out = ok(&received.shipfn(&["map", "g.fnpkg", "--input", "in.jsonl", "-q"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 500);
    for (x, line) in lines.iter().enumerate() {
        assert_eq!(*line, format!(r#"{{"ok":{}}}"#, 2 * (x as i64 + 5)), "input {x}");
    }
}

#[test]
fn the_analysis_holds_for_every_optimization_of_the_guest() {
    // LLVM names a static differently at each setting (an `i32.const`, a
    // load offset, a helper inlined or not): the cases above, on the suite
    // built at opt-level 3 and "s", with and without LTO (its own profile
    // is "s" with LTO).
    let host = shipfn_host::Host::new(Default::default()).unwrap();
    for (name, opt, lto) in [("o3-lto", "3", "true"), ("o3", "3", "false"), ("os", "\"s\"", "false")] {
        let config = vec![format!("profile.release.opt-level={opt}"), format!("profile.release.lto={lto}")];
        let wasm = std::fs::read(build_guest_with("tests/guests/suite", name, config)).unwrap();
        let call = |maker: &str, args: &[&str], x: i64| -> i64 {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            let package = host.make(&wasm, maker, &args).unwrap_or_else(|e| panic!("{name}: {maker}: {e}"));
            host.load(&package.to_bytes()).unwrap().call::<(i64,), i64>(&(x,)).unwrap()
        };
        assert_eq!(call("scaled_by", &["7"], 3), 21, "{name}");
        assert_eq!(call("offset_deep", &["5"], 1), 12, "{name}");
        assert_eq!(call("scaled_inside", &["7"], 3), 22, "{name}");
        assert_eq!(call("unset_reader", &[], 2), 42, "{name}");
        let greeter = host.make(&wasm, "greeter", &[r#""hi""#.into()]).unwrap();
        let verified = shipfn_format::VerifiedPackage::from_bytes(&greeter.to_bytes()).unwrap();
        let (carried, withheld) = shipfn_host::carried_globals(&verified).unwrap();
        assert_eq!((carried.len(), withheld), (0, 1), "{name}: BIG is withheld");
        assert!(greeter.state.len() < 256, "{name}: {} B", greeter.state.len());
        for maker in ["local_reader", "side_reader"] {
            let err = host.make(&wasm, maker, &["4".into()]).unwrap_err();
            assert_eq!(err.kind(), shipfn_host::ErrorKind::BadPackage, "{name}: {maker}: {err}");
            assert!(err.to_string().contains("declared at src/lib.rs:"), "{name}: {maker}: {err}");
        }
    }
}

#[test]
fn a_forged_shipped_global_is_an_error_not_a_value() {
    // The envelope names a global by address and carries its postcard bytes:
    // an address where the module has no global, or bytes that are not the
    // global's type, are refused by the call.
    let p = pack_suite("offset_deep", &["5"]);
    let package = read_package(&std::fs::read(&p.file).unwrap());
    let envelope: shipfn_abi::Envelope<'_> = postcard::from_bytes(&package.state).unwrap();
    assert_eq!(envelope.globals.len(), 1);
    let m = &package.manifest;
    let forge = |name: &str, edit: &dyn Fn(&mut shipfn_abi::ShippedGlobal<'_>)| {
        let mut forged = envelope.clone();
        edit(&mut forged.globals[0]);
        let state = postcard::to_allocvec(&forged).unwrap();
        let bytes =
            shipfn_format::Package::new(m.source.clone(), m.closure(), package.module.clone(), state).to_bytes();
        std::fs::write(p.dir.path().join(name), bytes).unwrap();
    };
    forge("addr.fnpkg", &|g| g.addr = 8);
    forge("value.fnpkg", &|g| g.value = &[]);
    let run = |name: &str| shipfn_in(p.dir.path(), &["run", name, "--arg", "1"]);
    fails(&run("addr.fnpkg"), 4, "the package names a global at address 8, where this module has none");
    fails(&run("value.fnpkg"), 4, "the shipped value of `Global<i64>` declared at src/lib.rs:");
}
