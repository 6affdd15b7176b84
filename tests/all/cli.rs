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
    fails(&out, 10, "is not a guest crate");
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
