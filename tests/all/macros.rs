//! What the guest macros say about code they cannot ship: compile errors at
//! the user's own code, checked with a real `cargo check` of a guest crate
//! (for the host target: the SDK compiles there, so no wasm toolchain is needed).

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
fn a_screaming_case_local_is_a_compile_error_at_its_name() {
    let (compiled, diagnostics) = check_guest(
        "use shipfn_guest::{Closure, maker, ship};\n\
         #[maker]\n\
         pub fn capped(cap: i64) -> Closure<(i64,), i64> {\n\
         \x20   #[allow(non_snake_case)]\n\
         \x20   let LIMIT = cap * 2;\n\
         \x20   ship!(|x: i64| x.min(LIMIT))\n\
         }\n",
    );
    assert!(!compiled, "{diagnostics}");
    let errors = errors(&diagnostics);
    assert_eq!(errors.len(), 1, "{diagnostics}");
    assert!(errors[0].contains("src/lib.rs:6:26"), "the error points at `LIMIT`: {diagnostics}");
    assert!(errors[0].contains("can't capture dynamic environment"), "{diagnostics}");
}

#[test]
fn the_same_closure_with_a_snake_case_local_compiles() {
    let (compiled, diagnostics) = check_guest(
        "use shipfn_guest::{Closure, Global, maker, ship};\n\
         static BONUS: Global<i64> = Global::new(|| 1);\n\
         const STEP: i64 = 2;\n\
         #[maker]\n\
         pub fn capped(cap: i64) -> Closure<(i64,), i64> {\n\
         \x20   let limit = cap * 2;\n\
         \x20   ship!(|x: i64| x.min(limit) + BONUS.get() + STEP)\n\
         }\n",
    );
    assert!(compiled, "{diagnostics}");
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
