//! `shipfn run`: verify a package and call its closure in the sandbox.

use std::path::PathBuf;

use shipfn_host::{Form, Package, VerifiedPackage};

use super::{LoadArgs, human_size, json_args, write_atomically};
use crate::exit::Usage;

/// Verify a package, call the closure inside it in a WebAssembly sandbox,
/// and print its result as JSON. Needs nothing but this binary and the file.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One argument, as JSON; repeat in parameter order. A bare word that is
    /// not JSON is taken as a string. `@FILE` reads the argument from a file
    /// and `-` from standard input (for arguments too long for a command line;
    /// a string starting with @ is passed as JSON: '"@name"').
    #[arg(long = "arg", value_name = "JSON", allow_hyphen_values = true)]
    args: Vec<String>,
    /// A file holding a JSON array of all the arguments (`-` for standard input).
    #[arg(long = "args", value_name = "FILE", conflicts_with = "args")]
    args_file: Option<PathBuf>,
    /// For a closure that returns a closure: save the returned closure as a
    /// package in FILE (to run elsewhere) instead of printing a summary of it.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// With -o: write a thin package, which names its module instead of
    /// carrying it (the module of a thin PACKAGE is never carried).
    #[arg(long, requires = "output")]
    thin: bool,
    #[command(flatten)]
    load: LoadArgs,
    /// Arguments given without --arg (after PACKAGE): refused with a hint.
    #[arg(hide = true, value_name = "ARG")]
    stray: Vec<String>,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    if let Some(first) = args.stray.first() {
        let hint = args.stray.iter().map(|a| format!("--arg {a}")).collect::<Vec<_>>().join(" ");
        anyhow::bail!(Usage(format!("unexpected argument `{first}`: pass the closure's arguments as {hint}")));
    }
    let call_args = json_args(&args.args, args.args_file.as_deref())?;
    let host = args.load.host.host()?;
    let function = args.load.trust.load(&host, super::read(&args.load.package)?)?;
    let Some(output) = &args.output else {
        let returns_closure = function.returns_closure();
        let result = function.call_json_once(&call_args)?;
        crate::out::json_line(&result)?;
        if returns_closure {
            crate::out::note("note: the result is a closure; `-o FILE` saves it as a package that runs elsewhere");
        }
        return Ok(());
    };
    let package = function.call_to_package(&call_args)?;
    // Refuse to write what would not load: check it as a receiver would.
    let form = if args.thin || package.module.is_empty() { Form::Thin } else { Form::Full };
    let bytes = package.encode_as(form, None);
    host.load_package(VerifiedPackage::from_bytes(&bytes)?)?;
    write_atomically(output, 0o644, |file| std::io::Write::write_all(file, &bytes))?;
    crate::out::note(&describe(&package, form, output, bytes.len()));
    Ok(())
}

fn describe(package: &Package, form: Form, output: &std::path::Path, size: usize) -> String {
    let module = match form {
        Form::Thin => "names its module".to_owned(),
        _ => format!("{} module", human_size(package.module.len())),
    };
    format!(
        "saved the returned closure {} → {} ({}; {module}, {} state, {} in all)",
        package.manifest.source,
        output.display(),
        package.manifest.signature_text(),
        human_size(package.state.len()),
        human_size(size),
    )
}
