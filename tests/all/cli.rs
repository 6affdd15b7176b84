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
