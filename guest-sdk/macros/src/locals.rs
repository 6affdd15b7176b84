//! A SCREAMING_CASE local named in a `ship!` body.
//!
//! `ship!` sees only its own tokens, so it takes every SCREAMING_CASE name
//! for a global, a const or a static, and a local of such a name would be a
//! rustc error about fn items. A `#[maker]` sees its whole body: where one
//! of its `ship!` calls names a SCREAMING_CASE local of the maker, that call
//! becomes `ship!(__shipfn_refused "…")`: an error at the name that says
//! what to do, the only one.

use std::collections::BTreeSet;

use syn::visit::{self, Visit};
use syn::visit_mut::VisitMut;
use syn::{ExprClosure, FnArg, ItemFn};

use crate::scan::{free_names, is_screaming};

/// The word that starts a refused `ship!` call's tokens.
const REFUSED: &str = "__shipfn_refused";

/// The error of a `ship!` call that [`refuse_screaming_locals`] refused.
pub fn refused(input: proc_macro2::TokenStream) -> Option<syn::Error> {
    let mut tokens = input.into_iter();
    match (tokens.next(), tokens.next()) {
        (Some(proc_macro2::TokenTree::Ident(word)), Some(proc_macro2::TokenTree::Literal(lit))) if word == REFUSED => {
            let message = syn::parse2::<syn::LitStr>(proc_macro2::TokenTree::Literal(lit).into()).ok()?;
            Some(syn::Error::new(message.span(), message.value()))
        }
        _ => None,
    }
}

/// Marks each `ship!` in `item` that names a SCREAMING_CASE local of the
/// maker as refused, with the message for that name.
pub fn refuse_screaming_locals(item: &mut ItemFn) {
    let mut locals = Locals::default();
    for input in &item.sig.inputs {
        if let FnArg::Typed(t) = input {
            locals.bind(&t.pat);
        }
    }
    locals.visit_block(&item.block);
    if !locals.names.is_empty() {
        Refuse { locals: &locals.names }.visit_block_mut(&mut item.block);
    }
}

/// SCREAMING_CASE names bound by `let`, parameters and closure parameters
/// (not by `match` arms, where such a name is a const pattern).
#[derive(Default)]
struct Locals {
    names: BTreeSet<String>,
}

impl Locals {
    fn bind(&mut self, pat: &syn::Pat) {
        struct Idents<'a>(&'a mut BTreeSet<String>);
        impl Visit<'_> for Idents<'_> {
            fn visit_pat_ident(&mut self, p: &syn::PatIdent) {
                let name = p.ident.to_string();
                if is_screaming(&name) {
                    self.0.insert(name);
                }
                visit::visit_pat_ident(self, p);
            }
        }
        Idents(&mut self.names).visit_pat(pat);
    }
}

impl Visit<'_> for Locals {
    fn visit_local(&mut self, local: &syn::Local) {
        self.bind(&local.pat);
        visit::visit_local(self, local);
    }
    fn visit_expr_closure(&mut self, closure: &ExprClosure) {
        for input in &closure.inputs {
            self.bind(input);
        }
        visit::visit_expr_closure(self, closure);
    }
    fn visit_item(&mut self, _: &syn::Item) {}
}

struct Refuse<'a> {
    locals: &'a BTreeSet<String>,
}

impl VisitMut for Refuse<'_> {
    fn visit_macro_mut(&mut self, m: &mut syn::Macro) {
        if m.path.segments.last().is_none_or(|s| s.ident != "ship") {
            return;
        }
        let Ok(closure) = m.parse_body::<ExprClosure>() else { return };
        let Ok(names) = free_names(&closure) else { return };
        if let Some(local) = names.globals.iter().find(|g| self.locals.contains(&g.to_string())) {
            let message = format!(
                "`{local}` is a local variable, and `ship!` takes a SCREAMING_CASE name for a global, a const or a \
                 static: rename the local to snake_case (`{}`) and `ship!` captures it",
                local.to_string().to_lowercase()
            );
            let word = proc_macro2::Ident::new(REFUSED, local.span());
            let mut message = proc_macro2::Literal::string(&message);
            message.set_span(local.span());
            m.tokens = quote::quote!(#word #message);
        }
    }
    fn visit_item_mut(&mut self, _: &mut syn::Item) {}
}
