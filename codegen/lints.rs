//! Targeted `#[allow]`s for lints that fire on progenitor's and typify's own
//! output, each with the reason it is not a defect of the generated code.

use quote::ToTokens;

/// typify writes `FromStr` for an untagged union of string types as a chain
/// of `if let Ok(v) = value.parse()`, one per variant. When a variant is one
/// of the crate's open enums, whose `FromStr` cannot fail (an unknown value
/// is kept, not refused), the first such `if let` is irrefutable and the
/// compiler warns; the chain still parses every string, into the first
/// variant that takes it (as serde's untagged decoding does).
pub fn allow_in_types(items: &mut [syn::Item]) {
    for item in items {
        let syn::Item::Impl(imp) = item else { continue };
        let is_from_str = imp
            .trait_
            .as_ref()
            .and_then(|(path, _)| path.segments.last())
            .is_some_and(|s| s.ident == "FromStr");
        if is_from_str && imp.to_token_stream().to_string().contains("if let Ok") {
            imp.attrs.push(syn::parse_quote!(
                #[allow(
                    irrefutable_let_patterns,
                    reason = "a variant is an open enum, whose parse cannot fail"
                )]
            ));
        }
    }
}
