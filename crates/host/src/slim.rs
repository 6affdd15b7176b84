//! Smaller modules: the custom sections a receiver never reads (function
//! names, producers, target features, debug info) are dropped when a module
//! is packed. Code, data and every other section are copied byte for byte.

use wasm_encoder::RawSection;
use wasmparser::{Parser, Payload};

use crate::{Error, Result};

/// What [`slim_module`] keeps besides the sections that run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Keep {
    /// No custom section at all.
    #[default]
    Nothing,
    /// The `name` section, so that traps and profiles name functions.
    Names,
}

/// `wasm` without its custom sections (but the `name` section, if `keep`
/// says so). The result is the same for the same input, so packing one
/// module twice names one module.
///
/// # Errors
///
/// [`Error::InvalidModule`] if `wasm` does not parse.
pub fn slim_module(wasm: &[u8], keep: Keep) -> Result<Vec<u8>> {
    let mut module = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(|e| Error::InvalidModule(e.into()))?;
        if let Payload::CustomSection(custom) = &payload
            && !(keep == Keep::Names && custom.name() == "name")
        {
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            module.section(&RawSection { id, data: &wasm[range] });
        }
    }
    Ok(module.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_custom_sections_and_keeps_names_on_request() {
        let mut module = wasm_encoder::Module::new();
        let mut types = wasm_encoder::TypeSection::new();
        types.ty().function([], [wasm_encoder::ValType::I32]);
        module.section(&types);
        module.section(&wasm_encoder::CustomSection { name: "producers".into(), data: vec![1; 100].into() });
        let mut names = wasm_encoder::NameSection::new();
        names.module("m");
        module.section(&names);
        let wasm = module.finish();
        let slim = slim_module(&wasm, Keep::Nothing).unwrap();
        let with_names = slim_module(&wasm, Keep::Names).unwrap();
        assert!(slim.len() < with_names.len() && with_names.len() < wasm.len(), "{wasm:?}");
        let customs = |bytes: &[u8]| -> Vec<String> {
            Parser::new(0)
                .parse_all(bytes)
                .filter_map(|p| match p.unwrap() {
                    Payload::CustomSection(c) => Some(c.name().to_owned()),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(customs(&slim), Vec::<String>::new());
        assert_eq!(customs(&with_names), ["name"]);
        assert_eq!(slim_module(&slim, Keep::Nothing).unwrap(), slim, "slimming is idempotent");
        assert!(slim_module(b"\0asm\x01\0\0\0\x01\xff", Keep::Nothing).is_err());
    }
}
