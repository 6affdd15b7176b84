//! What the guest macros say about code they cannot ship: compile errors at
//! the user's own code, checked with a real `cargo check` of a guest crate
//! (for the host target: the SDK compiles there, so no wasm toolchain is needed).
//! The messages of `ship!` itself are the SDK's `trybuild` cases
//! (`guest-sdk/tests/ui`).

use std::process::Command;

use crate::harness::*;

/// `cargo check` of a guest crate whose `src/lib.rs` is `source`; its
/// diagnostics (stderr) and whether it compiled.
fn check_guest(source: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let sdk = repo().join("guest-sdk");
    let manifest = format!(
        "[package]\nname = \"probe\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\nshipfn-guest = {{ path = {:?} }}\n\n[workspace]\n",
        sdk.to_str().unwrap()
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    // The workspace's lock pins the SDK's dependencies to what is already downloaded.
    std::fs::copy(repo().join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), source).unwrap();
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["check", "--quiet", "--message-format=short"])
        .env("CARGO_TARGET_DIR", repo().join("target").join("macro-check"))
        .current_dir(dir.path())
        .output()
        .expect("cargo starts");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn errors(diagnostics: &str) -> Vec<&str> {
    diagnostics.lines().filter(|l| l.contains(": error")).collect()
}

#[test]
fn a_refused_maker_is_one_error_and_its_function_still_exists() {
    let (compiled, diagnostics) = check_guest(
        "use shipfn_guest::{Closure, maker, ship};\n\
         #[maker(fast)]\n\
         pub fn adder(n: i64) -> Closure<(i64,), i64> {\n\
         \x20   ship!(|x: i64| x + n)\n\
         }\n\
         pub fn uses_it() -> i64 {\n\
         \x20   adder(1).invoke((2,))\n\
         }\n",
    );
    assert!(!compiled, "{diagnostics}");
    let errors = errors(&diagnostics);
    assert_eq!(errors.len(), 1, "only the macro's error, no \"cannot find function\": {diagnostics}");
    assert!(errors[0].contains("#[maker] takes no arguments"), "{diagnostics}");
}
