//! Writes the code for `ship!`, `#[maker]` and `#[export]`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use shipfn_abi::{FN_PREFIX, MAKER_PREFIX};
use syn::{Ident, ReturnType, Type};

use crate::validate::{Entry, Ship};

/// `ship!(move |own_arg: i64| own_arg + closure_arg + GLOBAL_ARG.get() + 1)`
pub fn ship(ship: Ship<'_>) -> TokenStream {
    let Ship { closure, names, pats, tys, param_names: pnames } = ship;
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

    // Each capture is stored as `ship!` can: see the SDK's `stateless` module.
    let raw: Vec<Ident> = (0..captures.len()).map(|i| format_ident!("__shipfn_raw_{}", i)).collect();
    let wraps = captures.iter().map(
        |c| quote_spanned!(c.span()=> #c: (&&&::shipfn_guest::__private::CaptureProbe::of(&#c)).__shipfn_wrap()(#c)),
    );
    let unwraps = captures
        .iter()
        .zip(&raw)
        .map(|(c, r)| quote!(#[allow(unused_mut)] let mut #c = (&&#sdk::UnwrapProbe::of(&#r)).__shipfn_unwrap()(#r);));

    // A SCREAMING_CASE name is taken for a global, a const or a static:
    // an item, which a nested fn may name. A local of that name is not, and
    // would otherwise be captured by the body behind `ship!`'s back.
    let names_an_item = globals.iter().map(|g| quote_spanned!(g.span()=> let _ = &#g;));

    quote! {{
        #[allow(dead_code, non_snake_case)]
        fn __shipfn_a_SCREAMING_CASE_name_must_be_a_global_const_or_static_not_a_local_variable() {
            #(#names_an_item)*
        }

        #[allow(unused_imports)]
        use #sdk::{ViaGlobal as _, ViaOther as _};
        #[allow(unused_imports)]
        use #sdk::{ViaRefused as _, ViaSerde as _, ViaStateless as _};
        #[allow(unused_imports)]
        use #sdk::{ViaRefusedValue as _, ViaStatelessValue as _, ViaValue as _};

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
            #[allow(unused_variables)]
            fn formats(builder: &mut #sdk::Builder) -> ::std::vec::Vec<#sdk::Traced> {
                ::std::vec![#(#sdk::capture_format::<#cty>(builder)),*]
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
            #[allow(unused_variables)]
            fn formats(builder: &mut #sdk::Builder) -> ::std::vec::Vec<#sdk::Traced> {
                #[allow(unused_mut)]
                let mut formats = ::std::vec::Vec::new();
                #(formats.extend(#sdk::global_format::<#gty>(builder));)*
                formats
            }
        }

        #[allow(unused_imports)]
        use #sdk::GlobalField;

        ::shipfn_guest::Closure::__new(
            |__shipfn_captures: __ShipfnCaptures<#(#cinfer),*>,
             __shipfn_globals: __ShipfnGlobals<#(#ginfer),*>,
             (#(#pats,)*): (#(#tys,)*)| #output {
                let __ShipfnCaptures { #(#captures: #raw),* } = __shipfn_captures;
                #(#unwraps)*
                #(#restores)*
                #body
            },
            __ShipfnCaptures { #(#wraps),* },
            __ShipfnGlobals { #(#snapshots),* },
            &[#(#pnames),*],
        )
    }}
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
            use #sdk::{ViaPlain as _, ViaResult as _, ViaReturns as _, ViaReturnsResult as _};
            #[allow(unused_imports)]
            use #sdk::{ViaReturns2 as _, ViaReturns2Result as _, ViaReturns3 as _, ViaReturns3Result as _};
            #[allow(unused_imports)]
            use #sdk::{
                ViaDeserialize as _, ViaFallible as _, ViaNoTrace as _, ViaReturnedDeserialize as _,
                ViaReturnedFallible as _, ViaReturnedNoTrace as _,
            };
            #sdk::run_maker::<(#(#tys,)*)>(&[#(#names),*], |(#(#idents,)*)| {
                let __shipfn_closure = #make;
                let __shipfn_result = (&&&&&&#sdk::ResultProbe::of(&__shipfn_closure)).__shipfn_result();
                let __shipfn_entry =
                    (&&&&&&&#sdk::EntryProbe::of(&__shipfn_closure, __shipfn_result)).__shipfn_entry();
                #sdk::made(__shipfn_closure, __shipfn_entry)
            })
        }
    }
}

/// `#[maker] fn closure_maker(closure_arg: i64) -> Closure<(i64,), i64>`
pub fn maker(Entry { item, idents, tys }: Entry<'_>) -> TokenStream {
    let name = &item.sig.ident;
    let export = format!("{MAKER_PREFIX}{name}");
    let wrapper = format_ident!("__shipfn_maker_{}", name);
    let made = made_export(export, wrapper, &idents, &tys, quote!(#name(#(#idents),*)));
    quote!(#item #made)
}

/// `#[export] fn add(a: i64, b: i64) -> i64`
pub fn export(Entry { item, idents, tys }: Entry<'_>) -> TokenStream {
    let name = &item.sig.ident;
    let output = match &item.sig.output {
        ReturnType::Default => quote!(-> ()),
        ReturnType::Type(arrow, ty) => quote!(#arrow #ty),
    };
    let export = format!("{FN_PREFIX}{name}");
    let wrapper = format_ident!("__shipfn_fn_{}", name);
    let span = Span::call_site();
    // A plain function has no sender-side state: it reads globals at
    // whatever values they have where it runs.
    let closure = quote_spanned!(span=> ::shipfn_guest::ship!(|#(#idents: #tys),*| #output {
        ::shipfn_guest::__private::unshipped(|| #name(#(#idents),*))
    }));
    let made = made_export(export, wrapper, &[], &[], closure);
    quote!(#item #made)
}
