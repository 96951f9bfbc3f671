//! Typed calls for API versions whose bodies have a schema of their own.
//!
//! Preprocessing keeps one media type per operation (the newest dated one), so
//! the generated method speaks that version. When an operation declares
//! another version with other body schemas (Atlas's `preview` has been
//! bound to a different union), the generator runs once more on a copy of
//! the spec in which every operation that declares that version keeps only
//! its media type. From that run it takes:
//!
//! - each such operation's method, renamed `<operation>_<version>`
//!   (`create_stream_connection_preview`), into the generated client;
//! - every type the main run did not make (most are shared: all component
//!   schemas are generated in both runs);
//!
//! and it writes a public method of the same name on the crate's `Client`,
//! which sends that version through the handwritten layer
//! (`Client::call_version`): the Atlas-wide `envelope` and `pretty` query
//! flags come from the call's options, every other parameter is the
//! generated method's own.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use super::Error;
use super::pointer::{METHODS, escape};
use super::preprocess::{self, OperationVersions};
use super::schema_walk::operations;

/// The query parameters every Atlas operation has, set through the
/// handwritten layer's `CallOptions`.
const OPTION_FLAGS: [&str; 2] = ["envelope", "pretty"];

/// The versions, over all operations, that need a run of their own.
pub fn untyped_versions(operations: &[OperationVersions]) -> BTreeSet<String> {
    operations
        .iter()
        .flat_map(|op| op.versions.iter())
        .filter(|v| !v.typed)
        .map(|v| v.version.clone())
        .collect()
}

/// The Rust suffix of a version's method: `preview`, `v2025_03_12`.
pub fn suffix(version: &str) -> String {
    if version.starts_with(|c: char| c.is_ascii_digit()) {
        format!("v{}", version.replace('-', "_"))
    } else {
        version.replace('-', "_")
    }
}

/// `original` with, in every operation that declares `version`, only that
/// version's media types; the operations that do not declare it are left
/// out.
pub fn spec_for(original: &Value, version: &str) -> Result<Value, Error> {
    let mut doc = original.clone();
    let media = |m: &str| preprocess::atlas_version(m);
    for (path, method, pointer) in operations(original) {
        let mut op = original
            .pointer(&pointer)
            .cloned()
            .ok_or_else(|| Error::at(&pointer, "vanished"))?;
        let mut holders: Vec<String> = Vec::new();
        if op.get("requestBody").is_some() {
            holders.push("requestBody".into());
        }
        for status in op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|r| r.keys())
        {
            holders.push(format!("responses/{}", escape(status)));
        }
        let mut declares = false;
        for holder in holders {
            let at = format!("{pointer}/{holder}");
            let slot = op
                .pointer_mut(&format!("/{holder}"))
                .ok_or_else(|| Error::at(&at, "vanished"))?;
            let mut resolved = preprocess::resolve_clone(original, slot, &at)?;
            let Some(Value::Object(content)) = resolved.get_mut("content") else {
                continue;
            };
            if !content.keys().any(|m| media(m).as_deref() == Some(version)) {
                continue;
            }
            declares = true;
            content.retain(|m, _| media(m).is_none_or(|v| v == version));
            *slot = resolved;
        }
        let item = doc["paths"][&path]
            .as_object_mut()
            .ok_or_else(|| Error::at(&pointer, "a path item must be an object"))?;
        if declares {
            item.insert(method.into(), op);
        } else {
            item.remove(method);
        }
    }
    // Path items left without an operation go too.
    if let Some(Value::Object(paths)) = doc.get_mut("paths") {
        paths.retain(|_, item| METHODS.iter().any(|m| item.get(*m).is_some()));
    }
    Ok(doc)
}

/// Moves what the run for `version` made into the main generated file.
pub fn merge(
    main: &mut syn::File,
    variant: syn::File,
    version: &str,
    operations: &[OperationVersions],
    crate_ident: &str,
) -> Result<(), Error> {
    let suffix = suffix(version);
    let wanted: BTreeMap<String, &OperationVersions> = operations
        .iter()
        .filter(|op| op.versions.iter().any(|v| v.version == version && !v.typed))
        .map(|op| (op.operation_id.clone(), op))
        .collect();
    let (mut methods, mut variant_types) = take_methods_and_types(variant, &wanted, &suffix);
    let defined = signatures(types_of(main)?);
    rename_clashing(&defined, &mut variant_types, &mut methods, version, &suffix)?;

    let wrappers = methods
        .iter()
        .map(|f| wrapper(f, version, &wanted, crate_ident))
        .collect::<Result<Vec<_>, _>>()?;
    main.items
        .iter_mut()
        .find_map(|item| match item {
            syn::Item::Impl(imp) if is_client_impl(imp) => Some(imp),
            _ => None,
        })
        .ok_or_else(|| Error::at("", "progenitor produced no `impl Client`"))?
        .items
        .extend(methods.into_iter().map(syn::ImplItem::Fn));
    add_missing(types_of(main)?, variant_types, &defined)?;
    for tokens in wrappers {
        main.items
            .extend(super::parse_items(tokens).map_err(|e| e.context("a version wrapper"))?);
    }
    Ok(())
}

/// From the run for a version: the methods of the `wanted` operations,
/// renamed with the version's `suffix`, and the items of its `types` module.
fn take_methods_and_types(
    variant: syn::File,
    wanted: &BTreeMap<String, &OperationVersions>,
    suffix: &str,
) -> (Vec<syn::ImplItemFn>, Vec<syn::Item>) {
    let mut methods = Vec::new();
    let mut variant_types = Vec::new();
    for item in variant.items {
        match item {
            syn::Item::Impl(imp) if is_client_impl(&imp) => {
                for it in imp.items {
                    if let syn::ImplItem::Fn(mut f) = it
                        && wanted.contains_key(&f.sig.ident.to_string())
                    {
                        f.sig.ident = format_ident!("{}_{}", f.sig.ident, suffix);
                        methods.push(f);
                    }
                }
            }
            syn::Item::Mod(m) if m.ident == "types" => {
                variant_types = m.content.map(|(_, items)| items).unwrap_or_default();
            }
            _ => {}
        }
    }
    (methods, variant_types)
}

/// Both runs generate every component schema, so most types are in both
/// and shared. A type of the same name that differs, in itself or in an
/// impl of it (typify checks a string's `pattern` in `FromStr`), is this
/// version's own (two versions with inline bodies, say): it is renamed
/// with the version's suffix, and so is every type that refers to it,
/// until what is left is the same in both runs.
fn rename_clashing(
    defined: &BTreeMap<String, String>,
    variant_types: &mut [syn::Item],
    methods: &mut [syn::ImplItemFn],
    version: &str,
    suffix: &str,
) -> Result<(), Error> {
    let own = heck::ToUpperCamelCase::to_upper_camel_case(suffix);
    // Each round renames at least one shared name for good, so this ends;
    // the bound turns a mistake here into an error, not a hang.
    for round in 0.. {
        if round > defined.len() {
            return Err(Error::at(
                "",
                format!("API version `{version}`: its types do not settle apart from the others"),
            ));
        }
        let clashing: BTreeSet<String> = signatures(variant_types)
            .into_iter()
            .filter(|(name, tokens)| defined.get(name).is_some_and(|t| t != tokens))
            .map(|(name, _)| name)
            .collect();
        if clashing.is_empty() {
            break;
        }
        let renames: BTreeMap<String, String> = clashing
            .into_iter()
            .map(|name| {
                let new = format!("{name}{own}");
                (name, new)
            })
            .collect();
        if let Some(taken) = renames.values().find(|n| defined.contains_key(*n)) {
            return Err(Error::at(
                "",
                format!("API version `{version}` needs a type `{taken}`, which is taken"),
            ));
        }
        let mut renamer = Rename(&renames);
        for item in variant_types.iter_mut() {
            syn::visit_mut::VisitMut::visit_item_mut(&mut renamer, item);
        }
        for method in methods.iter_mut() {
            syn::visit_mut::VisitMut::visit_impl_item_fn_mut(&mut renamer, method);
        }
    }
    Ok(())
}

/// Each type declared in `items` with its impls, as tokens, by name.
/// (Impls for other types, such as typify's `impl From<&X> for String`, go
/// with the type they name in their generics only through that type's own
/// tokens changing; they are not a type of this module.)
fn signatures(items: &[syn::Item]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in items.iter().filter(|i| !matches!(i, syn::Item::Impl(_))) {
        if let Some(name) = item_name(item) {
            out.entry(name).or_default().push(quote!(#item).to_string());
        }
    }
    for item in items.iter().filter(|i| matches!(i, syn::Item::Impl(_))) {
        if let Some(parts) = impl_target(item).and_then(|name| out.get_mut(&name)) {
            parts.push(quote!(#item).to_string());
        }
    }
    out.into_iter()
        .map(|(name, mut parts)| {
            parts.sort();
            (name, parts.join("\n"))
        })
        .collect()
}

/// Adds to `types` the items of the variant run it lacks: the types (with
/// their impls) `defined` does not have, and, module by module, the items of
/// nested modules (typify's `defaults`, `builder`) not there yet.
fn add_missing(
    types: &mut Vec<syn::Item>,
    variant: Vec<syn::Item>,
    defined: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let impls: BTreeSet<String> = types
        .iter()
        .filter(|i| matches!(i, syn::Item::Impl(_)))
        .map(|i| quote!(#i).to_string())
        .collect();
    for item in variant {
        match item {
            // The impls of shared types are the same in both runs; those of
            // this version's own types, or naming them, are new.
            syn::Item::Impl(_) => {
                if !impls.contains(&quote!(#item).to_string()) {
                    types.push(item);
                }
            }
            syn::Item::Mod(module) => add_missing_in_module(types, module),
            syn::Item::Use(_) => {}
            other => match item_name(&other) {
                Some(name) if defined.contains_key(&name) => {}
                Some(_) => types.push(other),
                None => {
                    return Err(Error::at(
                        "",
                        format!(
                            "cannot merge an item of another API version's types: `{}`",
                            quote!(#other)
                        ),
                    ));
                }
            },
        }
    }
    Ok(())
}

/// Adds the items of the variant run's nested `module` that the module of
/// the same name in `types` lacks (the whole module if there is none).
fn add_missing_in_module(types: &mut Vec<syn::Item>, module: syn::ItemMod) {
    let Some((_, content)) = module.content else {
        return;
    };
    let existing = types.iter_mut().find_map(|i| match i {
        syn::Item::Mod(m) if m.ident == module.ident => m.content.as_mut().map(|(_, c)| c),
        _ => None,
    });
    match existing {
        Some(existing) => {
            let present: BTreeSet<String> =
                existing.iter().map(|i| quote!(#i).to_string()).collect();
            existing.extend(
                content
                    .into_iter()
                    .filter(|i| !present.contains(&quote!(#i).to_string())),
            );
        }
        None => types.push(syn::Item::Mod(syn::ItemMod {
            content: Some((Default::default(), content)),
            ..module
        })),
    }
}

/// The items of the generated `types` module.
fn types_of(file: &mut syn::File) -> Result<&mut Vec<syn::Item>, Error> {
    super::types_module(file)?
        .content
        .as_mut()
        .map(|(_, c)| c)
        .ok_or_else(|| Error::at("", "progenitor produced no `types` module"))
}

/// Renames types: where they are declared, and in paths (`types::X`, `X`,
/// `Option<X>`), never a field, method or variant of the same name.
struct Rename<'a>(&'a BTreeMap<String, String>);

impl Rename<'_> {
    fn rename(&self, ident: &mut syn::Ident) {
        if let Some(new) = self.0.get(&ident.to_string()) {
            *ident = syn::Ident::new(new, ident.span());
        }
    }
}

impl syn::visit_mut::VisitMut for Rename<'_> {
    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        self.rename(&mut item.ident);
        syn::visit_mut::visit_item_struct_mut(self, item);
    }
    fn visit_item_enum_mut(&mut self, item: &mut syn::ItemEnum) {
        self.rename(&mut item.ident);
        syn::visit_mut::visit_item_enum_mut(self, item);
    }
    fn visit_item_type_mut(&mut self, item: &mut syn::ItemType) {
        self.rename(&mut item.ident);
        syn::visit_mut::visit_item_type_mut(self, item);
    }
    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        // A type is the first segment, or follows a module (`types::X`);
        // after a type (`Self::Kafka`, `Enum::Kafka`) comes a variant or an
        // associated item, which keeps its name.
        let mut after_module = true;
        for segment in path.segments.iter_mut() {
            let module = ["types", "super", "self", "crate"]
                .iter()
                .any(|m| segment.ident == m);
            if after_module && !module {
                self.rename(&mut segment.ident);
            }
            after_module = module;
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

fn is_client_impl(imp: &syn::ItemImpl) -> bool {
    imp.trait_.is_none() && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"))
}

/// The type an item declares, or the type an impl is for.
fn item_name(item: &syn::Item) -> Option<String> {
    super::declared_type(item).or_else(|| impl_target(item))
}

fn impl_target(item: &syn::Item) -> Option<String> {
    let syn::Item::Impl(imp) = item else {
        return None;
    };
    match &*imp.self_ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

/// The public method on the crate's `Client` for one generated method of a
/// version.
fn wrapper(
    method: &syn::ImplItemFn,
    version: &str,
    operations: &BTreeMap<String, &OperationVersions>,
    crate_ident: &str,
) -> Result<TokenStream, Error> {
    let krate = format_ident!("{}", crate_ident);
    let name = &method.sig.ident;
    let operation_id = name
        .to_string()
        .strip_suffix(&format!("_{}", suffix(version)))
        .map(String::from)
        .unwrap_or_default();
    let op = operations
        .get(&operation_id)
        .ok_or_else(|| Error::at("", format!("no operation behind `{name}`")))?;
    let ok_type = result_types(&method.sig.output).ok_or_else(|| {
        Error::at(
            &op.pointer,
            format!("`{name}` does not return Result<ResponseValue<_>, Error<_>>"),
        )
    })?;
    let Parameters {
        params,
        args,
        flags,
    } = wrapper_parameters(method, op)?;
    let generics = &method.sig.generics;
    if generics.lifetimes().all(|l| l.lifetime.ident != "a") {
        return Err(Error::at(
            &op.pointer,
            format!("`{name}` has no lifetime `'a` for its references"),
        ));
    }
    let doc = wrapper_doc(op, version);
    Ok(quote! {
        impl ::#krate::Client {
            #[doc = #doc]
            pub async fn #name #generics(
                &'a self,
                #(#params,)*
                options: &'a ::#krate::CallOptions,
            ) -> ::std::result::Result<::#krate::ApiResponse<#ok_type>, ::#krate::Error> {
                #(#flags)*
                self.call_version(
                    #operation_id,
                    #version,
                    options,
                    self.generated().#name(#(#args),*),
                )
                .await
            }
        }
    })
}

/// How a wrapper passes its parameters on to the generated method.
struct Parameters {
    /// The wrapper's own: the generated method's, less the [`OPTION_FLAGS`].
    params: Vec<TokenStream>,
    /// What it passes on: all of them.
    args: Vec<TokenStream>,
    /// The statements that take the flags from the call's options.
    flags: Vec<TokenStream>,
}

/// The [`Parameters`] of the wrapper of `method`.
fn wrapper_parameters(
    method: &syn::ImplItemFn,
    op: &OperationVersions,
) -> Result<Parameters, Error> {
    let mut params = Vec::new();
    let mut args = Vec::new();
    let mut flags = Vec::new();
    for input in method.sig.inputs.iter().skip(1) {
        let syn::FnArg::Typed(pt) = input else {
            continue;
        };
        let syn::Pat::Ident(pi) = &*pt.pat else {
            return Err(Error::at(&op.pointer, "unexpected parameter pattern"));
        };
        let ident = &pi.ident;
        let ty = &pt.ty;
        if OPTION_FLAGS.contains(&ident.to_string().as_str()) {
            flags.push(quote!(let #ident = options.#ident.then_some(true);));
        } else {
            params.push(quote!(#ident: #ty));
        }
        args.push(quote!(#ident));
    }
    Ok(Parameters {
        params,
        args,
        flags,
    })
}

/// The wrapper's documentation: what it calls, in which version, and how.
fn wrapper_doc(op: &OperationVersions, version: &str) -> String {
    format!(
        "`{}` ({} `{}`) in API version `{version}`, whose bodies have their own schema.\n\n\
         Sends `{}`. The `envelope` and `pretty` flags come from `options`; a version \
         pinned there must resolve to `{version}`. The client's own pin \
         (`ClientBuilder::api_version`) does not apply: this method names its version.",
        op.name,
        op.method,
        op.path,
        op.versions
            .iter()
            .find(|v| v.version == version)
            .and_then(|v| v
                .response_media_type
                .clone()
                .or(v.request_media_type.clone()))
            .unwrap_or_default(),
    )
}

/// `T` of `Result<ResponseValue<T>, Error<_>>`.
fn result_types(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let first_arg = |ty: &syn::Type| -> Option<Vec<syn::Type>> {
        let syn::Type::Path(p) = ty else { return None };
        let last = p.path.segments.last()?;
        let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
            return None;
        };
        Some(
            args.args
                .iter()
                .filter_map(|a| match a {
                    syn::GenericArgument::Type(t) => Some(t.clone()),
                    _ => None,
                })
                .collect(),
        )
    };
    let outer = first_arg(ty)?;
    first_arg(outer.first()?)?.into_iter().next()
}
