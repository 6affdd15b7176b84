//! `shipfn run`: verify a package and call its closure in the sandbox.

use std::path::PathBuf;

use super::{LoadArgs, json_args};
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
    let result = args.load.load()?.call_json_once(&call_args)?;
    crate::out::json_line(&result)
}
