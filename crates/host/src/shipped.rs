//! Which globals a closure carries (guest ABI 8): decided at pack time from
//! the globals the guest reports it gave a value ([`Reached`]) and the code
//! the closure can run ([`CodeMap`]), and written into the closure's state
//! as an [`Envelope`].
//!
//! A global the sender gave a value ships when code the closure can run
//! names its address. One that code cannot reach is withheld: the guest
//! refuses to read it, so a gap in the analysis is an error on the
//! receiver, never a wrong value. One the pack cannot rule out (a pointer
//! to it in the module's data), or that must ship but has no serde impls,
//! is refused here, naming its declaration.

use shipfn_abi::{Envelope, Reached, ShippedGlobal, TouchedGlobal, short_type_name};

use crate::reach::CodeMap;
use crate::{Error, Result};

/// The table indices a closure's code starts from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Roots {
    pub entry: u32,
    pub trampoline: u32,
    pub body: u32,
}

/// The globals a closure carries and withholds.
#[derive(Debug)]
pub(crate) struct Carried<'r> {
    shipped: Vec<ShippedGlobal<'r>>,
    withheld: Vec<u32>,
}

impl<'r> Carried<'r> {
    /// Decides, for each global the guest reported, whether it ships. With
    /// no `code` (a thin package's returned closure, whose module bytes
    /// this host does not hold), every global that can ship does.
    pub fn decide(reached: &'r Reached, roots: Roots, code: Option<&CodeMap>) -> Result<Carried<'r>> {
        let mut carried = Carried { shipped: Vec::new(), withheld: Vec::new() };
        let Some(code) = code else {
            for global in &reached.globals {
                match (&global.value, global.withheld) {
                    (Some(value), false) => carried.ship(global, value, false),
                    _ => carried.withheld.push(global.addr),
                }
            }
            return Ok(carried);
        };
        if reached.globals.is_empty() {
            return Ok(carried);
        }
        let mut known = reached.trampolines.clone();
        if let Some(known) = &mut known {
            known.push(roots.trampoline);
        }
        let reach = code.reachable(&[roots.entry, roots.trampoline], known.as_deref())?;
        for global in &reached.globals {
            let range = global.addr..global.addr.saturating_add(global.size);
            if reach.names(range.clone()) {
                let why = if global.withheld { WITHHELD } else { NOT_SERDE };
                let value = global.value.as_deref().filter(|_| !global.withheld).ok_or_else(|| refused(global, why))?;
                carried.ship(global, value, code.function_names(roots.body, range)?);
            } else if code.data_points_into(range) {
                return Err(refused(global, IN_DATA));
            } else {
                carried.withheld.push(global.addr);
            }
        }
        Ok(carried)
    }

    fn ship(&mut self, global: &'r TouchedGlobal, value: &'r [u8], by_body: bool) {
        let TouchedGlobal { addr, ty, declared, .. } = global;
        let (ty, declared) = (ty.as_bytes(), declared.as_bytes());
        self.shipped.push(ShippedGlobal { addr: *addr, ty, declared, by_body, value });
    }

    /// The envelope's bytes that come before a state of `len` bytes.
    pub fn head(&self, len: usize) -> Vec<u8> {
        let mut head = postcard::to_allocvec(&(&self.shipped, &self.withheld)).expect("a vector serializes");
        head.extend(postcard::to_allocvec(&(len as u64)).expect("a length serializes"));
        head
    }
}

const NOT_SERDE: &str = "code the closure can run reads it, and its type has no serde impls (it is declared with \
                         `Global::local`), so its value cannot travel: declare it with `Global::new` for a type \
                         with Serialize and Deserialize, or give it no value before the closure is made";

const WITHHELD: &str = "the package this closure was returned from did not carry it (no code of that closure \
                        was found to read it), so its value is not here, and code the returned closure can run \
                        reads it: name the global in the outer closure's body (`let _ = &NAME;`) so that it ships";

const IN_DATA: &str = "the module's data holds a pointer to it, so packing cannot tell whether code the closure \
                       runs reads it: read it by name (not through a pointer kept in a static), or give it no \
                       value before the closure is made";

fn refused(global: &TouchedGlobal, why: &str) -> Error {
    Error::Unshippable(format!(
        "the global `Global<{}>` declared at {} was given a value by the sender, but {why}",
        short_type_name(&global.ty),
        global.declared
    ))
}

/// The envelope of a state of a closure of guest ABI 8 or later.
pub(crate) fn open(state: &[u8]) -> Result<Envelope<'_>> {
    postcard::from_bytes(state).map_err(|e| Error::Abi(format!("the state is not a shipfn envelope: {e}")))
}

/// A global that a package carries, as `shipfn inspect` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CarriedGlobal {
    /// The value's whole type name.
    pub ty: String,
    /// Where the global is declared, `file:line:column`.
    pub declared: String,
    /// Whether the body's compiled code reads it (a helper inlined into the
    /// body counts as the body); else code the closure calls reads it.
    pub by_body: bool,
    /// Size of its value, postcard, in bytes.
    pub size: usize,
}

/// The globals a package carries, and how many the sender gave a value
/// that it withholds (no code of the closure reads them). Empty for a
/// package of a guest before ABI 8, which carries globals only in its
/// state, as captures are.
///
/// # Errors
///
/// [`Error::Abi`] if the state is not an envelope.
pub fn carried_globals(package: &shipfn_format::VerifiedPackage) -> Result<(Vec<CarriedGlobal>, usize)> {
    if package.manifest().abi_version < shipfn_abi::ENVELOPE_ABI {
        return Ok((Vec::new(), 0));
    }
    let envelope = open(package.state())?;
    let carried = envelope
        .globals
        .iter()
        .map(|g| CarriedGlobal {
            ty: String::from_utf8_lossy(g.ty).into_owned(),
            declared: String::from_utf8_lossy(g.declared).into_owned(),
            by_body: g.by_body,
            size: g.value.len(),
        })
        .collect();
    Ok((carried, envelope.withheld.len()))
}
