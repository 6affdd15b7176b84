//! `shipfn module`: the modules this machine keeps by SHA-256, which thin
//! packages name instead of carrying.

use std::path::PathBuf;

use anyhow::{Context, bail};
use shipfn_host::{Host, Keep, ModuleStore, VerifiedPackage, slim_module};

use super::{HostArgs, human_size, read};
use crate::exit::Usage;

/// Manage the module store: the modules that thin packages (`pack --thin`)
/// name by SHA-256. Running a full package adds its module too.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    host: HostArgs,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Add a module: a .wasm guest module (without its custom sections, as
    /// `pack` packs it), or the module of a full package. It is checked (and
    /// compiled) first.
    Add {
        /// A .wasm file or a full .fnpkg.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Keep a .wasm's `name` section, as `pack --keep-names` does.
        #[arg(long)]
        keep_names: bool,
    },
    /// List the stored modules: SHA-256 and size.
    List,
    /// Remove a module, by its SHA-256 or a unique prefix of at least 8 hex digits.
    Remove {
        #[arg(value_name = "HASH")]
        hash: String,
    },
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let host = args.host.host()?;
    let Some(store) = host.module_store() else {
        bail!(Usage("there is no module store without a cache directory (drop --no-cache)".into()));
    };
    match args.command {
        Command::Add { file, keep_names } => add(&host, &file, if keep_names { Keep::Names } else { Keep::Nothing }),
        Command::List => {
            for module in store.list().context("cannot list the module store")? {
                crate::out::line(&format!("{}  {:>10}", hex::encode(module.sha256), human_size(module.size as usize)))?;
            }
            Ok(())
        }
        Command::Remove { hash } => remove(store, &hash),
    }
}

fn add(host: &Host, file: &std::path::Path, keep: Keep) -> anyhow::Result<()> {
    let bytes = read(file)?;
    let wasm = if bytes.starts_with(&shipfn_format::MAGIC) {
        let package =
            VerifiedPackage::from_vec(bytes).with_context(|| format!("{} is not a package", file.display()))?;
        match package.module() {
            Some(_) => package.into_package().module,
            None => {
                bail!(Usage(format!("{} is a thin package: it names its module, it does not carry it", file.display())))
            }
        }
    } else {
        slim_module(&bytes, keep).with_context(|| format!("{} is not a WebAssembly module", file.display()))?
    };
    let sha256 = host.add_module(&wasm).with_context(|| format!("cannot add the module of {}", file.display()))?;
    crate::out::line(&format!("added {} ({})", hex::encode(sha256), human_size(wasm.len())))?;
    Ok(())
}

fn remove(store: &dyn ModuleStore, hash: &str) -> anyhow::Result<()> {
    let prefix = hash.to_ascii_lowercase();
    if prefix.len() < 8 || prefix.len() > 64 || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(Usage(format!("`{hash}` is not a SHA-256 or a prefix of at least 8 hex digits")));
    }
    let modules = store.list().context("cannot list the module store")?;
    let matching: Vec<_> = modules.iter().filter(|m| hex::encode(m.sha256).starts_with(&prefix)).collect();
    match matching.as_slice() {
        [module] => {
            store.remove(&module.sha256).context("cannot remove the module")?;
            crate::out::line(&format!("removed {}", hex::encode(module.sha256)))?;
            Ok(())
        }
        [] => bail!(Usage(format!("no stored module's SHA-256 starts with {prefix}"))),
        _ => bail!(Usage(format!("{} stored modules' SHA-256 start with {prefix}: give more digits", matching.len()))),
    }
}
