//! `shipfn run`: verify a package and call its closure in the sandbox.

use std::path::PathBuf;

use super::{HostArgs, TrustArgs, read};

/// Verify a package, call the closure inside it in a WebAssembly sandbox,
/// and print its result as JSON. Needs nothing but this binary and the file.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The .fnpkg file.
    #[arg(value_name = "PACKAGE")]
    package: PathBuf,
    /// One argument, as JSON; repeat in parameter order. A bare word that is
    /// not JSON is taken as a string.
    #[arg(long = "arg", value_name = "JSON", allow_hyphen_values = true)]
    args: Vec<String>,
    #[command(flatten)]
    trust: TrustArgs,
    #[command(flatten)]
    host: HostArgs,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let bytes = read(&args.package)?;
    let host = args.host.host()?;
    let function = args.trust.load(&host, bytes)?;
    let result = function.call_json_once(&args.args)?;
    println!("{result}");
    Ok(())
}
