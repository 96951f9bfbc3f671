//! Rewrites of the generated code that keep hostile and broken input in
//! check, whatever progenitor and typify would do, applied to the whole
//! file (the per-version types included). Each is driven by the shape of
//! the generated code, never by a schema's name:
//!
//! - **Path parameters** go through `crate::path::encode_segment`, which
//!   percent-encodes every byte outside RFC 3986's unreserved set;
//!   progenitor's `encode_path` leaves `\`, which URL parsing reads as `/`.
//! - **Responses** are decoded by `crate::decode::response`, which turns
//!   off request-side constraints while it runs; a constrained string
//!   (typify's newtype with a checking `FromStr`) asks whether it is on.
//! - A list or map that is empty when absent is empty when `null`, too.
//! - A field that may hold secrets (a free-form map, or JSON of any shape)
//!   shows its keys, not its values, in `Debug` and in `redacted_json`.
//! - A string `pattern` of a simple subset is checked by a table built
//!   here (patterns.rs), not by a regex engine: the same answer, without
//!   the engine's cost on every constrained string decoded.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::visit_mut::VisitMut;

use super::attrs::{remove_derives, serde_args};

/// Applies every rewrite to `file`. An error if progenitor wrote a path
/// encoding or a response decoding this could not redirect (a form it does
/// not know, such as a turbofish): the build stops rather than ship it.
pub fn apply(file: &mut syn::File) -> Result<(), super::Error> {
    Calls.visit_file_mut(file);
    let mut added = Vec::new();
    harden_items(&mut file.items, &mut added)?;
    file.items.extend(added);
    super::patterns::apply(file);
    let text = file.to_token_stream().to_string().replace(' ', "");
    // (`encode_path` itself stays in progenitor's `use` line, unused.)
    for left in ["encode_path(", "from_response"] {
        if text.contains(left) {
            return Err(super::Error::at(
                "",
                format!(
                    "the generated client calls `{left}` in a form codegen/guards.rs \
                     does not redirect; teach it that form"
                ),
            ));
        }
    }
    Ok(())
}

/// Redirects the generated client's path encoding and response decoding.
struct Calls;

impl VisitMut for Calls {
    /// progenitor builds paths in `format!`, whose arguments are tokens.
    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        mac.tokens = encode_path_in(std::mem::take(&mut mac.tokens));
    }

    fn visit_expr_call_mut(&mut self, call: &mut syn::ExprCall) {
        syn::visit_mut::visit_expr_call_mut(self, call);
        let syn::Expr::Path(func) = &mut *call.func else {
            return;
        };
        let path = func.path.to_token_stream().to_string().replace(' ', "");
        let replacement: Option<syn::Path> = match path.as_str() {
            "encode_path" | "progenitor_client::encode_path" => {
                Some(syn::parse_quote!(crate::path::encode_segment))
            }
            "ResponseValue::from_response" | "progenitor_client::ResponseValue::from_response" => {
                Some(syn::parse_quote!(crate::decode::response))
            }
            _ => None,
        };
        if let Some(replacement) = replacement {
            func.path = replacement;
        }
    }
}

/// `tokens` with every `encode_path` (bare or `progenitor_client::`)
/// replaced by `crate::path::encode_segment`.
fn encode_path_in(tokens: TokenStream) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    let mut out: Vec<TokenTree> = Vec::new();
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) if ident == "encode_path" => {
                // Drop a `progenitor_client ::` written before it.
                let text: String = out.iter().rev().take(3).map(|t| t.to_string()).collect();
                if text == "::progenitor_client" {
                    out.truncate(out.len() - 3);
                }
                out.extend(quote!(crate::path::encode_segment));
            }
            TokenTree::Group(group) => {
                let mut inner = Group::new(group.delimiter(), encode_path_in(group.stream()));
                inner.set_span(group.span());
                out.push(TokenTree::Group(inner));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// The struct-level rewrites, in `items` and every inline module in them;
/// new items (`Debug` impls) go beside their struct. An error if an
/// attribute of a struct does not parse (attrs.rs).
fn harden_items(items: &mut [syn::Item], added: &mut Vec<syn::Item>) -> Result<(), super::Error> {
    let lenient = lenient_newtypes(items);
    for item in items.iter_mut() {
        match item {
            syn::Item::Mod(m) => {
                if let Some((_, content)) = &mut m.content {
                    let mut inner = Vec::new();
                    harden_items(content, &mut inner)?;
                    content.extend(inner);
                }
            }
            syn::Item::Struct(s) => {
                let name = s.ident.to_string();
                let context = |e: super::Error| e.context(&format!("struct `{name}`"));
                null_as_empty(s).map_err(context)?;
                if let Some(debug) = redact(s).map_err(context)? {
                    added.push(debug);
                }
            }
            syn::Item::Impl(imp) => {
                if let Some(name) = deserialize_impl_of(imp)
                    && lenient.contains(&name)
                {
                    make_lenient(imp);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The names of typify's constrained strings: tuple structs over one
/// `String` with a `FromStr` impl, whose `Deserialize` parses through it.
fn lenient_newtypes(items: &[syn::Item]) -> std::collections::BTreeSet<String> {
    let over_string: std::collections::BTreeSet<String> = items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => match &s.fields {
                syn::Fields::Unnamed(f)
                    if f.unnamed.len() == 1 && last_ident(&f.unnamed[0].ty) == Some("String") =>
                {
                    Some(s.ident.to_string())
                }
                _ => None,
            },
            _ => None,
        })
        .collect();
    items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Impl(imp) => {
                let name = deserialize_impl_of(imp)?;
                let body = imp.to_token_stream().to_string().replace(' ', "");
                (over_string.contains(&name)
                    && body.contains("::deserialize(deserializer)?.parse()"))
                .then_some(name)
            }
            _ => None,
        })
        .collect()
}

/// `T` of `impl Deserialize for T`.
fn deserialize_impl_of(imp: &syn::ItemImpl) -> Option<String> {
    let (path, _) = imp.trait_.as_ref()?;
    if path.segments.last()?.ident != "Deserialize" {
        return None;
    }
    match &*imp.self_ty {
        syn::Type::Path(p) => Some(p.path.segments.last()?.ident.to_string()),
        _ => None,
    }
}

/// A constrained string's `Deserialize`: the check only outside responses.
fn make_lenient(imp: &mut syn::ItemImpl) {
    imp.items = vec![syn::parse_quote! {
        fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
        where
            D: ::serde::Deserializer<'de>,
        {
            let value = ::std::string::String::deserialize(deserializer)?;
            // A response is taken as the server sent it; the constraint is
            // the spec's rule for requests.
            if crate::decode::is_lenient() {
                return Ok(Self(value));
            }
            value.parse().map_err(|e: self::error::ConversionError| {
                <D::Error as ::serde::de::Error>::custom(e.to_string())
            })
        }
    }];
}

const MAPS: [&str; 3] = ["BTreeMap", "HashMap", "Map"];

/// A `#[serde(default)]` list or map reads `null` as empty.
fn null_as_empty(s: &mut syn::ItemStruct) -> Result<(), super::Error> {
    for field in s.fields.iter_mut() {
        let is_container =
            matches!(last_ident(&field.ty), Some(name) if name == "Vec" || MAPS.contains(&name));
        let serde = serde_args(&field.attrs)?;
        let defaulted = serde.iter().any(|a| a == "default");
        let flattened = serde.iter().any(|a| a == "flatten");
        let custom = serde
            .iter()
            .any(|a| a.starts_with("deserialize_with") || a.starts_with("with"));
        if is_container && defaulted && !flattened && !custom {
            field.attrs.push(syn::parse_quote!(
                #[serde(deserialize_with = "crate::decode::null_as_default")]
            ));
        }
    }
    Ok(())
}

/// For a struct with fields that may hold secrets: a `serialize_with` on
/// each, and a `Debug` impl (instead of the derived one) that shows their
/// keys only. Returns the impl.
fn redact(s: &mut syn::ItemStruct) -> Result<Option<syn::Item>, super::Error> {
    let secret: Vec<bool> = s.fields.iter().map(|f| may_hold_secrets(&f.ty)).collect();
    if !secret.contains(&true) {
        return Ok(None);
    }
    for (field, _) in s.fields.iter_mut().zip(&secret).filter(|(_, s)| **s) {
        let custom = serde_args(&field.attrs)?
            .iter()
            .any(|a| a.starts_with("serialize_with") || a.starts_with("with"));
        if !custom {
            field.attrs.push(syn::parse_quote!(
                #[serde(serialize_with = "crate::redact::serialize")]
            ));
        }
    }
    if !remove_derives(&mut s.attrs, &["Debug"])? {
        return Ok(None);
    }
    let Some(body) = redacted_debug_body(s, &secret) else {
        return Ok(None);
    };
    let name = &s.ident;
    let label = name.to_string();
    let (generics, type_generics, where_clause) = s.generics.split_for_impl();
    let doc = format!(
        "Shows the keys of free-form maps, never their values, which may be secrets \
         (`{label}`'s derived `Debug` would show them)."
    );
    Ok(Some(syn::parse_quote! {
        #[doc = #doc]
        impl #generics ::std::fmt::Debug for #name #type_generics #where_clause {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                #body
            }
        }
    }))
}

/// The body of the `Debug` impl of `s`: every field, the `secret` ones
/// through `redact::Keys`. `None` for a unit struct.
fn redacted_debug_body(s: &syn::ItemStruct, secret: &[bool]) -> Option<TokenStream> {
    let label = s.ident.to_string();
    let show = |secret: bool, access: TokenStream| match secret {
        true => quote!(&crate::redact::Keys(&#access)),
        false => quote!(&#access),
    };
    match &s.fields {
        syn::Fields::Named(fields) => {
            let entries = fields.named.iter().zip(secret).filter_map(|(f, secret)| {
                let ident = f.ident.as_ref()?;
                let label = ident.to_string().trim_start_matches("r#").to_owned();
                let value = show(*secret, quote!(self.#ident));
                Some(quote!(.field(#label, #value)))
            });
            Some(quote!(f.debug_struct(#label) #(#entries)* .finish()))
        }
        syn::Fields::Unnamed(fields) => {
            let entries = fields
                .unnamed
                .iter()
                .zip(secret)
                .enumerate()
                .map(|(i, (_, secret))| {
                    let index = syn::Index::from(i);
                    let value = show(*secret, quote!(self.#index));
                    quote!(.field(#value))
                });
            Some(quote!(f.debug_tuple(#label) #(#entries)* .finish()))
        }
        syn::Fields::Unit => None,
    }
}

/// Whether a field of type `ty` may hold secrets nobody declared: a map,
/// or JSON of any shape, at any depth of `Option`, `Vec` or `Box`.
fn may_hold_secrets(ty: &syn::Type) -> bool {
    let syn::Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    let name = last.ident.to_string();
    if MAPS.contains(&name.as_str()) || (name == "Value" && p.path.segments.len() > 1) {
        return true;
    }
    if !matches!(name.as_str(), "Option" | "Vec" | "Box") {
        return false;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) => args.args.iter().any(|a| match a {
            syn::GenericArgument::Type(inner) => may_hold_secrets(inner),
            _ => false,
        }),
        _ => false,
    }
}

/// The last path segment's name of a type (`Vec` of `::std::vec::Vec<T>`).
fn last_ident(ty: &syn::Type) -> Option<&'static str> {
    let syn::Type::Path(p) = ty else { return None };
    let ident = p.path.segments.last()?.ident.to_string();
    [
        "String", "Vec", "BTreeMap", "HashMap", "Map", "Value", "Option", "Box",
    ]
    .into_iter()
    .find(|known| ident == *known)
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// `items` after [`super::apply`], as compact text.
    fn applied(items: proc_macro2::TokenStream) -> String {
        let mut file: syn::File = syn::parse2(items).unwrap();
        super::apply(&mut file).unwrap();
        quote!(#file).to_string().replace(' ', "")
    }

    #[test]
    fn path_encoding_and_decoding_go_through_the_crate_everywhere() {
        let out = applied(quote! {
            fn call() {
                let a = encode_path(&x);
                let b = progenitor_client::encode_path(&y);
                let url = format!("{}/{}", base, progenitor_client::encode_path(&z));
                let nested = format!("{}", vec![encode_path(&w)]);
                let other = format!("{}", encode(&v));
                let r = ResponseValue::from_response(response);
                let s = progenitor_client::ResponseValue::from_response(response);
                let t = ResponseValue::new(x);
            }
        });
        for expected in [
            "leta=crate::path::encode_segment(&x)",
            "letb=crate::path::encode_segment(&y)",
            "format!(\"{}/{}\",base,crate::path::encode_segment(&z))",
            "vec![crate::path::encode_segment(&w)]",
            "format!(\"{}\",encode(&v))",
            "letr=crate::decode::response(response)",
            "lets=crate::decode::response(response)",
            "lett=ResponseValue::new(x)",
        ] {
            assert!(out.contains(expected), "{expected} not in {out}");
        }
        assert!(
            !out.contains("encode_path") && !out.contains("from_response"),
            "{out}"
        );
    }

    #[test]
    fn a_call_left_unredirected_stops_the_build() {
        for call in [
            quote!(
                fn f() {
                    let r = ResponseValue::from_response::<T>(response);
                }
            ),
            quote!(
                fn f() {
                    let p = other::encode_path(&x);
                }
            ),
        ] {
            let mut file: syn::File = syn::parse2(call).unwrap();
            let err = super::apply(&mut file).unwrap_err();
            assert!(err.to_string().contains("guards.rs"), "{err}");
        }
    }

    #[test]
    fn only_constrained_strings_are_lenient_in_responses() {
        let deserialize = |name: proc_macro2::TokenStream| {
            quote! {
                impl<'de> ::serde::Deserialize<'de> for #name {
                    fn deserialize<D>(deserializer: D) -> Result<Self, D::Error> {
                        ::std::string::String::deserialize(deserializer)?.parse().map_err(|e| e)
                    }
                }
            }
        };
        let (id, number, pair, named) = (
            deserialize(quote!(Id)),
            deserialize(quote!(Number)),
            deserialize(quote!(Pair)),
            deserialize(quote!(Named)),
        );
        let out = applied(quote! {
            pub struct Id(::std::string::String);
            #id
            pub struct Number(u64);
            #number
            pub struct Pair(::std::string::String, ::std::string::String);
            #pair
            pub struct Named { value: ::std::string::String }
            #named
            pub struct Plain(::std::string::String);
            impl<'de> ::serde::Deserialize<'de> for Plain {
                fn deserialize<D>(deserializer: D) -> Result<Self, D::Error> { todo!() }
            }
        });
        assert_eq!(
            out.matches("crate::decode::is_lenient()").count(),
            1,
            "{out}"
        );
        assert!(out.contains("forId{fndeserialize"), "{out}");
        let id_impl = &out[out.find("forId{").unwrap()..out.find("pubstructNumber").unwrap()];
        assert!(id_impl.contains("is_lenient"), "{id_impl}");
    }

    #[test]
    fn a_serde_attribute_that_does_not_parse_stops_the_build() {
        // Skipped unread, its `with` would be missed: `null_as_default`
        // added beside it, two readers for one field.
        let mut file: syn::File = syn::parse2(quote! {
            pub mod types {
                pub struct S {
                    #[serde(default)]
                    #[serde(with = = "mine")]
                    pub list: ::std::vec::Vec<u8>,
                }
            }
        })
        .unwrap();
        let err = super::apply(&mut file).unwrap_err().to_string();
        assert!(
            err.starts_with("at JSON pointer /: struct `S`: the generated attribute"),
            "{err}"
        );
    }

    #[test]
    fn defaulted_lists_and_maps_read_null_as_empty_and_nothing_else_does() {
        let out = applied(quote! {
            pub struct S {
                #[serde(default)]
                pub list: ::std::vec::Vec<u8>,
                #[serde(default, skip_serializing_if = "x")]
                pub map: ::std::collections::BTreeMap<String, String>,
                pub required: ::std::vec::Vec<u8>,
                #[serde(default)]
                pub option: ::std::option::Option<u8>,
                #[serde(flatten, default)]
                pub extra: ::serde_json::Map<String, ::serde_json::Value>,
                #[serde(default, deserialize_with = "mine")]
                pub custom: ::std::vec::Vec<u8>,
                #[serde(default, with = "mine")]
                pub with: ::std::vec::Vec<u8>,
            }
        });
        // A field's attributes end the text before its `pub`.
        let lenient: Vec<bool> = out
            .split("pub")
            .skip(1)
            .take(7)
            .map(|before| before.contains("null_as_default"))
            .collect();
        assert_eq!(
            lenient,
            [true, true, false, false, false, false, false],
            "{out}"
        );
    }

    #[test]
    fn fields_that_may_hold_secrets_are_redacted_unless_serialised_their_own_way() {
        let out = applied(quote! {
            #[derive(Clone, Debug, PartialEq)]
            pub struct S {
                pub name: String,
                pub headers: ::std::collections::BTreeMap<String, String>,
                pub any: ::std::option::Option<::serde_json::Value>,
                pub list: ::std::vec::Vec<::std::collections::HashMap<String, u8>>,
                pub boxed: ::std::boxed::Box<::serde_json::Map<String, ::serde_json::Value>>,
                #[serde(serialize_with = "mine")]
                pub own: ::std::collections::BTreeMap<String, String>,
                #[serde(with = "mine")]
                pub with: ::std::collections::BTreeMap<String, String>,
                pub local_value: Value,
            }
            #[derive(Debug)]
            pub struct Tuple(pub ::std::collections::BTreeMap<String, String>, pub u8);
            #[derive(Debug)]
            pub struct Clean { pub name: String }
            pub struct NoDebug { pub map: ::std::collections::BTreeMap<String, String> }
        });
        let s = &out[..out.find("pubstructTuple").unwrap()];
        // A field's attributes end the text before its `pub`.
        let redacted: Vec<bool> = s
            .split("pub")
            .skip(1)
            .take(8)
            .map(|before| before.contains("crate::redact::serialize"))
            .collect();
        assert_eq!(
            redacted,
            [false, true, true, true, true, false, false, false],
            "{s}"
        );
        assert!(s.contains("#[derive(Clone,PartialEq)]"), "{s}");
        for shown in [
            ".field(\"name\",&self.name)",
            ".field(\"headers\",&crate::redact::Keys(&self.headers))",
            ".field(\"any\",&crate::redact::Keys(&self.any))",
            ".field(\"local_value\",&self.local_value)",
        ] {
            assert!(out.contains(shown), "{shown} not in {out}");
        }
        assert!(
            out.contains(
                "debug_tuple(\"Tuple\").field(&crate::redact::Keys(&self.0)).field(&self.1)"
            ),
            "{out}"
        );
        assert!(!out.contains("#[derive()]"), "{out}");
        assert!(out.contains("#[derive(Debug)]pubstructClean"), "{out}");
        assert!(!out.contains("DebugforNoDebug"), "{out}");
        assert!(!out.contains("DebugforClean"), "{out}");
        assert_eq!(out.matches("impl::std::fmt::Debugfor").count(), 2, "{out}");
    }
}
