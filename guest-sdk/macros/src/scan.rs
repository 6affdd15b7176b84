//! Finds the names a closure body takes from its surroundings.
//!
//! Like serde_closure, this works on syntax: a single-segment path that no
//! pattern in the closure binds is a capture when it is snake_case, and a
//! candidate global when it is SCREAMING_CASE. A path in call position
//! (`helper(x)`) names a function and is left alone.

use std::collections::BTreeSet;

use proc_macro2::Span;
use syn::visit::{self, Visit};
use syn::{Expr, ExprClosure, Ident, LitStr, Pat, Token, punctuated::Punctuated};

/// What the body names from outside, in order of first use.
pub struct Names {
    pub captures: Vec<Ident>,
    pub globals: Vec<Ident>,
}

pub fn free_names(closure: &ExprClosure) -> syn::Result<Names> {
    let mut binders = Binders::default();
    binders.visit_expr_closure(closure);
    let mut uses = Uses {
        bound: binders.names,
        seen: BTreeSet::new(),
        names: Names { captures: vec![], globals: vec![] },
        error: None,
    };
    uses.visit_expr(&closure.body);
    match uses.error {
        Some(e) => Err(e),
        None => Ok(uses.names),
    }
}

/// Every name any pattern in the closure binds (its parameters included).
#[derive(Default)]
struct Binders {
    names: BTreeSet<String>,
}

impl Visit<'_> for Binders {
    fn visit_pat_ident(&mut self, p: &syn::PatIdent) {
        self.names.insert(p.ident.to_string());
        visit::visit_pat_ident(self, p);
    }
    fn visit_item(&mut self, _: &syn::Item) {}
    fn visit_macro(&mut self, m: &syn::Macro) {
        for e in macro_args(m) {
            self.visit_expr(&e);
        }
    }
}

struct Uses {
    bound: BTreeSet<String>,
    seen: BTreeSet<String>,
    names: Names,
    error: Option<syn::Error>,
}

impl Uses {
    fn name(&mut self, ident: &Ident) {
        let name = ident.to_string();
        if self.bound.contains(&name) || !self.seen.insert(name.clone()) {
            return;
        }
        if name == "self" {
            self.error.get_or_insert(syn::Error::new(
                ident.span(),
                "a shipped closure cannot capture `self`; bind the fields you need to local variables first",
            ));
        } else if is_screaming(&name) {
            self.names.globals.push(ident.clone());
        } else if name.starts_with(|c: char| c.is_lowercase() || c == '_') {
            self.names.captures.push(ident.clone());
        }
    }
}

pub fn is_screaming(name: &str) -> bool {
    name.chars().any(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn single_ident(path: &syn::ExprPath) -> Option<&Ident> {
    if path.qself.is_some() || path.path.leading_colon.is_some() || path.path.segments.len() != 1 {
        return None;
    }
    let segment = &path.path.segments[0];
    segment.arguments.is_none().then_some(&segment.ident)
}

impl Visit<'_> for Uses {
    fn visit_expr_path(&mut self, e: &syn::ExprPath) {
        if let Some(ident) = single_ident(e) {
            self.name(ident);
        }
    }
    fn visit_expr_call(&mut self, call: &syn::ExprCall) {
        match &*call.func {
            Expr::Path(p) if single_ident(p).is_some() => {}
            other => self.visit_expr(other),
        }
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }
    fn visit_item(&mut self, _: &syn::Item) {}
    fn visit_macro(&mut self, m: &syn::Macro) {
        for e in macro_args(m) {
            self.visit_expr(&e);
        }
    }
}

/// The expressions in a macro call such as `format!("{x}", y + 1)`: the
/// comma-separated arguments that parse as expressions, plus the `{name}`s
/// inlined in a leading format string.
fn macro_args(m: &syn::Macro) -> Vec<Expr> {
    let Ok(args) = m.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) else {
        return vec![];
    };
    let mut out: Vec<Expr> = Vec::new();
    for arg in &args {
        if let Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = arg {
            out.extend(inline_format_names(s));
        }
    }
    out.extend(args);
    out
}

fn inline_format_names(s: &LitStr) -> Vec<Expr> {
    let text = s.value();
    let mut names = vec![];
    let mut rest = text.as_str();
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        if rest.starts_with('{') {
            rest = &rest[1..];
            continue;
        }
        let end = rest.find(['}', ':']).unwrap_or(rest.len());
        let name = &rest[..end];
        if !name.is_empty()
            && name.chars().all(|c| c.is_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
        {
            let ident = Ident::new(name, Span::call_site().located_at(s.span()));
            names.push(Expr::Path(syn::ExprPath { attrs: vec![], qself: None, path: ident.into() }));
        }
    }
    names
}

/// The name each closure parameter shows in signatures.
pub fn param_name(pat: &Pat, index: usize) -> String {
    match pat {
        Pat::Ident(p) => p.ident.to_string(),
        Pat::Type(t) => param_name(&t.pat, index),
        _ => format!("arg{index}"),
    }
}
