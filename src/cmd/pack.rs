//! `shipfn pack`: build a guest, run its maker in the sandbox, write a package.

use std::path::PathBuf;

use anyhow::Context;
use shipfn_build::{BuildError, BuildOptions, Toolchain};
use shipfn_host::{Form, Keep, Manifest, slim_module};

use super::{HostArgs, human_size, read, read_secret_key, write_atomically};

/// Build a guest crate (or take a prebuilt .wasm), run one of its makers
/// inside the sandbox, and write the closure it returns, with the module and
/// the closure's captured state, as one .fnpkg file.
#[derive(clap::Args, Debug)]
#[command(group = clap::ArgGroup::new("what").required(true).args(["make", "function"]))]
pub struct Args {
    /// A guest crate directory (built for wasm32 here) or a prebuilt .wasm module.
    #[arg(value_name = "GUEST")]
    guest: PathBuf,
    /// Run this maker (a `#[maker]` function) and pack the closure it returns.
    #[arg(long, value_name = "NAME")]
    make: Option<String>,
    /// Pack this plain function (marked `#[export]`), which captures nothing.
    #[arg(long = "fn", value_name = "NAME", conflicts_with = "args")]
    function: Option<String>,
    /// One maker argument, as JSON; repeat in parameter order. A bare word
    /// that is not JSON is taken as a string.
    /// `@FILE` reads the argument from a file, `-` from standard input.
    #[arg(long = "arg", value_name = "JSON", allow_hyphen_values = true)]
    args: Vec<String>,
    /// A file holding a JSON array of all the maker's arguments (`-` for
    /// standard input).
    #[arg(long = "args", value_name = "FILE", conflicts_with_all = ["args", "function"])]
    args_file: Option<PathBuf>,
    /// Where to write the package [default: NAME.fnpkg].
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Cargo's target directory for building the guest [default: the crate's own].
    #[arg(long, value_name = "DIR")]
    target_dir: Option<PathBuf>,
    /// Build with this cargo instead of the detected one (or set SHIPFN_CARGO).
    #[arg(long, value_name = "PATH", requires = "rustc")]
    cargo: Option<PathBuf>,
    /// Build with this rustc instead of the detected one (or set SHIPFN_RUSTC).
    #[arg(long, value_name = "PATH", requires = "cargo")]
    rustc: Option<PathBuf>,
    /// Write a thin package: it names its module by SHA-256 instead of
    /// carrying it, for receivers that have the module in their store
    /// (`shipfn module add`, or any full package of it they ran). The module
    /// is added to this machine's store.
    #[arg(long)]
    thin: bool,
    /// Keep the module's `name` section (function names, for traps and
    /// profiles). Other custom sections (producers, debug info) are always
    /// dropped: a receiver never reads them.
    #[arg(long)]
    keep_names: bool,
    /// Sign the package with this secret key (from `shipfn keygen`).
    #[arg(long, value_name = "KEY")]
    sign: Option<PathBuf>,
    /// Print nothing but errors.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    host: HostArgs,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let key = args.sign.as_deref().map(read_secret_key).transpose()?;
    let keep = if args.keep_names { Keep::Names } else { Keep::Nothing };
    let wasm = slim_module(&module_bytes(&args)?, keep)?;
    let host = args.host.host()?;
    let (package, name) = match (&args.make, &args.function) {
        (Some(maker), _) => {
            (host.make(&wasm, maker, &super::json_args(&args.args, args.args_file.as_deref())?)?, maker)
        }
        (None, Some(function)) => (host.pack_function(&wasm, function)?, function),
        (None, None) => unreachable!("clap requires --make or --fn"),
    };
    let form = if args.thin { Form::Thin } else { Form::Full };
    if form == Form::Thin {
        // The sender can run what it packs: its store keeps the module.
        match host.module_store() {
            Some(_) => drop(host.add_module(&package.module)?),
            None => crate::out::note("warning: no module store (--no-cache): this machine cannot run the thin package"),
        }
    }
    if !args.quiet {
        warn_without_json(&host, &package);
    }
    let output = args.output.clone().unwrap_or_else(|| PathBuf::from(format!("{name}.fnpkg")));
    write_atomically(&output, 0o644, |file| package.write_as(file, form, key.as_ref()))?;
    if !args.quiet {
        let module = match form {
            Form::Thin => format!("module {} named", short_hash(&package.manifest.module_sha256)),
            _ => format!("{} module", human_size(package.module.len())),
        };
        crate::out::note(&format!(
            "packed {} → {}{} ({}; {module}, {} state, {} in all)",
            made_by(&package.manifest),
            output.display(),
            key.as_ref().map(|k| format!(", signed by {}", k.public())).unwrap_or_default(),
            package.manifest.signature_text(),
            human_size(package.state.len()),
            human_size(package.encoded_len_as(form, key.is_some())),
        ));
    }
    Ok(())
}

/// Says now, not at the first call, when the package cannot be called
/// from JSON (`run`, `map`, the service): its guest was built without JSON
/// and a parameter or the result has a type the host cannot convert.
fn warn_without_json(host: &shipfn_host::Host, package: &shipfn_host::Package) {
    let loaded = host.load(&package.to_bytes());
    if let Ok(function) = loaded
        && let Err(e @ shipfn_host::Error::NoJson { .. }) = function.check_json()
    {
        crate::out::note(&format!("warning: this package can be called only with typed postcard arguments: {e}"));
    }
}

/// `closure_maker(3)`, `add`, or `adder(3)(4)` for a returned closure.
pub fn made_by(manifest: &Manifest) -> String {
    manifest.source.to_string()
}

fn module_bytes(args: &Args) -> anyhow::Result<Vec<u8>> {
    if args.guest.is_dir() {
        if !args.guest.join("Cargo.toml").is_file() {
            return Err(BuildError::NotACrate(args.guest.clone()).into());
        }
        let toolchain = match (&args.cargo, &args.rustc) {
            (Some(cargo), Some(rustc)) => Toolchain::probe(cargo, rustc).ok_or_else(|| BuildError::NoToolchain {
                tried: format!("--cargo {} --rustc {} cannot build wasm32", cargo.display(), rustc.display()),
            })?,
            _ => Toolchain::detect()?,
        };
        if !args.quiet {
            crate::out::note(&format!("building {} for wasm32 with {toolchain}", args.guest.display()));
        }
        let options = BuildOptions { target_dir: args.target_dir.clone(), quiet: args.quiet, ..Default::default() };
        let wasm = shipfn_build::build(&args.guest, &toolchain, &options)?;
        read(&wasm)
    } else if args.guest.exists() {
        read(&args.guest)
    } else {
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"))
            .with_context(|| format!("cannot read guest {}", args.guest.display()))
    }
}

/// The first 16 hex digits of a SHA-256, enough to tell modules apart.
pub fn short_hash(sha256: &[u8; 32]) -> String {
    hex::encode(&sha256[..8])
}
