//! Rewrites how each generated method builds its request, so that a call
//! does only the work its spec asks for (issue 13: every call pays for
//! it). Each rewrite reads the shape progenitor writes and what the method's
//! signature says of a parameter (the spec's `required`), never an
//! operation's or a schema's name, and sends the same bytes:
//!
//! - **The URL** is built on the base URL the client parsed once
//!   (`ClientState::endpoint`), the path written straight into it with each
//!   path parameter percent-encoded as it is formatted
//!   (`crate::path::Segment`), instead of a `format!` of the whole URL that
//!   reqwest parses again (host and all) and a `to_string` copy of every
//!   parameter before `encode_segment` copies it once more.
//! - **An optional query parameter** (an `Option` in the signature, the
//!   spec's `required: false`) is added only when it is `Some`
//!   (`crate::call::query_some`); `None` serialises to nothing, after
//!   reqwest has opened and closed the URL's query for it.
//! - **progenitor's `api-version` header**, which Atlas does not read, is
//!   not set: the call's version goes in `Accept` and `Content-Type`
//!   (`call::pre`), so the header would only be inserted to be removed.
//!
//! A method of another shape is left as progenitor wrote it, which is
//! correct, only slower; the `api-version` header must go in every shape
//! (`pre` no longer removes it), so one left over stops the build.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;

/// progenitor's version header, set from the spec's `info.version`: the
/// name as a literal in a method's body, whatever the form around it (the
/// same text in a type, a serde rename say, is not looked at).
const API_VERSION_HEADER: &str = "\"api-version\"";

/// Applies the rewrites to every method of every `impl` in `file`. An
/// error if a method still sets an `api-version` header afterwards.
pub fn apply(file: &mut syn::File) -> Result<(), super::Error> {
    let mut left_over = false;
    for item in &mut file.items {
        let syn::Item::Impl(imp) = item else { continue };
        for member in &mut imp.items {
            if let syn::ImplItem::Fn(method) = member {
                rewrite_method(method);
                left_over |= sets_version(&method.block);
            }
        }
    }
    if left_over {
        return Err(super::Error::at(
            "",
            "a generated method sets the `api-version` header in a form codegen/requests.rs \
             does not remove; teach it that form",
        ));
    }
    Ok(())
}

/// The three rewrites of one method.
fn rewrite_method(method: &mut syn::ImplItemFn) {
    let optional = optional_parameters(&method.sig);
    drop_version_header(&mut method.block);
    OptionalQueries {
        optional: &optional,
    }
    .visit_block_mut(&mut method.block);
    UrlOnParsedBase.visit_block_mut(&mut method.block);
}

/// The names of the parameters whose type is an `Option` (the spec's
/// optional parameters).
fn optional_parameters(sig: &syn::Signature) -> Vec<String> {
    sig.inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(typed) => Some(typed),
            syn::FnArg::Receiver(_) => None,
        })
        .filter(|typed| last_segment_is(&typed.ty, "Option"))
        .filter_map(|typed| match &*typed.pat {
            syn::Pat::Ident(ident) => Some(ident.ident.to_string()),
            _ => None,
        })
        .collect()
}

fn last_segment_is(ty: &syn::Type, name: &str) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name))
}

/// Removes the statements that put progenitor's `api-version` header into
/// `header_map`; when that map is then left with nothing, its declaration
/// and the `.headers(header_map)` that hands it on go too.
fn drop_version_header(block: &mut syn::Block) {
    let appends_version = |stmt: &syn::Stmt| sets_version(stmt) && mentions_map(stmt);
    let before = block.stmts.len();
    block.stmts.retain(|stmt| !appends_version(stmt));
    if block.stmts.len() == before {
        return;
    }
    // What else uses the map: its `let` and the builder call, or more.
    let users = block.stmts.iter().filter(|s| mentions_map(s)).count();
    let declared = block.stmts.iter().any(declares_map);
    if declared && users == 2 {
        block.stmts.retain(|stmt| !declares_map(stmt));
        DropHeadersCall.visit_block_mut(block);
    }
}

/// Whether `tokens` (a method's body or one of its statements) name
/// progenitor's version header.
fn sets_version(tokens: &impl ToTokens) -> bool {
    tokens_of(tokens).contains(API_VERSION_HEADER)
}

fn tokens_of(tokens: &impl ToTokens) -> String {
    tokens.to_token_stream().to_string()
}

fn mentions_map(stmt: &syn::Stmt) -> bool {
    tokens_of(stmt)
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == "header_map")
}

fn declares_map(stmt: &syn::Stmt) -> bool {
    matches!(stmt, syn::Stmt::Local(local)
        if matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "header_map"))
}

/// `x.headers(header_map)` becomes `x`.
struct DropHeadersCall;

impl VisitMut for DropHeadersCall {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        if let syn::Expr::MethodCall(call) = expr
            && call.method == "headers"
            && call.args.len() == 1
            && tokens_of(&call.args[0]) == "header_map"
        {
            *expr = (*call.receiver).clone();
        }
    }
}

/// `x.query(&QueryParam::new("name", &param))` with `param` optional
/// becomes `crate::call::query_some(x, "name", &param)`.
struct OptionalQueries<'a> {
    optional: &'a [String],
}

impl VisitMut for OptionalQueries<'_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        syn::visit_mut::visit_expr_mut(self, expr);
        let syn::Expr::MethodCall(call) = expr else {
            return;
        };
        if call.method != "query" || call.args.len() != 1 {
            return;
        }
        let Some((name, value)) = query_param(&call.args[0]) else {
            return;
        };
        if !self
            .optional
            .iter()
            .any(|o| tokens_of(&value) == format!("& {o}"))
        {
            return;
        }
        let receiver = &call.receiver;
        *expr = syn::parse_quote!(crate::call::query_some(#receiver, #name, #value));
    }
}

/// The name and value of `&progenitor_client::QueryParam::new(name, value)`
/// (or `&QueryParam::new(..)`).
fn query_param(arg: &syn::Expr) -> Option<(syn::Expr, syn::Expr)> {
    let syn::Expr::Reference(reference) = arg else {
        return None;
    };
    let syn::Expr::Call(new) = &*reference.expr else {
        return None;
    };
    let path = tokens_of(&new.func).replace(' ', "");
    let known = ["progenitor_client::QueryParam::new", "QueryParam::new"];
    if !known.contains(&path.as_str()) || new.args.len() != 2 {
        return None;
    }
    Some((new.args[0].clone(), new.args[1].clone()))
}

/// `let url = format!("{}/path/{}", self.baseurl, crate::path::encode_segment(&p.to_string()))`
/// becomes `let url = { use AsSegment; self.inner.endpoint(format_args!("/path/{}", p.as_segment())) }`.
struct UrlOnParsedBase;

impl VisitMut for UrlOnParsedBase {
    fn visit_local_mut(&mut self, local: &mut syn::Local) {
        syn::visit_mut::visit_local_mut(self, local);
        if !matches!(&local.pat, syn::Pat::Ident(p) if p.ident == "url") {
            return;
        }
        let Some(init) = &mut local.init else { return };
        let syn::Expr::Macro(mac) = &*init.expr else {
            return;
        };
        if !mac.mac.path.is_ident("format") {
            return;
        }
        if let Some(endpoint) = endpoint_of(mac.mac.tokens.clone()) {
            *init.expr = syn::parse_quote!(#endpoint);
        }
    }
}

/// The `endpoint` call for progenitor's `format!` arguments, if they are
/// the base URL followed by encoded path parameters.
fn endpoint_of(tokens: TokenStream) -> Option<TokenStream> {
    let parser = Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    let args = syn::parse::Parser::parse2(parser, tokens).ok()?;
    let mut args = args.into_iter();
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(template),
        ..
    }) = args.next()?
    else {
        return None;
    };
    let path = template.value().strip_prefix("{}")?.to_owned();
    if !path.starts_with('/') || tokens_of(&args.next()?).replace(' ', "") != "self.baseurl" {
        return None;
    }
    let segments = args
        .map(|arg| segment_of(&arg))
        .collect::<Option<Vec<_>>>()?;
    let path = syn::LitStr::new(&path, template.span());
    Some(quote! {
        {
            use crate::path::AsSegment as _;
            self.inner.endpoint(::std::format_args!(#path, #(#segments.as_segment()),*))
        }
    })
}

/// `p` for `crate::path::encode_segment(&p.to_string())` (or without the
/// `to_string`), in parentheses unless it is a name: the parameter,
/// formatted once, into the URL.
fn segment_of(arg: &syn::Expr) -> Option<TokenStream> {
    let syn::Expr::Call(call) = arg else {
        return None;
    };
    if tokens_of(&call.func).replace(' ', "") != "crate::path::encode_segment"
        || call.args.len() != 1
    {
        return None;
    }
    let syn::Expr::Reference(reference) = &call.args[0] else {
        return None;
    };
    let value = match &*reference.expr {
        syn::Expr::MethodCall(m) if m.method == "to_string" && m.args.is_empty() => &*m.receiver,
        other => other,
    };
    match value {
        syn::Expr::Path(_) => Some(quote!(#value)),
        other => Some(quote!((#other))),
    }
}

#[cfg(test)]
mod tests {
    use super::apply;
    use quote::{ToTokens, quote};

    fn applied(items: proc_macro2::TokenStream) -> String {
        let mut file: syn::File = syn::parse2(items).unwrap();
        apply(&mut file).unwrap();
        file.to_token_stream().to_string().replace(' ', "")
    }

    /// progenitor's shape of a method with two path parameters, two
    /// optional query parameters, one required one and the version header.
    fn method(extra_header: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        quote! {
            impl Client {
                pub async fn op<'a>(
                    &'a self,
                    group_id: &'a types::GroupId,
                    name: &'a str,
                    envelope: Option<bool>,
                    page: i64,
                ) -> Result<(), Error<()>> {
                    let url = format!(
                        "{}/groups/{}/things/{}", self.baseurl,
                        crate::path::encode_segment(&group_id.to_string()),
                        crate::path::encode_segment(&name.to_string()),
                    );
                    let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                    header_map.append(
                        ::reqwest::header::HeaderName::from_static("api-version"),
                        ::reqwest::header::HeaderValue::from_static(Self::api_version()),
                    );
                    #extra_header
                    let mut request = self
                        .client
                        .post(url)
                        .query(&progenitor_client::QueryParam::new("envelope", &envelope))
                        .query(&progenitor_client::QueryParam::new("page", &page))
                        .headers(header_map)
                        .build()?;
                    Ok(())
                }
            }
        }
    }

    #[test]
    fn a_method_builds_on_the_parsed_base_and_skips_what_is_absent() {
        let text = applied(method(quote!()));
        let url = "leturl={usecrate::path::AsSegmentas_;\
                   self.inner.endpoint(::std::format_args!(\"/groups/{}/things/{}\",\
                   group_id.as_segment(),name.as_segment()))};";
        assert!(text.contains(url), "{text}");
        let query = "crate::call::query_some(self.client.post(url),\"envelope\",&envelope)";
        assert!(text.contains(query), "{text}");
        assert!(
            text.contains(".query(&progenitor_client::QueryParam::new(\"page\",&page))"),
            "a required parameter is always sent: {text}"
        );
        assert!(!text.contains("header_map"), "{text}");
        assert!(!text.contains("baseurl"), "{text}");
    }

    #[test]
    fn a_header_parameter_keeps_its_map_without_the_version() {
        let text = applied(method(quote! {
            header_map.append("x-tag", tag.to_string().try_into()?);
        }));
        assert!(text.contains("letmutheader_map="), "{text}");
        assert!(text.contains(".headers(header_map)"), "{text}");
        assert!(!text.contains("api-version"), "{text}");
    }

    #[test]
    fn a_url_of_another_shape_is_left_as_it_was() {
        let text = applied(quote! {
            impl Client {
                fn op(&self, id: &str) {
                    let url = format!("{}/things/{}", self.baseurl, other(&id));
                }
            }
        });
        assert!(
            text.contains("format!(\"{}/things/{}\",self.baseurl,other(&id))"),
            "{text}"
        );
    }

    #[test]
    fn a_version_header_left_over_stops_the_build() {
        let mut file: syn::File = syn::parse2(quote! {
            impl Client {
                fn op(&self) {
                    let h = [(HeaderName::from_static("api-version"), "1")];
                }
            }
        })
        .unwrap();
        let error = super::apply(&mut file).unwrap_err();
        assert!(error.to_string().contains("requests.rs"), "{error}");
    }

    #[test]
    fn the_words_api_version_elsewhere_are_not_the_header() {
        let text = applied(quote! {
            #[doc = "api-version"]
            enum Kind {
                #[serde(rename = "api-version")]
                ApiVersion,
            }
        });
        assert!(text.contains("rename=\"api-version\""), "{text}");
    }
}
