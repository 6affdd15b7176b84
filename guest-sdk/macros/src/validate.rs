//! Checks each macro's input and gathers what its expansion needs, before
//! anything is written.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{ExprClosure, FnArg, Ident, ItemFn, Pat, ReturnType, Type};

use crate::scan::{Names, free_names, param_name};

/// Most parameters a shipped closure, maker or export takes (the guest
/// SDK's argument tuples go up to eight).
const MAX_PARAMS: usize = 8;

/// A `ship!` closure, checked.
pub struct Ship<'a> {
    pub closure: &'a ExprClosure,
    /// What the body names from outside.
    pub names: Names,
    /// Each parameter's pattern, type (`_` if not written) and name as
    /// signatures show it.
    pub pats: Vec<Pat>,
    pub tys: Vec<Type>,
    pub param_names: Vec<String>,
}

/// A `#[maker]` or `#[export]` function, checked.
pub struct Entry<'a> {
    pub item: &'a ItemFn,
    pub idents: Vec<Ident>,
    pub tys: Vec<Type>,
}

pub fn ship(closure: &ExprClosure) -> syn::Result<Ship<'_>> {
    if let Some(a) = &closure.asyncness {
        return Err(syn::Error::new(a.span(), "an async closure cannot be shipped"));
    }
    if let Some(lifetimes) = &closure.lifetimes {
        return Err(syn::Error::new(lifetimes.span(), "a shipped closure cannot have `for<...>` lifetimes"));
    }
    if closure.inputs.len() > MAX_PARAMS {
        return Err(syn::Error::new(closure.inputs.span(), "a shipped closure takes at most 8 parameters"));
    }
    let names = free_names(closure)?;
    let (mut pats, mut tys, mut param_names) = (Vec::new(), Vec::new(), Vec::new());
    for (i, input) in closure.inputs.iter().enumerate() {
        param_names.push(param_name(input, i));
        match input {
            Pat::Type(t) => {
                pats.push(t.pat.as_ref().clone());
                tys.push(t.ty.as_ref().clone());
            }
            other => {
                pats.push(other.clone());
                tys.push(syn::parse_quote!(_));
            }
        }
    }
    Ok(Ship { closure, names, pats, tys, param_names })
}

pub fn maker(attr: TokenStream, item: &ItemFn) -> syn::Result<Entry<'_>> {
    no_attr_args(attr, "maker")?;
    if let ReturnType::Default = item.sig.output {
        return Err(syn::Error::new(item.sig.span(), "a maker returns a `shipfn_guest::Closure` built with `ship!`"));
    }
    entry(item)
}

pub fn export(attr: TokenStream, item: &ItemFn) -> syn::Result<Entry<'_>> {
    no_attr_args(attr, "export")?;
    entry(item)
}

/// The parameter names and types of a maker or exported function.
fn entry(item: &ItemFn) -> syn::Result<Entry<'_>> {
    if !item.sig.generics.params.is_empty() {
        return Err(syn::Error::new(item.sig.generics.span(), "a shipfn maker or export cannot be generic"));
    }
    if let Some(a) = &item.sig.asyncness {
        return Err(syn::Error::new(a.span(), "a shipfn maker or export cannot be async"));
    }
    let mut idents = Vec::new();
    let mut tys = Vec::new();
    for input in &item.sig.inputs {
        match input {
            FnArg::Typed(t) => match t.pat.as_ref() {
                Pat::Ident(p) => {
                    idents.push(p.ident.clone());
                    tys.push(t.ty.as_ref().clone());
                }
                other => {
                    return Err(syn::Error::new(other.span(), "parameters must be plain names"));
                }
            },
            FnArg::Receiver(r) => {
                return Err(syn::Error::new(r.span(), "a method cannot be a maker or export"));
            }
        }
    }
    if idents.len() > MAX_PARAMS {
        return Err(syn::Error::new(item.sig.inputs.span(), "at most 8 parameters"));
    }
    Ok(Entry { item, idents, tys })
}

fn no_attr_args(attr: TokenStream, what: &str) -> syn::Result<()> {
    if attr.is_empty() { Ok(()) } else { Err(syn::Error::new(attr.span(), format!("#[{what}] takes no arguments"))) }
}
