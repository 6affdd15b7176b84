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
        "format 3",
        "made by     closure_maker(3)",
        "signature   fn(own_arg: i64) -> i64",
        "captures    closure_arg: i64",
        "globals     GLOBAL_ARG: i64",
        r#"captured    {"closure_arg":3}"#,
        r#"snapshot    {"GLOBAL_ARG":2}"#,
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

/// The README's seed session, run for real: each `$ shipfn …` line of its
/// console block, and the lines after it compared with what the binary
/// prints, with sizes, hashes and the toolchain line masked (they depend on
/// the toolchain that built the guest).
#[test]
fn the_readme_seed_session_is_what_the_binary_prints() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme.find("```console\n$ shipfn pack examples/closure").expect("the README's seed session");
    let block = &readme[start + "```console\n".len()..];
    let block = &block[..block.find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let mut sessions = Vec::new();
    for line in block.lines() {
        match line.strip_prefix("$ shipfn ") {
            Some(command) => sessions.push((command.to_owned(), Vec::new())),
            None => sessions.last_mut().expect("output after a command").1.push(line.to_owned()),
        }
    }
    assert!(sessions.len() >= 3, "{block}");
    for (command, expected) in sessions {
        let mut args: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        if args[0] == "pack" {
            args[1] = repo().join(&args[1]).to_str().unwrap().to_owned();
            args.extend(["--target-dir".into(), guest_target_dir().to_str().unwrap().to_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = shipfn_in(dir.path(), &args);
        let printed = format!("{}{}", stderr(&out), stdout(&out));
        // Cargo's own progress lines (`   Compiling …`, `    Finished …`) vary with what is built.
        let cargo = |l: &&str| l.starts_with(' ') && l.trim_start().starts_with(|c: char| c.is_ascii_uppercase());
        let printed: Vec<String> =
            printed.lines().filter(|l| !cargo(l)).map(|l| l.replace(&format!("{}/", repo().display()), "")).collect();
        assert_eq!(
            printed.iter().map(|l| mask(l)).collect::<Vec<_>>(),
            expected.iter().map(|l| mask(l)).collect::<Vec<_>>(),
            "`shipfn {command}` printed:\n{}",
            printed.join("\n")
        );
    }
}

/// A line with its numbers and hex runs replaced, and a toolchain named by
/// `with …` cut, so that only its shape and words are compared.
fn mask(line: &str) -> String {
    let line = match line.find(" for wasm32 with ") {
        Some(at) => &line[..at],
        None => line,
    };
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_hexdigit() {
            let mut run = c.to_string();
            while let Some(&n) = chars.peek() {
                if n.is_ascii_hexdigit() || n == '.' {
                    run.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            let digits = run.chars().any(|c| c.is_ascii_digit());
            out.push_str(if digits { "#" } else { &run });
        } else {
            out.push(c);
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn masking_hides_numbers_and_hashes_but_not_words() {
    assert_eq!(mask("  package   121.6 KiB  sha256 ec7f8fc5c1fa7f0f…"), mask("package 1 KiB sha256 0123456789abcdef…"));
    assert_eq!(mask("created by shipfn 0.1.0 (guest ABI 4)"), "created by shipfn # (guest ABI #)");
    assert_ne!(mask("captured {\"a\":1}"), mask("snapshot {\"a\":1}"));
}
