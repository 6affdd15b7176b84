//! `shipfn run`: verify a package and call its closure in the sandbox.

use super::LoadArgs;

/// Verify a package, call the closure inside it in a WebAssembly sandbox,
/// and print its result as JSON. Needs nothing but this binary and the file.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One argument, as JSON; repeat in parameter order. A bare word that is
    /// not JSON is taken as a string.
    #[arg(long = "arg", value_name = "JSON", allow_hyphen_values = true)]
    args: Vec<String>,
    #[command(flatten)]
    load: LoadArgs,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let result = args.load.load()?.call_json_once(&args.args)?;
    crate::out::json_line(&result)
}
