//! Direct `Serialize` and `Deserialize` impls for typify's open structs.
//!
//! typify derives serde's traits for a struct and keeps the properties it
//! does not know in a `#[serde(flatten)]` map (`extra`). Flattening makes
//! serde's derive read such a struct through its private buffer of
//! unknown values and write it through a forwarding serializer. This pass
//! replaces the derives of every struct whose shape it recognises with
//! impls that read each known property straight into its field and every
//! other one into `extra`, in one pass over the object, and write the fields
//! and then `extra` into one map:
//!
//! - a property's name is its `rename`, else the field's name; a missing
//!   property takes its `default` (or `default = "path"`), else reads as
//!   serde's derive reads one (`None` for an `Option`, else a `missing
//!   field` error: `crate::decode::required`);
//! - `deserialize_with` is honoured for the two functions the generator
//!   puts there: `Option::deserialize` (a required `Option`: no default)
//!   and `crate::decode::null_as_default` (`null` as empty);
//! - `skip_serializing_if` and `serialize_with = "crate::redact::serialize"`
//!   (which redacts inside `redacted_json`) are honoured, `extra` after the
//!   fields, in its own order, as the flattened map was written;
//! - a property given twice keeps its last value, as `serde_json::Value`
//!   does (serde's derive refuses a known one).
//!
//! Any other serde attribute, on the struct or a field, and any struct
//! without exactly one flattened `serde_json::Map`, keeps serde's derives:
//! what is not recognised is never half-translated. Applied to the whole
//! `types` module, last, when every other pass has set its attributes.

use proc_macro2::TokenStream;
use quote::{ToTokens, format_ident, quote};
use syn::ext::IdentExt;

use super::attrs::{derived, remove_derives, serde_args};

/// How a field reads its value.
#[derive(Clone, Copy, PartialEq)]
enum Read {
    /// As its type reads it.
    Plain,
    /// `null` as the type's default (`crate::decode::null_as_default`).
    NullAsDefault,
}

/// What a missing property makes of a field.
enum Missing {
    /// Its type's `Default`.
    Default,
    /// A function's value (`default = "path"`).
    DefaultWith(syn::ExprPath),
    /// An error: the field has a `deserialize_with` and no default, which
    /// serde's derive reads as required.
    Error,
    /// As serde's derive reads a missing field: `None` for an `Option`, else
    /// an error.
    AsSerde,
    /// `None`: the field is an `Option` (what serde's derive makes of it,
    /// written shorter).
    None,
}

/// One known field.
struct Field {
    ident: syn::Ident,
    /// The property's name on the wire.
    wire: String,
    read: Read,
    missing: Missing,
    skip_if: Option<syn::ExprPath>,
    redacted: bool,
}

/// A struct this pass writes the impls of.
struct Plan {
    name: syn::Ident,
    fields: Vec<Field>,
    /// The flattened map.
    extra: syn::Ident,
    extra_redacted: bool,
}

/// Replaces serde's derives with direct impls on every recognised struct of
/// progenitor's `types` module. Returns how many structs it rewrote.
pub fn apply(file: &mut syn::File) -> Result<usize, super::Error> {
    let Some(items) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        return Ok(0);
    };
    let mut impls = Vec::new();
    for item in items.iter_mut() {
        let syn::Item::Struct(s) = item else { continue };
        let Some(plan) = plan(s).map_err(|e| e.context(&format!("struct `{}`", s.ident)))? else {
            continue;
        };
        strip_serde(s)?;
        impls.push(deserialize_impl(&plan));
        impls.push(serialize_impl(&plan));
    }
    let rewritten = impls.len() / 2;
    for tokens in impls {
        items.extend(super::parse_items(tokens)?);
    }
    Ok(rewritten)
}

/// The plan for `s`, if every part of it is recognised; an error if one
/// of its attributes does not parse (attrs.rs).
fn plan(s: &syn::ItemStruct) -> Result<Option<Plan>, super::Error> {
    let derives = derived(&s.attrs)?;
    let serde_derived = ["Deserialize", "Serialize"]
        .iter()
        .all(|t| derives.iter().any(|d| d == t));
    let container_serde = s.attrs.iter().any(|a| a.path().is_ident("serde"));
    let syn::Fields::Named(named) = &s.fields else {
        return Ok(None);
    };
    if !serde_derived || container_serde || !s.generics.params.is_empty() {
        return Ok(None);
    }
    let mut fields = Vec::new();
    let mut extra = None;
    for f in &named.named {
        let args = serde_args(&f.attrs)?;
        if args.iter().any(|a| a == "flatten") {
            let Some((ident, redacted)) = f.ident.clone().zip(flattened_map(f, &args)) else {
                return Ok(None);
            };
            if extra.replace((ident, redacted)).is_some() {
                return Ok(None);
            }
        } else {
            let Some(field) = field(f, &args) else {
                return Ok(None);
            };
            fields.push(field);
        }
    }
    Ok(extra.map(|(extra, extra_redacted)| Plan {
        name: s.ident.clone(),
        fields,
        extra,
        extra_redacted,
    }))
}

/// The flattened field, if it is a `serde_json::Map<String, Value>` with
/// nothing but the redacting `serialize_with` besides `flatten`: whether it
/// is redacted.
fn flattened_map(f: &syn::Field, args: &[String]) -> Option<bool> {
    let ty = f.ty.to_token_stream().to_string().replace(' ', "");
    if ty != "::serde_json::Map<::std::string::String,::serde_json::Value>" {
        return None;
    }
    let mut redacted = false;
    for arg in args {
        match arg.as_str() {
            "flatten" => {}
            "serialize_with=\"crate::redact::serialize\"" => redacted = true,
            _ => return None,
        }
    }
    Some(redacted)
}

/// A known field, if all of its serde attributes are recognised.
fn field(f: &syn::Field, args: &[String]) -> Option<Field> {
    let ident = f.ident.clone()?;
    let mut field = Field {
        wire: ident.unraw().to_string(),
        ident,
        read: Read::Plain,
        missing: Missing::AsSerde,
        skip_if: None,
        redacted: false,
    };
    let mut with = false;
    for arg in args {
        match arg.split_once('=') {
            None if arg == "default" => field.missing = Missing::Default,
            Some(("rename", value)) => field.wire = literal(value)?,
            Some(("default", value)) => {
                field.missing = Missing::DefaultWith(syn::parse_str(&literal(value)?).ok()?)
            }
            Some(("skip_serializing_if", value)) => {
                field.skip_if = Some(syn::parse_str(&literal(value)?).ok()?)
            }
            Some(("serialize_with", "\"crate::redact::serialize\"")) => field.redacted = true,
            Some(("deserialize_with", "\"crate::decode::null_as_default\"")) => {
                (field.read, with) = (Read::NullAsDefault, true)
            }
            // typify's required `Option`: the plain reading, no default.
            Some(("deserialize_with", "\"::std::option::Option::deserialize\"")) => with = true,
            _ => return None,
        }
    }
    if matches!(field.missing, Missing::AsSerde) {
        let ty = f.ty.to_token_stream().to_string().replace(' ', "");
        if with {
            field.missing = Missing::Error;
        } else if ty.starts_with("::std::option::Option<") {
            field.missing = Missing::None;
        }
    }
    Some(field)
}

/// The text of a string literal written as tokens (`"x"`).
fn literal(tokens: &str) -> Option<String> {
    syn::parse_str::<syn::LitStr>(tokens)
        .ok()
        .map(|l| l.value())
}

/// Removes serde's derives from the struct and its attributes from the
/// fields (without the derives they would not compile).
fn strip_serde(s: &mut syn::ItemStruct) -> Result<(), super::Error> {
    remove_derives(&mut s.attrs, &["Deserialize", "Serialize"])?;
    for field in s.fields.iter_mut() {
        field.attrs.retain(|a| !a.path().is_ident("serde"));
    }
    Ok(())
}

/// The local variable that holds a field's value while the object is read
/// (`__f_`: no other local of the impls starts so, whatever the fields are
/// called).
fn slot(field: &Field) -> syn::Ident {
    format_ident!("__f_{}", field.ident.unraw())
}

/// `Deserialize`: one pass over the object's properties
/// (`crate::decode::object`). The fields' types are inferred from the
/// struct expression at the end.
fn deserialize_impl(plan: &Plan) -> TokenStream {
    let Plan {
        name,
        fields,
        extra,
        ..
    } = plan;
    let expecting = format!("struct {name}");
    let wires = fields.iter().map(|f| &f.wire);
    let indices = 0..fields.len();
    let slots: Vec<syn::Ident> = fields.iter().map(slot).collect();
    let reads = fields.iter().enumerate().map(|(i, f)| read(i, f));
    let finishes = fields.iter().map(finish);
    let idents = fields.iter().map(|f| &f.ident);
    quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: ::serde::Deserializer<'de>,
            {
                crate::decode::object(deserializer)
            }
        }

        impl crate::decode::Object for #name {
            const EXPECTING: &'static str = #expecting;

            fn visit_map<'de, A>(mut __map: A) -> ::std::result::Result<Self, A::Error>
            where
                A: ::serde::de::MapAccess<'de>,
            {
                #( let mut #slots = ::std::option::Option::None; )*
                let mut __extra = ::serde_json::Map::new();
                let __keys = crate::decode::FieldKeys::<crate::decode::Names>(|name: &str| match name {
                    #( #wires => ::std::option::Option::Some(#indices), )*
                    _ => ::std::option::Option::None,
                });
                while let ::std::option::Option::Some(__key) = __map.next_key_seed(__keys)? {
                    match __key {
                        #(#reads)*
                        __key => crate::decode::keep(&mut __map, __key, &mut __extra)?,
                    }
                }
                ::std::result::Result::Ok(Self {
                    #( #idents: #finishes, )*
                    #extra: __extra,
                })
            }
        }
    }
}

/// The match arm that reads field number `index` (again, if it is given
/// twice: the last value is kept).
fn read(index: usize, field: &Field) -> TokenStream {
    let slot = slot(field);
    let value = match field.read {
        Read::Plain => quote!(__map.next_value()?),
        Read::NullAsDefault => quote!(crate::decode::next_or_default(&mut __map)?),
    };
    quote! {
        crate::decode::Key::Known(#index) => _ = #slot.replace(#value),
    }
}

/// The field's value once the object is read.
fn finish(field: &Field) -> TokenStream {
    let slot = slot(field);
    let wire = &field.wire;
    match &field.missing {
        Missing::Default | Missing::None => quote!(#slot.unwrap_or_default()),
        Missing::DefaultWith(path) => quote!(#slot.unwrap_or_else(#path)),
        Missing::Error => quote! {
            #slot.ok_or_else(|| <A::Error as ::serde::de::Error>::missing_field(#wire))?
        },
        Missing::AsSerde => quote!(crate::decode::required(#slot, #wire)?),
    }
}

/// `Serialize`: the fields as a map, then `extra`'s properties; and the
/// same after a union's tag (`serialize_with_tag`, which codegen/unions.rs
/// calls for a kind of this type). A copy of the tag in `extra` (put there
/// by hand, or read by the struct alone) is left out when it names the same
/// kind and refused when it names another (`crate::unknown::extra_without_tag`),
/// as decoding reads the tag given twice: the object written never has the
/// property twice. The fields are written once (`write_entries`, inlined
/// into both); the struct written alone is what it was, and the check costs
/// a kind of a union one lookup in `extra`, before anything is written.
fn serialize_impl(plan: &Plan) -> TokenStream {
    let Plan {
        name,
        fields,
        extra,
        extra_redacted,
    } = plan;
    let writes = fields.iter().map(write);
    let signature = serialize_with_tag();
    let extra_field = extra;
    let extra = match extra_redacted {
        true => quote!(crate::redact::serialize_entries(__extra, __map)?;),
        false => quote! {
            for (__name, __value) in __extra {
                __map.serialize_entry(__name, __value)?;
            }
        },
    };
    quote! {
        impl ::serde::Serialize for #name {
            fn serialize<S>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error>
            where
                S: ::serde::Serializer,
            {
                use ::serde::ser::SerializeMap as _;
                let mut __map = serializer.serialize_map(::std::option::Option::None)?;
                self.write_entries(&mut __map, &self.#extra_field)?;
                __map.end()
            }
        }

        impl #name {
            /// Writes the struct after `tag` (the property, and the kind it
            /// names): a kind of a union. Only a union calls it.
            #[allow(dead_code)]
            pub(crate) #signature {
                use ::serde::ser::SerializeMap as _;
                let ::std::option::Option::Some((__property, __kind)) = tag else {
                    return ::serde::Serialize::serialize(self, serializer);
                };
                let __extra = crate::unknown::extra_without_tag(&self.#extra_field, __property, __kind)?;
                let mut __map = serializer.serialize_map(::std::option::Option::None)?;
                __map.serialize_entry(__property, __kind)?;
                self.write_entries(&mut __map, &__extra)?;
                __map.end()
            }

            /// The fields, then `__extra` (`extra`, or a copy of it
            /// without a union's tag).
            #[inline]
            fn write_entries<M: ::serde::ser::SerializeMap>(
                &self,
                __map: &mut M,
                __extra: &::serde_json::Map<::std::string::String, ::serde_json::Value>,
            ) -> ::std::result::Result<(), M::Error> {
                #(#writes)*
                #extra
                ::std::result::Result::Ok(())
            }
        }
    }
}

/// The signature of `serialize_with_tag`, the inherent method of an open
/// struct and its fallback in a union's `Serialize` (codegen/unions.rs):
/// one call resolves to either, so they must agree.
pub fn serialize_with_tag() -> TokenStream {
    quote! {
        fn serialize_with_tag<S>(
            &self,
            serializer: S,
            tag: ::std::option::Option<(&'static str, &'static str)>,
        ) -> ::std::result::Result<S::Ok, S::Error>
        where
            S: ::serde::Serializer,
    }
}

/// Writes one field, unless its `skip_serializing_if` says not to.
fn write(field: &Field) -> TokenStream {
    let Field {
        ident,
        wire,
        skip_if,
        redacted,
        ..
    } = field;
    let value = match redacted {
        true => quote!(&crate::redact::Redactable(&self.#ident)),
        false => quote!(&self.#ident),
    };
    let entry = quote!(__map.serialize_entry(#wire, #value)?;);
    match skip_if {
        Some(skip) => quote!(if !#skip(&self.#ident) { #entry }),
        None => entry,
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    /// `items` in a `types` module after [`super::apply`], as compact text,
    /// with how many structs were rewritten.
    fn applied(items: proc_macro2::TokenStream) -> (String, usize) {
        let mut file: syn::File = syn::parse2(quote!(pub mod types { #items })).unwrap();
        let n = super::apply(&mut file).unwrap();
        (quote!(#file).to_string().replace(' ', ""), n)
    }

    /// An open struct as typify and guards.rs write it, with `field` added.
    fn open_struct(field: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        quote! {
            #[derive(::serde::Deserialize, ::serde::Serialize, Clone, PartialEq)]
            pub struct S {
                #field
                #[serde(flatten)]
                #[serde(serialize_with = "crate::redact::serialize")]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }
        }
    }

    #[test]
    fn an_open_struct_loses_its_serde_derives_and_attributes_and_gets_impls() {
        let (out, n) = applied(open_struct(quote! {
            #[serde(rename = "type", skip_serializing_if = "::std::option::Option::is_none")]
            pub type_: ::std::option::Option<::std::string::String>,
            #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
            #[serde(deserialize_with = "crate::decode::null_as_default")]
            #[serde(serialize_with = "crate::redact::serialize")]
            pub list: ::std::vec::Vec<::serde_json::Value>,
            pub count: i32,
            #[serde(deserialize_with = "::std::option::Option::deserialize")]
            pub nullable: ::std::option::Option<i32>,
            #[serde(default = "defaults::seven")]
            pub seven: u8,
            // Named as a local of the impls would be, but for the prefix.
            pub map: i32,
        }));
        assert_eq!(n, 1);
        assert!(
            out.contains("#[derive(Clone,PartialEq)]pubstructS"),
            "{out}"
        );
        assert!(!out.contains("#[serde"), "{out}");
        for expected in [
            "impl<'de>::serde::Deserialize<'de>forS",
            "implcrate::decode::ObjectforS",
            "impl::serde::SerializeforS",
            // Names on the wire, matched to their fields' numbers by a
            // function (one type for every struct: the reading is compiled once).
            "crate::decode::FieldKeys::<crate::decode::Names>(|name:&str|matchname{",
            "\"type\"=>::std::option::Option::Some(0usize)",
            "\"count\"=>::std::option::Option::Some(2usize)",
            // Missing: `None`, the default, serde's reading, an error, a function.
            "type_:__f_type_.unwrap_or_default()",
            "list:__f_list.unwrap_or_default()",
            "count:crate::decode::required(__f_count,\"count\")?",
            "nullable:__f_nullable.ok_or_else(||<A::Erroras::serde::de::Error>::missing_field(\"nullable\"))?",
            "seven:__f_seven.unwrap_or_else(defaults::seven)",
            "map:crate::decode::required(__f_map,\"map\")?",
            "crate::decode::Key::Known(1usize)=>_=__f_list.replace(crate::decode::next_or_default(&mut__map)?),",
            // Written: skipped when empty, redacted where marked, `extra` last.
            "if!::std::option::Option::is_none(&self.type_){__map.serialize_entry(\"type\",&self.type_)?;}",
            "__map.serialize_entry(\"list\",&crate::redact::Redactable(&self.list))?;",
            "__map.serialize_entry(\"count\",&self.count)?;",
            // Written alone as before; under a union's tag, the tag first,
            // and a copy of it in `extra` checked before anything.
            "{use::serde::ser::SerializeMapas_;letmut__map=serializer.serialize_map(::std::option::Option::None)?;self.write_entries(&mut__map,&self.extra)?;__map.end()}",
            "let__extra=crate::unknown::extra_without_tag(&self.extra,__property,__kind)?;letmut__map=serializer.serialize_map(::std::option::Option::None)?;__map.serialize_entry(__property,__kind)?;self.write_entries(&mut__map,&__extra)?;__map.end()",
            "crate::redact::serialize_entries(__extra,__map)?;::std::result::Result::Ok(())",
        ] {
            assert!(out.contains(expected), "{expected} not in {out}");
        }
    }

    #[test]
    fn what_is_not_recognised_keeps_serde_s_derives() {
        let unrecognised = [
            // An attribute of a field this pass does not translate.
            open_struct(quote! { #[serde(alias = "b")] pub a: i32, }),
            open_struct(quote! { #[serde(deserialize_with = "mine")] pub a: i32, }),
            open_struct(quote! { #[serde(serialize_with = "mine")] pub a: i32, }),
            open_struct(quote! { #[serde(with = "mine")] pub a: i32, }),
            open_struct(quote! { #[serde(skip)] pub a: i32, }),
            // An attribute of the struct itself, or generics.
            quote! {
                #[derive(::serde::Deserialize, ::serde::Serialize)]
                #[serde(rename_all = "camelCase")]
                pub struct S {
                    pub a: i32,
                    #[serde(flatten)]
                    pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
                }
            },
            quote! {
                #[derive(::serde::Deserialize, ::serde::Serialize)]
                pub struct S<T> {
                    pub a: T,
                    #[serde(flatten)]
                    pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
                }
            },
            // A second flattened field.
            open_struct(quote! { #[serde(flatten)] pub base: Base, }),
            // No flattened map at all (typify's closed objects), or another type.
            quote! {
                #[derive(::serde::Deserialize, ::serde::Serialize)]
                #[serde(deny_unknown_fields)]
                pub struct S { pub a: i32 }
            },
            quote! {
                #[derive(::serde::Deserialize, ::serde::Serialize)]
                pub struct S { pub a: i32, #[serde(flatten)] pub extra: ::std::collections::HashMap<String, i32> }
            },
            // Not derived by serde, or a tuple struct.
            quote! { #[derive(Clone)] pub struct S { #[serde(flatten)] pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value> } },
            quote! { #[derive(::serde::Deserialize, ::serde::Serialize)] pub struct S(pub i32); },
        ];
        for item in unrecognised {
            let before = quote!(pub mod types { #item }).to_string().replace(' ', "");
            let (out, n) = applied(item);
            assert_eq!(n, 0, "{out}");
            assert_eq!(out, before);
        }
    }

    #[test]
    fn extra_not_redacted_is_written_entry_by_entry_after_the_fields() {
        let (out, n) = applied(quote! {
            #[derive(::serde::Deserialize, ::serde::Serialize)]
            pub struct S {
                pub a: i32,
                #[serde(flatten)]
                pub extra: ::serde_json::Map<::std::string::String, ::serde_json::Value>,
            }
        });
        assert_eq!(n, 1);
        let expected = "__map.serialize_entry(\"a\",&self.a)?;\
            for(__name,__value)in__extra{__map.serialize_entry(__name,__value)?;}::std::result::Result::Ok(())";
        assert!(out.contains(expected), "{out}");
    }

    #[test]
    fn a_serde_attribute_that_does_not_parse_stops_the_build() {
        let item = open_struct(quote! { #[serde(rename = = "b")] pub a: i32, });
        let mut file: syn::File = syn::parse2(quote!(pub mod types { #item })).unwrap();
        let err = super::apply(&mut file).unwrap_err().to_string();
        assert!(
            err.starts_with("at JSON pointer /: struct `S`: the generated attribute"),
            "{err}"
        );
    }

    #[test]
    fn only_the_types_module_is_rewritten() {
        let item = open_struct(quote!(pub a: i32,));
        let mut file: syn::File = syn::parse2(quote!(pub mod other { #item } #item)).unwrap();
        assert_eq!(super::apply(&mut file).unwrap(), 0);
    }
}
