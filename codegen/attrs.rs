//! Reading the attributes progenitor and typify write on the items they
//! generate: the traits a struct derives and the arguments of a field's
//! `#[serde(..)]`, for the passes that rewrite them (guards.rs, codec.rs).
//!
//! An attribute of either kind that does not parse stops the build: every
//! pass decides what to add or keep from these arguments (whether a field
//! already has its own `serialize_with`, whether a struct may lose serde's
//! derives), so a pass that skipped the attribute unread could add a second
//! `serialize_with` or translate half a struct. Progenitor and typify only
//! write attributes that parse; one that does not is a change of theirs to
//! look at, not to pass over.

use quote::ToTokens;
use syn::punctuated::Punctuated;

use super::Error;

/// The paths in one `#[derive(..)]`.
type Derives = Punctuated<syn::Path, syn::Token![,]>;

/// The paths of `attr` (a `#[derive(..)]`).
fn derive_paths(attr: &syn::Attribute) -> Result<Derives, Error> {
    attr.parse_args_with(Derives::parse_terminated)
        .map_err(|e| unparsable(attr, &e))
}

/// The last segments of the paths the item derives (`Debug` for
/// `::std::fmt::Debug`).
pub fn derived(attrs: &[syn::Attribute]) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        names.extend(
            derive_paths(attr)?
                .iter()
                .filter_map(|p| p.segments.last().map(|s| s.ident.to_string())),
        );
    }
    Ok(names)
}

/// Removes from the item's derives the traits named `names` (matched on the
/// path's last segment); a derive left empty goes. Returns whether any was
/// removed.
pub fn remove_derives(attrs: &mut Vec<syn::Attribute>, names: &[&str]) -> Result<bool, Error> {
    let mut removed = false;
    for attr in attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
        let paths = derive_paths(attr)?;
        let kept: Vec<&syn::Path> = paths
            .iter()
            .filter(|p| {
                let named = p
                    .segments
                    .last()
                    .is_some_and(|s| names.iter().any(|name| s.ident == name));
                removed |= named;
                !named
            })
            .collect();
        *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
    }
    attrs.retain(|a| {
        !(a.path().is_ident("derive")
            && a.to_token_stream().to_string().replace(' ', "") == "#[derive()]")
    });
    Ok(removed)
}

/// The arguments of the item's `#[serde(..)]` attributes, in order, as
/// text without spaces (`default`, `flatten`, `rename="x"`).
pub fn serde_args(attrs: &[syn::Attribute]) -> Result<Vec<String>, Error> {
    let mut args = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let metas = attr
            .parse_args_with(Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated)
            .map_err(|e| unparsable(attr, &e))?;
        args.extend(
            metas
                .iter()
                .map(|m| m.to_token_stream().to_string().replace(' ', "")),
        );
    }
    Ok(args)
}

/// The error for an attribute whose arguments do not parse.
fn unparsable(attr: &syn::Attribute, error: &syn::Error) -> Error {
    Error::at(
        "",
        format!(
            "the generated attribute `{}` does not parse ({error}); codegen/attrs.rs \
             reads every `derive` and `serde` attribute, and cannot leave one unread",
            attr.to_token_stream()
        ),
    )
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::{derived, remove_derives, serde_args};

    #[test]
    fn serde_arguments_are_read_in_order_from_every_serde_attribute() {
        let field: syn::Field = parse_quote! {
            #[doc = "x"]
            #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
            #[serde(default)]
            pub type_: Option<String>
        };
        assert_eq!(
            serde_args(&field.attrs).unwrap(),
            [
                "rename=\"type\"",
                "skip_serializing_if=\"Option::is_none\"",
                "default"
            ]
        );
        let plain: syn::Field = parse_quote!(pub a: i32);
        assert!(serde_args(&plain.attrs).unwrap().is_empty());
    }

    #[test]
    fn an_attribute_that_does_not_parse_is_an_error_naming_it() {
        let field: syn::Field = parse_quote! {
            #[serde(default)]
            #[serde(rename = = "x")]
            pub a: i32
        };
        let err = serde_args(&field.attrs).unwrap_err().to_string();
        assert!(
            err.replace(' ', "")
                .contains("`#[serde(rename==\"x\")]`doesnotparse"),
            "{err}"
        );
        let item: syn::ItemStruct = parse_quote! {
            #[derive(Clone, 1)]
            pub struct S;
        };
        let err = derived(&item.attrs).unwrap_err().to_string();
        assert!(
            err.replace(' ', "")
                .contains("`#[derive(Clone,1)]`doesnotparse"),
            "{err}"
        );
        let mut attrs = item.attrs.clone();
        assert!(remove_derives(&mut attrs, &["Clone"]).is_err());
    }

    #[test]
    fn derives_are_named_by_their_last_segment_and_removed_by_it() {
        let item: syn::ItemStruct = parse_quote! {
            #[derive(::serde::Deserialize, Clone)]
            #[derive(::std::fmt::Debug)]
            pub struct S;
        };
        assert_eq!(
            derived(&item.attrs).unwrap(),
            ["Deserialize", "Clone", "Debug"]
        );
        let mut attrs = item.attrs.clone();
        assert!(remove_derives(&mut attrs, &["Debug", "Deserialize"]).unwrap());
        // The derive left empty is gone, the other keeps what it had left.
        assert_eq!(attrs.len(), 1);
        assert_eq!(derived(&attrs).unwrap(), ["Clone"]);
        assert!(!remove_derives(&mut attrs, &["Debug"]).unwrap());
        assert_eq!(derived(&attrs).unwrap(), ["Clone"]);
    }
}
