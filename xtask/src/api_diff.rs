//! What a change of spec does to the Rust API of the generated code.
//!
//! `regen`, `regen --check` and `api-diff` run the generator on the old and on
//! the new spec, parse both outputs with syn and compare their public items:
//! every pub struct (fields, `#[non_exhaustive]`, derived and implemented
//! traits), enum (variants and their payloads), type alias, const and static,
//! pub module and re-export, at the top level and in the pub modules below it
//! (`types`, `types::preview`, ...), with the pub methods and associated
//! consts of each type. The generated `Client` (its methods are the
//! operations) and `OPERATION_VERSIONS` are private to the crate, behind
//! `src/client.rs` and `src/versions.rs`: a change to them is one the
//! handwritten layer must follow. The table is data: its operations and
//! versions are compared, not only its type.
//!
//! Each change is classified by the rules of the Cargo book's SemVer
//! compatibility chapter: removing or changing an item is breaking; adding an
//! item is not; a new variant breaks an exhaustive enum but not a
//! `#[non_exhaustive]` one; a new field breaks struct literals and patterns of
//! a struct whose fields were all pub (even when the struct implements
//! `Default`: `..Default::default()` only rescues the literals that use it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::visit_mut::VisitMut;

/// The public items of one generated file, by path inside it
/// (`types::StreamsKafkaConnection`, `types::StreamsConnection::kind`,
/// `Client::create_stream_connection`, `OPERATION_VERSIONS`).
#[derive(Debug, Default)]
pub struct Api {
    items: BTreeMap<String, Item>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Module,
    Struct(Struct),
    Enum(Enum),
    Alias { generics: String, ty: String },
    Value(Value),
    Fn(Function),
    Reexport(String),
    Trait,
}

#[derive(Debug, Clone, PartialEq)]
struct Struct {
    generics: String,
    shape: Shape,
    fields: Vec<Field>,
    non_exhaustive: bool,
    /// Derived or implemented, by name with the type arguments
    /// (`Default`, `From<StreamsKafkaConnection>`).
    traits: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Named,
    Tuple,
    Unit,
}

#[derive(Debug, Clone, PartialEq)]
struct Field {
    /// The name, or the position in a tuple struct.
    name: String,
    ty: String,
    public: bool,
    deprecated: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Enum {
    generics: String,
    /// Name and payload (empty, `(T)` or ` { a: T }`), in order.
    variants: Vec<(String, String)>,
    non_exhaustive: bool,
    traits: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Value {
    keyword: &'static str,
    ty: String,
    /// The value's tokens, to tell a changed value.
    tokens: String,
    /// An associated const (its value is not compared).
    associated: bool,
    /// The value read as a table of operations and their API versions.
    table: Option<BTreeMap<String, Operation>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Operation {
    versions: Vec<String>,
    generated: Option<String>,
    tokens: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Function {
    associated: bool,
    /// The signature without the parameters after `self` and the return
    /// type (qualifiers, generics, receiver).
    head: String,
    /// The whole signature, as shown.
    shown: String,
    params: Vec<(String, String)>,
    output: String,
}

/// What changed between two [`Api`]s, classified.
#[derive(Debug, Default)]
pub struct Changes {
    breaking: Vec<Breaking>,
    additive: Vec<String>,
    data: Vec<String>,
}

#[derive(Debug)]
struct Breaking {
    line: String,
    /// A field added to a struct whose fields were all pub: `Some(true)`
    /// when the struct implements `Default`.
    literal: Option<bool>,
}

impl Changes {
    fn breaking(&mut self, line: String) {
        self.breaking.push(Breaking {
            line,
            literal: None,
        });
    }
}

// ------------------------------------------------------------ reading

impl Api {
    /// The public items of `code`, a whole Rust file.
    pub fn parse(code: &str) -> Result<Self, String> {
        let file = syn::parse_file(code).map_err(|e| format!("not parsable as Rust: {e}"))?;
        let mut api = Self::default();
        api.collect(&file.items, "");
        Ok(api)
    }

    fn collect(&mut self, items: &[syn::Item], module: &str) {
        for item in items {
            self.add_item(item, module);
        }
        // Impls after the types, wherever they sit in the module.
        for item in items {
            if let syn::Item::Impl(imp) = item {
                self.add_impl(imp, module);
            }
        }
    }

    /// Records `item` of `module` when it is public (a public module with
    /// its content).
    fn add_item(&mut self, item: &syn::Item, module: &str) {
        let at = |name: &dyn std::fmt::Display| in_module(module, name);
        let (path, found) = match item {
            syn::Item::Struct(s) if public(&s.vis) => (at(&s.ident), Item::Struct(structure(s))),
            syn::Item::Enum(e) if public(&e.vis) => (at(&e.ident), Item::Enum(enumeration(e))),
            syn::Item::Type(t) if public(&t.vis) => (
                at(&t.ident),
                Item::Alias {
                    generics: generics(&t.generics),
                    ty: render_type(&t.ty),
                },
            ),
            syn::Item::Const(c) if public(&c.vis) => (
                at(&c.ident),
                Item::Value(Value::new("const", &c.ty, &c.expr, false)),
            ),
            syn::Item::Static(s) if public(&s.vis) => (
                at(&s.ident),
                Item::Value(Value::new("static", &s.ty, &s.expr, false)),
            ),
            syn::Item::Fn(f) if public(&f.vis) => {
                (at(&f.sig.ident), Item::Fn(function(&f.sig, false)))
            }
            syn::Item::Trait(t) if public(&t.vis) => (at(&t.ident), Item::Trait),
            syn::Item::Mod(m) if public(&m.vis) => {
                let path = at(&m.ident);
                if let Some((_, content)) = &m.content {
                    self.collect(content, &path);
                }
                (path, Item::Module)
            }
            syn::Item::Use(u) if public(&u.vis) => {
                let mut leaves = Vec::new();
                use_leaves(&u.tree, "", &mut leaves);
                for (name, target) in leaves {
                    self.items.insert(at(&name), Item::Reexport(target));
                }
                return;
            }
            _ => return,
        };
        self.items.insert(path, found);
    }

    /// Records what `imp` adds to a type of `module` recorded before: a
    /// trait, or public methods and associated consts.
    fn add_impl(&mut self, imp: &syn::ItemImpl, module: &str) {
        if self.add_crate_client_methods(imp) {
            return;
        }
        let Some(owner) = type_name(&imp.self_ty) else {
            return;
        };
        let owner = in_module(module, &owner);
        if !self.items.contains_key(&owner) {
            return;
        }
        if let Some((trait_path, _)) = &imp.trait_ {
            if let Some(traits) = self.items.get_mut(&owner).and_then(Item::traits_mut) {
                traits.insert(trait_name(trait_path));
            }
            return;
        }
        for member in &imp.items {
            let (name, found) = match member {
                syn::ImplItem::Fn(f) if public(&f.vis) => {
                    (&f.sig.ident, Item::Fn(function(&f.sig, true)))
                }
                syn::ImplItem::Const(c) if public(&c.vis) => (
                    &c.ident,
                    Item::Value(Value::new("const", &c.ty, &c.expr, true)),
                ),
                _ => continue,
            };
            self.items.insert(format!("{owner}::{name}"), found);
        }
    }

    /// `impl ::atlas_stream_connections::Client`: the generator's
    /// per-version methods on the crate's own (public) client, not on the
    /// generated one of the same name. Records them by their full path;
    /// `false` when `imp` is another impl.
    fn add_crate_client_methods(&mut self, imp: &syn::ItemImpl) -> bool {
        let syn::Type::Path(p) = &*imp.self_ty else {
            return false;
        };
        if p.path.leading_colon.is_none() || imp.trait_.is_some() {
            return false;
        }
        let owner = p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::");
        for member in &imp.items {
            if let syn::ImplItem::Fn(f) = member
                && public(&f.vis)
            {
                self.items.insert(
                    format!("{owner}::{}", f.sig.ident),
                    Item::Fn(function(&f.sig, true)),
                );
            }
        }
        true
    }
}

/// `name`'s path inside the file, in `module` (`""` at the top level).
fn in_module(module: &str, name: &dyn std::fmt::Display) -> String {
    if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}::{name}")
    }
}

impl Item {
    fn traits_mut(&mut self) -> Option<&mut BTreeSet<String>> {
        match self {
            Self::Struct(s) => Some(&mut s.traits),
            Self::Enum(e) => Some(&mut e.traits),
            _ => None,
        }
    }

    /// What the item is, for a line that adds or removes it.
    fn describe(&self) -> String {
        let non_exhaustive = |yes: bool| if yes { ", #[non_exhaustive]" } else { "" };
        match self {
            Self::Module => "module".into(),
            Self::Struct(s) => {
                let what = match s.shape {
                    Shape::Tuple if s.fields.len() == 1 => {
                        format!("newtype of `{}`", s.fields[0].ty)
                    }
                    Shape::Tuple => "tuple struct".into(),
                    Shape::Unit => "unit struct".into(),
                    Shape::Named => "struct".into(),
                };
                format!("{what}{}", non_exhaustive(s.non_exhaustive))
            }
            Self::Enum(e) => format!("enum{}", non_exhaustive(e.non_exhaustive)),
            Self::Alias { ty, .. } => format!("type alias of `{ty}`"),
            Self::Value(v) => format!("{} `{}`", v.keyword, v.ty),
            Self::Fn(f) if f.associated => "method".into(),
            Self::Fn(_) => "fn".into(),
            Self::Reexport(target) => format!("re-export of `{target}`"),
            Self::Trait => "trait".into(),
        }
    }
}

fn public(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn has_attr(attrs: &[syn::Attribute], name: &str) -> bool {
    attrs.iter().any(|a| a.path().is_ident(name))
}

/// The traits named in `#[derive(..)]`s.
fn derived(attrs: &[syn::Attribute]) -> BTreeSet<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("derive"))
        .filter_map(|a| {
            a.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
                .ok()
        })
        .flatten()
        .filter_map(|p| p.segments.last().map(|s| s.ident.to_string()))
        .collect()
}

fn structure(s: &syn::ItemStruct) -> Struct {
    let shape = match &s.fields {
        syn::Fields::Named(_) => Shape::Named,
        syn::Fields::Unnamed(_) => Shape::Tuple,
        syn::Fields::Unit => Shape::Unit,
    };
    let fields = s
        .fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            name: f
                .ident
                .as_ref()
                .map_or_else(|| i.to_string(), ToString::to_string),
            ty: render_type(&f.ty),
            public: public(&f.vis),
            deprecated: has_attr(&f.attrs, "deprecated"),
        })
        .collect();
    Struct {
        generics: generics(&s.generics),
        shape,
        fields,
        non_exhaustive: has_attr(&s.attrs, "non_exhaustive"),
        traits: derived(&s.attrs),
    }
}

fn enumeration(e: &syn::ItemEnum) -> Enum {
    Enum {
        generics: generics(&e.generics),
        variants: e
            .variants
            .iter()
            .map(|v| (v.ident.to_string(), payload(&v.fields)))
            .collect(),
        non_exhaustive: has_attr(&e.attrs, "non_exhaustive"),
        traits: derived(&e.attrs),
    }
}

fn payload(fields: &syn::Fields) -> String {
    match fields {
        syn::Fields::Unit => String::new(),
        syn::Fields::Unnamed(f) => format!(
            "({})",
            f.unnamed
                .iter()
                .map(|f| render_type(&f.ty))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        syn::Fields::Named(f) => format!(
            " {{ {} }}",
            f.named
                .iter()
                .map(|f| format!(
                    "{}: {}",
                    f.ident
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    render_type(&f.ty)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

impl Value {
    fn new(keyword: &'static str, ty: &syn::Type, expr: &syn::Expr, associated: bool) -> Self {
        Self {
            keyword,
            ty: render_type(ty),
            tokens: value_tokens(expr),
            associated,
            table: if associated {
                None
            } else {
                operation_table(expr)
            },
        }
    }
}

fn function(sig: &syn::Signature, associated: bool) -> Function {
    let mut sig = sig.clone();
    Shorten.visit_signature_mut(&mut sig);
    let params = sig
        .inputs
        .iter()
        .filter_map(|arg| match arg {
            syn::FnArg::Typed(p) => Some((
                tidy(&p.pat.to_token_stream().to_string()),
                render_type(&p.ty),
            )),
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    let output = match &sig.output {
        syn::ReturnType::Default => String::new(),
        syn::ReturnType::Type(_, ty) => render_type(ty),
    };
    let shown = tidy(&sig.to_token_stream().to_string());
    let mut head = sig;
    head.inputs = head
        .inputs
        .into_iter()
        .filter(|arg| matches!(arg, syn::FnArg::Receiver(_)))
        .collect();
    head.output = syn::ReturnType::Default;
    Function {
        associated,
        head: tidy(&head.to_token_stream().to_string()),
        shown,
        params,
        output,
    }
}

/// `(name, target)` for every name a `pub use` brings in.
fn use_leaves(tree: &syn::UseTree, prefix: &str, out: &mut Vec<(String, String)>) {
    match tree {
        syn::UseTree::Path(p) => use_leaves(&p.tree, &format!("{prefix}{}::", p.ident), out),
        syn::UseTree::Name(n) => out.push((n.ident.to_string(), format!("{prefix}{}", n.ident))),
        syn::UseTree::Rename(r) => out.push((r.rename.to_string(), format!("{prefix}{}", r.ident))),
        syn::UseTree::Glob(_) => out.push((format!("{prefix}*"), format!("{prefix}*"))),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                use_leaves(tree, prefix, out);
            }
        }
    }
}

/// The name of the type an impl is for (`Foo` for `Foo`, `self::Foo`,
/// `Foo<T>`).
fn type_name(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            p.path.segments.last().map(|s| s.ident.to_string())
        }
        _ => None,
    }
}

/// A trait by its last segment, with its type arguments but not its
/// lifetimes: `Deserialize` for `::serde::Deserialize<'de>`, as for a
/// `#[derive(Deserialize)]`; `From<Kafka>` for `::std::convert::From<Kafka>`.
fn trait_name(path: &syn::Path) -> String {
    let Some(last) = path.segments.last() else {
        return String::new();
    };
    let mut last = last.clone();
    if let syn::PathArguments::AngleBracketed(args) = &mut last.arguments {
        args.args = args
            .args
            .clone()
            .into_iter()
            .filter(|a| !matches!(a, syn::GenericArgument::Lifetime(_)))
            .collect();
        if args.args.is_empty() {
            last.arguments = syn::PathArguments::None;
        }
    }
    let mut path = syn::Path::from(last);
    Shorten.visit_path_mut(&mut path);
    tidy(&path.to_token_stream().to_string())
}

fn generics(g: &syn::Generics) -> String {
    let mut g = g.clone();
    Shorten.visit_generics_mut(&mut g);
    let where_clause = g
        .where_clause
        .as_ref()
        .map(|w| format!(" {}", w.to_token_stream()))
        .unwrap_or_default();
    tidy(&format!("{}{where_clause}", g.to_token_stream()))
}

/// A type as a reader writes it: `Option<String>` for
/// `::std::option::Option<::std::string::String>`, `serde_json::Value` for
/// `::serde_json::Value`.
fn render_type(ty: &syn::Type) -> String {
    let mut ty = ty.clone();
    Shorten.visit_type_mut(&mut ty);
    tidy(&ty.to_token_stream().to_string())
}

/// Drops leading `::`, the `std::module::` before the prelude's and the
/// collections' types, and trailing commas (which prettyplease adds to lists
/// it wraps).
struct Shorten;

/// `list` without a trailing separator.
fn untrail<T, P: Default>(list: &mut Punctuated<T, P>) {
    *list = std::mem::take(list).into_iter().collect();
}

impl VisitMut for Shorten {
    fn visit_angle_bracketed_generic_arguments_mut(
        &mut self,
        args: &mut syn::AngleBracketedGenericArguments,
    ) {
        syn::visit_mut::visit_angle_bracketed_generic_arguments_mut(self, args);
        untrail(&mut args.args);
    }

    fn visit_parenthesized_generic_arguments_mut(
        &mut self,
        args: &mut syn::ParenthesizedGenericArguments,
    ) {
        syn::visit_mut::visit_parenthesized_generic_arguments_mut(self, args);
        untrail(&mut args.inputs);
    }

    fn visit_signature_mut(&mut self, sig: &mut syn::Signature) {
        syn::visit_mut::visit_signature_mut(self, sig);
        untrail(&mut sig.inputs);
    }

    fn visit_generics_mut(&mut self, generics: &mut syn::Generics) {
        syn::visit_mut::visit_generics_mut(self, generics);
        untrail(&mut generics.params);
        if let Some(w) = &mut generics.where_clause {
            untrail(&mut w.predicates);
        }
    }

    fn visit_type_tuple_mut(&mut self, tuple: &mut syn::TypeTuple) {
        syn::visit_mut::visit_type_tuple_mut(self, tuple);
        // `(T,)` is a tuple, `(T)` is `T`.
        if tuple.elems.len() > 1 {
            untrail(&mut tuple.elems);
        }
    }

    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        syn::visit_mut::visit_path_mut(self, path);
        path.leading_colon = None;
        let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let shorten = names.len() == 3
            && ["std", "core", "alloc"].contains(&names[0].as_str())
            && [
                "option",
                "string",
                "vec",
                "boxed",
                "result",
                "collections",
                "borrow",
            ]
            .contains(&names[1].as_str());
        if shorten && let Some(last) = path.segments.pop() {
            path.segments = std::iter::once(last).collect();
        }
    }
}

/// proc-macro2's `to_string` with a space between any two tokens, made
/// readable: spaces only between words, after `,`, `;` and `:`, and around
/// `->`, `=>`, `=` and `+`.
fn tidy(text: &str) -> String {
    const SPACED: [&str; 4] = ["->", "=>", "=", "+"];
    let word_end = |s: &str| {
        s.chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    };
    let word_start = |s: &str| {
        s.chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '\'')
    };
    let mut out = String::new();
    let mut previous = "";
    for piece in text.split_whitespace() {
        let space = !previous.is_empty()
            && (SPACED.contains(&piece)
                || SPACED.contains(&previous)
                || [",", ";", ":"].contains(&previous)
                || (word_end(previous) && word_start(piece)));
        if space {
            out.push(' ');
        }
        out.push_str(piece);
        previous = piece;
    }
    out
}

/// A value's tokens, to compare, without the trailing commas that
/// prettyplease adds to the lists it wraps (so `(x,)` counts as `(x)`).
fn value_tokens(expr: &impl ToTokens) -> String {
    fn untrailed(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
        use proc_macro2::{Group, TokenTree};
        let mut trees: Vec<TokenTree> = tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Group(g) => {
                    TokenTree::Group(Group::new(g.delimiter(), untrailed(g.stream())))
                }
                other => other,
            })
            .collect();
        if matches!(trees.last(), Some(TokenTree::Punct(p)) if p.as_char() == ',') {
            trees.pop();
        }
        trees.into_iter().collect()
    }
    untrailed(expr.to_token_stream()).to_string()
}

/// `&[Entry { name: "op", versions: &[Version { version: "2025-01-01", .. }],
/// generated: Some("2025-01-01"), .. }, ..]` by `name` (or `operation_id`).
fn operation_table(expr: &syn::Expr) -> Option<BTreeMap<String, Operation>> {
    fn field<'a>(s: &'a syn::ExprStruct, name: &str) -> Option<&'a syn::Expr> {
        s.fields.iter().find_map(|f| match &f.member {
            syn::Member::Named(i) if i == name => Some(&f.expr),
            _ => None,
        })
    }
    fn string(expr: &syn::Expr) -> Option<String> {
        match expr {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        }
    }
    fn structs(expr: &syn::Expr) -> Option<Vec<&syn::ExprStruct>> {
        let syn::Expr::Reference(r) = expr else {
            return None;
        };
        let syn::Expr::Array(a) = &*r.expr else {
            return None;
        };
        a.elems
            .iter()
            .map(|e| match e {
                syn::Expr::Struct(s) => Some(s),
                _ => None,
            })
            .collect()
    }
    let mut table = BTreeMap::new();
    for entry in structs(expr)? {
        let name = field(entry, "name")
            .or_else(|| field(entry, "operation_id"))
            .and_then(string)?;
        let versions = structs(field(entry, "versions")?)?
            .into_iter()
            .map(|v| field(v, "version").and_then(string))
            .collect::<Option<Vec<_>>>()?;
        let generated = match field(entry, "generated") {
            Some(syn::Expr::Call(call)) => call.args.first().and_then(string),
            _ => None,
        };
        let tokens = value_tokens(entry);
        table.insert(
            name,
            Operation {
                versions,
                generated,
                tokens,
            },
        );
    }
    Some(table)
}

// ------------------------------------------------------------ comparing

/// The changes from `old` to `new`, each list in path order.
pub fn diff(old: &Api, new: &Api) -> Changes {
    let mut changes = Changes::default();
    let added: BTreeSet<&str> = new
        .items
        .keys()
        .filter(|k| !old.items.contains_key(*k))
        .map(String::as_str)
        .collect();
    let removed: BTreeSet<&str> = old
        .items
        .keys()
        .filter(|k| !new.items.contains_key(*k))
        .map(String::as_str)
        .collect();
    // The members of an added or removed item go with it.
    let inside = |set: &BTreeSet<&str>, path: &str| {
        path.match_indices("::")
            .any(|(i, _)| set.contains(&path[..i]))
    };
    for (path, item) in &old.items {
        match new.items.get(path) {
            None if !inside(&removed, path) => {
                changes.breaking(format!("{path} ({}) removed", item.describe()));
            }
            None => {}
            Some(now) => compare(path, item, now, &mut changes),
        }
    }
    for path in &added {
        if !inside(&added, path) {
            changes
                .additive
                .push(format!("{path} ({})", new.items[*path].describe()));
        }
    }
    changes.breaking.sort_by(|a, b| a.line.cmp(&b.line));
    changes.additive.sort();
    changes
}

fn compare(path: &str, old: &Item, new: &Item, changes: &mut Changes) {
    match (old, new) {
        (Item::Struct(a), Item::Struct(b)) => compare_structs(path, a, b, changes),
        (Item::Enum(a), Item::Enum(b)) => compare_enums(path, a, b, changes),
        (Item::Fn(a), Item::Fn(b)) => compare_functions(path, a, b, changes),
        (Item::Value(a), Item::Value(b)) => compare_values(path, a, b, changes),
        (
            Item::Alias {
                generics: g1,
                ty: t1,
            },
            Item::Alias {
                generics: g2,
                ty: t2,
            },
        ) => {
            if (g1, t1) != (g2, t2) {
                changes.breaking(format!("{path}: type alias `{g1}{t1}` -> `{g2}{t2}`"));
            }
        }
        (Item::Reexport(a), Item::Reexport(b)) => {
            if a != b {
                changes.breaking(format!("{path}: re-export of `{a}` -> `{b}`"));
            }
        }
        (Item::Module, Item::Module) | (Item::Trait, Item::Trait) => {}
        _ => changes.breaking(format!("{path}: {} -> {}", old.describe(), new.describe())),
    }
}

fn compare_traits(
    path: &str,
    old: &BTreeSet<String>,
    new: &BTreeSet<String>,
    changes: &mut Changes,
) {
    for t in old.difference(new) {
        changes.breaking(format!("{path}: no longer implements `{t}`"));
    }
    for t in new.difference(old) {
        changes
            .additive
            .push(format!("{path}: now implements `{t}`"));
    }
}

fn compare_generics(path: &str, old: &str, new: &str, changes: &mut Changes) {
    if old != new {
        let show = |g: &str| {
            if g.is_empty() {
                "none".to_string()
            } else {
                format!("`{g}`")
            }
        };
        changes.breaking(format!("{path}: generics {} -> {}", show(old), show(new)));
    }
}

fn compare_structs(path: &str, old: &Struct, new: &Struct, changes: &mut Changes) {
    compare_generics(path, &old.generics, &new.generics, changes);
    if old.shape != new.shape {
        let shape = |s: &Struct| match s.shape {
            Shape::Named => "struct with named fields",
            Shape::Tuple => "tuple struct",
            Shape::Unit => "unit struct",
        };
        changes.breaking(format!("{path}: {} -> {}", shape(old), shape(new)));
        compare_traits(path, &old.traits, &new.traits, changes);
        return;
    }
    match (old.non_exhaustive, new.non_exhaustive) {
        (false, true) => changes.breaking(format!(
            "{path}: now #[non_exhaustive] (no struct literal or exhaustive pattern outside the crate)"
        )),
        (true, false) => changes
            .additive
            .push(format!("{path}: no longer #[non_exhaustive]")),
        _ => {}
    }
    let newtype = old.shape == Shape::Tuple && old.fields.len() == 1 && new.fields.len() == 1;
    for f in &old.fields {
        match new.fields.iter().find(|g| g.name == f.name) {
            Some(g) => compare_field(path, f, g, newtype, changes),
            None if f.public => changes.breaking(format!("{path}: field `{}` removed", f.name)),
            None => {}
        }
    }
    added_fields(path, old, new, changes);
    compare_traits(path, &old.traits, &new.traits, changes);
}

/// A field of both versions of a struct: its visibility, type (that of the
/// private field of a newtype too) and deprecation.
fn compare_field(path: &str, f: &Field, g: &Field, newtype: bool, changes: &mut Changes) {
    match (f.public, g.public) {
        (true, false) => changes.breaking(format!("{path}: field `{}` no longer pub", f.name)),
        (false, true) => changes
            .additive
            .push(format!("{path}: field `{}: {}` now pub", g.name, g.ty)),
        _ => {}
    }
    if f.ty != g.ty {
        if f.public && g.public {
            changes.breaking(format!(
                "{path}: field `{}` type `{}` -> `{}`",
                f.name, f.ty, g.ty
            ));
        } else if newtype {
            changes.breaking(format!(
                "{path}: inner type `{}` -> `{}` (a private field, but its `Deref` target and conversions change)",
                f.ty, g.ty
            ));
        }
    }
    if g.public && f.deprecated != g.deprecated {
        changes.additive.push(format!(
            "{path}: field `{}` {} #[deprecated]",
            g.name,
            if g.deprecated { "now" } else { "no longer" }
        ));
    }
}

/// The fields only `new` has: additive, unless code outside the crate could
/// write a literal or an exhaustive pattern of `old` (all its fields pub).
fn added_fields(path: &str, old: &Struct, new: &Struct, changes: &mut Changes) {
    let literal = !old.non_exhaustive && old.fields.iter().all(|f| f.public);
    let has_default = new.traits.contains("Default");
    for g in new
        .fields
        .iter()
        .filter(|g| !old.fields.iter().any(|f| f.name == g.name))
    {
        let shown = match new.shape {
            Shape::Tuple => format!("`{}` (position {})", g.ty, g.name),
            _ => format!("`{}: {}`", g.name, g.ty),
        };
        if !literal {
            if g.public {
                changes
                    .additive
                    .push(format!("{path}: field {shown} added"));
            }
        } else {
            let (what, note) = match (g.public, has_default) {
                (false, _) => ("private field", "no literal outside the crate any more"),
                (true, true) => ("field", "has Default"),
                (true, false) => ("field", "no Default"),
            };
            changes.breaking.push(Breaking {
                line: format!("{path}: {what} {shown} added (struct literal; {note})"),
                literal: Some(g.public && has_default),
            });
        }
    }
}

fn compare_enums(path: &str, old: &Enum, new: &Enum, changes: &mut Changes) {
    compare_generics(path, &old.generics, &new.generics, changes);
    match (old.non_exhaustive, new.non_exhaustive) {
        (false, true) => changes.breaking(format!(
            "{path}: now #[non_exhaustive] (matches outside the crate need a wildcard arm)"
        )),
        (true, false) => changes
            .additive
            .push(format!("{path}: no longer #[non_exhaustive]")),
        _ => {}
    }
    for (name, was) in &old.variants {
        match new.variants.iter().find(|(n, _)| n == name) {
            None => changes.breaking(format!("{path}: variant `{name}{was}` removed")),
            Some((_, is)) if is != was => changes.breaking(format!(
                "{path}: variant `{name}` payload `{}` -> `{}`",
                was.trim(),
                is.trim()
            )),
            Some(_) => {}
        }
    }
    for (name, payload) in &new.variants {
        if old.variants.iter().any(|(n, _)| n == name) {
            continue;
        }
        if old.non_exhaustive {
            changes.additive.push(format!(
                "{path}: variant `{name}{payload}` added (non_exhaustive)"
            ));
        } else {
            changes.breaking(format!(
                "{path}: variant `{name}{payload}` added (exhaustive enum: matches without a wildcard arm stop compiling)"
            ));
        }
    }
    compare_traits(path, &old.traits, &new.traits, changes);
}

fn compare_functions(path: &str, old: &Function, new: &Function, changes: &mut Changes) {
    if old.head != new.head {
        changes.breaking(format!(
            "{path}: signature `{}` -> `{}`",
            old.shown, new.shown
        ));
        return;
    }
    let mut parts = parameters_change(old, new);
    if old.output != new.output {
        let show = |t: &str| {
            if t.is_empty() {
                "()".to_string()
            } else {
                t.to_string()
            }
        };
        parts.push(format!(
            "return type `{}` -> `{}`",
            show(&old.output),
            show(&new.output)
        ));
    }
    for part in parts {
        changes.breaking(format!("{path}: {part}"));
    }
}

/// How the parameters' types changed: parameters removed, retyped or added
/// by name, or else reordered. Names alone do not matter: callers pass by
/// position.
fn parameters_change(old: &Function, new: &Function) -> Vec<String> {
    let mut parts = Vec::new();
    let types = |f: &Function| f.params.iter().map(|(_, t)| t.clone()).collect::<Vec<_>>();
    if types(old) == types(new) {
        return parts;
    }
    let find = |f: &Function, name: &str| f.params.iter().find(|(n, _)| n == name).cloned();
    for (name, ty) in &old.params {
        match find(new, name) {
            None => parts.push(format!("parameter `{name}: {ty}` removed")),
            Some((_, t)) if t != *ty => {
                parts.push(format!("parameter `{name}` type `{ty}` -> `{t}`"));
            }
            Some(_) => {}
        }
    }
    for (name, ty) in &new.params {
        if find(old, name).is_none() {
            parts.push(format!("parameter `{name}: {ty}` added"));
        }
    }
    if parts.is_empty() {
        let list = |f: &Function| {
            f.params
                .iter()
                .map(|(n, t)| format!("{n}: {t}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        parts.push(format!(
            "parameters reordered: `({})` -> `({})`",
            list(old),
            list(new)
        ));
    }
    parts
}

fn compare_values(path: &str, old: &Value, new: &Value, changes: &mut Changes) {
    if (old.keyword, &old.ty) != (new.keyword, &new.ty) {
        changes.breaking(format!(
            "{path}: {} `{}` -> {} `{}`",
            old.keyword, old.ty, new.keyword, new.ty
        ));
        return;
    }
    if old.associated || old.tokens == new.tokens {
        return;
    }
    let (Some(a), Some(b)) = (&old.table, &new.table) else {
        changes.data.push(format!("{path}: value changed"));
        return;
    };
    for (name, op) in b.iter().filter(|(n, _)| !a.contains_key(*n)) {
        changes.data.push(format!(
            "{path}: operation `{name}` added (versions {})",
            op.versions.join(", ")
        ));
    }
    for name in a.keys().filter(|n| !b.contains_key(*n)) {
        changes
            .data
            .push(format!("{path}: operation `{name}` removed"));
    }
    for (name, was) in a {
        let Some(is) = b.get(name) else { continue };
        let parts = operation_change(was, is);
        if !parts.is_empty() {
            changes
                .data
                .push(format!("{path}: `{name}`: {}", parts.join("; ")));
        }
    }
}

/// How an entry of the version table changed: its versions, its typed
/// version, or else anything else in it.
fn operation_change(was: &Operation, is: &Operation) -> Vec<String> {
    let mut parts = Vec::new();
    let listed = |v: Vec<&String>| v.into_iter().cloned().collect::<Vec<_>>().join(", ");
    let added: Vec<&String> = is
        .versions
        .iter()
        .filter(|v| !was.versions.contains(v))
        .collect();
    let removed: Vec<&String> = was
        .versions
        .iter()
        .filter(|v| !is.versions.contains(v))
        .collect();
    if !added.is_empty() {
        parts.push(format!("versions added: {}", listed(added)));
    }
    if !removed.is_empty() {
        parts.push(format!("versions removed: {}", listed(removed)));
    }
    if was.generated != is.generated {
        let show = |g: &Option<String>| g.clone().unwrap_or_else(|| "none".into());
        parts.push(format!(
            "typed (generated) version {} -> {}",
            show(&was.generated),
            show(&is.generated)
        ));
    }
    if parts.is_empty() && was.tokens != is.tokens {
        parts.push("entry changed (method, path, media types or typed flags)".into());
    }
    parts
}

// ------------------------------------------------------------ reporting

/// The report's lines, not indented: `Rust public API: unchanged`, or a
/// header, the breaking, additive and data changes and a verdict.
pub fn render(changes: &Changes) -> Vec<String> {
    let Changes {
        breaking,
        additive,
        data,
    } = changes;
    if breaking.is_empty() && additive.is_empty() && data.is_empty() {
        return vec!["Rust public API: unchanged".into()];
    }
    let mut lines = vec!["Rust public API (generated code), old -> new:".to_string()];
    let mut section = |title: &str, sign: char, items: Vec<&String>| {
        if !items.is_empty() {
            lines.push(format!("  {title} ({}):", items.len()));
            lines.extend(items.into_iter().map(|l| format!("    {sign} {l}")));
        }
    };
    section("breaking", '-', breaking.iter().map(|b| &b.line).collect());
    section("additive", '+', additive.iter().collect());
    section("data", '~', data.iter().collect());
    if !breaking.is_empty() {
        lines.push(
            "  verdict: breaking: needs a new major version (0.x: a new minor version)".into(),
        );
        if breaking.iter().any(|b| b.literal.is_some()) {
            lines.push(format!(
                "  (struct literal: breaks the struct literals and patterns outside the crate that \
                 name every field; with Default, literals ending in `..Default::default()` still \
                 compile{})",
                if breaking.iter().all(|b| b.literal == Some(true)) {
                    ". Every breaking change here is of that kind"
                } else {
                    ""
                }
            ));
        }
    } else if !additive.is_empty() {
        lines.push("  verdict: compatible: a minor release (0.x: a patch release)".into());
    } else {
        lines.push(
            "  verdict: compatible: the API is unchanged, only data (a patch release)".into(),
        );
    }
    lines
}

/// The API of what the generator makes of `spec`.
pub fn of_spec(spec: &str) -> Result<Api, String> {
    let code = crate::generate(spec).map_err(|e| e.to_string())?;
    Api::parse(&code)
}

/// The report for two specs; when the generator fails on either, one line
/// that says so.
pub fn report_specs(old: &str, new: &str) -> Vec<String> {
    let one_line = |e: String| crate::one_line(&e);
    match (of_spec(old), of_spec(new)) {
        (Ok(a), Ok(b)) => render(&diff(&a, &b)),
        (Err(e), Ok(_)) => vec![format!(
            "Rust public API: not compared, the generator fails on the old spec: {}",
            one_line(e)
        )],
        (Ok(_), Err(e)) => vec![format!(
            "Rust public API: not compared, the generator fails on the new spec: {}",
            one_line(e)
        )],
        (Err(e), Err(f)) => vec![format!(
            "Rust public API: not compared, the generator fails on both specs: old: {}; new: {}",
            one_line(e),
            one_line(f)
        )],
    }
}

/// `cargo xtask api-diff --old <openapi.json> --new <openapi.json>`.
pub fn command(args: &[String]) -> Result<(), String> {
    const USAGE: &str = "usage: cargo xtask api-diff --old <openapi.json> --new <openapi.json>";
    let (mut old, mut new) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "--old" => &mut old,
            "--new" => &mut new,
            _ => return Err(format!("api-diff: unknown argument `{arg}`; {USAGE}")),
        };
        *slot = Some(PathBuf::from(it.next().ok_or(USAGE)?));
    }
    let (Some(old), Some(new)) = (old, new) else {
        return Err(USAGE.into());
    };
    let api = |path: &PathBuf| {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        of_spec(&text)
            .map_err(|e| format!("cannot generate the Rust code for {}: {e}", path.display()))
    };
    let (old, new) = (api(&old)?, api(&new)?);
    for line in render(&diff(&old, &new)) {
        println!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Code shaped like the generator's: a `types` module with structs that
    /// derive Default or not, a non_exhaustive and an exhaustive enum, a
    /// newtype, an alias, a const, private items; a client; the version table.
    const BASE: &str = r#"
        pub use progenitor_client::{Error, ResponseValue};
        pub mod types {
            #[allow(unused_imports)]
            use super::types;
            #[derive(::serde::Deserialize, ::serde::Serialize, Clone, Debug, PartialEq)]
            #[derive(Default)]
            pub struct Kafka {
                pub name: ::std::option::Option<::std::string::String>,
                pub bootstrap_servers: ::std::option::Option<::std::string::String>,
            }
            #[derive(Clone, Debug, PartialEq)]
            pub struct Plain {
                pub name: ::std::string::String,
            }
            #[derive(Clone, Debug, PartialEq)]
            pub struct Secretive {
                pub name: ::std::string::String,
                token: ::std::string::String,
            }
            #[derive(Clone, Debug, PartialEq)]
            #[non_exhaustive]
            pub enum Connection {
                Kafka(Kafka),
                Unknown(::atlas_stream_connections::UnknownKind),
            }
            impl Connection {
                pub const KNOWN_KINDS: &'static [&'static str] = &["Kafka"];
                pub fn kind(&self) -> &str {
                    ""
                }
                fn private(&self) {}
            }
            impl ::std::convert::From<Kafka> for Connection {
                fn from(value: Kafka) -> Self {
                    Self::Kafka(value)
                }
            }
            #[derive(Clone, Copy, Debug)]
            pub enum Mode {
                Fast,
                Slow,
            }
            pub struct GroupId(::std::string::String);
            pub type Tags = ::std::vec::Vec<::std::string::String>;
            pub const LIMIT: u32 = 10;
            pub mod preview {
                pub struct Draft {
                    pub id: u64,
                }
            }
            pub(crate) struct Hidden {
                pub a: u8,
            }
            struct Private;
        }
        pub struct Client {
            pub(crate) baseurl: String,
        }
        impl Client {
            pub fn new(baseurl: &str) -> Self {
                todo!()
            }
            pub async fn create<'a>(&'a self, group_id: &'a str, body: &'a types::Connection) -> Result<ResponseValue<types::Connection>, Error<()>> {
                todo!()
            }
            fn helper(&self) {}
        }
        pub static OPERATION_VERSIONS: &[::atlas_stream_connections::OperationVersions] = &[
            ::atlas_stream_connections::OperationVersions {
                operation_id: "create",
                name: "createC",
                method: "POST",
                path: "/c",
                generated: ::std::option::Option::Some("2023-02-01"),
                versions: &[
                    ::atlas_stream_connections::ApiVersion {
                        version: "2023-02-01",
                        typed: true,
                    },
                ],
            },
        ];
    "#;

    /// `BASE` with each `(from, to)` replaced once (each `from` must be there).
    fn edit(edits: &[(&str, &str)]) -> String {
        let mut code = BASE.to_string();
        for (from, to) in edits {
            assert_eq!(
                code.matches(from).count(),
                1,
                "`{from}` is not in BASE once"
            );
            code = code.replacen(from, to, 1);
        }
        code
    }

    fn changes(old: &str, new: &str) -> Changes {
        diff(&Api::parse(old).unwrap(), &Api::parse(new).unwrap())
    }

    fn breaking(old: &str, new: &str) -> Vec<String> {
        changes(old, new)
            .breaking
            .into_iter()
            .map(|b| b.line)
            .collect()
    }

    fn additive(old: &str, new: &str) -> Vec<String> {
        let c = changes(old, new);
        assert!(c.breaking.is_empty(), "{c:?}");
        c.additive
    }

    fn report(old: &str, new: &str) -> Vec<String> {
        render(&changes(old, new))
    }

    const UNCHANGED: [&str; 1] = ["Rust public API: unchanged"];

    #[test]
    fn layout_parameter_names_and_private_items_change_nothing() {
        assert_eq!(report(BASE, BASE), UNCHANGED);
        let reformatted = edit(&[
            (
                "(&'a self, group_id: &'a str, body: &'a types::Connection)",
                "(\n&'a self,\ngroup_id: &'a str,\nbody: &'a types::Connection,\n)",
            ),
            (
                "pub name: ::std::string::String,\n            }\n            #[derive(Clone, Debug, PartialEq)]\n            pub struct Secretive",
                "pub name: ::std::string::String,\n}\n#[derive(Clone, Debug, PartialEq)] pub struct Secretive",
            ),
            (
                "pub bootstrap_servers: ::std::option::Option<::std::string::String>,",
                "pub bootstrap_servers: ::std::option::Option<\n::std::string::String,\n>,",
            ),
            (
                "version: \"2023-02-01\",\n                        typed: true,",
                "version: \"2023-02-01\", typed: true",
            ),
        ]);
        assert_eq!(report(BASE, &reformatted), UNCHANGED);
        let private_changes = edit(&[
            ("group_id: &'a str", "project: &'a str"),
            ("token: ::std::string::String,", "token: u64, salt: u8,"),
            ("pub a: u8,", "pub a: u16, pub b: u8,"),
            ("struct Private;", "struct Private(u8); struct Other;"),
            ("fn helper(&self) {}", "fn helper(&mut self, x: u8) {}"),
            ("fn private(&self) {}", ""),
            (
                "pub(crate) baseurl: String,",
                "pub(crate) baseurl: ::std::sync::Arc<str>,",
            ),
            // The values of associated consts follow from the variants.
            ("&[\"Kafka\"]", "&[\"Kafka\", \"Https\"]"),
        ]);
        assert_eq!(report(BASE, &private_changes), UNCHANGED);
    }

    #[test]
    fn a_removed_field_and_a_changed_field_type_are_breaking() {
        let new = edit(&[
            (
                "pub bootstrap_servers: ::std::option::Option<::std::string::String>,",
                "",
            ),
            (
                "pub name: ::std::option::Option<::std::string::String>,",
                "pub name: ::std::option::Option<i64>,",
            ),
        ]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "types::Kafka: field `bootstrap_servers` removed",
                "types::Kafka: field `name` type `Option<String>` -> `Option<i64>`",
            ]
        );
        assert_eq!(
            report(BASE, &new).last().unwrap(),
            "  verdict: breaking: needs a new major version (0.x: a new minor version)"
        );
    }

    #[test]
    fn a_new_optional_field_in_a_struct_with_default_is_breaking_for_literals_and_says_so() {
        let new = edit(&[(
            "pub bootstrap_servers:",
            "pub region: ::std::option::Option<::std::string::String>,\npub bootstrap_servers:",
        )]);
        let lines = report(BASE, &new);
        assert_eq!(
            lines,
            [
                "Rust public API (generated code), old -> new:",
                "  breaking (1):",
                "    - types::Kafka: field `region: Option<String>` added (struct literal; has Default)",
                "  verdict: breaking: needs a new major version (0.x: a new minor version)",
                "  (struct literal: breaks the struct literals and patterns outside the crate that name every field; \
                 with Default, literals ending in `..Default::default()` still compile. \
                 Every breaking change here is of that kind)",
            ]
        );
    }

    #[test]
    fn a_new_field_in_a_struct_without_default_is_breaking_for_literals() {
        let new = edit(&[(
            "pub name: ::std::string::String,\n            }\n            #[derive(Clone, Debug, PartialEq)]\n            pub struct Secretive",
            "pub name: ::std::string::String, pub size: u64 }\n#[derive(Clone, Debug, PartialEq)] pub struct Secretive",
        )]);
        let lines = report(BASE, &new);
        assert_eq!(
            lines[2],
            "    - types::Plain: field `size: u64` added (struct literal; no Default)"
        );
        assert!(!lines[4].contains("Every breaking change"), "{lines:?}");
        // A private field added to a struct whose fields were all pub ends
        // its literals, Default or not.
        let new = edit(&[(
            "pub bootstrap_servers:",
            "cache: u8,\npub bootstrap_servers:",
        )]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "types::Kafka: private field `cache: u8` added (struct literal; no literal outside the crate any more)"
            ]
        );
    }

    #[test]
    fn a_new_field_in_a_non_exhaustive_struct_or_one_with_private_fields_is_additive() {
        let old = edit(&[("pub struct Plain", "#[non_exhaustive]\npub struct Plain")]);
        let new = old.replacen(
            "pub name: ::std::string::String,",
            "pub name: ::std::string::String, pub size: u64,",
            1,
        );
        assert_eq!(
            additive(&old, &new),
            ["types::Plain: field `size: u64` added"]
        );
        let new = edit(&[(
            "token: ::std::string::String,",
            "token: ::std::string::String, pub size: u64,",
        )]);
        assert_eq!(
            additive(BASE, &new),
            ["types::Secretive: field `size: u64` added"]
        );
    }

    #[test]
    fn a_new_variant_is_additive_in_a_non_exhaustive_enum_only() {
        let new = edit(&[
            ("Kafka(Kafka),", "Kafka(Kafka),\nHttps(Https),"),
            ("Slow,", "Slow,\nMedium { level: u8 },"),
        ]);
        let c = changes(BASE, &new);
        assert_eq!(
            c.additive,
            ["types::Connection: variant `Https(Https)` added (non_exhaustive)"]
        );
        assert_eq!(
            c.breaking
                .iter()
                .map(|b| b.line.as_str())
                .collect::<Vec<_>>(),
            [
                "types::Mode: variant `Medium { level: u8 }` added (exhaustive enum: matches without a wildcard arm stop compiling)"
            ]
        );
    }

    #[test]
    fn a_removed_variant_and_a_changed_payload_are_breaking() {
        let new = edit(&[
            ("Kafka(Kafka),", ""),
            (
                "Unknown(::atlas_stream_connections::UnknownKind),",
                "Unknown(::serde_json::Value),",
            ),
            (
                "impl ::std::convert::From<Kafka> for Connection {",
                "impl Connection {",
            ),
            ("fn from(value: Kafka)", "fn from_kafka(value: Kafka)"),
        ]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "types::Connection: no longer implements `From<Kafka>`",
                "types::Connection: variant `Kafka(Kafka)` removed",
                "types::Connection: variant `Unknown` payload `(atlas_stream_connections::UnknownKind)` -> `(serde_json::Value)`",
            ]
        );
    }

    #[test]
    fn non_exhaustive_added_is_breaking_and_removed_is_additive() {
        let new = edit(&[
            (
                "#[derive(Clone, Copy, Debug)]\n            pub enum Mode",
                "#[derive(Clone, Copy, Debug)]\n#[non_exhaustive]\npub enum Mode",
            ),
            (
                "#[non_exhaustive]\n            pub enum Connection",
                "pub enum Connection",
            ),
            ("pub struct Plain", "#[non_exhaustive] pub struct Plain"),
        ]);
        let c = changes(BASE, &new);
        assert_eq!(
            c.breaking
                .iter()
                .map(|b| b.line.as_str())
                .collect::<Vec<_>>(),
            [
                "types::Mode: now #[non_exhaustive] (matches outside the crate need a wildcard arm)",
                "types::Plain: now #[non_exhaustive] (no struct literal or exhaustive pattern outside the crate)",
            ]
        );
        assert_eq!(
            c.additive,
            ["types::Connection: no longer #[non_exhaustive]"]
        );
    }

    #[test]
    fn a_method_on_the_crates_own_client_is_not_one_of_the_generated_client() {
        // The generator writes a per-version method twice: on the generated
        // client, and a public one on the crate's `Client`.
        let new = format!(
            "{BASE}\nimpl ::atlas_stream_connections::Client {{\n\
             pub async fn create_preview(&self, options: &CallOptions) -> u8 {{ todo!() }}\n}}"
        );
        let new = new.replacen(
            "fn helper",
            "pub async fn create_preview(&self, body: &types::Beta) -> u8 { todo!() }\nfn helper",
            1,
        );
        let lines = report(BASE, &new);
        assert!(
            lines.contains(&"    + Client::create_preview (method)".to_string()),
            "{lines:#?}"
        );
        assert!(
            lines.contains(
                &"    + atlas_stream_connections::Client::create_preview (method)".to_string()
            ),
            "{lines:#?}"
        );
    }

    #[test]
    fn new_items_are_additive_without_their_members() {
        let new = edit(&[
            (
                "pub type Tags",
                "#[derive(Default)] pub struct Https { pub url: String }\n\
                 impl Https { pub fn url(&self) -> &str { &self.url } }\n\
                 pub mod beta { pub struct Beta; }\n\
                 pub type Tags",
            ),
            (
                "fn helper",
                "pub fn list(&self) -> Vec<u8> { todo!() }\nfn helper",
            ),
            (
                "pub fn kind",
                "pub const TAG: &'static str = \"type\";\npub fn kind",
            ),
            (
                "pub const LIMIT",
                "pub static NAME: &str = \"n\";\npub const LIMIT",
            ),
        ]);
        let lines = report(BASE, &new);
        assert_eq!(
            lines,
            [
                "Rust public API (generated code), old -> new:",
                "  additive (5):",
                "    + Client::list (method)",
                "    + types::Connection::TAG (const `&'static str`)",
                "    + types::Https (struct)",
                "    + types::NAME (static `&str`)",
                "    + types::beta (module)",
                "  verdict: compatible: a minor release (0.x: a patch release)",
            ]
        );
    }

    #[test]
    fn removed_items_are_breaking_without_their_members() {
        let new = edit(&[
            ("pub mod preview {", "mod preview {"),
            ("pub struct Plain", "struct Plain"),
            ("pub fn kind", "fn kind"),
            (
                "pub use progenitor_client::{Error, ResponseValue};",
                "pub use progenitor_client::Error; use progenitor_client::ResponseValue;",
            ),
        ]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "ResponseValue (re-export of `progenitor_client::ResponseValue`) removed",
                "types::Connection::kind (method) removed",
                "types::Plain (struct) removed",
                "types::preview (module) removed",
            ]
        );
    }

    #[test]
    fn signature_changes_are_breaking_and_named_precisely() {
        let new = edit(&[(
            "body: &'a types::Connection) -> Result<ResponseValue<types::Connection>, Error<()>>",
            "body: &'a types::Kafka, pretty: Option<bool>) -> Result<ResponseValue<()>, Error<()>>",
        )]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "Client::create: parameter `body` type `&'a types::Connection` -> `&'a types::Kafka`",
                "Client::create: parameter `pretty: Option<bool>` added",
                "Client::create: return type `Result<ResponseValue<types::Connection>, Error<()>>` -> `Result<ResponseValue<()>, Error<()>>`",
            ]
        );
        let new = edit(&[(
            "group_id: &'a str, body: &'a types::Connection",
            "body: &'a types::Connection, group_id: &'a str",
        )]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "Client::create: parameters reordered: `(group_id: &'a str, body: &'a types::Connection)` -> `(body: &'a types::Connection, group_id: &'a str)`"
            ]
        );
        let new = edit(&[
            ("group_id: &'a str, ", ""),
            (
                "pub fn new(baseurl: &str)",
                "pub async fn new(\nbaseurl: &str,\n)",
            ),
        ]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "Client::create: parameter `group_id: &'a str` removed",
                "Client::new: signature `fn new(baseurl: &str) -> Self` -> `async fn new(baseurl: &str) -> Self`",
            ]
        );
    }

    #[test]
    fn aliases_newtypes_consts_and_kinds_of_item() {
        let new = edit(&[
            (
                "pub type Tags = ::std::vec::Vec<::std::string::String>;",
                "pub type Tags = ::std::collections::BTreeSet<::std::string::String>;",
            ),
            (
                "pub struct GroupId(::std::string::String);",
                "pub struct GroupId(u64);",
            ),
            ("pub const LIMIT: u32 = 10;", "pub static LIMIT: u32 = 10;"),
            (
                "pub struct Plain {\n                pub name: ::std::string::String,\n            }",
                "pub enum Plain { Name(::std::string::String) }",
            ),
        ]);
        assert_eq!(
            breaking(BASE, &new),
            [
                "types::GroupId: inner type `String` -> `u64` (a private field, but its `Deref` target and conversions change)",
                "types::LIMIT: const `u32` -> static `u32`",
                "types::Plain: struct -> enum",
                "types::Tags: type alias `Vec<String>` -> `BTreeSet<String>`",
            ]
        );
    }

    #[test]
    fn traits_lost_are_breaking_gained_are_additive_and_derives_equal_impls() {
        let new = edit(&[
            ("#[derive(Default)]\n", ""),
            (
                "pub type Tags",
                "impl ::std::fmt::Display for Mode { fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { Ok(()) } }\npub type Tags",
            ),
        ]);
        let c = changes(BASE, &new);
        assert_eq!(
            c.breaking
                .iter()
                .map(|b| b.line.as_str())
                .collect::<Vec<_>>(),
            ["types::Kafka: no longer implements `Default`"]
        );
        assert_eq!(c.additive, ["types::Mode: now implements `Display`"]);
        // A derive and an impl by hand are the same trait.
        let new = edit(&[
            (
                "#[derive(::serde::Deserialize, ::serde::Serialize, Clone",
                "#[derive(::serde::Serialize, Clone",
            ),
            (
                "pub type Tags",
                "impl<'de> ::serde::Deserialize<'de> for Kafka { fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> { todo!() } }\npub type Tags",
            ),
        ]);
        assert_eq!(report(BASE, &new), UNCHANGED);
    }

    #[test]
    fn nested_modules_are_walked() {
        let new = edit(&[("pub id: u64,", "pub id: ::std::string::String,")]);
        assert_eq!(
            breaking(BASE, &new),
            ["types::preview::Draft: field `id` type `u64` -> `String`"]
        );
    }

    #[test]
    fn deprecating_a_field_is_not_breaking() {
        let new = edit(&[(
            "pub name: ::std::string::String,\n            }\n            #[derive(Clone, Debug, PartialEq)]\n            pub struct Secretive",
            "#[deprecated(note = \"x\")]\npub name: ::std::string::String,\n}\n#[derive(Clone, Debug, PartialEq)] pub struct Secretive",
        )]);
        assert_eq!(
            additive(BASE, &new),
            ["types::Plain: field `name` now #[deprecated]"]
        );
    }

    #[test]
    fn the_version_table_is_data() {
        let new = edit(&[
            (
                "generated: ::std::option::Option::Some(\"2023-02-01\"),",
                "generated: ::std::option::Option::Some(\"2025-03-12\"),",
            ),
            (
                "typed: true,\n                    },\n                ],",
                "typed: true,\n},\n::atlas_stream_connections::ApiVersion { version: \"2025-03-12\", typed: true },\n],",
            ),
        ]);
        assert_eq!(
            report(BASE, &new),
            [
                "Rust public API (generated code), old -> new:",
                "  data (1):",
                "    ~ OPERATION_VERSIONS: `createC`: versions added: 2025-03-12; typed (generated) version 2023-02-01 -> 2025-03-12",
                "  verdict: compatible: the API is unchanged, only data (a patch release)",
            ]
        );
        let new = edit(&[("path: \"/c\",", "path: \"/d\",")]);
        assert_eq!(
            changes(BASE, &new).data,
            [
                "OPERATION_VERSIONS: `createC`: entry changed (method, path, media types or typed flags)"
            ]
        );
        let new = edit(&[("name: \"createC\",", "name: \"createD\",")]);
        assert_eq!(
            changes(BASE, &new).data,
            [
                "OPERATION_VERSIONS: operation `createD` added (versions 2023-02-01)",
                "OPERATION_VERSIONS: operation `createC` removed",
            ]
        );
        let new = edit(&[("pub const LIMIT: u32 = 10;", "pub const LIMIT: u32 = 11;")]);
        assert_eq!(changes(BASE, &new).data, ["types::LIMIT: value changed"]);
    }

    #[test]
    fn types_are_shown_short() {
        let ty = |t: &str| render_type(&syn::parse_str(t).unwrap());
        assert_eq!(
            ty(
                "::std::option::Option<::std::collections::BTreeMap<::std::string::String, ::serde_json::Value,>>"
            ),
            "Option<BTreeMap<String, serde_json::Value>>"
        );
        assert_eq!(ty("& 'a mut dyn Fn(u8,) -> u8"), "&'a mut dyn Fn(u8) -> u8");
        assert_eq!(ty("(u8,)"), "(u8,)");
        assert_eq!(ty("std::fmt::Result"), "std::fmt::Result");
    }

    // ------------------------------------------------ with the generator

    fn vendored() -> serde_json::Value {
        let text = std::fs::read_to_string(crate::repo_root().join("spec/openapi.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    /// The vendored spec with one more connection kind, `SchemaRegistry`,
    /// and a new property of the Kafka kind.
    fn evolved() -> serde_json::Value {
        let mut doc = vendored();
        let schemas = &mut doc["components"]["schemas"];
        schemas["StreamsSchemaRegistryConnection"] = serde_json::json!({
            "allOf": [
                { "$ref": "#/components/schemas/StreamsConnection" },
                { "type": "object", "properties": { "schemaRegistryUrls":
                    { "type": "array", "items": { "type": "string" } } } }
            ],
            "type": "object"
        });
        let union = &mut schemas["StreamsConnection"];
        union["oneOf"].as_array_mut().unwrap().push(
            serde_json::json!({ "$ref": "#/components/schemas/StreamsSchemaRegistryConnection" }),
        );
        union["discriminator"]["mapping"]["SchemaRegistry"] =
            serde_json::json!("#/components/schemas/StreamsSchemaRegistryConnection");
        schemas["StreamsKafkaConnection"]["allOf"][1]["properties"]["schemaRegistry"] =
            serde_json::json!({ "type": "string" });
        doc
    }

    #[test]
    fn the_generated_code_of_an_evolved_spec_is_compared() {
        let text = serde_json::to_string(&vendored()).unwrap();
        assert_eq!(report_specs(&text, &text), UNCHANGED);
        let lines = report_specs(&text, &serde_json::to_string(&evolved()).unwrap());
        for expected in [
            "    - types::StreamsKafkaConnection: field `schema_registry: Option<String>` added (struct literal; has Default)",
            "    + types::StreamsConnection: variant `SchemaRegistry(StreamsSchemaRegistryConnection)` added (non_exhaustive)",
            "    + types::StreamsSchemaRegistryConnection (struct)",
        ] {
            assert!(
                lines.iter().any(|l| l == expected),
                "no `{expected}` in {lines:#?}"
            );
        }
    }

    #[test]
    fn a_generator_failure_is_one_line() {
        let text = serde_json::to_string(&vendored()).unwrap();
        let lines = report_specs("{ not json", &text);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].starts_with(
                "Rust public API: not compared, the generator fails on the old spec: "
            ),
            "{lines:?}"
        );
        let lines = report_specs(&text, "{}");
        assert!(lines[0].contains("fails on the new spec"), "{lines:?}");
    }

    /// `regen` and `regen --check` hand over the two specs when spec/openapi.json
    /// changes, and nothing when there is no old one or it is current.
    #[test]
    fn regen_gives_the_specs_to_compare() {
        let dir = std::env::temp_dir().join(format!("xtask-api-diff-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, doc: &serde_json::Value| {
            let path = dir.join(name);
            std::fs::write(&path, serde_json::to_string(doc).unwrap()).unwrap();
            crate::source::Source::parse(path.to_str().unwrap()).unwrap()
        };
        let args = |from, check| crate::RegenArgs {
            from,
            ops: Some(vec!["createStreamConnection".into()]),
            check,
            spec_dir: None,
        };
        let spec = dir.join("spec");
        let (outcome, specs) =
            crate::regen_compared(&spec, &args(write("v1.json", &vendored()), false)).unwrap();
        assert!(
            matches!(outcome, crate::Outcome::Wrote { .. }),
            "{outcome:?}"
        );
        assert!(
            specs.is_none(),
            "no old spec/openapi.json, so nothing to compare"
        );
        let (outcome, specs) =
            crate::regen_compared(&spec, &args(write("v1.json", &vendored()), true)).unwrap();
        assert_eq!(outcome, crate::Outcome::UpToDate);
        assert!(specs.is_none());

        let before = std::fs::read_to_string(spec.join("openapi.json")).unwrap();
        for check in [true, false] {
            let (_, specs) =
                crate::regen_compared(&spec, &args(write("v2.json", &evolved()), check)).unwrap();
            let (old, new) = specs.expect("the specs differ");
            assert_eq!(old, before);
            assert!(new.contains("StreamsSchemaRegistryConnection"));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
