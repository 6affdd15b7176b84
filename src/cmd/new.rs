//! `shipfn new`: a guest crate that packs and runs as it is.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use crate::exit::Usage;

/// Create a guest crate: a maker that ships a closure, ready for `shipfn
/// pack DIR --make scaled --arg 3` and `shipfn run scaled.fnpkg --arg 4`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The crate's directory; its last component is the crate's name.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The guest SDK (`shipfn-guest`) to depend on [default: the one this
    /// shipfn was built from].
    #[arg(long, value_name = "DIR")]
    sdk: Option<PathBuf>,
}

/// The guest SDK beside the sources this binary was built from.
fn default_sdk() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guest-sdk")
}

pub fn main(args: Args) -> anyhow::Result<()> {
    let name = args
        .dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .filter(|n| n.starts_with(|c: char| c.is_ascii_alphabetic()))
        .ok_or_else(|| {
            Usage(format!("{}: the name must be a crate name (letters, digits, - and _)", args.dir.display()))
        })?
        .to_owned();
    if args.dir.exists() {
        bail!(Usage(format!("{} already exists", args.dir.display())));
    }
    let sdk = args.sdk.unwrap_or_else(default_sdk);
    if !sdk.join("Cargo.toml").is_file() {
        bail!(Usage(format!(
            "no guest SDK at {}: pass --sdk DIR (the guest-sdk directory of shipfn's sources)",
            sdk.display()
        )));
    }
    let sdk = sdk.canonicalize().with_context(|| format!("cannot resolve {}", sdk.display()))?;
    std::fs::create_dir_all(args.dir.join("src")).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let write = |file: &str, text: String| {
        let path = args.dir.join(file);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
    };
    write("Cargo.toml", manifest(&name, &sdk))?;
    write("src/lib.rs", LIB_RS.to_owned())?;
    write(".gitignore", "/target\n".to_owned())?;
    let dir = args.dir.display();
    crate::out::line(&format!("created guest crate `{name}` in {dir}"))?;
    crate::out::line(&format!("  shipfn pack {dir} --make scaled --arg 3 -o scaled.fnpkg"))?;
    crate::out::line("  shipfn run scaled.fnpkg --arg 4      # prints 12")?;
    Ok(())
}

fn manifest(name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
shipfn-guest = {{ path = {sdk:?} }}
serde = {{ version = "1", features = ["derive"] }}

# Small modules: packages carry them.
[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"

# A guest is built for wasm32 on its own, even inside another workspace.
[workspace]
"#,
        sdk = sdk.display().to_string()
    )
}

const LIB_RS: &str = r#"//! A shipfn guest: each `#[maker]` runs on the sender, inside the sandbox,
//! and returns a closure to ship.

use shipfn_guest::{Closure, Global, maker, ship};

/// A global the closure reads: its value is shipped with the closure.
pub static OFFSET: Global<i64> = Global::new(|| 0);

/// `shipfn pack . --make scaled --arg 3`: a closure multiplying by `factor`.
#[maker]
pub fn scaled(factor: i64) -> Closure<(i64,), i64> {
    ship!(move |x: i64| x * factor + OFFSET.get())
}
"#;
