//! Open string enums.
//!
//! typify makes a string `enum` a closed Rust enum, so a value a newer
//! server adds (a new networking type, say) would fail to decode the whole
//! response. Here each becomes an enum with one variant per value the spec
//! lists and an `Unknown(String)` variant that keeps any other value, which
//! is sent back as it came: the same contract as the discriminated unions.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use super::preprocess::OpenEnum;

pub fn generate(open: &OpenEnum) -> TokenStream {
    let name = format_ident!("{}", open.rust_name);
    let idents: Vec<_> = open
        .values
        .iter()
        .map(|(_, ident)| format_ident!("{}", ident))
        .collect();
    let wires: Vec<&str> = open.values.iter().map(|(wire, _)| wire.as_str()).collect();
    let declaration = declaration(open, &name, &idents, &wires);
    let conversions = conversions(&name, &idents, &wires);
    quote! {
        #declaration
        #conversions
    }
}

/// The enum, documented, and its inherent impl.
fn declaration(
    open: &OpenEnum,
    name: &syn::Ident,
    idents: &[syn::Ident],
    wires: &[&str],
) -> TokenStream {
    let doc = super::with_paragraph(
        open.description.as_deref(),
        "A value this version of the crate does not know (a newer server sent it) \
         decodes into `Unknown` and is sent back unchanged.",
    );
    let variant_docs: Vec<String> = wires.iter().map(|w| format!("`{w}`")).collect();
    quote! {
        #[doc = #doc]
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum #name {
            #( #[doc = #variant_docs] #idents, )*
            /// A value this version of the crate does not know, kept verbatim.
            Unknown(::std::string::String),
        }

        impl #name {
            /// The values this version of the crate knows, as on the wire.
            pub const KNOWN_VALUES: &'static [&'static str] = &[ #( #wires ),* ];

            /// The value, as on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #( Self::#idents => #wires, )*
                    Self::Unknown(value) => value.as_str(),
                }
            }
        }
    }
}

/// Text in and out (`Display`, `FromStr`, `From<&str>`) and serde, all
/// through the wire value.
fn conversions(name: &syn::Ident, idents: &[syn::Ident], wires: &[&str]) -> TokenStream {
    quote! {
        impl ::std::fmt::Display for #name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for #name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(match value {
                    #( #wires => Self::#idents, )*
                    other => Self::Unknown(other.to_owned()),
                })
            }
        }

        impl ::std::convert::From<&str> for #name {
            fn from(value: &str) -> Self {
                match value.parse() {
                    Ok(known) => known,
                    Err(never) => match never {},
                }
            }
        }

        impl ::serde::Serialize for #name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for #name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                let value = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from(value.as_str()))
            }
        }
    }
}
