//! String patterns checked by a table instead of `regress` where the
//! pattern allows it (the subset `src/pattern.rs` describes and tests
//! against `regress`).
//!
//! typify writes a constrained string's `FromStr` as
//!
//! ```text
//! static PATTERN: LazyLock<regress::Regex> = LazyLock::new(|| Regex::new("P").unwrap());
//! if PATTERN.find(value).is_none() { return Err(..); }
//! ```
//!
//! For a pattern of the subset, this pass writes the table of `P` in the
//! static and `!PATTERN.is_match(value)` in the test, both or neither: a
//! block of any other form, or a pattern outside the subset, keeps its
//! regex. The table is built here, at build time, by the same parser the
//! library's tests check.

use quote::{ToTokens, quote};
use syn::visit_mut::VisitMut;

// (The build uses its parser, the library its matcher: the file allows
// dead code itself.)
#[path = "../src/pattern.rs"]
mod pattern;

use pattern::{Repeat, Simple};

/// Rewrites every pattern check of the subset in `file`; returns how many.
pub fn apply(file: &mut syn::File) -> usize {
    let mut tables = Tables(0);
    tables.visit_file_mut(file);
    tables.0
}

struct Tables(usize);

impl VisitMut for Tables {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        syn::visit_mut::visit_block_mut(self, block);
        let Some(at) = block.stmts.iter().position(|s| regex_of(s).is_some()) else {
            return;
        };
        let Some(simple) = regex_of(&block.stmts[at]).and_then(|p| Simple::parse(&p)) else {
            return;
        };
        let Some(check) = block.stmts[at + 1..].iter_mut().find_map(pattern_test) else {
            return;
        };
        *check = syn::parse_quote!(!PATTERN.is_match(value));
        let table = table(&simple);
        block.stmts[at] = syn::parse_quote! {
            static PATTERN: crate::pattern::Simple = #table;
        };
        self.0 += 1;
    }
}

/// The pattern of `static PATTERN: ... = ...Regex::new("P")...;`.
fn regex_of(stmt: &syn::Stmt) -> Option<String> {
    let syn::Stmt::Item(syn::Item::Static(s)) = stmt else {
        return None;
    };
    if s.ident != "PATTERN" {
        return None;
    }
    let tokens = s.expr.to_token_stream();
    let text = tokens.to_string().replace(' ', "");
    if !text.starts_with("::std::sync::LazyLock::new(||{::regress::Regex::new(\"") {
        return None;
    }
    first_string(tokens)
}

/// The value of the first string literal in `tokens`, groups included.
fn first_string(tokens: proc_macro2::TokenStream) -> Option<String> {
    tokens.into_iter().find_map(|tree| match tree {
        proc_macro2::TokenTree::Literal(lit) => syn::parse2::<syn::LitStr>(lit.into_token_stream())
            .ok()
            .map(|l| l.value()),
        proc_macro2::TokenTree::Group(group) => first_string(group.stream()),
        _ => None,
    })
}

/// The condition `PATTERN.find(value).is_none()` of an `if` statement.
fn pattern_test(stmt: &mut syn::Stmt) -> Option<&mut syn::Expr> {
    let syn::Stmt::Expr(syn::Expr::If(test), _) = stmt else {
        return None;
    };
    let text = test.cond.to_token_stream().to_string().replace(' ', "");
    (text == "PATTERN.find(value).is_none()").then_some(&mut *test.cond)
}

/// `simple` as a constant expression of `crate::pattern::Simple` (one
/// position repeated is written once, `[slot; n]`).
fn table(simple: &Simple) -> proc_macro2::TokenStream {
    let slot = |slot: &pattern::Slot| {
        // Bit `c` for character `c`: hexadecimal shows the ranges.
        let class = syn::LitInt::new(
            &format!("{:#x}u128", slot.class),
            proc_macro2::Span::call_site(),
        );
        let repeat = match slot.repeat {
            Repeat::One => quote!(One),
            Repeat::Optional => quote!(Optional),
            Repeat::Any => quote!(Any),
        };
        quote!(crate::pattern::Slot { class: #class, repeat: crate::pattern::Repeat::#repeat })
    };
    let slots = match &*simple.slots {
        [first, rest @ ..] if rest.iter().all(|s| s == first) => {
            let (one, n) = (slot(first), simple.slots.len());
            quote!([#one; #n])
        }
        slots => {
            let slots = slots.iter().map(slot);
            quote!([#(#slots),*])
        }
    };
    let (to_end, fixed) = (simple.to_end, simple.fixed);
    quote! {
        crate::pattern::Simple {
            slots: ::std::borrow::Cow::Borrowed(&#slots),
            to_end: #to_end,
            fixed: #fixed,
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    fn applied(body: proc_macro2::TokenStream) -> (String, usize) {
        let mut file: syn::File = syn::parse2(quote!(fn from_str(value: &str) { #body })).unwrap();
        let n = super::apply(&mut file);
        (quote!(#file).to_string().replace(' ', ""), n)
    }

    fn typify_check(pattern: &str) -> proc_macro2::TokenStream {
        quote! {
            static PATTERN: ::std::sync::LazyLock<::regress::Regex> = ::std::sync::LazyLock::new(||
            { ::regress::Regex::new(#pattern).unwrap() });
            if PATTERN.find(value).is_none() {
                return Err("doesn't match pattern".into());
            }
            Ok(Self(value.to_string()))
        }
    }

    #[test]
    fn a_pattern_of_the_subset_is_checked_by_its_table() {
        let (out, n) = applied(typify_check("^([a-f0-9]{24})$"));
        assert_eq!(n, 1);
        assert!(!out.contains("regress"), "{out}");
        assert!(out.contains("staticPATTERN:crate::pattern::Simple=crate::pattern::Simple{slots:::std::borrow::Cow::Borrowed(&[crate::pattern::Slot{class:"), "{out}");
        assert!(out.contains("class:0x7e0000000003ff000000000000u128,repeat:crate::pattern::Repeat::One};24usize]"), "{out}");
        assert!(out.contains("to_end:true,fixed:true"), "{out}");
        assert!(out.contains("if!PATTERN.is_match(value){"), "{out}");
        // Positions that differ are written one by one.
        let (out, _) = applied(typify_check("^a+$"));
        assert!(
            out.contains("Repeat::One},crate::pattern::Slot{class:"),
            "{out}"
        );
        assert!(out.contains("Repeat::Any}]"), "{out}");
    }

    #[test]
    fn other_patterns_and_other_forms_keep_regress() {
        let (out, n) = applied(typify_check("^(a|b)$"));
        assert_eq!(n, 0);
        assert!(out.contains("::regress::Regex::new(\"^(a|b)$\")"), "{out}");
        assert!(out.contains("PATTERN.find(value).is_none()"), "{out}");
        // The test written another way: neither half is rewritten.
        let (out, n) = applied(quote! {
            static PATTERN: ::std::sync::LazyLock<::regress::Regex> = ::std::sync::LazyLock::new(||
            { ::regress::Regex::new("^a$").unwrap() });
            if !PATTERN.is_match(value) { return Err(()); }
        });
        assert_eq!(n, 0);
        assert!(out.contains("::regress::Regex::new(\"^a$\")"), "{out}");
    }
}
