//! `shipfn keygen`: make an Ed25519 key pair for signing packages.

use std::io::Write;
use std::path::PathBuf;

use shipfn_host::SecretKey;

use super::write_atomically;
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
        if path.symlink_metadata().is_ok() && !args.force {
            return Err(Usage(format!("{} exists; pass --force to replace it", path.display())).into());
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness from the OS: {e}"))?;
    let key = SecretKey::from_seed(seed);
    // Both files are written afresh and renamed into place: a secret key
    // written over an existing file would keep that file's mode and owner.
    write_atomically(&secret_path, 0o600, |file| file.write_all(key.to_file_text().as_bytes()))?;
    write_atomically(&public_path, 0o644, |file| file.write_all(key.public().to_file_text().as_bytes()))?;
    crate::out::note(&format!(
        "wrote {} (secret) and {} (public key {})",
        secret_path.display(),
        public_path.display(),
        key.public()
    ));
    Ok(())
}
