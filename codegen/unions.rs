//! Tagged enums for discriminated `oneOf`s, which typify cannot generate.
//!
//! Each union becomes an enum with one tuple variant per kind (wrapping the
//! struct typify generated for the kind's fields) and an `Unknown` variant
//! that keeps the whole object of a kind this crate does not know yet, so a
//! newer server never breaks decoding and nothing it sent is lost. A known tag
//! with a body of the wrong shape is still an error.
//!
//! Decoding is one pass over the object (`crate::unknown::union`, which
//! the generated `Union` impl drives): no `serde_json::Value` of the whole
//! object is built first.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::preprocess::Union;

/// The names a union's generated items share.
struct Names {
    /// The enum.
    name: syn::Ident,
    /// The union's name in the spec, for error messages.
    name_str: String,
    tag_property: String,
    /// The generated crate, which holds `UnknownKind`.
    krate: syn::Ident,
    /// Per variant: its identifier, the type it wraps, and its tag.
    idents: Vec<syn::Ident>,
    types: Vec<syn::Ident>,
    tags: Vec<String>,
}

pub fn generate(union: &Union, crate_ident: &str) -> TokenStream {
    let names = Names {
        name: format_ident!("{}", union.rust_name),
        name_str: union.name.clone(),
        tag_property: union.tag_property.clone(),
        krate: format_ident!("{}", crate_ident),
        idents: union
            .variants
            .iter()
            .map(|v| format_ident!("{}", v.rust_variant))
            .collect(),
        types: union
            .variants
            .iter()
            .map(|v| format_ident!("{}", v.rust_type))
            .collect(),
        tags: union.variants.iter().map(|v| v.tag.clone()).collect(),
    };
    let declaration = declaration(union, &names);
    let from_impls = from_impls(union, &names.name);
    let serialize = serialize_impl(&names);
    let deserialize = deserialize_impl(&names);
    quote! {
        #declaration
        #(#from_impls)*
        #serialize
        #deserialize
    }
}

/// The enum, documented, and its inherent impl.
fn declaration(union: &Union, names: &Names) -> TokenStream {
    let Names {
        name,
        tag_property,
        krate,
        idents,
        types,
        tags,
        ..
    } = names;
    let doc = super::with_paragraph(
        union.description.as_deref(),
        &format!(
            "One of {} kinds, told apart on the wire by the `{tag_property}` property; \
             a kind this version of the crate does not know decodes into `Unknown`.",
            union.variants.len()
        ),
    );
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
    }
}

/// `From` only where a payload type belongs to exactly one variant.
fn from_impls<'u>(
    union: &'u Union,
    name: &'u syn::Ident,
) -> impl Iterator<Item = TokenStream> + 'u {
    union.variants.iter().filter_map(move |v| {
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
    })
}

/// Writes a known kind as its tag and then its fields, and an unknown one
/// as it came.
///
/// A kind's struct that codegen/codec.rs rewrote (an open struct, with an
/// `extra` map) has an inherent `serialize_with_tag`, which writes the tag
/// into its own map and leaves a copy of it in `extra` out (or refuses one
/// that names another kind): the object never has the tag twice, and no
/// flattening stands between the fields and the output. A kind of any
/// other shape (a struct left to serde's derive, another union) has no such
/// method; the call then resolves to the local trait's, which writes the
/// tag and flattens the kind's fields after it through serde. Method
/// resolution picks an inherent method before a trait's, so which one a
/// kind gets is settled at compile time, with no check at run time.
fn serialize_impl(names: &Names) -> TokenStream {
    let Names {
        name,
        tag_property,
        idents,
        tags,
        ..
    } = names;
    let signature = super::codec::serialize_with_tag();
    quote! {
        impl ::serde::Serialize for #name {
            fn serialize<S>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error>
            where
                S: ::serde::Serializer,
            {
                /// The tag, then the kind's fields through serde's
                /// flattening: for a kind without a `serialize_with_tag`
                /// of its own.
                #[allow(dead_code)]
                trait Flattened: ::serde::Serialize {
                    #signature {
                        #[derive(::serde::Serialize)]
                        struct Tagged<'a, T: ?Sized + ::serde::Serialize> {
                            #[serde(rename = #tag_property)]
                            tag: &'a str,
                            #[serde(flatten)]
                            value: &'a T,
                        }
                        match tag {
                            ::std::option::Option::Some((_, tag)) => {
                                Tagged { tag, value: self }.serialize(serializer)
                            }
                            ::std::option::Option::None => ::serde::Serialize::serialize(self, serializer),
                        }
                    }
                }
                impl<T: ?Sized + ::serde::Serialize> Flattened for T {}
                match self {
                    #(
                        Self::#idents(value) => value.serialize_with_tag(
                            serializer,
                            ::std::option::Option::Some((Self::TAG_PROPERTY, #tags)),
                        ),
                    )*
                    Self::Unknown(unknown) => ::serde::Serialize::serialize(unknown, serializer),
                }
            }
        }
    }
}

/// Reads the object in one pass (`crate::unknown::union`): the properties
/// before the tag are buffered, the rest streams into the kind the tag
/// names; an unknown tag keeps the whole object.
fn deserialize_impl(names: &Names) -> TokenStream {
    let Names {
        name,
        name_str,
        krate,
        idents,
        ..
    } = names;
    let indices = (0..idents.len()).map(syn::Index::from);
    quote! {
        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D>(deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: ::serde::Deserializer<'de>,
            {
                crate::unknown::union(deserializer)
            }
        }

        impl crate::unknown::Union for #name {
            const NAME: &'static str = #name_str;
            const TAG: &'static str = Self::TAG_PROPERTY;
            const KINDS: &'static [&'static str] = Self::KNOWN_KINDS;

            fn known<'de, D>(index: usize, deserializer: D) -> ::std::result::Result<Self, D::Error>
            where
                D: ::serde::Deserializer<'de>,
            {
                match index {
                    #( #indices => ::serde::Deserialize::deserialize(deserializer).map(Self::#idents), )*
                    _ => ::std::result::Result::Err(<D::Error as ::serde::de::Error>::custom(
                        "no such kind",
                    )),
                }
            }

            fn unknown(kind: ::#krate::UnknownKind) -> Self {
                Self::Unknown(kind)
            }
        }
    }
}
