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
fn a_guests_own_types_convert_by_the_schema_it_traced() {
    let [lean_shifter, json_shifter] = pack_both("shifter", &["1"]);
    let point = r#"{"x": 2, "y": 3}"#;
    assert_eq!(same_answer(&[lean_shifter, json_shifter], &[point]), "6");
    let [lean_shifter, json_shifter] = pack_both("shifter", &["1"]);
    for p in [&lean_shifter, &json_shifter] {
        fails(&p.run(&["--arg", r#"{"x": 2}"#]), 5, "missing field `y`");
    }

    // A map and the service read struct arguments alike.
    let dir = lean_shifter.dir.path();
    std::fs::write(dir.join("points.jsonl"), format!("[{point}]\n[{{\"y\": 1, \"x\": 4, \"z\": 0}}]\n")).unwrap();
    for p in [&lean_shifter, &json_shifter] {
        let out = shipfn_in(dir, &["map", p.file.to_str().unwrap(), "--input", "points.jsonl"]);
        assert_eq!(ok(&out), "{\"ok\":6}\n{\"ok\":6}");
    }

    // A user's type named like std's is its own type.
    let impostor = pack_both("impostor", &[]);
    assert_eq!(same_answer(&impostor, &["5"]), "6");

    // A maker's own parameters are converted only for std types.
    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", lean().to_str().unwrap(), "--make", "from_point", "--arg", point]);
    fails(&out, 5, "`lean::Point`");
    let out = shipfn_in(dir.path(), &["pack", lean_json().to_str().unwrap(), "--make", "from_point", "--arg", point]);
    ok(&out);
    assert!(!stderr(&out).contains("lean::Point"));
}

#[test]
fn structs_and_enums_in_out_captured_and_global_answer_as_with_json() {
    let alerter = pack_both("alerter", &["20", "30"]);
    let reading = r#"{"sensor": "s1", "celsius": 35, "ts": 3}"#;
    let past = r#"[{"sensor": "s1", "celsius": 25, "ts": 1}, ["s1", 5, 2]]"#;
    assert_eq!(
        same_answer(&alerter, &[reading, past, "null"]),
        r#"{"sensor":"s1","fahrenheit":95.0,"level":{"Alarm":{"by":5.0,"note":null}},"history":[[1,{"Warn":5.0}],[2,"Normal"]]}"#
    );
    let overrides = r#"{"s1": [{"alarm": 100, "warn": 0}, 3]}"#;
    assert_eq!(
        same_answer(&alerter, &[reading, "[]", overrides]),
        r#"{"sensor":"s1","fahrenheit":95.0,"level":{"Warn":35.0},"history":[]}"#
    );
    let [lean_info, json_info] = [alerter[0].inspect_json(), alerter[1].inspect_json()];
    assert_eq!(lean_info["captured_values"], serde_json::json!({ "limits": { "warn": 20.0, "alarm": 30.0 } }));
    assert_eq!(lean_info["captured_values"], json_info["captured_values"]);
    assert_eq!(lean_info["global_values"], serde_json::json!({ "UNIT": "Fahrenheit" }));
    assert_eq!(lean_info["global_values"], json_info["global_values"]);
    assert_eq!(lean_info["types"], json_info["types"]);
    let types = lean_info["types"].as_array().unwrap();
    assert!(types.contains(&"struct Reading { sensor: String, celsius: f64, ts: u64 }".into()), "{types:?}");
    assert!(
        types.contains(&"enum Level { Normal, Warn(f64), Alarm { by: f64, note: Option<String> } }".into()),
        "{types:?}"
    );
    let text = ok(&shipfn_in(alerter[0].dir.path(), &["inspect", alerter[0].file.to_str().unwrap()]));
    assert!(text.contains("types       struct Reading { sensor: String, celsius: f64, ts: u64 }"), "{text}");

    // Wrong values are refused alike, naming the parameter.
    for p in &alerter {
        fails(
            &p.run(&["--arg", r#"{"sensor": "s1", "celsius": "hot", "ts": 3}"#, "--arg", "[]", "--arg", "null"]),
            5,
            "argument 1 `reading`",
        );
        fails(
            &p.run(&["--arg", reading, "--arg", "[]", "--arg", r#"{"s1": [{"warn": 1}, 3]}"#]),
            5,
            "missing field `alarm`",
        );
        fails(
            &p.run(&[
                "--arg",
                reading,
                "--arg",
                r#"[{"sensor": "s", "celsius": 1, "ts": 1, "ts": 2}]"#,
                "--arg",
                "null",
            ]),
            5,
            "duplicate field `ts`",
        );
    }

    let leveler = pack_both("leveler", &["true"]);
    assert_eq!(
        same_answer(&leveler, &[r#"{"Alarm": {"by": 1.5, "note": null}}"#]),
        r#"[{"Alarm":{"by":1.5,"note":null}},true]"#
    );
    assert_eq!(same_answer(&leveler, &[r#""Normal""#]), r#"[{"Alarm":{"by":1.5,"note":null}},false]"#);
    assert_eq!(same_answer(&leveler, &[r#"{"Warn": 2}"#]), r#"[{"Alarm":{"by":1.5,"note":null}},false]"#);
    for p in &leveler {
        fails(&p.run(&["--arg", r#""Loud""#]), 5, "unknown variant `Loud`");
    }
}

#[test]
fn a_type_that_cannot_be_traced_is_named_when_packed_and_when_called() {
    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", lean().to_str().unwrap(), "--make", "nonzero", "-o", "nz.fnpkg"]);
    let err = stderr(ok_out(&out));
    assert!(err.contains("warning: this package can be called only with typed postcard arguments"), "{err}");
    assert!(err.contains("`n` of type `core::num::nonzero::NonZero<u32>`"), "{err}");
    let out = shipfn_in(dir.path(), &["run", "nz.fnpkg", "--arg", "3"]);
    fails(&out, 5, "refused the tracer's sample values");
    // The same type in a guest with JSON: no warning, and it answers.
    let out = shipfn_in(dir.path(), &["pack", lean_json().to_str().unwrap(), "--make", "nonzero", "-o", "nzj.fnpkg"]);
    assert!(!stderr(ok_out(&out)).contains("warning"));
    assert_eq!(ok(&shipfn_in(dir.path(), &["run", "nzj.fnpkg", "--arg", "3"])), "6");
    // Typed calls cannot be checked against an untraced type either.
    let host = shipfn_host::Host::new(shipfn_host::Limits::default()).unwrap();
    let wasm = std::fs::read(lean()).unwrap();
    let f = host.load(&host.make(&wasm, "nonzero", &[]).unwrap().to_bytes()).unwrap();
    let err =
        f.call::<(std::num::NonZeroU32,), u32>(&(std::num::NonZeroU32::new(3).unwrap(),)).unwrap_err().to_string();
    assert!(err.contains("could not be traced"), "{err}");
}

/// The output of a command that must succeed.
#[track_caller]
fn ok_out(out: &std::process::Output) -> &std::process::Output {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
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
