//! A closure that returns a closure: `run … -o FILE` saves the returned
//! closure as a package, which runs in another process and directory.

use crate::harness::{Packed, fails, ok, pack_suite, shipfn_in, stderr};

#[test]
fn a_returned_closure_is_saved_as_a_package_that_runs_elsewhere() {
    let packed = pack_suite("adder", &["3"]);
    let dir = packed.dir.path();
    let file = packed.file.to_str().unwrap();
    // Without -o: the summary, and how to save it.
    let out = shipfn_in(dir, &["run", file, "--arg", "4"]);
    assert_eq!(ok(&out), r#"{"closure":"fn(i64,) -> i64","state_len":2}"#);
    assert!(stderr(&out).contains("`-o FILE` saves it as a package"), "{}", stderr(&out));

    let out = shipfn_in(dir, &["run", file, "--arg", "4", "-o", "add7.fnpkg"]);
    assert_eq!(ok(&out), "", "nothing on standard output");
    let said = stderr(&out);
    assert!(said.contains("saved the returned closure adder(3)(4) → add7.fnpkg (fn(y: i64) -> i64;"), "{said}");

    // A receiver with nothing but the file and its own cache.
    let receiver = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("add7.fnpkg"), receiver.path().join("add7.fnpkg")).unwrap();
    let run = |x: &str| {
        let mut command = crate::harness::shipfn();
        command.current_dir(receiver.path()).env("SHIPFN_CACHE_DIR", receiver.path().join("cache"));
        command.args(["run", "add7.fnpkg", "--arg", x]).output().unwrap()
    };
    assert_eq!(ok(&run("5")), "12");
    assert_eq!(ok(&run("-10")), "-3");
    let info = ok(&shipfn_in(receiver.path(), &["inspect", "--json", "add7.fnpkg"]));
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    assert_eq!(info["made_by"], "adder(3)(4)");
    assert_eq!(info["abi_version"], shipfn_abi::ABI_VERSION);
}

#[test]
fn a_returned_fallible_closure_saves_thin_and_keeps_its_errors() {
    let packed = pack_suite("divider", &["1"]);
    let dir = packed.dir.path();
    let file = packed.file.to_str().unwrap();
    ok(&shipfn_in(dir, &["run", file, "--arg", "9", "-o", "d10.fnpkg", "--thin"]));
    let size = std::fs::metadata(dir.join("d10.fnpkg")).unwrap().len();
    assert!(size < 400, "a thin returned closure is {size} B");
    assert_eq!(ok(&shipfn_in(dir, &["run", "d10.fnpkg", "--arg", "3"])), "3");
    fails(&shipfn_in(dir, &["run", "d10.fnpkg", "--arg", "0"]), 6, "the function returned an error: 10 / 0");
}

#[test]
fn only_a_returned_closure_can_be_saved() {
    let packed = pack_suite("mapper", &["3"]);
    let dir = packed.dir.path();
    let file = packed.file.to_str().unwrap();
    fails(
        &shipfn_in(dir, &["run", file, "--arg", "2", "-o", "x.fnpkg"]),
        5,
        "the closure returns Result<i64, String>, not a closure",
    );
    assert!(!dir.join("x.fnpkg").exists());
    // Wrong arguments are the call's own errors, and nothing is written.
    let adder = pack_suite("adder", &["3"]);
    let adder_file = adder.file.to_str().unwrap();
    fails(
        &shipfn_in(adder.dir.path(), &["run", adder_file, "--arg", "x", "-o", "y.fnpkg"]),
        5,
        "argument 1 `x` expects i64",
    );
    assert!(!adder.dir.path().join("y.fnpkg").exists());
}

/// Runs `packed` with each of `args` in turn, saving the returned closure
/// each time, each level in a clean directory of its own from the file
/// alone; the last package saved, alone in a clean directory, as `name`.
fn save_level_by_level(packed: &Packed, args: &[&str], name: &str) -> tempfile::TempDir {
    let mut from = packed.file.clone();
    let mut dirs = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&from, dir.path().join("in.fnpkg")).unwrap();
        let out = shipfn_in(dir.path(), &["run", "in.fnpkg", "--arg", arg, "-o", "out.fnpkg"]);
        assert_eq!(ok(&out), "", "level {}", i + 1);
        from = dir.path().join("out.fnpkg");
        dirs.push(dir);
    }
    let last = tempfile::tempdir().unwrap();
    std::fs::copy(&from, last.path().join(name)).unwrap();
    last
}

fn inspected(dir: &std::path::Path, name: &str) -> serde_json::Value {
    serde_json::from_str(&ok(&shipfn_in(dir, &["inspect", "--json", name]))).unwrap()
}

#[test]
fn returned_closures_three_levels_down_are_saved_and_run_level_by_level() {
    let last = save_level_by_level(&pack_suite("stacker", &["1000"]), &["100", "10"], "h.fnpkg");
    assert_eq!(ok(&shipfn_in(last.path(), &["run", "h.fnpkg", "--arg", "1"])), "1111");
    let info = inspected(last.path(), "h.fnpkg");
    assert_eq!(info["made_by"], "stacker(1000)(100)(10)");
    assert_eq!(info["signature"], "fn(c: i64) -> i64");
}

#[test]
fn four_levels_of_closures_are_saved_and_a_fifth_is_refused_with_a_reason() {
    let last = save_level_by_level(&pack_suite("stacker5", &["10000"]), &["1000", "100", "10"], "d.fnpkg");
    assert_eq!(inspected(last.path(), "d.fnpkg")["made_by"], "stacker5(10000)(1000)(100)(10)");
    let err = fails(
        &shipfn_in(last.path(), &["run", "d.fnpkg", "--arg", "1", "-o", "e.fnpkg"]),
        4,
        "cannot pack the closure: this closure is the fourth level below its maker's",
    );
    assert!(err.contains("can be run here but not saved"), "{err}");
    assert!(!last.path().join("e.fnpkg").exists());
}

#[test]
fn a_returned_closure_that_reads_a_global_its_maker_withheld_is_refused() {
    // LATER is set by the maker and read only by the returned closure's
    // code, which the outer closure's package does not follow: saving the
    // returned closure says which global is missing rather than let it read
    // its initial value.
    let packed = pack_suite("offset_later", &["5"]);
    let dir = packed.dir.path();
    let file = packed.file.to_str().unwrap();
    let err = fails(&shipfn_in(dir, &["run", file, "--arg", "1", "-o", "g.fnpkg"]), 4, "`Global<i64>` declared at");
    assert!(err.contains("did not carry it"), "{err}");
    assert!(!dir.join("g.fnpkg").exists());
}
