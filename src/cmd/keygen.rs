//! `shipfn keygen`: make an Ed25519 key pair for signing packages.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use shipfn_host::SecretKey;

use crate::exit::Usage;

/// Make an Ed25519 key pair for signing packages: NAME (the secret key,
/// readable only by you) and NAME.pub (the public key, for `--trust`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Base name of the two files.
    #[arg(short, long, value_name = "NAME", default_value = "shipfn-key")]
    output: PathBuf,
    /// Replace existing files.
    #[arg(long)]
    force: bool,
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let secret_path = args.output.clone();
    let mut public_path = args.output.into_os_string();
    public_path.push(".pub");
    let public_path = PathBuf::from(public_path);
    for path in [&secret_path, &public_path] {
        if path.exists() && !args.force {
            return Err(Usage(format!("{} exists; pass --force to replace it", path.display())).into());
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let key = SecretKey::from_seed(seed);

    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let context = || format!("cannot write {}", secret_path.display());
    let mut file = options.open(&secret_path).with_context(context)?;
    file.write_all(key.to_file_text().as_bytes()).with_context(context)?;
    std::fs::write(&public_path, key.public().to_file_text())
        .with_context(|| format!("cannot write {}", public_path.display()))?;
    eprintln!("wrote {} (secret) and {} (public key {})", secret_path.display(), public_path.display(), key.public());
    Ok(())
}
