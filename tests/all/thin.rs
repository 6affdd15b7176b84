//! Thin packages: they name their module by SHA-256, and a receiver runs
//! them from its module store.

use std::path::Path;

use crate::harness::*;

/// `shipfn` with its cache (and so its module store) in `cache`.
fn shipfn_with(cache: &Path, dir: &Path, args: &[&str]) -> std::process::Output {
    shipfn().env("SHIPFN_CACHE_DIR", cache).current_dir(dir).args(args).output().expect("shipfn starts")
}

fn pack_seed(cache: &Path, dir: &Path, extra: &[&str]) {
    let wasm = seed_wasm();
    let mut args = vec!["pack", wasm.to_str().unwrap(), "--make", "closure_maker", "--arg", "3", "-q"];
    args.extend(extra);
    ok(&shipfn_with(cache, dir, &args));
}

#[test]
fn a_thin_package_runs_where_the_module_is_stored_and_names_it_where_not() {
    let (sender, receiver, dir) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (sender, receiver, dir) = (sender.path(), receiver.path(), dir.path());
    pack_seed(sender, dir, &["-o", "full.fnpkg"]);
    pack_seed(sender, dir, &["--thin", "-o", "thin.fnpkg"]);
    let thin = std::fs::read(dir.join("thin.fnpkg")).unwrap();
    assert!(thin.len() <= 400, "the thin seed package is {} bytes", thin.len());
    assert_eq!(ok(&shipfn_with(sender, dir, &["run", "thin.fnpkg", "--arg", "4"])), "10", "the sender's store has it");

    // A receiver without the module: refused, naming the module and what to do.
    let module = read_package(&std::fs::read(dir.join("full.fnpkg")).unwrap()).manifest.module_sha256;
    let err = fails(&shipfn_with(receiver, dir, &["run", "thin.fnpkg", "--arg", "4"]), 4, &hex(&module));
    assert!(err.contains("shipfn module add"), "{err}");
    // `inspect` still shows all but the captured values, which need the module.
    let inspected = shipfn_with(receiver, dir, &["inspect", "thin.fnpkg"]);
    let shown = ok(&inspected);
    assert!(shown.contains("format 4 (thin") && shown.contains("not carried"), "{shown}");
    assert!(shown.contains("captures    closure_arg: i64") && !shown.contains("captured  "), "{shown}");
    assert!(stderr(&inspected).contains("captured values not shown"), "{}", stderr(&inspected));
    // Running the full package once stores its module; then the thin one runs.
    assert_eq!(ok(&shipfn_with(receiver, dir, &["run", "full.fnpkg", "--arg", "1"])), "7");
    assert_eq!(ok(&shipfn_with(receiver, dir, &["run", "thin.fnpkg", "--arg", "4"])), "10");
    let listed = ok(&shipfn_with(receiver, dir, &["module", "list"]));
    assert!(listed.starts_with(&hex(&module)), "{listed}");

    // Removed by a prefix of its hash, the module is missing again.
    let removed = ok(&shipfn_with(receiver, dir, &["module", "remove", &hex(&module)[..12]]));
    assert_eq!(removed, format!("removed {}", hex(&module)));
    fails(&shipfn_with(receiver, dir, &["run", "thin.fnpkg", "--arg", "4"]), 4, "does not have");
    // `module add` takes the .wasm as well as a full package.
    let added = ok(&shipfn_with(receiver, dir, &["module", "add", seed_wasm().to_str().unwrap()]));
    assert!(added.starts_with(&format!("added {}", hex(&module))), "{added}");
    assert_eq!(ok(&shipfn_with(receiver, dir, &["run", "thin.fnpkg", "--arg", "4"])), "10");
    fails(&shipfn_with(receiver, dir, &["module", "add", "thin.fnpkg"]), 2, "is a thin package");
}

#[test]
fn a_stored_module_altered_on_disk_is_not_loaded() {
    let (cache, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (cache, dir) = (cache.path(), dir.path());
    pack_seed(cache, dir, &["--thin", "-o", "thin.fnpkg"]);
    let stored: Vec<_> = std::fs::read_dir(cache.join("modules")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    let mut bytes = std::fs::read(&stored[0]).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&stored[0], bytes).unwrap();
    fails(&shipfn_with(cache, dir, &["run", "thin.fnpkg", "--arg", "4"]), 4, "does not match its hash and was ignored");
}

#[test]
fn a_signed_thin_package_runs_only_for_its_trusted_key_and_every_flip_is_refused() {
    let (cache, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (cache, dir) = (cache.path(), dir.path());
    ok(&shipfn_with(cache, dir, &["keygen", "-o", "alice"]));
    ok(&shipfn_with(cache, dir, &["keygen", "-o", "mallory"]));
    pack_seed(cache, dir, &["--thin", "--sign", "alice", "-o", "thin.fnpkg"]);
    let run = |file: &str, key: &str| shipfn_with(cache, dir, &["run", file, "--arg", "4", "--trust", key]);
    assert_eq!(ok(&run("thin.fnpkg", "alice.pub")), "10");
    fails(&run("thin.fnpkg", "mallory.pub"), 11, "not a trusted key");
    let bytes = std::fs::read(dir.join("thin.fnpkg")).unwrap();
    for i in (0..bytes.len()).step_by(7) {
        let mut tampered = bytes.clone();
        tampered[i] ^= 0x20;
        std::fs::write(dir.join("tampered.fnpkg"), &tampered).unwrap();
        let out = run("tampered.fnpkg", "alice.pub");
        assert!(matches!(out.status.code(), Some(4 | 11)), "byte {i}: {}", stderr(&out));
    }
}
