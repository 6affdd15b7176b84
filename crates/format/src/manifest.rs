//! The manifest: what a package holds and how to call it.

use serde::{Deserialize, Serialize};
use shipfn_abi::{ABI_VERSION, Field, MIN_ABI_VERSION, Signature, short_type_name};

use crate::{FormatError, Hash, Result};

/// How the closure in a package was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// `shipfn pack --make NAME --arg …`: a maker ran on the sender.
    Maker {
        /// The maker's name.
        name: String,
        /// The maker's arguments, as given (JSON text).
        args: Vec<String>,
    },
    /// `shipfn pack --fn NAME`: a plain exported function.
    Function {
        /// The function's name.
        name: String,
    },
    /// `shipfn run PACKAGE --arg … -o FILE`: the closure that a packaged
    /// closure returned when called with these arguments.
    Returned {
        /// How the closure that returned this one was made.
        by: Box<Source>,
        /// The arguments it was called with (JSON text).
        args: Vec<String>,
    },
}

impl std::fmt::Display for Source {
    /// `maker(3)`, `name`, or `maker(3)(4)` for a returned closure.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Maker { name, args } => write!(f, "{name}({})", args.join(", ")),
            Source::Function { name } => f.write_str(name),
            Source::Returned { by, args } => write!(f, "{by}({})", args.join(", ")),
        }
    }
}

/// What a package holds and how to call it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The tool that wrote the package (`shipfn 0.1.0`).
    pub created_by: String,
    /// The guest ABI the module speaks.
    pub abi_version: u32,
    /// How the closure was made.
    pub source: Source,
    /// Table index of the host-level entry trampoline.
    pub entry: u32,
    /// Table index of the closure's state trampoline.
    pub trampoline: u32,
    /// Table index of the closure's body.
    pub body: u32,
    /// Parameter, result, capture and global types.
    pub signature: Signature,
    /// SHA-256 of the module section.
    pub module_sha256: Hash,
    /// SHA-256 of the state section.
    pub state_sha256: Hash,
}

pub use shipfn_abi::MAX_PARAMS;

impl Manifest {
    /// Checks what can be checked without the module.
    pub fn check(&self) -> Result<()> {
        let bad = |m: String| Err(FormatError::InvalidManifest(m));
        if !(MIN_ABI_VERSION..=ABI_VERSION).contains(&self.abi_version) {
            return bad(format!(
                "guest ABI {} is not supported (this shipfn speaks ABI {MIN_ABI_VERSION} to {ABI_VERSION})",
                self.abi_version
            ));
        }
        if self.entry == 0 || self.trampoline == 0 || self.body == 0 {
            return bad("a function index is null".into());
        }
        let sig = &self.signature;
        if sig.params.len() > MAX_PARAMS {
            return bad(format!("{} parameters (at most {MAX_PARAMS})", sig.params.len()));
        }
        if sig.ok.is_some() != sig.error.is_some() {
            return bad("a fallible result needs both its ok and error types".into());
        }
        let fields = sig.params.iter().chain(&sig.captures).chain(&sig.globals);
        if let Some(f) = fields.clone().find(|f: &&Field| f.name.is_empty() || f.ty.is_empty()) {
            return bad(format!("a field has an empty name or type ({:?}: {:?})", f.name, f.ty));
        }
        Ok(())
    }

    /// The closure: its table indices and signature.
    pub fn closure(&self) -> crate::Closure {
        let signature = self.signature.clone();
        crate::Closure { entry: self.entry, trampoline: self.trampoline, body: self.body, signature }
    }

    /// The closure's signature as Rust, without module paths:
    /// `fn(own_arg: i64) -> i64`.
    pub fn signature_text(&self) -> String {
        let sig = &self.signature;
        let params: Vec<String> =
            sig.params.iter().map(|p| format!("{}: {}", p.name, short_type_name(&p.ty))).collect();
        format!("fn({}) -> {}", params.join(", "), short_type_name(&sig.result))
    }
}
