//! The command line itself: help, usage errors, toolchain errors.

use crate::harness::*;

#[test]
fn help_documents_commands_and_exit_codes() {
    let help = ok(&shipfn().arg("--help").output().unwrap());
    for needle in ["pack", "run", "inspect", "Exit codes:", "8  the time limit or fuel ran out"] {
        assert!(help.contains(needle), "--help lacks {needle:?}");
    }
    let help = ok(&shipfn().args(["run", "--help"]).output().unwrap());
    for needle in ["--arg <JSON>", "--timeout", "--max-memory", "--fuel"] {
        assert!(help.contains(needle), "run --help lacks {needle:?}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", "x.wasm"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = shipfn_in(dir.path(), &["run", "x.fnpkg", "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));
}

#[test]
fn no_toolchain_is_a_clear_build_error() {
    let dir = tempfile::tempdir().unwrap();
    let crate_dir = repo().join("examples/closure");
    let out = shipfn()
        .current_dir(dir.path())
        .args(["pack", crate_dir.to_str().unwrap(), "--make", "closure_maker", "--arg", "3"])
        .env("SHIPFN_CARGO", "/nonexistent/cargo")
        .output()
        .unwrap();
    let err = fails(&out, 10, "no Rust toolchain that can build wasm32-unknown-unknown");
    assert!(err.contains("rustup target add wasm32-unknown-unknown"), "{err}");
    assert!(err.contains("apt-get install rustc-web rust-web-src lld-22"), "{err}");
}

#[test]
fn a_directory_that_is_not_a_crate_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let out = shipfn_in(dir.path(), &["pack", ".", "--make", "m"]);
    let err = fails(&out, 10, "is not a guest crate");
    assert!(!err.contains("building"), "no build is announced for a directory that is not a crate: {err}");
}

#[test]
fn an_unwritable_output_is_named_without_temporary_files() {
    let p = pack_suite("linear", &["2"]);
    let out = shipfn_in(
        p.dir.path(),
        &["pack", suite().to_str().unwrap(), "--make", "linear", "--arg", "2", "-o", "no/such/dir/f.fnpkg"],
    );
    let err = fails(&out, 3, "cannot write no/such/dir/f.fnpkg: No such file or directory");
    assert!(!err.contains(".tmp"), "{err}");
    // inspect --json says whether the closure is fallible, and how.
    let inspected = p.inspect_json();
    assert_eq!(inspected["fallible"], serde_json::Value::Null);
    assert!(inspected.get("ok").is_none() && inspected.get("error").is_none(), "{inspected}");
    let fallible = pack_suite("checked_div", &["7"]).inspect_json();
    assert_eq!(fallible["fallible"], serde_json::json!({ "ok": "i64", "error": "String" }));
}

#[test]
fn compiled_modules_are_cached_on_disk_and_forged_artifacts_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let seed = repo().join("tests/golden/seed-v1.fnpkg");
    let run = |cache: &std::path::Path| {
        ok(&shipfn_in(
            dir.path(),
            &["run", seed.to_str().unwrap(), "--arg", "4", "--cache-dir", cache.to_str().unwrap()],
        ))
    };
    assert_eq!(run(&cache), "10");
    let artifacts: Vec<_> = std::fs::read_dir(&cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert_eq!(artifacts.len(), 1, "one compiled module in {}", cache.display());
    let artifact = &artifacts[0];
    let written = std::fs::read(artifact).unwrap();
    assert_eq!(run(&cache), "10");
    assert_eq!(std::fs::read(artifact).unwrap(), written, "the second run used the cache as it was");

    // A damaged artifact fails its HMAC: it is recompiled and replaced.
    let mut damaged = written.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0x40;
    std::fs::write(artifact, &damaged).unwrap();
    assert_eq!(run(&cache), "10");
    assert_eq!(std::fs::read(artifact).unwrap(), written);

    // An artifact written under another cache's key is not loaded either.
    let other = dir.path().join("other");
    assert_eq!(run(&other), "10");
    let name = artifact.file_name().unwrap();
    std::fs::copy(other.join(name), artifact).unwrap();
    assert_eq!(run(&cache), "10");
    assert_eq!(std::fs::read(artifact).unwrap(), written, "the foreign artifact was replaced");
}

#[test]
fn each_compiler_runs_the_seed_and_has_its_own_cached_code() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let seed = repo().join("tests/golden/seed-v1.fnpkg");
    for compiler in ["winch", "cranelift", "winch"] {
        let args = ["run", seed.to_str().unwrap(), "--arg", "4", "--compiler", compiler, "--cache-dir"];
        let out = shipfn_in(dir.path(), &[&args[..], &[cache.to_str().unwrap()]].concat());
        assert_eq!(ok(&out), "10", "--compiler {compiler}");
    }
    let artifacts =
        std::fs::read_dir(&cache).unwrap().flatten().filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"));
    assert_eq!(artifacts.count(), 2, "one compiled module per compiler");
    fails(&shipfn_in(dir.path(), &["run", seed.to_str().unwrap(), "--compiler", "v8"]), 2, "invalid value 'v8'");
}

#[test]
fn arguments_come_from_files_standard_input_or_a_json_array_and_strays_get_a_hint() {
    use std::io::Write;
    use std::process::Stdio;
    let p = pack_suite("greeter", &["hi"]);
    // Longer than Linux allows for one command-line argument (128 KiB).
    let long = "x".repeat(200 << 10);
    std::fs::write(p.dir.path().join("name.json"), format!("\"{long}\"\n")).unwrap();
    let greeting: String = serde_json::from_str(&ok(&p.run(&["--arg", "@name.json"]))).unwrap();
    assert_eq!(greeting, format!("hi, {long}!"));
    std::fs::write(p.dir.path().join("all.json"), "[\"you\"]").unwrap();
    assert_eq!(ok(&p.run(&["--args", "all.json"])), r#""hi, you!""#);

    let mut child = shipfn()
        .current_dir(p.dir.path())
        .args(["run", p.file.to_str().unwrap(), "--arg", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"\"stdin\"\n").unwrap();
    assert_eq!(ok(&child.wait_with_output().unwrap()), r#""hi, stdin!""#);

    fails(&p.run(&["you"]), 2, "unexpected argument `you`: pass the closure's arguments as --arg you");
    fails(&p.run(&["--args", "name.json"]), 2, "not a JSON array of the arguments");
    fails(&p.run(&["--arg", "@absent.json"]), 3, "cannot read absent.json");
    // A number where a string is expected: the hint says how to quote it.
    fails(&p.run(&["--arg", "5"]), 5, r#"quote it as JSON: '"5"'"#);
}

#[test]
fn shipfn_new_makes_a_guest_that_packs_and_runs_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let created = ok(&shipfn_in(dir.path(), &["new", "mine"]));
    assert!(created.contains("shipfn pack mine --make scaled --arg 3"), "{created}");
    let target = guest_target_dir();
    let args = ["pack", "mine", "--make", "scaled", "--arg", "3", "-o", "scaled.fnpkg", "--target-dir"];
    ok(&shipfn_in(dir.path(), &[&args[..], &[target.to_str().unwrap()]].concat()));
    assert_eq!(ok(&shipfn_in(dir.path(), &["run", "scaled.fnpkg", "--arg", "4"])), "12");
    fails(&shipfn_in(dir.path(), &["new", "mine"]), 2, "already exists");
    fails(&shipfn_in(dir.path(), &["new", "9lives"]), 2, "must be a crate name");
}
