//! `shipfn verify`: check a package without running it.

use super::LoadArgs;

/// Check a package without running it: format, digest, hashes, signature,
/// that its module is within the compile bounds, compiles and imports
/// nothing, that its function indices, types and state fit its module (for
/// guests of ABI 3, that the module's closure has the manifest's signature),
/// and (with --trust) that a trusted key signed it.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    load: LoadArgs,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let function = args.load.load()?;
    // Loading decodes only small states; verify decodes any.
    function.check_state()?;
    let package = function.package();
    let signed = match (package.signer(), args.load.trust.keys.is_empty()) {
        (Some(key), false) => format!("signed by trusted key {key}"),
        (Some(key), true) => format!("signed by {key} (no --trust given, so not checked against a trusted key)"),
        (None, _) => "unsigned".into(),
    };
    crate::out::line(&format!(
        "{}: ok: {}, {signed}",
        args.load.package.display(),
        function.manifest().signature_text()
    ))?;
    for line in super::inspect::carried_lines(package) {
        crate::out::line(&line)?;
    }
    Ok(())
}
