//! Building the guest fixtures once, running the real binary, checking its
//! exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use shipfn_build::{BuildOptions, Toolchain};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where every guest fixture is built, so that std is built from source once.
pub fn guest_target_dir() -> PathBuf {
    repo().join("target").join("guests")
}

/// Builds a guest crate of the repository (e.g. `tests/guests/suite`) with
/// the detected toolchain. No toolchain is a test failure, not a skip.
pub fn build_guest(relative: &str) -> PathBuf {
    let toolchain = Toolchain::detect().unwrap_or_else(|e| panic!("the tests need a wasm32 toolchain: {e}"));
    let options = BuildOptions { target_dir: Some(guest_target_dir()), quiet: true, ..Default::default() };
    shipfn_build::build(&repo().join(relative), &toolchain, &options)
        .unwrap_or_else(|e| panic!("building the guest fixture {relative} failed: {e}"))
}

/// A guest built with overrides of its Cargo settings (`config`, as cargo's
/// `--config` takes them), in a target directory of its own named `variant`.
pub fn build_guest_with(relative: &str, variant: &str, config: Vec<String>) -> PathBuf {
    let toolchain = Toolchain::detect().unwrap_or_else(|e| panic!("the tests need a wasm32 toolchain: {e}"));
    let options = BuildOptions { target_dir: Some(guest_target_dir().join(variant)), quiet: true, config };
    shipfn_build::build(&repo().join(relative), &toolchain, &options)
        .unwrap_or_else(|e| panic!("building the guest fixture {relative} ({variant}) failed: {e}"))
}

/// The `tests/guests/suite` module, built once per test run.
pub fn suite() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("tests/guests/suite"))
}

/// The seed example's module (`examples/closure`), built once per test run.
pub fn seed_wasm() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("examples/closure"))
}

/// The `tests/guests/lean` module (built without JSON), built once per test run.
pub fn lean() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("tests/guests/lean"))
}

/// The same source built with JSON (`tests/guests/lean-json`), once per test run.
pub fn lean_json() -> &'static Path {
    static WASM: OnceLock<PathBuf> = OnceLock::new();
    WASM.get_or_init(|| build_guest("tests/guests/lean-json"))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The real `shipfn` binary, caching compiled modules under `target/`
/// rather than in the user's home.
pub fn shipfn() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shipfn"));
    command.env("SHIPFN_CACHE_DIR", repo().join("target").join("test-cache"));
    command
}

/// Runs `shipfn` with `args` in `dir`.
pub fn shipfn_in(dir: &Path, args: &[&str]) -> Output {
    shipfn().current_dir(dir).args(args).output().expect("shipfn starts")
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).trim().to_owned()
}

/// Asserts success and returns stdout.
#[track_caller]
pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "shipfn failed ({:?}): {}", out.status.code(), stderr(out));
    stdout(out)
}

/// Asserts exit code `code` with `needle` in stderr, and returns stderr.
#[track_caller]
pub fn fails(out: &Output, code: i32, needle: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "expected exit {code}; stdout: {} stderr: {err}", stdout(out));
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!err.contains("panicked at") || needle.contains("panicked"), "the host itself panicked: {err}");
    err
}

/// A scratch directory with the suite module packed by `maker` and `args`.
pub struct Packed {
    pub dir: tempfile::TempDir,
    pub file: PathBuf,
}

impl Packed {
    /// `shipfn run FILE ARGS…` in the package's directory.
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", self.file.to_str().expect("utf-8 path")];
        all.extend_from_slice(args);
        shipfn_in(self.dir.path(), &all)
    }

    /// `shipfn inspect --json FILE`, parsed.
    pub fn inspect_json(&self) -> serde_json::Value {
        let out = shipfn_in(self.dir.path(), &["inspect", "--json", self.file.to_str().expect("utf-8 path")]);
        serde_json::from_str(&ok(&out)).expect("inspect --json prints JSON")
    }
}

/// `name: type` of each capture in `inspect --json` output, in order.
pub fn capture_types(inspected: &serde_json::Value) -> Vec<String> {
    let captures = inspected["captures"].as_array().expect("a captures array");
    captures.iter().map(|f| format!("{}: {}", f["name"].as_str().unwrap(), f["type"].as_str().unwrap())).collect()
}

/// Packs maker `maker` of the suite guest with `args` (JSON texts).
pub fn pack_suite(maker: &str, args: &[&str]) -> Packed {
    pack_with(&["--make", maker], args)
}

/// Packs the suite guest with `selector` (`["--make", NAME]` or `["--fn", NAME]`).
pub fn pack_with(selector: &[&str], args: &[&str]) -> Packed {
    pack_module(suite(), selector, args)
}

/// Packs the module `wasm` with `selector` and `args` (JSON texts).
pub fn pack_module(wasm: &Path, selector: &[&str], args: &[&str]) -> Packed {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("f.fnpkg");
    let mut all = vec!["pack", wasm.to_str().expect("utf-8 path")];
    all.extend_from_slice(selector);
    for a in args {
        all.extend_from_slice(&["--arg", a]);
    }
    all.extend_from_slice(&["-q", "-o", file.to_str().expect("utf-8 path")]);
    ok(&shipfn_in(dir.path(), &all));
    Packed { dir, file }
}

/// The signature `fn() -> u8`, for packages made by hand around a module.
/// The package in `bytes`, read and verified, to look into or forge from.
pub fn read_package(bytes: &[u8]) -> shipfn_format::Package {
    shipfn_format::VerifiedPackage::from_bytes(bytes).unwrap().into_package()
}

/// Closure indices for a forged package that claims `signature`, with a
/// schema of as many formats (that say nothing of the types).
pub fn closure_at(entry: u32, trampoline: u32, body: u32, signature: shipfn_host::Signature) -> shipfn_format::Closure {
    let unknown = |n: usize| vec![shipfn_host::Format::Untraced("forged".into()); n];
    let schema = shipfn_host::Schema {
        containers: vec![],
        params: unknown(signature.params.len()),
        result: shipfn_host::Format::Untraced("forged".into()),
        captures: unknown(signature.captures.len()),
        globals: unknown(signature.globals.len()),
    };
    shipfn_format::Closure { entry, trampoline, body, signature, schema: Some(schema) }
}

pub fn fn_returning_u8() -> shipfn_host::Signature {
    shipfn_host::Signature {
        params: vec![],
        result: "u8".into(),
        ok: None,
        error: None,
        captures: vec![],
        globals: vec![],
    }
}

/// The closure's own state inside a package's state: from guest ABI 8 on,
/// the state is an envelope that also carries globals.
pub fn closure_state(state: &[u8]) -> Vec<u8> {
    let envelope: shipfn_abi::Envelope<'_> = postcard::from_bytes(state).expect("an envelope");
    envelope.state.to_vec()
}

/// `state` as a closure's own state in an envelope that carries no globals.
pub fn enveloped(state: &[u8]) -> Vec<u8> {
    postcard::to_allocvec(&shipfn_abi::Envelope { globals: vec![], withheld: vec![], state }).expect("an envelope")
}
