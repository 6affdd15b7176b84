//! Procedural macros of `shipfn-guest`; use them through that crate.
//!
//! Each macro is parse → validate → expand: `validate` checks the input
//! and gathers what expansion needs (for `ship!`, `scan` finds what the
//! closure body names from outside), `expand` writes the code. An attribute
//! macro that refuses its input still emits the item, so that the only error
//! is the macro's own, not a cascade of "cannot find function".
#![deny(missing_docs)]

mod expand;
mod locals;
mod scan;
mod validate;

use proc_macro::TokenStream;

/// Turns a closure into a shippable `shipfn_guest::Closure`. See the
/// `shipfn-guest` crate docs.
#[proc_macro]
pub fn ship(input: TokenStream) -> TokenStream {
    if let Some(error) = locals::refused(input.clone().into()) {
        return error.into_compile_error().into();
    }
    let closure = syn::parse_macro_input!(input as syn::ExprClosure);
    validate::ship(&closure).map(expand::ship).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Marks a function that returns a `Closure` as a maker that `shipfn pack
/// --make NAME` can run. See the `shipfn-guest` crate docs.
#[proc_macro_attribute]
pub fn maker(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut item = syn::parse_macro_input!(item as syn::ItemFn);
    locals::refuse_screaming_locals(&mut item);
    match validate::maker(attr.into(), &item) {
        Ok(entry) => expand::maker(entry),
        Err(e) => item_and_error(&item, e),
    }
    .into()
}

/// Marks a plain function that `shipfn pack --fn NAME` can pack. See the
/// `shipfn-guest` crate docs.
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    match validate::export(attr.into(), &item) {
        Ok(entry) => expand::export(entry),
        Err(e) => item_and_error(&item, e),
    }
    .into()
}

fn item_and_error(item: &syn::ItemFn, error: syn::Error) -> proc_macro2::TokenStream {
    let error = error.into_compile_error();
    quote::quote!(#item #error)
}
