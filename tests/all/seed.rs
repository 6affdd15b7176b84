//! The seed example end to end: build the guest crate, pack, run in a
//! separate process with no toolchain and no source tree in reach.

use std::process::Command;

use crate::harness::*;

fn pack_seed(dir: &std::path::Path, name: &str) -> Vec<u8> {
    let crate_dir = repo().join("examples/closure");
    let target = guest_target_dir();
    let out = shipfn_in(
        dir,
        &[
            "pack",
            crate_dir.to_str().unwrap(),
            "--make",
            "closure_maker",
            "--arg",
            "3",
            "-o",
            name,
            "--target-dir",
            target.to_str().unwrap(),
        ],
    );
    let err = stderr(&out);
    ok(&out);
    assert!(err.contains("packed closure_maker(3)"), "{err}");
    std::fs::read(dir.join(name)).expect("package written")
}

#[test]
fn seed_closure_runs_elsewhere_with_only_the_binary_and_the_file() {
    let sender = tempfile::tempdir().unwrap();
    let bytes = pack_seed(sender.path(), "closure.fnpkg");

    // The receiver: its own directory holding a copy of the binary and the
    // file; no PATH (so no cargo, rustc or rustup), no HOME, no source tree.
    let receiver = tempfile::tempdir().unwrap();
    let binary = receiver.path().join("shipfn");
    std::fs::copy(env!("CARGO_BIN_EXE_shipfn"), &binary).unwrap();
    std::fs::write(receiver.path().join("closure.fnpkg"), &bytes).unwrap();
    let out = Command::new(&binary)
        .args(["run", "closure.fnpkg", "--arg", "4"])
        .current_dir(receiver.path())
        .env_clear()
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(ok(&out), "10");

    let out = Command::new(&binary)
        .args(["run", "closure.fnpkg", "--arg", "-10"])
        .current_dir(receiver.path())
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(ok(&out), "-4");
}

#[test]
fn packing_twice_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let first = pack_seed(dir.path(), "a.fnpkg");
    let second = pack_seed(dir.path(), "b.fnpkg");
    assert!(first == second, "two packs of the same inputs differ");
}

#[test]
fn inspect_shows_signature_hashes_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = pack_seed(dir.path(), "closure.fnpkg");
    let text = ok(&shipfn_in(dir.path(), &["inspect", "closure.fnpkg"]));
    for needle in [
        "format 1",
        "made by     closure_maker(3)",
        "signature   fn(own_arg: i64) -> i64",
        "captures    closure_arg: i64",
        "globals     GLOBAL_ARG: i64",
        r#"{"closure_arg":3}"#,
        r#"{"GLOBAL_ARG":2}"#,
    ] {
        assert!(text.contains(needle), "inspect lacks {needle:?}:\n{text}");
    }

    let json: serde_json::Value =
        serde_json::from_str(&ok(&shipfn_in(dir.path(), &["inspect", "--json", "closure.fnpkg"]))).unwrap();
    assert_eq!(json["signature"], "fn(own_arg: i64) -> i64");
    assert_eq!(json["captured_values"], serde_json::json!({ "closure_arg": 3 }));
    assert_eq!(json["global_values"], serde_json::json!({ "GLOBAL_ARG": 2 }));
    assert_eq!(json["size"], bytes.len());
    assert_eq!(json["sha256"], hex(&shipfn_format::sha256(&bytes)), "the file's own SHA-256, as sha256sum prints it");
    assert_eq!(json["signed_by"], serde_json::Value::Null);
    let package = read_package(&bytes);
    assert_eq!(json["module"]["sha256"], hex(&shipfn_format::sha256(&package.module)));
    assert_eq!(json["state"]["size"], package.state.len());
}
