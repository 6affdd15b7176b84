//! Writes the code for `ship!`, `#[maker]` and `#[export]`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ExprClosure, FnArg, Ident, ItemFn, Pat, ReturnType, Type};

use crate::scan::{free_names, param_name};

/// `ship!(move |own_arg: i64| own_arg + closure_arg + GLOBAL_ARG.get() + 1)`
pub fn ship(closure: ExprClosure) -> syn::Result<TokenStream> {
    if let Some(a) = &closure.asyncness {
        return Err(syn::Error::new(a.span(), "an async closure cannot be shipped"));
    }
    if let Some(lifetimes) = &closure.lifetimes {
        return Err(syn::Error::new(lifetimes.span(), "a shipped closure cannot have `for<...>` lifetimes"));
    }
    let names = free_names(&closure)?;
    let captures = &names.captures;
    let globals = &names.globals;
    let cty: Vec<Ident> = (0..captures.len()).map(|i| format_ident!("__C{}", i)).collect();
    let gty: Vec<Ident> = (0..globals.len()).map(|i| format_ident!("__G{}", i)).collect();
    // `with` stops serde from inferring bounds for the fields it covers.
    let bound =
        |t: &str| cty.iter().map(|c| format!("{c}: ::shipfn_guest::__private::{t}")).collect::<Vec<_>>().join(", ");
    let (ser_bound, de_bound) = (bound("serde::Serialize"), bound("serde::de::DeserializeOwned"));
    let cinfer = cty.iter().map(|_| quote!(_));
    let ginfer = gty.iter().map(|_| quote!(_));

    let mut pats = Vec::new();
    let mut tys = Vec::new();
    let mut pnames = Vec::new();
    for (i, input) in closure.inputs.iter().enumerate() {
        pnames.push(param_name(input, i));
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
    if pats.len() > 8 {
        return Err(syn::Error::new(closure.inputs.span(), "a shipped closure takes at most 8 parameters"));
    }
    let output = match &closure.output {
        ReturnType::Default => quote!(),
        ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
    };
    let body = &closure.body;
    let sdk = quote!(::shipfn_guest::__private);
    let serde_crate = "::shipfn_guest::__private::serde";
    let probe = |g: &Ident| quote_spanned!(g.span()=> (&&#sdk::Probe(&#g)));
    let restores = globals.iter().map(|g| {
        let p = probe(g);
        quote!(#p.__shipfn_restore(__shipfn_globals.#g);)
    });
    let snapshots = globals.iter().map(|g| {
        let p = probe(g);
        quote!(#g: #p.__shipfn_snapshot())
    });

    Ok(quote! {{
        #[allow(unused_imports)]
        use #sdk::{ViaGlobal as _, ViaOther as _};

        #[derive(#sdk::serde::Serialize, #sdk::serde::Deserialize)]
        #[serde(crate = #serde_crate, bound(serialize = #ser_bound, deserialize = #de_bound))]
        #[allow(non_camel_case_types, non_snake_case)]
        struct __ShipfnCaptures<#(#cty),*> {
            #(#[serde(with = "::shipfn_guest::__private::capture")] #captures: #cty),*
        }

        impl<#(#cty),*> #sdk::StateFields for __ShipfnCaptures<#(#cty),*>
        where #(#cty: #sdk::serde::Serialize + #sdk::serde::de::DeserializeOwned),*
        {
            fn fields() -> ::std::vec::Vec<#sdk::AbiField> {
                ::std::vec![#(#sdk::capture_field::<#cty>(::core::stringify!(#captures))),*]
            }
        }

        #[derive(#sdk::serde::Serialize, #sdk::serde::Deserialize)]
        #[serde(crate = #serde_crate)]
        #[allow(non_camel_case_types, non_snake_case)]
        struct __ShipfnGlobals<#(#gty: #sdk::GlobalField),*> {
            #(#[serde(skip_serializing_if = "GlobalField::skip")] #globals: #gty),*
        }

        impl<#(#gty),*> #sdk::StateFields for __ShipfnGlobals<#(#gty),*>
        where #(#gty: #sdk::GlobalField + #sdk::serde::Serialize + #sdk::serde::de::DeserializeOwned),*
        {
            fn fields() -> ::std::vec::Vec<#sdk::AbiField> {
                #[allow(unused_mut)]
                let mut fields = ::std::vec::Vec::new();
                #(fields.extend(#sdk::global_field::<#gty>(::core::stringify!(#globals)));)*
                fields
            }
        }

        #[allow(unused_imports)]
        use #sdk::GlobalField;

        ::shipfn_guest::Closure::__new(
            |__shipfn_captures: __ShipfnCaptures<#(#cinfer),*>,
             __shipfn_globals: __ShipfnGlobals<#(#ginfer),*>,
             (#(#pats,)*): (#(#tys,)*)| #output {
                #[allow(unused_mut)]
                let __ShipfnCaptures { #(mut #captures),* } = __shipfn_captures;
                #(#restores)*
                #body
            },
            __ShipfnCaptures { #(#captures),* },
            __ShipfnGlobals { #(#snapshots),* },
            &[#(#pnames),*],
        )
    }})
}

/// The parameter names and types of a maker or exported function.
fn params(item: &ItemFn) -> syn::Result<(Vec<Ident>, Vec<Type>)> {
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
    if idents.len() > 8 {
        return Err(syn::Error::new(item.sig.inputs.span(), "at most 8 parameters"));
    }
    Ok((idents, tys))
}

fn no_attr_args(attr: TokenStream, what: &str) -> syn::Result<()> {
    if attr.is_empty() { Ok(()) } else { Err(syn::Error::new(attr.span(), format!("#[{what}] takes no arguments"))) }
}

/// The export that runs `make` on JSON arguments and reports the closure.
fn made_export(export: String, wrapper: Ident, idents: &[Ident], tys: &[Type], make: TokenStream) -> TokenStream {
    let sdk = quote!(::shipfn_guest::__private);
    let names = idents.iter().map(|i| i.to_string());
    quote! {
        #[doc(hidden)]
        #[unsafe(export_name = #export)]
        pub extern "C" fn #wrapper() -> u32 {
            #[allow(unused_imports)]
            use #sdk::{ViaPlain as _, ViaResult as _};
            #sdk::run_maker::<(#(#tys,)*)>(&[#(#names),*], |(#(#idents,)*)| {
                let __shipfn_closure = #make;
                let __shipfn_entry = (&&#sdk::EntryProbe::of(&__shipfn_closure)).__shipfn_entry();
                #sdk::made(__shipfn_closure, __shipfn_entry)
            })
        }
    }
}

/// `#[maker] fn closure_maker(closure_arg: i64) -> Closure<(i64,), i64>`
pub fn maker(attr: TokenStream, item: ItemFn) -> syn::Result<TokenStream> {
    no_attr_args(attr, "maker")?;
    let (idents, tys) = params(&item)?;
    if let ReturnType::Default = item.sig.output {
        return Err(syn::Error::new(item.sig.span(), "a maker returns a `shipfn_guest::Closure` built with `ship!`"));
    }
    let name = &item.sig.ident;
    let export = format!("{}{}", "shipfn_maker_", name);
    let wrapper = format_ident!("__shipfn_maker_{}", name);
    let made = made_export(export, wrapper, &idents, &tys, quote!(#name(#(#idents),*)));
    Ok(quote!(#item #made))
}

/// `#[export] fn add(a: i64, b: i64) -> i64`
pub fn export(attr: TokenStream, item: ItemFn) -> syn::Result<TokenStream> {
    no_attr_args(attr, "export")?;
    let (idents, tys) = params(&item)?;
    let name = &item.sig.ident;
    let output = match &item.sig.output {
        ReturnType::Default => quote!(-> ()),
        ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
    };
    let export = format!("{}{}", "shipfn_fn_", name);
    let wrapper = format_ident!("__shipfn_fn_{}", name);
    let span = Span::call_site();
    // A plain function has no sender-side state: it reads globals at
    // whatever values they have where it runs.
    let closure = quote_spanned!(span=> ::shipfn_guest::ship!(|#(#idents: #tys),*| #output {
        ::shipfn_guest::__private::unshipped(|| #name(#(#idents),*))
    }));
    let made = made_export(export, wrapper, &[], &[], closure);
    Ok(quote!(#item #made))
}
