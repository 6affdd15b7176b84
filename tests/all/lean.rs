//! Guests built without JSON: the host converts JSON arguments, results
//! and captured state itself, and must write what the guest's own serde
//! would. The same source is built both ways (`tests/guests/lean` and
//! `lean-json`) and every answer compared.

use crate::harness::{Packed, fails, lean, lean_json, ok, pack_module, shipfn_in, stderr};

/// Packs maker `maker` with `args` from both builds.
fn pack_both(maker: &str, args: &[&str]) -> [Packed; 2] {
    [pack_module(lean(), &["--make", maker], args), pack_module(lean_json(), &["--make", maker], args)]
}

/// Runs both packages with `args` and returns the one stdout they share.
#[track_caller]
fn same_answer(packed: &[Packed; 2], args: &[&str]) -> String {
    let run = |p: &Packed| {
        let mut all = Vec::new();
        for a in args {
            all.extend(["--arg", a]);
        }
        ok(&p.run(&all))
    };
    let (host, guest) = (run(&packed[0]), run(&packed[1]));
    assert_eq!(host, guest, "the host's JSON differs from the guest's for {args:?}");
    host
}

#[test]
fn a_guest_without_json_answers_as_the_same_guest_with_json() {
    let mixer = pack_both("mixer", &["w", "[0.5, 0.25]", r#"{"a": 2}"#, "true"]);
    assert_eq!(
        same_answer(&mixer, &[r#"{"a": 5, "b": 1}"#, r#"[-3, "é"]"#, "[7, 8, 9]"]),
        r#"["w -3 é",{"a":2,"b":1},1.125,340282366920938463463374607431768211448]"#
    );
    // The captured state and the global, as `inspect` shows them.
    let [lean_info, json_info] = [mixer[0].inspect_json(), mixer[1].inspect_json()];
    assert_eq!(lean_info["captured_values"], json_info["captured_values"]);
    assert_eq!(
        lean_info["captured_values"],
        serde_json::json!({ "label": "w", "weights": [0.5, 0.25], "limits": { "a": 2 }, "flag": true })
    );
    assert_eq!(lean_info["global_values"], serde_json::json!({ "SCALE": 1.5 }));
    assert_eq!(lean_info["global_values"], json_info["global_values"]);
    assert_eq!(lean_info["signature"], json_info["signature"]);
    assert_eq!(lean_info["captures"], json_info["captures"]);

    // (Not an empty `weights`: its sum is -0.0, which serde_json writes as
    // `0.0` on wasm32 and as `-0.0` on the host.)
    let mixer = pack_both("mixer", &["\"x\"", "[2.5e-1]", "{}", "null"]);
    assert_eq!(same_answer(&mixer, &["{}", r#"[0, "a"]"#, "[1, 2, 3]"]), r#"["x 0 a",{},0.375,null]"#);

    let keeper = pack_both("keeper", &["2"]);
    assert_eq!(same_answer(&keeper, &["[1, 3, 2]", "[null, 5, 1]"]), "[2,3,5]");
    for p in &pack_both("keeper", &["10"]) {
        fails(&p.run(&["--arg", "[1]", "--arg", "[]"]), 6, "the function returned an error: nothing is at least 10");
    }

    let chooser = pack_both("chooser", &["0.5"]);
    assert_eq!(same_answer(&chooser, &[r#"{"Ok": 1}"#, "[1, 2]"]), r#"[{"Ok":3.5},null]"#);
    assert_eq!(same_answer(&chooser, &[r#"{"Err": "no"}"#, "[]"]), r#"[{"Err":"no!"},null]"#);

    // Wrong arguments are refused alike, naming the parameter.
    for p in &mixer {
        fails(&p.run(&["--arg", "{}", "--arg", r#"[300, "a"]"#, "--arg", "[1, 2, 3]"]), 5, "argument 2 `pair`");
        fails(&p.run(&["--arg", "{}", "--arg", r#"[1, "a"]"#, "--arg", "[1, 2]"]), 5, "argument 3 `dims`");
        fails(&p.run(&["--arg", "{}"]), 5, "expected 3 argument(s)");
    }
    let out = shipfn_in(mixer[0].dir.path(), &["pack", lean().to_str().unwrap(), "--make", "mixer", "--arg", "x"]);
    fails(&out, 5, "expected 4 argument(s), got 1 (the maker takes (label: String, weights: Vec<f32>");
    let out = shipfn_in(mixer[0].dir.path(), &["pack", lean().to_str().unwrap(), "--make", "keeper", "--arg", "1.5"]);
    fails(&out, 5, "`min`");
}

#[test]
fn a_returned_closure_of_a_guest_without_json_is_shown_and_saved() {
    let adder = pack_both("adder", &["1"]);
    assert_eq!(same_answer(&adder, &["2"]), r#"{"closure":"fn(i64,) -> i64","state_len":1}"#);
    let dir = adder[0].dir.path();
    let file = adder[0].file.to_str().unwrap();
    ok(&shipfn_in(dir, &["run", file, "--arg", "2", "-o", "add3.fnpkg"]));
    assert_eq!(ok(&shipfn_in(dir, &["run", "add3.fnpkg", "--arg", "4"])), "7");
}

#[test]
fn a_json_call_of_a_type_the_host_does_not_know_is_refused_by_its_whole_name() {
    let [lean_shifter, json_shifter] = pack_both("shifter", &["1"]);
    let point = r#"{"x": 2, "y": 3}"#;
    let err = fails(&lean_shifter.run(&["--arg", point]), 5, "parameter `p` of type `lean::Point`");
    assert!(err.contains("`json` feature"), "{err}");
    assert_eq!(ok(&json_shifter.run(&["--arg", point])), "6");

    // A map is refused before any input, with nothing written.
    let dir = lean_shifter.dir.path();
    std::fs::write(dir.join("points.jsonl"), format!("[{point}]\n[{point}]\n")).unwrap();
    let file = lean_shifter.file.to_str().unwrap();
    let out = shipfn_in(dir, &["map", file, "--input", "points.jsonl"]);
    fails(&out, 5, "parameter `p` of type `lean::Point`");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    let json_file = json_shifter.file.to_str().unwrap();
    let out = shipfn_in(dir, &["map", json_file, "--input", "points.jsonl"]);
    assert_eq!(ok(&out), "{\"ok\":6}\n{\"ok\":6}");

    // A user's type named like std's is not taken for std's.
    let [lean_impostor, json_impostor] = pack_both("impostor", &[]);
    fails(&lean_impostor.run(&["--arg", "5"]), 5, "of type `lean::mine::String`");
    assert_eq!(ok(&json_impostor.run(&["--arg", "5"])), "6");

    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", lean().to_str().unwrap(), "--make", "from_point", "--arg", point]);
    fails(&out, 5, "`lean::Point`");
    let out = shipfn_in(dir.path(), &["pack", lean_json().to_str().unwrap(), "--make", "from_point", "--arg", point]);
    ok(&out);
    assert!(!stderr(&out).contains("lean::Point"));
}

#[test]
fn leaving_json_out_makes_the_module_much_smaller() {
    let [lean_mixer, json_mixer] = pack_both("keeper", &["1"]);
    let size = |p: &Packed| p.inspect_json()["module"]["size"].as_u64().unwrap();
    let (lean_size, json_size) = (size(&lean_mixer), size(&json_mixer));
    assert!(lean_size + 40_000 < json_size, "without JSON {lean_size} B, with it {json_size} B");
}

/// A host's copy of the lean guest's `mine::String`: the same type by name.
mod mine {
    #[derive(serde::Serialize)]
    pub struct String(pub i64);
}

#[test]
fn a_typed_call_tells_a_users_type_from_stds_of_the_same_name() {
    let host = shipfn_host::Host::new(shipfn_host::Limits::default()).unwrap();
    let wasm = std::fs::read(lean()).unwrap();
    let impostor = host.load(&host.make(&wasm, "impostor", &[]).unwrap().to_bytes()).unwrap();
    // postcard would take std's "x" for `mine::String(-1)`: refused before the call.
    let err = impostor.call::<(String,), i64>(&("x".into(),)).unwrap_err().to_string();
    assert!(err.contains("the function takes (lean::mine::String) -> i64"), "{err}");
    assert!(impostor.call::<(&str,), i64>(&("x",)).is_err());
    assert_eq!(impostor.call::<(mine::String,), i64>(&(mine::String(41),)).unwrap(), 42);

    let keeper = host.load(&host.make(&wasm, "keeper", &["2".into()]).unwrap().to_bytes()).unwrap();
    type Kept = std::collections::BTreeSet<i64>;
    let extra: std::collections::VecDeque<Option<i64>> = [None, Some(4)].into();
    let kept = keeper.call::<(&[i64], &std::collections::VecDeque<Option<i64>>), Kept>(&(&[1, 3], &extra));
    assert_eq!(kept.unwrap().into_iter().collect::<Vec<_>>(), [3, 4]);
    // A `Vec` is encoded as a `VecDeque` is, but it is not the closure's type.
    let vec_extra: Vec<Option<i64>> = vec![Some(4)];
    assert!(keeper.call::<(&[i64], Vec<Option<i64>>), Kept>(&(&[1], vec_extra)).is_err());
}
