//! Find a Rust toolchain that can build `wasm32-unknown-unknown`, and build
//! shipfn guest crates with it.
//!
//! ```no_run
//! use shipfn_build::{BuildOptions, Toolchain};
//! let toolchain = Toolchain::detect()?;
//! let wasm = shipfn_build::build("examples/closure".as_ref(), &toolchain, &BuildOptions::default())?;
//! println!("built {}", wasm.display());
//! # Ok::<(), shipfn_build::BuildError>(())
//! ```
//!
//! Detection, in order:
//! 1. `SHIPFN_CARGO` / `SHIPFN_RUSTC`, if set: that toolchain, and nothing else.
//! 2. `cargo` and `rustc` on `PATH` (rustup), when `rustup target add
//!    wasm32-unknown-unknown` has installed the target's standard library.
//! 3. Debian's `rustc-web` (`/usr/bin/rustc`, `/usr/bin/cargo`) or the `PATH`
//!    toolchain with the library source (`rust-web-src` / `rust-src`): std is
//!    built from source with `-Z build-std` (allowed on stable through
//!    `RUSTC_BOOTSTRAP=1`), linked by `rust-lld` (`lld-22`).
#![deny(missing_docs)]

use std::ffi::OsString;
use std::fmt;
use std::io::BufReader;

use cargo_metadata::Message;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The target every guest is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// The size of the shadow stack guests are linked with (Rust's default is
/// 1 MiB). The stack comes first in a guest's memory and grows down, so a call
/// touches the stack's top and the data after it. At 2 MiB + 64 KiB those pages
/// lie in the second 2 MiB page-table block of the memory and the untouched
/// rest of the stack in the first. Resetting an instance for the next fresh
/// call scans the memory's page table (wasmtime's `PAGEMAP_SCAN`) and skips a
/// block with no pages in it, so the scan is cheaper. Guests also get twice
/// the stack depth.
pub const GUEST_STACK_SIZE: u32 = (2 << 20) + (64 << 10);

/// The free heap guests are linked with in their initial memory
/// (`--initial-heap`; the memory is rounded up to whole 64 KiB pages). The
/// guest SDK's allocator uses it before growing memory, so a call that
/// allocates less than this never grows a fresh instance's memory, which in a
/// pooled host costs more than a small call. More is not free: resetting an
/// instance scans its whole memory's page table, so every 64 KiB of initial
/// memory adds to every fresh call.
pub const GUEST_INITIAL_HEAP: u32 = 64 << 10;

/// What to install when no toolchain is found.
pub const INSTALL_HINT: &str = "install one of:\n  \
    - the rustup target:  rustup target add wasm32-unknown-unknown\n  \
    - on Debian 12:       apt-get install rustc-web rust-web-src lld-22   (or run scripts/setup.sh)\n  \
    or point shipfn at a toolchain with SHIPFN_CARGO and SHIPFN_RUSTC";

/// Why a guest could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No toolchain that can build wasm32 was found.
    #[error("no Rust toolchain that can build {TARGET} was found ({tried});\n{INSTALL_HINT}")]
    NoToolchain {
        /// What was looked at, for the message.
        tried: String,
    },
    /// The directory holds no `Cargo.toml`.
    #[error("{0} is not a guest crate: it has no Cargo.toml")]
    NotACrate(PathBuf),
    /// cargo could not be started.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The guest build failed; its diagnostics went to stderr.
    #[error("building the guest crate {crate_dir} failed ({status}); see cargo's messages above")]
    Cargo {
        /// The crate.
        crate_dir: PathBuf,
        /// cargo's exit status.
        status: std::process::ExitStatus,
    },
    /// The build succeeded but produced no `.wasm`.
    #[error("building {0} produced no .wasm file: is it a `cdylib` (`[lib] crate-type = [\"cdylib\"]`)?")]
    NoArtifact(PathBuf),
}

/// How std for wasm32 is provided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdSource {
    /// The toolchain ships a prebuilt std for the target.
    Prebuilt,
    /// std is compiled from the library source with `-Z build-std`.
    BuildStd,
}

/// A toolchain that can build guests.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The cargo to run.
    pub cargo: PathBuf,
    /// The rustc cargo should use.
    pub rustc: PathBuf,
    /// Where std comes from.
    pub std: StdSource,
}

impl fmt::Display for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.std {
            StdSource::Prebuilt => "prebuilt std",
            StdSource::BuildStd => "std built from source",
        };
        write!(f, "{} + {}, {how}", self.cargo.display(), self.rustc.display())
    }
}

fn output(program: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl Toolchain {
    /// Finds a toolchain as the crate docs describe.
    pub fn detect() -> Result<Toolchain, BuildError> {
        let env = |name| std::env::var_os(name).filter(|v: &OsString| !v.is_empty()).map(PathBuf::from);
        let (cargo, rustc) = (env("SHIPFN_CARGO"), env("SHIPFN_RUSTC"));
        if cargo.is_some() || rustc.is_some() {
            let cargo = cargo.unwrap_or_else(|| "cargo".into());
            let rustc = rustc.unwrap_or_else(|| "rustc".into());
            return Self::probe(&cargo, &rustc).ok_or_else(|| BuildError::NoToolchain {
                tried: format!(
                    "SHIPFN_CARGO={} SHIPFN_RUSTC={} has neither a {TARGET} std nor the library source",
                    cargo.display(),
                    rustc.display()
                ),
            });
        }
        let candidates: [(PathBuf, PathBuf); 2] =
            [("cargo".into(), "rustc".into()), ("/usr/bin/cargo".into(), "/usr/bin/rustc".into())];
        let mut tried = Vec::new();
        // A prebuilt std anywhere beats building std from source.
        for (cargo, rustc) in &candidates {
            if let Some(t) = Self::probe(cargo, rustc).filter(|t| t.std == StdSource::Prebuilt) {
                return Ok(t);
            }
        }
        for (cargo, rustc) in &candidates {
            match Self::probe(cargo, rustc) {
                Some(t) => return Ok(t),
                None => tried.push(rustc.display().to_string()),
            }
        }
        Err(BuildError::NoToolchain { tried: format!("looked at {}", tried.join(", ")) })
    }

    /// The toolchain made of `cargo` and `rustc`, if it can build wasm32.
    pub fn probe(cargo: &Path, rustc: &Path) -> Option<Toolchain> {
        output(cargo, &["--version"])?;
        let libdir = output(rustc, &["--print", "target-libdir", "--target", TARGET]);
        let prebuilt = libdir.is_some_and(|dir| {
            std::fs::read_dir(dir)
                .is_ok_and(|entries| entries.flatten().any(|e| e.file_name().to_string_lossy().starts_with("libcore-")))
        });
        if prebuilt {
            return Some(Toolchain { cargo: cargo.into(), rustc: rustc.into(), std: StdSource::Prebuilt });
        }
        let sysroot = output(rustc, &["--print", "sysroot"])?;
        let source = Path::new(&sysroot).join("lib/rustlib/src/rust/library/std/Cargo.toml");
        (source.is_file() && linker_present()).then(|| Toolchain {
            cargo: cargo.into(),
            rustc: rustc.into(),
            std: StdSource::BuildStd,
        })
    }
}

/// `rust-lld` links wasm; a toolchain without a prebuilt std may lack it.
fn linker_present() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("rust-lld").is_file()))
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Cargo's target directory; by default the crate's own (or `CARGO_TARGET_DIR`).
    pub target_dir: Option<PathBuf>,
    /// Hide cargo's progress messages (errors are still shown).
    pub quiet: bool,
    /// Overrides of the guest crate's Cargo settings, each as cargo's
    /// `--config` takes it (`profile.release.opt-level=3`).
    pub config: Vec<String>,
}

/// Builds the guest crate in `crate_dir` for wasm32 and returns the path of
/// the `.wasm` it produced.
pub fn build(crate_dir: &Path, toolchain: &Toolchain, options: &BuildOptions) -> Result<PathBuf, BuildError> {
    let manifest = crate_dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(BuildError::NotACrate(crate_dir.to_owned()));
    }
    let mut cmd = Command::new(&toolchain.cargo);
    // `cargo rustc` rather than `cargo build`: it passes the link argument
    // after `--` to the guest's own cdylib only.
    cmd.args(["rustc", "--lib"])
        .arg("--release")
        .args(["--target", TARGET])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--message-format=json-render-diagnostics")
        .env("RUSTC", &toolchain.rustc)
        // Variables a surrounding cargo or rustup sets must not redirect this build.
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_BUILD_TARGET")
        .stdout(Stdio::piped());
    if toolchain.std == StdSource::BuildStd {
        cmd.env("RUSTC_BOOTSTRAP", "1").args(["-Z", "build-std=std,panic_abort"]);
    }
    if let Some(dir) = &options.target_dir {
        cmd.arg("--target-dir").arg(dir);
    }
    if options.quiet {
        cmd.arg("--quiet");
    }
    for setting in &options.config {
        cmd.arg("--config").arg(setting);
    }
    // The exported stack pointer lets the host tell a shadow-stack overflow
    // (an out-of-bounds store below address 0) from other bad accesses.
    cmd.arg("--")
        .arg(format!("-Clink-arg=-zstack-size={GUEST_STACK_SIZE}"))
        .arg(format!("-Clink-arg=--initial-heap={GUEST_INITIAL_HEAP}"))
        .arg("-Clink-arg=--export=__stack_pointer");
    let program = toolchain.cargo.display().to_string();
    let mut child = cmd.spawn().map_err(|source| BuildError::Spawn { program, source })?;
    let mut wasm = None;
    if let Some(stdout) = child.stdout.take() {
        for message in Message::parse_stream(BufReader::new(stdout)).map_while(Result::ok) {
            if let Some(path) = wasm_artifact(&message) {
                wasm = Some(path);
            }
        }
    }
    let status =
        child.wait().map_err(|source| BuildError::Spawn { program: toolchain.cargo.display().to_string(), source })?;
    if !status.success() {
        return Err(BuildError::Cargo { crate_dir: crate_dir.to_owned(), status });
    }
    wasm.ok_or_else(|| BuildError::NoArtifact(crate_dir.to_owned()))
}

/// The `.wasm` that one of cargo's messages names, if any.
fn wasm_artifact(message: &Message) -> Option<PathBuf> {
    let Message::CompilerArtifact(artifact) = message else { return None };
    artifact.filenames.iter().find(|f| f.extension() == Some("wasm")).map(|f| f.clone().into_std_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_wasm_in_cargo_messages() {
        // What `cargo rustc --message-format=json` prints for a guest cdylib.
        let stream = concat!(
            r#"{"reason":"compiler-artifact","package_id":"path+file:///g#guest@0.1.0","#,
            r#""manifest_path":"/g/Cargo.toml","target":{"kind":["cdylib"],"crate_types":["cdylib"],"#,
            r#""name":"guest","src_path":"/g/src/lib.rs","edition":"2024","doc":true,"doctest":false,"#,
            r#""test":true},"profile":{"opt_level":"s","debuginfo":0,"debug_assertions":false,"#,
            r#""overflow_checks":false,"test":false},"features":[],"#,
            r#""filenames":["/t/guest.d","/t/guest.wasm"],"executable":null,"fresh":false}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\nnot json\n",
        );
        let found: Vec<_> = Message::parse_stream(stream.as_bytes())
            .map_while(Result::ok)
            .filter_map(|message| wasm_artifact(&message))
            .collect();
        assert_eq!(found, [PathBuf::from("/t/guest.wasm")]);
    }

    #[test]
    fn a_missing_crate_is_named() {
        let t = Toolchain { cargo: "cargo".into(), rustc: "rustc".into(), std: StdSource::Prebuilt };
        let err = build(Path::new("/nonexistent/guest"), &t, &BuildOptions::default()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/guest is not a guest crate"), "{err}");
    }
}
