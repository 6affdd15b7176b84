//! Procedural macros of `shipfn-guest`; use them through that crate.
//!
//! Each macro is parse → validate → expand: `scan` finds what a closure
//! body names from outside, `expand` writes the code.
#![deny(missing_docs)]

mod expand;
mod scan;

use proc_macro::TokenStream;

/// Turns a closure into a shippable `shipfn_guest::Closure`. See the
/// `shipfn-guest` crate docs.
#[proc_macro]
pub fn ship(input: TokenStream) -> TokenStream {
    let closure = syn::parse_macro_input!(input as syn::ExprClosure);
    expand::ship(closure).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Marks a function that returns a `Closure` as a maker that `shipfn pack
/// --make NAME` can run. See the `shipfn-guest` crate docs.
#[proc_macro_attribute]
pub fn maker(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    expand::maker(attr.into(), item).unwrap_or_else(syn::Error::into_compile_error).into()
}

/// Marks a plain function that `shipfn pack --fn NAME` can pack. See the
/// `shipfn-guest` crate docs.
#[proc_macro_attribute]
pub fn export(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = syn::parse_macro_input!(item as syn::ItemFn);
    expand::export(attr.into(), item).unwrap_or_else(syn::Error::into_compile_error).into()
}
