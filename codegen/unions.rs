//! Tagged enums for discriminated `oneOf`s, which typify cannot generate.
//!
//! Each union becomes an enum with one tuple variant per kind (wrapping the
//! struct typify generated for the kind's fields) and an `Unknown` variant
//! that keeps the whole object of a kind this crate does not know yet, so a
//! newer server never breaks decoding and nothing it sent is lost. A known tag
//! with a body of the wrong shape is still an error.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::preprocess::Union;

pub fn generate(union: &Union, crate_ident: &str) -> TokenStream {
    let name = format_ident!("{}", union.rust_name);
    let name_str = &union.name;
    let tag_property = &union.tag_property;
    let krate = format_ident!("{}", crate_ident);

    let mut doc = union.description.clone().unwrap_or_default();
    if !doc.is_empty() {
        doc.push_str("\n\n");
    }
    doc.push_str(&format!(
        "One of {} kinds, told apart on the wire by the `{tag_property}` property; \
         a kind this version of the crate does not know decodes into `Unknown`.",
        union.variants.len()
    ));

    let idents: Vec<_> = union
        .variants
        .iter()
        .map(|v| format_ident!("{}", v.rust_variant))
        .collect();
    let types: Vec<_> = union
        .variants
        .iter()
        .map(|v| format_ident!("{}", v.rust_type))
        .collect();
    let tags: Vec<_> = union.variants.iter().map(|v| v.tag.as_str()).collect();
    let docs: Vec<String> = union
        .variants
        .iter()
        .map(|v| {
            let mut d = format!("`{tag_property}: \"{}\"`", v.tag);
            if let Some(desc) = &v.description {
                d.push_str(": ");
                d.push_str(desc);
            }
            d
        })
        .collect();

    // `From` only where a payload type belongs to exactly one variant.
    let from_impls = union.variants.iter().filter_map(|v| {
        let unique = union
            .variants
            .iter()
            .filter(|o| o.rust_type == v.rust_type)
            .count()
            == 1;
        unique.then(|| {
            let ident = format_ident!("{}", v.rust_variant);
            let ty = format_ident!("{}", v.rust_type);
            quote! {
                impl ::std::convert::From<#ty> for #name {
                    fn from(value: #ty) -> Self {
                        Self::#ident(value)
                    }
                }
            }
        })
    });

    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum #name {
            #(
                #[doc = #docs]
                #idents(#types),
            )*
            /// A kind this version of the crate does not know (a newer server
            /// sent it); the whole object, kept verbatim.
            Unknown(::#krate::UnknownKind),
        }

        impl #name {
            /// Name of the property whose value tells the kinds apart.
            pub const TAG_PROPERTY: &'static str = #tag_property;
            /// The kinds this version of the crate knows, as on the wire.
            pub const KNOWN_KINDS: &'static [&'static str] = &[#(#tags),*];

            /// The kind, as on the wire (for `Unknown`, the value received).
            pub fn kind(&self) -> &str {
                match self {
                    #( Self::#idents(_) => #tags, )*
                    Self::Unknown(unknown) => unknown.kind(),
                }
            }
        }

        #(#from_impls)*

        impl ::serde::Serialize for #name {
            fn serialize<S>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error>
            where
                S: ::serde::Serializer,
            {
                #[derive(::serde::Serialize)]
                struct Tagged<'a, T: ::serde::Serialize> {
                    #[serde(rename = #tag_property)]
                    tag: &'a str,
                    #[serde(flatten)]
                    value: &'a T,
                }
                match self {
                    #( Self::#idents(value) => Tagged { tag: #tags, value }.serialize(serializer), )*
                    Self::Unknown(unknown) => ::serde::Serialize::serialize(unknown, serializer),
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: ::serde::Deserializer<'de>,
            {
                use ::serde::de::Error as _;
                let mut object = <::serde_json::Map<::std::string::String, ::serde_json::Value>
                    as ::serde::Deserialize>::deserialize(deserializer)?;
                let kind = match object.get(#tag_property) {
                    Some(::serde_json::Value::String(kind)) => kind.clone(),
                    Some(_) => {
                        return Err(D::Error::custom(::std::format_args!(
                            "{}: the `{}` property must be a string", #name_str, #tag_property
                        )));
                    }
                    None => {
                        return Err(D::Error::custom(::std::format_args!(
                            "{}: missing the `{}` property that tells its kind", #name_str, #tag_property
                        )));
                    }
                };
                match kind.as_str() {
                    #(
                        #tags => {
                            object.remove(#tag_property);
                            ::serde_json::from_value(::serde_json::Value::Object(object))
                                .map(Self::#idents)
                                .map_err(|e| D::Error::custom(::std::format_args!(
                                    "{} of kind `{}`: {}", #name_str, #tags, e
                                )))
                        }
                    )*
                    _ => Ok(Self::Unknown(::#krate::UnknownKind::new(#tag_property, object))),
                }
            }
        }
    }
}
